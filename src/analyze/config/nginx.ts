/**
 * Parser for `nginx -T` output. nginx dumps every file it read, each once, under a
 * `# configuration file PATH:` header, but leaves `include` lines in place; we re-inline includes by matching
 * their (glob) paths against the dumped file names so settings land in the block that really contains them.
 *
 * Why over 500 lines: the include re-inlining and one walk of the directive tree with nginx's inheritance rules (http → server →
 * location, and which settings a level replaces rather than adds to) kept in one place; the tokenizer is
 * already apart (nginx-syntax.ts). TODO: the log_format/access_log readers could move out when it grows.
 */
import { parseNginxSyntax, type NginxDirective } from './nginx-syntax.js';
import type { NginxAccessLog, NginxConfig, NginxEffectiveSettings, NginxErrorLog, NginxLocation, NginxServer, NginxSettingName, NginxSource, NginxUpstream, NginxUpstreamSettings } from './types.js';
import { capWarnings, parseNginxDuration, parseNginxSize } from './units.js';

const PAGE = 4096;

export const NGINX_DEFAULTS: Readonly<NginxUpstreamSettings> = Object.freeze({
  fastcgi_read_timeout: 60,
  fastcgi_connect_timeout: 60,
  fastcgi_send_timeout: 60,
  proxy_read_timeout: 60,
  proxy_connect_timeout: 60,
  proxy_send_timeout: 60,
  fastcgi_buffer_size: PAGE,
  fastcgi_buffers: { count: 8, size: PAGE },
  proxy_buffer_size: PAGE,
  fastcgi_next_upstream: ['error', 'timeout'],
  proxy_next_upstream: ['error', 'timeout'],
});

const PAGE_NOTE = 'fastcgi_buffer_size, proxy_buffer_size and fastcgi_buffers default to one memory page: 4k on x86_64 (8k on some other platforms); 4096 bytes assumed where unset';

const DURATION_KEYS: NginxSettingName[] = ['fastcgi_read_timeout', 'fastcgi_connect_timeout', 'fastcgi_send_timeout', 'proxy_read_timeout', 'proxy_connect_timeout', 'proxy_send_timeout'];
const SIZE_KEYS: NginxSettingName[] = ['fastcgi_buffer_size', 'proxy_buffer_size'];
const LIST_KEYS: NginxSettingName[] = ['fastcgi_next_upstream', 'proxy_next_upstream'];

const COMBINED = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';

const HEADER_RE = /^# configuration file (.+):$/;
const STDERR_RES: RegExp[] = [
  /^nginx: (?:the )?configuration file .* (?:syntax is ok|test is successful|test failed)$/,
  /^nginx: \[[a-z]+\] /,
  /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[(?:emerg|alert|crit|error|warn|notice|info|debug)\] \d+#\d+: /,
];
const QUIET_STDERR = /^nginx: (?:the )?configuration file .* (?:syntax is ok|test is successful)$/;

function cloneDefaults(): NginxUpstreamSettings {
  return {
    ...NGINX_DEFAULTS,
    fastcgi_buffers: { ...NGINX_DEFAULTS.fastcgi_buffers },
    fastcgi_next_upstream: [...NGINX_DEFAULTS.fastcgi_next_upstream],
    proxy_next_upstream: [...NGINX_DEFAULTS.proxy_next_upstream],
  };
}

function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? (i === 0 ? '/' : '.') : p.slice(0, i);
}

function joinPath(dir: string, rel: string): string {
  const parts = (dir.endsWith('/') ? dir + rel : `${dir}/${rel}`).split('/');
  const out: string[] = [];
  for (const part of parts) {
    if (part === '.' || (part === '' && out.length > 0)) continue;
    if (part === '..' && out.length > 1) out.pop();
    else out.push(part);
  }
  return out.join('/') || '/';
}

/** glob(3) subset nginx include uses: `*`, `?` and `[...]`, none crossing `/`. */
function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        let body = glob.slice(i + 1, end);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

interface SplitDump {
  files: { path: string; text: string }[];
  testOk?: boolean;
  messages: string[];
  warnings: string[];
}

function splitDump(text: string): SplitDump {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const files: { path: string; text: string }[] = [];
  const messages: string[] = [];
  const warnings: string[] = [];
  let cur: { path: string; lines: string[] } | undefined;
  const preamble: string[] = [];
  let sawHeader = false;
  let testOk: boolean | undefined;
  const flush = (): void => {
    if (cur) files.push({ path: cur.path, text: cur.lines.join('\n') });
  };
  for (const l of lines) {
    if (STDERR_RES.some((re) => re.test(l))) {
      if (/^nginx: configuration file .* test is successful$/.test(l)) testOk = true;
      else if (/^nginx: configuration file .* test failed$/.test(l)) testOk = false;
      if (!QUIET_STDERR.test(l)) messages.push(l);
      continue;
    }
    const h = HEADER_RE.exec(l);
    if (h) {
      flush();
      sawHeader = true;
      cur = { path: h[1]!, lines: [] };
      continue;
    }
    if (cur) cur.lines.push(l);
    else preamble.push(l);
  }
  flush();
  const ok = testOk === undefined ? {} : { testOk };
  if (!sawHeader) return { files: [{ path: '(input)', text: preamble.join('\n') }], messages, warnings, ...ok };
  if (preamble.some((l) => l.trim() !== '' && !l.trim().startsWith('#'))) {
    warnings.push('text before the first "# configuration file" header was ignored');
  }
  const seen = new Set<string>();
  const unique = files.filter((f) => {
    if (seen.has(f.path)) {
      warnings.push(`${f.path} dumped twice; first copy used`);
      return false;
    }
    seen.add(f.path);
    return true;
  });
  return { files: unique, messages, warnings, ...ok };
}

interface Ctx {
  warnings: string[];
  config: NginxConfig;
}

function src(d: NginxDirective, context: string): NginxSource {
  return { context, file: d.file, line: d.line };
}

/** Settings written directly in this block; nginx merges after the whole block is read, so order is irrelevant. */
function localSettings(block: NginxDirective[], context: string, ctx: Ctx): { values: Partial<NginxUpstreamSettings>; setAt: Partial<Record<NginxSettingName, NginxSource>> } {
  const values: Partial<NginxUpstreamSettings> = {};
  const setAt: Partial<Record<NginxSettingName, NginxSource>> = {};
  const bad = (d: NginxDirective): void => {
    ctx.warnings.push(`${d.file}:${d.line}: invalid value for ${d.name}: "${d.args.join(' ')}"`);
  };
  for (const d of block) {
    const key = d.name as NginxSettingName;
    if (DURATION_KEYS.includes(key)) {
      const v = d.args.length === 1 ? parseNginxDuration(d.args[0]!) : undefined;
      if (v === undefined) bad(d);
      else {
        (values as Record<string, number>)[key] = v;
        setAt[key] = src(d, context);
      }
    } else if (SIZE_KEYS.includes(key)) {
      const v = d.args.length === 1 ? parseNginxSize(d.args[0]!) : undefined;
      if (v === undefined) bad(d);
      else {
        (values as Record<string, number>)[key] = v;
        setAt[key] = src(d, context);
      }
    } else if (key === 'fastcgi_buffers') {
      const count = d.args.length === 2 && /^\d+$/.test(d.args[0]!) ? Number(d.args[0]) : undefined;
      const size = d.args.length === 2 ? parseNginxSize(d.args[1]!) : undefined;
      if (count === undefined || size === undefined) bad(d);
      else {
        values.fastcgi_buffers = { count, size };
        setAt.fastcgi_buffers = src(d, context);
      }
    } else if (LIST_KEYS.includes(key)) {
      if (d.args.length === 0) bad(d);
      else {
        (values as Record<string, string[]>)[key] = [...d.args];
        setAt[key] = src(d, context);
      }
    }
  }
  return { values, setAt };
}

function merge(parent: NginxEffectiveSettings, block: NginxDirective[], context: string, ctx: Ctx): NginxEffectiveSettings {
  const local = localSettings(block, context, ctx);
  return {
    values: { ...parent.values, ...local.values },
    setAt: { ...parent.setAt, ...local.setAt },
  };
}

function listenPort(arg: string): string | undefined {
  if (arg.startsWith('unix:')) return arg;
  if (/^\d+$/.test(arg)) return arg;
  const m = /:(\d+)$/.exec(arg);
  if (m) return m[1];
  return '80';
}

function addAccessLog(d: NginxDirective, context: string, ctx: Ctx): void {
  const path = d.args[0];
  if (path === undefined) {
    ctx.warnings.push(`${d.file}:${d.line}: access_log without a path`);
    return;
  }
  if (path === 'off') return;
  const entry: NginxAccessLog = {
    path,
    format: d.args[1] ?? 'combined',
    context,
    file: d.file,
    line: d.line,
  };
  if (path.startsWith('syslog:')) entry.syslog = true;
  for (const a of d.args.slice(2)) if (a.startsWith('if=')) entry.condition = a.slice(3);
  ctx.config.accessLogs.push(entry);
}

function addErrorLog(d: NginxDirective, context: string, ctx: Ctx): void {
  const path = d.args[0];
  if (path === undefined) {
    ctx.warnings.push(`${d.file}:${d.line}: error_log without a path`);
    return;
  }
  const entry: NginxErrorLog = { path, level: d.args[1] ?? 'error', context, file: d.file, line: d.line };
  if (path.startsWith('syslog:')) entry.syslog = true;
  ctx.config.errorLogs.push(entry);
}

function addLogFormat(d: NginxDirective, ctx: Ctx): void {
  const [name, ...rest] = d.args;
  if (name === undefined || rest.length === 0) {
    ctx.warnings.push(`${d.file}:${d.line}: log_format needs a name and a format`);
    return;
  }
  let escape: 'default' | 'json' | 'none' = 'default';
  if (rest[0]!.startsWith('escape=')) {
    const e = rest.shift()!.slice('escape='.length);
    if (e === 'json' || e === 'none' || e === 'default') escape = e;
    else ctx.warnings.push(`${d.file}:${d.line}: unknown log_format escape "${e}"`);
  }
  if (ctx.config.logFormats[name] !== undefined) {
    ctx.warnings.push(`${d.file}:${d.line}: duplicate log_format "${name}" (nginx rejects this); later one kept`);
  }
  ctx.config.logFormats[name] = { escape, format: rest.join('') };
}

function parseUpstream(d: NginxDirective, context: 'http' | 'stream', ctx: Ctx): void {
  const name = d.args[0];
  if (name === undefined) {
    ctx.warnings.push(`${d.file}:${d.line}: upstream without a name`);
    return;
  }
  const up: NginxUpstream = { name, context, servers: [], file: d.file, line: d.line };
  for (const s of d.block ?? []) {
    if (s.name === 'server' && s.args[0] !== undefined) {
      const server = { address: s.args[0], weight: 1, maxFails: 1, failTimeout: 10, backup: false, down: false } as NginxUpstream['servers'][number];
      for (const p of s.args.slice(1)) {
        const [k, v] = p.includes('=') ? [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] : [p, ''];
        if (k === 'weight' && /^\d+$/.test(v)) server.weight = Number(v);
        else if (k === 'max_fails' && /^\d+$/.test(v)) server.maxFails = Number(v);
        else if (k === 'max_conns' && /^\d+$/.test(v)) server.maxConns = Number(v);
        else if (k === 'fail_timeout') {
          const t = parseNginxDuration(v, { seconds: true });
          if (t === undefined) ctx.warnings.push(`${s.file}:${s.line}: invalid fail_timeout "${v}"`);
          else server.failTimeout = t;
        } else if (k === 'backup') server.backup = true;
        else if (k === 'down') server.down = true;
      }
      up.servers.push(server);
    } else if (s.name === 'keepalive' && /^\d+$/.test(s.args[0] ?? '')) {
      up.keepalive = Number(s.args[0]);
    }
  }
  ctx.config.upstreams.push(up);
}

function walkLocation(d: NginxDirective, parentEff: NginxEffectiveSettings, serverLabel: string, server: NginxServer, parentMatch: string | undefined, ctx: Ctx): void {
  const args = d.args;
  let modifier: NginxLocation['modifier'] = '';
  let path = args[0] ?? '';
  if (args.length >= 2 && ['=', '~', '~*', '^~'].includes(args[0]!)) {
    modifier = args[0] as NginxLocation['modifier'];
    path = args[1]!;
  } else if (path.startsWith('@')) {
    modifier = '@';
  } else if (args.length === 1) {
    // nginx also accepts the modifier glued to the path: `location =/x`, `location ~\.php$`.
    const m = /^(=|~\*|~|\^~)(.+)$/.exec(path);
    if (m) {
      modifier = m[1] as NginxLocation['modifier'];
      path = m[2]!;
    }
  }
  const match = args.join(' ');
  const label = `${serverLabel} location ${match}`;
  const block = d.block ?? [];
  const eff = merge(parentEff, block, label, ctx);
  const loc: NginxLocation = { label, match, modifier, path, settings: eff, file: d.file, line: d.line };
  if (parentMatch !== undefined) loc.parent = parentMatch;
  server.locations.push(loc);
  for (const c of block) {
    if (c.name === 'fastcgi_pass' && c.args[0] !== undefined) loc.fastcgiPass = c.args[0];
    else if (c.name === 'proxy_pass' && c.args[0] !== undefined) loc.proxyPass = c.args[0];
    else if (c.name === 'access_log') addAccessLog(c, label, ctx);
    else if (c.name === 'error_log') addErrorLog(c, label, ctx);
    else if (c.name === 'location' && c.block) walkLocation(c, eff, serverLabel, server, match, ctx);
  }
}

function walkServer(d: NginxDirective, httpEff: NginxEffectiveSettings, ctx: Ctx): void {
  const block = d.block ?? [];
  const listen: string[] = [];
  const serverName: string[] = [];
  for (const c of block) {
    if (c.name === 'listen' && c.args[0] !== undefined) listen.push(c.args[0]);
    else if (c.name === 'server_name') serverName.push(...c.args);
  }
  const name = serverName.find((s) => s !== '') ?? '_';
  const port = listen[0] !== undefined ? listenPort(listen[0]) : undefined;
  const label = `server ${name}${port !== undefined ? `:${port}` : ''}`;
  const eff = merge(httpEff, block, label, ctx);
  const server: NginxServer = { label, listen, serverName, settings: eff, locations: [], file: d.file, line: d.line };
  ctx.config.servers.push(server);
  for (const c of block) {
    if (c.name === 'access_log') addAccessLog(c, label, ctx);
    else if (c.name === 'error_log') addErrorLog(c, label, ctx);
    else if (c.name === 'location' && c.block) walkLocation(c, eff, label, server, undefined, ctx);
  }
}

function walkHttp(block: NginxDirective[], ctx: Ctx): void {
  const eff = merge({ values: cloneDefaults(), setAt: {} }, block, 'http', ctx);
  ctx.config.http = eff;
  for (const c of block) {
    if (c.name === 'log_format') addLogFormat(c, ctx);
    else if (c.name === 'access_log') addAccessLog(c, 'http', ctx);
    else if (c.name === 'error_log') addErrorLog(c, 'http', ctx);
    else if (c.name === 'upstream' && c.block) parseUpstream(c, 'http', ctx);
    else if (c.name === 'server' && c.block) walkServer(c, eff, ctx);
  }
}

function walkMain(block: NginxDirective[], ctx: Ctx): void {
  const loose: NginxDirective[] = [];
  for (const d of block) {
    switch (d.name) {
      case 'user':
        if (d.args[0] !== undefined) {
          ctx.config.user = { name: d.args[0] };
          if (d.args[1] !== undefined) ctx.config.user.group = d.args[1];
        }
        break;
      case 'worker_processes':
        if (d.args[0] !== undefined) ctx.config.workerProcesses = d.args[0];
        break;
      case 'worker_rlimit_nofile':
        if (/^\d+$/.test(d.args[0] ?? '')) ctx.config.workerRlimitNofile = Number(d.args[0]);
        else ctx.warnings.push(`${d.file}:${d.line}: invalid worker_rlimit_nofile`);
        break;
      case 'error_log':
        addErrorLog(d, 'main', ctx);
        break;
      case 'events':
        for (const e of d.block ?? []) {
          if (e.name === 'worker_connections') {
            if (/^\d+$/.test(e.args[0] ?? '')) ctx.config.workerConnections = Number(e.args[0]);
            else ctx.warnings.push(`${e.file}:${e.line}: invalid worker_connections`);
          }
        }
        break;
      case 'http':
        walkHttp(d.block ?? [], ctx);
        break;
      case 'stream':
        for (const s of d.block ?? []) if (s.name === 'upstream' && s.block) parseUpstream(s, 'stream', ctx);
        break;
      case 'server':
      case 'upstream':
      case 'log_format':
      case 'location':
        // A pasted site file without its nginx.conf: treat http-level blocks as if inside http.
        loose.push(d);
        break;
      default:
        break;
    }
  }
  if (loose.length > 0) {
    ctx.warnings.push(`${loose.map((d) => `${d.name}@${d.file}:${d.line}`).join(', ')} outside http{}; parsed as if inside http (input looks like a fragment)`);
    const httpEff = ctx.config.http;
    for (const d of loose) {
      if (d.name === 'server' && d.block) walkServer(d, httpEff, ctx);
      else if (d.name === 'upstream' && d.block) parseUpstream(d, 'http', ctx);
      else if (d.name === 'log_format') addLogFormat(d, ctx);
      else if (d.name === 'location' && d.block) {
        const pseudo: NginxServer = {
          label: 'server (none)',
          listen: [],
          serverName: [],
          settings: httpEff,
          locations: [],
          file: d.file,
          line: d.line,
        };
        ctx.config.servers.push(pseudo);
        walkLocation(d, httpEff, pseudo.label, pseudo, undefined, ctx);
      }
    }
  }
}

export function parseNginxT(text: string): NginxConfig {
  const config: NginxConfig = {
    files: [],
    logFormats: { combined: { escape: 'default', format: COMBINED, builtin: true } },
    accessLogs: [],
    errorLogs: [],
    http: { values: cloneDefaults(), setAt: {} },
    servers: [],
    upstreams: [],
    notes: [PAGE_NOTE],
    messages: [],
    warnings: [],
  };
  const ctx: Ctx = { warnings: config.warnings, config };
  try {
    const dump = splitDump(typeof text === 'string' ? text : '');
    config.messages.push(...dump.messages);
    if (dump.testOk !== undefined) config.testOk = dump.testOk;
    config.warnings.push(...dump.warnings);
    config.files = dump.files.map((f) => f.path);
    if (dump.files.length === 0 || dump.files.every((f) => f.text.trim() === '')) {
      config.warnings.push('no nginx configuration found in input');
      return config;
    }
    const parsed = new Map<string, NginxDirective[]>();
    for (const f of dump.files) {
      const p = parseNginxSyntax(f.text, f.path);
      parsed.set(f.path, p.directives);
      config.warnings.push(...p.warnings);
    }
    const main = dump.files[0]!.path;
    const prefix = dirname(main);
    const consumed = new Set<string>([main]);

    const expand = (list: NginxDirective[], chain: string[]): NginxDirective[] => {
      const out: NginxDirective[] = [];
      for (const d of list) {
        if (d.name === 'include' && !d.block && d.args.length === 1) {
          const arg = d.args[0]!;
          const full = arg.startsWith('/') ? arg : joinPath(prefix, arg);
          const isGlob = /[*?[]/.test(full);
          const re = isGlob ? globToRegExp(full) : undefined;
          const hits = config.files.filter((f) => (re ? re.test(f) : f === full));
          if (hits.length === 0 && !isGlob) {
            config.warnings.push(`${d.file}:${d.line}: include ${arg}: ${full} is not in the dump; its settings are missing`);
          }
          for (const h of hits) {
            if (chain.includes(h)) {
              config.warnings.push(`${d.file}:${d.line}: include cycle through ${h}; skipped`);
              continue;
            }
            if (chain.length > 32) {
              config.warnings.push(`${d.file}:${d.line}: include nesting too deep; ${h} skipped`);
              continue;
            }
            consumed.add(h);
            out.push(...expand(parsed.get(h) ?? [], [...chain, h]));
          }
          continue;
        }
        out.push(d.block ? { ...d, block: expand(d.block, chain) } : d);
      }
      return out;
    };

    const tree = expand(parsed.get(main) ?? [], [main]);
    // Files nginx read but we could not place (odd include forms, partial paste): parse standalone.
    for (const f of config.files) {
      if (consumed.has(f)) continue;
      const dirs = parsed.get(f) ?? [];
      if (dirs.length === 0) continue;
      config.warnings.push(`${f} is not reached by any include we could resolve; parsed at top level`);
      consumed.add(f);
      tree.push(...expand(dirs, [f]));
    }
    walkMain(tree, ctx);
  } catch (err) {
    config.warnings.push(`internal parser error: ${err instanceof Error ? err.message : String(err)}`);
  }
  config.warnings = capWarnings(config.warnings);
  return config;
}
