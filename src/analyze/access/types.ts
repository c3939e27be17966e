/** Latency percentiles in seconds, from a bounded histogram (<= ~1% relative error; max is exact). */
export interface LatencySummary {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export interface UpstreamStats {
  /** Peer as logged (`10.0.0.1:9000`, `unix:/run/php/fpm.sock`), or the group name when no peer could be selected. */
  addr: string;
  /** Attempts sent to this peer (a retried request counts once per peer tried). */
  requests: number;
  /** Attempts whose own status was 5xx or `-` (no response status). */
  errors: number;
  status502: number;
  status504: number;
  responseTime: LatencySummary;
}

export interface FailingUri {
  uri: string;
  count5xx: number;
  count502: number;
  count504: number;
}

export interface TimelineBucket {
  /** Epoch ms at the start of the minute. */
  minute: number;
  requests: number;
  count5xx: number;
  count502: number;
  count504: number;
}

/** 5xx responses by `$request_time`. */
export interface ErrorTimeBuckets {
  lt1: number;
  s1to5: number;
  s5to10: number;
  s10to30: number;
  gt30: number;
}

/** Plain, JSON-serialisable result of an access-log analysis. Counts after `outsideWindow` cover in-window entries. */
export interface AccessStats {
  /** Resolved log_format text. */
  format: string;
  escape: 'default' | 'json' | 'none';
  window: { from: number | null; to: number | null };
  /** Non-empty lines seen. */
  lines: number;
  parsed: number;
  unparsed: number;
  /** Up to 5 unparsed lines, each cut to 300 characters. */
  unparsedSamples: string[];
  /** Unparsed lines by reason: shape, time, status, number, upstream, utf8, too_long. */
  unparsedReasons: Record<string, number>;
  /** Parsed entries outside the window (not counted below). */
  outsideWindow: number;
  firstTime: number | null;
  lastTime: number | null;
  /** The newest entry of the whole log read, in the window or not (null: no line had a time). */
  newestTime: number | null;
  requests: number;
  statuses: Record<string, number>;
  count5xx: number;
  count502: number;
  count504: number;
  /**
   * The last 502/504 in the window and how many requests were logged after it (null: none, or no time logged), so that
   * "it stopped" is said only when traffic went on without one.
   */
  lastFailure: { time: number; servedSince: number } | null;
  /** count5xx / requests, 0 when there are no requests. */
  rate5xx: number;
  requestTime: LatencySummary;
  /** Per attempt (a retried request contributes one value per peer tried). */
  upstreamConnectTime: LatencySummary;
  upstreamHeaderTime: LatencySummary;
  upstreamResponseTime: LatencySummary;
  errorTimeBuckets: ErrorTimeBuckets;
  /** Requests that reached at least one upstream, and those that needed more than one attempt. */
  upstreamRequests: number;
  retriedRequests: number;
  upstreams: UpstreamStats[];
  topFailingUris: FailingUri[];
  timeline: TimelineBucket[];
  /** Minute with most 502+504 (earliest on ties), null when there were none. */
  worstMinute: TimelineBucket | null;
  /**
   * Peak over seconds of the average number of requests in flight at the upstream, to compare with pm.max_children.
   * A request spans [end - $request_time, end] (summed upstream times if $request_time is not logged); a
   * second-resolution end stamp is taken as mid-second. Only requests that reached an upstream count, when the format
   * logs upstream fields. null without a time variable.
   */
  peakConcurrency: number | null;
  /** Largest single `$upstream_response_time` value, seconds. */
  slowestUpstreamSeconds: number | null;
}

export interface ConnectionEntry {
  status: number;
  uri: string | null;
  /** Epoch ms, null when the format has no time variable. */
  time: number | null;
}

export interface UpstreamAttempt {
  addr: string | null;
  status: number | null;
  connectTime: number | null;
  headerTime: number | null;
  responseTime: number | null;
}

/** One decoded line (slow path: parseAccessLine). Times in seconds, except `time` (epoch ms). */
export interface AccessEntry {
  time: number | null;
  method: string | null;
  uri: string | null;
  status: number | null;
  requestTime: number | null;
  connection: number | null;
  upstreams: UpstreamAttempt[];
  /** Raw (still escaped) text of every variable, by name; first occurrence wins. */
  fields: Record<string, string>;
}
