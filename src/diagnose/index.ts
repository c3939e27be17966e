/**
 * @module diagnose: joins the evidence of every source into ranked causes with remedies. Pure: no I/O.
 */
import { percent } from '../analyze/numbers.js';
import type { Evidence } from '../analyze/evidence.js';
import { CAUSE_WORDS, CAUSES, healthyCause } from './causes/index.js';
import { Facts, UPSTREAM_FAILURE_KINDS, plural } from './facts.js';
import type { Cause, Diagnosis, Verdict } from './types.js';

export type { CauseDefinition } from './claim.js';
export type { Cause, CauseId, Diagnosis, EvidenceItem, Remedy, SourceName, Verdict, VerdictStatus } from './types.js';
export { CAUSE_IDS, VERDICT_STATUSES } from './types.js';
export { CAUSES, CAUSE_WORDS };

export function diagnose(evidence: Evidence): Diagnosis {
  const facts = new Facts(evidence);
  const causes = CAUSES.map((c) => c.rule?.(facts) ?? null)
    .filter((c): c is Cause => c !== null)
    .map((c) => weighed(c, evidence));
  const notes: string[] = [];
  const needsExplaining = facts.failures > 0 || facts.errorFailures > 0;
  let verdict: Verdict;
  if (causes.length > 0) verdict = { status: 'cause' };
  else if (needsExplaining) {
    notes.push(unexplainedNote(facts));
    verdict = { status: 'unexplained' };
  } else {
    verdict = quietVerdict(evidence);
    if (verdict.status === 'healthy') causes.push(healthyCause(facts));
  }
  causes.sort(byWeight);
  // Where the verdict is Unknown it already says what is wrong with the access log.
  if (verdict.status === 'unknown') {
    // nothing to add
  } else if (!evidence.access) notes.push('No access log was read: 502/504 counts and rates are unknown.');
  else if (evidence.access.parsed === 0 && evidence.access.unparsed > 0) {
    notes.push(`None of the ${evidence.access.unparsed} access-log lines matched the log_format in use: give the format from nginx.conf (or nginx -T output).`);
  }
  if (!evidence.errors) notes.push("No error log was read: the cause of 502/504s cannot be named from nginx's side.");
  else if (!facts.readableErrors) {
    notes.push(`None of the ${evidence.errors.unparsed} error-log lines looked like nginx's error.log: check that the file is the error log.`);
  }
  return {
    verdict,
    causes,
    failures: { count502: facts.count502, count504: facts.count504, explained: !needsExplaining || causes.length > 0 },
    notes,
  };
}

/** Under 5 failures and under 1% of the requests: a note to watch, not an outage. */
const ISOLATED = { count: 5, share: 0.01 };
/** A cause this sure holds on its own; causes that hold are ranked by the failures they explain. */
const HOLDS = 0.5;

/** The causes after the first, split into those that hold as well (shown with their fix) and weaker candidates. */
export function secondaryCauses(d: Diagnosis): { alsoHolds: Cause[]; candidates: Cause[] } {
  const rest = d.causes.slice(1);
  return { alsoHolds: rest.filter((c) => c.confidence >= HOLDS), candidates: rest.filter((c) => c.confidence < HOLDS) };
}

/**
 * Causes that hold come first, the one that explains more failures first (a full pool behind 12 refused connects
 * before the read timeouts of 5 requests); then the rest by confidence.
 */
function byWeight(a: Cause, b: Cause): number {
  const holdsA = a.confidence >= HOLDS;
  const holdsB = b.confidence >= HOLDS;
  if (holdsA !== holdsB) return holdsA ? -1 : 1;
  if (holdsA) {
    const more = (b.explains ?? 0) - (a.explains ?? 0);
    if (more !== 0) return more;
  }
  return b.confidence - a.confidence;
}

/**
 * A rule says what the failures mean; how sure to be also depends on how many requests they hit and
 * whether they still happen. Few failures among many requests, or failures that stopped while traffic
 * went on, lower the confidence and say so in the summary, so that no sentence claims more than that.
 */
function weighed(cause: Cause, evidence: Evidence): Cause {
  const access = evidence.access;
  const n = cause.explains;
  if (n === undefined || !access || access.requests === 0) return cause;
  let { confidence, summary } = cause;
  const share = n / Math.max(access.requests, n);
  if (n < ISOLATED.count && share < ISOLATED.share) {
    confidence *= 0.45;
    summary =
      `Isolated: ${plural(n, 'failure')} of this kind among ${access.requests} requests (${percent(share)}), too few to say "${CAUSE_WORDS[cause.id]}"; ` +
      `watch whether it repeats. What was logged: ${(cause.evidence[0]?.text ?? cause.summary).replace(/\.?$/, '.')}`;
  } else if (n < 10 && share < 0.05) {
    confidence *= 0.8;
  }
  const stopped = stoppedAt(cause, access);
  if (stopped) {
    confidence *= 0.85;
    summary = `${summary.replace(/\.?$/, '.')} Last at ${stopped.at}, none since while ${plural(stopped.served, 'request')} were served.`;
  }
  return { ...cause, confidence: Math.round(confidence * 100) / 100, summary };
}

/** Error-log and access-log stamps of one failure agree to the second; allow for rounding either way. */
const SAME_FAILURE_MS = 2_000;

/**
 * When the failures of this cause stopped: its last error-log entry is also the access log's last 502/504, the
 * window went on well past it (30 s, or 5% of the window), and enough requests were served since (20, and twice
 * the failures) that their absence means something. Null otherwise: then nothing is said about stopping.
 */
function stoppedAt(cause: Cause, access: NonNullable<Evidence['access']>): { at: string; served: number } | null {
  const last = access.lastFailure;
  if (cause.lastSeen === undefined || !last || Math.abs(last.time - cause.lastSeen) > SAME_FAILURE_MS) return null;
  const end = access.window.to ?? access.lastTime;
  if (end === null) return null;
  const span = access.window.from !== null && access.window.to !== null ? access.window.to - access.window.from : 0;
  const quietEnough = end - last.time >= Math.max(30_000, span * 0.05);
  const servedEnough = last.servedSince >= Math.max(20, 2 * (cause.explains ?? 0));
  if (!quietEnough || !servedEnough) return null;
  return { at: `${new Date(Math.max(last.time, cause.lastSeen)).toISOString().slice(11, 19)}Z`, served: last.servedSince };
}

/** The verdict in words where no cause names it ("Unknown: no access log was read, ..."); null when one does. */
export function verdictLine(d: Diagnosis): string | null {
  if (d.causes[0]) return null;
  if (d.headline) return d.headline;
  switch (d.verdict.status) {
    case 'unknown':
      return `Unknown: ${d.verdict.why ?? 'the evidence cannot support a verdict'}`;
    case 'no_traffic':
      return `No traffic: ${d.verdict.why ?? 'no request in the window'}`;
    default:
      return `${d.failures.count502 + d.failures.count504} × 502/504 with no cause named`;
  }
}

/**
 * Nothing failed in what was read: health only when an access log covering the window had requests.
 * Anything less is no traffic (nginx runs and logged nothing) or unknown, with why and what would settle it.
 */
function quietVerdict(evidence: Evidence): Verdict {
  const access = evidence.access;
  if (!access && evidence.foreignAccessLog) {
    return { status: 'unknown', why: evidence.foreignAccessLog, needs: "sources.accessLog set to a log this host's nginx writes (or left out, so that discovery finds it)" };
  }
  if (!access) {
    return { status: 'unknown', why: 'no access log was read, so nothing shows whether requests failed', needs: "nginx's access log for the window (sources.accessLog, or --access)" };
  }
  if (access.parsed === 0) {
    return access.unparsed > 0
      ? {
          status: 'unknown',
          why: `none of the ${access.unparsed} access-log lines matched the log_format in use`,
          needs: 'the log_format nginx writes this log with (--log-format, or the nginx -T output)',
        }
      : { status: 'unknown', why: 'the access log is empty', needs: 'the access log nginx writes now (a freshly rotated file is empty: check the newest generation)' };
  }
  const newest = access.newestTime !== null ? `; its newest entry is at ${new Date(access.newestTime).toISOString().slice(0, 16).replace('T', ' ')}Z` : '';
  if (evidence.nginxRunning === false) {
    // Requests served before nginx stopped say nothing of now: a stopped nginx is not a healthy one.
    return {
      status: 'unknown',
      why: `no nginx master runs on the host, so its access log describes the past${newest}`,
      needs: 'nginx started again (then triage again), or --until for the time it ran',
    };
  }
  if (access.requests > 0) return { status: 'healthy' };
  if (evidence.nginxRunning) return { status: 'no_traffic', why: `nginx runs but logged no request in the window${newest}` };
  return {
    status: 'unknown',
    why: `the access log has no request in the window${newest}`,
    needs: 'a window with traffic, or a check that nginx is running and writing this log',
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
