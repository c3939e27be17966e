import { describe, expect, it } from 'vitest';
import { analyzeAccessLines, compileLogFormat, createAccessAnalyzer, parseAccessLine, type AccessStats } from '../../../src/analyze/access/index.js';
import { phpLine, rng, timeIso, upstreamLine } from './helpers.js';

const T0 = Date.UTC(2024, 4, 14, 10, 0, 0);

function sane(r: AccessStats, lines: number): void {
  expect(r.lines).toBe(lines);
  expect(r.parsed + r.unparsed).toBe(lines);
  expect(r.unparsedSamples.length).toBe(Math.min(5, r.unparsed));
  for (const s of r.unparsedSamples) expect(s.length).toBeLessThanOrEqual(300);
  expect(Object.values(r.unparsedReasons).reduce((a, b) => a + b, 0)).toBe(r.unparsed);
}

/** Valid lines with variety: retries, redirects, static files, 5xx, odd user agents. */
function corpus(seed: number, n: number): string[] {
  const rand = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = T0 + i * 250;
    const s = rand();
    if (s < 0.15) out.push(upstreamLine({ time: t, request: 'GET /img/a.png HTTP/1.1', status: 304 }));
    else if (s < 0.2) out.push(upstreamLine({ time: t, status: 200, uct: '-, 0.001', uht: '-, 0.010', urt: '0.000, 0.011', uaddr: '10.0.0.1:9000, 10.0.0.2:9000', ustatus: '502, 200' }));
    else if (s < 0.22)
      out.push(upstreamLine({ time: t, status: 404, uct: '0.001 : 0.000', uht: '0.002 : -', urt: '0.002 : 0.001', uaddr: '10.0.0.1:9000 : unix:/run/php.sock', ustatus: '200 : 404' }));
    else if (s < 0.25) out.push(upstreamLine({ time: t, status: 502, urt: '0.000', uaddr: 'php_backend', ustatus: '502' }));
    else if (s < 0.27) out.push(upstreamLine({ time: t, ua: 'agent \\x22with\\x22 escapes \\x5C', referer: 'https://x/?a=b c' }));
    else out.push(phpLine(t, s < 0.3 ? 504 : 200, Math.floor(rand() * 5000), `10.0.0.${1 + Math.floor(rand() * 3)}:9000`, `/p/${Math.floor(rand() * 20)}`));
  }
  return out;
}

function mutate(rand: () => number, line: string): string {
  const bytes = [...Buffer.from(line)];
  const special = [0x22, 0x5c, 0x20, 0x2c, 0x3a, 0x2d, 0x5d, 0x5b, 0x30, 0x2e, 0x0d];
  const edits = 1 + Math.floor(rand() * 3);
  for (let k = 0; k < edits; k++) {
    const pos = Math.floor(rand() * (bytes.length + 1));
    const b = rand() < 0.7 ? (special[Math.floor(rand() * special.length)] as number) : Math.floor(rand() * 256);
    const op = rand();
    if (op < 0.4) bytes.splice(pos, 0, b);
    else if (op < 0.7) bytes.splice(pos, 1);
    else bytes[Math.min(pos, bytes.length - 1)] = b;
  }
  return Buffer.from(bytes).toString('latin1');
}

describe('robustness', () => {
  it('never throws on random bytes and counts every line', () => {
    const rand = rng(7);
    const a = createAccessAnalyzer({ format: 'upstream' });
    let lines = 0;
    for (let i = 0; i < 2000; i++) {
      const len = Math.floor(rand() * 400);
      const buf = Buffer.alloc(len);
      for (let k = 0; k < len; k++) buf[k] = Math.floor(rand() * 256);
      const chunk = Buffer.concat([buf, Buffer.from('\n')]);
      a.pushChunk(chunk);
      lines += buf
        .toString('latin1')
        .split(/\n/)
        .filter((l) => l.replace(/\r$/, '').length > 0).length;
    }
    const r = a.result();
    sane(r, lines);
    expect(r.parsed).toBe(0);
  });

  it('rejects every strict prefix of a valid line (truncation)', () => {
    const lines = corpus(3, 40);
    for (const line of lines) {
      const prefixes = Array.from({ length: line.length - 1 }, (_, k) => line.slice(0, k + 1));
      const r = analyzeAccessLines(prefixes, { format: 'upstream' });
      sane(r, prefixes.length);
      expect(r.parsed, line).toBe(0);
      expect(analyzeAccessLines([line], { format: 'upstream' }).parsed).toBe(1);
    }
  });

  it('parses a valid 1 MB line and rejects a 1 MB garbage line, in chunks or whole', () => {
    const huge = upstreamLine({ time: T0, status: 502, ua: 'A'.repeat(1 << 20), urt: '0.001', uaddr: '10.0.0.9:9000', ustatus: '502' });
    const junk = 'x'.repeat(1 << 20);
    for (const chunkSize of [4096, 1 << 22]) {
      const a = createAccessAnalyzer({ format: 'upstream' });
      const text = Buffer.from(`${huge}\n${junk}\n${phpLine(T0, 200, 5)}\n`);
      for (let p = 0; p < text.length; p += chunkSize) a.pushChunk(text.subarray(p, p + chunkSize));
      const r = a.result();
      sane(r, 3);
      expect([r.parsed, r.unparsed, r.count502]).toEqual([2, 1, 1]);
      expect(r.unparsedSamples[0]).toBe('x'.repeat(300));
      expect(r.upstreams.find((u) => u.addr === '10.0.0.9:9000')?.errors).toBe(1);
    }
  });

  it('counts invalid UTF-8 as unparsed, whole or in chunks', () => {
    const good = Buffer.from(phpLine(T0, 200, 5));
    const bad = Buffer.concat([good.subarray(0, 60), Buffer.from([0xff, 0xc3]), good.subarray(60)]);
    const viaPush = createAccessAnalyzer({ format: 'upstream' });
    viaPush.push(good);
    viaPush.push(bad);
    const r1 = viaPush.result();
    sane(r1, 2);
    expect(r1.unparsedReasons).toEqual({ utf8: 1 });
    const viaChunks = createAccessAnalyzer({ format: 'upstream' });
    const text = Buffer.concat([good, Buffer.from('\n'), bad, Buffer.from('\n'), good, Buffer.from('\n')]);
    viaChunks.pushChunk(text.subarray(0, 61));
    viaChunks.pushChunk(text.subarray(61));
    const r2 = viaChunks.result();
    sane(r2, 3);
    expect(r2.unparsedReasons).toEqual({ utf8: 1 });
    // Valid multi-byte UTF-8 (possible with escape=none) is fine.
    const utf = createAccessAnalyzer({ format: 'escape=none \'$status "$request"\'' });
    utf.pushChunk(Buffer.from('502 "GET /café HTTP/1.1"\n'));
    expect(utf.result().topFailingUris[0]?.uri).toBe('/café');
  });

  it('does not end a quoted field at an escaped quote, and survives stray quotes', () => {
    const escaped = upstreamLine({ time: T0, status: 502, ua: 'evil \\"agent', urt: '0.001', uaddr: '10.0.0.1:9000', ustatus: '502' });
    const stray = upstreamLine({ time: T0, status: 504, ua: 'a "quoted" agent', urt: '60.000', uaddr: '10.0.0.1:9000', ustatus: '504' });
    const broken = upstreamLine({ time: T0, status: 504, ua: 'dangling " rt=1 uct="', urt: '60.000', uaddr: '10.0.0.1:9000' });
    const e = parseAccessLine('upstream', escaped);
    expect(e?.fields.http_user_agent).toBe('evil \\"agent');
    expect(e?.status).toBe(502);
    const r = analyzeAccessLines([escaped, stray, broken], { format: 'upstream' });
    sane(r, 3);
    // Whatever the verdict on the odd lines, a parsed line must carry its real status.
    expect(r.count502).toBe(1);
    expect(r.count504).toBe(r.parsed - 1);
  });

  it('does not end a field at an escaped quote even when the next literal follows it', () => {
    for (const spec of [`escape=json '"$http_user_agent" $status'`, `'"$http_user_agent" $status'`]) {
      for (const scanner of ['fast', 'generic'] as const) {
        const r = analyzeAccessLines(['"a\\" 404 b" 502', '"\\\\" 504'], { format: spec, scanner });
        // The second line is `"\\" 504` (as logged): an escaped backslash, then the real closing quote.
        expect([r.parsed, r.count502, r.count504, r.statuses['404']], `${spec} ${scanner}`).toEqual([2, 1, 1, undefined]);
      }
    }
  });

  it('truncates times to whole milliseconds on both scanners', () => {
    const line = upstreamLine({ time: T0, rt: 0, urt: '0.0019', uaddr: '10.0.0.1:9000', ustatus: '200' }).replace('rt=0.000', 'rt=0.0015');
    for (const scanner of ['fast', 'generic'] as const) {
      const r = analyzeAccessLines([line], { format: 'upstream', scanner });
      expect(r.requestTime, scanner).toEqual({ count: 1, p50: 0.001, p95: 0.001, p99: 0.001, max: 0.001 });
      expect(r.upstreamResponseTime.p50, scanner).toBe(0.001);
    }
  });

  it('fast and generic scanners agree on valid and mutated lines', () => {
    const rand = rng(2024);
    const valid = corpus(11, 1500);
    const mutated = valid.map((l) => mutate(rand, l));
    for (const format of ['upstream', 'combined']) {
      const lines = format === 'upstream' ? [...valid, ...mutated] : [...valid, ...mutated].map((l) => l.split(' rt=')[0] as string);
      const fast = analyzeAccessLines(lines, { format });
      const generic = analyzeAccessLines(lines, { format, scanner: 'generic' });
      expect(fast).toEqual(generic);
      sane(fast, lines.length);
      expect(fast.parsed).toBeGreaterThanOrEqual(valid.length);
      expect(fast.unparsed).toBeGreaterThan(mutated.length / 3);
    }
    const jsonSpec = `escape=json '{"t":"$time_iso8601","c":$connection,"s":"$status","r":"$request","rt":$request_time,"a":"$upstream_addr","us":"$upstream_status","urt":"$upstream_response_time"}'`;
    const json = valid.slice(0, 500).map((_, i) => {
      const retry = i % 7 === 0;
      return `{"t":"${timeIso(T0 + i * 1000)}","c":${i},"s":"${retry ? 200 : i % 5 ? 200 : 502}","r":"GET /x${i % 9}?q=\\"${i}\\" HTTP/1.1","rt":0.${String(i % 1000).padStart(3, '0')},"a":"${retry ? '10.0.0.1:9000, 10.0.0.2:9000' : '10.0.0.1:9000'}","us":"${retry ? '502, 200' : i % 5 ? 200 : 502}","urt":"${retry ? '0.001, 0.002' : '0.003'}"}`;
    });
    const jsonLines = [...json, ...json.map((l) => mutate(rand, l))];
    const fj = analyzeAccessLines(jsonLines, { format: jsonSpec });
    expect(fj).toEqual(analyzeAccessLines(jsonLines, { format: jsonSpec, scanner: 'generic' }));
    expect(fj.parsed).toBeGreaterThanOrEqual(json.length);
    expect(fj.retriedRequests).toBeGreaterThan(0);
  });

  it('never throws for odd formats either', () => {
    const rand = rng(5);
    const formats = [
      "'$status'",
      "'$remote_addr$remote_user $status'",
      'escape=none \'"$http_user_agent" $status\'',
      "'[$time_local] $upstream_addr'",
      compileLogFormat("escape=json '$request_time,$upstream_status'"),
    ];
    for (const format of formats) {
      const lines = Array.from({ length: 300 }, () => mutate(rand, mutate(rand, '[14/May/2024:10:00:00 +0000] 200 "x" 0.1,200')));
      const r = analyzeAccessLines(lines, { format });
      sane(r, lines.filter((l) => l.replace(/\r$/, '').length > 0).length);
    }
  });
});
