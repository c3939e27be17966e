/** pool_exhausted: every PHP-FPM worker is busy; new requests are refused at the socket (EAGAIN) or wait and time out. */
import { suggestMaxChildren } from '../../analyze/config/index.js';
import { accessItem, claim, countOf, type CauseDefinition } from '../claim.js';
import { plural, samplesOf } from '../facts.js';
import type { EvidenceItem } from '../types.js';

export const poolExhausted: CauseDefinition = {
  id: 'pool_exhausted',
  words: 'The PHP-FPM pool is exhausted: every worker busy',
  runbookStep: 'locate-pool',
  rule: (f) => {
    const eagain = f.signatures(['connect_eagain']);
    const eagainCount = countOf(eagain);
    const reached = f.fpmEvents('max_children_reached');
    const status = f.evidence.fpmStatus;
    const max = f.maxChildren;
    // The status request itself occupies a worker, so "no idle worker" alone proves nothing on a small pool.
    const saturated = status !== undefined && ((max !== undefined && (status.activeProcesses ?? 0) >= max) || (status.listenQueueMeaningful !== false && (status.listenQueue ?? 0) > 0));
    if (eagainCount === 0 && reached === 0 && !(saturated && f.failures + f.errorFailures > 0)) return null;
    const evidence: EvidenceItem[] = [];
    let confidence = 0.45;
    if (eagainCount) {
      evidence.push({ source: 'error.log', text: `${eagainCount} × connect() (11: Resource temporarily unavailable): the socket's listen backlog is full`, samples: samplesOf(eagain) });
      confidence += 0.3 + 0.15 * f.share(eagainCount);
    }
    if (reached) {
      evidence.push({
        source: 'fpm.log',
        text: `FPM reached pm.max_children${max !== undefined ? ` (${max})` : ''} ${plural(reached, 'time')}`,
        samples: f.fpmSamples('max_children_reached').slice(0, 1),
      });
      confidence += 0.2;
    }
    if (status) {
      evidence.push({
        source: 'fpm-status',
        text: `pool ${status.pool ?? '?'}: ${status.activeProcesses ?? '?'} active / ${status.totalProcesses ?? '?'} total, ${status.idleProcesses ?? '?'} idle, listen queue ${status.listenQueue ?? '?'}, max children reached ${status.maxChildrenReached ?? '?'}`,
      });
      if (saturated) confidence += 0.1;
    } else if (f.evidence.fpmStatusError && (eagainCount || reached)) {
      evidence.push({ source: 'fpm-status', text: `status page did not answer (${f.evidence.fpmStatusError}): a saturated pool cannot serve it` });
      confidence += 0.03;
    }
    const timeouts = f.count(['timeout_read_header']);
    if (timeouts) evidence.push({ source: 'error.log', text: `${timeouts} × read timeouts, consistent with requests waiting for a free worker` });
    evidence.push(...accessItem(f, 'both'));
    const peak = f.evidence.access?.peakConcurrency ?? null;
    if (peak !== null) evidence.push({ source: 'access.log', text: `peak concurrency at the upstream about ${Math.round(peak)}` });
    const slow = f.slowSummary();
    if (slow) evidence.push({ source: 'slow.log', text: slow });
    // The same number as the max_children_vs_concurrency finding.
    const suggested = max !== undefined ? suggestMaxChildren(max, peak ?? undefined) : undefined;
    return claim({
      id: 'pool_exhausted',
      failures: eagain,
      confidence,
      summary: `The PHP-FPM pool is exhausted: every worker is busy${max !== undefined ? ` (pm.max_children = ${max})` : ''} and new requests ${eagainCount ? 'are refused at the socket' : 'wait or time out'}.`,
      evidence,
      remedy: {
        text: `Raise pm.max_children${suggested !== undefined ? ` from ${max} to about ${suggested}` : ''} if memory allows (each worker costs its memory_limit at worst), and fix what keeps workers busy${slow ? ` (${slow})` : ' (see the slow log)'}.`,
        setting: 'pm.max_children',
        ...(max !== undefined ? { current: String(max) } : {}),
        ...(suggested !== undefined ? { suggested: String(suggested) } : {}),
      },
    });
  },
};
