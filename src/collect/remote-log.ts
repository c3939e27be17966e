/**
 * Windowed reads of a remote log over the executor: `triage web-03 --since 15m` reads the last 15 minutes of a
 * many-gigabyte access log at a cost that follows the window, not the file.
 *
 * 1. `log.stat`: size, inode and mtime of the current file and its rotated generations (.1, .2.gz, ...), one command.
 * 2. The window start is found in the current file by interpolation search on line timestamps with small block reads
 *    (`log.read-block`, a few in parallel per round), falling back to bisection. When the window starts before the
 *    current file's first line, the previous generations are included: plain ones are searched the same way,
 *    compressed ones (no random access) are streamed whole when their mtime says they can overlap the window.
 * 3. `log.read-stream` streams each part, oldest first, from one open file descriptor: the current file up to the
 *    size recorded by the stat (lines appended during the read are not read, so the read always ends), rotated
 *    generations to their end. Compressed generations travel compressed and are inflated here. The lines before the
 *    window start are dropped (WindowGate); the rest goes to `onData` byte for byte.
 * 4. Every read reports the inode and size of the file it opened, so a rotation (rename, copytruncate) between the
 *    stat and a read is seen: during the search the search starts over; during the stream the parts are found again
 *    by inode (the rotated-away file is read from the same offset, then the new current file), with a note.
 */
import { createGunzip } from 'node:zlib';
import type { Catalog } from '../catalog/index.js';
import type { Host } from '../config/index.js';
import { ExecError, UsageError } from '../errors.js';
import type { Executor } from '../exec/index.js';
import { WindowGate } from './remote-log-gate.js';
import { locateWindowStart, timedLines, type TimedLine } from './remote-log-search.js';
import { PROBE_BLOCK, RemoteLogFile, Rotated, type Generation, type LogSource, type Segment } from './remote-log-file.js';

export { generationPath, type LogSource } from './remote-log-file.js';

export interface WindowedReadOptions {
  /** src/exec (SshExecutor in production and tests). */
  executor: Executor;
  /** Only catalog commands run: log.stat, log.read-block, log.read-stream. */
  catalog: Catalog;
  host: Host;
  source: LogSource;
  /** Window start, epoch ms; undefined = read only the current file, from its start. */
  from?: number;
  /** Timestamp of a line (epoch ms), null for lines without one (continuations, garbage). */
  timeOf: (line: string) => number | null;
  /** The bytes of the window, oldest file first, in file order, as they arrive. */
  onData: (chunk: Buffer) => void;
  signal?: AbortSignal;
  /** Safety cap on bytes streamed (decompressed); default 512 MiB. The newest bytes are kept. */
  maxBytes?: number;
  /** Also stream lines up to this much older than `from` (for logs written out of order); default 0. */
  slackMs?: number;
  /** Rotated generations to look for; default 10. */
  generations?: number;
}

export interface WindowedFile {
  /** The file actually read (after a rotation during the read, where the data had moved to). */
  path: string;
  /** 0 = the current file, N = path.N or path.N.gz. */
  generation: number;
  compressed: boolean;
  /** Size on disk at the stat (compressed size for .gz). */
  size: number;
  /** Offset of the first byte passed to onData (in the decompressed data for .gz); the end when none was. */
  startOffset: number;
  /** Bytes of this file passed to onData (decompressed). */
  bytesStreamed: number;
}

export interface WindowedReadResult {
  /** The files read, oldest first. */
  files: WindowedFile[];
  /** Every byte that crossed the wire: stat, probes and streams (compressed bytes for .gz). */
  bytesFetched: number;
  /** Commands run to find the window (stat and block reads). */
  probes: number;
  /** False when the window starts before the oldest available data (a note says where the data begins). */
  startFound: boolean;
  /** True when maxBytes cut the read (a note says so). */
  capped: boolean;
  durationMs: number;
  /** Time spent finding the window (stat and probes), and streaming it. */
  searchMs: number;
  streamMs: number;
  /** Responder-readable remarks: rotations during the read, the window reaching past the oldest data, caps. */
  notes: string[];
}

const FINAL_SPAN = 256 * 1024;
const MAX_FINAL_SPAN = 4 * 1024 * 1024;
/** log.read-stream's largest length; longer reads are done in pieces. */
const STREAM_PIECE = 1024 * 1024 * 1024;
const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;
const MAX_ROTATIONS = 3;

/**
 * Streams the part of a host's log that lies in the window [from, now] to `onData`. Rejects with the executor's
 * ExecError when the host cannot be reached or drops the connection, is cancelled, or the log is missing.
 */
export async function readWindow(options: WindowedReadOptions): Promise<WindowedReadResult> {
  return new WindowReader(options).read();
}

class WindowReader {
  private readonly path: string;
  private readonly target: number | null;
  private readonly maxBytes: number;
  private readonly file: RemoteLogFile;
  private readonly notes: string[] = [];
  private files: WindowedFile[] = [];
  private delivered = false;
  private budget: number;
  private capped = false;
  /** First timestamp of each file streamed from its start, by inode. */
  private readonly firstTimes = new Map<string, number | null>();

  constructor(private readonly o: WindowedReadOptions) {
    const path = o.host.sources[o.source];
    if (!path) throw new UsageError(`${o.host.name} has no ${o.source} configured (set sources.${o.source} in badgateway.yaml).`);
    this.path = path;
    this.file = new RemoteLogFile(o, path);
    this.target = o.from === undefined ? null : o.from - Math.max(0, o.slackMs ?? 0);
    this.maxBytes = Math.max(1, o.maxBytes ?? DEFAULT_MAX_BYTES);
    this.budget = this.maxBytes;
  }

  async read(): Promise<WindowedReadResult> {
    const started = Date.now();
    let searchMs = 0;
    let streamMs = 0;
    for (let attempt = 1; ; attempt++) {
      this.file.checkCancelled();
      const searchStart = Date.now();
      let plan: Plan;
      try {
        plan = await this.plan();
      } catch (err) {
        searchMs += Date.now() - searchStart;
        if (!(err instanceof Rotated)) throw err;
        if (attempt >= MAX_ROTATIONS) throw this.keptRotating();
        this.notes.push(`${this.path} was rotated while the window was being searched: searched again.`);
        continue;
      }
      searchMs += Date.now() - searchStart;
      const streamStart = Date.now();
      try {
        await this.stream(plan.segments);
        streamMs += Date.now() - streamStart;
        const startFound = this.startFound(plan);
        return {
          files: this.files,
          bytesFetched: this.file.bytesFetched,
          probes: this.file.probes,
          startFound,
          capped: this.capped,
          durationMs: Date.now() - started,
          searchMs,
          streamMs,
          notes: this.notes,
        };
      } catch (err) {
        streamMs += Date.now() - streamStart;
        // Nothing went to the caller yet: start over as if the rotation had happened before the stat.
        if (!(err instanceof Rotated) || this.delivered) throw err instanceof Rotated ? this.keptRotating() : err;
        if (attempt >= MAX_ROTATIONS) throw this.keptRotating();
        this.files = [];
        this.budget = this.maxBytes;
        this.notes.push(`${this.path} was rotated just before it was read: looked for the window again.`);
      }
    }
  }

  private keptRotating(): ExecError {
    return new ExecError(this.o.host.name, 'exit', `${this.o.source} ${this.path} kept being rotated or truncated while it was being read; ask again in a moment.`);
  }

  // ---- planning: which files, from where ----

  private async plan(): Promise<Plan> {
    const { gens, sample } = await this.file.stat(this.target === null ? 0 : PROBE_BLOCK);
    const current = gens[0]!;
    let initial: TimedLine[] | undefined;
    if (sample && sample.inode === current.inode && sample.size >= current.size) {
      // The sample opened the file a moment after the stat: its size is the one to read up to.
      current.size = sample.size;
      initial = sample.blocks.flatMap((block) => timedLines(block.data, block.offset, this.o.timeOf));
    }
    if (this.target === null) {
      return { gens, segments: this.trim([{ gen: current, from: 0, to: current.size, partial: false }]), oldest: null };
    }
    const target = this.target;
    const segments: Segment[] = [];
    let oldest: Plan['oldest'] = null;
    for (const gen of gens) {
      // A file's lines are no newer than its last write (mtime has second precision).
      if (gen.generation > 0 && gen.mtimeMs + 1000 <= target) return this.finish(gens, segments, null);
      if (gen.compressed) {
        // No random access: streamed whole; its first line is known once inflated.
        segments.unshift({ gen, from: 0, to: null, partial: false });
        oldest = { gen, firstTime: null };
        continue;
      }
      const located = await locateWindowStart(gen.size, target, (offset, limit) => this.file.probe(gen, offset, limit), {
        blockSize: PROBE_BLOCK,
        finalSpan: FINAL_SPAN,
        maxFinalSpan: MAX_FINAL_SPAN,
        ...(gen.generation === 0 && initial ? { initial } : {}),
      });
      const to = gen.generation === 0 ? gen.size : null;
      switch (located.kind) {
        case 'empty':
          if (gen.size > 0) {
            this.notes.push(`no line of ${gen.path} has a timestamp in its first and last blocks (is the log format right?): skipped it.`);
          }
          oldest = { gen, firstTime: null };
          continue;
        case 'before':
          return this.finish(gens, segments, null);
        case 'after':
          segments.unshift({ gen, from: 0, to, partial: false });
          oldest = { gen, firstTime: located.firstTime };
          continue;
        case 'inside':
          if (located.stuck) {
            this.notes.push(`the window start in ${gen.path} could only be narrowed to a region without timestamps; read it from its start.`);
          }
          segments.unshift({ gen, from: located.from, to, partial: false });
          return this.finish(gens, segments, null);
      }
    }
    return this.finish(gens, segments, oldest);
  }

  private async finish(gens: Generation[], segments: Segment[], oldest: Plan['oldest']): Promise<Plan> {
    const known = segments.reduce((sum, s) => sum + (s.gen.compressed ? s.gen.size * 50 : (s.to ?? s.gen.size) - s.from), 0);
    // The inflated sizes matter only when the window may not fit in maxBytes (logs inflate 5-20x).
    if (known <= this.maxBytes) return { gens, segments, oldest };
    await Promise.all(
      segments
        .filter((s) => s.gen.compressed && s.gen.size >= 18)
        .map(async (segment) => {
          // ISIZE, the last 4 bytes of a gzip file: the inflated size modulo 2^32 (of the last member).
          const trailer = await this.file.readBlock(segment.gen, segment.gen.size - 4, 4);
          if (trailer.length !== 4) return;
          const isize = trailer.readUInt32LE(0);
          // Past 4 GiB the count wraps: take the wrap that gives a log-like ratio of about 10.
          const wraps = Math.max(0, Math.round((segment.gen.size * 10 - isize) / 2 ** 32));
          segment.inflated = isize + wraps * 2 ** 32;
        }),
    );
    return { gens, segments: this.trim(segments), oldest };
  }

  /** Keeps the newest maxBytes of the plan (the newest data matters most in a triage). */
  private trim(segments: Segment[]): Segment[] {
    let budget = this.maxBytes;
    for (let i = segments.length - 1; i >= 0; i--) {
      const segment = segments[i]!;
      const end = segment.gen.compressed ? segment.inflated : (segment.to ?? segment.gen.size);
      if (end === undefined) continue;
      const length = end - segment.from;
      if (length <= budget) {
        budget -= length;
        continue;
      }
      const kept = segments.slice(i);
      if (budget > 0) {
        segment.from = end - budget;
        segment.partial = true;
      } else {
        kept.shift();
      }
      this.capped = true;
      this.notes.push(
        `the window holds more than ${mib(this.maxBytes)} (maxBytes): read only the newest ${mib(this.maxBytes)}` + (kept[0] ? `, from offset ${kept[0].from} of ${kept[0].gen.path}.` : '.'),
      );
      return kept;
    }
    return segments;
  }

  /** False when every generation was taken and the oldest data is still inside the window (with a note). */
  private startFound(plan: Plan): boolean {
    if (this.target === null || !plan.oldest) return true;
    const oldest = plan.oldest.gen;
    // A compressed oldest generation streamed whole: its first line tells whether the window starts in it.
    const oldestFirstTime = oldest.compressed ? (this.firstTimes.get(oldest.inode) ?? null) : plan.oldest.firstTime;
    if (oldestFirstTime !== null && oldestFirstTime < this.target) return true;
    const limited = plan.gens.length - 1 >= (this.o.generations ?? 10) && plan.gens.length > 1;
    if (oldestFirstTime === null && plan.segments.length === 0) {
      this.notes.push(`${oldest.path} is empty and no older rotated file was found: there is no data for the window.`);
    } else if (oldest.generation === 0) {
      this.notes.push(`the window starts before the first entry of ${oldest.path}${at(oldestFirstTime)} and no rotated file was found: the window is incomplete.`);
    } else {
      this.notes.push(`the window starts before the oldest ${limited ? 'rotated file looked at' : 'rotated file'} ${oldest.path}${at(oldestFirstTime)}: the window is incomplete.`);
    }
    return false;
  }

  // ---- streaming ----

  /** Streams the segments oldest first. */
  private async stream(segments: Segment[]): Promise<void> {
    const gate = new WindowGate(this.target, this.o.timeOf, (chunk) => {
      this.delivered = true;
      this.o.onData(chunk);
    });
    let queue = segments;
    let rotations = 0;
    while (queue.length > 0) {
      const segment = queue[0]!;
      if (!segment.started) {
        segment.started = true;
        segment.origin = segment.from;
        gate.beginSegment(segment.partial);
      }
      const outcome = segment.gen.compressed ? await this.streamCompressed(segment, gate) : await this.streamPlain(segment, gate);
      if (outcome === 'rotated') {
        if (++rotations > MAX_ROTATIONS) throw this.keptRotating();
        const remapped = await this.file.remap(queue, this.notes);
        if (remapped) {
          queue = remapped;
          continue;
        }
        // Not found again: start over if the caller has nothing yet.
        if (!this.delivered) throw new Rotated();
        throw this.keptRotating();
      }
      gate.endSegment();
      if (segment.origin === 0 && !segment.partial) this.firstTimes.set(segment.gen.inode, gate.firstTime);
      this.record(segment, gate);
      queue = queue.slice(1);
      if (outcome === 'capped') {
        this.capped = true;
        this.notes.push(`stopped after ${mib(this.maxBytes)} (maxBytes) in ${segment.gen.path}: the rest of the window was not read.`);
        break;
      }
    }
  }

  private record(segment: Segment, gate: WindowGate): void {
    const origin = segment.origin ?? segment.from;
    const end = segment.gen.compressed ? origin + gate.dropped : (segment.to ?? segment.from);
    this.files.push({
      path: segment.gen.path,
      generation: segment.gen.generation,
      compressed: segment.gen.compressed,
      size: segment.gen.size,
      startOffset: gate.passed > 0 ? origin + gate.dropped : end,
      bytesStreamed: gate.passed,
    });
  }

  private async streamPlain(segment: Segment, gate: WindowGate): Promise<'done' | 'rotated' | 'capped'> {
    const { gen } = segment;
    for (;;) {
      const toEnd = segment.to === null;
      const remaining = toEnd ? Infinity : segment.to! - segment.from;
      if (remaining <= 0) return 'done';
      if (this.budget <= 0) return 'capped';
      const length = Math.min(remaining, STREAM_PIECE, this.budget);
      let moved = false;
      let got = 0;
      const outcome = await this.file.readCommand('log.read-stream', gen, segment.from, length, {
        header: (inode, size) => {
          // Renamed, replaced, or truncated in place (copytruncate) since the stat.
          moved = inode !== gen.inode || size < (segment.to ?? segment.from);
          return !moved;
        },
        body: (chunk) => {
          got += chunk.length;
          this.budget -= chunk.length;
          gate.push(chunk);
          return true;
        },
      });
      segment.from += got;
      if (moved || outcome === 'vanished') return 'rotated';
      if (got < length) return 'done'; // the end of the file
      if (toEnd && this.budget <= 0) return 'capped';
    }
  }

  private async streamCompressed(segment: Segment, gate: WindowGate): Promise<'done' | 'rotated' | 'capped'> {
    const { gen } = segment;
    const gunzip = createGunzip();
    let skip = segment.from;
    let capped = false;
    let inflateError: Error | null = null;
    let sinkError: unknown = null;
    gunzip.on('data', (data: Buffer) => {
      if (capped || sinkError !== null) return;
      let chunk = data;
      if (skip > 0) {
        const n = Math.min(skip, chunk.length);
        skip -= n;
        chunk = chunk.subarray(n);
        if (chunk.length === 0) return;
      }
      if (chunk.length > this.budget) {
        chunk = chunk.subarray(0, this.budget);
        capped = true;
      }
      this.budget -= chunk.length;
      try {
        gate.push(chunk);
      } catch (err) {
        sinkError = err;
      }
    });
    const finished = new Promise<void>((resolve) => {
      gunzip.on('end', resolve);
      gunzip.on('close', resolve);
      gunzip.on('error', (err) => {
        inflateError = err;
        resolve();
      });
    });
    let offset = 0;
    let moved = false;
    try {
      for (;;) {
        let got = 0;
        const outcome = await this.file.readCommand('log.read-stream', gen, offset, STREAM_PIECE, {
          header: (inode) => {
            moved = inode !== gen.inode;
            return !moved;
          },
          body: (chunk) => {
            got += chunk.length;
            gunzip.write(chunk);
            return !capped && inflateError === null && sinkError === null;
          },
        });
        offset += got;
        if (moved || outcome === 'vanished') {
          gunzip.destroy();
          return 'rotated';
        }
        if (outcome === 'stopped' || got < STREAM_PIECE) break;
      }
    } catch (err) {
      gunzip.destroy();
      throw err;
    }
    if (!capped && inflateError === null && sinkError === null) gunzip.end();
    else gunzip.destroy();
    await finished;
    if (sinkError !== null) throw sinkError;
    if (inflateError !== null && !capped) {
      throw new ExecError(this.o.host.name, 'exit', `${gen.path} is not a readable gzip file: ${(inflateError as Error).message}.`);
    }
    return capped ? 'capped' : 'done';
  }

  /**
   * After a read saw another file than the stat: stat again and find each remaining segment by its inode (a
   * rename keeps it). The current file, renamed to .1, is read from the same offset to its end; if it was
   * compressed or copied (copytruncate) meanwhile, the copy one generation older is used. Then every newer
   * generation, the new current file included, is read whole.
   */
}

interface Plan {
  gens: Generation[];
  segments: Segment[];
  /** Set when every generation was included (the window may start before the oldest): that one, and its first time. */
  oldest: { gen: Generation; firstTime: number | null } | null;
}

function mib(bytes: number): string {
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
}

function at(time: number | null): string {
  return time === null ? '' : ` (its first entry is at ${new Date(time).toISOString()})`;
}
