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
import type { Host, Sources } from '../config/index.js';
import type { ExecResult } from '../exec/index.js';
import { parseFpmTT, parseNginxT, phpRoutes, type FpmConfig, type NginxConfig } from '../analyze/config/index.js';
import {
  complaintLines,
  fpmMasters,
  nginxMasters,
  parseFacts,
  parseNginxMasterTitle,
  parseFpmMasterTitle,
  parsePs,
  type FpmMasterProcess,
  type NginxMasterProcess,
  type ProcessRow,
} from './host-parse.js';
import type { DiscoveredFpmMaster, DiscoveredNginxMaster, Discovery, DiscoveryContext, MasterIdentity } from './discover-types.js';
import { deriveSources } from './discover-sources.js';

export type { DiscoverableSource, DiscoveredFpmMaster, DiscoveredNginxMaster, Discovery, DiscoveryContext, MasterIdentity } from './discover-types.js';
export { deriveSources, effectiveSources, selectLocation, type DeriveInput, type Derived } from './discover-sources.js';

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
export async function runCommand(ctx: DiscoveryContext, id: string, params: Record<string, string | number> = {}, host: Host = ctx.host): Promise<CommandOutcome> {
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
  const complaint = complaints.findLast((l) => /^(sudo|curl|nginx|php-fpm[\w.]*|ss|ps|dmesg|cat|nproc|sh|bash|dash|timeout|process \d+)\b/.test(l)) ?? complaints[complaints.length - 1];
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
      // A master that exited between ps and the read says nothing; one that could be read at least tells
      // (below) that it does not serve this site's pool.
      if (!fpmRead.config && next.config) fpmRead = next;
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
