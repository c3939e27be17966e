/**
 * TriageResult (+ the stored previous digest) → Digest. Pure: no I/O, no clock (times come from the
 * result and the options), so the same input always gives the same digest.
 */
import type { TimelineBucket } from '../analyze/access/index.js';
import type { Finding } from '../analyze/config/index.js';
import { scrubDeep } from '../report/scrub.js';
import type { Report } from '../triage/report.js';
import type { HostTriage, TriageResult } from '../triage/types.js';
import { HOUR_MS, hourStart } from './time.js';
import type { Change, Counts, Digest, FindingLine, FpmCounters, FpmPressure, HostDigest, HourBucket, SlowScriptLine, StoredDigest, UnreachableHost, UpstreamLine, UriLine } from './types.js';

export interface BuildOptions {
  /** Schedule name (null or absent: asked for now). */
  schedule?: string | null;
  /** IANA zone for hours and labels (default UTC). */
  timeZone?: string;
  /** The fire time this digest stands for (default: the window's end). */
  fireTime?: number;
  /** One line when the digest is late. */
  lateNote?: string | null;
  /** Rows kept per list (upstreams, URIs, scripts). */
  top?: number;
}

/** Config findings the digest carries first, in this order; other warnings follow. */
const FINDING_ORDER = ['timeout_hierarchy', 'backlog_vs_somaxconn', 'timeout_expectation', 'max_children_vs_concurrency', 'buffer_vs_header_size'];
const SEVERITY_RANK = { critical: 0, warn: 1, info: 2 } as const;

function rates(c: Counts) {
  const n = c.requests;
  return { rate5xx: n ? c.count5xx / n : 0, rate502: n ? c.count502 / n : 0, rate504: n ? c.count504 / n : 0 };
}

function emptyCounts(): Counts {
  return { requests: 0, count5xx: 0, count502: 0, count504: 0 };
}

function add(into: Counts, from: Counts): void {
  into.requests += from.requests;
  into.count5xx += from.count5xx;
  into.count502 += from.count502;
  into.count504 += from.count504;
}

/** Hour buckets from the hour holding `from` up to `to`, all present (zeros included). */
function hourGrid(from: number, to: number, timeZone: string): HourBucket[] {
  const first = hourStart(from, timeZone);
  const count = Math.max(1, Math.ceil((to - first) / HOUR_MS));
  return Array.from({ length: Math.min(count, 24 * 31) }, (_, i) => ({ hour: first + i * HOUR_MS, ...emptyCounts() }));
}

function addTimeline(grid: HourBucket[], timeline: readonly TimelineBucket[]): void {
  if (grid.length === 0) return;
  const first = grid[0]!.hour;
  for (const b of timeline) {
    const i = Math.floor((b.minute - first) / HOUR_MS);
    if (i < 0 || i >= grid.length) continue;
    add(grid[i]!, b);
  }
}

/** The hour with most 502+504 (then most 5xx, then earliest); null when no hour had a 5xx. */
export function worstHour(grid: readonly HourBucket[]): HourBucket | null {
  let worst: HourBucket | null = null;
  for (const b of grid) {
    if (b.count5xx === 0 && b.count502 + b.count504 === 0) continue;
    if (!worst) worst = b;
    else {
      const x = b.count502 + b.count504;
      const y = worst.count502 + worst.count504;
      if (x > y || (x === y && b.count5xx > worst.count5xx)) worst = b;
    }
  }
  return worst ? { ...worst } : null;
}

function countersOf(report: Report): FpmCounters | null {
  const s = report.fpm.status;
  if (!s) return null;
  return {
    pool: s.pool,
    startTime: s.startTime,
    maxChildrenReached: s.maxChildrenReached,
    maxListenQueue: s.maxListenQueue,
    slowRequests: s.slowRequests,
    acceptedConn: s.acceptedConn,
  };
}

/** Counter delta since the baseline; after a restart (or a counter that went down) the counter itself. */
function delta(now: number | null, before: number | null | undefined, restarted: boolean): number | null {
  if (now === null || before === null || before === undefined) return null;
  if (restarted || now < before) return now;
  return now - before;
}

function pressureOf(report: Report, baseline: FpmCounters | null): FpmPressure | null {
  const now = countersOf(report);
  const log = report.fpm.log;
  if (!now && !log && !report.fpm.statusError) return null;
  const restarted = Boolean(
    now && baseline && ((now.startTime !== null && baseline.startTime !== null && now.startTime !== baseline.startTime) || (now.maxChildrenReached ?? 0) < (baseline.maxChildrenReached ?? 0)),
  );
  const peak = now?.maxListenQueue ?? null;
  return {
    pool: now?.pool ?? baseline?.pool ?? null,
    maxChildrenSinceLast: now && baseline ? delta(now.maxChildrenReached, baseline.maxChildrenReached, restarted) : null,
    maxChildrenTotal: now?.maxChildrenReached ?? null,
    listenQueuePeak: peak,
    listenQueueRose: now && baseline && peak !== null && baseline.maxListenQueue !== null ? (restarted ? peak > 0 : peak > baseline.maxListenQueue) : null,
    slowSinceLast: now && baseline ? delta(now.slowRequests, baseline.slowRequests, restarted) : null,
    maxChildrenLogged: log ? (log.events.max_children_reached ?? 0) : null,
    restarted,
    statusError: report.fpm.statusError,
  };
}

/** Pool pressure worth a line: max children reached or a new listen-queue peak since the last digest, or no status page. */
export function pressureNotable(p: FpmPressure | null): boolean {
  if (!p) return false;
  return (p.maxChildrenSinceLast ?? 0) > 0 || (p.maxChildrenLogged ?? 0) > 0 || p.listenQueueRose === true || p.statusError !== null;
}

function findingLines(findings: readonly Finding[], host: string): FindingLine[] {
  return findings.filter((f) => f.severity !== 'info').map((f) => ({ id: f.id, ...(f.scope ? { scope: f.scope } : {}), severity: f.severity, summary: f.summary, hosts: [host] }));
}

function findingRank(f: FindingLine): [number, number] {
  const i = FINDING_ORDER.indexOf(f.id);
  return [SEVERITY_RANK[f.severity], i === -1 ? FINDING_ORDER.length : i];
}

function sortFindings(lines: FindingLine[]): FindingLine[] {
  return lines.sort((a, b) => {
    const [x1, x2] = findingRank(a);
    const [y1, y2] = findingRank(b);
    return x1 - y1 || x2 - y2 || b.hosts.length - a.hosts.length || a.summary.localeCompare(b.summary);
  });
}

function changeOf(now: Counts & { rate5xx: number; p95: number | null }, before: (Counts & { rate5xx: number; p95: number | null }) | undefined): Change | null {
  if (!before) return null;
  return {
    requests: { before: before.requests, now: now.requests },
    rate5xx: { before: before.rate5xx, now: now.rate5xx },
    count502: { before: before.count502, now: now.count502 },
    count504: { before: before.count504, now: now.count504 },
    p95: before.p95 !== null && now.p95 !== null ? { before: before.p95, now: now.p95 } : null,
  };
}

function hostDigest(host: HostTriage & { report: Report }, grid: HourBucket[], previous: StoredDigest | undefined, top: number): HostDigest {
  const r = host.report;
  const a = r.access;
  const counts: Counts = a ? { requests: a.requests, count5xx: a.count5xx, count502: a.count502, count504: a.count504 } : emptyCounts();
  const hours = grid.map((b) => ({ hour: b.hour, ...emptyCounts() }));
  if (a) addTimeline(hours, a.timeline);
  const before = previous?.hosts[host.host];
  const baseline = before?.counters ?? null;
  const fpm = pressureOf(r, baseline);
  const p95 = a?.upstreamResponseTime.count ? a.upstreamResponseTime.p95 : null;
  const p99 = a?.upstreamResponseTime.count ? a.upstreamResponseTime.p99 : null;
  const topCause = r.diagnosis.causes[0];
  const missing = r.sources.filter((s) => s.status !== 'read' && (s.source === 'access' || s.source === 'fpmStatus')).map((s) => `${s.source} ${s.status}`);
  const digest: HostDigest = {
    host: host.host,
    ...counts,
    ...rates(counts),
    p95,
    p99,
    worstHour: worstHour(hours),
    topUpstreams: (a?.upstreams ?? [])
      .filter((u) => u.errors > 0)
      .sort((x, y) => y.errors - x.errors || y.requests - x.requests)
      .slice(0, top)
      .map((u) => ({ addr: u.addr, requests: u.requests, errors: u.errors, status502: u.status502, status504: u.status504, p95: u.responseTime.p95, hosts: [host.host] })),
    topUris: (a?.topFailingUris ?? []).slice(0, top).map((u) => ({ ...u, hosts: [host.host] })),
    fpm,
    slowScripts: (r.fpm.slow?.byScript ?? []).slice(0, top).map((s) => ({ script: s.script, count: s.count, hosts: [host.host] })),
    findings: sortFindings(findingLines(r.findings, host.host)),
    topCause: topCause ? { id: topCause.id, confidence: topCause.confidence } : null,
    missing,
    noData: r.diagnosis.verdict.status === 'unknown' ? (r.diagnosis.verdict.why ?? 'the evidence supports no verdict') : null,
    change: changeOf({ ...counts, rate5xx: rates(counts).rate5xx, p95 }, before),
    counters: countersOf(r) ?? baseline,
    attention: false,
  };
  digest.attention = counts.count5xx > 0 || digest.noData !== null || r.diagnosis.verdict.status === 'unexplained' || pressureNotable(fpm) || missing.some((m) => m.startsWith('access'));
  return digest;
}

/** Worst first: 502/504 share, then any 5xx, then pool pressure, then a named non-healthy cause. */
function compareHosts(a: HostDigest, b: HostDigest): number {
  const key = (h: HostDigest) => [
    h.requests ? (h.count502 + h.count504) / h.requests : h.count502 + h.count504 > 0 ? 1 : 0,
    h.count502 + h.count504,
    h.rate5xx,
    pressureNotable(h.fpm) ? 1 : 0,
    h.missing.length ? 1 : 0,
    h.topCause && h.topCause.id !== 'healthy' ? h.topCause.confidence : 0,
  ];
  const x = key(a);
  const y = key(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return y[i]! - x[i]!;
  return a.host.localeCompare(b.host);
}

function merge<T extends { hosts: string[] }>(lists: T[][], key: (t: T) => string, combine: (into: T, from: T) => void, score: (t: T) => number, top: number): T[] {
  const byKey = new Map<string, T>();
  for (const list of lists) {
    for (const item of list) {
      const k = key(item);
      const have = byKey.get(k);
      if (!have) byKey.set(k, { ...item, hosts: [...item.hosts] });
      else {
        combine(have, item);
        for (const h of item.hosts) if (!have.hosts.includes(h)) have.hosts.push(h);
      }
    }
  }
  return [...byKey.values()].sort((a, b) => score(b) - score(a) || key(a).localeCompare(key(b))).slice(0, top);
}

function maxOf(values: Array<number | null>): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length ? Math.max(...known) : null;
}

/**
 * Builds the digest of one triage. `previous` is the last stored digest of the same schedule (or
 * target): the change arrows and the FPM counter deltas are taken against it.
 */
export function buildDigest(result: TriageResult, previous?: StoredDigest | null, options: BuildOptions = {}): Digest {
  const timeZone = options.timeZone ?? 'UTC';
  const top = options.top ?? 5;
  const window = { from: result.window.from, to: result.window.to };
  const prev = previous ?? undefined;
  const hourly = hourGrid(window.from, window.to, timeZone);
  const reached = result.hosts.filter((h): h is HostTriage & { report: Report } => h.report !== null);
  const unreachable: UnreachableHost[] = result.hosts.filter((h) => h.report === null).map((h) => ({ host: h.host, error: h.error ?? 'unknown error' }));

  const hosts = reached.map((h) => hostDigest(h, hourly, prev, top)).sort(compareHosts);
  const totals = emptyCounts();
  for (const h of reached) if (h.report.access) addTimeline(hourly, h.report.access.timeline);
  for (const h of hosts) add(totals, h);

  const fleetP95 = maxOf(hosts.map((h) => h.p95));
  const fleet = {
    hosts: result.hosts.length,
    reached: reached.length,
    withData: hosts.filter((h) => h.noData === null).length,
    ...totals,
    ...rates(totals),
    p95: fleetP95,
    p99: maxOf(hosts.map((h) => h.p99)),
    worstHour: worstHour(hourly),
    attention: hosts.filter((h) => h.attention).length,
  };

  const topUpstreams = merge<UpstreamLine>(
    hosts.map((h) => h.topUpstreams),
    (u) => u.addr,
    (into, from) => {
      into.requests += from.requests;
      into.errors += from.errors;
      into.status502 += from.status502;
      into.status504 += from.status504;
      into.p95 = maxOf([into.p95, from.p95]);
    },
    (u) => u.errors,
    top,
  );
  const topUris = merge<UriLine>(
    hosts.map((h) => h.topUris),
    (u) => u.uri,
    (into, from) => {
      into.count5xx += from.count5xx;
      into.count502 += from.count502;
      into.count504 += from.count504;
    },
    (u) => u.count5xx,
    top,
  );
  const slowScripts = merge<SlowScriptLine>(
    hosts.map((h) => h.slowScripts),
    (s) => s.script,
    (into, from) => {
      into.count += from.count;
    },
    (s) => s.count,
    top,
  );
  const findings = sortFindings(
    merge<FindingLine>(
      hosts.map((h) => h.findings),
      // One line per finding and pool/location across hosts: the same config on many hosts says one thing.
      (f) => `${f.id}\u0000${f.scope ?? ''}`,
      (into, from) => {
        if (SEVERITY_RANK[from.severity] < SEVERITY_RANK[into.severity]) into.severity = from.severity;
      },
      () => 0,
      Number.MAX_SAFE_INTEGER,
    ),
  );

  // "All quiet" only when every host's window was read: a host without data is not a quiet one.
  const quiet = reached.length > 0 && unreachable.length === 0 && totals.count5xx === 0 && hosts.every((h) => !h.attention && h.noData === null);
  const digest: Digest = {
    schedule: options.schedule ?? null,
    target: result.target,
    timeZone,
    window,
    fireTime: options.fireTime ?? window.to,
    generatedAt: window.to,
    lateNote: options.lateNote ?? null,
    fleet,
    hourly,
    hosts,
    unreachable,
    topUpstreams,
    topUris,
    slowScripts,
    findings,
    change: changeOf({ ...totals, rate5xx: fleet.rate5xx, p95: fleetP95 }, prev?.fleet),
    previousTo: prev?.window.to ?? null,
    quiet,
    collection: { bytesFetched: result.hosts.reduce((n, h) => n + h.bytesFetched, 0), durationMs: result.durationMs },
  };
  return scrubDeep(digest);
}

/** What the store keeps of a digest: totals per fleet and host, and the FPM counter baselines. */
export function toStored(digest: Digest, postedAt: number, previous?: StoredDigest | null): StoredDigest {
  const hosts: StoredDigest['hosts'] = {};
  for (const h of digest.hosts) {
    // A host without data keeps its last totals, like an unreachable one: zeros would be a false baseline.
    if (h.noData !== null) {
      const before = previous?.hosts[h.host];
      if (before) hosts[h.host] = { ...before, counters: h.counters ?? before.counters };
      continue;
    }
    hosts[h.host] = { requests: h.requests, count5xx: h.count5xx, count502: h.count502, count504: h.count504, rate5xx: h.rate5xx, p95: h.p95, p99: h.p99, counters: h.counters };
  }
  // A host that could not be reached keeps its last baseline, so the next delta still spans the gap.
  for (const u of digest.unreachable) {
    const before = previous?.hosts[u.host];
    if (before) hosts[u.host] = before;
  }
  const f = digest.fleet;
  return {
    schedule: digest.schedule,
    target: digest.target,
    fireTime: digest.fireTime,
    window: digest.window,
    postedAt,
    fleet: { requests: f.requests, count5xx: f.count5xx, count502: f.count502, count504: f.count504, rate5xx: f.rate5xx, p95: f.p95, p99: f.p99 },
    hosts,
  };
}
