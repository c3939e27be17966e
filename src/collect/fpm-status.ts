/**
 * The PHP-FPM status of the pool nginx routes to, and what the host can still tell when the pool is
 * saturated: the status page is served by the same pool, so exactly when it matters most it times out
 * (or nginx answers 502 at once on a full unix backlog, FINDINGS.md #8). Then the pool's workers come
 * from the process table (count, age, busy or idle in accept()) and its listen queue from `ss`
 * (Recv-Q = connections waiting, Send-Q = backlog limit on a listening socket).
 */
import { parseFpmStatus, type FpmStatus } from '../analyze/fpm/index.js';
import { effectiveSources, runCommand, type Discovery, type DiscoveryContext } from './discover.js';
import { findListenSocket, fpmMasters, fpmWorkers, parsePs, parseSs, type FpmWorker } from './host-parse.js';

export interface FpmFallback {
  /** Worker processes of the pool (its master's children when the master is known). */
  workers: number;
  /** Workers inside a request (not waiting in accept()); undefined when ps shows no wait channel. */
  busyWorkers?: number;
  /** The pool's listen address. */
  listen?: string;
  /** Connections waiting in the listen queue now (Recv-Q of the listening socket). */
  queue?: number;
  /** The listen backlog limit (Send-Q of the listening socket). */
  backlog?: number;
  /** pm.max_children of the pool, to read `workers` against. */
  maxChildren?: number;
  processes: FpmWorker[];
  /** What the fallback itself could not read. */
  problems: string[];
}

export interface FpmStatusReading {
  status?: FpmStatus;
  /** Why the status page gave nothing (timeout, 502, no URL…). */
  statusError?: string;
  /** Only when the status page failed: what the host could tell without the pool. */
  fallback?: FpmFallback;
}

export interface FpmStatusOptions {
  /** How long to wait for the status page (curl --max-time, whole seconds, at least 1). */
  timeoutMs?: number;
}

/** Reads the pool's status page; falls back to ps + ss when it does not answer. Never throws for a command that failed. */
export async function readFpmStatus(ctx: DiscoveryContext, discovery: Discovery, options: FpmStatusOptions = {}): Promise<FpmStatusReading> {
  const sources = effectiveSources(ctx.host.sources, discovery);
  const pool = discovery.fpm?.pools.find((p) => p.name === discovery.pool) ?? (discovery.fpm?.pools.length === 1 ? discovery.fpm.pools[0] : undefined);
  const listen = pool?.listen;
  // The fallback commands are cheap: start them with the status request, so a timeout costs nothing more.
  const fallback = readFallback(ctx, discovery, pool?.name, listen, pool?.pmMaxChildren);
  // Awaited below where it is used; this only keeps an early rejection from counting as unhandled.
  fallback.catch(() => undefined);

  let statusError: string;
  if (sources.fpmStatusUrl === undefined) {
    const missing = discovery.missing.find((m) => m.source === 'fpmStatusUrl');
    statusError = `no status URL${missing ? `: ${missing.why}` : ' (set sources.fpmStatusUrl)'}`;
  } else {
    const seconds = Math.min(30, Math.max(1, Math.ceil((options.timeoutMs ?? 3000) / 1000)));
    const run = await runCommand(ctx, 'fpm.status', { seconds }, { ...ctx.host, sources });
    if (run.ok) {
      const parsed = parseFpmStatus(run.stdout, listen !== undefined ? { listen } : {});
      if (!('error' in parsed)) return { status: parsed };
      statusError = `${sources.fpmStatusUrl}: ${parsed.error}`;
    } else {
      statusError = `${sources.fpmStatusUrl} did not answer: ${run.why}`;
    }
  }
  return { statusError, fallback: await fallback };
}

async function readFallback(ctx: DiscoveryContext, discovery: Discovery, pool: string | undefined, listen: string | undefined, maxChildren: number | undefined): Promise<FpmFallback> {
  const [ps, ss] = await Promise.all([runCommand(ctx, 'host.processes'), runCommand(ctx, 'host.listen-queues')]);
  const fallback: FpmFallback = { workers: 0, processes: [], problems: [] };
  if (listen !== undefined) fallback.listen = listen;
  if (maxChildren !== undefined) fallback.maxChildren = maxChildren;

  if (ps.ok) {
    const rows = parsePs(ps.stdout);
    // The master read by discovery, if it still runs; else the only one.
    let masterPid = discovery.fpmMaster?.pid;
    const masters = fpmMasters(rows);
    if (masterPid !== undefined && !masters.some((m) => m.pid === masterPid)) {
      fallback.problems.push(`the PHP-FPM master read at discovery (pid ${masterPid}) no longer runs`);
      masterPid = masters.length === 1 ? masters[0]!.pid : undefined;
    } else if (masterPid === undefined && masters.length === 1) {
      masterPid = masters[0]!.pid;
    }
    const workers = fpmWorkers(rows, { ...(masterPid !== undefined ? { masterPid } : {}), ...(pool !== undefined ? { pool } : {}) });
    fallback.processes = workers;
    fallback.workers = workers.length;
    if (workers.length > 0 && workers.every((w) => w.busy !== undefined)) fallback.busyWorkers = workers.filter((w) => w.busy).length;
    if (masters.length === 0) fallback.problems.push('no PHP-FPM master runs');
  } else {
    fallback.problems.push(`cannot list processes (ps): ${ps.why}`);
  }

  if (listen === undefined) {
    fallback.problems.push("the pool's listen address is unknown, so its queue cannot be read");
  } else if (ss.ok) {
    const socket = findListenSocket(parseSs(ss.stdout), listen);
    if (socket) {
      fallback.queue = socket.recvQ;
      fallback.backlog = socket.sendQ;
    } else {
      fallback.problems.push(`nothing listens on ${listen} (PHP-FPM down, or the socket was removed)`);
    }
  } else {
    fallback.problems.push(`cannot list listening sockets (ss): ${ss.why}`);
  }
  return fallback;
}
