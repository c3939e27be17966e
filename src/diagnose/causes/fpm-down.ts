/** fpm_down: nginx finds no PHP-FPM where fastcgi_pass points (socket missing, or connection refused). */
import { accessItem, claim, countOf, type CauseDefinition } from '../claim.js';
import { plural, samplesOf } from '../facts.js';
import type { EvidenceItem } from '../types.js';

export const fpmDown: CauseDefinition = {
  id: 'fpm_down',
  words: 'PHP-FPM is down',
  runbookStep: 'locate-down',
  rule: (f) => {
    const sigs = f.fastcgiSignatures(['connect_enoent', 'connect_refused']);
    const count = countOf(sigs);
    if (count === 0) return null;
    const missingSocket = sigs.some((s) => s.kind === 'connect_enoent');
    const upstream = sigs[0]?.upstreams[0] ?? 'the FastCGI upstream';
    const evidence: EvidenceItem[] = [
      {
        source: 'error.log',
        text: `${plural(count, 'connect() failure')} to ${upstream}: ${missingSocket ? 'socket file missing (2: No such file or directory)' : 'connection refused (111)'}`,
        samples: samplesOf(sigs),
      },
      ...accessItem(f, 502),
    ];
    let confidence = 0.75 + 0.2 * f.share(count);
    if (f.evidence.fpmStatusError) {
      evidence.push({ source: 'fpm-status', text: `status page unreachable: ${f.evidence.fpmStatusError}` });
      confidence += 0.03;
    }
    const reloads = f.fpmEvents('reloading') + f.fpmEvents('terminating');
    if (reloads > 0) {
      evidence.push({
        source: 'fpm.log',
        text: `FPM master log shows ${plural(reloads, 'stop/reload')} in the window`,
        samples: [...f.fpmSamples('terminating'), ...f.fpmSamples('reloading')].slice(0, 2),
      });
    }
    const listen = f.pool?.listen;
    return claim({
      id: 'fpm_down',
      failures: sigs,
      confidence,
      summary: `PHP-FPM is not accepting connections on ${upstream}: ${plural(count, 'connect() failure')}${missingSocket ? ' (socket file missing)' : ' (refused)'}.`,
      evidence,
      remedy: {
        text: missingSocket
          ? `Start PHP-FPM (systemctl start <php-fpm service>) and check that nginx's fastcgi_pass names the socket the pool creates${listen ? ` (listen = ${listen})` : ''}.`
          : `Start or restart PHP-FPM and check that it listens where fastcgi_pass points${listen ? ` (listen = ${listen})` : ''}.`,
        setting: 'fastcgi_pass / listen',
        ...(listen ? { current: listen } : {}),
      },
    });
  },
};
