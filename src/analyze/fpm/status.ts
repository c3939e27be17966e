import { parseStrftimeWithZone } from '../errorlog/localtime.js';

export interface FpmProcess {
  pid: number | null;
  state: string | null;
  startTime: number | null;
  startSince: number | null;
  requests: number | null;
  /** Microseconds; null when FPM printed an unsigned underflow (e.g. 18446744073709551227). */
  requestDurationUs: number | null;
  requestMethod: string | null;
  requestUri: string | null;
  contentLength: number | null;
  user: string | null;
  script: string | null;
  /** Only filled by FPM for Idle processes; 0 otherwise. */
  lastRequestCpu: number | null;
  lastRequestMemory: number | null;
}

export type FpmStatusFormat = 'text' | 'json' | 'xml' | 'html' | 'openmetrics';

export interface FpmStatus {
  format: FpmStatusFormat;
  pool: string | null;
  processManager: string | null;
  /** Epoch ms. */
  startTime: number | null;
  startSince: number | null;
  acceptedConn: number | null;
  listenQueue: number | null;
  maxListenQueue: number | null;
  listenQueueLen: number | null;
  idleProcesses: number | null;
  activeProcesses: number | null;
  totalProcesses: number | null;
  maxActiveProcesses: number | null;
  /** Episodes (pm dynamic/ondemand only), not rejected requests. */
  maxChildrenReached: number | null;
  slowRequests: number | null;
  /** Empty unless the page was fetched with `full`. */
  processes: FpmProcess[];
  /** Count of listed processes by state (`full` only). */
  processStates: Record<string, number>;
  /** active / total; null when unknown. May exceed 1 on inconsistent scoreboards. */
  busyRatio: number | null;
  /**
   * FPM computes the listen queue figures only for TCP listeners: always 0 on a unix socket.
   * Undefined unless the caller passed `listen`.
   */
  listenQueueMeaningful?: boolean;
  /** Oddities found (inconsistent counts, underflows, lenient parse). */
  warnings: string[];
}

export interface FpmStatusOptions {
  /** The pool's `listen` value (or nginx's fastcgi_pass target): tells whether listen queue figures mean anything. */
  listen?: string;
}

type Raw = Record<string, string | number | null>;

const POOL_KEYS = [
  'pool',
  'process manager',
  'start time',
  'start since',
  'accepted conn',
  'listen queue',
  'max listen queue',
  'listen queue len',
  'idle processes',
  'active processes',
  'total processes',
  'max active processes',
  'max children reached',
  'slow requests',
] as const;

const PROC_KEYS = [
  'pid',
  'state',
  'start time',
  'start since',
  'requests',
  'request duration',
  'request method',
  'request uri',
  'content length',
  'user',
  'script',
  'last request cpu',
  'last request memory',
] as const;

// Bodies FPM (or PHP behind a wrong status path) answers instead of a status page.
const ERROR_BODIES: [RegExp, string][] = [
  [/^Internal error\. Please review log file for errors\.?$/, 'FPM status unavailable: "Internal error" (HTTP 500, scoreboard not readable)'],
  [/^Server busy\. Please try again later\.?$/, 'FPM status unavailable: "Server busy" (HTTP 503, scoreboard locked)'],
  [/^File not found\.?$/, 'not a status page: "File not found." (request did not match pm.status_path)'],
  [/^No input file specified\.?$/, 'not a status page: "No input file specified."'],
  [/^Access denied\.?$/, 'not a status page: "Access denied."'],
  [/^pong$/, 'ping response, not the status page'],
];

function normKey(k: string): string {
  return k.trim().toLowerCase().replace(/[-_]/g, ' ').replace(/\s+/g, ' ');
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (m, e: string) => {
    const l = e.toLowerCase();
    if (l === 'amp') return '&';
    if (l === 'lt') return '<';
    if (l === 'gt') return '>';
    if (l === 'quot') return '"';
    if (l === 'apos') return "'";
    const code = l.startsWith('#x') ? parseInt(l.slice(2), 16) : parseInt(l.slice(1), 10);
    return Number.isFinite(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
  });
}

function toNum(v: string | number | null | undefined): number | null {
  if (v === null || v === undefined) return null;
  const n = typeof v === 'number' ? v : /^\s*-?\d+(?:\.\d+)?\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n)) return null;
  // Counters beyond 2^53 are unsigned underflows in FPM's scoreboard, not real values.
  if (Math.abs(n) > Number.MAX_SAFE_INTEGER) return null;
  return n;
}

function toStr(v: string | number | null | undefined): string | null {
  if (v === null || v === undefined) return null;
  const s = String(v).trim();
  return s === '' || s === '-' ? null : s;
}

function toTime(v: string | number | null | undefined): number | null {
  if (v === null || v === undefined) return null;
  const n = toNum(v);
  if (n !== null) return n * 1000; // JSON/XML carry epoch seconds
  return parseStrftimeWithZone(String(v));
}

// ---------- format readers: each returns pool-level raw fields and raw process records ----------

interface RawDoc {
  pool: Raw;
  processes: Raw[];
  warnings: string[];
}

function fromJsonObject(o: unknown): RawDoc | null {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return null;
  const pool: Raw = {};
  const processes: Raw[] = [];
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
    if (k === 'processes' && Array.isArray(v)) {
      for (const p of v) {
        if (typeof p !== 'object' || p === null) continue;
        const r: Raw = {};
        for (const [pk, pv] of Object.entries(p as Record<string, unknown>)) {
          if (typeof pv === 'string' || typeof pv === 'number') r[normKey(pk)] = pv;
        }
        processes.push(r);
      }
    } else if (typeof v === 'string' || typeof v === 'number') {
      pool[normKey(k)] = v;
    }
  }
  return { pool, processes, warnings: [] };
}

/**
 * Old FPM did not escape the query string in `request uri` (php bug 64539), so the JSON may be invalid.
 * Values are cut between known keys, which tolerates stray quotes and backslashes inside them.
 */
function lenientObject(s: string, keys: readonly string[]): Raw {
  const found: { key: string; start: number; valueStart: number }[] = [];
  let from = 0;
  for (const key of keys) {
    const marker = `"${key}":`;
    const idx = s.indexOf(marker, from);
    if (idx < 0) continue;
    found.push({ key, start: idx, valueStart: idx + marker.length });
    from = idx + marker.length;
  }
  const out: Raw = {};
  for (let i = 0; i < found.length; i++) {
    const f = found[i]!;
    const end = i + 1 < found.length ? found[i + 1]!.start : s.length;
    let v = s.slice(f.valueStart, end).trim();
    v = v.replace(/[\s,}\]]+$/, '');
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) {
      v = v.slice(1, -1).replace(/\\(["\\/])/g, '$1');
    }
    out[f.key] = v;
  }
  return out;
}

function fromLenientJson(text: string): RawDoc | null {
  const pIdx = text.indexOf('"processes":');
  const head = pIdx >= 0 ? text.slice(0, pIdx) : text;
  const pool = lenientObject(head, POOL_KEYS);
  if (Object.keys(pool).length === 0) return null;
  const processes: Raw[] = [];
  if (pIdx >= 0) {
    const chunks = text
      .slice(pIdx)
      .split(/\{\s*(?="pid":)/)
      .slice(1);
    for (const c of chunks) processes.push(lenientObject(c, PROC_KEYS));
  }
  return { pool, processes, warnings: ['invalid JSON (unescaped query string?): parsed leniently'] };
}

function fromXml(text: string): RawDoc {
  const pIdx = text.indexOf('<processes>');
  const head = pIdx >= 0 ? text.slice(0, pIdx) : text;
  const tagRe = /<([a-z][a-z-]*)>([^<]*)<\/\1>/g;
  const pool: Raw = {};
  for (const m of head.matchAll(tagRe)) pool[normKey(m[1]!)] = decodeEntities(m[2]!);
  const processes: Raw[] = [];
  if (pIdx >= 0) {
    for (const pm of text.slice(pIdx).matchAll(/<process>([\s\S]*?)<\/process>/g)) {
      const r: Raw = {};
      for (const m of pm[1]!.matchAll(tagRe)) r[normKey(m[1]!)] = decodeEntities(m[2]!);
      processes.push(r);
    }
  }
  return { pool, processes, warnings: [] };
}

function stripTags(s: string): string {
  return decodeEntities(s.replace(/<[^>]*>/g, '')).trim();
}

function fromHtml(text: string): RawDoc | { error: string } {
  if (!/PHP-FPM Status/i.test(text)) {
    const title = /<title>([\s\S]*?)<\/title>/i.exec(text) ?? /<h1>([\s\S]*?)<\/h1>/i.exec(text);
    return { error: `HTML page instead of FPM status${title ? `: ${stripTags(title[1]!).slice(0, 100)}` : ''}` };
  }
  const pool: Raw = {};
  const processes: Raw[] = [];
  const tables = [...text.matchAll(/<table[^>]*>([\s\S]*?)<\/table>/gi)].map((m) => m[1]!);
  for (const m of (tables[0] ?? '').matchAll(/<tr>\s*<th>([\s\S]*?)<\/th>\s*<td>([\s\S]*?)<\/td>\s*<\/tr>/gi)) {
    pool[normKey(stripTags(m[1]!))] = stripTags(m[2]!);
  }
  const procTable = tables[1];
  if (procTable !== undefined) {
    const rows = [...procTable.matchAll(/<tr>([\s\S]*?)<\/tr>/gi)].map((m) => m[1]!);
    const header = [...(rows[0] ?? '').matchAll(/<th>([\s\S]*?)<\/th>/gi)].map((m) => normKey(stripTags(m[1]!)));
    for (const row of rows.slice(1)) {
      const cells = [...row.matchAll(/<td>([\s\S]*?)<\/td>/gi)].map((m) => stripTags(m[1]!));
      if (cells.length === 0) continue;
      const r: Raw = {};
      header.forEach((h, i) => {
        if (cells[i] !== undefined) r[h] = cells[i]!;
      });
      processes.push(r);
    }
  }
  return { pool, processes, warnings: [] };
}

const OPENMETRICS_NAMES: Record<string, string> = {
  phpfpm_start_since: 'start since',
  phpfpm_accepted_connections: 'accepted conn',
  phpfpm_listen_queue: 'listen queue',
  phpfpm_max_listen_queue: 'max listen queue',
  phpfpm_listen_queue_length: 'listen queue len',
  phpfpm_idle_processes: 'idle processes',
  phpfpm_active_processes: 'active processes',
  phpfpm_total_processes: 'total processes',
  phpfpm_max_active_processes: 'max active processes',
  phpfpm_max_children_reached: 'max children reached',
  phpfpm_slow_requests: 'slow requests',
};

function fromOpenMetrics(text: string): RawDoc | { error: string } {
  const pool: Raw = {};
  const warnings: string[] = [];
  const pools = new Set<string>();
  for (const line of text.split('\n')) {
    const help = /^# HELP phpfpm_up Could pool (\S+) using a (\S+) PM/.exec(line);
    if (help) {
      pool.pool = help[1]!;
      pool['process manager'] = help[2]!;
      continue;
    }
    const m = /^(phpfpm_[a-z_]+)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const label = m[2] !== undefined ? /pool="([^"]*)"/.exec(m[2]) : null;
    if (label) {
      pools.add(label[1]!);
      if (pools.size > 1 && label[1] !== [...pools][0]) continue; // exporters may list several pools: keep the first
      pool.pool ??= label[1]!;
    }
    if (m[1] === 'phpfpm_up') {
      if (Number(m[3]) === 0) return { error: 'phpfpm_up is 0: pool could not be reached' };
      continue;
    }
    const key = OPENMETRICS_NAMES[m[1]!];
    if (key !== undefined && !(key in pool)) pool[key] = m[3]!;
  }
  if (pools.size > 1) warnings.push(`several pools in metrics (${[...pools].join(', ')}); kept the first`);
  return { pool, processes: [], warnings };
}

function fromText(text: string): RawDoc {
  const pool: Raw = {};
  const processes: Raw[] = [];
  let cur: Raw = pool;
  for (const line of text.split('\n')) {
    if (/^\s*\*{5,}\s*$/.test(line)) {
      cur = {};
      processes.push(cur);
      continue;
    }
    const m = /^([A-Za-z][A-Za-z ]*?):\s?(.*)$/.exec(line.replace(/\r$/, ''));
    if (!m) continue;
    const key = normKey(m[1]!);
    if (!(key in cur)) cur[key] = m[2]!.trim();
  }
  return { pool, processes, warnings: [] };
}

// ---------- assembly ----------

function isTcpListen(listen: string): boolean {
  const l = listen.trim().replace(/^(?:fastcgi|tcp):\/\//, '');
  if (l.startsWith('unix:') || l.startsWith('/') || l.startsWith('@')) return false;
  return /^\d+$/.test(l) || /:\d+$/.test(l);
}

function buildProcess(r: Raw, warnings: string[]): FpmProcess {
  const rawDuration = r['request duration'];
  const requestDurationUs = toNum(rawDuration);
  const pid = toNum(r.pid);
  if (requestDurationUs === null && rawDuration !== undefined && rawDuration !== null && toStr(rawDuration) !== null) {
    warnings.push(`pid ${pid ?? '?'}: request duration ${String(rawDuration)} is an unsigned underflow, treated as unknown`);
  }
  return {
    pid,
    state: toStr(r.state),
    startTime: toTime(r['start time']),
    startSince: toNum(r['start since']),
    requests: toNum(r.requests),
    requestDurationUs,
    requestMethod: toStr(r['request method']),
    requestUri: toStr(r['request uri']),
    contentLength: toNum(r['content length']),
    user: toStr(r.user),
    script: toStr(r.script),
    lastRequestCpu: toNum(r['last request cpu']),
    lastRequestMemory: toNum(r['last request memory']),
  };
}

function detect(text: string): FpmStatusFormat {
  const t = text.trimStart();
  if (t.startsWith('{')) return 'json';
  if (t.startsWith('<?xml') || t.startsWith('<status')) return 'xml';
  if (t.startsWith('<')) return 'html';
  if (/^(?:# (?:HELP|TYPE) phpfpm_|phpfpm_[a-z_]+[\s{])/m.test(t)) return 'openmetrics';
  return 'text';
}

/** Parse any form of the FPM status page; an `{error}` result means there is nothing to trust in it. */
export function parseFpmStatus(text: string, opts: FpmStatusOptions = {}): FpmStatus | { error: string } {
  if (typeof text !== 'string') return { error: 'status body is not text' };
  const body = text.replace(/^\uFEFF/, '').trim();
  if (body === '') return { error: 'empty status body' };
  for (const [re, msg] of ERROR_BODIES) if (re.test(body)) return { error: msg };

  const format = detect(body);
  let doc: RawDoc | { error: string } | null;
  switch (format) {
    case 'json': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = undefined;
      }
      doc = (parsed !== undefined ? fromJsonObject(parsed) : null) ?? fromLenientJson(body);
      break;
    }
    case 'xml':
      doc = fromXml(body);
      break;
    case 'html':
      doc = fromHtml(body);
      break;
    case 'openmetrics':
      doc = fromOpenMetrics(body);
      break;
    default:
      doc = fromText(body);
  }
  if (doc === null) return { error: `unrecognised ${format} status body` };
  if ('error' in doc) return doc;

  const p = doc.pool;
  const known = POOL_KEYS.filter((k) => k in p).length;
  if (known < 2 || !('pool' in p || 'accepted conn' in p || 'total processes' in p)) {
    return { error: `unrecognised ${format} status body: ${body.slice(0, 80).replace(/\s+/g, ' ')}` };
  }

  const warnings = [...doc.warnings];
  const processes = doc.processes.map((r) => buildProcess(r, warnings));
  const processStates: Record<string, number> = {};
  for (const pr of processes) {
    const s = pr.state ?? 'unknown';
    processStates[s] = (processStates[s] ?? 0) + 1;
  }
  const active = toNum(p['active processes']);
  const total = toNum(p['total processes']);
  if (active !== null && total !== null && active > total) {
    warnings.push(`active processes (${active}) > total processes (${total}): inconsistent scoreboard`);
  }
  if (processes.length > 0 && total !== null && processes.length !== total) {
    warnings.push(`${processes.length} processes listed but total processes is ${total}`);
  }

  const status: FpmStatus = {
    format,
    pool: toStr(p.pool),
    processManager: toStr(p['process manager']),
    startTime: toTime(p['start time']),
    startSince: toNum(p['start since']),
    acceptedConn: toNum(p['accepted conn']),
    listenQueue: toNum(p['listen queue']),
    maxListenQueue: toNum(p['max listen queue']),
    listenQueueLen: toNum(p['listen queue len']),
    idleProcesses: toNum(p['idle processes']),
    activeProcesses: active,
    totalProcesses: total,
    maxActiveProcesses: toNum(p['max active processes']),
    maxChildrenReached: toNum(p['max children reached']),
    slowRequests: toNum(p['slow requests']),
    processes,
    processStates,
    busyRatio: active !== null && total !== null && total > 0 ? active / total : null,
    warnings,
  };
  if (opts.listen !== undefined && opts.listen.trim() !== '') status.listenQueueMeaningful = isTcpListen(opts.listen);
  return status;
}
