/**
 * Fixed-size log-bucketed latency histogram over integer milliseconds (HDR-style): exact below 128 ms, then 64
 * sub-buckets per power of two, so a bucket midpoint is within 1/128 (0.8%) of any value in it. 1664 counters cover
 * up to 2^31 ms; memory does not grow with the number of samples.
 */
import type { LatencySummary } from './types.js';

const LINEAR = 128;
const SUB_BITS = 6;
const SUB = 1 << SUB_BITS;
const MAX_VALUE = 0x7fffffff;
export const BUCKETS = LINEAR + (31 - 7) * SUB;

export function bucketOf(ms: number): number {
  if (ms < LINEAR) return ms;
  const v = ms > MAX_VALUE ? MAX_VALUE : ms | 0;
  const exp = 31 - Math.clz32(v);
  return LINEAR + ((exp - 7) << SUB_BITS) + ((v >>> (exp - SUB_BITS)) - SUB);
}

/** Midpoint of a bucket, in ms. */
export function bucketValue(index: number): number {
  if (index < LINEAR) return index;
  const rel = index - LINEAR;
  const exp = 7 + (rel >>> SUB_BITS);
  const width = 2 ** (exp - SUB_BITS);
  const lower = (SUB + (rel & (SUB - 1))) * width;
  return lower + (width - 1) / 2;
}

/** A histogram as plain data: what a worker thread sends back, and what merges. */
export interface HistogramState {
  counts: Uint32Array;
  count: number;
  max: number;
}

export class LatencyHistogram {
  readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  max = 0;

  state(): HistogramState {
    return { counts: this.counts, count: this.count, max: this.max };
  }

  /** Adds another histogram's samples: the result is the histogram of both streams, exactly. */
  add(other: HistogramState): void {
    const counts = this.counts;
    const theirs = other.counts;
    for (let i = 0; i < BUCKETS; i++) counts[i] = (counts[i] as number) + (theirs[i] as number);
    this.count += other.count;
    if (other.max > this.max) this.max = other.max;
  }

  /** ms must be a non-negative integer. */
  record(ms: number): void {
    const i = bucketOf(ms);
    this.counts[i] = (this.counts[i] as number) + 1;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  /** Nearest-rank percentile in ms (smallest value with at least p of the samples at or below it). */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(p * this.count));
    let seen = 0;
    const counts = this.counts;
    for (let i = 0; i < BUCKETS; i++) {
      seen += counts[i] as number;
      if (seen >= rank) return Math.min(this.max, bucketValue(i));
    }
    return this.max;
  }

  summary(): LatencySummary {
    if (this.count === 0) return { count: 0, p50: null, p95: null, p99: null, max: null };
    const sec = (ms: number): number => Math.round(ms) / 1000;
    return {
      count: this.count,
      p50: sec(this.percentile(0.5)),
      p95: sec(this.percentile(0.95)),
      p99: sec(this.percentile(0.99)),
      max: sec(this.max),
    };
  }
}
