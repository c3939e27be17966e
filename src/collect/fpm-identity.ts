/**
 * Which PHP-FPM master serves the site, found by identity rather than by a remembered pid: the master
 * of the same config (its title), named by the pid file of that config, owning the pool's listen
 * socket; its start time tells one process from another. A daemonized master (`daemonize = yes`)
 * re-executes and forks again on a reload, so its pid changes while it keeps its config, its pid file
 * (rewritten) and its listen socket (inherited).
 */
import type { Discovery, DiscoveryContext } from './discover.js';
import { runCommand } from './discover.js';
import { findListenSocket, parseFpmIdentity, type FpmIdentityReport, type FpmMasterIdentity, type FpmSocketOwner } from './host-parse.js';

/** What is known of the master meant, before looking: the pid read last, its config, the pool's listen address. */
export interface MasterHint {
  pid?: number | null;
  conf?: string;
  listen?: string;
}

export interface FpmMaster extends FpmMasterIdentity {
  /** The pool's listen socket, when this master owns it. */
  socket: FpmSocketOwner | null;
  workers: number[];
}

/** The hint discovery gives: its master's pid and config, and the listen address of the pool nginx passes to. */
export function masterHint(discovery: Discovery, pid?: number | null): MasterHint {
  const pool = discovery.fpm?.pools.find((p) => p.name === discovery.pool);
  return {
    pid: pid ?? discovery.fpmMaster?.pid ?? null,
    ...(discovery.fpmMaster?.conf ? { conf: discovery.fpmMaster.conf } : {}),
    ...(pool?.listen ? { listen: pool.listen } : {}),
  };
}

/** Runs fpm.identity on the host; a command that could not run is an error string (connection failures throw). */
export async function readFpmIdentity(ctx: DiscoveryContext): Promise<FpmIdentityReport | string> {
  const run = await runCommand(ctx, 'fpm.identity');
  return run.ok ? parseFpmIdentity(run.stdout) : `fpm.identity: ${run.why}`;
}

function listenSocket(report: FpmIdentityReport, listen: string | undefined): FpmSocketOwner | null {
  if (!listen) return null;
  const found = findListenSocket(
    report.sockets.map((s) => ({ netid: s.local.startsWith('/') || s.local.startsWith('@') ? 'u_str' : 'tcp', state: 'LISTEN', recvQ: 0, sendQ: 0, local: s.local })),
    listen,
  );
  return found ? (report.sockets.find((s) => s.local === found.local) ?? null) : null;
}

/**
 * The master meant by `hint`: among the masters of the same config (all, when it is unknown), the one
 * owning the listen socket, named by its config's pid file, or with the pid known before, in that
 * order of weight; the only one of that config when none of those tells. Null when none can be told apart.
 */
export function pickMaster(report: FpmIdentityReport, hint: MasterHint): FpmMaster | null {
  const socket = listenSocket(report, hint.listen);
  const owns = (m: FpmMasterIdentity) => socket?.pids.includes(m.pid) ?? false;
  const sameConf = hint.conf ? report.masters.filter((m) => m.conf === hint.conf) : report.masters;
  // A master of another config is the one meant only if it owns the pool's listen socket (the config moved).
  const candidates = sameConf.length || !hint.conf ? sameConf : report.masters.filter(owns);
  // A pid file naming its own master only says which master of THAT config is current.
  const named = (m: FpmMasterIdentity) => hint.conf !== undefined && m.conf === hint.conf && m.pidFile?.names === m.pid;
  const score = (m: FpmMasterIdentity) => (owns(m) ? 4 : 0) + (named(m) ? 2 : 0) + (m.pid === hint.pid ? 1 : 0);
  const ranked = [...candidates].sort((a, b) => score(b) - score(a));
  const best = ranked[0];
  if (!best) return null;
  const alone = candidates.length === 1 && (hint.conf !== undefined || report.masters.length === 1);
  if (!alone && (score(best) === 0 || (ranked[1] !== undefined && score(ranked[1]) === score(best)))) return null;
  return {
    ...best,
    socket: owns(best) ? socket : null,
    workers: report.workers.filter((w) => w.ppid === best.pid).map((w) => w.pid),
  };
}

/** The master now, or why it cannot be told (the command failed, or no master matches). */
export async function findMaster(ctx: DiscoveryContext, hint: MasterHint): Promise<{ master: FpmMaster | null; error?: string }> {
  const report = await readFpmIdentity(ctx);
  if (typeof report === 'string') return { master: null, error: report };
  return { master: pickMaster(report, hint) };
}
