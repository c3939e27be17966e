/**
 * Estimates requests in flight per second from (end, duration) pairs, in bounded memory.
 *
 * Each second's value is the average number of requests in flight during that second (the summed overlap of request
 * intervals with it, in seconds), which is the figure comparable with pm.max_children: 300 requests of 10 ms within one
 * second kept ~3 workers busy, not 300. Logs arrive in end-time order (nginx writes at request end), so a ring of
 * seconds trailing the latest end is enough; parts of a request older than the ring (longer than ~4.5 h, or lines
 * grossly out of order) are dropped.
 */
const RING_BITS = 14;
const RING = 1 << RING_BITS;
const MASK = RING - 1;

function add(arr: Int32Array | Float64Array, i: number, v: number): void {
  arr[i] = (arr[i] as number) + v;
}

export class ConcurrencyEstimator {
  /** Difference array of whole seconds covered by a request. */
  private readonly whole = new Int32Array(RING);
  /** Partial first/last seconds, added directly. */
  private readonly part = new Float64Array(RING);
  /** Lowest second still in the ring; everything below is folded into `running`/`peak`. */
  private base = NaN;
  private running = 0;
  private peak = 0;

  /** startMs..endMs in epoch ms. */
  add(startMs: number, endMs: number): void {
    if (!(endMs > startMs)) return;
    const endSec = Math.floor(endMs / 1000);
    if (this.base !== this.base) this.base = endSec + 2 - RING;
    else if (endSec + 1 >= this.base + RING) this.advance(endSec + 2 - RING);
    const base = this.base;
    if (endSec < base) return;
    let startSec = Math.floor(startMs / 1000);
    if (startSec < base) {
      startSec = base;
      startMs = base * 1000;
    }
    if (startSec === endSec) {
      add(this.part, endSec & MASK, (endMs - startMs) / 1000);
      return;
    }
    add(this.part, startSec & MASK, ((startSec + 1) * 1000 - startMs) / 1000);
    add(this.part, endSec & MASK, (endMs - endSec * 1000) / 1000);
    if (endSec > startSec + 1) {
      add(this.whole, (startSec + 1) & MASK, 1);
      add(this.whole, endSec & MASK, -1);
    }
  }

  private advance(newBase: number): void {
    const steps = Math.min(newBase - this.base, RING);
    for (let k = 0; k < steps; k++) {
      const i = (this.base + k) & MASK;
      this.running += this.whole[i] as number;
      const v = this.running + (this.part[i] as number);
      if (v > this.peak) this.peak = v;
      this.whole[i] = 0;
      this.part[i] = 0;
    }
    this.base = newBase;
  }

  /** Peak average concurrency of any second seen so far; does not consume state. */
  peakValue(): number {
    let peak = this.peak;
    if (this.base === this.base) {
      let running = this.running;
      for (let k = 0; k < RING; k++) {
        const i = (this.base + k) & MASK;
        running += this.whole[i] as number;
        const v = running + (this.part[i] as number);
        if (v > peak) peak = v;
      }
    }
    return peak;
  }
}
