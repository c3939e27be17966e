/** A command's --since/--until as the window a triage reads; a relative end is taken from the moment the job starts. */
import { resolveWindowEnd, type WindowEnd } from '../config/index.js';
import type { TriageSpan } from '../triage/types.js';

export function spanOf(sinceMs: number, until: WindowEnd | null, now: number = Date.now()): TriageSpan {
  return until ? { sinceMs, untilMs: resolveWindowEnd(until, now) } : { sinceMs };
}
