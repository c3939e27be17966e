/** fastcgi_read_timeout: PHP did not answer within fastcgi_read_timeout; nginx gave up (504) while the worker ran on. */
import { pickTerminate } from '../../analyze/config/index.js';
import { accessItem, claim, countOf, type CauseDefinition } from '../claim.js';
import { plural, samplesOf, seconds } from '../facts.js';
import type { EvidenceItem } from '../types.js';

/** The config finding's own request_terminate_timeout for this read timeout (its kill must land before nginx gives up). */
function terminateAdvice(readTimeout: number): string {
  const t = pickTerminate(readTimeout);
  return t !== undefined
    ? `keep ${seconds(readTimeout)}, set request_terminate_timeout = ${t}s (FPM's kill lands by ${seconds((t * 4) / 3)})`
    : `raise fastcgi_read_timeout first (at ${seconds(readTimeout)} no request_terminate_timeout can kill before nginx gives up)`;
}

export const fastcgiReadTimeout: CauseDefinition = {
  id: 'fastcgi_read_timeout',
  words: 'PHP answered too slowly: nginx gave up at fastcgi_read_timeout',
  runbookStep: 'locate-read-timeout',
  rule: (f) => {
    const sigs = f.fastcgiSignatures(['timeout_read_header', 'timeout_send']);
    const count = countOf(sigs);
    if (count === 0) return null;
    const current = f.nginx?.fastcgi_read_timeout;
    const terminate = f.pool?.requestTerminateTimeout;
    const evidence: EvidenceItem[] = [
      { source: 'error.log', text: `${count} × upstream timed out (110) while reading response header from ${sigs[0]?.upstreams[0] ?? 'upstream'}`, samples: samplesOf(sigs) },
      ...accessItem(f, 504, f.evidence.access?.slowestUpstreamSeconds ? `; slowest upstream time ${seconds(f.evidence.access.slowestUpstreamSeconds)}` : ''),
    ];
    let confidence = 0.6 + 0.3 * f.share(count);
    const slow = f.slowSummary();
    if (slow) {
      evidence.push({ source: 'slow.log', text: slow });
      confidence += 0.05;
    }
    if (current !== undefined) {
      evidence.push({ source: 'nginx-config', text: `fastcgi_read_timeout ${seconds(current)}; request_terminate_timeout ${terminate ? seconds(terminate) : 'off'}` });
    }
    // Requests queued behind a full pool also time out here: then some of these waited for a worker, not for PHP.
    const poolFull = f.fpmEvents('max_children_reached') > 0 || f.count(['connect_eagain']) > 0;
    if (poolFull) confidence -= 0.1;
    return claim({
      id: 'fastcgi_read_timeout',
      failures: sigs,
      confidence,
      summary:
        `PHP did not answer within fastcgi_read_timeout${current !== undefined ? ` (${seconds(current)})` : ''}: ${plural(count, 'read timeout')}, users get 504` +
        `${poolFull ? '; the pool was full at the time, so some of them waited for a free worker rather than for PHP' : ''}.`,
      evidence,
      remedy: {
        text:
          `Find and fix the slow code${slow ? ` (${slow})` : ' (enable request_slowlog_timeout to see it)'}; nginx gives up but the PHP worker keeps running. ` +
          `If such long requests are legitimate, raise fastcgi_read_timeout for that location, and set request_terminate_timeout to about three quarters of it (FPM's kill lands up to a third later) so FPM frees the worker.`,
        setting: 'fastcgi_read_timeout',
        ...(current !== undefined ? { current: seconds(current), suggested: terminateAdvice(current) } : {}),
      },
    });
  },
};
