/**
 * Parser for `php-fpm -tt` (effective config dumped through the FPM logger) with a fallback for raw
 * php-fpm.conf / pool.d INI text, because on-call often only has `cat pool.d/www.conf` to paste.
 */
import type { FpmConfig, FpmGlobalConfig, FpmPoolConfig } from './types.js';
import { capWarnings, parseFpmDuration, parsePhpSize } from './units.js';

// `[25-Nov-2026 10:00:00] NOTICE: msg`, with log_level=debug `[..:00.123456] NOTICE: pid 1, fpm_conf_dump(), line 1: msg`,
// and with error_log=syslog on stderr `[NOTICE] msg`.
const TT_LINE =
  /^(?:\[\d{1,2}-[A-Za-z]{3}-\d{4} \d\d:\d\d:\d\d(?:\.\d+)?\] (DEBUG|NOTICE|WARNING|ERROR|ALERT): |\[(DEBUG|NOTICE|WARNING|ERROR|ALERT)\] )(?:pid \d+, [A-Za-z_0-9]+\(\), line \d+: )?(.*)$/;

/** FPM defaults for values the ini fallback may lack (what -tt would have printed). */
const POOL_DEFAULTS: Record<string, string> = {
  'listen.backlog': '-1',
  pm: 'dynamic',
  'pm.max_requests': '0',
  'pm.process_idle_timeout': '10s',
  request_terminate_timeout: '0',
  request_slowlog_timeout: '0',
  catch_workers_output: 'no',
};

function intOf(v: string | undefined, key: string, where: string, warnings: string[]): number | undefined {
  if (v === undefined) return undefined;
  if (/^-?\d+$/.test(v.trim())) return Number(v.trim());
  warnings.push(`${where}: ${key} = "${v}" is not an integer`);
  return undefined;
}

function durOf(v: string | undefined, key: string, where: string, warnings: string[]): number | undefined {
  if (v === undefined) return undefined;
  const d = parseFpmDuration(v);
  if (d === undefined) warnings.push(`${where}: ${key} = "${v}" is not a valid duration`);
  return d;
}

function boolOf(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  return /^(yes|on|true|1)$/i.test(v.trim());
}

function buildGlobal(settings: Record<string, string>, warnings: string[]): FpmGlobalConfig {
  const w = '[global]';
  const g: FpmGlobalConfig = { settings };
  if (settings.pid !== undefined) g.pid = settings.pid;
  if (settings.error_log !== undefined) g.errorLog = settings.error_log;
  // FPM 8.2 -tt prints "unknown value" when log_level was not set explicitly.
  if (settings.log_level !== undefined && settings.log_level !== 'unknown value') g.logLevel = settings.log_level.toLowerCase();
  const ert = intOf(settings.emergency_restart_threshold, 'emergency_restart_threshold', w, warnings);
  if (ert !== undefined) g.emergencyRestartThreshold = ert;
  const eri = durOf(settings.emergency_restart_interval, 'emergency_restart_interval', w, warnings);
  if (eri !== undefined) g.emergencyRestartInterval = eri;
  const pct = durOf(settings.process_control_timeout, 'process_control_timeout', w, warnings);
  if (pct !== undefined) g.processControlTimeout = pct;
  const pmax = intOf(settings['process.max'], 'process.max', w, warnings);
  if (pmax !== undefined) g.processMax = pmax;
  const rf = intOf(settings.rlimit_files, 'rlimit_files', w, warnings);
  if (rf !== undefined) g.rlimitFiles = rf;
  return g;
}

interface RawPool {
  name: string;
  settings: Record<string, string>;
  phpValues: Record<string, string>;
  phpAdminValues: Record<string, string>;
}

function buildPool(raw: RawPool, warnings: string[]): FpmPoolConfig {
  const s = raw.settings;
  const w = `[${raw.name}]`;
  const p: FpmPoolConfig = {
    name: raw.name,
    phpValues: raw.phpValues,
    phpAdminValues: raw.phpAdminValues,
    settings: s,
  };
  const str = (k: string): string | undefined => s[k];
  const int = (k: string): number | undefined => intOf(s[k], k, w, warnings);
  const dur = (k: string): number | undefined => durOf(s[k], k, w, warnings);
  const assign = <K extends keyof FpmPoolConfig>(k: K, v: FpmPoolConfig[K] | undefined): void => {
    if (v !== undefined) p[k] = v;
  };
  assign('listen', str('listen'));
  assign('listenBacklog', int('listen.backlog'));
  assign('listenOwner', str('listen.owner'));
  assign('listenGroup', str('listen.group'));
  assign('listenMode', str('listen.mode'));
  assign('listenAllowedClients', str('listen.allowed_clients'));
  assign('user', str('user'));
  assign('group', str('group'));
  assign('pm', str('pm'));
  assign('pmMaxChildren', int('pm.max_children'));
  assign('pmStartServers', int('pm.start_servers'));
  assign('pmMinSpareServers', int('pm.min_spare_servers'));
  assign('pmMaxSpareServers', int('pm.max_spare_servers'));
  assign('pmMaxRequests', int('pm.max_requests'));
  assign('pmProcessIdleTimeout', dur('pm.process_idle_timeout'));
  assign('pmStatusPath', str('pm.status_path'));
  assign('pingPath', str('ping.path'));
  assign('requestTerminateTimeout', dur('request_terminate_timeout'));
  assign('requestSlowlogTimeout', dur('request_slowlog_timeout'));
  assign('slowlog', str('slowlog'));
  assign('catchWorkersOutput', boolOf(str('catch_workers_output')));
  const admin = raw.phpAdminValues.max_execution_time;
  const user = raw.phpValues.max_execution_time;
  const met = admin ?? user;
  if (met !== undefined) {
    if (/^-?\d+$/.test(met.trim())) {
      p.maxExecutionTime = Number(met.trim());
      p.maxExecutionTimeFrom = admin !== undefined ? 'php_admin_value' : 'php_value';
    } else warnings.push(`${w}: max_execution_time = "${met}" is not an integer`);
  }
  const ml = raw.phpAdminValues.memory_limit ?? raw.phpValues.memory_limit;
  if (ml !== undefined) {
    p.memoryLimit = ml;
    const b = parsePhpSize(ml);
    if (b !== undefined) p.memoryLimitBytes = b;
    else warnings.push(`${w}: memory_limit = "${ml}" is not a size`);
  }
  return p;
}

/** Routes `php_value[x]`, `php_admin_flag[x]` etc. into the pool's maps; returns false for ordinary keys. */
function storePhpKey(pool: RawPool, key: string, value: string): boolean {
  const m = /^(php_value|php_flag|php_admin_value|php_admin_flag)\[([^\]]+)\]$/.exec(key);
  if (!m) return false;
  const isFlag = m[1]!.endsWith('_flag');
  const v = isFlag ? (boolOf(value) ? '1' : '0') : value;
  const target = m[1]!.startsWith('php_admin') ? pool.phpAdminValues : pool.phpValues;
  target[m[2]!] = v;
  return true;
}

function emptyConfig(source: 'tt' | 'ini'): FpmConfig {
  return { source, global: { settings: {} }, pools: [], includes: [], messages: [], warnings: [] };
}

function parseTT(lines: string[]): FpmConfig {
  const cfg = emptyConfig('tt');
  const globalSettings: Record<string, string> = {};
  const raws: RawPool[] = [];
  let section: 'none' | 'global' | RawPool = 'none';
  for (const line of lines) {
    const m = TT_LINE.exec(line);
    if (!m) {
      if (line.trim() !== '') cfg.warnings.push(`unrecognised line: ${line.slice(0, 200)}`);
      continue;
    }
    const level = m[1] ?? m[2]!;
    const msg = m[3]!;
    if (level !== 'NOTICE' && level !== 'DEBUG') {
      cfg.messages.push(`${level}: ${msg}`);
      if (/test failed|initialization failed|failed to post process/.test(msg)) cfg.testOk = false;
      continue;
    }
    if (/^configuration file .* test is successful$/.test(msg)) {
      cfg.testOk = true;
      continue;
    }
    const sec = /^\[([^\]]+)\]$/.exec(msg);
    if (sec) {
      if (sec[1] === 'global') section = 'global';
      else {
        section = { name: sec[1]!, settings: {}, phpValues: {}, phpAdminValues: {} };
        raws.push(section);
      }
      continue;
    }
    const kv = /^\t(\S+) = (.*)$/.exec(msg);
    if (!kv) continue; // blank separators and other NOTICE chatter
    const key = kv[1]!;
    const value = kv[2]!;
    if (section === 'none') {
      cfg.warnings.push(`setting "${key}" before any section`);
      continue;
    }
    if (section === 'global') {
      if (value !== 'undefined') globalSettings[key] = value;
      continue;
    }
    if (storePhpKey(section, key, value)) continue;
    if (value !== 'undefined') section.settings[key] = value;
  }
  cfg.global = buildGlobal(globalSettings, cfg.warnings);
  cfg.pools = raws.map((r) => buildPool(r, cfg.warnings));
  return cfg;
}

function iniValue(raw: string): string {
  const v = raw.trim();
  const q = /^"((?:[^"\\]|\\.)*)"/.exec(v) ?? /^'([^']*)'/.exec(v);
  if (q) return q[1]!;
  const semi = v.indexOf(';');
  return (semi >= 0 ? v.slice(0, semi) : v).trim();
}

function parseIni(lines: string[]): FpmConfig {
  const cfg = emptyConfig('ini');
  const globalSettings: Record<string, string> = {};
  const raws: RawPool[] = [];
  // php-fpm.conf may start without [global]; those keys are global.
  let section: 'global' | RawPool = 'global';
  lines.forEach((line, idx) => {
    const t = line.trim();
    if (t === '' || t.startsWith(';') || t.startsWith('#')) return;
    const sec = /^\[([^\]]+)\]\s*(?:;.*)?$/.exec(t);
    if (sec) {
      const name = sec[1]!.trim();
      if (name === 'global') section = 'global';
      else {
        const existing = raws.find((r) => r.name === name);
        section = existing ?? { name, settings: {}, phpValues: {}, phpAdminValues: {} };
        if (!existing) raws.push(section);
      }
      return;
    }
    const eq = t.indexOf('=');
    if (eq <= 0) {
      cfg.warnings.push(`line ${idx + 1}: not "key = value": ${t.slice(0, 200)}`);
      return;
    }
    const key = t.slice(0, eq).trim();
    let value = iniValue(t.slice(eq + 1));
    if (key === 'include') {
      cfg.includes.push(value);
      return;
    }
    if (section === 'global') {
      globalSettings[key] = value;
      return;
    }
    value = value.replace(/\$pool/g, section.name);
    if (storePhpKey(section, key, value)) return;
    section.settings[key] = value;
  });
  for (const r of raws) {
    for (const [k, v] of Object.entries(POOL_DEFAULTS)) if (r.settings[k] === undefined) r.settings[k] = v;
  }
  cfg.global = buildGlobal(globalSettings, cfg.warnings);
  cfg.pools = raws.map((r) => buildPool(r, cfg.warnings));
  return cfg;
}

export function parseFpmTT(text: string): FpmConfig {
  try {
    const lines = (typeof text === 'string' ? text : '').replace(/\r\n/g, '\n').split('\n');
    const isTT = lines.some((l) => TT_LINE.test(l));
    const cfg = isTT ? parseTT(lines) : parseIni(lines);
    if (cfg.pools.length === 0 && Object.keys(cfg.global.settings).length === 0 && cfg.messages.length === 0) {
      cfg.warnings.push('no PHP-FPM configuration found in input');
    }
    cfg.warnings = capWarnings(cfg.warnings);
    return cfg;
  } catch (err) {
    const cfg = emptyConfig('ini');
    cfg.warnings.push(`internal parser error: ${err instanceof Error ? err.message : String(err)}`);
    return cfg;
  }
}
