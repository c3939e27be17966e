/**
 * From a host's effective nginx and PHP-FPM configuration to the sources triage reads: which server and
 * location serve PHP, their access and error logs with the log_format, the pool nginx passes to with its
 * status URL, FPM and slow logs; and how badgateway.yaml's own sources override them.
 */
import { posix } from 'node:path';
import type { Sources } from '../config/index.js';
import { sourcesSchema } from '../config/schema.js';
import { logFormatSpec } from '../analyze/access/index.js';
import {
  nginxListen,
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
import { systemdUnit } from './host-parse.js';
import type { DiscoverableSource, DiscoveredNginxMaster, Discovery } from './discover-types.js';

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
  const rank = (s: PhpSite) => (s.route.pools.length > 0 ? 0 : 4) + (s.route.pools.some((p) => !s.route.backupOnlyPools.includes(p)) ? 0 : 1) + (looksLikePhp(s.location) ? 0 : 2);
  return [...sites].sort((a, b) => rank(a) - rank(b))[0];
}

export function resolveAgainst(path: string, base: string | undefined): string | undefined {
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
    const why = fpm ? "no FPM pool is known to serve nginx's PHP location" : 'the PHP-FPM configuration could not be read';
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

export function validDiscovered(sources: Sources, missing: Discovery['missing'], problems: string[]): Sources {
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
