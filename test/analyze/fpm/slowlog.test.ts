import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyzeSlowLog, createSlowLogAnalyzer } from '../../../src/analyze/fpm/index.js';

const fixture = (name: string): string[] => readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'utf8').split('\n');

const LOG = `
[08-Dec-2014 16:56:48]  [pool www] pid 3863
script_filename = /code/index.php
[0x0000000005fbc2d0] realpath() /code/includes/stream_wrappers.inc:377
[0x00007ffff7ee1700] url_stat() unknown:0
[0x0000000005fb3d70] menu_execute_active_handler() /code/index.php:21

[08-Dec-2014 16:57:00]  [pool www] pid 3864
script_filename = /var/www/x.php
[0x00007f0000000001] curl_exec() /var/www/x.php:12
[0x00007f0000000002] fetch() /var/www/x.php:30

[08-Dec-2014 16:58:00]  [pool www] pid 3865
script_filename = /var/www/x.php
[0x00007f0000000003] curl_exec() /var/www/x.php:12
[0x00007f0000000004] fetch() /var/www/x.php:30

[08-Dec-2014 16:59:00]  [pool api] pid 3866
script_filename = /var/www/api.php
[0x00007f0000000005] PDOStatement->execute() unknown:0
[0x00007f0000000006] [INCLUDE_OR_EVAL] unknown:0
[0x00007f0000000007] Repo->find() /var/www/src/Repo.php:88

[08-Dec-2014 17:00:00]  [pool www] pid 3867
script_filename = /var/www/x.php
+++ dump failed
`.split('\n');

describe('analyzeSlowLog', () => {
  it('aggregates by script, innermost frame and first non-internal frame', () => {
    const r = analyzeSlowLog(LOG, { tzOffsetMinutes: 0 });
    expect(r.entries).toBe(5);
    expect(r.inWindow).toBe(5);
    expect(r.unparsed).toBe(0);
    expect(r.byScript).toEqual([
      { script: '/var/www/x.php', count: 3 },
      { script: '/code/index.php', count: 1 },
      { script: '/var/www/api.php', count: 1 },
    ]);
    expect(r.byTopFrame[0]).toEqual({ frame: 'curl_exec() /var/www/x.php:12', count: 2 });
    expect(r.byTopFrame.map((f) => f.frame)).toContain('PDOStatement->execute() unknown:0');
    expect(r.byUserFrame.map((f) => f.frame)).toContain('Repo->find() /var/www/src/Repo.php:88');
    expect(r.byUserFrame.map((f) => f.frame)).toContain('realpath() /code/includes/stream_wrappers.inc:377');
    expect(r.byPool).toEqual([
      { pool: 'www', count: 4 },
      { pool: 'api', count: 1 },
    ]);
    expect(r.dumpFailed).toBe(1);
    expect(r.firstSeen).toBe(Date.UTC(2014, 11, 8, 16, 56, 48));
    expect(r.lastSeen).toBe(Date.UTC(2014, 11, 8, 17, 0, 0));
    expect(r.samples).toHaveLength(3);
    expect(r.samples[0]!.split('\n')).toHaveLength(5);
    expect(r.samples[0]).toContain('script_filename = /code/index.php');
  });

  it('filters by window (from inclusive, to exclusive)', () => {
    const r = analyzeSlowLog(LOG, {
      tzOffsetMinutes: 0,
      window: { from: Date.UTC(2014, 11, 8, 16, 57, 0), to: Date.UTC(2014, 11, 8, 16, 59, 0) },
    });
    expect(r.entries).toBe(5);
    expect(r.inWindow).toBe(2);
    expect(r.byScript).toEqual([{ script: '/var/www/x.php', count: 2 }]);
    expect(r.firstSeen).toBe(Date.UTC(2014, 11, 8, 16, 57, 0));
  });

  it('counts stray lines as unparsed and streams like the batch call', () => {
    const lines = ['stray before any entry', ...LOG.slice(0, 6), 'not a frame', ...LOG.slice(6)];
    const r = analyzeSlowLog(lines, { tzOffsetMinutes: 0 });
    expect(r.unparsed).toBe(2);
    expect(r.entries).toBe(5);
    const a = createSlowLogAnalyzer({ tzOffsetMinutes: 0 });
    for (const l of lines.slice(0, 10)) a.push(l);
    expect(a.result().entries).toBe(2);
    for (const l of lines.slice(10)) a.push(l);
    expect(a.result()).toEqual(r);
  });

  it('real PHP-FPM 8.2 slow log', () => {
    const r = analyzeSlowLog(fixture('php-fpm-8.2-slow.log'), { tzOffsetMinutes: 0 });
    expect(r.entries).toBe(9);
    expect(r.unparsed).toBe(0);
    expect(r.byTopFrame).toEqual([{ frame: 'usleep() /srv/app/www/slow.php:1', count: 9 }]);
  });

  it('never throws on garbage', () => {
    let s = 2024;
    const r = (): number => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
    const dec = new TextDecoder();
    const lines: string[] = [];
    for (let i = 0; i < 500; i++) {
      const bytes = Uint8Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256));
      const good = LOG[Math.floor(r() * LOG.length)]!;
      lines.push(i % 3 === 0 ? good.slice(0, Math.floor(r() * good.length)) : dec.decode(bytes));
    }
    lines.push('x'.repeat(1 << 20));
    const res = analyzeSlowLog(lines);
    expect(res.unparsed).toBeGreaterThan(300);
    expect(res.unparsedSamples.length).toBeLessThanOrEqual(5);
  });
});
