/**
 * The triage use case, read top to bottom:
 *   target → hosts → (per host, in parallel under the fan-out limit)
 *   discover → collect the window (logs streamed into the analyzers, status, vitals) → diagnose → Report
 * A host that is down, refuses auth or times out becomes a row with its error, never an abort.
 */
import { compileLogFormat, type AccessAnalyzer } from '../analyze/access/index.js';
import { joinByConnection, type Evidence } from '../analyze/evidence.js';
import { formatUtcOffset, lineTimestamp, type LogSource } from '../analyze/timestamps.js';
import type { Catalog } from '../catalog/index.js';
import { effectiveSources, type Discovery } from '../collect/discover.js';
import { DiscoveryCache } from '../collect/discovery-cache.js';
import { foreignAccessLog } from '../collect/agreement.js';
import { readHostClock, zoneOffset, type HostClock } from '../collect/clock.js';
import { readFpmStatus } from '../collect/fpm-status.js';
import { readWindow } from '../collect/remote-log.js';
import { readVitals, type HostVitals } from '../collect/vitals.js';
import { formatDuration, type Config, type Host } from '../config/index.js';
import { errorMessage, isHostFailure } from '../errors.js';
import { mapLimit, type Executor } from '../exec/index.js';
import type { Inventory } from '../inventory/index.js';
import type { Logger } from '../log/index.js';
import { buildReport } from './build-report.js';
import type { Report, SourceKey, SourceStatus } from './report.js';
import { absenceDiagnosis } from './absent.js';
import { logSink } from './log-sink.js';
import type { FleetRow, HostTriage, TriageProgress, TriageRequest, TriageResult } from './types.js';

export interface TriageDeps {
  config: Config;
  inventory: Inventory;
  catalog: Catalog;
  executor: Executor;
  logger: Logger;
  discoveryCache?: DiscoveryCache;
  now?: () => number;
}

/** How long the FPM status page may take: a saturated pool cannot answer it, and that is evidence too. */
const STATUS_TIMEOUT_MS = 3000;

export function createTriage(deps: TriageDeps): (request: TriageRequest) => Promise<TriageResult> {
  const cache = deps.discoveryCache ?? new DiscoveryCache();
  const now = deps.now ?? Date.now;
  return async function triage(request) {
    const started = now();
    const hosts = deps.inventory.resolve(request.target);
    const end = request.untilMs ?? started;
    const window = { from: end - request.sinceMs, to: end };
    const emit = (event: TriageProgress) => request.onProgress?.(event);
    emit({ type: 'started', hosts: hosts.map((h) => h.name) });
    const results = await mapLimit(hosts, deps.config.fanout.concurrency, async (host) => {
      const result = await triageHost({ ...deps, cache, host, window, sinceMs: request.sinceMs, emit, signal: request.signal });
      emit({ type: 'host-done', host: host.name, result });
      return result;
    });
    return {
      target: request.target,
      window: { ...window, since: formatDuration(request.sinceMs), until: request.untilMs !== undefined },
      rows: fleetRows(results),
      hosts: sortWorstFirst(results),
      durationMs: now() - started,
    };
  };
}

interface HostContext extends TriageDeps {
  cache: DiscoveryCache;
  host: Host;
  window: { from: number; to: number };
  sinceMs: number;
  emit: (event: TriageProgress) => void;
  signal: AbortSignal | undefined;
}

async function triageHost(ctx: HostContext): Promise<HostTriage> {
  const timings: HostTriage['timings'] = {};
  const started = Date.now();
  const name = ctx.host.name;
  try {
    ctx.emit({ type: 'phase', host: name, phase: 'discover' });
    const discovery = await discover(ctx);
    timings.discover = Date.now() - started;
    const absent = absenceDiagnosis(ctx.host, discovery);
    if (absent) {
      // Not cached: once nginx or PHP-FPM is started, the next triage must see it.
      ctx.cache.invalidate(name);
      const why = (program: string) => `no ${program} master runs on ${name}`;
      const report = buildReport({
        evidence: {},
        sources: [
          { source: 'nginxConfig', path: null, status: 'missing', detail: why('nginx') },
          { source: 'fpmConfig', path: null, status: 'missing', detail: why('PHP-FPM') },
        ],
        logFormat: null,
        window: ctx.window,
        since: ctx.sinceMs,
        host: name,
      });
      report.diagnosis = absent;
      timings.total = Date.now() - started;
      return { host: name, report, error: null, timings, bytesFetched: 0 };
    }
    const host: Host = { ...ctx.host, sources: effectiveSources(ctx.host.sources, discovery) };
    const foreign = foreignAccessLog(ctx.host.sources, discovery);

    ctx.emit({ type: 'phase', host: name, phase: 'collect' });
    const collected = await collect({ ...ctx, host }, discovery, foreign);
    timings.collect = Date.now() - started - timings.discover;

    ctx.emit({ type: 'phase', host: name, phase: 'analyze' });
    const report = buildReport({
      evidence: collected.evidence,
      sources: collected.sources,
      logFormat: collected.logFormat,
      window: ctx.window,
      since: ctx.sinceMs,
      host: name,
      ...(collected.vitals ? { vitals: collected.vitals } : {}),
    });
    if (discovery.problems.length) report.diagnosis.notes.push(...discovery.problems);
    if (collected.clock.notes.length) report.diagnosis.notes.push(...collected.clock.notes);
    timings.total = Date.now() - started;
    return { host: name, report, error: null, timings, bytesFetched: collected.bytesFetched };
  } catch (err) {
    ctx.logger.warn({ host: name, err: errorMessage(err) }, 'triage of host failed');
    timings.total = Date.now() - started;
    return { host: name, report: null, error: errorMessage(err), timings, bytesFetched: 0 };
  }
}

function discover(ctx: HostContext): Promise<Discovery> {
  return ctx.cache.discover({ executor: ctx.executor, catalog: ctx.catalog, host: ctx.host, ...(ctx.signal ? { signal: ctx.signal } : {}) });
}

interface Collected {
  evidence: Evidence;
  sources: SourceStatus[];
  logFormat: Report['logFormat'];
  bytesFetched: number;
  clock: HostClock;
  vitals?: HostVitals;
}

const LOG_SOURCES: Array<{ key: SourceKey; source: LogSource }> = [
  { key: 'access', source: 'accessLog' },
  { key: 'error', source: 'errorLog' },
  { key: 'fpmLog', source: 'fpmLog' },
  { key: 'slowLog', source: 'slowLog' },
];

/** Every source in parallel: each log streams straight into its analyzer as bytes arrive. */
async function collect(ctx: HostContext, discovery: Discovery, foreign: string | null): Promise<Collected> {
  const evidence: Evidence = {};
  if (foreign) evidence.foreignAccessLog = foreign;
  if (discovery.nginx) evidence.nginxConfig = discovery.nginx;
  // A quiet window is "no traffic" only when the running master's own config names this access log.
  if (discovery.nginxMaster && discovery.sources.accessLog !== undefined && discovery.sources.accessLog === ctx.host.sources.accessLog) evidence.nginxRunning = true;
  // No nginx at all says nothing about a window that ended before it stopped (a post-mortem's --until).
  else if (discovery.running?.nginx === false && ctx.window.to >= Date.now() - 60_000) evidence.nginxRunning = false;
  if (discovery.fpm) evidence.fpmConfig = discovery.fpm;
  const sources: SourceStatus[] = [
    { source: 'nginxConfig', path: null, status: discovery.nginx ? 'read' : 'missing', ...(discovery.nginx ? {} : { detail: 'nginx -T gave nothing' }) },
    {
      source: 'fpmConfig',
      path: discovery.fpm ? (discovery.fpmMaster?.conf ?? null) : null,
      status: discovery.fpm ? 'read' : 'missing',
      ...(discovery.fpm ? {} : { detail: discovery.missing.find((m) => m.source === 'fpmLog')?.why ?? 'php-fpm -tt gave nothing' }),
      ...((discovery.fpmMaster?.binary ?? discovery.fpmBinary) ? { binary: (discovery.fpmMaster?.binary ?? discovery.fpmBinary)! } : {}),
      ...(discovery.fpm && discovery.fpmMaster ? { masterPid: discovery.fpmMaster.pid } : {}),
    },
  ];
  const spec = ctx.host.sources.logFormat ?? 'combined';
  const format = compileLogFormat(spec);
  let bytesFetched = 0;
  let connections: ReturnType<AccessAnalyzer['statusByConnection']> | undefined;

  // Zone-less logs wait for the host's offsets; the access log carries its own and starts at once.
  const clock = readHostClock(ctx, Boolean(ctx.host.sources.accessLog));
  // Awaited below (a connection failure rethrows there); this only keeps an early rejection from counting as unhandled.
  clock.catch(() => undefined);
  const readLog = async ({ key, source }: (typeof LOG_SOURCES)[number]): Promise<void> => {
    const path = ctx.host.sources[source];
    if (source === 'accessLog' && path && foreign) {
      // Another server's (or instance's) traffic is no evidence about this host.
      sources.push({ source: key, path, status: 'invalid', detail: foreign });
      ctx.emit({ type: 'source', host: ctx.host.name, source: key, status: 'missing', detail: foreign });
      return;
    }
    if (!path) {
      const why = discovery.missing.find((m) => m.source === source)?.why ?? 'not configured and not discovered';
      sources.push({ source: key, path: null, status: 'missing', detail: why });
      ctx.emit({ type: 'source', host: ctx.host.name, source: key, status: 'missing', detail: why });
      return;
    }
    try {
      const offset = source === 'accessLog' ? undefined : zoneOffset(await clock);
      const sink = logSink(source, { format, window: ctx.window, tzOffsetMinutes: offset });
      const read = await readWindow({
        executor: ctx.executor,
        catalog: ctx.catalog,
        host: ctx.host,
        source,
        from: ctx.window.from,
        timeOf: lineTimestamp(source, format, offset),
        onData: sink.push,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      bytesFetched += read.bytesFetched;
      sink.finish(evidence);
      if (key === 'access') connections = sink.connections?.();
      const zone = offset === undefined ? [] : [`times read at UTC${formatUtcOffset(offset)}`];
      const detail = [`${read.bytesFetched} bytes fetched`, ...zone, ...read.notes].join('; ');
      sources.push({ source: key, path, status: 'read', bytes: read.bytesFetched, detail });
      ctx.emit({ type: 'source', host: ctx.host.name, source: key, status: 'read' });
    } catch (err) {
      sources.push({ source: key, path, status: 'unreadable', detail: errorMessage(err) });
      ctx.emit({ type: 'source', host: ctx.host.name, source: key, status: 'failed', detail: errorMessage(err) });
      // A lost or refused connection fails the whole host; other read errors only this source.
      if (isHostFailure(err)) throw err;
    }
  };

  const readStatus = async (): Promise<void> => {
    const reading = await readFpmStatus({ executor: ctx.executor, catalog: ctx.catalog, host: ctx.host }, discovery, { timeoutMs: STATUS_TIMEOUT_MS });
    if (reading.status) evidence.fpmStatus = reading.status;
    if (reading.statusError) evidence.fpmStatusError = describeStatusFailure(reading);
    sources.push({
      source: 'fpmStatus',
      path: ctx.host.sources.fpmStatusUrl ?? null,
      status: reading.status ? 'read' : 'unreadable',
      ...(reading.statusError ? { detail: evidence.fpmStatusError } : {}),
    });
  };

  let vitals: HostVitals | undefined;
  const readHostVitals = async (): Promise<void> => {
    vitals = await readVitals({ executor: ctx.executor, catalog: ctx.catalog, host: ctx.host });
  };

  await Promise.all([...LOG_SOURCES.map(readLog), readStatus(), readHostVitals()]);
  const hostClock = await clock;
  if (connections && evidence.errors) evidence.joins = joinByConnection(connections, evidence.errors.connections);
  return {
    evidence,
    sources,
    logFormat: { spec, from: ctx.config.hosts.find((h) => h.name === ctx.host.name)?.sources.logFormat ? 'option' : discovery.sources.logFormat ? 'nginx-config' : 'default' },
    bytesFetched,
    clock: hostClock,
    ...(vitals ? { vitals } : {}),
  };
}

function describeStatusFailure(reading: { statusError?: string; fallback?: { workers: number; busyWorkers?: number; queue?: number; backlog?: number; listen?: string } }): string {
  const fallback = reading.fallback;
  if (!fallback) return reading.statusError ?? 'status page unavailable';
  const parts = [`${fallback.workers} worker processes${fallback.busyWorkers !== undefined ? `, ${fallback.busyWorkers} busy` : ''}`];
  if (fallback.queue !== undefined) parts.push(`listen queue ${fallback.queue}${fallback.backlog !== undefined ? `/${fallback.backlog}` : ''} on ${fallback.listen ?? 'the socket'}`);
  return `${reading.statusError}; from the process table: ${parts.join(', ')}`;
}

function sortWorstFirst(results: HostTriage[]): HostTriage[] {
  const rows = fleetRows(results);
  const order = new Map(rows.map((r, i) => [r.host, i]));
  return [...results].sort((a, b) => order.get(a.host)! - order.get(b.host)!);
}

export function fleetRows(results: readonly HostTriage[]): FleetRow[] {
  const rows = results.map((r): FleetRow => {
    const access = r.report?.access ?? null;
    const top = r.report?.diagnosis.causes[0] ?? null;
    return {
      host: r.host,
      requests: access?.requests ?? null,
      rate5xx: access?.rate5xx ?? null,
      count502: access?.count502 ?? null,
      count504: access?.count504 ?? null,
      topCause: top?.id ?? null,
      confidence: top?.confidence ?? null,
      verdict: r.report?.diagnosis.verdict.status ?? null,
      error: r.error,
    };
  });
  // Failed hosts first, then every host a responder must look at (a cause, unexplained 502s, unknown).
  const attention = (row: FleetRow) => (row.verdict === 'cause' || row.verdict === 'unexplained' || row.verdict === 'unknown' ? 1 : 0);
  const badness = (row: FleetRow) => [row.error ? 1 : 0, attention(row), row.rate5xx ?? 0, row.confidence ?? 0];
  return rows.sort((a, b) => {
    const x = badness(a);
    const y = badness(b);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return y[i]! - x[i]!;
    return a.host.localeCompare(b.host);
  });
}
