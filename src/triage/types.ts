/** What a triage returns and reports while it runs; the front ends (CLI, Slack, console) render these. */
import type { CauseId, VerdictStatus } from '../diagnose/index.js';
import type { Report } from './report.js';

/** The window of a triage: `sinceMs` back from `untilMs` (a post-mortem's end), or from now without it. */
export interface TriageSpan {
  sinceMs: number;
  untilMs?: number;
}

export interface TriageRequest {
  /** What the responder typed: a name, @group, glob or comma list (resolved by the inventory). */
  target: string;
  /** How far back to look from the window's end. */
  sinceMs: number;
  /** The window's end (epoch ms) for a post-mortem (`--until`); absent: now. */
  untilMs?: number;
  signal?: AbortSignal;
  onProgress?: (event: TriageProgress) => void;
}

/** Sent as each host and source moves along, so a Slack message can be updated in place. */
export type TriageProgress =
  | { type: 'started'; hosts: string[] }
  | { type: 'phase'; host: string; phase: 'connect' | 'discover' | 'collect' | 'analyze' }
  | { type: 'source'; host: string; source: string; status: 'read' | 'failed' | 'missing'; detail?: string }
  | { type: 'host-done'; host: string; result: HostTriage };

export interface HostTriage {
  host: string;
  /** The report, or null when the host could not be triaged at all (down, refused, key changed). */
  report: Report | null;
  /** One responder-readable line when the host failed. */
  error: string | null;
  /** Wall time per phase, ms. */
  timings: Partial<Record<'discover' | 'collect' | 'analyze' | 'total', number>>;
  bytesFetched: number;
}

/** One row of the worst-first table a fan-out starts with. */
export interface FleetRow {
  host: string;
  requests: number | null;
  rate5xx: number | null;
  count502: number | null;
  count504: number | null;
  topCause: CauseId | null;
  confidence: number | null;
  /** What the evidence supported (null: the host could not be triaged, see error). */
  verdict: VerdictStatus | null;
  error: string | null;
}

export interface TriageResult {
  target: string;
  /** `until`: the end was asked for (`--until`) rather than now. */
  window: { from: number; to: number; since: string; until: boolean };
  /** Worst first: failed hosts, then by 5xx rate, then by cause confidence. */
  rows: FleetRow[];
  hosts: HostTriage[];
  durationMs: number;
}
