/**
 * Building blocks the cause modules share: a Cause from a rule's partial answer (confidence clamped, sources
 * and the failures it accounts for filled in), and the access-log line that corroborates a cause.
 */
import { percent } from '../analyze/numbers.js';
import type { ErrorSignature } from '../analyze/errorlog/index.js';
import type { Facts } from './facts.js';
import type { Cause, CauseId, EvidenceItem, SourceName } from './types.js';

/** A cause's rule: names the cause, with confidence, evidence and a remedy, or stays silent (null). */
export type Rule = (facts: Facts) => Cause | null;

/** Everything about one cause, in one module: adding a cause is one such definition and its tests. */
export interface CauseDefinition {
  id: CauseId;
  /** The headline, in words. */
  words: string;
  /** Null for health, which is the verdict's, not a rule's. */
  rule: Rule | null;
  /** The step of runbooks/502-triage.md that locates this cause (its `when:` names the id). */
  runbookStep: string;
}

function clamp(confidence: number): number {
  return Math.round(Math.min(0.98, Math.max(0.05, confidence)) * 100) / 100;
}

function sourcesOf(evidence: EvidenceItem[]): SourceName[] {
  return [...new Set(evidence.map((e) => e.source))];
}

/** `failures`: the error-log signatures the cause accounts for (how many, and the last one's time). */
export function claim(partial: Omit<Cause, 'sources' | 'confidence'> & { confidence: number; failures?: readonly ErrorSignature[] }): Cause {
  const { failures, ...rest } = partial;
  const counted = failures?.length ? { explains: failures.reduce((n, s) => n + s.count, 0), lastSeen: Math.max(...failures.map((s) => s.lastSeen)) } : {};
  return { ...rest, ...counted, confidence: clamp(partial.confidence), sources: sourcesOf(partial.evidence) };
}

/** Access-log corroboration: the statuses users actually got. */
export function accessItem(f: Facts, status: 502 | 504 | 'both', extra = ''): EvidenceItem[] {
  const access = f.evidence.access;
  const parts: string[] = [];
  if (status !== 504 && f.count502) parts.push(`${f.count502} × 502`);
  if (status !== 502 && f.count504) parts.push(`${f.count504} × 504`);
  if (!access || parts.length === 0) return [];
  return [{ source: 'access.log', text: `${parts.join(', ')} of ${access.requests} requests (5xx rate ${percent(access.rate5xx)})${extra}` }];
}

export function countOf(signatures: readonly ErrorSignature[]): number {
  return signatures.reduce((n, s) => n + s.count, 0);
}
