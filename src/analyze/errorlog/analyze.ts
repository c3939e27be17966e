import { inWindow } from '../window.js';
import { kindRank } from './classify.js';
import { looksBinary, MAX_LINE_LENGTH, pushCapped, truncate } from './localtime.js';
import { ENTRY_START_RE, isErrorEntryHeader, parseErrorEntry } from './parse.js';
import type { ErrorEntry, ErrorKind, ErrorLogOptions, ErrorLogStats, ErrorSignature, PhpMessageCount } from './types.js';

const MAX_UNPARSED_SAMPLES = 5;
const MAX_SAMPLE_CHARS = 500;
const MAX_SIG_SAMPLES = 3;
const MAX_SIG_UPSTREAMS = 10;
const MAX_SIG_ACTIONS = 10;
const MAX_CONNECTIONS = 20_000;
const MAX_PHP_DISTINCT = 2_000;
const TOP_PHP = 10;
// nginx caps an entry at 2048 bytes (NGX_MAX_ERROR_STR); generous bounds keep garbage from growing one entry forever.
const MAX_CONTINUATION_LINES = 200;
const MAX_ENTRY_CHARS = 32_768;

// Startup notices and keepalive chatter would bury real failures if they became signatures.
const QUIET_LEVELS = new Set(['debug', 'info', 'notice']);

interface SigState {
  kind: ErrorKind;
  status: number | null;
  count: number;
  firstSeen: number;
  lastSeen: number;
  upstreams: Set<string>;
  actions: Set<string>;
  samples: string[];
}

interface State {
  lines: number;
  entries: number;
  inWindow: number;
  outsideWindow: number;
  unparsed: number;
  unparsedSamples: string[];
  byLevel: Map<string, number>;
  sigs: Map<string, SigState>;
  connections: Map<string, ErrorKind>;
  connectionsTruncated: boolean;
  php: Map<string, number>;
}

function newState(): State {
  return {
    lines: 0,
    entries: 0,
    inWindow: 0,
    outsideWindow: 0,
    unparsed: 0,
    unparsedSamples: [],
    byLevel: new Map(),
    sigs: new Map(),
    connections: new Map(),
    connectionsTruncated: false,
    php: new Map(),
  };
}

/** Individual `PHP message: ...` items from a stderr payload (separated by "\n" in old PHP, "; " since 8.x). */
export function extractPhpMessages(stderr: string): string[] {
  const parts = stderr.split('PHP message: ');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) {
    const msg = parts[i]!.replace(/(?:;\s*|\s+)$/, '')
      .replace(/\s*\n\s*/g, ' ')
      .trim();
    if (msg !== '') out.push(truncate(msg, 300));
  }
  return out;
}

function noteUnparsed(s: State, text: string): void {
  s.unparsed++;
  pushCapped(s.unparsedSamples, truncate(text, 200), MAX_UNPARSED_SAMPLES);
}

function addEntry(s: State, e: ErrorEntry, opts: ErrorLogOptions): void {
  s.entries++;
  if (opts.window && !inWindow(opts.window, e.time)) {
    s.outsideWindow++;
    return;
  }
  s.inWindow++;
  s.byLevel.set(e.level, (s.byLevel.get(e.level) ?? 0) + 1);

  if (e.cid !== null && e.kind !== 'other') {
    const key = String(e.cid);
    const prev = s.connections.get(key);
    if (prev === undefined) {
      if (s.connections.size < MAX_CONNECTIONS) s.connections.set(key, e.kind);
      else s.connectionsTruncated = true;
    } else if (kindRank(e.kind) >= kindRank(prev)) {
      s.connections.set(key, e.kind);
    }
  }

  if (e.stderr !== null) {
    for (const msg of extractPhpMessages(e.stderr)) {
      const n = s.php.get(msg);
      if (n !== undefined) s.php.set(msg, n + 1);
      else if (s.php.size < MAX_PHP_DISTINCT) s.php.set(msg, 1);
    }
  }

  if (e.kind === 'other' && QUIET_LEVELS.has(e.level)) return;
  const key = `${e.kind}|${e.status ?? ''}`;
  let sig = s.sigs.get(key);
  if (!sig) {
    sig = {
      kind: e.kind,
      status: e.status,
      count: 0,
      firstSeen: e.time,
      lastSeen: e.time,
      upstreams: new Set(),
      actions: new Set(),
      samples: [],
    };
    s.sigs.set(key, sig);
  }
  sig.count++;
  if (e.time < sig.firstSeen) sig.firstSeen = e.time;
  if (e.time > sig.lastSeen) sig.lastSeen = e.time;
  if (e.upstream !== null && sig.upstreams.size < MAX_SIG_UPSTREAMS) sig.upstreams.add(e.upstream);
  if (e.action !== null && sig.actions.size < MAX_SIG_ACTIONS) sig.actions.add(e.action);
  pushCapped(sig.samples, truncate(e.raw, MAX_SAMPLE_CHARS), MAX_SIG_SAMPLES);
}

function build(s: State): ErrorLogStats {
  const signatures: ErrorSignature[] = [...s.sigs.values()]
    .map((g) => ({
      kind: g.kind,
      status: g.status,
      count: g.count,
      firstSeen: g.firstSeen,
      lastSeen: g.lastSeen,
      upstreams: [...g.upstreams],
      actions: [...g.actions],
      samples: [...g.samples],
    }))
    .sort((a, b) => b.count - a.count || a.firstSeen - b.firstSeen);
  const phpMessages: PhpMessageCount[] = [...s.php.entries()]
    .map(([message, count]) => ({ message, count }))
    .sort((a, b) => b.count - a.count || (a.message < b.message ? -1 : 1))
    .slice(0, TOP_PHP);
  return {
    lines: s.lines,
    entries: s.entries,
    inWindow: s.inWindow,
    outsideWindow: s.outsideWindow,
    unparsed: s.unparsed,
    unparsedSamples: [...s.unparsedSamples],
    byLevel: Object.fromEntries(s.byLevel),
    signatures,
    connections: Object.fromEntries(s.connections),
    connectionsTruncated: s.connectionsTruncated,
    phpMessages,
  };
}

export interface ErrorLogAnalyzer {
  /** One physical line (a chunk containing newlines is split). */
  push(line: string): void;
  /** Snapshot; pushing may continue afterwards. */
  result(): ErrorLogStats;
}

export function createErrorLogAnalyzer(opts: ErrorLogOptions = {}): ErrorLogAnalyzer {
  const state = newState();
  // An entry stays pending until the next timestamped line, because FastCGI stderr may continue it.
  let pending: string[] | null = null;
  let pendingChars = 0;

  const flushInto = (s: State, lines: string[]): void => {
    const raw = lines.join('\n');
    const entry = parseErrorEntry(raw, opts.tzOffsetMinutes);
    if (entry) addEntry(s, entry, opts);
    else for (const l of lines) noteUnparsed(s, l);
  };

  const pushOne = (rawLine: string): void => {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    state.lines++;
    if (line.length > MAX_LINE_LENGTH) {
      noteUnparsed(state, line);
      return;
    }
    if (ENTRY_START_RE.test(line)) {
      if (pending) flushInto(state, pending);
      pending = null;
      pendingChars = 0;
      if (!isErrorEntryHeader(line)) {
        noteUnparsed(state, line);
        return;
      }
      pending = [line];
      pendingChars = line.length;
      return;
    }
    if (pending && !looksBinary(line) && pending.length <= MAX_CONTINUATION_LINES && pendingChars + line.length + 1 <= MAX_ENTRY_CHARS) {
      pending.push(line);
      pendingChars += line.length + 1;
      return;
    }
    // Empty lines between entries are not content worth reporting.
    if (line.trim() === '') return;
    noteUnparsed(state, line);
  };

  return {
    push(line: string): void {
      if (typeof line !== 'string') return;
      if (line.includes('\n')) {
        const parts = line.split('\n');
        if (parts[parts.length - 1] === '') parts.pop();
        for (const p of parts) pushOne(p);
      } else {
        pushOne(line);
      }
    },
    result(): ErrorLogStats {
      if (!pending) return build(state);
      const snapshot = structuredClone(state);
      flushInto(snapshot, pending);
      return build(snapshot);
    },
  };
}

export function analyzeErrorLog(lines: Iterable<string>, opts: ErrorLogOptions = {}): ErrorLogStats {
  const a = createErrorLogAnalyzer(opts);
  for (const l of lines) a.push(l);
  return a.result();
}
