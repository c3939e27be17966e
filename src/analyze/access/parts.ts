/**
 * The access analysis as mergeable parts. An analyzer's state is a plain AccessPart (counts, histograms, per-minute
 * series, per-upstream and per-URI tables, the concurrency ring, the `$connection` table); consecutive parts of one log
 * (line-aligned byte ranges analyzed by worker threads) merge into exactly the AccessStats one analyzer over the whole
 * log gives, and the result of one analyzer is computed by the same function from its own part.
 */
import { mergeConcurrency, type ConcurrencyPart } from './concurrency.js';
import { mergeConnections, type ConnectionsPart } from './connections.js';
import { LatencyHistogram, type HistogramState } from './histogram.js';
import { REASONS } from './decode.js';
import type { AccessStats, ConnectionEntry, FailingUri, TimelineBucket, UpstreamStats } from './types.js';

export const MAX_SAMPLES = 5;
/** Distinct upstream peers kept by name; the rest fold into "(other)". */
export const MAX_UPSTREAMS = 1000;
/** Distinct failing URIs kept before the rarest are dropped. */
export const MAX_URIS = 10_000;

export interface UpstreamPart {
  addr: string;
  requests: number;
  errors: number;
  s502: number;
  s504: number;
  hist: HistogramState | null;
}

export interface UriPart {
  uri: string;
  c5xx: number;
  c502: number;
  c504: number;
}

/** Everything AccessStats is computed from, but the concurrency peak. */
export interface AccessTotals {
  lines: number;
  parsed: number;
  unparsed: number;
  /** By REASONS index. */
  reasons: Float64Array;
  samples: string[];
  outsideWindow: number;
  firstTime: number;
  lastTime: number;
  /** Newest entry of any parsed line, in the window or not (-Infinity: none). */
  newestSeen: number;
  requests: number;
  /** By status code, 0-999. */
  statusCounts: Float64Array;
  count5xx: number;
  count502: number;
  count504: number;
  /** The last 502/504 line's time (-Infinity: none), and the requests in the window logged after it. */
  lastFailure: number;
  servedSinceFailure: number;
  /** <1 s, 1-5 s, 5-10 s, 10-30 s, >30 s. */
  errBuckets: Float64Array;
  upstreamRequests: number;
  retriedRequests: number;
  hRequest: HistogramState;
  hConnect: HistogramState;
  hHeader: HistogramState;
  hResponse: HistogramState;
  upstreams: UpstreamPart[];
  /** Whether peers were folded into "(other)" (a merge of such parts cannot know which a single pass would fold). */
  upstreamsFolded: boolean;
  uris: UriPart[];
  urisPruned: boolean;
  minutes: TimelineBucket[];
}

/** One analyzer's state, as a worker thread sends it back. */
export interface AccessPart extends AccessTotals {
  concurrency: ConcurrencyPart;
  connections: ConnectionsPart | null;
}

/** What the stats need besides the totals: the analysis's own settings. */
export interface StatsContext {
  format: string;
  escape: AccessStats['escape'];
  window: AccessStats['window'];
  topN: number;
  hasTime: boolean;
}

const summary = (h: HistogramState | null) => {
  const out = new LatencyHistogram();
  if (h) out.add(h);
  return out.summary();
};

/** The AccessStats of some totals; `peakMs` is the concurrency peak in ms per second. */
export function statsOf(context: StatsContext, t: AccessTotals, peakMs: number): AccessStats {
  const statuses: Record<string, number> = {};
  for (let i = 1; i < 1000; i++) {
    const n = t.statusCounts[i] as number;
    if (n > 0) statuses[String(i).padStart(3, '0')] = n;
  }
  const unparsedReasons: Record<string, number> = {};
  for (let i = 1; i < REASONS.length; i++) {
    const n = t.reasons[i] as number;
    if (n > 0) unparsedReasons[REASONS[i] as string] = n;
  }
  const upstreams: UpstreamStats[] = t.upstreams
    .map((a) => ({ addr: a.addr, requests: a.requests, errors: a.errors, status502: a.s502, status504: a.s504, responseTime: summary(a.hist) }))
    .sort((a, b) => b.errors - a.errors || b.requests - a.requests || (a.addr < b.addr ? -1 : 1));
  const topFailingUris: FailingUri[] = [...t.uris]
    .sort((a, b) => b.c5xx - a.c5xx || (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0))
    .slice(0, context.topN)
    .map((u) => ({ uri: u.uri, count5xx: u.c5xx, count502: u.c502, count504: u.c504 }));
  const timeline = [...t.minutes].sort((a, b) => a.minute - b.minute).map((b) => ({ ...b }));
  let worst: TimelineBucket | null = null;
  for (const b of timeline) {
    if (b.count502 + b.count504 > (worst ? worst.count502 + worst.count504 : 0)) worst = b;
  }
  const eb = t.errBuckets;
  const hasTime = context.hasTime;
  return {
    format: context.format,
    escape: context.escape,
    window: context.window,
    lines: t.lines,
    parsed: t.parsed,
    unparsed: t.unparsed,
    unparsedSamples: [...t.samples],
    unparsedReasons,
    outsideWindow: t.outsideWindow,
    firstTime: t.requests > 0 && hasTime ? t.firstTime : null,
    lastTime: t.requests > 0 && hasTime ? t.lastTime : null,
    newestTime: t.newestSeen > -Infinity ? t.newestSeen : null,
    requests: t.requests,
    statuses,
    count5xx: t.count5xx,
    count502: t.count502,
    count504: t.count504,
    lastFailure: t.lastFailure > -Infinity && hasTime ? { time: t.lastFailure, servedSince: t.servedSinceFailure } : null,
    rate5xx: t.requests > 0 ? t.count5xx / t.requests : 0,
    requestTime: summary(t.hRequest),
    upstreamConnectTime: summary(t.hConnect),
    upstreamHeaderTime: summary(t.hHeader),
    upstreamResponseTime: summary(t.hResponse),
    errorTimeBuckets: { lt1: eb[0] as number, s1to5: eb[1] as number, s5to10: eb[2] as number, s10to30: eb[3] as number, gt30: eb[4] as number },
    upstreamRequests: t.upstreamRequests,
    retriedRequests: t.retriedRequests,
    upstreams,
    topFailingUris,
    timeline,
    worstMinute: worst ? { ...worst } : null,
    peakConcurrency: hasTime ? Math.round(peakMs / 100) / 10 : null,
    slowestUpstreamSeconds: t.hResponse.count > 0 ? t.hResponse.max / 1000 : null,
  };
}

function addInto(target: Float64Array, source: Float64Array): void {
  for (let i = 0; i < target.length; i++) target[i] = (target[i] as number) + (source[i] as number);
}

function histogramOf(states: readonly HistogramState[]): HistogramState {
  const h = new LatencyHistogram();
  for (const s of states) h.add(s);
  return h.state();
}

/** Rows keyed by `key`, in order of first appearance, summed with `add`. */
function mergeRows<T>(lists: ReadonlyArray<readonly T[]>, key: (row: T) => string | number, add: (into: T, row: T) => void): T[] {
  const rows = new Map<string | number, T>();
  for (const list of lists) {
    for (const row of list) {
      const seen = rows.get(key(row));
      if (seen === undefined) rows.set(key(row), structuredClone(row));
      else add(seen, row);
    }
  }
  return [...rows.values()];
}

export type MergedAccess = { stats: AccessStats; connections: Map<number, ConnectionEntry> } | { inexact: string };

/**
 * Merges the parts of consecutive byte ranges of one log, in file order. `inexact` (with the reason) when the parts
 * cannot reproduce a single pass: more distinct peers or failing URIs than the caps (a single pass would have folded or
 * pruned some, depending on line order), a `$connection` table past its cap, or requests that cross a range boundary
 * by more than the concurrency ring.
 */
export function mergeAccessParts(context: StatsContext, parts: readonly AccessPart[]): MergedAccess {
  const peakMs = mergeConcurrency(parts.map((p) => p.concurrency));
  if (peakMs === null) return { inexact: 'requests or lines out of order across a range boundary by more than the concurrency ring' };
  const upstreams = mergeRows(
    parts.map((p) => p.upstreams),
    (u) => u.addr,
    (into, u) => {
      into.requests += u.requests;
      into.errors += u.errors;
      into.s502 += u.s502;
      into.s504 += u.s504;
      if (u.hist) into.hist = into.hist ? histogramOf([into.hist, u.hist]) : structuredClone(u.hist);
    },
  );
  if (parts.some((p) => p.upstreamsFolded) || upstreams.length > MAX_UPSTREAMS) return { inexact: `more than ${MAX_UPSTREAMS} upstream peers` };
  const uris = mergeRows(
    parts.map((p) => p.uris),
    (u) => u.uri,
    (into, u) => {
      into.c5xx += u.c5xx;
      into.c502 += u.c502;
      into.c504 += u.c504;
    },
  );
  if (parts.some((p) => p.urisPruned) || uris.length > MAX_URIS) return { inexact: `more than ${MAX_URIS} failing URIs` };
  const withConnections = parts.filter((p) => p.connections !== null);
  const connections = withConnections.length > 0 ? mergeConnections(withConnections.map((p) => p.connections!)) : new Map<number, ConnectionEntry>();
  if (connections === null) return { inexact: 'more $connection numbers than the join keeps' };
  const sum = (pick: (p: AccessPart) => number) => parts.reduce((n, p) => n + pick(p), 0);
  const vector = (pick: (p: AccessPart) => Float64Array, length: number) => {
    const out = new Float64Array(length);
    for (const p of parts) addInto(out, pick(p));
    return out;
  };
  const totals: AccessTotals = {
    lines: sum((p) => p.lines),
    parsed: sum((p) => p.parsed),
    unparsed: sum((p) => p.unparsed),
    reasons: vector((p) => p.reasons, REASONS.length),
    samples: parts.flatMap((p) => p.samples).slice(0, MAX_SAMPLES),
    outsideWindow: sum((p) => p.outsideWindow),
    firstTime: Math.min(...parts.map((p) => p.firstTime)),
    lastTime: Math.max(...parts.map((p) => p.lastTime)),
    newestSeen: Math.max(...parts.map((p) => p.newestSeen)),
    requests: sum((p) => p.requests),
    statusCounts: vector((p) => p.statusCounts, 1000),
    count5xx: sum((p) => p.count5xx),
    count502: sum((p) => p.count502),
    count504: sum((p) => p.count504),
    ...lastFailureOf(parts),
    errBuckets: vector((p) => p.errBuckets, 5),
    upstreamRequests: sum((p) => p.upstreamRequests),
    retriedRequests: sum((p) => p.retriedRequests),
    hRequest: histogramOf(parts.map((p) => p.hRequest)),
    hConnect: histogramOf(parts.map((p) => p.hConnect)),
    hHeader: histogramOf(parts.map((p) => p.hHeader)),
    hResponse: histogramOf(parts.map((p) => p.hResponse)),
    upstreams,
    upstreamsFolded: false,
    uris,
    urisPruned: false,
    minutes: mergeRows(
      parts.map((p) => p.minutes),
      (b) => b.minute,
      (into, b) => {
        into.requests += b.requests;
        into.count5xx += b.count5xx;
        into.count502 += b.count502;
        into.count504 += b.count504;
      },
    ),
  };
  return { stats: statsOf(context, totals, peakMs), connections };
}

/** Consecutive parts: the last failure line is in the last part that has one; the parts after it only add requests. */
function lastFailureOf(parts: readonly AccessPart[]): Pick<AccessTotals, 'lastFailure' | 'servedSinceFailure'> {
  let lastFailure = -Infinity;
  let servedSinceFailure = 0;
  for (const p of parts) {
    if (p.lastFailure > -Infinity) {
      lastFailure = p.lastFailure;
      servedSinceFailure = p.servedSinceFailure;
    } else servedSinceFailure += p.servedSinceFailure;
  }
  return { lastFailure, servedSinceFailure };
}
