/**
 * Host discovery: learns where a host keeps its evidence from its own effective configuration, so
 * triage needs no per-host paths. It reads the process table, finds the nginx and PHP-FPM masters that
 * actually run, and dumps THEIR configuration (`nginx -T` / `php-fpm -tt` with each master's binary and
 * config, through fixed catalog scripts whose only input is a pid). `php-fpm -tt` runs with `-F -O` so
 * its ~60-line dump is not appended to the live FPM log (test/lab/FINDINGS.md #4).
 *
 * Several instances on one host (lab runs, php7.4-fpm next to php8.2-fpm): the nginx master whose
 * prefix/config directory holds a configured log (sources.accessLog, …) wins, else the first; the FPM
 * master is the one with a pool nginx's PHP location actually passes to.
 */
import { posix } from 'node:path';
import type { Catalog } from '../catalog/index.js';
import type { Host, Sources } from '../config/index.js';
import { sourcesSchema } from '../config/schema.js';
import type { ExecResult, Executor } from '../exec/index.js';
import { logFormatSpec } from '../analyze/access/index.js';
import { untilAborted } from '../exec/abort.js';
import { ExecError } from '../errors.js';
import {
  nginxListen,
  parseFpmTT,
  parseNginxT,
  phpRoutes,
  targetReachesListen,
  type FpmConfig,
  type FpmPoolConfig,
  type NginxAccessLog,
  type NginxConfig,
  type NginxErrorLog,
  type NginxLocation,
  type NginxServer,
  type PhpRoute,
} from '../analyze/config/index.js';
import {
  complaintLines,
  fpmMasters,
  nginxMasters,
  parseFacts,
  parseNginxMasterTitle,
  parseFpmMasterTitle,
  parsePs,
  systemdUnit,
  type FpmMasterProcess,
  type NginxMasterProcess,
  type ProcessRow,
} from './host-parse.js';

export interface DiscoveryContext {
  executor: Executor;
  catalog: Catalog;
  host: Host;
  signal?: AbortSignal;
}

export type DiscoverableSource = 'accessLog' | 'errorLog' | 'fpmLog' | 'slowLog' | 'fpmStatusUrl';

export interface DiscoveredNginxMaster {
  pid: number;
  title: string;
  binary?: string;
  prefix?: string;
  conf?: string;
}

export interface DiscoveredFpmMaster {
  pid: number;
  title: string;
  binary?: string;
  conf?: string;
}

export interface Discovery {
  host: string;
  /** Epoch ms when it was taken. */
  at: number;
  /** What the host's own config says; badgateway.yaml still wins (see effectiveSources). */
  sources: Sources;
  nginx?: NginxConfig;
  fpm?: FpmConfig;
  /** Raw dumps, for the report. */
  nginxText?: string;
  fpmText?: string;
  /** The FPM pool nginx's PHP location passes to. */
  pool?: string;
  /** The masters whose configuration was read (absent when none runs). */
  nginxMaster?: DiscoveredNginxMaster;
  fpmMaster?: DiscoveredFpmMaster;
  /** The nginx / PHP-FPM binary found on the host, running or not (absent: none installed where looked). */
  nginxBinary?: string;
  fpmBinary?: string;
  /**
   * Whether any nginx / PHP-FPM master runs, whoever runs it: false only when the discovery script said
   * so and the process table shows none either; true when unknown (e.g. the script could not run).
   */
  running?: { nginx: boolean; fpm: boolean };
  /** For the responder: what could not be read or decided, one line each. */
  problems: string[];
  /** Sources left undetermined, and why. */
  missing: Array<{ source: DiscoverableSource; why: string }>;
  /**
   * The masters whose config was read, with their start times (bot clock, from ps's age), and where
   * nginx or PHP-FPM was not found, every master then running: a cached discovery holds only while the
   * same ones run (a stopped or restarted master, or one started where none ran, means rediscovery).
   * Absent when ps failed.
   */
  masters?: { read: MasterIdentity[]; all?: MasterIdentity[] };
}

/** A master process by pid and start: a restart gives a new start time even where the pid comes back. */
export interface MasterIdentity {
  pid: number;
  /** Epoch ms, within ps's one-second resolution. */
  startedAt: number;
}

/** The nginx and PHP-FPM masters of a process table (or those of `only`), by pid. */
export function masterIdentities(rows: readonly ProcessRow[], now: number, only?: ReadonlySet<number>): MasterIdentity[] {
  const pids = only ?? new Set([...nginxMasters(rows), ...fpmMasters(rows)].map((m) => m.pid));
  return rows
    .filter((r) => pids.has(r.pid) && r.ageSeconds !== null)
    .map((r) => ({ pid: r.pid, startedAt: now - r.ageSeconds! * 1000 }))
    .sort((a, b) => a.pid - b.pid);
}

function identityOf(rows: readonly ProcessRow[], read: ReadonlyArray<number | undefined>): NonNullable<Discovery['masters']> {
  const now = Date.now();
  const pids = new Set(read.filter((p): p is number => p !== undefined));
  return { read: masterIdentities(rows, now, pids), ...(pids.size < read.length ? { all: masterIdentities(rows, now) } : {}) };
}

/** The same masters (pid and start, give or take ps's rounding and the time between two looks). */
export function sameMasters(a: readonly MasterIdentity[], b: readonly MasterIdentity[]): boolean {
  return a.length === b.length && a.every((m, i) => m.pid === b[i]!.pid && Math.abs(m.startedAt - b[i]!.startedAt) <= 2500);
}

/** FPM masters tried at most when looking for the one nginx passes to. */
const MAX_FPM_CANDIDATES = 6;

// ---------------------------------------------------------------------------------------------
// running catalog commands

export interface CommandOutcome {
  ok: boolean;
  /** Absent when the command is not in the catalog (a custom catalog folder without it). */
  result?: ExecResult;
  stdout: string;
  stderr: string;
  why: string;
}

/**
 * Runs one catalog command on ctx.host (or the given host, e.g. with discovered sources). A command that
 * ran and failed, or that the catalog lacks, is an outcome with `why`; only connection-level failures
 * (unreachable host, refused key, cancel) throw.
 */
export async function runCommand(
  ctx: DiscoveryContext,
  id: string,
  params: Record<string, string | number> = {},
  host: Host = ctx.host,
): Promise<CommandOutcome> {
  if (!ctx.catalog.get(id)) {
    return { ok: false, stdout: '', stderr: '', why: `${id} is not in the command catalog (a custom catalog folder needs the shipped commands/*.yaml entries)` };
  }
  const rendered = ctx.catalog.render(id, host, params);
  const result = await ctx.executor.run(host, rendered, ctx.signal ? { signal: ctx.signal } : {});
  const stdout = result.stdout.toString('utf8');
  const ok = result.code === 0 && !result.timedOut && !result.truncated;
  return { ok, result, stdout, stderr: result.stderr, why: ok ? '' : failureReason(result, stdout) };
}

/** One line saying why a command failed: sudo's or the tool's own complaint when there is one. */
export function failureReason(result: ExecResult, stdout = result.stdout.toString('utf8')): string {
  if (result.timedOut) return `no answer within ${Math.round(result.durationMs / 1000)} s`;
  if (result.truncated) return 'output larger than the command allows';
  // A login shell may print its own noise first (profile scripts, motd); the command's words come last.
  const complaints = complaintLines(result.stderr);
  const complaint =
    complaints.findLast((l) => /^(sudo|curl|nginx|php-fpm[\w.]*|ss|ps|dmesg|cat|nproc|sh|bash|dash|timeout|process \d+)\b/.test(l)) ??
    complaints[complaints.length - 1];
  if (complaint) return complaint.slice(0, 300);
  const tool = stdout
    .split('\n')
    .map((l) => l.trim())
    .find((l) => /\[(emerg|alert|crit|error)\]|\b(ERROR|ALERT):|failed|not found|No such file|Permission denied/.test(l));
  if (tool) return tool.slice(0, 300);
  return result.code === null ? `stopped by ${result.signal ?? 'a signal'}` : `exit code ${result.code}`;
}

// ---------------------------------------------------------------------------------------------
// choosing the instance

function dirsOf(paths: Array<string | undefined>): string[] {
  return paths.filter((p): p is string => typeof p === 'string' && p.startsWith('/')).map((p) => posix.dirname(p));
}

function under(dir: string, root: string | undefined): boolean {
  if (root === undefined || !root.startsWith('/')) return false;
  const r = posix.normalize(root).replace(/\/+$/, '');
  const d = posix.normalize(dir).replace(/\/+$/, '');
  return r !== '' && (d === r || d.startsWith(`${r}/`));
}

/** Directories of the log paths configured for the host: they pin which instance is meant. */
export function hintDirs(sources: Sources): string[] {
  return dirsOf([sources.accessLog, sources.errorLog, sources.fpmLog, sources.slowLog]);
}

function holdsDir(m: NginxMasterProcess, dir: string): boolean {
  return under(dir, m.prefix) || under(dir, m.conf !== undefined ? posix.dirname(m.conf) : undefined);
}

/** nginx masters, the ones whose prefix or config directory holds a hinted directory first (stable). */
export function orderNginxMasters(masters: readonly NginxMasterProcess[], hints: readonly string[]): NginxMasterProcess[] {
  const score = (m: NginxMasterProcess) => (hints.some((h) => holdsDir(m, h)) ? 0 : 1);
  return [...masters].sort((a, b) => score(a) - score(b));
}

export function orderFpmMasters(masters: readonly FpmMasterProcess[], hints: readonly string[]): FpmMasterProcess[] {
  const score = (m: FpmMasterProcess) => (hints.some((h) => under(h, m.conf !== undefined ? posix.dirname(m.conf) : undefined)) ? 0 : 1);
  return [...masters].sort((a, b) => score(a) - score(b));
}

// ---------------------------------------------------------------------------------------------
// reading the configs

interface NginxRead {
  text?: string;
  config?: NginxConfig;
  facts: Map<string, string[]>;
  master?: DiscoveredNginxMaster;
  binary?: string;
}

async function readNginx(ctx: DiscoveryContext, pid: number, problems: string[]): Promise<NginxRead> {
  const run = await runCommand(ctx, 'nginx.config', { pid });
  if (!run.ok && pid !== 0 && /is not a running nginx master/.test(run.stderr)) {
    // Gone between ps and now (a restart): another master would be another server's, so none is read.
    problems.push(`nginx master ${pid} stopped while it was being read (a restart?): triage again`);
    return { facts: new Map() };
  }
  const facts = parseFacts(run.stderr);
  const read: NginxRead = { facts };
  // The script names `nginx` even when it found none; then running it fails with 127 (not found).
  const binary = facts.get('binary')?.[0];
  if (binary && run.result && run.result.code !== 127) read.binary = binary;
  const masterLine = facts.get('master')?.[0];
  if (masterLine !== undefined) {
    const m = /^(\d+) (.*)$/.exec(masterLine);
    const parsed = m ? parseNginxMasterTitle(Number(m[1]), m[2]!) : null;
    if (parsed) {
      read.master = { pid: parsed.pid, title: parsed.title };
      const binary = facts.get('binary')?.[0];
      if (binary) read.master.binary = binary;
      const prefix = facts.get('prefix')?.[0] || parsed.prefix;
      if (prefix) read.master.prefix = prefix;
      const conf = facts.get('conf')?.[0] || parsed.conf;
      if (conf) read.master.conf = conf;
    }
  } else if (facts.has('no-master')) {
    problems.push('no running nginx master found; read the default nginx configuration (nginx -T) instead');
  }
  for (const u of untrusted(facts)) problems.push(`nginx master ${u.pid} runs as uid ${u.uid}, not root: its configuration is not read with root rights`);
  if (!run.ok) {
    problems.push(`nginx -T failed: ${run.why}`);
    if (run.stdout.includes('# configuration file')) {
      read.text = run.stdout;
      read.config = parseNginxT(run.stdout);
    }
    return read;
  }
  read.text = run.stdout;
  read.config = parseNginxT(run.stdout);
  if (read.config.testOk === false) {
    problems.push(`nginx -T says the configuration test failed: ${read.config.messages[0] ?? 'see the dump'}`);
  }
  return read;
}

interface FpmRead {
  ok: boolean;
  text?: string;
  config?: FpmConfig;
  facts: Map<string, string[]>;
  master?: DiscoveredFpmMaster;
  binary?: string;
  problems: string[];
}

async function readFpm(ctx: DiscoveryContext, pid: number): Promise<FpmRead> {
  const run = await runCommand(ctx, 'fpm.config', { pid });
  if (!run.ok && pid !== 0 && /is not a running PHP-FPM master/.test(run.stderr)) {
    return { ok: false, facts: new Map(), problems: [`PHP-FPM master ${pid} stopped while it was being read (a restart?): triage again`] };
  }
  const facts = parseFacts(run.stderr);
  const read: FpmRead = { ok: run.ok, facts, problems: [] };
  const binary = facts.get('binary')?.[0];
  if (binary) read.binary = binary;
  const masterLine = facts.get('master')?.[0];
  if (masterLine !== undefined) {
    const m = /^(\d+) (.*)$/.exec(masterLine);
    const parsed = m ? parseFpmMasterTitle(Number(m[1]), m[2]!) : null;
    if (parsed) {
      read.master = { pid: parsed.pid, title: parsed.title };
      const binary = facts.get('binary')?.[0];
      if (binary) read.master.binary = binary;
      const conf = facts.get('conf')?.[0] || parsed.conf;
      if (conf) read.master.conf = conf;
    }
  } else if (facts.has('no-master')) {
    const binary = facts.get('binary')?.[0];
    read.problems.push(`no running PHP-FPM master found; read the default configuration${binary ? ` of ${binary}` : ''} instead`);
  }
  for (const u of untrusted(facts)) read.problems.push(`PHP-FPM master ${u.pid} runs as uid ${u.uid}, not root: its configuration is not read with root rights`);
  if (facts.has('no-force-stderr')) {
    read.problems.push(
      'php-fpm has no --force-stderr (-O), so -tt would write its dump into the live FPM log: read the config files instead (FPM defaults filled in by badgateway, includes outside the main file may be missing)',
    );
  }
  if (!run.ok) {
    read.problems.push(`php-fpm -tt failed: ${run.why}`);
    if (run.stdout.trim() !== '') {
      read.text = run.stdout;
      read.config = parseFpmTT(run.stdout);
    }
    return read;
  }
  read.text = run.stdout;
  read.config = parseFpmTT(run.stdout);
  if (read.config.testOk === false) {
    read.problems.push(`php-fpm -tt says the configuration test failed: ${read.config.messages[0] ?? 'see the dump'}`);
  }
  return read;
}

function untrusted(facts: Map<string, string[]>): Array<{ pid: string; uid: string }> {
  return (facts.get('untrusted') ?? []).flatMap((v) => {
    const m = /^(\d+):(\d+)$/.exec(v);
    return m ? [{ pid: m[1]!, uid: m[2]! }] : [];
  });
}

/**
 * Why the PHP-FPM master read is not the one this site's nginx passes PHP to, or null when it is (or
 * nginx passes to an address this host cannot tell: a variable, another machine).
 */
function unreachedFpm(nginx: NginxConfig, fpm: FpmConfig): string | null {
  const routes = phpRoutes(nginx, fpm);
  if (routes.length === 0 || routes.some((r) => r.pools.length > 0 || !r.resolvable)) return null;
  const targets = [...new Set(routes.map((r) => r.fastcgiPass))].join(', ');
  return `no running PHP-FPM master serves what nginx passes PHP to (${targets}): PHP-FPM looks down for this site, so its log, slow log and status page were not read from another pool.`;
}

function reachesPool(nginx: NginxConfig | undefined, fpm: FpmConfig | undefined): boolean {
  if (!nginx || !fpm) return false;
  return phpRoutes(nginx, fpm).some((r) => r.pools.length > 0);
}

// ---------------------------------------------------------------------------------------------
// discovery

/** Reads the host's effective nginx and PHP-FPM configuration and derives its evidence sources. */
export async function discoverHost(ctx: DiscoveryContext): Promise<Discovery> {
  const problems: string[] = [];
  let rows: ProcessRow[] | undefined;
  const ps = await runCommand(ctx, 'host.processes');
  if (ps.ok) rows = parsePs(ps.stdout);
  else problems.push(`cannot list processes (ps): ${ps.why}; nothing was discovered, so only the sources set in badgateway.yaml are read`);

  // Only masters root (or the login user) runs are read: the scripts run their binary and config with
  // root rights, which a process title anyone can set must not choose.
  const trusted = rows?.filter((r) => r.user === 'root' || r.user === '0' || r.user === ctx.host.ssh.user);
  const hints = hintDirs(ctx.host.sources);
  const nginxCandidates = orderNginxMasters(trusted ? nginxMasters(trusted) : [], hints);
  // Several masters and nothing configured ties one to this host: reading any would be another server's evidence.
  const nginxTied = nginxCandidates.length <= 1 || hints.some((h) => holdsDir(nginxCandidates[0]!, h));
  const nginxPick = nginxTied ? nginxCandidates[0] : undefined;
  if (nginxCandidates.length > 1) {
    const pids = nginxCandidates.map((m) => m.pid).join(', ');
    problems.push(
      nginxTied
        ? `${nginxCandidates.length} nginx masters run (pids ${pids}); read pid ${nginxPick!.pid}, whose directory holds the configured logs`
        : `${nginxCandidates.length} nginx masters run (pids ${pids}) and no configured source ties one to this host: none was read; set sources.accessLog (inside the right one's prefix) in badgateway.yaml`,
    );
  }
  const fpmHints = [...hints, ...dirsOf([nginxPick?.conf]), ...(nginxPick?.prefix ? [nginxPick.prefix.replace(/\/+$/, '') || '/'] : [])];
  const fpmCandidates = orderFpmMasters(trusted ? fpmMasters(trusted) : [], fpmHints);
  // Without a tied nginx, a PHP-FPM master is this site's only when it is the only one.
  const fpmUsable = nginxPick !== undefined || fpmCandidates.length <= 1 ? fpmCandidates : [];
  if (!nginxPick && fpmCandidates.length > 1) problems.push(`${fpmCandidates.length} PHP-FPM masters run and no nginx configuration says which pool this site uses: none was read`);

  // pid 0 reads the default configuration, for a host where none runs; never where one could not be chosen.
  const nothingRuns = rows !== undefined && nginxCandidates.length === 0;
  const [nginxRead, firstFpm] = await Promise.all([
    nginxPick || nothingRuns ? readNginx(ctx, nginxPick?.pid ?? 0, problems) : Promise.resolve<NginxRead>({ facts: new Map() }),
    fpmUsable[0] || (rows !== undefined && fpmCandidates.length === 0) ? readFpm(ctx, fpmUsable[0]?.pid ?? 0) : Promise.resolve<FpmRead>({ ok: false, facts: new Map(), problems: [] }),
  ]);

  // Several FPM masters: keep the one with a pool nginx passes PHP to.
  let fpmRead = firstFpm;
  if (nginxRead.config && fpmUsable.length > 1 && !reachesPool(nginxRead.config, fpmRead.config)) {
    for (const candidate of fpmUsable.slice(1, MAX_FPM_CANDIDATES)) {
      const next = await readFpm(ctx, candidate.pid);
      if (reachesPool(nginxRead.config, next.config)) {
        fpmRead = next;
        break;
      }
    }
  }
  problems.push(...fpmRead.problems);
  const unreached = nginxRead.config && fpmRead.config ? unreachedFpm(nginxRead.config, fpmRead.config) : null;
  if (unreached) {
    // Another site's master would answer for a pool that is down here: its log and status are not this site's.
    problems.push(unreached);
    fpmRead = { ok: false, facts: fpmRead.facts, problems: [] };
  }

  const derived = deriveSources({
    ...(nginxRead.config ? { nginx: nginxRead.config } : {}),
    ...(fpmRead.config ? { fpm: fpmRead.config } : {}),
    nginxFacts: nginxRead.facts,
    fpmFacts: fpmRead.facts,
    ...(nginxRead.master ? { nginxMaster: nginxRead.master } : {}),
  });
  problems.push(...derived.problems);
  if (unreached) {
    for (const m of derived.missing) if (m.source === 'fpmLog' || m.source === 'slowLog' || m.source === 'fpmStatusUrl') m.why = 'no running PHP-FPM master serves the pool nginx passes PHP to';
  }

  const runs = (facts: Map<string, string[]>, seen: number | undefined) => !facts.has('no-master') || facts.has('untrusted') || (seen ?? 0) > 0;
  const discovery: Discovery = {
    ...(rows ? { masters: identityOf(rows, [nginxRead.master?.pid, fpmRead.master?.pid]) } : {}),
    host: ctx.host.name,
    at: Date.now(),
    sources: derived.sources,
    problems,
    missing: derived.missing,
    running: {
      nginx: runs(nginxRead.facts, rows && nginxMasters(rows).length),
      fpm: runs(fpmRead.facts, rows && fpmMasters(rows).length),
    },
  };
  if (nginxRead.config) discovery.nginx = nginxRead.config;
  if (nginxRead.text !== undefined) discovery.nginxText = nginxRead.text;
  if (fpmRead.config) discovery.fpm = fpmRead.config;
  if (fpmRead.text !== undefined) discovery.fpmText = fpmRead.text;
  if (derived.pool !== undefined) discovery.pool = derived.pool;
  if (nginxRead.master) discovery.nginxMaster = nginxRead.master;
  if (fpmRead.master) discovery.fpmMaster = fpmRead.master;
  if (nginxRead.binary) discovery.nginxBinary = nginxRead.binary;
  if (fpmRead.binary) discovery.fpmBinary = fpmRead.binary;
  return discovery;
}

// ---------------------------------------------------------------------------------------------
// deriving the sources (pure)

export interface DeriveInput {
  nginx?: NginxConfig;
  fpm?: FpmConfig;
  /** `badgateway: KEY VALUE` facts printed by nginx.config (prefix, conf-path, error-log-path, …). */
  nginxFacts?: Map<string, string[]>;
  /** Facts printed by fpm.config (cgroup, binary, …). */
  fpmFacts?: Map<string, string[]>;
  nginxMaster?: DiscoveredNginxMaster;
}

export interface Derived {
  sources: Sources;
  pool?: string;
  problems: string[];
  missing: Discovery['missing'];
}

interface PhpSite {
  server: NginxServer;
  location: NginxLocation;
  route: PhpRoute;
}

/** Every fastcgi_pass location paired with its route (phpRoutes walks servers and locations in the same order). */
function phpSites(nginx: NginxConfig, fpm: FpmConfig | undefined): PhpSite[] {
  const routes = phpRoutes(nginx, fpm);
  const sites: PhpSite[] = [];
  let i = 0;
  for (const server of nginx.servers) {
    for (const location of server.locations) {
      if (location.fastcgiPass === undefined) continue;
      const route = routes[i++];
      if (route && route.location === location.label) sites.push({ server, location, route });
    }
  }
  return sites;
}

function looksLikePhp(location: NginxLocation): boolean {
  return /php/i.test(location.path) || location.path === '/' || location.modifier === '@';
}

/** The site responders mean by "PHP": a PHP-looking location that reaches a local pool, a primary one first. */
function choosePhpSite(sites: PhpSite[]): PhpSite | undefined {
  const rank = (s: PhpSite) =>
    (s.route.pools.length > 0 ? 0 : 4) +
    (s.route.pools.some((p) => !s.route.backupOnlyPools.includes(p)) ? 0 : 1) +
    (looksLikePhp(s.location) ? 0 : 2);
  return [...sites].sort((a, b) => rank(a) - rank(b))[0];
}

function resolveAgainst(path: string, base: string | undefined): string | undefined {
  if (path.startsWith('/')) return posix.normalize(path);
  if (base === undefined || !base.startsWith('/')) return undefined;
  return posix.join(base, path);
}

function unusableLogPath(path: string): string | undefined {
  if (path.startsWith('syslog:')) return 'goes to syslog';
  if (path === 'stderr' || path === '/dev/stderr' || path === '/dev/stdout' || path.startsWith('/proc/self/fd/')) return 'goes to the process output (container log)';
  if (path === '/dev/null') return 'goes to /dev/null';
  if (path.includes('$')) return 'has variables in its path';
  return undefined;
}

/** nginx's location choice for a URI among a server's top-level locations (exact, ^~ prefix, regex, prefix). */
export function selectLocation(server: NginxServer, uri: string): NginxLocation | undefined {
  const top = server.locations.filter((l) => l.parent === undefined && l.modifier !== '@');
  const exact = top.find((l) => l.modifier === '=' && l.path === uri);
  if (exact) return exact;
  let longest: NginxLocation | undefined;
  for (const l of top) {
    if ((l.modifier === '' || l.modifier === '^~') && uri.startsWith(l.path) && (!longest || l.path.length > longest.path.length)) longest = l;
  }
  if (longest?.modifier === '^~') return longest;
  for (const l of top) {
    if (l.modifier !== '~' && l.modifier !== '~*') continue;
    try {
      if (new RegExp(l.path, l.modifier === '~*' ? 'i' : '').test(uri)) return l;
    } catch {
      // PCRE syntax JS does not know: nginx would know; skip it rather than guess.
    }
  }
  return longest;
}

/** Where a location passes to, group names expanded to their live servers. */
function passTargets(nginx: NginxConfig, pass: string): string[] {
  const group = nginx.upstreams.find((u) => u.context === 'http' && u.name === pass);
  return group ? group.servers.filter((s) => !s.down).map((s) => s.address) : [pass];
}

function serverListens(server: NginxServer): string[] {
  return server.listen.length > 0 ? server.listen : ['80'];
}

/** A URL on this host that reaches one of the server's listen sockets over plain HTTP. */
function localUrl(server: NginxServer, path: string): string | undefined {
  const usable = serverListens(server)
    .map(nginxListen)
    .filter((e): e is { host: string; port: number } => e !== undefined);
  // `listen 443 ssl` shows up as 443 only: plain HTTP cannot talk to it, so any other port is better;
  // IPv4 before IPv6.
  usable.sort((a, b) => Number(a.port === 443) - Number(b.port === 443) || Number(a.host.includes(':')) - Number(b.host.includes(':')));
  const e = usable[0];
  if (!e) return undefined;
  let host: string;
  if (e.host === '*' || e.host === '0.0.0.0' || e.host === 'localhost') host = '127.0.0.1';
  else if (e.host === '::' || e.host === '::1') host = '[::1]';
  else host = e.host.includes(':') ? `[${e.host}]` : e.host;
  const scheme = e.port === 443 ? 'https' : 'http';
  const port = (scheme === 'http' && e.port === 80) || (scheme === 'https' && e.port === 443) ? '' : `:${e.port}`;
  return `${scheme}://${host}${port}${path}`;
}

function portOf(listen: string): string {
  const e = nginxListen(listen);
  return e ? String(e.port) : listen;
}

/** Derives Sources from parsed configs; pure, so fixtures can test it. */
export function deriveSources(input: DeriveInput): Derived {
  const { nginx, fpm } = input;
  const nf = input.nginxFacts ?? new Map<string, string[]>();
  const ff = input.fpmFacts ?? new Map<string, string[]>();
  const sources: Sources = {};
  const problems: string[] = [];
  const missing: Discovery['missing'] = [];
  const prefix = input.nginxMaster?.prefix ?? nf.get('prefix')?.[0] ?? undefined;

  // -- the PHP site and its pool
  const sites = nginx ? phpSites(nginx, fpm) : [];
  const site = choosePhpSite(sites);
  let pool: FpmPoolConfig | undefined;
  if (site) {
    const name = site.route.pools.find((p) => !site.route.backupOnlyPools.includes(p)) ?? site.route.pools[0];
    pool = name !== undefined ? fpm?.pools.find((p) => p.name === name) : undefined;
    if (!pool && fpm) {
      const listens = fpm.pools.map((p) => `${p.name} on ${p.listen ?? '?'}`).join(', ') || 'none';
      problems.push(`nginx passes PHP (${site.location.label}) to ${site.location.fastcgiPass}, where no PHP-FPM pool of the FPM config read listens (pools: ${listens})`);
    }
  } else if (nginx) {
    problems.push('nginx passes no location to PHP-FPM (no fastcgi_pass in its configuration)');
  }
  if (!pool && fpm && fpm.pools.length === 1 && !site) pool = fpm.pools[0];

  // -- access log of the PHP site: location, then server, then http level
  if (nginx) {
    const chain = site ? [site.location.label, site.server.label, 'http'] : [nginx.servers[0]?.label, 'http'].filter((c): c is string => c !== undefined);
    let chosen: NginxAccessLog | undefined;
    let skipped: string | undefined;
    for (const context of chain) {
      const logs = nginx.accessLogs.filter((l) => l.context === context);
      if (logs.length === 0) continue;
      const usable = logs.filter((l) => unusableLogPath(l.path) === undefined);
      chosen = usable.find((l) => l.condition === undefined) ?? usable[0];
      if (!chosen) skipped = `the access_log of ${context} ${unusableLogPath(logs[0]!.path)} (${logs[0]!.path})`;
      break; // a level that declares access_log replaces the outer ones
    }
    const anyAccessLog = nginx.accessLogs.length > 0;
    if (chosen) {
      const path = resolveAgainst(chosen.path, prefix);
      if (path) {
        sources.accessLog = path;
        const format = nginx.logFormats[chosen.format];
        if (format) sources.logFormat = logFormatSpec(format.format, format.escape);
        else problems.push(`access log ${chosen.path} uses log_format "${chosen.format}", which the configuration does not define`);
        if (chosen.condition !== undefined) problems.push(`access log ${path} is written only when ${chosen.condition} is true: counts may be low`);
      } else {
        missing.push({ source: 'accessLog', why: `access_log ${chosen.path} is relative and nginx's prefix is unknown` });
      }
    } else if (skipped) {
      missing.push({ source: 'accessLog', why: skipped });
    } else if (!anyAccessLog && nf.get('http-log-path')?.[0]) {
      const path = resolveAgainst(nf.get('http-log-path')![0]!, prefix);
      if (path) {
        sources.accessLog = path;
        sources.logFormat = logFormatSpec(nginx.logFormats.combined!.format, 'default');
      }
    }
    if (!sources.accessLog && !missing.some((m) => m.source === 'accessLog')) {
      missing.push({ source: 'accessLog', why: site ? `no access_log applies to ${site.server.label}` : 'no access_log in the nginx configuration' });
    }

    // -- error log: location, server, http, main; then `-e` of the master, then the build default
    const errorChain = [...(site ? [site.location.label, site.server.label] : []), 'http', 'main'];
    let errorLog: NginxErrorLog | undefined;
    let errorSkipped: string | undefined;
    for (const context of errorChain) {
      const logs = nginx.errorLogs.filter((l) => l.context === context);
      if (logs.length === 0) continue;
      errorLog = logs.find((l) => unusableLogPath(l.path) === undefined);
      if (!errorLog) errorSkipped = `the error_log of ${context} ${unusableLogPath(logs[0]!.path)} (${logs[0]!.path})`;
      break;
    }
    let errorPath = errorLog?.path;
    if (!errorLog && !errorSkipped) {
      const fallback = nf.get('error-log-option')?.[0] ?? nf.get('error-log-path')?.[0];
      if (fallback !== undefined) {
        if (unusableLogPath(fallback) === undefined) errorPath = fallback;
        else errorSkipped = `nginx's default error log ${unusableLogPath(fallback)} (${fallback})`;
      }
    }
    if (errorPath !== undefined) {
      const path = resolveAgainst(errorPath, prefix);
      if (path) sources.errorLog = path;
      else missing.push({ source: 'errorLog', why: `error_log ${errorPath} is relative and nginx's prefix is unknown` });
    } else {
      missing.push({ source: 'errorLog', why: errorSkipped ?? 'no error_log in the nginx configuration' });
    }
  } else {
    missing.push({ source: 'accessLog', why: 'the nginx configuration could not be read' });
    missing.push({ source: 'errorLog', why: 'the nginx configuration could not be read' });
  }

  // -- FPM log
  if (fpm) {
    const errorLog = fpm.global.errorLog;
    if (errorLog === undefined) missing.push({ source: 'fpmLog', why: 'the FPM configuration names no error_log' });
    else if (errorLog === 'syslog' || errorLog.startsWith('syslog')) missing.push({ source: 'fpmLog', why: 'PHP-FPM logs to syslog (error_log = syslog)' });
    else if (unusableLogPath(errorLog)) missing.push({ source: 'fpmLog', why: `PHP-FPM's error_log ${unusableLogPath(errorLog)} (${errorLog})` });
    else {
      // -tt prints it resolved; raw ini files may not: FPM resolves a relative error_log against its
      // prefix, else its localstatedir (/var on Debian and RHEL packages).
      const path = resolveAgainst(errorLog, fpm.global.settings.prefix ?? '/var');
      if (path) sources.fpmLog = path;
    }
  } else {
    missing.push({ source: 'fpmLog', why: 'the PHP-FPM configuration could not be read' });
  }

  // -- slow log and status URL of the pool
  if (pool) {
    const timeout = pool.requestSlowlogTimeout ?? 0;
    if (timeout <= 0) missing.push({ source: 'slowLog', why: `request_slowlog_timeout is 0 in pool ${pool.name}: FPM writes no slow log` });
    else if (pool.slowlog === undefined) missing.push({ source: 'slowLog', why: `pool ${pool.name} sets no slowlog path` });
    else {
      const path = resolveAgainst(pool.slowlog.replace(/\$pool/g, pool.name), pool.settings.prefix ?? '/usr');
      if (path) sources.slowLog = path;
    }
    const statusPath = pool.pmStatusPath;
    if (statusPath === undefined) missing.push({ source: 'fpmStatusUrl', why: `pm.status_path is not set in pool ${pool.name}` });
    else if (nginx) {
      const statusListen = pool.settings['pm.status_listen'];
      const targets = [pool.listen, statusListen].filter((t): t is string => t !== undefined && t !== 'undefined');
      const servers = site ? [site.server, ...nginx.servers.filter((s) => s !== site.server)] : nginx.servers;
      let found: { server: NginxServer; url: string } | undefined;
      for (const server of servers) {
        const location = selectLocation(server, statusPath);
        if (!location?.fastcgiPass) continue;
        const passes = passTargets(nginx, location.fastcgiPass);
        if (!passes.some((p) => targets.some((t) => targetReachesListen(p, t)))) continue;
        const url = localUrl(server, statusPath);
        if (url) {
          found = { server, url };
          break;
        }
      }
      if (found) {
        sources.fpmStatusUrl = found.url;
        const port = portOf(serverListens(found.server)[0]!);
        const first = nginx.servers.find((s) => serverListens(s).some((l) => portOf(l) === port));
        if (first && first !== found.server && !found.server.serverName.some((n) => n === '127.0.0.1' || n === 'localhost')) {
          problems.push(`the status page is served by ${found.server.label}, which is not the first server on port ${port}: ${found.url} may reach ${first.label} instead`);
        }
      } else {
        missing.push({ source: 'fpmStatusUrl', why: `no nginx location serves ${statusPath} (pm.status_path of pool ${pool.name}) from that pool` });
      }
    } else {
      missing.push({ source: 'fpmStatusUrl', why: 'the nginx configuration could not be read' });
    }
  } else {
    const why = fpm ? 'no FPM pool is known to serve nginx\'s PHP location' : 'the PHP-FPM configuration could not be read';
    missing.push({ source: 'slowLog', why });
    missing.push({ source: 'fpmStatusUrl', why });
  }

  const unit = systemdUnit(ff.get('cgroup') ?? []);
  if (unit) sources.fpmService = unit;

  return { sources: validDiscovered(sources, missing, problems), ...(pool ? { pool: pool.name } : {}), problems, missing };
}

/**
 * What a host's own config says is held to the rules badgateway.yaml is held to (absolute
 * single-line paths, plain service names, http(s) URLs): a value that fails is missing, with why.
 */
const DISCOVERABLE: readonly string[] = ['accessLog', 'errorLog', 'fpmLog', 'slowLog', 'fpmStatusUrl'] satisfies DiscoverableSource[];

function validDiscovered(sources: Sources, missing: Discovery['missing'], problems: string[]): Sources {
  const valid: Sources = {};
  for (const [key, value] of Object.entries(sources) as Array<[keyof Sources, string | undefined]>) {
    if (value === undefined) continue;
    const checked = sourcesSchema.shape[key].safeParse(value);
    if (checked.success) valid[key] = value;
    else {
      const why = `the discovered ${key} ${JSON.stringify(value.slice(0, 80))} is not usable: ${checked.error.issues[0]?.message ?? 'invalid'}`;
      if (DISCOVERABLE.includes(key)) missing.push({ source: key as DiscoverableSource, why });
      else problems.push(why);
    }
  }
  return valid;
}

// ---------------------------------------------------------------------------------------------
// config wins; cache

/** badgateway.yaml wins field by field; the discovered log_format only goes with the discovered access log. */
export function effectiveSources(configured: Sources, discovered: Discovery): Sources {
  const out: Sources = { ...discovered.sources };
  for (const [key, value] of Object.entries(configured) as Array<[keyof Sources, string | undefined]>) {
    if (value !== undefined) out[key] = value;
  }
  if (configured.accessLog !== undefined && configured.logFormat === undefined && configured.accessLog !== discovered.sources.accessLog) {
    // Another access log than the one discovered: use the format nginx writes THAT file with, if it does.
    delete out.logFormat;
    const log = discovered.nginx?.accessLogs.find((l) => l.path === configured.accessLog || resolveAgainst(l.path, discovered.nginxMaster?.prefix) === configured.accessLog);
    const format = log ? discovered.nginx?.logFormats[log.format] : undefined;
    if (format) out.logFormat = logFormatSpec(format.format, format.escape);
  }
  return out;
}

export interface DiscoveryCacheOptions {
  /** How long a discovery is reused; default 5 minutes. */
  ttlMs?: number;
  /** Clock (ms) for tests. */
  now?: () => number;
  /** Whether a cached discovery still holds; default: the same masters still run (one ps). */
  stillValid?: (ctx: DiscoveryContext, cached: Discovery) => Promise<boolean>;
  /**
   * The host's generation in the shared store (bumped by every change made on the host, by any
   * replica): a cached discovery taken at another generation is stale. Absent: the TTL alone.
   */
  generation?: (host: string) => Promise<number>;
}

/** One ps: the masters a cached discovery saw, and no others, still run (unknown counts as no). */
async function mastersStillRun(ctx: DiscoveryContext, cached: Discovery): Promise<boolean> {
  const masters = cached.masters;
  if (!masters) return false;
  const ps = await runCommand(ctx, 'host.processes');
  if (!ps.ok) return false;
  const rows = parsePs(ps.stdout);
  const now = Date.now();
  const read = masterIdentities(rows, now, new Set(masters.read.map((m) => m.pid)));
  return sameMasters(masters.read, read) && (!masters.all || sameMasters(masters.all, masterIdentities(rows, now)));
}

interface CacheEntry {
  at: number;
  discovery: Discovery;
  /** The host's generation read before the discovery started (null: not known). */
  generation: number | null;
}

/**
 * Discoveries per host name, reused for a few minutes; concurrent requests for one host share one run.
 * With a `generation`, a change made on the host by any replica makes the entry stale at once.
 */
export class DiscoveryCache {
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly generation: ((host: string) => Promise<number>) | undefined;
  private readonly entries = new Map<string, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<Discovery>>();
  private readonly stillValid: (ctx: DiscoveryContext, cached: Discovery) => Promise<boolean>;

  constructor(options: DiscoveryCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
    this.stillValid = options.stillValid ?? mastersStillRun;
    this.generation = options.generation;
  }

  /** The entry while its TTL runs (the generation is not checked here: see discover). */
  get(host: string): Discovery | undefined {
    return this.entry(host)?.discovery;
  }

  private entry(host: string): CacheEntry | undefined {
    const entry = this.entries.get(host);
    if (!entry) return undefined;
    if (this.now() - entry.at >= this.ttlMs) {
      this.entries.delete(host);
      return undefined;
    }
    return entry;
  }

  set(host: string, discovery: Discovery, generation: number | null = null): void {
    this.entries.set(host, { at: this.now(), discovery, generation });
  }

  invalidate(host?: string): void {
    if (host === undefined) this.entries.clear();
    else this.entries.delete(host);
  }

  /** The store's generation of the host; null when it cannot be read (then nothing cached is trusted). */
  private async currentGeneration(host: string): Promise<number | null> {
    if (!this.generation) return null;
    // Handled: an unreadable generation distrusts the cache (a fresh discovery); /readyz reports the store itself.
    return this.generation(host).catch(() => null);
  }

  /**
   * The cached discovery of ctx.host while it is current (same store generation, and the masters it read
   * still run: same pids, same start times), or a fresh one (failures are not cached). A process is never
   * presented as running from cache. `fresh`: always a new discovery, never the cache nor one already
   * running (what an action renders into a command must be read now). A caller's signal ends its wait.
   */
  async discover(ctx: DiscoveryContext, run: (ctx: DiscoveryContext) => Promise<Discovery> = discoverHost, options: { fresh?: boolean } = {}): Promise<Discovery> {
    const name = ctx.host.name;
    const generation = await this.currentGeneration(name);
    const cached = options.fresh ? undefined : this.entry(name);
    const current = cached && (!this.generation || (generation !== null && cached.generation === generation));
    if (cached && current && (await this.stillValid(ctx, cached.discovery))) return cached.discovery;
    if (cached) this.entries.delete(name);
    const pending = options.fresh ? undefined : this.inFlight.get(name);
    if (pending) return untilAborted(pending, ctx.signal, () => new ExecError(name, 'cancelled', 'discovery was cancelled.'));
    const started = run(ctx).then((discovery) => {
      this.set(name, discovery, generation);
      return discovery;
    });
    if (!options.fresh) {
      this.inFlight.set(name, started);
      void started.then(
        () => this.inFlight.get(name) === started && this.inFlight.delete(name),
        () => this.inFlight.get(name) === started && this.inFlight.delete(name),
      );
    }
    return started;
  }
}
