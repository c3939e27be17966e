import { describe, expect, it } from 'vitest';
import { analyzeFpmLog, parseFpmLogLine } from '../../../src/analyze/fpm/index.js';
import { seededRandom } from '../../support/random.js';

const rng = seededRandom;

const GOOD = [
  `[25-Nov-2026 10:00:01] WARNING: [pool www] child 6528, script '/var/www/test.php' (request: "GET /test.php") execution timed out (15.028107 sec), terminating`,
  `[25-Nov-2026 10:00:01] WARNING: [pool www] child 6528 exited on signal 15 (SIGTERM) after 53.265943 seconds from start`,
  `[25-Nov-2026 10:00:01.123456] WARNING: pid 1, fpm_children_bury(), line 289: [pool www] child 7 exited on signal 11 (SIGSEGV - core dumped) after 1.000000 seconds from start`,
  `[WARNING] [pool www] server reached pm.max_children setting (5), consider raising it`,
];

describe('FPM master log analyzer never throws on garbage', () => {
  it('seeded random bytes, truncations and quote injections', () => {
    const r = rng(1234);
    const dec = new TextDecoder();
    const lines: string[] = [];
    for (let i = 0; i < 600; i++) {
      const g = GOOD[Math.floor(r() * GOOD.length)]!;
      if (i % 3 === 0) lines.push(g.slice(0, Math.floor(r() * g.length)));
      else if (i % 3 === 1) {
        const at = Math.floor(r() * g.length);
        lines.push(g.slice(0, at) + ['"', "'", ')', '(', '\\', ']'][i % 6] + g.slice(at));
      } else lines.push(dec.decode(Uint8Array.from({ length: Math.floor(r() * 300) }, () => Math.floor(r() * 256))));
    }
    const res = analyzeFpmLog(lines, { tzOffsetMinutes: 0 });
    // Random bytes may contain "\n": push() splits chunks into physical lines.
    const physical = lines.join('\n').split('\n').length;
    expect(res.lines).toBe(physical);
    expect(res.parsed + res.unparsed).toBeLessThanOrEqual(physical);
    expect(res.unparsed).toBeGreaterThan(150);
    expect(() => JSON.stringify(res)).not.toThrow();
  });

  it('1 MB lines and invalid UTF-8 are unparsed, fast', () => {
    const big = GOOD[0]!.slice(0, 60) + "'".repeat(1 << 20);
    const bad = new TextDecoder().decode(Uint8Array.from([0x5b, 0xff, 0xfe, 0x5d, 0x20, 0xc0, 0xaf]));
    const t0 = Date.now();
    const res = analyzeFpmLog([big, bad, GOOD[1]!], { tzOffsetMinutes: 0 });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(res.unparsed).toBe(2);
    expect(res.events.exited_on_signal).toBe(1);
    expect(parseFpmLogLine(big)).toBeNull();
  });
});
