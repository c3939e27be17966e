/**
 * The diagnosis contract: cause ids are stable and part of the JSON output. Each id has its module in causes/
 * (a test checks that every id has one, and one only).
 */

export const CAUSE_IDS = [
  'fastcgi_read_timeout',
  'upstream_connect_timeout',
  'request_terminate_timeout',
  'worker_crash',
  'fpm_down',
  'pool_exhausted',
  'socket_permission',
  'header_too_big',
  'upstream_down',
  'invalid_upstream_response',
  'healthy',
] as const;

export type CauseId = (typeof CAUSE_IDS)[number];

/** Which evidence source a fact came from. */
export type SourceName = 'access.log' | 'error.log' | 'fpm.log' | 'slow.log' | 'fpm-status' | 'nginx-config' | 'fpm-config';

export interface EvidenceItem {
  source: SourceName;
  text: string;
  /** Raw lines backing the fact (already scrubbed of secrets by the renderers). */
  samples?: string[];
}

export interface Remedy {
  /** What to do, in one or two sentences. */
  text: string;
  setting?: string;
  current?: string;
  suggested?: string;
}

export interface Cause {
  id: CauseId;
  /** 0..1: how sure the rules are, from how many sources agree and how much of the failure it explains. */
  confidence: number;
  summary: string;
  evidence: EvidenceItem[];
  /** Sources that support this cause. */
  sources: SourceName[];
  remedy: Remedy;
  /** Evidence that would settle it when a source was missing. */
  toConfirm?: string[];
  /** Failures (error-log entries) this cause accounts for, and when the last one was logged (epoch ms). */
  explains?: number;
  lastSeen?: number;
}

/**
 * What the evidence supports, before any cause: a named cause, 502/504s no rule explains, health (an
 * access log covering the window had requests and no failures), no traffic (nginx runs and logged
 * nothing in the window), or unknown (the evidence cannot support a verdict). Unknown is never healthy.
 */
export const VERDICT_STATUSES = ['cause', 'unexplained', 'healthy', 'no_traffic', 'unknown'] as const;
export type VerdictStatus = (typeof VERDICT_STATUSES)[number];

export interface Verdict {
  status: VerdictStatus;
  /** For unknown and no_traffic: why, in one sentence about the evidence. */
  why?: string;
  /** For unknown: what to give or check so that a verdict can be reached. */
  needs?: string;
}

export interface Diagnosis {
  verdict: Verdict;
  /** Ranked, highest confidence first. */
  causes: Cause[];
  /** 502/504 in the access log and whether the causes account for them. */
  failures: { count502: number; count504: number; explained: boolean };
  notes: string[];
  /** The verdict in words when no cause can be named for a reason worth saying first (e.g. nothing to triage on the host). */
  headline?: string;
}
