import { describe, expect, it } from 'vitest';
import { analyzeErrorLog, createErrorLogAnalyzer, parseErrorEntry } from '../../../src/analyze/errorlog/index.js';
import { seededRandom } from '../../support/random.js';

const rng = seededRandom;

const decoder = new TextDecoder('utf-8', { fatal: false });
const randomBytes = (r: () => number, n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(r() * 256));

const GOOD = [
  '2026/11/25 10:00:01 [error] 1234#1234: *55 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 127.0.0.1, server: localhost, request: "GET /slow.php HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "localhost"',
  '2026/11/25 10:00:02 [crit] 1234#1234: *56 connect() to unix:/run/php/php8.2-fpm.sock failed (2: No such file or directory) while connecting to upstream, client: 127.0.0.1, server: localhost, request: "GET / HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "localhost"',
  '2026/11/25 10:00:03 [error] 1234#1234: *57 FastCGI sent in stderr: "PHP message: PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted (tried to allocate 20480 bytes) in /var/www/x.php on line 12" while reading response header from upstream, client: 127.0.0.1, server: localhost, request: "GET /x.php HTTP/1.1", upstream: "fastcgi://127.0.0.1:9000", host: "localhost", referrer: "http://localhost/"',
];

describe('error.log analyzer never throws on garbage', () => {
  it('seeded random bytes (decoded non-fatally) are unparsed', () => {
    const r = rng(42);
    const lines: string[] = [];
    for (let i = 0; i < 300; i++) lines.push(decoder.decode(randomBytes(r, 1 + Math.floor(r() * 400))));
    const chunk = lines.join('\n');
    const res = analyzeErrorLog(chunk.split('\n'), { tzOffsetMinutes: 0 });
    expect(res.entries).toBe(0);
    expect(res.unparsed).toBeGreaterThan(250);
    expect(res.unparsedSamples.length).toBeLessThanOrEqual(5);
  });

  it('truncated template lines: every line is accounted for, none throws', () => {
    const r = rng(7);
    for (let round = 0; round < 500; round++) {
      const src = GOOD[Math.floor(r() * GOOD.length)]!;
      const cut = src.slice(0, Math.floor(r() * src.length));
      const res = analyzeErrorLog([cut, GOOD[0]!], { tzOffsetMinutes: 0 });
      expect(res.lines).toBe(2);
      expect(res.entries).toBeGreaterThanOrEqual(1);
      const e = parseErrorEntry(cut, 0);
      if (e) expect(typeof e.kind).toBe('string');
    }
  });

  it('random mutations (quotes, commas, newlines) of good lines never throw', () => {
    const r = rng(99);
    const noise = ['"', '\\', ', client: ', ', server: ', ', request: "', ' while ', '\n', '(104: x)', '\u0000', '\ufffd'];
    for (let round = 0; round < 1000; round++) {
      let s = GOOD[Math.floor(r() * GOOD.length)]!;
      for (let k = 0; k < 5; k++) {
        const at = Math.floor(r() * s.length);
        s = s.slice(0, at) + noise[Math.floor(r() * noise.length)] + s.slice(at);
      }
      const a = createErrorLogAnalyzer({ tzOffsetMinutes: 0 });
      a.push(s);
      const res = a.result();
      expect(res.entries + res.unparsed).toBeGreaterThanOrEqual(1);
      expect(() => JSON.stringify(res)).not.toThrow();
    }
  });

  it('a 1 MB line is unparsed quickly, even with a valid header', () => {
    const big = 'A'.repeat(1 << 20);
    const withHeader = `${GOOD[0]!.slice(0, 60) + ', client: 1, server: 2'.repeat(50_000)}"`;
    const t0 = Date.now();
    const res = analyzeErrorLog([big, withHeader, GOOD[0]!], { tzOffsetMinutes: 0 });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(res.unparsed).toBe(2);
    expect(res.entries).toBe(1);
    expect(res.unparsedSamples[0]!.length).toBeLessThanOrEqual(200);
  });

  it('adversarial tail within the size cap stays fast', () => {
    const evil = GOOD[0]!.slice(0, 40) + ', client: a, server: b, request: "'.repeat(1500);
    const t0 = Date.now();
    const res = analyzeErrorLog([evil], { tzOffsetMinutes: 0 });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(res.entries).toBe(1);
  });

  it('invalid UTF-8 is unparsed and is not glued onto the previous entry', () => {
    const bad = decoder.decode(Uint8Array.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0x41]));
    expect(bad).toContain('\ufffd');
    const res = analyzeErrorLog([GOOD[0]!, bad, bad], { tzOffsetMinutes: 0 });
    expect(res.entries).toBe(1);
    expect(res.unparsed).toBe(2);
    expect(res.signatures[0]!.samples[0]).toBe(GOOD[0]);
  });

  it('ignores non-string input and CRLF endings', () => {
    const a = createErrorLogAnalyzer({ tzOffsetMinutes: 0 });
    a.push(undefined as unknown as string);
    a.push(null as unknown as string);
    a.push(`${GOOD[1]!}\r`);
    const res = a.result();
    expect(res.entries).toBe(1);
    expect(res.signatures[0]!.kind).toBe('connect_enoent');
    expect(res.signatures[0]!.samples[0]!.endsWith('\r')).toBe(false);
  });
});
