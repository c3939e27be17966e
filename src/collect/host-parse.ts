/**
 * Pure parsers for what the host-side catalog commands print: the process table (`ps`), listening
 * sockets (`ss -lnxt`), /proc files (loadavg, uptime, meminfo, limits), the kernel's OOM lines, and the
 * `badgateway: KEY VALUE` fact lines the discovery scripts write on stderr. Text in, plain data out,
 * never throw: the callers run them on whatever a host answered.
 */

// ---------------------------------------------------------------------------------------------
// ps

/** One row of `ps -eo pid,ppid,user:32,stat,etimes,wchan:32,args` (columns found from the header). */
export interface ProcessRow {
  pid: number;
  ppid: number | null;
  user: string | null;
  /** `ps -o stat`: first letter R running, S sleeping, D uninterruptible, Z zombie, T stopped. */
  stat: string | null;
  /** Seconds since the process started. */
  ageSeconds: number | null;
  /** Kernel function the process sleeps in (`-` when running, or unknown). */
  wchan: string | null;
  /** The command line, or the title the process set (nginx/FPM masters and workers). */
  args: string;
}

const PS_COLUMNS: Record<string, keyof ProcessRow> = {
  PID: 'pid',
  PPID: 'ppid',
  USER: 'user',
  UID: 'user',
  STAT: 'stat',
  S: 'stat',
  ELAPSED: 'ageSeconds',
  WCHAN: 'wchan',
  COMMAND: 'args',
  CMD: 'args',
  ARGS: 'args',
};

/**
 * Parses `ps -o …` output with a header line. Every column but the last is one word; the last (args)
 * is the rest of the line. Without a header, `pid args` is assumed.
 */
export function parsePs(text: string): ProcessRow[] {
  const lines = (typeof text === 'string' ? text : '').split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  let columns: Array<keyof ProcessRow | null>;
  let body = lines;
  const header = lines[0]!.trim().split(/\s+/);
  if (header[0] === 'PID' || header.includes('PID')) {
    columns = header.map((h) => PS_COLUMNS[h] ?? null);
    body = lines.slice(1);
  } else {
    columns = ['pid', 'args'];
  }
  const rows: ProcessRow[] = [];
  for (const line of body) {
    const words: string[] = [];
    let rest = line.trimStart();
    for (let i = 0; i < columns.length - 1; i++) {
      const m = /^(\S+)\s*/.exec(rest);
      if (!m) break;
      words.push(m[1]!);
      rest = rest.slice(m[0].length);
    }
    words.push(rest.trimEnd());
    const row: ProcessRow = { pid: NaN, ppid: null, user: null, stat: null, ageSeconds: null, wchan: null, args: '' };
    columns.forEach((column, i) => {
      const value = words[i];
      if (column === null || value === undefined) return;
      switch (column) {
        case 'pid':
          row.pid = /^\d+$/.test(value) ? Number(value) : NaN;
          break;
        case 'ppid':
        case 'ageSeconds':
          row[column] = /^\d+$/.test(value) ? Number(value) : null;
          break;
        case 'args':
          row.args = value;
          break;
        default:
          row[column] = value === '' ? null : value;
      }
    });
    if (Number.isFinite(row.pid)) rows.push(row);
  }
  return rows;
}

/** A running nginx master, from its title `nginx: master process /usr/sbin/nginx -p PREFIX -c CONF …`. */
export interface NginxMasterProcess {
  pid: number;
  title: string;
  /** The program as started (`/usr/sbin/nginx`, or `nginx` when started from PATH). */
  program?: string;
  prefix?: string;
  conf?: string;
  /** `-e FILE`: the error log used before (and unless) the config sets one. */
  errorLog?: string;
}

/** Splits the nginx master's title back into its options (paths with spaces cannot be told apart). */
export function parseNginxMasterTitle(pid: number, title: string): NginxMasterProcess | null {
  const m = /^nginx: master process(?:\s+(.*))?$/.exec(title.trim());
  if (!m) return null;
  const master: NginxMasterProcess = { pid, title: title.trim() };
  const words = (m[1] ?? '').split(/\s+/).filter((w) => w !== '');
  if (words[0] !== undefined && !words[0].startsWith('-')) master.program = words.shift()!;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const option = /^-([pce])(.*)$/.exec(word);
    if (option) {
      const value = option[2] !== '' ? option[2]! : words[++i];
      if (value === undefined) continue;
      if (option[1] === 'p') master.prefix = value;
      else if (option[1] === 'c') master.conf = value;
      else master.errorLog = value;
    } else if (word === '-g') {
      // `-g "daemon off;"`: the directives run to the next option; nothing of it is needed here.
      while (words[i + 1] !== undefined && !words[i + 1]!.startsWith('-')) i++;
    }
  }
  return master;
}

export function nginxMasters(rows: readonly ProcessRow[]): NginxMasterProcess[] {
  return rows.flatMap((r) => parseNginxMasterTitle(r.pid, r.args) ?? []);
}

/** A running PHP-FPM master, from its title `php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)`. */
export interface FpmMasterProcess {
  pid: number;
  title: string;
  conf?: string;
}

export function parseFpmMasterTitle(pid: number, title: string): FpmMasterProcess | null {
  const m = /^php-fpm: master process(?:\s+\((.*)\))?\s*$/.exec(title.trim());
  if (!m) return null;
  return { pid, title: title.trim(), ...(m[1] ? { conf: m[1] } : {}) };
}

export function fpmMasters(rows: readonly ProcessRow[]): FpmMasterProcess[] {
  return rows.flatMap((r) => parseFpmMasterTitle(r.pid, r.args) ?? []);
}

/**
 * Kernel functions an idle FPM worker sleeps in: blocked in accept() on the pool's socket
 * (unix: skb_wait_for_more_packets / unix_accept; tcp: inet_csk_accept). Anything else while sleeping
 * (nanosleep, poll on a database socket, a lock) means the worker is inside a request.
 */
const IDLE_WCHAN = /accept|skb_wait_for_more_packets|wait_for_more_packets/;

export interface FpmWorker {
  pid: number;
  pool: string;
  state: string | null;
  ageSeconds: number | null;
  wchan: string | null;
  /** undefined when ps could not tell (no wait channel shown). */
  busy?: boolean;
}

/** The workers of one pool (`php-fpm: pool NAME`), of one master when its pid is known. */
export function fpmWorkers(rows: readonly ProcessRow[], options: { masterPid?: number; pool?: string } = {}): FpmWorker[] {
  const workers: FpmWorker[] = [];
  for (const row of rows) {
    const m = /^php-fpm: pool (\S+)\s*$/.exec(row.args.trim());
    if (!m) continue;
    if (options.pool !== undefined && m[1] !== options.pool) continue;
    if (options.masterPid !== undefined && row.ppid !== options.masterPid) continue;
    const worker: FpmWorker = { pid: row.pid, pool: m[1]!, state: row.stat, ageSeconds: row.ageSeconds, wchan: row.wchan };
    const busy = workerBusy(row);
    if (busy !== undefined) worker.busy = busy;
    workers.push(worker);
  }
  return workers;
}

function workerBusy(row: ProcessRow): boolean | undefined {
  const state = row.stat?.[0];
  if (state === 'R' || state === 'D') return true;
  if (state === 'Z') return false;
  const wchan = row.wchan;
  if (wchan === null || wchan === '-' || wchan === '0' || wchan === '?') return undefined;
  return !IDLE_WCHAN.test(wchan);
}

// ---------------------------------------------------------------------------------------------
// ss

export interface ListenSocket {
  /** `u_str`, `tcp`, … (`unix`/`tcp` when ss printed no Netid column). */
  netid: string;
  state: string;
  /** On a listening socket: connections waiting to be accepted. */
  recvQ: number;
  /** On a listening socket: the backlog limit (what listen() got, capped by somaxconn). */
  sendQ: number;
  /** Socket path (unix) or `address:port` (tcp). */
  local: string;
}

/** Parses `ss -lnxt` (or `ss -lnx` / `ss -lnt`). Unix paths may contain spaces; the inode columns are not kept. */
export function parseSs(text: string): ListenSocket[] {
  const lines = (typeof text === 'string' ? text : '').split('\n').filter((l) => l.trim() !== '');
  const sockets: ListenSocket[] = [];
  let hasNetid = true;
  let defaultNetid = 'tcp';
  for (const line of lines) {
    const words = line.trim().split(/\s+/);
    if (words[0] === 'Netid') {
      hasNetid = true;
      continue;
    }
    if (words[0] === 'State') {
      hasNetid = false;
      continue;
    }
    const netid = hasNetid ? words.shift()! : defaultNetid;
    const [state, recv, send, ...rest] = words;
    if (state === undefined || !/^\d+$/.test(recv ?? '') || !/^\d+$/.test(send ?? '')) continue;
    let local: string | undefined;
    const unix = netid.startsWith('u_') || netid === 'unix' || (!hasNetid && rest.length >= 4 && /^\d+$/.test(rest[rest.length - 3]!));
    if (unix) {
      // `PATH INODE PEER PEER_INODE` (peer `*`): the path is everything before the last three words.
      local = rest.length > 3 ? rest.slice(0, -3).join(' ') : rest[0];
      if (!hasNetid) defaultNetid = 'unix';
    } else {
      local = rest[0];
    }
    if (local === undefined) continue;
    sockets.push({ netid: unix && !hasNetid ? 'unix' : netid, state, recvQ: Number(recv), sendQ: Number(send), local });
  }
  return sockets;
}

const ANY_ADDRESS = new Set(['', '*', '0.0.0.0', '::', '[::]']);

function splitHostPort(address: string): { host: string; port: number } | undefined {
  const v6 = /^\[([^\]]*)\]:(\d+)$/.exec(address);
  if (v6) return { host: v6[1]!, port: Number(v6[2]) };
  const m = /^(.*):(\d+)$/.exec(address);
  if (m) return { host: m[1]!.replace(/%\S+$/, ''), port: Number(m[2]) };
  if (/^\d+$/.test(address)) return { host: '', port: Number(address) };
  return undefined;
}

function sameHost(a: string, b: string): boolean {
  const norm = (h: string) => h.replace(/^\[|\]$/g, '').replace(/^::ffff:/, '');
  const x = norm(a);
  const y = norm(b);
  if (x === y) return true;
  if (ANY_ADDRESS.has(x) || ANY_ADDRESS.has(y)) return true;
  const loop = (h: string) => h === 'localhost' || h.startsWith('127.') || h === '::1';
  return loop(x) && loop(y);
}

/** The listening socket of an FPM `listen` value (`/run/php.sock`, `127.0.0.1:9000`, `9000`, `[::]:9000`). */
export function findListenSocket(sockets: readonly ListenSocket[], listen: string): ListenSocket | undefined {
  const l = listen.trim().replace(/^unix:/, '');
  const listening = sockets.filter((s) => s.state === 'LISTEN' || s.state === 'UNCONN');
  if (l.startsWith('/') || l.startsWith('@')) {
    const path = l.replace(/\/+/g, '/');
    return listening.find((s) => s.local.replace(/\/+/g, '/') === path);
  }
  const want = splitHostPort(l);
  if (!want) return undefined;
  const candidates = listening.filter((s) => {
    if (s.local.startsWith('/') || s.local.startsWith('@')) return false;
    const got = splitHostPort(s.local);
    return got !== undefined && got.port === want.port && sameHost(got.host, want.host);
  });
  // An exact address beats a wildcard one (FPM on 127.0.0.1:9000 next to something on *:9000 elsewhere).
  const exact = candidates.find((s) => splitHostPort(s.local)!.host === want.host);
  return exact ?? candidates[0];
}

// ---------------------------------------------------------------------------------------------
// fact lines of the discovery scripts

/** `badgateway: KEY VALUE` lines (stderr of nginx.config / fpm.config), values by key in order. */
export function parseFacts(stderr: string): Map<string, string[]> {
  const facts = new Map<string, string[]>();
  for (const line of (stderr ?? '').split('\n')) {
    const m = /^badgateway: ([a-z-]+)(?: (.*))?$/.exec(line.trimEnd());
    if (!m) continue;
    const list = facts.get(m[1]!) ?? [];
    list.push(m[2] ?? '');
    facts.set(m[1]!, list);
  }
  return facts;
}

/** Non-fact stderr lines: what the command (or sudo) itself complained about. */
export function complaintLines(stderr: string): string[] {
  return (stderr ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('badgateway: '));
}

/** The systemd unit a process runs in, from /proc/PID/cgroup lines (`0::/system.slice/php8.2-fpm.service`). */
export function systemdUnit(cgroupLines: readonly string[]): string | undefined {
  for (const line of cgroupLines) {
    const m = /\/([A-Za-z0-9@._-]+)\.service(?:\/|$)/.exec(line.trim());
    if (m) return m[1];
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// fpm.identity

/** A PHP-FPM master as fpm.identity printed it. */
export interface FpmMasterIdentity {
  pid: number;
  ppid: number | null;
  uid: number | null;
  /** /proc/PID/stat starttime (clock ticks since boot): with the pid it names one process for good. */
  startTicks: number | null;
  /** When it started (epoch ms, from the host's boot time), when the host said. */
  startedAt: number | null;
  title: string;
  conf?: string;
  /** The `pid =` file of its config and the pid written in it (null: missing or unreadable). */
  pidFile?: { path: string; names: number | null };
}

export interface FpmSocketOwner {
  /** Socket path (unix) or `address:port` (tcp). */
  local: string;
  inode: number | null;
  pids: number[];
}

export interface FpmIdentityReport {
  masters: FpmMasterIdentity[];
  workers: Array<{ pid: number; ppid: number; pool: string }>;
  sockets: FpmSocketOwner[];
}

const int = (text: string | undefined): number | null => (text !== undefined && /^\d+$/.test(text) ? Number(text) : null);

/** Parses fpm.identity's lines (`now`, `master`, `pidfile`, `worker`, `socket`); unknown lines are skipped. */
export function parseFpmIdentity(text: string): FpmIdentityReport {
  const report: FpmIdentityReport = { masters: [], workers: [], sockets: [] };
  let boot: number | null = null;
  let hz = 100;
  const pidFiles = new Map<number, { path: string; names: number | null }>();
  for (const raw of (typeof text === 'string' ? text : '').split('\n')) {
    const line = raw.trimEnd();
    const [kind, ...words] = line.split(/\s+/);
    if (kind === 'now') {
      boot = int(words[1]);
      hz = int(words[2]) || 100;
    } else if (kind === 'master' && words.length >= 5) {
      const pid = int(words[0]);
      if (pid === null) continue;
      const title = line.replace(/^master\s+(\S+\s+){4}/, '');
      const parsed = parseFpmMasterTitle(pid, title);
      const startTicks = int(words[3]);
      report.masters.push({
        pid,
        ppid: int(words[1]),
        uid: int(words[2]),
        startTicks,
        startedAt: boot !== null && startTicks !== null ? Math.round((boot + startTicks / hz) * 1000) : null,
        title: title.trim(),
        ...(parsed?.conf ? { conf: parsed.conf } : {}),
      });
    } else if (kind === 'pidfile' && words.length >= 3) {
      const pid = int(words[0]);
      const path = line.replace(/^pidfile\s+\S+\s+\S+\s+/, '');
      if (pid !== null && path !== '-') pidFiles.set(pid, { path, names: int(words[1]) });
    } else if (kind === 'worker' && words.length >= 3) {
      const pid = int(words[0]);
      const ppid = int(words[1]);
      if (pid !== null && ppid !== null) report.workers.push({ pid, ppid, pool: words.slice(2).join(' ') });
    } else if (kind === 'socket') {
      const socket = parseSocketOwner(line.slice('socket '.length));
      if (socket) report.sockets.push(socket);
    }
  }
  for (const master of report.masters) {
    const pidFile = pidFiles.get(master.pid);
    if (pidFile) master.pidFile = pidFile;
  }
  return report;
}

/** One `ss -Hlnpe -x -t` line: unix `u_str LISTEN 0 511 PATH INODE * 0 users:(…)`, tcp `tcp LISTEN 0 511 ADDR PEER users:(…) ino:N …`. */
function parseSocketOwner(line: string): FpmSocketOwner | null {
  const pids = [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
  const unix = /^u_\w+\s+\S+\s+\d+\s+\d+\s+(.+?)\s+(\d+)\s+\*\s+\d+(?:\s|$)/.exec(line.trim());
  if (unix) return { local: unix[1]!, inode: Number(unix[2]), pids };
  const tcp = /^tcp\s+\S+\s+\d+\s+\d+\s+(\S+)\s+\S+/.exec(line.trim());
  if (tcp) return { local: tcp[1]!, inode: int(/\bino:(\d+)/.exec(line)?.[1]), pids };
  return null;
}
