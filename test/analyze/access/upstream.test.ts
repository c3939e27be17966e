import { describe, expect, it } from 'vitest';
import { analyzeAccessLines, parseAccessLine } from '../../../src/analyze/access/index.js';
import { upstreamLine } from './helpers.js';

const T0 = Date.UTC(2024, 4, 14, 10, 0, 0);

describe('multi-value upstream fields', () => {
  it('splits retries (", ") into attempts aligned across variables', () => {
    const e = parseAccessLine(
      'upstream',
      upstreamLine({
        time: T0,
        status: 200,
        uct: '-, 0.001',
        uht: '-, 0.049',
        urt: '0.001, 0.050',
        uaddr: '10.0.0.1:9000, 10.0.0.2:9000',
        ustatus: '502, 200',
      }),
    );
    expect(e?.upstreams).toEqual([
      { addr: '10.0.0.1:9000', status: 502, connectTime: null, headerTime: null, responseTime: 0.001 },
      { addr: '10.0.0.2:9000', status: 200, connectTime: 0.001, headerTime: 0.049, responseTime: 0.05 },
    ]);
  });

  it('treats " : " (internal redirect to another group) as a further attempt', () => {
    // The example from the nginx docs for $upstream_addr.
    const e = parseAccessLine(
      'upstream',
      upstreamLine({
        time: T0,
        uaddr: '192.168.1.1:80, 192.168.1.2:80, unix:/tmp/sock : 192.168.10.1:80, 192.168.10.2:80',
        ustatus: '502, 504, 200 : 502, 200',
        urt: '0.001, 60.000, 0.010 : 0.000, 0.020',
      }),
    );
    expect(e?.upstreams.map((u) => u.addr)).toEqual(['192.168.1.1:80', '192.168.1.2:80', 'unix:/tmp/sock', '192.168.10.1:80', '192.168.10.2:80']);
    expect(e?.upstreams.map((u) => u.status)).toEqual([502, 504, 200, 502, 200]);
    expect(e?.upstreams.map((u) => u.responseTime)).toEqual([0.001, 60, 0.01, 0, 0.02]);
  });

  it('knows "-" as "no upstream" for the whole variable and "no status" for one attempt', () => {
    expect(parseAccessLine('upstream', upstreamLine({ time: T0 }))?.upstreams).toEqual([]);
    const aborted = parseAccessLine('upstream', upstreamLine({ time: T0, status: 499, uct: '0.001', uht: '-', urt: '12.000', uaddr: 'unix:/run/php/fpm.sock', ustatus: '-' }));
    expect(aborted?.upstreams).toEqual([{ addr: 'unix:/run/php/fpm.sock', status: null, connectTime: 0.001, headerTime: null, responseTime: 12 }]);
    const noLive = parseAccessLine('upstream', upstreamLine({ time: T0, status: 502, urt: '0.000', uaddr: 'php_backend', ustatus: '502' }));
    expect(noLive?.upstreams[0]?.addr).toBe('php_backend');
  });

  it('rejects malformed lists', () => {
    for (const bad of [
      { uaddr: '10.0.0.1:9000,,10.0.0.2:9000', ustatus: '200' },
      { uaddr: '10.0.0.1:9000, ', ustatus: '200' },
      { uaddr: '10.0.0.1:9000', ustatus: '2000' },
      { uaddr: '10.0.0.1:9000', ustatus: '200', urt: '0.0x1' },
      { uaddr: '10.0.0.1:9000', ustatus: '200', urt: '1.' },
      { uaddr: '10.0.0.1:9000', ustatus: '200,200' },
    ]) {
      const line = upstreamLine({ time: T0, ...bad });
      expect(parseAccessLine('upstream', line), line).toBeNull();
      expect(analyzeAccessLines([line], { format: 'upstream' }).unparsedReasons, line).toEqual({ upstream: 1 });
    }
  });
});

describe('per-upstream attribution', () => {
  it('charges each attempt to the peer that served it, using the attempt status', () => {
    const lines = [
      // 10.0.0.1 fails, retried on 10.0.0.2 which succeeds: the request is a 200.
      upstreamLine({ time: T0, status: 200, urt: '0.001, 0.050', uaddr: '10.0.0.1:9000, 10.0.0.2:9000', ustatus: '502, 200' }),
      upstreamLine({ time: T0, status: 504, urt: '60.001', uaddr: '10.0.0.1:9000', ustatus: '504' }),
      upstreamLine({ time: T0, status: 499, urt: '3.000', uaddr: '10.0.0.2:9000', ustatus: '-' }),
      upstreamLine({ time: T0, status: 200, urt: '0.020', uaddr: '10.0.0.2:9000', ustatus: '200' }),
      upstreamLine({ time: T0, status: 200, urt: '0.030', uaddr: '10.0.0.3:9000', ustatus: '200' }),
      upstreamLine({ time: T0, status: 502, urt: '0.000', uaddr: 'php_backend', ustatus: '502' }),
      upstreamLine({ time: T0, status: 200, request: 'GET /app.js HTTP/1.1' }),
    ];
    const r = analyzeAccessLines(lines, { format: 'upstream' });
    expect(r.requests).toBe(7);
    expect(r.upstreamRequests).toBe(6);
    expect(r.retriedRequests).toBe(1);
    expect(r.count502).toBe(1);
    expect(r.count504).toBe(1);
    expect(r.statuses).toEqual({ '200': 4, '499': 1, '502': 1, '504': 1 });
    const by = Object.fromEntries(r.upstreams.map((u) => [u.addr, u]));
    expect(by['10.0.0.1:9000']).toMatchObject({ requests: 2, errors: 2, status502: 1, status504: 1 });
    expect(by['10.0.0.2:9000']).toMatchObject({ requests: 3, errors: 1, status502: 0, status504: 0 });
    expect(by['10.0.0.3:9000']).toMatchObject({ requests: 1, errors: 0 });
    expect(by.php_backend).toMatchObject({ requests: 1, errors: 1, status502: 1 });
    expect(by['10.0.0.1:9000']?.responseTime).toEqual({ count: 2, p50: 0.001, p95: 60.001, p99: 60.001, max: 60.001 });
    // Sorted by errors, then requests.
    expect(r.upstreams.map((u) => u.addr)).toEqual(['10.0.0.1:9000', '10.0.0.2:9000', 'php_backend', '10.0.0.3:9000']);
    expect(r.upstreamResponseTime.count).toBe(7);
    expect(r.slowestUpstreamSeconds).toBe(60.001);
  });

  it('keeps many distinct peers apart (hash interning is exact)', () => {
    const lines: string[] = [];
    for (let i = 0; i < 600; i++) {
      const addr = `10.${i >> 8}.${i & 255}.1:9000`;
      for (let k = 0; k <= i % 3; k++) lines.push(upstreamLine({ time: T0, status: 200, urt: '0.010', uaddr: addr, ustatus: '200' }));
    }
    const r = analyzeAccessLines(lines, { format: 'upstream' });
    expect(r.upstreams).toHaveLength(600);
    for (const u of r.upstreams) {
      const i = (Number(u.addr.split('.')[1]) << 8) | Number(u.addr.split('.')[2]);
      expect(u.requests, u.addr).toBe((i % 3) + 1);
    }
  });

  it('counts formats without $upstream_addr by their other lists', () => {
    const f = `'$remote_addr [$time_local] $status us=$upstream_status urt=$upstream_response_time'`;
    const r = analyzeAccessLines(
      ['1.1.1.1 [14/May/2024:10:00:00 +0000] 200 us=- urt=-', '1.1.1.1 [14/May/2024:10:00:00 +0000] 502 us=502, 502 urt=0.001, 0.002', '1.1.1.1 [14/May/2024:10:00:00 +0000] 200 us=200 urt=0.100'],
      { format: f },
    );
    expect(r.parsed).toBe(3);
    expect(r.upstreamRequests).toBe(2);
    expect(r.retriedRequests).toBe(1);
    expect(r.upstreams).toEqual([]);
    expect(r.upstreamResponseTime.count).toBe(3);
  });
});
