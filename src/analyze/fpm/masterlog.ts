import { localTimeToEpoch, looksBinary, monthIndex, pushCapped, truncate } from '../errorlog/localtime.js';
import { inWindow, type Window } from '../window.js';

/** Stable event kinds of the FPM master log; part of the bot's vocabulary, never rename. */
export type FpmEventKind =
  | 'max_children_reached'
  | 'seems_busy'
  | 'slow_request'
  | 'execution_timed_out'
  | 'exited_on_signal'
  | 'exited_with_code'
  | 'child_started'
  | 'said_into_stderr'
  | 'reloading'
  | 'terminating'
  | 'finishing'
  | 'ready'
  | 'master_started' // "fpm is running, pid N"
  | 'exiting' // "exiting, bye-bye!"
  | 'failed_threshold'
  | 'process_max'
  | 'ptrace_failed'
  | 'tracing' // slowlog ptrace cycle: stopped for tracing / about to trace / finished trace
  | 'unknown_child'
  | 'other';

export interface FpmEvent {
  /** Epoch ms; null for the syslog form, which carries no time. */
  time: number | null;
  level: string;
  kind: FpmEventKind;
  pool: string | null;
  /** Child pid for child events. */
  pid: number | null;
  script: string | null;
  request: string | null;
  seconds: number | null;
  signal: number | null;
  signalName: string | null;
  coreDumped: boolean | null;
  exitCode: number | null;
  /** pm.max_children value quoted by max_children_reached. */
  setting: number | null;
  /** said_into_stderr payload, or the rest of the message. */
  text: string;
  raw: string;
}

export interface FpmLogOptions {
  window?: Window;
  /** Local minus UTC in minutes. Default: this process's zone. */
  tzOffsetMinutes?: number;
}

export interface FpmSignalCount {
  signal: number;
  name: string;
  count: number;
}

export interface FpmTermination {
  time: number | null;
  pid: number | null;
  pool: string | null;
  script: string | null;
  request: string | null;
  seconds: number | null;
}

export interface FpmLogStats {
  lines: number;
  /** Parsed event lines (in and outside the window). */
  parsed: number;
  inWindow: number;
  outsideWindow: number;
  /** Events without a timestamp (syslog form); always counted, the window cannot apply. */
  untimed: number;
  events: Partial<Record<FpmEventKind, number>>;
  pools: string[];
  /** Largest pm.max_children quoted by "server reached ... max_children setting (N)". */
  maxChildrenSetting?: number;
  maxChildrenByPool: Record<string, number>;
  timeline: Partial<Record<FpmEventKind, { first: number; last: number }>>;
  samples: Partial<Record<FpmEventKind, string[]>>;
  signals: FpmSignalCount[];
  terminations: FpmTermination[];
  unparsed: number;
  unparsedSamples: string[];
}

// zlog truncates at log_limit (default 1024); anything far longer is not FPM's and would only cost regex time.
const MAX_FPM_LINE = 16_384;

const LEVELS = 'DEBUG|NOTICE|WARNING|ERROR|ALERT|SYSERROR';
// zlog.c: "[%d-%b-%Y %H:%M:%S" (+ ".%06d" at debug level) "] LEVEL: " (+ "pid %d, %s(), line %d: " at debug level)
const TIMED_RE = new RegExp(`^\\[(\\d{2})-([A-Z][a-z]{2})-(\\d{4}) (\\d{2}):(\\d{2}):(\\d{2})(?:\\.(\\d{1,6}))?\\] (${LEVELS}): (?:pid \\d+, [A-Za-z0-9_]+\\(\\), line \\d+: )?`);
// error_log = syslog: "[LEVEL] message", optionally behind a classic syslog prefix "Mon DD HH:MM:SS host prog[pid]: ".
const SYSLOG_RE = new RegExp(`^(?:[A-Z][a-z]{2} [ \\d]\\d \\d{2}:\\d{2}:\\d{2} \\S+ [^\\s:]+: )?\\[(${LEVELS})\\] (?:pid \\d+, [A-Za-z0-9_]+\\(\\), line \\d+: )?`);

const POOL = String.raw`\[pool ([^\]]+)\] `;
const CHILD_REQ = String.raw`child (\d+), script '(.*)' \(request: "(.*)"\) `;

interface Rule {
  kind: FpmEventKind;
  re: RegExp;
  fill?: (m: RegExpExecArray, e: FpmEvent) => void;
}

const num = (s: string | undefined): number | null => {
  if (s === undefined) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
};

const RULES: Rule[] = [
  {
    kind: 'max_children_reached',
    re: new RegExp(`^${POOL}server reached (?:pm\\.)?max_children setting \\((\\d+)\\), consider raising it`),
    fill: (m, e) => {
      e.pool = m[1]!;
      e.setting = num(m[2]);
    },
  },
  {
    kind: 'seems_busy',
    re: new RegExp(`^${POOL}seems busy \\(.*\\), spawning (\\d+) children, there are (\\d+) idle, and (\\d+) total children`),
    fill: (m, e) => {
      e.pool = m[1]!;
    },
  },
  {
    kind: 'slow_request',
    re: new RegExp(`^${POOL}${CHILD_REQ}executing too slow \\((\\d+(?:\\.\\d+)?) sec\\), logging`),
    fill: childReq,
  },
  {
    kind: 'execution_timed_out',
    re: new RegExp(`^${POOL}${CHILD_REQ}execution timed out \\((\\d+(?:\\.\\d+)?) sec\\), terminating`),
    fill: childReq,
  },
  {
    kind: 'exited_on_signal',
    re: new RegExp(`^${POOL}child (\\d+) exited on signal (\\d+) \\(([A-Z0-9+-]+?)( - core dumped)?\\) after (\\d+(?:\\.\\d+)?) seconds from start`),
    fill: (m, e) => {
      e.pool = m[1]!;
      e.pid = num(m[2]);
      e.signal = num(m[3]);
      e.signalName = m[4]!;
      e.coreDumped = m[5] !== undefined;
      e.seconds = num(m[6]);
    },
  },
  {
    kind: 'exited_with_code',
    re: new RegExp(`^${POOL}child (\\d+) exited with code (\\d+) after (\\d+(?:\\.\\d+)?) seconds from start`),
    fill: (m, e) => {
      e.pool = m[1]!;
      e.pid = num(m[2]);
      e.exitCode = num(m[3]);
      e.seconds = num(m[4]);
    },
  },
  {
    kind: 'child_started',
    re: new RegExp(`^${POOL}child (\\d+) started`),
    fill: (m, e) => {
      e.pool = m[1]!;
      e.pid = num(m[2]);
    },
  },
  {
    kind: 'said_into_stderr',
    // log_limit may cut the closing quote, so it is optional.
    re: new RegExp(`^${POOL}child (\\d+) said into std(?:err|out): "(.*?)"?(?:, pipe is closed)?$`, 's'),
    fill: (m, e) => {
      e.pool = m[1]!;
      e.pid = num(m[2]);
      e.text = m[3]!;
    },
  },
  { kind: 'reloading', re: /^(?:Reloading in progress|reloading: execvp)/ },
  { kind: 'terminating', re: /^Terminating \.\.\./ },
  { kind: 'finishing', re: /^Finishing \.\.\./ },
  { kind: 'ready', re: /^ready to handle connections/ },
  { kind: 'master_started', re: /^fpm is running, pid \d+/ },
  { kind: 'exiting', re: /^exiting, bye-bye!/ },
  { kind: 'failed_threshold', re: /^failed processes threshold \(\d+ in \d+ sec\) is reached, initiating reload/ },
  { kind: 'process_max', re: /^The maximum number of processes has been reached/ },
  { kind: 'ptrace_failed', re: /ptrace\([A-Z_]*\).*failed|failed to ptrace/i },
  { kind: 'tracing', re: /^(?:child \d+ stopped for tracing|about to trace \d+|finished trace of \d+)/ },
  {
    kind: 'unknown_child',
    re: /^oops, unknown child \((\d+)\) exited/,
    fill: (m, e) => {
      e.pid = num(m[1]);
    },
  },
];

function childReq(m: RegExpExecArray, e: FpmEvent): void {
  e.pool = m[1]!;
  e.pid = num(m[2]);
  e.script = m[3]!;
  e.request = m[4]!;
  e.seconds = num(m[5]);
}

/** Parse one master-log line; null when it is not in any FPM log layout. */
export function parseFpmLogLine(line: string, tzOffsetMinutes?: number): FpmEvent | null {
  if (line.length > MAX_FPM_LINE) return null;
  let time: number | null = null;
  let level: string;
  let rest: string;
  const t = TIMED_RE.exec(line);
  if (t) {
    const month = monthIndex(t[2]!);
    if (month === undefined) return null;
    const micros = t[7] ?? '';
    const millis = micros === '' ? 0 : Math.floor(Number(micros.padEnd(6, '0')) / 1000);
    time = localTimeToEpoch(Number(t[3]), month, Number(t[1]), Number(t[4]), Number(t[5]), Number(t[6]), millis, tzOffsetMinutes);
    if (time === null) return null;
    level = t[8]!;
    rest = line.slice(t[0].length);
  } else {
    const s = SYSLOG_RE.exec(line);
    if (!s) return null;
    level = s[1]!;
    rest = line.slice(s[0].length);
  }
  const e: FpmEvent = {
    time,
    level,
    kind: 'other',
    pool: null,
    pid: null,
    script: null,
    request: null,
    seconds: null,
    signal: null,
    signalName: null,
    coreDumped: null,
    exitCode: null,
    setting: null,
    text: rest,
    raw: line,
  };
  for (const r of RULES) {
    const m = r.re.exec(rest);
    if (m) {
      e.kind = r.kind;
      r.fill?.(m, e);
      return e;
    }
  }
  const pool = /^\[pool ([^\]]+)\] /.exec(rest);
  if (pool) e.pool = pool[1]!;
  return e;
}

const MAX_SAMPLES = 3;
const MAX_TERMINATIONS = 50;
const MAX_POOLS = 200;

export interface FpmLogAnalyzer {
  push(line: string): void;
  result(): FpmLogStats;
}

export function createFpmLogAnalyzer(opts: FpmLogOptions = {}): FpmLogAnalyzer {
  let lines = 0;
  let parsed = 0;
  let inWin = 0;
  let outside = 0;
  let untimed = 0;
  let unparsed = 0;
  const unparsedSamples: string[] = [];
  const events = new Map<FpmEventKind, number>();
  const pools = new Set<string>();
  const maxChildrenByPool = new Map<string, number>();
  const timeline = new Map<FpmEventKind, { first: number; last: number }>();
  const samples = new Map<FpmEventKind, string[]>();
  const signals = new Map<number, FpmSignalCount>();
  const terminations: FpmTermination[] = [];

  const pushOne = (rawLine: string): void => {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    lines++;
    if (line.trim() === '') return;
    const e = looksBinary(line) ? null : parseFpmLogLine(line, opts.tzOffsetMinutes);
    if (!e) {
      unparsed++;
      pushCapped(unparsedSamples, truncate(line, 200), 5);
      return;
    }
    parsed++;
    if (e.time === null) untimed++;
    else if (opts.window && !inWindow(opts.window, e.time)) {
      outside++;
      return;
    }
    inWin++;
    events.set(e.kind, (events.get(e.kind) ?? 0) + 1);
    if (e.pool !== null && pools.size < MAX_POOLS) pools.add(e.pool);
    if (e.time !== null) {
      const tl = timeline.get(e.kind);
      if (!tl) timeline.set(e.kind, { first: e.time, last: e.time });
      else {
        if (e.time < tl.first) tl.first = e.time;
        if (e.time > tl.last) tl.last = e.time;
      }
    }
    let s = samples.get(e.kind);
    if (!s) samples.set(e.kind, (s = []));
    pushCapped(s, truncate(line, 500), MAX_SAMPLES);
    if (e.kind === 'max_children_reached' && e.setting !== null && e.pool !== null) {
      maxChildrenByPool.set(e.pool, e.setting);
    }
    if (e.kind === 'exited_on_signal' && e.signal !== null) {
      const sc = signals.get(e.signal);
      if (sc) sc.count++;
      else signals.set(e.signal, { signal: e.signal, name: e.signalName ?? '', count: 1 });
    }
    if (e.kind === 'execution_timed_out') {
      pushCapped(terminations, { time: e.time, pid: e.pid, pool: e.pool, script: e.script, request: e.request, seconds: e.seconds }, MAX_TERMINATIONS);
    }
  };

  return {
    push(line: string): void {
      if (typeof line !== 'string') return;
      if (line.includes('\n')) for (const p of line.split('\n')) pushOne(p);
      else pushOne(line);
    },
    result(): FpmLogStats {
      const settings = [...maxChildrenByPool.values()];
      const stats: FpmLogStats = {
        lines,
        parsed,
        inWindow: inWin,
        outsideWindow: outside,
        untimed,
        events: Object.fromEntries(events),
        pools: [...pools].sort(),
        maxChildrenByPool: Object.fromEntries(maxChildrenByPool),
        timeline: Object.fromEntries([...timeline].map(([k, v]) => [k, { ...v }])),
        samples: Object.fromEntries([...samples].map(([k, v]) => [k, [...v]])),
        signals: [...signals.values()].map((s) => ({ ...s })).sort((a, b) => b.count - a.count || a.signal - b.signal),
        terminations: terminations.map((t) => ({ ...t })),
        unparsed,
        unparsedSamples: [...unparsedSamples],
      };
      if (settings.length > 0) stats.maxChildrenSetting = Math.max(...settings);
      return stats;
    },
  };
}

export function analyzeFpmLog(lines: Iterable<string>, opts: FpmLogOptions = {}): FpmLogStats {
  const a = createFpmLogAnalyzer(opts);
  for (const l of lines) a.push(l);
  return a.result();
}
