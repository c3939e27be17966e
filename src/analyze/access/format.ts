/**
 * Compiles an nginx `log_format` specification into a scan plan: a list of fields, each with the literal that follows
 * it. Compilation is the slow, careful part; the plan is what the hot loop in scan.ts walks for every line.
 */

export type EscapeMode = 'default' | 'json' | 'none';

/** nginx's built-in formats; `upstream` is the project's conventional name for combined + upstream timings. */
export const BUILTIN_FORMATS = {
  combined: '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"',
  upstream:
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" ' +
    'rt=$request_time uct="$upstream_connect_time" uht="$upstream_header_time" urt="$upstream_response_time" ' +
    'uaddr="$upstream_addr" ustatus="$upstream_status"',
} as const;

/** Variables the analyzer decodes; everything else is only skipped over. */
export enum Kind {
  Other = 0,
  TimeLocal,
  TimeIso,
  Msec,
  Request,
  RequestUri,
  Uri,
  Status,
  RequestTime,
  UpstreamAddr,
  UpstreamStatus,
  UpstreamConnectTime,
  UpstreamHeaderTime,
  UpstreamResponseTime,
  Connection,
}

const KIND_BY_NAME: Record<string, Kind> = {
  time_local: Kind.TimeLocal,
  time_iso8601: Kind.TimeIso,
  msec: Kind.Msec,
  request: Kind.Request,
  request_uri: Kind.RequestUri,
  uri: Kind.Uri,
  document_uri: Kind.Uri,
  status: Kind.Status,
  request_time: Kind.RequestTime,
  upstream_addr: Kind.UpstreamAddr,
  upstream_status: Kind.UpstreamStatus,
  upstream_connect_time: Kind.UpstreamConnectTime,
  upstream_header_time: Kind.UpstreamHeaderTime,
  upstream_response_time: Kind.UpstreamResponseTime,
  connection: Kind.Connection,
};

// Values that are usually a few bytes long: a JS byte loop beats a Buffer.indexOf call (~12 ns of call overhead).
const SHORT_VARS = new Set([
  'status',
  'body_bytes_sent',
  'bytes_sent',
  'request_length',
  'request_time',
  'msec',
  'connection',
  'connection_requests',
  'remote_addr',
  'remote_port',
  'remote_user',
  'realip_remote_addr',
  'pid',
  'pipe',
  'server_port',
  'scheme',
  'request_method',
  'server_protocol',
  'gzip_ratio',
  'upstream_addr',
  'upstream_status',
  'upstream_connect_time',
  'upstream_header_time',
  'upstream_response_time',
  'upstream_queue_time',
  'upstream_response_length',
  'upstream_bytes_sent',
  'upstream_bytes_received',
  'upstream_cache_status',
]);

// Exact widths nginx prints, so the scanner can jump instead of searching.
const FIXED_WIDTH: Record<string, number> = { time_local: 26, time_iso8601: 25, status: 3 };

/** Internal scan plan; parallel arrays so the hot loop touches no objects. */
export interface ScanPlan {
  readonly escape: EscapeMode;
  readonly prefix: Uint8Array;
  readonly count: number;
  readonly names: readonly string[];
  readonly kinds: Uint8Array;
  /** First byte of the literal after the field; -1: the field runs to end of line. */
  readonly term: Int16Array;
  /** The whole literal after the field (its first byte is `term`). */
  readonly literals: readonly Uint8Array[];
  readonly short: Uint8Array;
  readonly fixed: Int32Array;
  /** Index of the first field of each Kind, -1 when absent. */
  readonly index: Int32Array;
}

export interface CompiledFormat {
  /** The spec as given. */
  readonly spec: string;
  /** The resolved format text (quotes removed, strings concatenated, built-in names expanded). */
  readonly format: string;
  readonly escape: EscapeMode;
  /** Variable names in order of appearance, without `$`. */
  readonly variables: readonly string[];
  /** The variable used for the entry time: the most precise one present. */
  readonly timeVariable: 'msec' | 'time_iso8601' | 'time_local' | null;
  readonly hasUpstream: boolean;
  readonly hasConnection: boolean;
}

const plans = new WeakMap<CompiledFormat, ScanPlan>();

export function planOf(compiled: CompiledFormat): ScanPlan {
  const plan = plans.get(compiled);
  if (!plan) throw new Error('not a format returned by compileLogFormat()');
  return plan;
}

/**
 * A parsed log_format (nginx -T's text, escape mode) written back as nginx would read it, so the
 * compiler sees the same text: discovery over SSH and `analyze` with a local nginx.conf both use it.
 */
export function logFormatSpec(format: string, escape: EscapeMode): string {
  const quoted = `'${format.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return escape === 'default' ? quoted : `escape=${escape} ${quoted}`;
}

/**
 * Compile the part of a `log_format` directive after its name, e.g. `escape=json '{"t":"$msec",' '"s":$status}'`,
 * an unquoted format text, or a built-in name (`combined`, `upstream`). Throws on a malformed spec (configuration
 * errors should be loud); never used per line.
 */
export function compileLogFormat(spec: string): CompiledFormat {
  const { format, escape } = resolveSpec(spec);
  const items = tokenizeFormat(format);
  const names: string[] = [];
  const literals: Uint8Array[] = [];
  let prefix = new Uint8Array(0);
  const enc = new TextEncoder();
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as FormatItem;
    if (item.type === 'lit') {
      if (names.length === 0) prefix = enc.encode(item.text);
      continue;
    }
    names.push(item.name);
    const next = items[i + 1];
    if (next === undefined) literals.push(new Uint8Array(0));
    else if (next.type === 'lit') literals.push(enc.encode(next.text));
    // Two variables back to back: nothing separates them, so assume a space does.
    else literals.push(new Uint8Array([0x20]));
  }
  if (names.length === 0) throw new Error(`log_format has no variables: ${JSON.stringify(format)}`);

  const count = names.length;
  const kinds = new Uint8Array(count);
  const term = new Int16Array(count);
  const short = new Uint8Array(count);
  const fixed = new Int32Array(count);
  const index = new Int32Array(16).fill(-1);
  for (let i = 0; i < count; i++) {
    const name = names[i] as string;
    const kind = KIND_BY_NAME[name] ?? Kind.Other;
    kinds[i] = kind;
    if (kind !== Kind.Other && index[kind] === -1) index[kind] = i;
    const lit = literals[i] as Uint8Array;
    term[i] = lit.length > 0 ? (lit[0] as number) : -1;
    short[i] = SHORT_VARS.has(name) ? 1 : 0;
    // json/none print an empty string for a missing value, so widths are only fixed for default escaping.
    fixed[i] = escape === 'default' ? (FIXED_WIDTH[name] ?? 0) : 0;
  }
  const plan: ScanPlan = { escape, prefix, count, names, kinds, term, literals, short, fixed, index };
  const has = (k: Kind): boolean => (index[k] as number) >= 0;
  const compiled: CompiledFormat = Object.freeze({
    spec,
    format,
    escape,
    variables: Object.freeze([...names]),
    timeVariable: has(Kind.Msec) ? 'msec' : has(Kind.TimeIso) ? 'time_iso8601' : has(Kind.TimeLocal) ? 'time_local' : null,
    hasUpstream: has(Kind.UpstreamAddr) || has(Kind.UpstreamStatus) || has(Kind.UpstreamResponseTime) || has(Kind.UpstreamConnectTime) || has(Kind.UpstreamHeaderTime),
    hasConnection: has(Kind.Connection),
  });
  plans.set(compiled, plan);
  return compiled;
}

function resolveSpec(spec: string): { format: string; escape: EscapeMode } {
  let s = spec.trim();
  if (s === 'combined' || s === 'upstream') return { format: BUILTIN_FORMATS[s], escape: 'default' };
  let escape: EscapeMode = 'default';
  const m = /^escape=(\S*)\s*/.exec(s);
  if (m) {
    const v = m[1];
    if (v !== 'default' && v !== 'json' && v !== 'none') throw new Error(`unknown log_format escape=${v}`);
    escape = v;
    s = s.slice(m[0].length);
  }
  if (s.endsWith(';')) s = s.slice(0, -1).trimEnd();
  let format = s;
  if (s.startsWith("'") || s.startsWith('"')) {
    // nginx concatenates the directive's arguments; only treat the spec that way when every argument is quoted,
    // otherwise it is more likely a bare format text that happens to start with a quote.
    const parts = splitQuotedArgs(s);
    if (parts) format = parts.join('');
  }
  if (format.length === 0) throw new Error('empty log_format');
  return { format, escape };
}

/** nginx.conf quoting (ngx_conf_file.c): `\"`, `\'`, `\\`, `\t`, `\r`, `\n`; any other backslash stays. */
function splitQuotedArgs(s: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c !== "'" && c !== '"') return null;
    let text = '';
    let j = i + 1;
    for (;;) {
      if (j >= s.length) return null;
      const d = s[j] as string;
      if (d === '\\' && j + 1 < s.length) {
        const n = s[j + 1] as string;
        if (n === '"' || n === "'" || n === '\\') text += n;
        else if (n === 't') text += '\t';
        else if (n === 'r') text += '\r';
        else if (n === 'n') text += '\n';
        else text += d + n;
        j += 2;
        continue;
      }
      if (d === c) break;
      text += d;
      j++;
    }
    out.push(text);
    i = j + 1;
  }
  return out;
}

type FormatItem = { type: 'lit'; text: string } | { type: 'var'; name: string };

/** Split format text into literals and variables the way ngx_http_log_compile_format does. */
function tokenizeFormat(format: string): FormatItem[] {
  const items: FormatItem[] = [];
  let lit = '';
  let i = 0;
  const isName = (c: string): boolean => /[A-Za-z0-9_]/.test(c);
  while (i < format.length) {
    const c = format[i] as string;
    if (c !== '$') {
      lit += c;
      i++;
      continue;
    }
    let name = '';
    let j = i + 1;
    if (format[j] === '{') {
      const close = format.indexOf('}', j + 1);
      if (close < 0) throw new Error(`log_format: closing bracket missing in variable at ${i}: ${format.slice(i, i + 30)}`);
      name = format.slice(j + 1, close);
      if (![...name].every(isName)) throw new Error(`log_format: invalid variable name \${${name}}`);
      j = close + 1;
    } else {
      while (j < format.length && isName(format[j] as string)) name += format[j++];
    }
    if (name.length === 0) throw new Error(`log_format: invalid variable at ${i}: ${format.slice(i, i + 30)}`);
    if (lit) items.push({ type: 'lit', text: lit });
    lit = '';
    // nginx variable names are case-insensitive.
    items.push({ type: 'var', name: name.toLowerCase() });
    i = j;
  }
  if (lit) items.push({ type: 'lit', text: lit });
  return items;
}
