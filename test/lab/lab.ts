/**
 * Test lab: real nginx + real PHP-FPM on loopback in a temp dir.
 *
 * startLab() writes nginx.conf / php-fpm.conf from options, starts both (foreground, as children of
 * this process; or FPM daemonized with `fpmDaemonize`, as sysvinit scripts start it), waits until they
 * accept connections, and returns a Lab handle to drive traffic, stop/start FPM, kill workers, read the
 * logs and dump the configs (nginx -T, php-fpm -tt).
 *
 * Needs root (nginx workers run as nobody, FPM pool as nobody, socket ownership scenarios).
 * Set KEEP_LAB=1 to keep the temp dir after stop() (its path is printed to stderr).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const NGINX_BIN = process.env.LAB_NGINX ?? '/usr/sbin/nginx';
export const FPM_BIN = process.env.LAB_PHP_FPM ?? findFpmBinary();

/**
 * The PHP-FPM binary as Debian and Ubuntu install it: the newest /usr/sbin/php-fpmX.Y, else
 * /usr/sbin/php-fpm. Any PHP version runs the lab; none installed fails loudly (startLab names the path).
 */
export function findFpmBinary(dir = '/usr/sbin'): string {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => /^php-fpm(\d+\.\d+)?$/.test(n));
  } catch {
    /* no such folder: the default below, which does not exist either, is named in the error */
  }
  const version = (n: string) =>
    (n
      .match(/(\d+)\.(\d+)$/)
      ?.slice(1)
      .map(Number) ?? [0, 0]) as [number, number];
  names.sort((a, b) => version(b)[0] - version(a)[0] || version(b)[1] - version(a)[1]);
  return path.join(dir, names[0] ?? 'php-fpm');
}

/** /etc/php/X.Y/fpm/php-fpm.conf of the binary found (Debian's layout), or null for an unversioned one. */
export function fpmConfigOf(binary: string): string | null {
  const version = /php-fpm(\d+\.\d+)$/.exec(binary)?.[1];
  return version ? `/etc/php/${version}/fpm/php-fpm.conf` : null;
}

/** The access log_format used by the lab (name `lab`): upstream nginx format plus `cn=$connection`. */
export const LAB_LOG_FORMAT =
  '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" ' +
  'rt=$request_time uct="$upstream_connect_time" uht="$upstream_header_time" urt="$upstream_response_time" ' +
  'uaddr="$upstream_addr" ustatus="$upstream_status" cn=$connection';

export const LAB_LOG_FORMAT_NAME = 'lab';
export const LAB_SERVER_NAME = 'lab.local';
export const LAB_POOL = 'www';
export const LAB_PROXY_GROUP = 'lab_dead_backends';

const PHP_SRC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'php');

export interface LabOptions {
  /** FPM listen type: unix socket in the lab dir, or TCP 127.0.0.1:<free port>. */
  fpmListen: 'unix' | 'tcp';
  /** listen.owner / listen.group / listen.mode for the unix socket. */
  socketOwner: string;
  socketGroup: string;
  socketMode: string;
  pm: 'static' | 'dynamic' | 'ondemand';
  maxChildren: number;
  /** listen.backlog */
  listenBacklog: number;
  /** request_terminate_timeout in seconds, 0 = off */
  requestTerminateTimeout: number;
  /** request_slowlog_timeout in seconds, 0 = off */
  requestSlowlogTimeout: number;
  /** nginx fastcgi_read_timeout in seconds (fractions become ms) */
  fastcgiReadTimeout: number;
  /** nginx fastcgi_connect_timeout in seconds */
  fastcgiConnectTimeout: number;
  /** nginx fastcgi_buffer_size, e.g. '4k'; undefined = nginx default (one page) */
  fastcgiBufferSize?: string;
  /** start FPM in startLab() (false: the socket/port never exists) */
  startFpm: boolean;
  /**
   * `daemonize = yes`, started without -F as sysvinit scripts do: the master forks away from this
   * process and is known by its pid file; a SIGUSR2 reload re-executes it and it forks again under a
   * new pid. Default false: `-F`, a child of this process (containers, supervisord, systemd).
   */
  fpmDaemonize: boolean;
  /**
   * What the `\.php$` location's fastcgi_pass points at: 'fpm' (the pool), or 'http' = a plain HTTP server
   * the lab runs on another loopback port (the "fastcgi_pass to the wrong port" misconfiguration).
   * Status/ping always go to FPM.
   */
  phpBackend: 'fpm' | 'http';
  /** number of servers (nobody listening) in the proxy upstream group used by /proxy/ */
  proxyServers: number;
  proxyMaxFails: number;
  /** fail_timeout in seconds */
  proxyFailTimeout: number;
  /** proxy_connect_timeout in seconds */
  proxyConnectTimeout: number;
  /** nginx `user` (workers) and FPM pool user/group */
  nginxUser: string;
  poolUser: string;
  poolGroup: string;
  /** extra lines appended to the [www] pool section */
  extraPoolConfig?: string[];
  /** TZ the daemons run (and log) in; default the suite's own. A host whose clock is not the bot's. */
  tz?: string;
  /**
   * A second PHP site, `/api/`, passed to a pool of its own (`unix:DIR/api-fpm.sock`) whose PHP-FPM does not
   * run: two pools on one host, one of them down.
   */
  deadPool?: boolean;
}

export const DEFAULT_LAB_OPTIONS: LabOptions = {
  fpmListen: 'unix',
  socketOwner: 'nobody',
  socketGroup: 'nogroup',
  socketMode: '0660',
  pm: 'dynamic',
  maxChildren: 4,
  listenBacklog: 511,
  requestTerminateTimeout: 0,
  requestSlowlogTimeout: 0,
  fastcgiReadTimeout: 10,
  fastcgiConnectTimeout: 2,
  startFpm: true,
  fpmDaemonize: false,
  phpBackend: 'fpm',
  proxyServers: 3,
  proxyMaxFails: 1,
  proxyFailTimeout: 10,
  proxyConnectTimeout: 1,
  nginxUser: 'nobody',
  poolUser: 'nobody',
  poolGroup: 'nogroup',
};

export interface LabPaths {
  access: string;
  error: string;
  fpmLog: string;
  slowLog: string;
  nginxConf: string;
  fpmConf: string;
  www: string;
}

export interface LabLogs {
  access: string;
  error: string;
  fpmLog: string;
  slowLog: string;
}

export interface RequestOptions {
  /** client-side timeout in ms (default 20000, above every nginx timeout the lab uses) */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export interface LabResponse {
  path: string;
  /** HTTP status, 0 when the request failed on the client side (error/timeout) */
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  ms: number;
  error?: string;
}

export type FpmStatusResult = { ok: true; status: number; text: string; ms: number } | { ok: false; status?: number; text?: string; error: string; ms: number };

export interface Lab {
  readonly dir: string;
  /** nginx listen port on 127.0.0.1 */
  readonly port: number;
  readonly options: LabOptions;
  readonly paths: LabPaths;
  /** FPM listen address as written in php-fpm.conf: socket path or 127.0.0.1:port */
  readonly fpmListen: string;
  /** fastcgi_pass argument nginx uses for .php */
  readonly fastcgiPass: string;
  /** the dead 127.0.0.1 ports of the proxy upstream group */
  readonly proxyPorts: number[];
  url(p: string): string;
  request(p: string, opts?: RequestOptions): Promise<LabResponse>;
  requestMany(p: string, n: number, concurrency?: number, opts?: RequestOptions): Promise<LabResponse[]>;
  /** GET /fpm-status[?query] through nginx with a short timeout; never throws */
  fpmStatus(query?: string, timeoutMs?: number): Promise<FpmStatusResult>;
  /** `nginx -T -p dir -c conf`: stderr + stdout, as a host prints it with 2>&1 */
  nginxT(): Promise<string>;
  /** `php-fpm8.2 -tt -y conf`: the NOTICE dump FPM prints to stderr */
  fpmTT(): Promise<string>;
  fpmRunning(): boolean;
  fpmMasterPid(): number | undefined;
  fpmWorkerPids(): number[];
  stopFpm(signal?: NodeJS.Signals): Promise<void>;
  startFpm(): Promise<void>;
  /** send `signal` to every FPM worker; returns the pids signalled */
  killWorkers(signal: NodeJS.Signals): number[];
  /** text of each log, after waiting until nginx logged every request made through this Lab */
  readLogs(): Promise<LabLogs>;
  /**
   * logrotate's way: the access and error logs renamed to `.1`, then USR1 so nginx reopens (creates) them.
   * Returns once nginx writes the new files.
   */
  rotateLogs(): Promise<void>;
  /** poll one log until it matches; returns false on timeout */
  waitForLog(which: keyof LabLogs, pattern: RegExp | string, timeoutMs?: number): Promise<boolean>;
  /** stop nginx and FPM, remove the dir (unless KEEP_LAB=1). Idempotent. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// helpers

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A port that was free a moment ago on 127.0.0.1 (bound then closed: nothing listens on it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function freePorts(n: number): Promise<number[]> {
  // hold all servers open at once so the ports are distinct
  const servers: net.Server[] = [];
  const ports: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = net.createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve());
      });
      const addr = srv.address();
      ports.push(typeof addr === 'object' && addr ? addr.port : 0);
    }
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
  return ports;
}

function fmtSeconds(s: number): string {
  return Number.isInteger(s) ? `${s}s` : `${Math.round(s * 1000)}ms`;
}

function countOf(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** parent pid of every process, from /proc */
function processTable(): Map<number, number> {
  const table = new Map<number, number>();
  for (const ent of readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    try {
      const stat = readFileSync(`/proc/${ent}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(rest[1]);
      table.set(Number(ent), ppid);
    } catch {
      // process went away
    }
  }
  return table;
}

function childrenOf(pid: number, table = processTable()): number[] {
  const out: number[] = [];
  for (const [p, pp] of table) if (pp === pid) out.push(p);
  return out;
}

function descendantsOf(pid: number): number[] {
  const table = processTable();
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const cur = queue.shift()!;
    for (const c of childrenOf(cur, table)) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

function signalPids(pids: number[], signal: NodeJS.Signals): number[] {
  const hit: number[] = [];
  for (const p of pids) {
    try {
      process.kill(p, signal);
      hit.push(p);
    } catch {
      // already gone
    }
  }
  return hit;
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

function readFileSyncOr(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

/** A live (not zombie) process titled `php-fpm: master process`: a daemonized master's parent is init, which may not reap it at once. */
function isFpmMaster(pid: number): boolean {
  const stat = readFileSyncOr(`/proc/${pid}/stat`);
  if (!stat || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
  return readFileSyncOr(`/proc/${pid}/cmdline`).startsWith('php-fpm: master process');
}

/** Waits until `pid` is no longer a running process (gone, or a zombie nobody reaped yet). */
async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stat = readFileSyncOr(`/proc/${pid}/stat`);
    if (!stat || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return true;
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
}

function isRunning(child: ChildProcess | undefined): child is ChildProcess {
  return !!child && child.exitCode === null && child.signalCode === null;
}

/** run a command, capture stdout and stderr into ONE stream in write order (like `2>&1`) */
function runCombined(cmd: string, args: string[], timeoutMs = 10_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    // a single pipe shared by stdout and stderr keeps the interleaving a terminal would show
    const child = spawn('/bin/sh', ['-c', '"$0" "$@" 2>&1', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, output: Buffer.concat(chunks).toString('utf8') });
    });
    child.on('error', (err) => {
      clearTimeout(t);
      resolve({ code: -1, output: String(err) });
    });
  });
}

async function readText(p: string): Promise<string> {
  try {
    return await fsp.readFile(p, 'utf8');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------
// cleanup on process exit (also when a test fails or the runner bails out)

const liveLabs = new Set<LabImpl>();
let exitHandlerInstalled = false;

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on('exit', () => {
    for (const lab of liveLabs) lab.killSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // only take over the signal if nobody else handles it; re-raise after cleanup
    if (process.listenerCount(sig) > 0) continue;
    const handler = (): void => {
      for (const lab of liveLabs) lab.killSync();
      process.removeListener(sig, handler);
      process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

// ---------------------------------------------------------------------------------------------
// config writers

const FASTCGI_PARAMS = `fastcgi_param  QUERY_STRING       $query_string;
fastcgi_param  REQUEST_METHOD     $request_method;
fastcgi_param  CONTENT_TYPE       $content_type;
fastcgi_param  CONTENT_LENGTH     $content_length;

fastcgi_param  SCRIPT_NAME        $fastcgi_script_name;
fastcgi_param  REQUEST_URI        $request_uri;
fastcgi_param  DOCUMENT_URI       $document_uri;
fastcgi_param  DOCUMENT_ROOT      $document_root;
fastcgi_param  SERVER_PROTOCOL    $server_protocol;
fastcgi_param  REQUEST_SCHEME     $scheme;
fastcgi_param  HTTPS              $https if_not_empty;

fastcgi_param  GATEWAY_INTERFACE  CGI/1.1;
fastcgi_param  SERVER_SOFTWARE    nginx/$nginx_version;

fastcgi_param  REMOTE_ADDR        $remote_addr;
fastcgi_param  REMOTE_PORT        $remote_port;
fastcgi_param  SERVER_ADDR        $server_addr;
fastcgi_param  SERVER_PORT        $server_port;
fastcgi_param  SERVER_NAME        $server_name;

fastcgi_param  REDIRECT_STATUS    200;
`;

function nginxConf(dir: string, port: number, fastcgiPass: string, fpmPass: string, proxyPorts: number[], o: LabOptions): string {
  const fcgi = (indent: string): string =>
    [
      `include ${dir}/fastcgi_params;`,
      'fastcgi_param  SCRIPT_FILENAME  $document_root$fastcgi_script_name;',
      `fastcgi_connect_timeout ${fmtSeconds(o.fastcgiConnectTimeout)};`,
      `fastcgi_read_timeout ${fmtSeconds(o.fastcgiReadTimeout)};`,
      ...(o.fastcgiBufferSize ? [`fastcgi_buffer_size ${o.fastcgiBufferSize};`] : []),
    ]
      .map((l) => indent + l)
      .join('\n');
  const servers = proxyPorts.map((p) => `        server 127.0.0.1:${p} max_fails=${o.proxyMaxFails} fail_timeout=${fmtSeconds(o.proxyFailTimeout)};`).join('\n');
  // nginx clears its environment except TZ; libfaketime (`npm run test:clock`) reads FAKETIME again every
  // few seconds, so without these lines nginx logs the real date ten seconds after it started.
  return `# badgateway test lab (generated)
env FAKETIME;
env FAKETIME_SHARED;
user ${o.nginxUser} ${o.nginxUser === 'root' ? 'root' : 'nogroup'};
worker_processes 1;
pid ${dir}/nginx.pid;
# nginx clears its workers' environment (all but TZ); under \`npm run test:clock\` libfaketime re-reads
# FAKETIME every few seconds, so without it the workers' log lines would drift back to the real date.
env FAKETIME;
error_log ${dir}/error.log info;

events {
    worker_connections 1024;
}

http {
    default_type text/plain;
    server_tokens on;
    keepalive_timeout 5s;

    log_format ${LAB_LOG_FORMAT_NAME} '${LAB_LOG_FORMAT}';
    access_log ${dir}/access.log ${LAB_LOG_FORMAT_NAME};

    client_body_temp_path ${dir}/tmp/client_body;
    proxy_temp_path ${dir}/tmp/proxy;
    fastcgi_temp_path ${dir}/tmp/fastcgi;
    uwsgi_temp_path ${dir}/tmp/uwsgi;
    scgi_temp_path ${dir}/tmp/scgi;

    upstream ${LAB_PROXY_GROUP} {
${servers}
    }

    server {
        listen 127.0.0.1:${port};
        server_name ${LAB_SERVER_NAME};
        root ${dir}/www;
        index index.html;

        location ~ \\.php$ {
            fastcgi_pass ${fastcgiPass};
${fcgi('            ')}
        }

        location = /fpm-status {
            fastcgi_pass ${fpmPass};
${fcgi('            ')}
        }

        location = /fpm-ping {
            fastcgi_pass ${fpmPass};
${fcgi('            ')}
        }

${
  o.deadPool
    ? `        location ^~ /api/ {
            fastcgi_pass unix:${dir}/api-fpm.sock;
${fcgi('            ')}
        }

`
    : ''
}        location /proxy/ {
            proxy_pass http://${LAB_PROXY_GROUP};
            proxy_connect_timeout ${fmtSeconds(o.proxyConnectTimeout)};
            proxy_read_timeout ${fmtSeconds(o.fastcgiReadTimeout)};
        }
    }
}
`;
}

function fpmConf(dir: string, listen: string, errorLog: string, o: LabOptions): string {
  const pmLines: string[] = [`pm = ${o.pm}`, `pm.max_children = ${o.maxChildren}`];
  if (o.pm === 'dynamic') {
    const maxSpare = Math.max(1, Math.min(3, o.maxChildren));
    const start = Math.min(2, maxSpare);
    pmLines.push(`pm.start_servers = ${start}`, 'pm.min_spare_servers = 1', `pm.max_spare_servers = ${maxSpare}`);
  }
  if (o.pm === 'ondemand') pmLines.push('pm.process_idle_timeout = 10s');
  const listenLines = o.fpmListen === 'unix' ? [`listen.owner = ${o.socketOwner}`, `listen.group = ${o.socketGroup}`, `listen.mode = ${o.socketMode}`] : ['listen.allowed_clients = 127.0.0.1'];
  return `; badgateway test lab (generated)
[global]
pid = ${dir}/php-fpm.pid
error_log = ${errorLog}
log_level = notice
daemonize = ${o.fpmDaemonize ? 'yes' : 'no'}

[${LAB_POOL}]
user = ${o.poolUser}
group = ${o.poolGroup}
listen = ${listen}
${listenLines.join('\n')}
listen.backlog = ${o.listenBacklog}
${pmLines.join('\n')}
pm.status_path = /fpm-status
ping.path = /fpm-ping
slowlog = ${dir}/slow.log
request_slowlog_timeout = ${o.requestSlowlogTimeout}s
request_terminate_timeout = ${o.requestTerminateTimeout}s
catch_workers_output = yes
php_admin_value[max_execution_time] = 300
${(o.extraPoolConfig ?? []).join('\n')}
`;
}

// ---------------------------------------------------------------------------------------------

class LabImpl implements Lab {
  readonly dir: string;
  readonly port: number;
  readonly options: LabOptions;
  readonly paths: LabPaths;
  readonly fpmListen: string;
  readonly fastcgiPass: string;
  readonly proxyPorts: number[];
  private nginx: ChildProcess | undefined;
  httpBackend: http.Server | undefined;
  private fpm: ChildProcess | undefined;
  private nginxStderr = '';
  private fpmStderr = '';
  private stopping: Promise<void> | undefined;
  private finishedRequests = 0;

  constructor(dir: string, port: number, fpmListen: string, fastcgiPass: string, proxyPorts: number[], options: LabOptions) {
    this.dir = dir;
    this.port = port;
    this.options = options;
    this.fpmListen = fpmListen;
    this.fastcgiPass = fastcgiPass;
    this.proxyPorts = proxyPorts;
    this.paths = {
      access: path.join(dir, 'access.log'),
      error: path.join(dir, 'error.log'),
      fpmLog: path.join(dir, 'fpm.log'),
      slowLog: path.join(dir, 'slow.log'),
      nginxConf: path.join(dir, 'nginx.conf'),
      fpmConf: path.join(dir, 'php-fpm.conf'),
      www: path.join(dir, 'www'),
    };
  }

  private get fpmPidFile(): string {
    return path.join(this.dir, 'php-fpm.pid');
  }

  /** The daemonized master: the pid its pid file names, while that process is a running PHP-FPM master. */
  private daemonPid(): number | undefined {
    const pid = Number(readFileSyncOr(this.fpmPidFile).trim());
    return Number.isInteger(pid) && pid > 0 && isFpmMaster(pid) ? pid : undefined;
  }

  url(p: string): string {
    return `http://127.0.0.1:${this.port}${p.startsWith('/') ? p : `/${p}`}`;
  }

  // -- processes ------------------------------------------------------------------------------

  async startNginx(): Promise<void> {
    this.nginxStderr = '';
    const errBefore = countOf(await readText(this.paths.error), 'start worker process ');
    const child = spawn(NGINX_BIN, ['-p', `${this.dir}/`, '-c', this.paths.nginxConf, '-e', this.paths.error, '-g', 'daemon off;'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: this.daemonEnv(),
    });
    this.nginx = child;
    child.stdout?.on('data', (c: Buffer) => (this.nginxStderr += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (this.nginxStderr += c.toString()));
    child.on('error', (err) => (this.nginxStderr += String(err)));
    // No connect probe (it would leave a "client closed connection while waiting for request" line and
    // use up connection number 1): the master binds the listen socket before it writes the pid file and
    // logs "start worker process N"; connections made after that are queued until the worker accepts.
    await this.waitReady(
      'nginx',
      child,
      async () => {
        if (!existsSync(path.join(this.dir, 'nginx.pid'))) return false;
        return countOf(await readText(this.paths.error), 'start worker process ') > errBefore;
      },
      () => this.nginxStderr,
    );
  }

  private daemonEnv(): NodeJS.ProcessEnv {
    return this.options.tz === undefined ? process.env : { ...process.env, TZ: this.options.tz };
  }

  async startFpm(): Promise<void> {
    if (this.fpmRunning()) return;
    this.fpmStderr = '';
    // the master logs "ready to handle connections" once the listening socket exists and the pool is up
    // (no connect probe: it would show up as an accepted connection in the status page)
    const readyBefore = countOf(await readText(this.paths.fpmLog), 'ready to handle connections');
    const daemon = this.options.fpmDaemonize;
    // Daemonized: the launcher exits once the master it forked is ready; the master is known by its pid file.
    if (daemon) await fsp.rm(this.fpmPidFile, { force: true });
    const child = spawn(FPM_BIN, daemon ? ['-y', this.paths.fpmConf] : ['-F', '-y', this.paths.fpmConf], { stdio: ['ignore', 'pipe', 'pipe'], env: this.daemonEnv() });
    this.fpm = child;
    child.stdout?.on('data', (c: Buffer) => (this.fpmStderr += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (this.fpmStderr += c.toString()));
    child.on('error', (err) => (this.fpmStderr += String(err)));
    const ready = async () => {
      if (countOf(await readText(this.paths.fpmLog), 'ready to handle connections') <= readyBefore) return false;
      if (daemon && this.daemonPid() === undefined) return false;
      return this.options.fpmListen === 'unix' ? existsSync(this.fpmListen) : true;
    };
    if (daemon) {
      if (!(await waitExit(child, 10_000)) || child.exitCode !== 0) {
        throw new Error(`php-fpm (daemonize = yes) did not start: launcher ${child.exitCode === null ? 'still running' : `exited ${child.exitCode}`} in ${this.dir}\n${this.fpmStderr}`);
      }
      const deadline = Date.now() + 10_000;
      while (!(await ready())) {
        if (Date.now() > deadline) throw new Error(`php-fpm (daemonize = yes) not ready after 10 s in ${this.dir}\n${await readText(this.paths.fpmLog)}`);
        await sleep(20);
      }
    } else {
      await this.waitReady('php-fpm', child, ready, () => this.fpmStderr);
    }
    if (this.options.pm !== 'ondemand') {
      const deadline = Date.now() + 5000;
      while (this.fpmWorkerPids().length === 0 && Date.now() < deadline) await sleep(20);
    }
  }

  private async waitReady(what: string, child: ChildProcess, ready: () => Promise<boolean>, output: () => string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        const log = what === 'nginx' ? await readText(this.paths.error) : await readText(this.paths.fpmLog);
        throw new Error(`${what} exited during startup (code ${child.exitCode}, signal ${child.signalCode}) in ${this.dir}\n${output()}\n${log}`);
      }
      if (await ready()) return;
      if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs} ms in ${this.dir}\n${output()}`);
      await sleep(20);
    }
  }

  fpmRunning(): boolean {
    return this.fpmMasterPid() !== undefined;
  }

  fpmMasterPid(): number | undefined {
    if (this.options.fpmDaemonize) return this.daemonPid();
    return isRunning(this.fpm) ? this.fpm.pid : undefined;
  }

  fpmWorkerPids(): number[] {
    const pid = this.fpmMasterPid();
    return pid ? childrenOf(pid) : [];
  }

  async stopFpm(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.options.fpmDaemonize) {
      const pid = this.daemonPid();
      if (pid === undefined) return;
      const workers = descendantsOf(pid);
      signalPids([pid], signal);
      if (!(await waitGone(pid, 5000))) {
        signalPids([pid], 'SIGKILL');
        await waitGone(pid, 2000);
      }
      signalPids(workers, 'SIGKILL');
      return;
    }
    const child = this.fpm;
    if (!isRunning(child)) return;
    const workers = child.pid ? descendantsOf(child.pid) : [];
    child.kill(signal);
    if (!(await waitExit(child, 5000))) {
      child.kill('SIGKILL');
      await waitExit(child, 2000);
    }
    signalPids(workers, 'SIGKILL');
  }

  killWorkers(signal: NodeJS.Signals): number[] {
    return signalPids(this.fpmWorkerPids(), signal);
  }

  // -- traffic -----------------------------------------------------------------------------------

  request(p: string, opts: RequestOptions = {}): Promise<LabResponse> {
    const started = Date.now();
    const timeoutMs = opts.timeoutMs ?? 20_000;
    return new Promise<LabResponse>((resolve) => {
      let settled = false;
      const finish = (r: Omit<LabResponse, 'path' | 'ms'>): void => {
        if (settled) return;
        settled = true;
        this.finishedRequests++;
        resolve({ path: p, ms: Date.now() - started, ...r });
      };
      const req = http.get(this.url(p), { agent: false, headers: { 'User-Agent': 'badgateway-lab/1', Connection: 'close', ...opts.headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        res.on('error', (err) => finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers, error: String(err) }));
      });
      req.setTimeout(timeoutMs, () => {
        req.destroy(new Error(`client timeout after ${timeoutMs} ms`));
      });
      req.on('error', (err) => finish({ status: 0, body: '', headers: {}, error: err.message }));
    });
  }

  async requestMany(p: string, n: number, concurrency = n, opts: RequestOptions = {}): Promise<LabResponse[]> {
    const results: LabResponse[] = new Array<LabResponse>(n);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < n) {
        const i = next++;
        results[i] = await this.request(p, opts);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, n)) }, worker));
    return results;
  }

  async fpmStatus(query = '', timeoutMs = 1500): Promise<FpmStatusResult> {
    const p = query ? `/fpm-status?${query.replace(/^\?/, '')}` : '/fpm-status';
    const r = await this.request(p, { timeoutMs });
    if (r.status === 200) return { ok: true, status: r.status, text: r.body, ms: r.ms };
    if (r.status === 0) return { ok: false, error: r.error ?? 'no response', ms: r.ms };
    return { ok: false, status: r.status, text: r.body, error: `HTTP ${r.status} from ${p}`, ms: r.ms };
  }

  // -- config dumps ----------------------------------------------------------------------------

  async nginxT(): Promise<string> {
    const r = await runCombined(NGINX_BIN, ['-T', '-p', `${this.dir}/`, '-c', this.paths.nginxConf]);
    return r.output;
  }

  async fpmTT(): Promise<string> {
    // php-fpm -tt ALSO appends its whole dump to the configured error_log. Run it on a copy whose
    // error_log points elsewhere so the lab's fpm.log only holds what the running master wrote, then
    // put the real paths back so the text is what `php-fpm8.2 -tt -y <conf>` prints on a host.
    const ttConf = path.join(this.dir, 'php-fpm-tt.conf');
    const ttLog = path.join(this.dir, 'fpm-tt.log');
    const conf = await fsp.readFile(this.paths.fpmConf, 'utf8');
    await fsp.writeFile(ttConf, conf.replace(`error_log = ${this.paths.fpmLog}`, `error_log = ${ttLog}`));
    const r = await runCombined(FPM_BIN, ['-tt', '-y', ttConf]);
    await fsp.rm(ttLog, { force: true });
    await fsp.rm(ttConf, { force: true });
    return r.output.split(ttLog).join(this.paths.fpmLog).split(ttConf).join(this.paths.fpmConf);
  }

  // -- logs --------------------------------------------------------------------------------------

  async readLogs(): Promise<LabLogs> {
    // nginx writes an access line at the end of each request (no buffer= set), which can land a
    // moment after the client saw the response: wait until every finished request is logged.
    const deadline = Date.now() + 3000;
    for (;;) {
      const access = await readText(this.paths.access);
      const lines = access.split('\n').filter((l) => l.length > 0).length;
      if (lines >= this.finishedRequests || Date.now() > deadline) break;
      await sleep(25);
    }
    const [access, error, fpmLog, slowLog] = await Promise.all([readText(this.paths.access), readText(this.paths.error), readText(this.paths.fpmLog), readText(this.paths.slowLog)]);
    return { access, error, fpmLog, slowLog };
  }

  async rotateLogs(): Promise<void> {
    await this.readLogs();
    const master = Number((await readText(path.join(this.dir, 'nginx.pid'))).trim());
    await fsp.rename(this.paths.access, `${this.paths.access}.1`);
    await fsp.rename(this.paths.error, `${this.paths.error}.1`);
    process.kill(master, 'SIGUSR1');
    const deadline = Date.now() + 5000;
    while (!(existsSync(this.paths.access) && existsSync(this.paths.error))) {
      if (Date.now() > deadline) throw new Error('nginx did not reopen its logs within 5 s of USR1');
      await sleep(25);
    }
    // Under `npm run test:clock` the kernel stamps mtimes with the real date while nginx logs the faked one; the
    // reader skips generations by mtime, so give the rotated files (nginx's reopen notice went to the old error
    // log) the clock their lines were written with.
    const now = new Date();
    await Promise.all([fsp.utimes(`${this.paths.access}.1`, now, now), fsp.utimes(`${this.paths.error}.1`, now, now)]);
    // readLogs() counts lines of the current file only.
    this.finishedRequests = 0;
  }

  async waitForLog(which: keyof LabLogs, pattern: RegExp | string, timeoutMs = 5000): Promise<boolean> {
    const file = { access: this.paths.access, error: this.paths.error, fpmLog: this.paths.fpmLog, slowLog: this.paths.slowLog }[which];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = await readText(file);
      if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) return true;
      if (Date.now() > deadline) return false;
      await sleep(25);
    }
  }

  // -- teardown ----------------------------------------------------------------------------------

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const nginx = this.nginx;
    if (isRunning(nginx)) {
      const kids = nginx.pid ? descendantsOf(nginx.pid) : [];
      nginx.kill('SIGTERM'); // fast shutdown
      if (!(await waitExit(nginx, 5000))) {
        nginx.kill('SIGKILL');
        await waitExit(nginx, 2000);
      }
      signalPids(kids, 'SIGKILL');
    }
    await this.stopFpm('SIGTERM');
    const hb = this.httpBackend;
    if (hb) {
      hb.closeAllConnections?.();
      await new Promise<void>((r) => hb.close(() => r()));
    }
    liveLabs.delete(this);
    this.removeDir();
  }

  /** synchronous last-resort cleanup for process exit */
  killSync(): void {
    for (const child of [this.nginx, this.fpm]) {
      if (!isRunning(child) || !child.pid) continue;
      const kids = descendantsOf(child.pid);
      signalPids([child.pid, ...kids], 'SIGKILL');
    }
    const daemon = this.options.fpmDaemonize ? this.daemonPid() : undefined;
    if (daemon !== undefined) signalPids([daemon, ...descendantsOf(daemon)], 'SIGKILL');
    liveLabs.delete(this);
    this.removeDir();
  }

  private removeDir(): void {
    if (process.env.KEEP_LAB === '1') {
      process.stderr.write(`[lab] KEEP_LAB=1: kept ${this.dir}\n`);
      return;
    }
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
}

/** a plain HTTP/1.1 server (not FastCGI): what sits on a port fastcgi_pass should not point at */
function startHttpBackend(port: number): Promise<http.Server> {
  const srv = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<html><body>legacy app</body></html>\n');
  });
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

export async function startLab(options: Partial<LabOptions> = {}): Promise<Lab> {
  if (process.getuid && process.getuid() !== 0) {
    throw new Error('the lab needs root (nginx/FPM workers run as nobody, socket ownership scenarios)');
  }
  const o: LabOptions = { ...DEFAULT_LAB_OPTIONS, ...options };
  installExitHandler();

  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'badgateway-lab-'));
  // nobody (nginx workers) must reach the socket in here; FPM workers must read www/
  await fsp.chmod(dir, 0o755);
  const [port, fpmPort, httpPort, ...proxyPorts] = await freePorts(3 + o.proxyServers);
  const fpmListen = o.fpmListen === 'unix' ? path.join(dir, 'php-fpm.sock') : `127.0.0.1:${fpmPort}`;
  const fpmPass = o.fpmListen === 'unix' ? `unix:${fpmListen}` : fpmListen;
  const fastcgiPass = o.phpBackend === 'http' ? `127.0.0.1:${httpPort}` : fpmPass;

  const lab = new LabImpl(dir, port!, fpmListen, fastcgiPass, proxyPorts, o);
  liveLabs.add(lab);
  try {
    await fsp.mkdir(path.join(dir, 'www'), { mode: 0o755 });
    await fsp.mkdir(path.join(dir, 'tmp'), { mode: 0o755 });
    for (const f of await fsp.readdir(PHP_SRC_DIR)) {
      if (!f.endsWith('.php')) continue;
      await fsp.copyFile(path.join(PHP_SRC_DIR, f), path.join(dir, 'www', f));
      await fsp.chmod(path.join(dir, 'www', f), 0o644);
    }
    await fsp.writeFile(path.join(dir, 'www', 'static.txt'), 'static ok\n', { mode: 0o644 });
    await fsp.writeFile(path.join(dir, 'fastcgi_params'), FASTCGI_PARAMS);
    await fsp.writeFile(lab.paths.nginxConf, nginxConf(dir, port!, fastcgiPass, fpmPass, proxyPorts, o));
    await fsp.writeFile(lab.paths.fpmConf, fpmConf(dir, fpmListen, lab.paths.fpmLog, o));
    if (o.phpBackend === 'http') lab.httpBackend = await startHttpBackend(httpPort!);
    if (o.startFpm) await lab.startFpm();
    await lab.startNginx();
  } catch (err) {
    await lab.stop();
    throw err;
  }
  return lab;
}
