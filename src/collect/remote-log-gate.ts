/**
 * The front door of a windowed read: drops the lines before the window start (the partial first line of a read
 * that starts mid-line, lines older than the target, continuation lines of an older entry), then passes every byte
 * through unchanged. Lines are judged only until the first line in the window; after that the gate is open for good
 * (log time only grows), so the cost of judging is bounded by the bytes before the window start.
 */

/** A line longer than this before the window start is dropped without being judged. */
const MAX_PENDING = 1 << 20;

export class WindowGate {
  /** True once the first line at or after the target went through (or there is no target). */
  open: boolean;
  /** Bytes of the current segment dropped before the gate opened (or before its first newline). */
  dropped = 0;
  /** Bytes of the current segment passed on. */
  passed = 0;
  /** Time of the first timestamped line seen in the current segment, or null. */
  firstTime: number | null = null;

  private pending: Buffer | null = null;
  private skipToNewline = false;
  private lastByte = 10;

  constructor(
    private readonly target: number | null,
    private readonly timeOf: (line: string) => number | null,
    private readonly sink: (chunk: Buffer) => void,
  ) {
    this.open = target === null;
  }

  /** Starts the bytes of another file; `partial`: the read starts mid-line, drop up to the first newline. */
  beginSegment(partial: boolean): void {
    this.pending = null;
    this.skipToNewline = partial;
    this.dropped = 0;
    this.passed = 0;
    this.firstTime = null;
    // Files are separate: a last line without its newline must not run into the next file's first line.
    if (this.lastByte !== 10) this.emit(Buffer.from('\n'), false);
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.skipToNewline) {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        this.dropped += chunk.length;
        return;
      }
      this.dropped += nl + 1;
      this.skipToNewline = false;
      chunk = chunk.subarray(nl + 1);
      if (chunk.length === 0) return;
    }
    if (this.open) {
      this.emit(chunk, true);
      return;
    }
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let pos = 0;
    for (;;) {
      const nl = data.indexOf(10, pos);
      if (nl < 0) break;
      if (this.judge(data, pos, nl)) {
        this.dropped += pos;
        this.open = true;
        this.emit(data.subarray(pos), true);
        return;
      }
      pos = nl + 1;
    }
    this.dropped += pos;
    const rest = data.length - pos;
    if (rest > MAX_PENDING) {
      this.dropped += rest;
      this.skipToNewline = true;
    } else if (rest > 0) {
      // A copy: the caller may reuse its chunk.
      this.pending = Buffer.from(data.subarray(pos));
    }
  }

  /** The end of a segment: a last line without its newline is judged as it is. */
  endSegment(): void {
    const data = this.pending;
    this.pending = null;
    if (!data || data.length === 0) return;
    if (!this.open && this.judge(data, 0, data.length)) {
      this.open = true;
      this.emit(data, true);
    } else {
      this.dropped += data.length;
    }
  }

  private judge(data: Buffer, start: number, end: number): boolean {
    const stop = end > start && data[end - 1] === 13 ? end - 1 : end;
    const time = this.timeOf(data.toString('utf8', start, stop));
    if (time === null || !Number.isFinite(time)) return false;
    this.firstTime ??= time;
    return this.target === null || time >= this.target;
  }

  private emit(chunk: Buffer, counted: boolean): void {
    if (chunk.length === 0) return;
    if (counted) this.passed += chunk.length;
    this.lastByte = chunk[chunk.length - 1]!;
    this.sink(chunk);
  }
}
