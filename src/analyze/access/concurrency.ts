/**
 * Estimates requests in flight per second from (end, duration) pairs, in bounded memory.
 *
 * Each second's value is the average number of requests in flight during that second (the summed overlap of request
 * intervals with it, in seconds), which is the figure comparable with pm.max_children: 300 requests of 10 ms within one
 * second kept ~3 workers busy, not 300. Logs arrive in end-time order (nginx writes at request end), so a ring of
 * seconds trailing the latest end is enough; parts of a request older than the ring (longer than ~4.5 h, or lines
 * grossly out of order) are dropped.
 *
 * Overlaps are summed in whole milliseconds, so sums are exact whatever their order: the estimates of consecutive parts
 * of a log (one per worker thread) merge into exactly the figure of the whole log (mergeConcurrency).
 */
const RING_BITS = 14;
const RING = 1 << RING_BITS;
const MASK = RING - 1;
/**
 * Seconds past a part's first request end that it keeps apart for the merge: lines out of order across the boundary
 * between two parts by up to this much still merge exactly.
 */
const HEAD_SLACK = 3600;

function add(arr: Int32Array | Float64Array, i: number, v: number): void {
  arr[i] = (arr[i] as number) + v;
}

/** What the merge needs of one part of a log. Values are millisecond-seconds (1000 = one request in flight). */
export interface ConcurrencyPart {
  /** End second of the part's first request (NaN: none). */
  firstEndSec: number;
  /** Smallest start second and largest end second of any request of the part. */
  minStartSec: number;
  maxEndSec: number;
  /** Peak over the seconds the part folded, other than its head. */
  peakFolded: number;
  /** Folded seconds from headStart on (up to the first end + HEAD_SLACK), which an earlier part may share. */
  headStart: number;
  head: Float64Array | null;
  /** The seconds still in the ring at the end, from tailStart on, which a later part may share. */
  tailStart: number;
  tail: Float64Array;
}

export class ConcurrencyEstimator {
  /** Difference array of whole seconds covered by a request. */
  private readonly whole = new Int32Array(RING);
  /** Partial first/last seconds in ms, added directly. */
  private readonly part = new Float64Array(RING);
  /** Lowest second still in the ring; everything below is folded into `running`/`peak` (or `head`). */
  private base = NaN;
  private running = 0;
  private peak = 0;
  private firstEndSec = NaN;
  private minStartSec = Infinity;
  private maxEndSec = -Infinity;
  private head: Float64Array | null = null;

  /** startMs..endMs in epoch ms, whole milliseconds. */
  add(startMs: number, endMs: number): void {
    if (!(endMs > startMs)) return;
    const endSec = Math.floor(endMs / 1000);
    if (this.base !== this.base) {
      this.base = endSec + 2 - RING;
      this.firstEndSec = endSec;
    } else if (endSec + 1 >= this.base + RING) this.advance(endSec + 2 - RING);
    if (endSec > this.maxEndSec) this.maxEndSec = endSec;
    let startSec = Math.floor(startMs / 1000);
    if (startSec < this.minStartSec) this.minStartSec = startSec;
    const base = this.base;
    if (endSec < base) return;
    if (startSec < base) {
      startSec = base;
      startMs = base * 1000;
    }
    if (startSec === endSec) {
      add(this.part, endSec & MASK, endMs - startMs);
      return;
    }
    add(this.part, startSec & MASK, (startSec + 1) * 1000 - startMs);
    add(this.part, endSec & MASK, endMs - endSec * 1000);
    if (endSec > startSec + 1) {
      add(this.whole, (startSec + 1) & MASK, 1);
      add(this.whole, endSec & MASK, -1);
    }
  }

  private get headStart(): number {
    return this.firstEndSec + 2 - RING;
  }

  private advance(newBase: number): void {
    const steps = Math.min(newBase - this.base, RING);
    const headEnd = this.firstEndSec + 1 + HEAD_SLACK;
    for (let k = 0; k < steps; k++) {
      const sec = this.base + k;
      const i = sec & MASK;
      this.running += this.whole[i] as number;
      const v = this.running * 1000 + (this.part[i] as number);
      if (sec <= headEnd) (this.head ??= new Float64Array(RING + HEAD_SLACK))[sec - this.headStart] = v;
      else if (v > this.peak) this.peak = v;
      this.whole[i] = 0;
      this.part[i] = 0;
    }
    this.base = newBase;
  }

  /** The ring's seconds from base on, as values. */
  private tail(): Float64Array {
    const out = new Float64Array(this.base === this.base ? RING : 0);
    let running = this.running;
    for (let k = 0; k < out.length; k++) {
      const i = (this.base + k) & MASK;
      running += this.whole[i] as number;
      out[k] = running * 1000 + (this.part[i] as number);
    }
    return out;
  }

  /** Peak average concurrency of any second seen so far, in ms per second; does not consume state. */
  peakMs(): number {
    let peak = this.peak;
    for (const values of [this.head, this.tail()]) if (values) for (const v of values) if (v > peak) peak = v;
    return peak;
  }

  snapshot(): ConcurrencyPart {
    return {
      firstEndSec: this.firstEndSec,
      minStartSec: this.minStartSec,
      maxEndSec: this.maxEndSec,
      peakFolded: this.peak,
      headStart: this.headStart,
      head: this.head,
      tailStart: this.base,
      tail: this.tail(),
    };
  }
}

/**
 * The peak (ms per second) of consecutive parts of one log, exactly as one estimator over the whole log would give it;
 * null when the parts cannot say (a request longer than the ring that crosses into an earlier part, or lines out of
 * order across a boundary by more than HEAD_SLACK): then only a single pass can.
 */
export function mergeConcurrency(parts: readonly ConcurrencyPart[]): number | null {
  let peak = 0;
  let maxEndBefore = -Infinity;
  const shared = new Map<number, number>();
  const share = (start: number, values: Float64Array | null) => {
    if (!values) return;
    for (let k = 0; k < values.length; k++) {
      const v = values[k] as number;
      if (v !== 0) shared.set(start + k, (shared.get(start + k) ?? 0) + v);
    }
  };
  for (const part of parts) {
    if (part.firstEndSec !== part.firstEndSec) continue;
    // What a single pass would have clipped or dropped differently, or seconds this part folded that an earlier one shares.
    if (part.minStartSec < maxEndBefore + 2 - RING || maxEndBefore > part.firstEndSec + 1 + HEAD_SLACK) return null;
    if (part.peakFolded > peak) peak = part.peakFolded;
    share(part.headStart, part.head);
    share(part.tailStart, part.tail);
    if (part.maxEndSec > maxEndBefore) maxEndBefore = part.maxEndSec;
  }
  for (const v of shared.values()) if (v > peak) peak = v;
  return peak;
}
