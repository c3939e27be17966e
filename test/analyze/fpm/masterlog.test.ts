import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyzeFpmLog, createFpmLogAnalyzer, parseFpmLogLine, type FpmEventKind } from '../../../src/analyze/fpm/index.js';

const fixture = (name: string): string[] => readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'utf8').split('\n');

const T = '[25-Nov-2026 10:00:01] ';
const parse = (l: string) => parseFpmLogLine(l, 0);

describe('parseFpmLogLine: templates of reference 3.1', () => {
  const cases: [string, FpmEventKind][] = [
    ['WARNING: [pool www] server reached pm.max_children setting (5), consider raising it', 'max_children_reached'],
    ['WARNING: [pool api] server reached max_children setting (12), consider raising it', 'max_children_reached'],
    ['WARNING: [pool www] seems busy (you may need to increase pm.start_servers, or pm.min/max_spare_servers), spawning 8 children, there are 0 idle, and 13 total children', 'seems_busy'],
    ['WARNING: [pool www] child 6528, script \'/var/www/test.php\' (request: "GET /test.php") executing too slow (5.012345 sec), logging', 'slow_request'],
    ['WARNING: [pool www] child 6528, script \'/var/www/test.php\' (request: "GET /test.php") execution timed out (15.028107 sec), terminating', 'execution_timed_out'],
    ['WARNING: [pool www] child 6528 exited on signal 15 (SIGTERM) after 53.265943 seconds from start', 'exited_on_signal'],
    ['NOTICE: [pool www] child 6528 exited with code 0 after 120.000100 seconds from start', 'exited_with_code'],
    ['NOTICE: [pool www] child 6601 started', 'child_started'],
    ['WARNING: [pool www] child 6601 said into stderr: "NOTICE: PHP message: hello"', 'said_into_stderr'],
    ['NOTICE: Reloading in progress ...', 'reloading'],
    ['NOTICE: reloading: execvp("/usr/sbin/php-fpm8.2", {"/usr/sbin/php-fpm8.2", "--nodaemonize"})', 'reloading'],
    ['NOTICE: Terminating ...', 'terminating'],
    ['NOTICE: Finishing ...', 'finishing'],
    ['NOTICE: ready to handle connections', 'ready'],
    ['NOTICE: fpm is running, pid 6500', 'master_started'],
    ['NOTICE: exiting, bye-bye!', 'exiting'],
    ['WARNING: failed processes threshold (10 in 60 sec) is reached, initiating reload', 'failed_threshold'],
    ["WARNING: The maximum number of processes has been reached. Please review your configuration and consider raising 'process.max'", 'process_max'],
    ['ERROR: ptrace(ATTACH) failed: Operation not permitted (1)', 'ptrace_failed'],
    ['ERROR: failed to ptrace(ATTACH) child 6528: Operation not permitted (1)', 'ptrace_failed'],
    ['NOTICE: child 6528 stopped for tracing', 'tracing'],
    ['ALERT: oops, unknown child (6530) exited on signal 9 (SIGKILL). Please open a bug report (https://bugs.php.net).', 'unknown_child'],
    ['NOTICE: error log file re-opened', 'other'],
  ];
  it.each(cases)('%s -> %s', (msg, kind) => {
    const e = parse(T + msg)!;
    expect(e).not.toBeNull();
    expect(e.kind).toBe(kind);
    expect(e.time).toBe(Date.UTC(2026, 10, 25, 10, 0, 1));
  });

  it('extracts fields of the real terminate pair (shangdev/php7-internal)', () => {
    const a = parse(`${T}WARNING: [pool www] child 6528, script '/var/www/test.php' (request: "GET /test.php") execution timed out (15.028107 sec), terminating`)!;
    expect(a).toMatchObject({ kind: 'execution_timed_out', level: 'WARNING', pool: 'www', pid: 6528, script: '/var/www/test.php', request: 'GET /test.php', seconds: 15.028107 });
    const b = parse(`${T}WARNING: [pool www] child 6528 exited on signal 15 (SIGTERM) after 53.265943 seconds from start`)!;
    expect(b).toMatchObject({ kind: 'exited_on_signal', pid: 6528, signal: 15, signalName: 'SIGTERM', coreDumped: false, seconds: 53.265943 });
  });

  it('core dumped', () => {
    const e = parse(`${T}WARNING: [pool www] child 7001 exited on signal 11 (SIGSEGV - core dumped) after 3.100000 seconds from start`)!;
    expect(e).toMatchObject({ signal: 11, signalName: 'SIGSEGV', coreDumped: true, seconds: 3.1 });
  });

  it('max_children setting, exit code, stderr text with a truncated closing quote', () => {
    expect(parse(`${T}WARNING: [pool www] server reached pm.max_children setting (5), consider raising it`)!.setting).toBe(5);
    expect(parse(`${T}WARNING: [pool www] child 1 exited with code 255 after 1.000000 seconds from start`)!.exitCode).toBe(255);
    expect(parse(`${T}WARNING: [pool www] child 2 said into stderr: "a \\"quoted\\" thing", pipe is closed`)!.text).toBe('a \\"quoted\\" thing');
    expect(parse(`${T}WARNING: [pool www] child 2 said into stderr: "cut by log_limi...`)!.text).toBe('cut by log_limi...');
  });

  it('debug layout with microseconds and the pid/func/line prefix', () => {
    const e = parse('[25-Nov-2026 16:43:31.476023] WARNING: pid 14007, fpm_children_bury(), line 289: [pool www] child 14081 exited on signal 11 (SIGSEGV) after 0.009539 seconds from start')!;
    expect(e).toMatchObject({ kind: 'exited_on_signal', pid: 14081, signal: 11 });
    expect(e.time).toBe(Date.UTC(2026, 10, 25, 16, 43, 31, 476));
  });

  it('syslog layout without time', () => {
    const e = parse('[WARNING] [pool www] server reached pm.max_children setting (5), consider raising it')!;
    expect(e).toMatchObject({ kind: 'max_children_reached', time: null, setting: 5 });
    const j = parse('Nov 25 10:00:01 web1 php-fpm[812]: [NOTICE] [pool www] child 1 started')!;
    expect(j).toMatchObject({ kind: 'child_started', time: null, pid: 1 });
  });

  it('applies the tz offset and rejects impossible dates', () => {
    expect(parseFpmLogLine(`${T}NOTICE: ready to handle connections`, 120)!.time).toBe(Date.UTC(2026, 10, 25, 8, 0, 1));
    expect(parse('[31-Foo-2026 10:00:01] NOTICE: x')).toBeNull();
    expect(parse('[25-Nov-2026 25:00:01] NOTICE: x')).toBeNull();
  });
});

describe('analyzeFpmLog', () => {
  const lines = [
    `[25-Nov-2026 09:59:00] NOTICE: fpm is running, pid 1`,
    `[25-Nov-2026 10:00:00] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it`,
    `[25-Nov-2026 10:00:10] WARNING: [pool www] child 6528, script '/var/www/test.php' (request: "GET /test.php") execution timed out (15.028107 sec), terminating`,
    `[25-Nov-2026 10:00:10] WARNING: [pool www] child 6528 exited on signal 15 (SIGTERM) after 53.265943 seconds from start`,
    `[25-Nov-2026 10:00:10] NOTICE: [pool www] child 6600 started`,
    `[25-Nov-2026 10:00:20] WARNING: [pool api] child 7001 exited on signal 11 (SIGSEGV - core dumped) after 3.100000 seconds from start`,
    `[25-Nov-2026 10:00:30] WARNING: [pool api] server reached max_children setting (12), consider raising it`,
    `[25-Nov-2026 10:00:40] WARNING: [pool www] child 6600 exited on signal 15 (SIGTERM) after 30.000000 seconds from start`,
    `garbage line`,
    ``,
    `[25-Nov-2026 10:05:00] NOTICE: Terminating ...`,
  ];
  const window = { from: Date.UTC(2026, 10, 25, 10, 0, 0), to: Date.UTC(2026, 10, 25, 10, 5, 0) };

  it('counts, pools, setting, signals, terminations and window', () => {
    const r = analyzeFpmLog(lines, { tzOffsetMinutes: 0, window });
    expect(r.lines).toBe(11);
    expect(r.parsed).toBe(9);
    expect(r.inWindow).toBe(7);
    expect(r.outsideWindow).toBe(2);
    expect(r.unparsed).toBe(1);
    expect(r.unparsedSamples).toEqual(['garbage line']);
    expect(r.events).toEqual({ max_children_reached: 2, execution_timed_out: 1, exited_on_signal: 3, child_started: 1 });
    expect(r.pools).toEqual(['api', 'www']);
    expect(r.maxChildrenSetting).toBe(12);
    expect(r.maxChildrenByPool).toEqual({ www: 5, api: 12 });
    expect(r.signals).toEqual([
      { signal: 15, name: 'SIGTERM', count: 2 },
      { signal: 11, name: 'SIGSEGV', count: 1 },
    ]);
    expect(r.terminations).toEqual([{ time: Date.UTC(2026, 10, 25, 10, 0, 10), pid: 6528, pool: 'www', script: '/var/www/test.php', request: 'GET /test.php', seconds: 15.028107 }]);
    expect(r.timeline.exited_on_signal).toEqual({ first: Date.UTC(2026, 10, 25, 10, 0, 10), last: Date.UTC(2026, 10, 25, 10, 0, 40) });
    expect(r.samples.exited_on_signal).toHaveLength(3);
    expect(r.samples.terminating).toBeUndefined();
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('caps terminations at 50 and samples at 3', () => {
    const many = Array.from({ length: 80 }, (_, i) => `${T}WARNING: [pool www] child ${i}, script '/x.php' (request: "GET /x.php") execution timed out (31.000000 sec), terminating`);
    const r = analyzeFpmLog(many, { tzOffsetMinutes: 0 });
    expect(r.events.execution_timed_out).toBe(80);
    expect(r.terminations).toHaveLength(50);
    expect(r.samples.execution_timed_out).toHaveLength(3);
  });

  it('streaming analyzer equals the batch one and keeps going after result()', () => {
    const a = createFpmLogAnalyzer({ tzOffsetMinutes: 0 });
    a.push(lines.slice(0, 4).join('\n'));
    expect(a.result().events.exited_on_signal).toBe(1);
    for (const l of lines.slice(4)) a.push(l);
    expect(a.result()).toEqual(analyzeFpmLog(lines, { tzOffsetMinutes: 0 }));
  });

  it('real PHP-FPM 8.2 notice log: terminate pair, slow requests, SIGSEGV/SIGKILL, stderr, max_children', () => {
    const r = analyzeFpmLog(fixture('php-fpm-8.2-notice.log'), { tzOffsetMinutes: 0 });
    expect(r.unparsed).toBe(0);
    expect(r.events).toMatchObject({
      slow_request: 9,
      execution_timed_out: 1,
      exited_on_signal: 4,
      said_into_stderr: 3,
      max_children_reached: 1,
      tracing: 27,
      master_started: 1,
      ready: 1,
      terminating: 1,
      exiting: 1,
    });
    expect(r.terminations[0]).toMatchObject({ pid: 13065, script: '/srv/app/www/slow.php', request: 'GET /slow.php?ms=4000', seconds: 2.321558 });
    expect(r.signals.map((s) => s.name)).toEqual(['SIGKILL', 'SIGSEGV', 'SIGTERM']);
    expect(r.maxChildrenSetting).toBe(3);
  });

  it('real PHP-FPM 8.2 debug log', () => {
    const r = analyzeFpmLog(fixture('php-fpm-8.2-debug.log'), { tzOffsetMinutes: 0 });
    expect(r.unparsed).toBe(0);
    expect(r.events).toMatchObject({ max_children_reached: 1, exited_with_code: 1, exited_on_signal: 1, reloading: 2, finishing: 1, child_started: 2 });
    expect(r.pools).toEqual(['b', 'www']);
  });
});
