/**
 * Failure scenarios driven against the real lab (nginx + PHP-FPM on loopback).
 *
 * Every scenario function takes an optional Lab. Without one it starts a fresh lab with the
 * scenario's `labOptions` and stops it at the end; with one it drives that lab as-is (the caller must
 * have started it with the same `labOptions`) and leaves it running.
 *
 * Each returns the REAL evidence: the four logs, a status page snapshot where one was taken, and the
 * `nginx -T` / `php-fpm -tt` dumps a host would print. Cause ids are stable (analyzers/diagnosis key on them).
 */
import { access } from 'node:fs/promises';
import { startLab, sleep, type Lab, type LabLogs, type LabOptions, type LabResponse } from './lab.js';

export type CauseId =
  | 'healthy'
  | 'fastcgi_read_timeout'
  | 'request_terminate_timeout'
  | 'fpm_down'
  | 'pool_exhausted'
  | 'socket_permission'
  | 'header_too_big'
  | 'worker_crash'
  | 'upstream_down'
  | 'upstream_connect_timeout'
  | 'invalid_upstream_response'
  | 'php_fatal';

export interface ScenarioResult {
  name: string;
  expectedCause: CauseId;
  logs: LabLogs;
  /** `/fpm-status?full` text, or a line starting with `UNAVAILABLE:` saying why it could not be fetched */
  fpmStatus?: string;
  nginxT: string;
  fpmTT: string;
  /** what the client saw, in request order */
  responses: { path: string; status: number; ms: number; error?: string }[];
  /** what the scenario observed while driving it (e.g. status page did not answer) */
  notes: string[];
  /** the lab options used */
  options: LabOptions;
  fpmListen: string;
  fastcgiPass: string;
  durationMs: number;
}

export interface ScenarioDef {
  name: string;
  expectedCause: CauseId;
  labOptions: Partial<LabOptions>;
  run: (lab?: Lab) => Promise<ScenarioResult>;
}

export interface Ctx {
  notes: string[];
  responses: LabResponse[];
  fpmStatus?: string;
  /** record responses (returns them) */
  track(rs: LabResponse | LabResponse[]): LabResponse[];
  /** take a `?full` status snapshot; records failures as `UNAVAILABLE: ...` */
  snapshotStatus(label: string, timeoutMs?: number): Promise<void>;
}

export async function runScenario(
  name: string,
  expectedCause: CauseId,
  labOptions: Partial<LabOptions>,
  given: Lab | undefined,
  drive: (lab: Lab, ctx: Ctx) => Promise<void>,
): Promise<ScenarioResult> {
  const started = Date.now();
  const lab = given ?? (await startLab(labOptions));
  const ctx: Ctx = {
    notes: [],
    responses: [],
    track(rs) {
      const arr = Array.isArray(rs) ? rs : [rs];
      ctx.responses.push(...arr);
      return arr;
    },
    async snapshotStatus(label, timeoutMs = 1500) {
      const st = await lab.fpmStatus('full', timeoutMs);
      ctx.responses.push({
        path: '/fpm-status?full',
        status: st.ok ? st.status : (st.status ?? 0),
        body: st.ok ? st.text : (st.text ?? ''),
        headers: {},
        ms: st.ms,
        ...(st.ok ? {} : { error: st.error }),
      });
      if (st.ok) {
        ctx.fpmStatus = st.text;
        ctx.notes.push(`status page (${label}) answered in ${st.ms} ms`);
      } else {
        const why = st.status ? `HTTP ${st.status} after ${st.ms} ms` : `${st.error} after ${st.ms} ms`;
        ctx.fpmStatus = `UNAVAILABLE: /fpm-status?full (${label}) did not answer: ${why}\n`;
        ctx.notes.push(`status page (${label}) unavailable: ${why}`);
      }
    },
  };
  try {
    await drive(lab, ctx);
    // every scenario leaves a status page snapshot (or the reason there is none)
    if (ctx.fpmStatus === undefined) await ctx.snapshotStatus('end');
    const [logs, nginxT, fpmTT] = await Promise.all([lab.readLogs(), lab.nginxT(), lab.fpmTT()]);
    const result: ScenarioResult = {
      name,
      expectedCause,
      logs,
      nginxT,
      fpmTT,
      responses: ctx.responses.map((r) => ({ path: r.path, status: r.status, ms: r.ms, ...(r.error ? { error: r.error } : {}) })),
      notes: ctx.notes,
      options: lab.options,
      fpmListen: lab.fpmListen,
      fastcgiPass: lab.fastcgiPass,
      durationMs: Date.now() - started,
    };
    if (ctx.fpmStatus !== undefined) result.fpmStatus = ctx.fpmStatus;
    return result;
  } finally {
    if (!given) await lab.stop();
  }
}

export function statuses(rs: LabResponse[]): string {
  const counts = new Map<number, number>();
  for (const r of rs) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${n}x${s}`).join(' ');
}

/** a little normal traffic: fast PHP + a static file */
export async function normalTraffic(lab: Lab, ctx: Ctx, php = 3, stat = 1, concurrency = 3): Promise<void> {
  ctx.track(await lab.requestMany('/ok.php', php, concurrency));
  ctx.track(await lab.requestMany('/static.txt', stat, concurrency));
}

// ---------------------------------------------------------------------------------------------

export const healthyOptions: Partial<LabOptions> = {
  requestSlowlogTimeout: 1,
  requestTerminateTimeout: 20,
  fastcgiReadTimeout: 10,
};

/** normal traffic plus two requests past request_slowlog_timeout (1 s) but within every timeout */
export function healthy(lab?: Lab): Promise<ScenarioResult> {
  return runScenario('healthy', 'healthy', healthyOptions, lab, async (lab, ctx) => {
    await normalTraffic(lab, ctx, 4, 2);
    const [slow] = await Promise.all([lab.requestMany('/sleep.php?s=1.6', 2, 2), lab.requestMany('/ok.php', 6, 2)].map(async (p) => ctx.track(await p)));
    ctx.notes.push(`slow requests: ${statuses(slow ?? [])}`);
    const traced = await lab.waitForLog('slowLog', /script_filename[^]*script_filename/, 3000);
    if (!traced) ctx.notes.push('slow log did not get two entries within 3 s');
    await normalTraffic(lab, ctx, 2, 1);
  });
}

export const fastcgiReadTimeoutOptions: Partial<LabOptions> = {
  fastcgiReadTimeout: 1,
  requestTerminateTimeout: 0,
};

/** script sleeps 3 s, nginx gives up after fastcgi_read_timeout 1 s, FPM has no terminate timeout */
export function fastcgiReadTimeout(lab?: Lab): Promise<ScenarioResult> {
  return runScenario('fastcgi_read_timeout', 'fastcgi_read_timeout', fastcgiReadTimeoutOptions, lab, async (lab, ctx) => {
    await normalTraffic(lab, ctx);
    const [slow] = await Promise.all([lab.requestMany('/sleep.php?s=3', 2, 2), lab.requestMany('/ok.php', 2, 1)].map(async (p) => ctx.track(await p)));
    ctx.notes.push(`sleep.php?s=3 with fastcgi_read_timeout 1s: ${statuses(slow ?? [])}`);
    // nginx gave up, PHP did not: the workers are still Running sleep.php
    await ctx.snapshotStatus('right after the 504s');
    await normalTraffic(lab, ctx, 2, 0);
    // let the abandoned scripts finish so whatever FPM logs about them lands in the logs
    await sleep(2300);
  });
}

export const requestTerminateTimeoutOptions: Partial<LabOptions> = {
  requestTerminateTimeout: 1,
  fastcgiReadTimeout: 10,
};

/** busy and sleeping scripts past request_terminate_timeout 1 s; fastcgi_read_timeout is 10 s */
export function requestTerminateTimeout(lab?: Lab): Promise<ScenarioResult> {
  return runScenario('request_terminate_timeout', 'request_terminate_timeout', requestTerminateTimeoutOptions, lab, async (lab, ctx) => {
    await normalTraffic(lab, ctx);
    const [busy, slow] = await Promise.all([lab.request('/busy.php?s=4'), lab.request('/sleep.php?s=4'), lab.requestMany('/ok.php', 2, 1)].map(async (p) => ctx.track(await p)));
    ctx.notes.push(`busy.php?s=4: ${statuses(busy ?? [])}, sleep.php?s=4: ${statuses(slow ?? [])}`);
    const both = await lab.waitForLog('fpmLog', /exited on signal 15[^]*exited on signal 15/, 3000);
    if (!both) ctx.notes.push('FPM log did not show two SIGTERM exits within 3 s');
    await normalTraffic(lab, ctx, 2, 0);
  });
}

export const fpmDownUnixOptions: Partial<LabOptions> = { fpmListen: 'unix' };
export const fpmDownTcpOptions: Partial<LabOptions> = { fpmListen: 'tcp' };

async function driveFpmDown(lab: Lab, ctx: Ctx): Promise<void> {
  await normalTraffic(lab, ctx);
  await lab.stopFpm('SIGTERM');
  ctx.notes.push(`FPM stopped with SIGTERM; ${lab.options.fpmListen === 'unix' ? `socket file ${(await exists(lab.fpmListen)) ? 'still exists' : 'removed'}` : 'TCP port closed'}`);
  const down = ctx.track(await lab.requestMany('/ok.php', 4, 2));
  ctx.notes.push(`ok.php with FPM down: ${statuses(down)}`);
  ctx.track(await lab.requestMany('/static.txt', 2, 2));
  await ctx.snapshotStatus('FPM down');
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/** FPM stopped, unix socket: connect() -> ENOENT (socket file removed by FPM on exit) */
export function fpmDownUnix(lab?: Lab): Promise<ScenarioResult> {
  return runScenario('fpm_down_unix', 'fpm_down', fpmDownUnixOptions, lab, driveFpmDown);
}

/** FPM stopped, TCP listener: connect() -> ECONNREFUSED */
export function fpmDownTcp(lab?: Lab): Promise<ScenarioResult> {
  return runScenario('fpm_down_tcp', 'fpm_down', fpmDownTcpOptions, lab, driveFpmDown);
}

export const poolExhaustedOptions: Partial<LabOptions> = {
  fpmListen: 'unix',
  pm: 'dynamic',
  maxChildren: 2,
  listenBacklog: 2,
  fastcgiReadTimeout: 2,
  requestTerminateTimeout: 0,
};

/** pm.max_children=2, listen.backlog=2, 16 concurrent 3 s requests: EAGAIN 502s + 504s + `server reached pm.max_children` */
export function poolExhausted(lab?: Lab): Promise<ScenarioResult> {
  return runScenario('pool_exhausted', 'pool_exhausted', poolExhaustedOptions, lab, async (lab, ctx) => {
    await normalTraffic(lab, ctx);
    const flood = lab.requestMany('/sleep.php?s=3', 16, 16);
    await sleep(400);
    // taken while saturated: the status request needs a worker (or a backlog slot) itself
    await ctx.snapshotStatus('while saturated', 1500);
    const rs = ctx.track(await flood);
    ctx.notes.push(`16 concurrent sleep.php?s=3 (max_children 2, backlog 2, read timeout 2s): ${statuses(rs)}`);
    const warned = await lab.waitForLog('fpmLog', 'max_children', 2500);
    if (!warned) ctx.notes.push('FPM did not log `server reached pm.max_children` within 2.5 s');
  });
}

export const socketPermissionOptions: Partial<LabOptions> = {
  fpmListen: 'unix',
  socketOwner: 'root',
  socketGroup: 'root',
  socketMode: '0600',
};

/** socket root:root 0600, nginx workers run as nobody -> connect() EACCES */
export function socketPermission(lab?: Lab): Promise<ScenarioResult> {
  return runScenario('socket_permission', 'socket_permission', socketPermissionOptions, lab, async (lab, ctx) => {
    ctx.track(await lab.requestMany('/static.txt', 3, 2));
    const rs = ctx.track(await lab.requestMany('/ok.php', 4, 2));
    ctx.notes.push(`ok.php with socket root:root 0600: ${statuses(rs)}`);
    ctx.track(await lab.requestMany('/static.txt', 2, 2));
    await ctx.snapshotStatus('socket not accessible');
  });
}

export const headerTooBigOptions: Partial<LabOptions> = { fastcgiBufferSize: '4k' };

/** ~8 KB of Set-Cookie headers with fastcgi_buffer_size 4k */
export function headerTooBig(lab?: Lab): Promise<ScenarioResult> {
  return runScenario('header_too_big', 'header_too_big', headerTooBigOptions, lab, async (lab, ctx) => {
    await normalTraffic(lab, ctx);
    const small = ctx.track(await lab.requestMany('/bigheader.php?kb=1', 2, 2));
    const big = ctx.track(await lab.requestMany('/bigheader.php?kb=8', 3, 2));
    ctx.notes.push(`bigheader kb=1: ${statuses(small)}, kb=8 with fastcgi_buffer_size 4k: ${statuses(big)}`);
    await normalTraffic(lab, ctx, 2, 0);
  });
}

export const workerCrashOptions: Partial<LabOptions> = {};

/** worker kills itself with SIGSEGV (twice) and SIGKILL (once, like the OOM killer) mid-request */
export function workerCrash(lab?: Lab): Promise<ScenarioResult> {
  return runScenario('worker_crash', 'worker_crash', workerCrashOptions, lab, async (lab, ctx) => {
    await normalTraffic(lab, ctx);
    const segv = ctx.track(await lab.requestMany('/crash.php?sig=SEGV', 2, 1));
    const kill = ctx.track(await lab.request('/crash.php?sig=KILL'));
    ctx.notes.push(`crash.php SEGV: ${statuses(segv)}, KILL: ${statuses(kill)}`);
    const logged = await lab.waitForLog('fpmLog', /exited on signal 9/, 3000);
    if (!logged) ctx.notes.push('FPM did not log the SIGKILL exit within 3 s');
    await normalTraffic(lab, ctx, 3, 0);
  });
}

export const upstreamDownOptions: Partial<LabOptions> = { proxyServers: 3, proxyMaxFails: 1, proxyFailTimeout: 10 };

/** /proxy/ -> upstream group of 3 loopback ports nobody listens on: refused x3, then `no live upstreams` */
export function upstreamDown(lab?: Lab): Promise<ScenarioResult> {
  return runScenario('upstream_down', 'upstream_down', upstreamDownOptions, lab, async (lab, ctx) => {
    await normalTraffic(lab, ctx);
    const first = ctx.track(await lab.request('/proxy/api/orders?id=1'));
    const rest = ctx.track(await lab.requestMany('/proxy/api/orders?id=2', 3, 1));
    ctx.notes.push(`first proxied request: ${statuses(first)}, next three: ${statuses(rest)}`);
    await normalTraffic(lab, ctx, 2, 0);
  });
}

export const upstreamConnectTimeoutOptions: Partial<LabOptions> = {
  fpmListen: 'tcp',
  pm: 'static',
  maxChildren: 1,
  listenBacklog: 0,
  fastcgiConnectTimeout: 1,
  fastcgiReadTimeout: 5,
};

/**
 * TCP FPM listener with one static worker and listen.backlog 0 (accept queue holds 1): with the worker
 * busy and the queue full, Linux drops further SYNs, so nginx's connect() never completes and
 * fastcgi_connect_timeout (1 s) fires -> 504 `upstream timed out ... while connecting to upstream`.
 */
export function upstreamConnectTimeout(lab?: Lab): Promise<ScenarioResult> {
  return runScenario('upstream_connect_timeout', 'upstream_connect_timeout', upstreamConnectTimeoutOptions, lab, async (lab, ctx) => {
    // sequential: with one worker and a one-slot accept queue even 3 parallel fast requests overflow it
    await normalTraffic(lab, ctx, 3, 1, 1);
    const busy = lab.request('/sleep.php?s=2'); // occupies the only worker
    await sleep(200);
    const queued = lab.request('/sleep.php?s=1'); // sits in the accept queue (backlog 0 => 1 slot)
    await sleep(200);
    const dropped = ctx.track(await lab.requestMany('/ok.php', 4, 4)); // SYNs dropped -> connect timeout
    const [b, q] = await Promise.all([busy, queued]);
    ctx.track([b!, q!]);
    ctx.notes.push(`occupying request: ${b!.status}, queued request: ${q!.status}, ok.php while queue full: ${statuses(dropped)}`);
    await normalTraffic(lab, ctx, 2, 0, 1);
  });
}

export const invalidUpstreamResponseOptions: Partial<LabOptions> = { phpBackend: 'http' };

/** fastcgi_pass for .php points at a plain HTTP server (wrong port) */
export function invalidUpstreamResponse(lab?: Lab): Promise<ScenarioResult> {
  return runScenario('invalid_upstream_response', 'invalid_upstream_response', invalidUpstreamResponseOptions, lab, async (lab, ctx) => {
    ctx.track(await lab.requestMany('/static.txt', 3, 2));
    const rs = ctx.track(await lab.requestMany('/ok.php', 3, 1));
    ctx.notes.push(`ok.php via fastcgi_pass ${lab.fastcgiPass} (an HTTP server): ${statuses(rs)}`);
    await ctx.snapshotStatus('FPM itself is fine');
    ctx.track(await lab.requestMany('/static.txt', 2, 2));
  });
}

export const phpFatalOptions: Partial<LabOptions> = {};

/** PHP fatal error: 500 (not 502/504) with `FastCGI sent in stderr: "PHP message: PHP Fatal error:  ..."` */
export function phpFatal(lab?: Lab): Promise<ScenarioResult> {
  return runScenario('php_fatal', 'php_fatal', phpFatalOptions, lab, async (lab, ctx) => {
    await normalTraffic(lab, ctx);
    const rs = ctx.track(await lab.requestMany('/fatal.php', 2, 1));
    ctx.notes.push(`fatal.php: ${statuses(rs)}`);
    await normalTraffic(lab, ctx, 2, 0);
  });
}

export const SCENARIOS: ScenarioDef[] = [
  { name: 'healthy', expectedCause: 'healthy', labOptions: healthyOptions, run: healthy },
  { name: 'fastcgi_read_timeout', expectedCause: 'fastcgi_read_timeout', labOptions: fastcgiReadTimeoutOptions, run: fastcgiReadTimeout },
  { name: 'request_terminate_timeout', expectedCause: 'request_terminate_timeout', labOptions: requestTerminateTimeoutOptions, run: requestTerminateTimeout },
  { name: 'fpm_down_unix', expectedCause: 'fpm_down', labOptions: fpmDownUnixOptions, run: fpmDownUnix },
  { name: 'fpm_down_tcp', expectedCause: 'fpm_down', labOptions: fpmDownTcpOptions, run: fpmDownTcp },
  { name: 'pool_exhausted', expectedCause: 'pool_exhausted', labOptions: poolExhaustedOptions, run: poolExhausted },
  { name: 'socket_permission', expectedCause: 'socket_permission', labOptions: socketPermissionOptions, run: socketPermission },
  { name: 'header_too_big', expectedCause: 'header_too_big', labOptions: headerTooBigOptions, run: headerTooBig },
  { name: 'worker_crash', expectedCause: 'worker_crash', labOptions: workerCrashOptions, run: workerCrash },
  { name: 'upstream_down', expectedCause: 'upstream_down', labOptions: upstreamDownOptions, run: upstreamDown },
  { name: 'upstream_connect_timeout', expectedCause: 'upstream_connect_timeout', labOptions: upstreamConnectTimeoutOptions, run: upstreamConnectTimeout },
  { name: 'invalid_upstream_response', expectedCause: 'invalid_upstream_response', labOptions: invalidUpstreamResponseOptions, run: invalidUpstreamResponse },
  { name: 'php_fatal', expectedCause: 'php_fatal', labOptions: phpFatalOptions, run: phpFatal },
];
