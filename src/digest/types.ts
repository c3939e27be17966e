/**
 * The Digest: what a scheduled (or asked-for) health report says about a fleet over a window, as
 * plain data. `buildDigest` makes it from a triage result and the stored previous digest; the
 * renderers (Block Kit, text, PNG chart) only read it. `StoredDigest` is the small part kept in the
 * store as history: next time's comparison and the FPM counter baselines.
 */
import type { CauseId } from '../diagnose/index.js';

export type Severity = 'critical' | 'warn' | 'info';

/** Requests and failures of one hour (or of the whole window). */
export interface Counts {
  requests: number;
  count5xx: number;
  count502: number;
  count504: number;
}

export interface Rates {
  /** Share of requests, 0 when there were none. */
  rate5xx: number;
  rate502: number;
  rate504: number;
}

export interface HourBucket extends Counts {
  /** Epoch ms at the start of the hour, in the digest's time zone. */
  hour: number;
}

/** The FPM status page's cumulative counters, kept per host so the next digest can take deltas. */
export interface FpmCounters {
  pool: string | null;
  /** Pool start (epoch ms): a different value means the pool restarted and the counters began again. */
  startTime: number | null;
  maxChildrenReached: number | null;
  /** High-water mark of the listen queue since the pool started. */
  maxListenQueue: number | null;
  slowRequests: number | null;
  acceptedConn: number | null;
}

export interface FpmPressure {
  pool: string | null;
  /** Episodes of pm.max_children reached since the previous digest (status counter delta); null without a baseline. */
  maxChildrenSinceLast: number | null;
  /** The counter as read now (since the pool started). */
  maxChildrenTotal: number | null;
  /** Listen-queue peak since the pool started, and whether it is higher than at the previous digest. */
  listenQueuePeak: number | null;
  listenQueueRose: boolean | null;
  /** Slow requests since the previous digest (status counter delta); null without a baseline. */
  slowSinceLast: number | null;
  /** "server reached max_children" lines in the FPM log inside the window (when the log was read). */
  maxChildrenLogged: number | null;
  /** The pool restarted since the previous digest, so deltas are counted from its start. */
  restarted: boolean;
  /** The status page could not be read (a saturated pool cannot answer it): why. */
  statusError: string | null;
}

export interface UpstreamLine {
  addr: string;
  requests: number;
  errors: number;
  status502: number;
  status504: number;
  /** Upstream response time p95, seconds. */
  p95: number | null;
  /** Hosts that sent to it (fleet view). */
  hosts: string[];
}

export interface UriLine {
  uri: string;
  count5xx: number;
  count502: number;
  count504: number;
  hosts: string[];
}

export interface SlowScriptLine {
  script: string;
  count: number;
  hosts: string[];
}

export interface FindingLine {
  id: string;
  /** The pool or location it is about, when the finding names one. */
  scope?: string;
  severity: Severity;
  /** The worst host's wording (figures differ from host to host). */
  summary: string;
  /** Hosts this finding holds on (the same config usually runs on many). */
  hosts: string[];
}

/** Now against the previous digest; null fields where either side is unknown. */
export interface Change {
  requests: { before: number; now: number } | null;
  rate5xx: { before: number; now: number } | null;
  count502: { before: number; now: number } | null;
  count504: { before: number; now: number } | null;
  p95: { before: number; now: number } | null;
}

export interface HostDigest extends Counts, Rates {
  host: string;
  /** Upstream response time percentiles over the window, seconds. */
  p95: number | null;
  p99: number | null;
  worstHour: HourBucket | null;
  topUpstreams: UpstreamLine[];
  topUris: UriLine[];
  fpm: FpmPressure | null;
  slowScripts: SlowScriptLine[];
  findings: FindingLine[];
  topCause: { id: CauseId; confidence: number } | null;
  /** Sources that could not be read, e.g. "access unreadable". */
  missing: string[];
  /** Why this host's window has no data to judge (its verdict was Unknown), e.g. "the access log is missing: ..."; null when it has. */
  noData: string | null;
  change: Change | null;
  /** What the store keeps for the next digest: the counters read now, else the previous baseline. */
  counters: FpmCounters | null;
  /** Any 5xx, 502/504s no cause explains, no data, or pool pressure since the previous digest. */
  attention: boolean;
}

export interface UnreachableHost {
  host: string;
  error: string;
}

export interface FleetDigest extends Counts, Rates {
  hosts: number;
  reached: number;
  /** Reached hosts whose window could be read (an access log with data): the rest are in `noData`. */
  withData: number;
  /** Highest p95 / p99 among hosts: an upper bound of the fleet's own percentile. */
  p95: number | null;
  p99: number | null;
  worstHour: HourBucket | null;
  /** Hosts with any 502/504, or pool pressure since the last digest. */
  attention: number;
}

export interface Digest {
  /** Schedule name, or null for one asked for (`/502 digest`, `badgateway digest`). */
  schedule: string | null;
  target: string;
  /** IANA zone the hours and labels are in. */
  timeZone: string;
  window: { from: number; to: number };
  /** The fire time this digest is for (scheduled), else when it was made. */
  fireTime: number;
  generatedAt: number;
  /** Set when the digest is posted after its time (the bot was down): one line saying so. */
  lateNote: string | null;
  fleet: FleetDigest;
  /** Requests and 5xx per hour across the window (all hosts), oldest first, hours without traffic included. */
  hourly: HourBucket[];
  /** Reached hosts, worst first. */
  hosts: HostDigest[];
  unreachable: UnreachableHost[];
  topUpstreams: UpstreamLine[];
  topUris: UriLine[];
  slowScripts: SlowScriptLine[];
  findings: FindingLine[];
  change: Change | null;
  /** When the digest compared against was made (its window end), null without one. */
  previousTo: number | null;
  /** Nothing to act on: every host reached, no 5xx, no pool pressure. Rendered as one line. */
  quiet: boolean;
  /** Bytes read from the hosts and how long the collection took. */
  collection: { bytesFetched: number; durationMs: number };
}

/** The part of a digest kept as history (JSON in the store). */
export interface StoredDigest {
  schedule: string | null;
  target: string;
  fireTime: number;
  window: { from: number; to: number };
  postedAt: number;
  fleet: Counts & { rate5xx: number; p95: number | null; p99: number | null };
  hosts: Record<string, Counts & { rate5xx: number; p95: number | null; p99: number | null; counters: FpmCounters | null }>;
}
