/**
 * Did the change work? After an approved action ran, three checks, each a line in the outcome:
 *  1. the action's own `verify` commands from the catalog (the service is active, or the master pid
 *     runs), retried until they pass or the verify timeout ends (a reloading master re-executes);
 *  2. the PHP-FPM status page answers (the same reader triage uses, via discovery);
 *  3. the 5xx rate in the window after the change against the same length before it, read from the
 *     host's access log like a triage does.
 * Plus, for the record, the master and worker pids before and after (a graceful reload keeps the
 * master and replaces the workers).
 */
import { compileLogFormat, parseAccessLine } from '../analyze/access/index.js';
import { lineTimestamp } from '../analyze/timestamps.js';
import type { Catalog, CatalogCommand } from '../catalog/index.js';
import { runCommand, type Discovery, type DiscoveryContext } from '../collect/discover.js';
import { LineSplitter } from '../collect/files.js';
import { readFpmStatus } from '../collect/fpm-status.js';
import { fpmMasters, fpmWorkers, parsePs } from '../collect/host-parse.js';
import { readWindow } from '../collect/remote-log.js';
import { formatDuration, type Host } from '../config/index.js';
import { errorMessage } from '../errors.js';
import type { Executor } from '../exec/index.js';

export interface Check {
  name: string;
  /** true passed, false failed, null could not tell (not counted against the change). */
  ok: boolean | null;
  detail: string;
}

export interface ProcessSnapshot {
  masterPid: number | null;
  workers: number[];
}

export interface VerifyContext {
  executor: Executor;
  catalog: Catalog;
  /** The host with its effective sources (config over discovery). */
  host: Host;
  discovery: Discovery;
  signal?: AbortSignal;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

function dctx(ctx: VerifyContext): DiscoveryContext {
  return { executor: ctx.executor, catalog: ctx.catalog, host: ctx.host, ...(ctx.signal ? { signal: ctx.signal } : {}) };
}

function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter(Boolean)[0] ?? '';
}

/** The FPM master (the one given, else the one discovery read, else the only one) and its workers. */
export async function processSnapshot(ctx: VerifyContext, masterPid: number | null): Promise<ProcessSnapshot | null> {
  const ps = await runCommand(dctx(ctx), 'host.processes').catch(() => null);
  if (!ps?.ok) return null;
  const rows = parsePs(ps.stdout);
  const masters = fpmMasters(rows);
  let pid = masterPid ?? ctx.discovery.fpmMaster?.pid ?? null;
  if (pid !== null && !masters.some((m) => m.pid === pid)) pid = null;
  if (pid === null && masters.length === 1) pid = masters[0]!.pid;
  if (pid === null) return { masterPid: null, workers: [] };
  return { masterPid: pid, workers: fpmWorkers(rows, { masterPid: pid }).map((w) => w.pid) };
}

/** Runs each verify command until it passes or `timeoutMs` has gone by. */
export async function verifyCommands(ctx: VerifyContext, command: CatalogCommand, params: Record<string, string | number>, timeoutMs: number): Promise<Check[]> {
  const checks: Check[] = [];
  for (const id of command.verify) {
    const spec = ctx.catalog.get(id);
    if (!spec) {
      checks.push({ name: id, ok: null, detail: `${id} is not in the command catalog` });
      continue;
    }
    // Parameters the verify command declares too (the master's pid) are passed on.
    const passed = Object.fromEntries(Object.entries(params).filter(([name]) => name in spec.params));
    const deadline = Date.now() + timeoutMs;
    let last: Check = { name: id, ok: false, detail: 'did not run' };
    for (let attempt = 1; ; attempt++) {
      try {
        const run = await runCommand(dctx(ctx), id, passed);
        const said = firstLine(run.stdout) || firstLine(run.stderr) || run.why;
        last = { name: id, ok: run.ok, detail: run.ok ? said : `${said || run.why}${attempt > 1 ? ` (after ${attempt} tries in ${formatDuration(timeoutMs)})` : ''}` };
      } catch (err) {
        last = { name: id, ok: false, detail: errorMessage(err) };
      }
      if (last.ok || Date.now() >= deadline || ctx.signal?.aborted) break;
      await sleep(500, ctx.signal);
    }
    checks.push(last);
  }
  return checks;
}

/** The FPM status page answers (retried until the timeout: the pool comes back after a reload). */
export async function verifyStatus(ctx: VerifyContext, timeoutMs: number): Promise<Check> {
  const deadline = Date.now() + timeoutMs;
  let detail = '';
  for (;;) {
    try {
      const reading = await readFpmStatus(dctx(ctx), ctx.discovery, { timeoutMs: 3000 });
      const s = reading.status;
      if (s) {
        return {
          name: 'fpm status',
          ok: true,
          detail: `pool ${s.pool ?? '?'} answers: ${s.activeProcesses ?? '?'} active / ${s.totalProcesses ?? '?'} total, listen queue ${s.listenQueue ?? '?'}`,
        };
      }
      detail = reading.statusError ?? 'no status';
      if (/^no status URL/.test(detail)) return { name: 'fpm status', ok: null, detail: `${detail}: not checked` };
    } catch (err) {
      detail = errorMessage(err);
    }
    if (Date.now() >= deadline || ctx.signal?.aborted) return { name: 'fpm status', ok: false, detail };
    await sleep(500, ctx.signal);
  }
}

export interface RateWindow {
  requests: number;
  errors5xx: number;
}

/** Counts requests and 5xx in [from, to) of the host's access log. */
export async function countWindow(ctx: VerifyContext, windows: Array<{ from: number; to: number }>): Promise<RateWindow[]> {
  const path = ctx.host.sources.accessLog;
  if (!path) throw new Error('no access log is known for this host');
  const format = compileLogFormat(ctx.host.sources.logFormat ?? 'combined');
  const counts = windows.map(() => ({ requests: 0, errors5xx: 0 }));
  const splitter = new LineSplitter((line) => {
    const entry = parseAccessLine(format, line);
    if (!entry || entry.time === null || entry.status === null) return;
    windows.forEach((w, i) => {
      if (entry.time! >= w.from && entry.time! < w.to) {
        counts[i]!.requests++;
        if (entry.status! >= 500) counts[i]!.errors5xx++;
      }
    });
  });
  await readWindow({
    executor: ctx.executor,
    catalog: ctx.catalog,
    host: ctx.host,
    source: 'accessLog',
    from: Math.min(...windows.map((w) => w.from)),
    timeOf: lineTimestamp('accessLog', format),
    onData: (chunk) => splitter.push(chunk),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  splitter.end();
  return counts;
}

function rate(w: RateWindow): string {
  return w.requests === 0 ? 'no requests' : `${((w.errors5xx / w.requests) * 100).toFixed(1)}% (${w.errors5xx}/${w.requests})`;
}

/** 5xx in the `windowMs` after the change (from `changedAt`) against the `windowMs` before it started. */
export async function verifyErrorRate(ctx: VerifyContext, startedAt: number, changedAt: number, windowMs: number): Promise<Check> {
  const name = `5xx ${formatDuration(windowMs)} before/after`;
  if (windowMs <= 0) return { name, ok: null, detail: 'not compared (approvals.verifyWindow is 0)' };
  if (!ctx.host.sources.accessLog) return { name, ok: null, detail: 'no access log known: not compared' };
  try {
    const [before, after] = await countWindow(ctx, [
      { from: startedAt - windowMs, to: startedAt },
      { from: changedAt, to: changedAt + windowMs },
    ]);
    const detail = `before ${rate(before!)}, after ${rate(after!)}`;
    if (after!.requests === 0) return { name, ok: null, detail: `${detail}: nothing to compare` };
    const rateBefore = before!.requests ? before!.errors5xx / before!.requests : 0;
    const rateAfter = after!.errors5xx / after!.requests;
    const worse = after!.errors5xx > 0 && rateAfter > rateBefore;
    return { name, ok: !worse, detail: worse ? `${detail}: worse after the change` : detail };
  } catch (err) {
    return { name, ok: null, detail: `could not read the access log: ${errorMessage(err)}` };
  }
}

export function describeProcesses(before: ProcessSnapshot | null, after: ProcessSnapshot | null): Check | null {
  if (!before || !after) return null;
  if (after.masterPid === null) return { name: 'processes', ok: false, detail: `no PHP-FPM master runs now${before.masterPid ? ` (was pid ${before.masterPid})` : ''}` };
  const master = before.masterPid === after.masterPid ? `master ${after.masterPid} kept` : `master ${before.masterPid ?? 'none'} → ${after.masterPid}`;
  const kept = after.workers.filter((w) => before.workers.includes(w)).length;
  const workers = `workers ${before.workers.length} → ${after.workers.length}${after.workers.length ? `, ${after.workers.length - kept} new` : ''}`;
  return { name: 'processes', ok: null, detail: `${master}, ${workers}` };
}
