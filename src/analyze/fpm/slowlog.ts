import { localTimeToEpoch, looksBinary, monthIndex, pushCapped, truncate } from '../errorlog/localtime.js';
import { inWindow, type Window } from '../window.js';

export interface SlowLogOptions {
  window?: Window;
  /** Local minus UTC in minutes. Default: this process's zone. */
  tzOffsetMinutes?: number;
}

export interface SlowLogEntry {
  time: number;
  pool: string;
  pid: number;
  script: string | null;
  /** `func() file:line`, innermost first, address stripped. */
  frames: string[];
  dumpFailed: boolean;
}

export interface SlowLogStats {
  lines: number;
  entries: number;
  inWindow: number;
  byScript: { script: string; count: number }[];
  /** Innermost frame: what the worker was doing (often curl_exec(), usleep(), PDOStatement->execute()). */
  byTopFrame: { frame: string; count: number }[];
  /** First frame not in `unknown:0`, i.e. the application line that made the blocking call. */
  byUserFrame: { frame: string; count: number }[];
  byPool: { pool: string; count: number }[];
  dumpFailed: number;
  samples: string[];
  firstSeen: number | null;
  lastSeen: number | null;
  unparsed: number;
  unparsedSamples: string[];
}

// fpm_php_trace.c: zlog_print_time "[%d-%b-%Y %H:%M:%S] " then " [pool %s] pid %d" (hence two spaces).
const HEADER_RE = /^\[(\d{2})-([A-Z][a-z]{2})-(\d{4}) (\d{2}):(\d{2}):(\d{2})\]\s+\[pool ([^\]]+)\] pid (\d+)\s*$/;
const FRAME_RE = /^\[0x[0-9a-fA-F]+\] (.+)$/;
const SCRIPT_RE = /^script_filename = (.*)$/;
const MAX_SLOW_LINE = 16_384;
const MAX_FRAMES_KEPT = 64;
const MAX_DISTINCT = 5_000;
const TOP_N = 50;

function bump(map: Map<string, number>, key: string): void {
  const n = map.get(key);
  if (n !== undefined) map.set(key, n + 1);
  else if (map.size < MAX_DISTINCT) map.set(key, 1);
}

function top<K extends string>(map: Map<string, number>, name: K): ({ count: number } & Record<K, string>)[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, TOP_N)
    .map(([k, count]) => ({ [name]: k, count }) as { count: number } & Record<K, string>);
}

export interface SlowLogAnalyzer {
  push(line: string): void;
  result(): SlowLogStats;
}

interface Agg {
  entries: number;
  inWin: number;
  dumpFailed: number;
  firstSeen: number | null;
  lastSeen: number | null;
  byScript: Map<string, number>;
  byTop: Map<string, number>;
  byUser: Map<string, number>;
  byPool: Map<string, number>;
  samples: string[];
}

function cloneAgg(a: Agg): Agg {
  return {
    ...a,
    byScript: new Map(a.byScript),
    byTop: new Map(a.byTop),
    byUser: new Map(a.byUser),
    byPool: new Map(a.byPool),
    samples: [...a.samples],
  };
}

interface Pending {
  entry: SlowLogEntry;
  lines: string[];
}

function commit(a: Agg, c: Pending, window: Window | undefined): void {
  const e = c.entry;
  a.entries++;
  if (window && !inWindow(window, e.time)) return;
  a.inWin++;
  if (a.firstSeen === null || e.time < a.firstSeen) a.firstSeen = e.time;
  if (a.lastSeen === null || e.time > a.lastSeen) a.lastSeen = e.time;
  bump(a.byScript, e.script ?? '-');
  bump(a.byPool, e.pool);
  if (e.dumpFailed) a.dumpFailed++;
  const first = e.frames[0];
  if (first !== undefined) bump(a.byTop, first);
  const user = e.frames.find((f) => !f.endsWith(' unknown:0'));
  if (user !== undefined) bump(a.byUser, user);
  pushCapped(a.samples, truncate(c.lines.join('\n'), 2000), 3);
}

export function createSlowLogAnalyzer(opts: SlowLogOptions = {}): SlowLogAnalyzer {
  let lines = 0;
  let unparsed = 0;
  const unparsedSamples: string[] = [];
  const agg: Agg = {
    entries: 0,
    inWin: 0,
    dumpFailed: 0,
    firstSeen: null,
    lastSeen: null,
    byScript: new Map(),
    byTop: new Map(),
    byUser: new Map(),
    byPool: new Map(),
    samples: [],
  };
  let cur: Pending | null = null;

  const noteUnparsed = (line: string): void => {
    unparsed++;
    pushCapped(unparsedSamples, truncate(line, 200), 5);
  };

  const pushOne = (rawLine: string): void => {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    lines++;
    if (line.trim() === '') return;
    if (line.length > MAX_SLOW_LINE || looksBinary(line)) {
      noteUnparsed(line);
      return;
    }
    const h = HEADER_RE.exec(line);
    if (h) {
      if (cur) commit(agg, cur, opts.window);
      cur = null;
      const month = monthIndex(h[2]!);
      const time = month === undefined ? null : localTimeToEpoch(Number(h[3]), month, Number(h[1]), Number(h[4]), Number(h[5]), Number(h[6]), 0, opts.tzOffsetMinutes);
      if (time === null) {
        noteUnparsed(line);
        return;
      }
      cur = {
        entry: { time, pool: h[7]!, pid: Number(h[8]), script: null, frames: [], dumpFailed: false },
        lines: [line],
      };
      return;
    }
    if (!cur) {
      noteUnparsed(line);
      return;
    }
    const s = SCRIPT_RE.exec(line);
    if (s && cur.entry.script === null) {
      cur.entry.script = s[1]!;
      cur.lines.push(line);
      return;
    }
    const f = FRAME_RE.exec(line);
    if (f) {
      if (cur.entry.frames.length < MAX_FRAMES_KEPT) {
        cur.entry.frames.push(f[1]!);
        cur.lines.push(line);
      }
      return;
    }
    if (line.startsWith('+++ dump failed')) {
      cur.entry.dumpFailed = true;
      cur.lines.push(line);
      return;
    }
    noteUnparsed(line);
  };

  return {
    push(line: string): void {
      if (typeof line !== 'string') return;
      if (line.includes('\n')) for (const p of line.split('\n')) pushOne(p);
      else pushOne(line);
    },
    result(): SlowLogStats {
      // The last entry has no terminator: count it in a copy so that pushing may continue.
      let a = agg;
      if (cur) {
        a = cloneAgg(agg);
        commit(a, cur, opts.window);
      }
      return {
        lines,
        entries: a.entries,
        inWindow: a.inWin,
        byScript: top(a.byScript, 'script'),
        byTopFrame: top(a.byTop, 'frame'),
        byUserFrame: top(a.byUser, 'frame'),
        byPool: top(a.byPool, 'pool'),
        dumpFailed: a.dumpFailed,
        samples: [...a.samples],
        firstSeen: a.firstSeen,
        lastSeen: a.lastSeen,
        unparsed,
        unparsedSamples: [...unparsedSamples],
      };
    },
  };
}

export function analyzeSlowLog(lines: Iterable<string>, opts: SlowLogOptions = {}): SlowLogStats {
  const a = createSlowLogAnalyzer(opts);
  for (const l of lines) a.push(l);
  return a.result();
}
