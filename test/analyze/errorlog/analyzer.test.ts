import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyzeErrorLog, createErrorLogAnalyzer, extractPhpMessages } from '../../../src/analyze/errorlog/index.js';

const fixture = (name: string): string[] => readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'utf8').split('\n');

const TAIL = ', client: 127.0.0.1, server: localhost, request: "GET /slow.php HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "localhost"';
const at = (hms: string, cid: number, msg: string, level = 'error'): string => `2026/11/25 ${hms} [${level}] 1234#1234: *${cid} ${msg}${TAIL}`;
const TIMEOUT = 'upstream timed out (110: Connection timed out) while reading response header from upstream';
const RESET = 'recv() failed (104: Connection reset by peer) while reading response header from upstream';

describe('multi-line FastCGI stderr', () => {
  // Shape of the elastic/beats sample: PHP's stderr copied verbatim with embedded newlines.
  const lines = [
    '2026/11/25 10:00:01 [error] 1234#1234: *55 FastCGI sent in stderr: "PHP message: PHP Warning:  Undefined variable $a in /var/www/x.php on line 3',
    'PHP message: PHP Fatal error:  Uncaught Exception: boom in /var/www/x.php:7',
    'Stack trace:',
    '#0 {main}',
    `  thrown in /var/www/x.php on line 7" while reading response header from upstream${TAIL}`,
    at('10:00:02', 56, TIMEOUT),
  ];

  it('joins continuation lines into one entry and classifies it by the whole payload', () => {
    const r = analyzeErrorLog(lines, { tzOffsetMinutes: 0 });
    expect(r.lines).toBe(6);
    expect(r.entries).toBe(2);
    expect(r.unparsed).toBe(0);
    const fatal = r.signatures.find((s) => s.kind === 'php_fatal')!;
    expect(fatal.count).toBe(1);
    expect(fatal.status).toBe(500);
    expect(fatal.actions).toEqual(['reading response header from upstream']);
    expect(fatal.samples[0]).toContain('\nStack trace:\n');
    expect(r.connections).toEqual({ '55': 'php_fatal', '56': 'timeout_read_header' });
  });

  it('extracts individual PHP messages (old newline and PHP 8 "; " separators)', () => {
    const r = analyzeErrorLog(lines, { tzOffsetMinutes: 0 });
    expect(r.phpMessages.map((m) => m.message)).toEqual([
      'PHP Fatal error:  Uncaught Exception: boom in /var/www/x.php:7 Stack trace: #0 {main} thrown in /var/www/x.php on line 7',
      'PHP Warning:  Undefined variable $a in /var/www/x.php on line 3',
    ]);
    expect(extractPhpMessages('PHP message: first line\nsecond line; PHP message: PHP Fatal error:  Allowed memory size of 33554432 bytes exhausted')).toEqual([
      'first line second line',
      'PHP Fatal error:  Allowed memory size of 33554432 bytes exhausted',
    ]);
  });

  it('the streaming analyzer gives the same result line by line, in chunks and across result() calls', () => {
    const a = createErrorLogAnalyzer({ tzOffsetMinutes: 0 });
    a.push(lines[0]!);
    a.push(lines[1]!);
    const mid = a.result();
    expect(mid.entries).toBe(1);
    expect(mid.signatures[0]!.kind).toBe('php_fatal');
    for (const l of lines.slice(2)) a.push(l);
    const whole = createErrorLogAnalyzer({ tzOffsetMinutes: 0 });
    whole.push(`${lines.join('\n')}\n`);
    expect(a.result()).toEqual(analyzeErrorLog(lines, { tzOffsetMinutes: 0 }));
    expect(whole.result()).toEqual(a.result());
    // The pending entry must not be double-counted by repeated snapshots.
    expect(a.result().entries).toBe(2);
  });

  it('continuation lines with no entry before them are unparsed', () => {
    const r = analyzeErrorLog(['PHP message: orphan', 'another orphan', at('10:00:01', 1, TIMEOUT)], { tzOffsetMinutes: 0 });
    expect(r.unparsed).toBe(2);
    expect(r.unparsedSamples).toEqual(['PHP message: orphan', 'another orphan']);
    expect(r.entries).toBe(1);
  });
});

describe('window, signatures and connections', () => {
  const lines = [
    at('09:59:59', 1, TIMEOUT),
    at('10:00:00', 2, TIMEOUT),
    at('10:00:30', 3, RESET),
    at('10:00:31', 3, 'upstream server temporarily disabled while connecting to upstream', 'warn'),
    at('10:00:40', 4, TIMEOUT),
    at('10:01:00', 5, TIMEOUT),
    '2026/11/25 10:00:41 [info] 1234#1234: *9 client 127.0.0.1 closed keepalive connection',
  ];
  const from = Date.UTC(2026, 10, 25, 10, 0, 0);
  const to = Date.UTC(2026, 10, 25, 10, 1, 0);

  it('keeps from inclusive and to exclusive', () => {
    const r = analyzeErrorLog(lines, { tzOffsetMinutes: 0, window: { from, to } });
    expect(r.entries).toBe(7);
    expect(r.inWindow).toBe(5);
    expect(r.outsideWindow).toBe(2);
    const t = r.signatures[0]!;
    expect(t).toMatchObject({ kind: 'timeout_read_header', status: 504, count: 2, firstSeen: from, lastSeen: from + 40_000 });
    expect(t.upstreams).toEqual(['fastcgi://unix:/run/php/php8.2-fpm.sock:']);
    expect(r.byLevel).toEqual({ error: 3, warn: 1, info: 1 });
  });

  it('sorts signatures by count and hides quiet "other" chatter', () => {
    const r = analyzeErrorLog(lines, { tzOffsetMinutes: 0 });
    expect(r.signatures.map((s) => [s.kind, s.count])).toEqual([
      ['timeout_read_header', 4],
      ['reset_by_peer', 1],
      ['upstream_disabled', 1],
    ]);
    expect(r.byLevel.info).toBe(1);
  });

  it('maps connection ids to the most telling kind (a warning does not overwrite the cause)', () => {
    const r = analyzeErrorLog(lines, { tzOffsetMinutes: 0, window: { from, to } });
    expect(r.connections).toEqual({
      '2': 'timeout_read_header',
      '3': 'reset_by_peer',
      '4': 'timeout_read_header',
    });
  });

  it('caps samples and their length, and upstream lists', () => {
    const many: string[] = [];
    for (let i = 0; i < 20; i++) {
      many.push(`2026/11/25 10:00:01 [error] 1#1: *${i} ${TIMEOUT}, client: 1.1.1.1, server: s, request: "GET /${'p'.repeat(600)} HTTP/1.1", upstream: "fastcgi://10.0.0.${i}:9000", host: "h"`);
    }
    const s = analyzeErrorLog(many, { tzOffsetMinutes: 0 }).signatures[0]!;
    expect(s.count).toBe(20);
    expect(s.samples).toHaveLength(3);
    for (const x of s.samples) expect(x.length).toBeLessThanOrEqual(500);
    expect(s.upstreams).toHaveLength(10);
  });

  it('caps phpMessages to the top 10', () => {
    const many: string[] = [];
    for (let i = 0; i < 15; i++) {
      for (let j = 0; j <= i; j++) {
        many.push(at('10:00:01', 100 + i, `FastCGI sent in stderr: "PHP message: PHP Warning:  w${i}" while reading response header from upstream`));
      }
    }
    const r = analyzeErrorLog(many, { tzOffsetMinutes: 0 });
    expect(r.phpMessages).toHaveLength(10);
    expect(r.phpMessages[0]).toEqual({ message: 'PHP Warning:  w14', count: 15 });
  });

  it('result is JSON-serialisable without loss', () => {
    const r = analyzeErrorLog(lines, { tzOffsetMinutes: 0 });
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });
});

describe('real nginx 1.22.1 output (captured on loopback, paths rewritten)', () => {
  it('session 1: terminate/segv/fatal/big header/missing script/sockets/no live upstreams/non-FastCGI/timeout/499', () => {
    const r = analyzeErrorLog(fixture('nginx-1.22-session1.log'), { tzOffsetMinutes: 0 });
    // Includes nginx's raw-bytes (NUL) "client sent invalid method" line: a valid header keeps it parseable.
    expect(r.unparsed).toBe(0);
    expect(r.byLevel).toEqual({ notice: 12, info: 32, error: 14, crit: 1, warn: 2 });
    const counts = Object.fromEntries(r.signatures.map((s) => [`${s.kind}/${s.status}`, s.count]));
    expect(counts).toEqual({
      'reset_by_peer/502': 4,
      'connect_refused/502': 3,
      'primary_script_unknown/404': 2,
      'upstream_disabled/null': 2,
      'php_fatal/500': 1,
      'too_big_header/502': 1,
      'connect_enoent/502': 1,
      'no_live_upstreams/502': 1,
      'invalid_header/502': 1,
      'timeout_read_header/504': 1,
      'client_closed/499': 1,
    });
    // request_terminate_timeout kill (FPM "execution timed out") showed up in nginx as a reset, not a premature close.
    expect(r.connections['15']).toBe('reset_by_peer');
    expect(r.connections['34']).toBe('no_live_upstreams');
    expect(r.phpMessages[0]!.message).toMatch(/^PHP Fatal error: {2}Allowed memory size of 33554432 bytes exhausted/);
  });

  it('session 2: EACCES and EAGAIN (unix backlog full)', () => {
    const r = analyzeErrorLog(fixture('nginx-1.22-session2.log'), { tzOffsetMinutes: 0 });
    const byKind = Object.fromEntries(r.signatures.map((s) => [s.kind, s]));
    expect(byKind.connect_eagain!.count).toBe(6);
    expect(byKind.connect_eacces!.count).toBe(1);
    expect(r.byLevel.crit).toBe(1);
  });
});
