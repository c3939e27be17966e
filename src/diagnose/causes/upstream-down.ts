/**
 * upstream_down: the servers of a proxied upstream refuse or drop connections. "Every server" is said only
 * where nginx said it (no live upstreams); a lone proxy target that times out is upstream_connect_timeout's.
 */
import { accessItem, claim, countOf, type CauseDefinition } from '../claim.js';
import { plural, samplesOf } from '../facts.js';
import type { EvidenceItem } from '../types.js';
import { loneProxyTimeout, PROXY_CONNECT_FAILURES } from './upstream-connect-timeout.js';

export const upstreamDown: CauseDefinition = {
  id: 'upstream_down',
  words: 'The upstream servers are down',
  runbookStep: 'fix-upstream',
  rule: (f) => {
    const noLive = f.signatures(['no_live_upstreams']);
    const proxyFailures = f.proxySignatures(PROXY_CONNECT_FAILURES);
    const count = countOf([...noLive, ...proxyFailures]);
    if (count === 0 || loneProxyTimeout(f)) return null;
    const group = noLive[0]?.upstreams[0] ?? proxyFailures[0]?.upstreams[0] ?? 'the upstream group';
    const evidence: EvidenceItem[] = [];
    if (noLive.length) evidence.push({ source: 'error.log', text: `${countOf(noLive)} × no live upstreams (${group})`, samples: samplesOf(noLive, 1) });
    if (proxyFailures.length) {
      evidence.push({
        source: 'error.log',
        text: `${countOf(proxyFailures)} × connect failures to ${proxyFailures
          .flatMap((s) => s.upstreams)
          .slice(0, 3)
          .join(', ')}`,
        samples: samplesOf(proxyFailures, 1),
      });
    }
    const disabled = f.count(['upstream_disabled']);
    if (disabled) evidence.push({ source: 'error.log', text: `${disabled} × upstream server temporarily disabled` });
    evidence.push(...accessItem(f, 502));
    const servers = [...new Set(proxyFailures.flatMap((s) => s.upstreams))];
    const summary = noLive.length
      ? `Every server of the upstream ${group} is failing; nginx has none left to send requests to.`
      : `nginx cannot connect to ${servers.slice(0, 3).join(', ')}${servers.length > 3 ? ` and ${servers.length - 3} more` : ''}: ${plural(count, 'connect failure')}.`;
    return claim({
      id: 'upstream_down',
      failures: [...noLive, ...proxyFailures],
      confidence: 0.75 + 0.2 * f.share(count),
      summary,
      evidence,
      remedy: {
        text: 'Bring the upstream servers back (they refuse or drop connections); nginx marks a server failed for fail_timeout after max_fails errors, so the 502s stop shortly after they recover.',
        setting: 'upstream servers',
      },
    });
  },
};
