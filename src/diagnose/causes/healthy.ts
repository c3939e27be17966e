/**
 * healthy: an access log covering the window had requests and no 502/504 (the verdict decides that; this says
 * what was seen and how sure it is).
 */
import { percent } from '../../analyze/numbers.js';
import type { CauseDefinition } from '../claim.js';
import { type Facts, plural } from '../facts.js';
import type { Cause } from '../types.js';

export const healthy: CauseDefinition = {
  id: 'healthy',
  words: 'Healthy: no 502/504 to explain',
  rule: null,
  runbookStep: 'locate-unclear',
};

export function healthyCause(facts: Facts): Cause {
  const access = facts.evidence.access!;
  const errorsRead = facts.readableErrors;
  const slow = facts.slowSummary();
  const evidence: Cause['evidence'] = [{ source: 'access.log', text: `${access.requests} requests, no 502/504 (5xx rate ${percent(access.rate5xx)})` }];
  if (errorsRead) evidence.push({ source: 'error.log', text: 'no upstream failures in the error log' });
  if (slow) evidence.push({ source: 'slow.log', text: slow });
  const fatals = facts.count(['php_fatal']);
  if (fatals) {
    evidence.push({
      source: 'error.log',
      text: `${plural(fatals, 'PHP fatal error')} (users get 500, an application bug rather than a gateway problem)`,
      samples: facts
        .signatures(['php_fatal'])
        .flatMap((s) => s.samples)
        .slice(0, 1),
    });
  }
  // More requests seen without a failure, more weight; without the error log, less.
  const confidence = (errorsRead ? 0.75 : 0.6) + (access.requests >= 100 ? 0.2 : access.requests >= 10 ? 0.12 : 0.05);
  return {
    id: 'healthy',
    confidence,
    summary: `No 502/504 to explain in ${plural(access.requests, 'request')}${fatals ? `; ${plural(fatals, 'PHP fatal error')} gave 500s` : ''}${slow ? '; some requests are slow' : ''}.`,
    evidence,
    sources: [...new Set(evidence.map((e) => e.source))],
    remedy: { text: slow ? `Nothing urgent. Keep an eye on the slow requests (${slow}).` : 'Nothing to do.' },
  };
}
