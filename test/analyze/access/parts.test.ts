/**
 * The mergeable pieces of the access analysis: the concurrency estimate and the `$connection` table of consecutive
 * parts of a stream merge into exactly what one pass over the stream gives, at every split point; where they cannot
 * know (a table past its cap), the merge says so instead of guessing.
 */
import { describe, expect, it } from 'vitest';
import { ConcurrencyEstimator, mergeConcurrency } from '../../../src/analyze/access/concurrency.js';
import { ConnectionTable, mergeConnections } from '../../../src/analyze/access/connections.js';
import { seededRandom } from '../../support/random.js';

describe('mergeConcurrency', () => {
  it('equals one estimator over the whole stream at any split, over 10 hours (folded seconds, head and ring)', () => {
    const rnd = seededRandom(3);
    const t0 = Date.UTC(2026, 0, 1);
    // Ends in order with a little disorder, durations up to 2 minutes, a few up to 40 minutes.
    const requests = Array.from({ length: 6000 }, (_, i) => {
      const end = t0 + Math.floor((i / 6000) * 10 * 3_600_000) - (rnd() < 0.1 ? Math.floor(rnd() * 3000) : 0);
      const duration = rnd() < 0.01 ? Math.floor(rnd() * 2_400_000) : Math.floor(rnd() * 120_000);
      return [end - duration, end] as const;
    });
    const whole = new ConcurrencyEstimator();
    for (const [s, e] of requests) whole.add(s, e);
    expect(whole.peakMs()).toBeGreaterThan(1000);
    for (const cuts of [[1], [3000], [5999], [100, 2000, 4000], [1000, 1001, 1002]]) {
      const bounds = [0, ...cuts, requests.length];
      const parts = bounds.slice(1).map((end, k) => {
        const part = new ConcurrencyEstimator();
        for (const [s, e] of requests.slice(bounds[k], end)) part.add(s, e);
        return part.snapshot();
      });
      expect(mergeConcurrency(parts), String(cuts)).toBe(whole.peakMs());
    }
  });

  it('says it cannot tell when a part holds a request that started before an earlier part lost its seconds', () => {
    const t0 = Date.UTC(2026, 0, 1);
    const a = new ConcurrencyEstimator();
    for (let k = 0; k < 100; k++) a.add(t0 + k * 1000, t0 + k * 1000 + 500);
    const b = new ConcurrencyEstimator();
    b.add(t0 + 100_000 - 6 * 3_600_000, t0 + 100_000);
    expect(mergeConcurrency([a.snapshot(), b.snapshot()])).toBeNull();
  });
});

describe('mergeConnections', () => {
  const uri = (n: number) => Buffer.from(`/${String(n).repeat(1 + (n % 7))}${'x'.repeat(400)}`);
  // Failures and successes on few connections, URIs long enough to wrap the table's URI arena (64 KiB).
  const records = Array.from({ length: 400 }, (_, i) => ({ conn: (i * 7) % 3, status: i % 5 === 0 ? 502 : 200, time: 1000 + i, uri: uri(i) }));
  const feed = (table: ConnectionTable, list: typeof records) => {
    for (const r of list) table.record(r.conn, r.status, r.time, r.uri, 0, r.uri.length);
  };

  it('equals one table over the whole stream at any split, URIs overwritten in the arena included', () => {
    const whole = new ConnectionTable(8);
    feed(whole, records);
    const expected = [...whole.toMap()].sort((x, y) => x[0] - y[0]);
    expect(expected.some(([, e]) => e.uri === null)).toBe(false);
    for (const cut of [1, 37, 200, 398]) {
      const a = new ConnectionTable(8);
      const b = new ConnectionTable(8);
      feed(a, records.slice(0, cut));
      feed(b, records.slice(cut));
      expect(
        [...mergeConnections([a.snapshot(), b.snapshot()])!].sort((x, y) => x[0] - y[0]),
        String(cut),
      ).toEqual(expected);
    }
    // An early connection's URI is gone from the whole stream's arena; the merge forgets it too.
    const early = [{ conn: 9, status: 502, time: 1, uri: uri(1) }, ...records.map((r) => ({ ...r, status: 200 }))];
    const one = new ConnectionTable(8);
    feed(one, early);
    expect(one.toMap().get(9)).toEqual({ status: 502, time: 1, uri: null });
    const a = new ConnectionTable(8);
    const b = new ConnectionTable(8);
    feed(a, early.slice(0, 1));
    feed(b, early.slice(1));
    expect(mergeConnections([a.snapshot(), b.snapshot()])!.get(9)).toEqual({ status: 502, time: 1, uri: null });
  });

  it('is null once the connections outnumber half the cap (one pass would have forgotten some)', () => {
    const a = new ConnectionTable(8);
    const b = new ConnectionTable(8);
    for (let c = 0; c < 3; c++) a.record(c, 200, c, Buffer.from('/a'), 0, 2);
    for (let c = 3; c < 5; c++) b.record(c, 200, c, Buffer.from('/a'), 0, 2);
    expect(mergeConnections([a.snapshot(), b.snapshot()])).toBeNull();
    const c4 = new ConnectionTable(8);
    c4.record(2, 502, 9, Buffer.from('/b'), 0, 2);
    expect(mergeConnections([a.snapshot(), c4.snapshot()])?.get(2)).toEqual({ status: 502, time: 9, uri: '/b' });
  });
});
