/**
 * Did the change work? After an approved action ran, four checks, each a line in the outcome:
 *  1. the PHP-FPM master, found again by identity (fpm.identity: the master of the same config, named
 *     by its pid file, owning the pool's listen socket, and its start time), never by the old pid: a
 *     reload keeps serving (in place, or under a new pid when the master is daemonized) with new
 *     workers; a restart gives a new master. Retried until it holds or the verify timeout ends;
 *  2. the action's own `verify` commands from the catalog (the service is active, or the master found
 *     in 1 runs with workers), retried likewise;
 *  3. the PHP-FPM status page answers (the same reader triage uses, via discovery);
 *  4. the 5xx rate in the window after the change against the same length before it, read from the
 *     host's access log like a triage does.
 */
import { compileLogFormat, parseAccessLine } from '../analyze/access/index.js';
import { lineTimestamp } from '../analyze/timestamps.js';
import type { Catalog, CatalogCommand } from '../catalog/index.js';
import { runCommand, type Discovery, type DiscoveryContext } from '../collect/discover.js';
import { LineSplitter } from '../collect/files.js';
import { readFpmStatus } from '../collect/fpm-status.js';
import { findMaster, type FpmMaster, type MasterHint } from '../collect/fpm-identity.js';
import { readWindow } from '../collect/remote-log.js';
import { formatDuration, type Host } from '../config/index.js';
import { errorMessage } from '../errors.js';
import type { Executor } from '../exec/index.js';
import { sleep } from '../exec/abort.js';
import type { ActionKind } from '../store/index.js';
import { percent } from '../analyze/numbers.js';

export interface Check {
  name: string;
  /** true passed, false failed, null could not tell (not counted against the change). */
  ok: boolean | null;
  detail: string;
}

export interface VerifyContext {
  executor: Executor;
  catalog: Catalog;
  /** The host with its effective sources (config over discovery). */
  host: Host;
  discovery: Discovery;
  signal?: AbortSignal;
}

function dctx(ctx: VerifyContext): DiscoveryContext {
  return { executor: ctx.executor, catalog: ctx.catalog, host: ctx.host, ...(ctx.signal ? { signal: ctx.signal } : {}) };
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)[0] ?? ''
  );
}

/** The master meant by `hint` now (null when it cannot be told, with why). */
export async function masterNow(ctx: VerifyContext, hint: MasterHint): Promise<{ master: FpmMaster | null; error?: string }> {
  return findMaster(dctx(ctx), hint).catch((err: unknown) => ({ master: null, error: errorMessage(err) }));
}

function startTime(m: FpmMaster): string {
  return m.startedAt !== null ? `started ${new Date(m.startedAt).toISOString().slice(11, 19)} UTC` : 'start time unknown';
}

function sameProcess(a: FpmMaster, b: FpmMaster): boolean {
  return a.pid === b.pid && (a.startTicks === null || b.startTicks === null || a.startTicks === b.startTicks);
}

/**
 * Judges the master after the change against the one before: a reload keeps serving (the master of
 * the same config, in place or re-executed under a new pid when daemonized, with its listen socket
 * and new workers); a restart gives a new master process.
 */
export function judgeMaster(action: ActionKind, before: FpmMaster | null, after: FpmMaster | null, hint: MasterHint): Check {
  const name = 'php-fpm master';
  const of = `${hint.conf ? ` of ${hint.conf}` : ''}${hint.listen ? ` on ${hint.listen}` : ''}`;
  if (!after) return { name, ok: false, detail: `no PHP-FPM master${of} runs now${before ? ` (was pid ${before.pid})` : ''}` };
  const pidFile = after.pidFile ? `; ${after.pidFile.path} names ${after.pidFile.names ?? 'no pid'}` : '';
  const workers = (n: number) => `${n} worker${n === 1 ? '' : 's'}`;
  if (!before)
    return { name, ok: null, detail: `master ${after.pid} runs (${startTime(after)}, ${workers(after.workers.length)}${pidFile}); not compared: the master before the change could not be read` };
  const kept = after.workers.filter((w) => before.workers.includes(w)).length;
  const fresh = `workers ${before.workers.length} → ${after.workers.length}, ${after.workers.length - kept} new`;
  if (action === 'restart') {
    if (sameProcess(before, after)) return { name, ok: false, detail: `master ${after.pid} is the same process as before (${startTime(after)}): it was not restarted` };
    return { name, ok: true, detail: `new master ${after.pid} (was ${before.pid}, ${startTime(after)}), ${fresh}${pidFile}` };
  }
  if (sameProcess(before, after) && before.workers.length > 0 && kept === before.workers.length) {
    return { name, ok: false, detail: `master ${after.pid} still runs its ${workers(kept)} from before the reload: it did not take effect` };
  }
  const master =
    after.pid === before.pid
      ? sameProcess(before, after)
        ? `master ${after.pid} kept (re-executed in place)`
        : `master ${after.pid} is a new process (${startTime(after)})`
      : `master ${before.pid} → ${after.pid} (re-executed and daemonized again, ${startTime(after)})`;
  const socket =
    before.socket && after.socket
      ? before.socket.inode !== null && before.socket.inode === after.socket.inode
        ? `, kept its listen socket ${after.socket.local}`
        : `, listen socket ${after.socket.local} is a new one (connections waiting on the old one were dropped)`
      : after.socket
        ? `, listens on ${after.socket.local}`
        : '';
  return { name, ok: true, detail: `${master}${socket}, ${fresh}${pidFile}` };
}

/** After the change: the master judged against the one before, retried until it passes or `timeoutMs` ends. */
export async function verifyMaster(ctx: VerifyContext, action: ActionKind, before: FpmMaster | null, hint: MasterHint, timeoutMs: number): Promise<{ check: Check; after: FpmMaster | null }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await masterNow(ctx, hint);
    const check = now.error ? { name: 'php-fpm master', ok: null, detail: `could not tell: ${now.error}` } : judgeMaster(action, before, now.master, hint);
    if (check.ok !== false || Date.now() >= deadline || ctx.signal?.aborted) return { check, after: now.master };
    await sleep(500, ctx.signal);
  }
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
  return w.requests === 0 ? 'no requests' : `${percent(w.errors5xx / w.requests)} (${w.errors5xx}/${w.requests})`;
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
