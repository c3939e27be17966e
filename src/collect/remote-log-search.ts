/**
 * Finding where a time window starts in a log file by reading a few small blocks of it: interpolation search on
 * line timestamps (a log's time is roughly linear in its bytes), guarded by bisection. Pure: the caller supplies the
 * block reads, so this works the same over SSH and in tests.
 */

/** A complete line that has a timestamp: where it starts in the file, and its time (epoch ms). */
export interface TimedLine {
  offset: number;
  time: number;
}

export interface ProbeResult {
  /** Complete timestamped lines that start in the bytes read, in file order. */
  lines: TimedLine[];
  /** Offset just past the last byte read. */
  end: number;
}

/**
 * Reads from `offset` (extending the read while no timestamped line is found, up to `limit` or a cap) and returns
 * the complete timestamped lines after the first newline (from the first byte when offset is 0).
 */
export type Probe = (offset: number, limit: number) => Promise<ProbeResult>;

export type Located =
  /** No timestamped line in the file's first and last blocks (empty file, or a format timeOf does not know). */
  | { kind: 'empty' }
  /** Every line is older than the target: nothing of this file is in the window. */
  | { kind: 'before'; firstTime: number; lastTime: number }
  /** The first line is already in the window: the whole file is, and older generations may be too. */
  | { kind: 'after'; firstTime: number }
  /**
   * The window starts inside the file: stream from `from`, a line start at most `finalSpan` bytes (unless the
   * search got stuck on lines without timestamps) before the first line at or after the target.
   */
  | { kind: 'inside'; from: number; firstTime: number; stuck: boolean };

export interface LocateOptions {
  /** Bytes read by one probe. */
  blockSize: number;
  /**
   * Stop searching once the window start is known within this many bytes (the stream skips the rest), or within
   * 1/8 of the estimated window size up to maxFinalSpan: streaming a few % more of a big window costs less than
   * another round of probes.
   */
  finalSpan: number;
  maxFinalSpan?: number;
  /** Probes run at once in one round. */
  maxParallel?: number;
  /** Lines already known (sample blocks read with the stat, including the head and tail): no head/tail round. */
  initial?: readonly TimedLine[];
}

/**
 * The complete timestamped lines in `data`, a block read at file offset `offset`. A block that does not start the
 * file may start mid-line, so its first line is skipped; the last line counts only if its newline was read.
 */
export function timedLines(data: Buffer, offset: number, timeOf: (line: string) => number | null): TimedLine[] {
  const lines: TimedLine[] = [];
  let pos = 0;
  if (offset > 0) {
    const first = data.indexOf(10);
    if (first < 0) return lines;
    pos = first + 1;
  }
  while (pos < data.length) {
    const nl = data.indexOf(10, pos);
    if (nl < 0) break;
    const end = nl > pos && data[nl - 1] === 13 ? nl - 1 : nl;
    const time = timeOf(data.toString('utf8', pos, end));
    if (time !== null && Number.isFinite(time)) lines.push({ offset: offset + pos, time });
    pos = nl + 1;
  }
  return lines;
}

/** Where, in a file of `size` bytes, the first line with time >= target is (within options.finalSpan). */
export async function locateWindowStart(size: number, target: number, probe: Probe, options: LocateOptions): Promise<Located> {
  const { blockSize, finalSpan } = options;
  if (size === 0) return { kind: 'empty' };
  let known: TimedLine[];
  if (options.initial) {
    known = [...options.initial];
  } else {
    const [head, tail] = await Promise.all([probe(0, size), size > blockSize ? probe(size - blockSize, size) : Promise.resolve<ProbeResult>({ lines: [], end: size })]);
    known = [...head.lines, ...tail.lines];
  }
  known.sort((a, b) => a.offset - b.offset);
  const first = known[0];
  const last = known[known.length - 1];
  if (!first || !last) return { kind: 'empty' };
  if (first.time >= target) return { kind: 'after', firstTime: first.time };
  if (last.time < target) return { kind: 'before', firstTime: first.time, lastTime: last.time };

  // lo: a line older than the target; hi: a line at or after it; bound: no candidate line starts in (bound, hi).
  let lo: TimedLine = first;
  let hi: TimedLine = last;
  let bound = hi.offset;
  const learn = (lines: readonly TimedLine[]) => {
    for (const line of lines) if (line.time >= target && line.offset < hi.offset) hi = line;
    bound = Math.min(bound, hi.offset);
    for (const line of lines) if (line.time < target && line.offset > lo.offset && line.offset < bound) lo = line;
  };
  learn(known);

  const maxParallel = options.maxParallel ?? 4;
  // Local interpolation is good to a fraction of a percent of the bracket; the spread widens after a miss.
  let fraction = 1 / 128;
  let previousSpan = Infinity;
  for (let round = 0; round < 64; round++) {
    const span = bound - lo.offset;
    const estimate = interpolate(lo, hi, target, bound);
    const enough = Math.max(finalSpan, Math.min(options.maxFinalSpan ?? finalSpan, (size - estimate) / 8));
    if (span <= enough) return { kind: 'inside', from: lo.offset, firstTime: first.time, stuck: false };
    const spread = Math.max(blockSize, span * fraction);
    // Two probes around the estimate: a hit leaves a bracket of 2 * spread.
    const wanted = [estimate - spread, estimate + spread];
    // Interpolation that does not halve the bracket falls back to bisection as well.
    if (span > previousSpan / 2) wanted.push(lo.offset + span / 2);
    const offsets: number[] = [];
    for (const raw of wanted) {
      const offset = Math.round(Math.min(Math.max(raw, lo.offset + 1), bound - 1));
      if (offset <= lo.offset || offset >= bound) continue;
      if (offsets.some((o) => Math.abs(o - offset) < blockSize / 4)) continue;
      offsets.push(offset);
    }
    const results = await Promise.all(offsets.slice(0, maxParallel).map((offset) => probe(offset, bound).then((r) => ({ offset, ...r }))));
    for (const result of results) {
      learn(result.lines);
      // Nothing timestamped from the probe up to the bound: the window start is not in there.
      if (result.lines.length === 0 && result.end >= bound) bound = Math.min(bound, result.offset);
    }
    const newSpan = bound - lo.offset;
    if (newSpan >= span) return { kind: 'inside', from: lo.offset, firstTime: first.time, stuck: true };
    fraction = newSpan <= 2 * spread + blockSize ? fraction : Math.min(0.25, fraction * 8);
    previousSpan = span;
  }
  return { kind: 'inside', from: lo.offset, firstTime: first.time, stuck: true };
}

/** Where the target's byte offset should be if time grew linearly between lo and hi. */
function interpolate(lo: TimedLine, hi: TimedLine, target: number, bound: number): number {
  if (hi.time <= lo.time) return (lo.offset + bound) / 2;
  const ratio = (target - lo.time) / (hi.time - lo.time);
  const estimate = lo.offset + ratio * (hi.offset - lo.offset);
  return Math.min(Math.max(estimate, lo.offset), bound);
}
