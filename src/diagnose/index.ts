/**
 * @module diagnose: joins the evidence of every source into ranked causes with remedies. Pure: no I/O.
 */
import type { Evidence } from '../analyze/evidence.js';
import { Facts, UPSTREAM_FAILURE_KINDS, plural } from './facts.js';
import { RULES } from './rules.js';
import type { Cause, Diagnosis } from './types.js';

export type { Cause, CauseId, Diagnosis, EvidenceItem, Remedy, SourceName } from './types.js';
export { CAUSE_IDS } from './types.js';

export function diagnose(evidence: Evidence): Diagnosis {
  const facts = new Facts(evidence);
  const causes = RULES.map((rule) => rule(facts)).filter((c): c is Cause => c !== null);
  const notes: string[] = [];
  const needsExplaining = facts.failures > 0 || facts.errorFailures > 0;
  if (!needsExplaining) {
    causes.push(healthy(facts));
  } else if (causes.length === 0) {
    notes.push(unexplainedNote(facts));
  }
  causes.sort((a, b) => b.confidence - a.confidence);
  if (!evidence.access) notes.push('No access log was read: 502/504 counts and rates are unknown.');
  else if (evidence.access.parsed === 0 && evidence.access.unparsed > 0) {
    notes.push(`None of the ${evidence.access.unparsed} access-log lines matched the log_format in use: give the format from nginx.conf (or nginx -T output).`);
  }
  if (!evidence.errors) notes.push('No error log was read: the cause of 502/504s cannot be named from nginx\'s side.');
  else if (!facts.readableErrors) {
    notes.push(`None of the ${evidence.errors.unparsed} error-log lines looked like nginx's error.log: check that the file is the error log.`);
  }
  return {
    causes,
    failures: { count502: facts.count502, count504: facts.count504, explained: !needsExplaining || causes.length > 0 },
    notes,
  };
}

function healthy(facts: Facts): Cause {
  const access = facts.readableAccess ? facts.evidence.access : undefined;
  const errorsRead = facts.readableErrors;
  const slow = facts.slowSummary();
  const evidence: Cause['evidence'] = [];
  if (access) evidence.push({ source: 'access.log', text: `${access.requests} requests, no 502/504 (5xx rate ${(access.rate5xx * 100).toFixed(1)}%)` });
  if (errorsRead) evidence.push({ source: 'error.log', text: 'no upstream failures in the error log' });
  if (slow) evidence.push({ source: 'slow.log', text: slow });
  const fatals = facts.count(['php_fatal']);
  if (fatals) {
    evidence.push({ source: 'error.log', text: `${plural(fatals, 'PHP fatal error')} (users get 500, an application bug rather than a gateway problem)`, samples: facts.signatures(['php_fatal']).flatMap((s) => s.samples).slice(0, 1) });
  }
  const confidence = access && access.requests > 0 ? (errorsRead ? 0.95 : 0.85) : errorsRead ? 0.6 : 0.3;
  return {
    id: 'healthy',
    confidence,
    summary: access
      ? `No 502/504 to explain in ${plural(access.requests, 'request')}${fatals ? `; ${plural(fatals, 'PHP fatal error')} gave 500s` : ''}${slow ? '; some requests are slow' : ''}.`
      : errorsRead
        ? 'No upstream failures in the evidence read.'
        : 'Not enough readable evidence to name a cause: no log read here looked like nginx\'s.',
    evidence,
    sources: [...new Set(evidence.map((e) => e.source))],
    remedy: {
      text: !access && !errorsRead
        ? "Give badgateway nginx's access and error logs of the right server (or triage the host over SSH) before trusting this."
        : slow
          ? `Nothing urgent. Keep an eye on the slow requests (${slow}).`
          : 'Nothing to do.',
    },
  };
}

function unexplainedNote(facts: Facts): string {
  const kinds = (facts.evidence.errors?.signatures ?? []).filter((s) => UPSTREAM_FAILURE_KINDS.includes(s.kind));
  if (!facts.evidence.errors) {
    return `${facts.failures} × 502/504 in the access log, but no error log was read: add it to name the cause.`;
  }
  if (kinds.length === 0) {
    return `${facts.failures} × 502/504 in the access log, but the error log window has no upstream failure entries: check that it is the error log of the same server and time range.`;
  }
  return `Upstream failures (${kinds.map((k) => `${k.kind} × ${k.count}`).join(', ')}) that no rule explains yet.`;
}
