import { describe, expect, it } from 'vitest';
import { analyzeAccessLines, compileLogFormat, createAccessAnalyzer } from '../../../src/analyze/access/index.js';
import { exactPercentile, phpLine, rng, secs, timeIso, upstreamLine } from './helpers.js';

const T0 = Date.UTC(2024, 4, 14, 10, 0, 0);
const MIN = 60_000;

describe('window filtering', () => {
  it('keeps [from, to) and counts the rest as outsideWindow', () => {
    const lines = Array.from({ length: 10 }, (_, i) => phpLine(T0 + i * MIN, i % 2 ? 502 : 200, 10));
    const r = analyzeAccessLines(lines, { format: 'upstream', window: { from: T0 + 2 * MIN, to: T0 + 5 * MIN } });
    expect(r.parsed).toBe(10);
    expect(r.requests).toBe(3);
    expect(r.outsideWindow).toBe(7);
    expect(r.firstTime).toBe(T0 + 2 * MIN);
    expect(r.lastTime).toBe(T0 + 4 * MIN);
    expect(r.count502).toBe(1);
    expect(r.window).toEqual({ from: T0 + 2 * MIN, to: T0 + 5 * MIN });
    expect(r.timeline.map((b) => b.minute)).toEqual([T0 + 2 * MIN, T0 + 3 * MIN, T0 + 4 * MIN]);
    const open = analyzeAccessLines(lines, { format: 'upstream', window: { from: T0 + 8 * MIN } });
    expect([open.requests, open.outsideWindow]).toEqual([2, 8]);
  });

  it('reports nulls and zeros for an empty window', () => {
    const r = analyzeAccessLines([phpLine(T0, 200, 10)], { format: 'upstream', window: { to: T0 } });
    expect(r.requests).toBe(0);
    expect(r.firstTime).toBeNull();
    expect(r.rate5xx).toBe(0);
    expect(r.requestTime).toEqual({ count: 0, p50: null, p95: null, p99: null, max: null });
    expect(r.worstMinute).toBeNull();
    expect(r.slowestUpstreamSeconds).toBeNull();
  });
});

describe('counts, timeline and worst minute', () => {
  it('builds a per-minute timeline and picks the minute with most 502+504', () => {
    const lines: string[] = [];
    for (let i = 0; i < 30; i++) lines.push(phpLine(T0 + i * 1000, 200, 20));
    lines.push(phpLine(T0 + 5000, 502, 1));
    for (let i = 0; i < 4; i++) lines.push(phpLine(T0 + 2 * MIN + i * 1000, i < 2 ? 502 : 504, 60_000));
    lines.push(phpLine(T0 + 2 * MIN + 9000, 500, 100));
    lines.push(phpLine(T0 + 3 * MIN, 503, 1));
    const r = analyzeAccessLines(lines, { format: 'upstream' });
    expect(r.timeline).toEqual([
      { minute: T0, requests: 31, count5xx: 1, count502: 1, count504: 0 },
      { minute: T0 + 2 * MIN, requests: 5, count5xx: 5, count502: 2, count504: 2 },
      { minute: T0 + 3 * MIN, requests: 1, count5xx: 1, count502: 0, count504: 0 },
    ]);
    expect(r.worstMinute).toEqual(r.timeline[1]);
    expect(r.count5xx).toBe(7);
    expect(r.rate5xx).toBeCloseTo(7 / 37, 10);
    expect(r.errorTimeBuckets).toEqual({ lt1: 3, s1to5: 0, s5to10: 0, s10to30: 0, gt30: 4 });
  });

  it('breaks worst-minute ties towards the earliest minute', () => {
    const lines = [phpLine(T0 + 3 * MIN, 504, 10), phpLine(T0 + MIN, 502, 10), phpLine(T0 + 2 * MIN, 200, 10)];
    const r = analyzeAccessLines(lines, { format: 'upstream' });
    expect(r.worstMinute?.minute).toBe(T0 + MIN);
    expect(r.timeline.map((b) => b.minute)).toEqual([T0 + MIN, T0 + 2 * MIN, T0 + 3 * MIN]);
  });

  it('keeps the heavy hitters when a URI-spraying scan floods the failing-URI table', () => {
    const lines: string[] = [];
    for (let i = 0; i < 30_000; i++) {
      lines.push(phpLine(T0, 502, 1, '10.0.0.1:9000', `/random/${i}`));
      if (i % 300 === 0) lines.push(phpLine(T0, 504, 1, '10.0.0.1:9000', '/hot'));
    }
    const r = analyzeAccessLines(lines, { format: 'upstream', topN: 1 });
    expect(r.topFailingUris).toEqual([{ uri: '/hot', count5xx: 100, count502: 0, count504: 100 }]);
    expect(r.count5xx).toBe(30_100);
  });

  it('buckets 5xx by request time', () => {
    const lines = [500, 2000, 7000, 20_000, 30_000, 90_000].map((ms) => phpLine(T0, 504, ms));
    lines.push(phpLine(T0, 200, 90_000));
    const r = analyzeAccessLines(lines, { format: 'upstream' });
    expect(r.errorTimeBuckets).toEqual({ lt1: 1, s1to5: 1, s5to10: 1, s10to30: 1, gt30: 2 });
  });

  it('ranks failing URIs by 5xx, without query strings, capped at topN', () => {
    const lines: string[] = [];
    const add = (uri: string, status: number, n: number): void => {
      for (let i = 0; i < n; i++) lines.push(phpLine(T0, status, 10, '10.0.0.1:9000', uri));
    };
    add('/checkout?step=1', 502, 3);
    add('/checkout?step=2', 504, 2);
    add('/api/search?q=x', 504, 4);
    add('/login', 500, 1);
    add('/ok', 200, 50);
    const r = analyzeAccessLines(lines, { format: 'upstream', topN: 2 });
    expect(r.topFailingUris).toEqual([
      { uri: '/checkout', count5xx: 5, count502: 3, count504: 2 },
      { uri: '/api/search', count5xx: 4, count502: 0, count504: 4 },
    ]);
    expect(analyzeAccessLines(lines, { format: 'upstream' }).topFailingUris).toHaveLength(3);
  });

  it('produces plain JSON', () => {
    const r = analyzeAccessLines([phpLine(T0, 502, 10), 'garbage'], { format: 'upstream' });
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    expect(r.format).toBe(compileLogFormat('upstream').format);
  });
});

describe('latency percentiles', () => {
  it('stay within ~1% of the exact nearest-rank percentiles on random data', () => {
    const rand = rng(1234);
    for (const shape of ['uniform', 'lognormal', 'bimodal'] as const) {
      const values: number[] = [];
      const lines: string[] = [];
      for (let i = 0; i < 20_000; i++) {
        let ms: number;
        if (shape === 'uniform') ms = Math.floor(rand() * 5000);
        else if (shape === 'lognormal') ms = Math.floor(Math.exp(3 + 2 * Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand())));
        else ms = rand() < 0.9 ? Math.floor(20 + rand() * 200) : Math.floor(30_000 + rand() * 30_000);
        ms = Math.min(ms, 3_000_000);
        values.push(ms);
        lines.push(phpLine(T0 + i, 200, ms));
      }
      const r = analyzeAccessLines(lines, { format: 'upstream' });
      const sorted = [...values].sort((a, b) => a - b);
      for (const [key, p] of [
        ['p50', 0.5],
        ['p95', 0.95],
        ['p99', 0.99],
      ] as const) {
        const exact = exactPercentile(sorted, p) / 1000;
        for (const summary of [r.requestTime, r.upstreamResponseTime]) {
          const got = summary[key] as number;
          expect(Math.abs(got - exact), `${shape} ${key}: ${got} vs ${exact}`).toBeLessThanOrEqual(Math.max(0.001, exact * 0.01));
        }
      }
      expect(r.requestTime.max).toBe((sorted[sorted.length - 1] as number) / 1000);
      expect(r.requestTime.count).toBe(20_000);
    }
  });
});

describe('peak concurrency', () => {
  it('is the peak average number of requests in flight per second', () => {
    const lines: string[] = [];
    // Ten 10-second requests all ending at T0+20s: 10 in flight during [T0+10s, T0+20s).
    for (let i = 0; i < 10; i++) lines.push(phpLine(T0 + 20_000, 200, 10_000));
    // 300 requests of 10 ms within one second keep ~3 workers busy, not 300.
    for (let i = 0; i < 300; i++) lines.push(phpLine(T0 + 100_000, 200, 10));
    const r = analyzeAccessLines(lines, { format: 'upstream' });
    expect(r.peakConcurrency).toBe(10);
    const onlyShort = analyzeAccessLines(lines.slice(10), { format: 'upstream' });
    expect(onlyShort.peakConcurrency).toBe(3);
  });

  it('centres second-resolution stamps within their second', () => {
    // Both end "at" 10:00:05, i.e. somewhere in [5, 6): taken as 5.5, so 0.4 s and 0.6 s give 0.4 + 0.5 in second 5.
    const r = analyzeAccessLines([phpLine(T0 + 5000, 200, 400), phpLine(T0 + 5000, 200, 600)], { format: 'upstream' });
    expect(r.peakConcurrency).toBe(0.9);
  });

  it('uses $msec precision and ignores requests that never reached an upstream', () => {
    const f = `'$msec $status $request_time "$upstream_addr"'`;
    const msec = (ms: number): string => (ms / 1000).toFixed(3);
    const lines = [
      // Two overlapping 1.5 s requests: [0.5, 2.0) and [1.0, 2.5) -> second 1 fully covered by both.
      `${msec(T0 + 2000)} 200 1.500 "10.0.0.1:9000"`,
      `${msec(T0 + 2500)} 200 1.500 "10.0.0.1:9000"`,
      // Static files (no upstream) do not occupy PHP workers.
      ...Array.from({ length: 50 }, () => `${msec(T0 + 1500)} 200 1.000 "-"`),
    ];
    const r = analyzeAccessLines(lines, { format: f });
    expect(r.parsed).toBe(52);
    expect(r.upstreamRequests).toBe(2);
    expect(r.peakConcurrency).toBe(2);
  });

  it('keeps bounded state across a long time span', () => {
    const lines: string[] = [];
    // One request per minute for a week, plus one burst at the end.
    for (let m = 0; m < 7 * 24 * 60; m++) lines.push(phpLine(T0 + m * MIN, 200, 2000));
    const end = T0 + 7 * 24 * 60 * MIN;
    for (let i = 0; i < 5; i++) lines.push(phpLine(end, 200, 30_000));
    const r = analyzeAccessLines(lines, { format: 'upstream' });
    expect(r.peakConcurrency).toBe(5);
    expect(r.timeline).toHaveLength(7 * 24 * 60 + 1);
  });
});

describe('statusByConnection', () => {
  const f = `'$time_iso8601 $connection $status "$request" $request_time'`;
  const line = (t: number, conn: number, status: number, uri: string): string => `${timeIso(t)} ${conn} ${status} "GET ${uri} HTTP/1.1" ${secs(5)}`;

  it('maps connection numbers to the request seen, preferring failures', () => {
    const a = createAccessAnalyzer({ format: f });
    a.push(line(T0, 7, 200, '/a'));
    a.push(line(T0 + 1000, 7, 502, '/b?x=1'));
    a.push(line(T0 + 2000, 7, 200, '/c'));
    a.push(line(T0 + 3000, 8, 200, '/d'));
    const m = a.statusByConnection();
    expect(m.get(7)).toEqual({ status: 502, uri: '/b', time: T0 + 1000 });
    expect(m.get(8)).toEqual({ status: 200, uri: '/d', time: T0 + 3000 });
    expect(a.result().requests).toBe(4);
  });

  it('carries a failure over a generation swap', () => {
    const a = createAccessAnalyzer({ format: f, maxConnections: 4 });
    a.push(line(T0, 1, 502, '/fail'));
    a.push(line(T0 + 1000, 2, 200, '/a'));
    a.push(line(T0 + 2000, 3, 200, '/b'));
    a.push(line(T0 + 3000, 1, 200, '/later'));
    expect(a.statusByConnection().get(1)).toEqual({ status: 502, uri: '/fail', time: T0 });
  });

  it('is empty without $connection and capped with it', () => {
    const plain = createAccessAnalyzer({ format: 'upstream' });
    plain.push(phpLine(T0, 502, 10));
    expect(plain.statusByConnection().size).toBe(0);
    const capped = createAccessAnalyzer({ format: f, maxConnections: 100 });
    for (let c = 1; c <= 250; c++) capped.push(line(T0 + c * 1000, c, 200, `/x${c}`));
    const m = capped.statusByConnection();
    expect(m.size).toBeGreaterThanOrEqual(50);
    expect(m.size).toBeLessThanOrEqual(100);
    for (let c = 201; c <= 250; c++) expect(m.get(c)).toEqual({ status: 200, uri: `/x${c}`, time: T0 + c * 1000 });
    expect(m.has(150)).toBe(false);
  });

  it('matches a reference model over many keep-alive connections and generations', () => {
    const rand = rng(77);
    const a = createAccessAnalyzer({ format: f, maxConnections: 1000 });
    type Req = { status: number; uri: string; time: number };
    const history = new Map<number, Req[]>();
    const firstLine = new Map<number, number>();
    const model = new Map<number, Req>();
    const failure = (s: number): boolean => s >= 500 || s === 499;
    const N = 20_000;
    let next = 1_000_000;
    const open: number[] = [];
    for (let i = 0; i < N; i++) {
      if (open.length < 50 || rand() < 0.3) open.push(next++);
      const k = Math.floor(rand() * open.length);
      const conn = open[k] as number;
      if (rand() < 0.2) open.splice(k, 1);
      const status = rand() < 0.1 ? 502 : 200;
      // Long URIs make the byte arena wrap, so old entries may lose their URI (null) but never get a wrong one.
      const req = { status, uri: `/u${i}${rand() < 0.1 ? 'x'.repeat(400) : ''}`, time: T0 + i * 1000 };
      a.push(line(req.time, conn, req.status, req.uri));
      if (!firstLine.has(conn)) firstLine.set(conn, i);
      history.set(conn, [...(history.get(conn) ?? []), req]);
      const prev = model.get(conn);
      if (!(prev && failure(prev.status) && !failure(status))) model.set(conn, req);
    }
    const m = a.statusByConnection();
    expect(m.size).toBeGreaterThanOrEqual(500);
    expect(m.size).toBeLessThanOrEqual(1000);
    let withUri = 0;
    for (const [conn, got] of m) {
      // Every entry is a real request of that connection.
      const real = history.get(conn)?.find((r) => r.time === got.time);
      expect(real, `conn ${conn}`).toBeDefined();
      expect(got.status).toBe(real?.status);
      if (got.uri !== null) {
        expect(got.uri).toBe(real?.uri);
        withUri++;
      }
    }
    expect(withUri).toBeGreaterThan(100);
    // Recent connections are all there, with the last request or the failure that preceded it.
    let recent = 0;
    for (const [conn, first] of firstLine) {
      if (first < N - 200) continue;
      recent++;
      expect(m.get(conn)?.time, `conn ${conn}`).toBe(model.get(conn)?.time);
    }
    expect(recent).toBeGreaterThan(30);
  });
});

describe('streaming input', () => {
  it('gives the same result whether lines come whole or in arbitrary chunks', () => {
    const rand = rng(99);
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const s = rand();
      lines.push(
        s < 0.1
          ? upstreamLine({ time: T0 + i * 100, request: 'GET /s.css HTTP/1.1' })
          : s < 0.15
            ? upstreamLine({ time: T0 + i * 100, status: 200, urt: '0.001, 0.020', uaddr: '10.0.0.1:9000, 10.0.0.2:9000', ustatus: '502, 200' })
            : s < 0.17
              ? 'not a log line at all'
              : phpLine(T0 + i * 100, s < 0.2 ? 504 : 200, Math.floor(rand() * 3000), `10.0.0.${1 + Math.floor(rand() * 4)}:9000`),
      );
    }
    const whole = analyzeAccessLines(lines, { format: 'upstream' });
    const text = Buffer.from(`${lines.join('\r\n')}\r\n`);
    for (const maxChunk of [1, 7, 300, 65_536]) {
      const a = createAccessAnalyzer({ format: 'upstream' });
      // A reused read buffer, as readSync into one Buffer would give.
      const scratch = Buffer.alloc(maxChunk);
      for (let p = 0; p < text.length; ) {
        const n = Math.min(text.length - p, 1 + Math.floor(rand() * maxChunk));
        text.copy(scratch, 0, p, p + n);
        a.pushChunk(scratch.subarray(0, n));
        p += n;
      }
      expect(a.result(), `chunks up to ${maxChunk}`).toEqual(whole);
    }
    expect(whole.lines).toBe(3000);
    expect(whole.unparsed).toBeGreaterThan(0);
    expect(whole.unparsedSamples.length).toBe(5);
  });

  it('treats a final line without newline as complete, and skips blank lines', () => {
    const a = createAccessAnalyzer({ format: 'upstream' });
    a.pushChunk(Buffer.from(`\n\n${phpLine(T0, 200, 5)}\n${phpLine(T0, 502, 5)}`));
    const r = a.result();
    expect([r.lines, r.parsed, r.count502]).toEqual([2, 2, 1]);
  });
});
