/**
 * The remote commands of a windowed log read (src/collect/remote-log.ts) on one log of one host:
 * `log.stat` with its sample blocks, block reads for the search, and the framed `log.read-*` commands
 * whose header says which file (inode, size) answered. Counts the bytes and round trips it costs.
 */
import type { Catalog, RenderedCommand } from '../catalog/index.js';
import type { Host } from '../config/index.js';
import { ExecError } from '../errors.js';
import type { ExecResult, Executor } from '../exec/index.js';
import { timedLines, type ProbeResult } from './remote-log-search.js';

export type LogSource = 'accessLog' | 'errorLog' | 'fpmLog' | 'slowLog';

/** What the commands need to know of the read (a subset of WindowedReadOptions). */
export interface RemoteLogTarget {
  executor: Executor;
  catalog: Catalog;
  host: Host;
  source: LogSource;
  timeOf: (line: string) => number | null;
  signal?: AbortSignal;
  generations?: number;
}

export const PROBE_BLOCK = 16 * 1024;
/** log.read-block's largest length. */
const MAX_PROBE_BLOCK = 1024 * 1024;
const HEADER_RE = /^badgateway-read (\d+) (\d+)$/;

export interface Generation {
  generation: number;
  compressed: boolean;
  size: number;
  /** A string: inode numbers can exceed 2^53. */
  inode: string;
  mtimeMs: number;
  path: string;
}

/** Blocks of the current file read along with the stat: the first round of the search for free. */
export interface Sample {
  inode: string;
  size: number;
  blocks: Array<{ offset: number; data: Buffer }>;
}

/** A part of one generation to stream. */
export interface Segment {
  gen: Generation;
  /** Plain: offset the read starts at (a line start unless `partial`). Gz: decompressed bytes to skip. */
  from: number;
  /** Plain: offset to stop at (the current file's size at the stat), or null to read to the end. */
  to: number | null;
  /** The read starts mid-line (cut by maxBytes): drop up to the first newline. */
  partial: boolean;
  /** Where the first byte of this segment is, for the result (from may advance while reading in pieces). */
  origin?: number;
  started?: boolean;
  /** Gz: the inflated size, from the gzip trailer (for the maxBytes cut). */
  inflated?: number;
}

/** Internal: the file moved under a read. */
export class Rotated extends Error {}

/** The path of a generation: the log itself, path.N, or path.N.gz. */
export function generationPath(path: string, generation: number, compressed: boolean): string {
  if (generation === 0) return path;
  return `${path}.${generation}${compressed ? '.gz' : ''}`;
}

export class RemoteLogFile {
  /** Bytes received from the host (headers and samples included). */
  bytesFetched = 0;
  /** Round trips for the stat and the search. */
  probes = 0;

  constructor(
    private readonly o: RemoteLogTarget,
    private readonly path: string,
  ) {}

  async stat(sample = 0): Promise<{ gens: Generation[]; sample: Sample | null }> {
    const command = this.o.catalog.render('log.stat', this.o.host, {
      source: this.o.source,
      generations: this.o.generations ?? 10,
      sample,
    });
    this.probes++;
    const result = await this.exec(command);
    this.bytesFetched += result.stdoutBytes;
    if (result.timedOut) throw new ExecError(this.o.host.name, 'timeout', `${command.id} of ${this.path} did not answer within ${seconds(command)} s.`);
    if (result.code !== 0) {
      const why = firstLine(result.stderr);
      const what = `${this.o.source} ${this.path}`;
      if (/No such file/i.test(why)) throw new ExecError(this.o.host.name, 'exit', `${what} does not exist (check sources.${this.o.source}).`);
      if (/Permission denied/i.test(why)) throw new ExecError(this.o.host.name, 'exit', `${what} cannot be read: permission denied.`);
      if (result.code === 65) throw new ExecError(this.o.host.name, 'exit', `${what} is not a regular file (a symlink to /dev/stdout?).`);
      throw new ExecError(this.o.host.name, 'exit', `cannot stat ${what}: ${why || `${command.id} exited with ${result.code}`}.`);
    }
    const gens: Generation[] = [];
    const out = result.stdout;
    let samplePos = out.indexOf('sample ');
    while (samplePos > 0 && out[samplePos - 1] !== 10) samplePos = out.indexOf('sample ', samplePos + 1);
    const text = out.toString('utf8', 0, samplePos < 0 ? out.length : samplePos);
    for (const line of text.split('\n')) {
      const m = /^(\d+) (plain|gz) (\d+) (\d+) (\d+)(?: (.+))?$/.exec(line);
      if (!m || Number(m[1]) !== gens.length) continue;
      const generation = Number(m[1]);
      const compressed = m[2] === 'gz';
      gens.push({
        generation,
        compressed,
        size: Number(m[3]),
        inode: m[4]!,
        mtimeMs: Number(m[5]) * 1000,
        // The host names the file (numbered or dateext rotation); older catalogs did not.
        path: m[6] ?? generationPath(this.path, generation, compressed),
      });
    }
    if (gens.length === 0) throw new ExecError(this.o.host.name, 'exit', `${command.id} of ${this.path} gave no usable answer.`);
    return { gens, sample: samplePos < 0 ? null : parseSample(out.subarray(samplePos)) };
  }

  /** A block read for the search; extends while no timestamped line is found, up to `limit`. */
  async probe(gen: Generation, offset: number, limit: number): Promise<ProbeResult> {
    let length = PROBE_BLOCK;
    for (;;) {
      const end = Math.min(offset + length, gen.size);
      const data = await this.readBlock(gen, offset, end - offset);
      const lines = timedLines(data, offset, this.o.timeOf);
      const reached = offset + data.length;
      if (lines.length > 0 || reached >= limit || reached >= gen.size || length >= MAX_PROBE_BLOCK || data.length < end - offset) {
        return { lines, end: reached };
      }
      length = Math.min(length * 4, MAX_PROBE_BLOCK);
    }
  }

  async readBlock(gen: Generation, offset: number, length: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let moved = false;
    this.probes++;
    const outcome = await this.readCommand('log.read-block', gen, offset, length, {
      header: (inode, size) => {
        moved = inode !== gen.inode || size < gen.size;
        return !moved;
      },
      body: (chunk) => {
        chunks.push(Buffer.from(chunk));
        return true;
      },
    });
    if (moved || outcome === 'vanished') throw new Rotated();
    return Buffer.concat(chunks);
  }

  /**
   * Runs one log.read-* command: parses the "badgateway-read INODE SIZE" header, then hands the body on. A handler
   * returning false stops the command. 'vanished': the file was not there any more (renamed by a rotation).
   */
  async readCommand(
    id: 'log.read-block' | 'log.read-stream',
    gen: Generation,
    offset: number,
    length: number,
    handlers: { header(inode: string, size: number): boolean; body(chunk: Buffer): boolean },
  ): Promise<'done' | 'stopped' | 'vanished'> {
    this.checkCancelled();
    const command = this.o.catalog.render(id, this.o.host, {
      source: this.o.source,
      generation: gen.generation,
      compression: gen.compressed ? 'gz' : 'none',
      offset,
      length,
    });
    const controller = new AbortController();
    const signal = this.o.signal ? AbortSignal.any([this.o.signal, controller.signal]) : controller.signal;
    let head: Buffer | null = Buffer.alloc(0);
    let stopped = false;
    let failure: unknown = null;
    const stop = () => {
      stopped = true;
      controller.abort();
    };
    const onStdout = (piece: Buffer) => {
      this.bytesFetched += piece.length;
      if (stopped) return;
      try {
        let chunk = piece;
        if (head !== null) {
          const joined = head.length > 0 ? Buffer.concat([head, chunk]) : chunk;
          const nl = joined.indexOf(10);
          if (nl < 0) {
            if (joined.length > 200) throw new ExecError(this.o.host.name, 'exit', `${id} of ${gen.path} answered without its header.`);
            head = Buffer.from(joined);
            return;
          }
          const m = HEADER_RE.exec(joined.toString('latin1', 0, nl));
          if (!m) throw new ExecError(this.o.host.name, 'exit', `${id} of ${gen.path} answered without its header.`);
          head = null;
          if (!handlers.header(m[1]!, Number(m[2]))) return stop();
          chunk = joined.subarray(nl + 1);
          if (chunk.length === 0) return;
        }
        if (!handlers.body(chunk)) stop();
      } catch (err) {
        failure = err;
        stop();
      }
    };
    let result: ExecResult;
    try {
      result = await this.o.executor.run(this.o.host, command, { signal, onStdout });
    } catch (err) {
      if (failure) throw failure;
      if (stopped && !this.o.signal?.aborted) return 'stopped';
      throw err;
    }
    if (failure) throw failure;
    if (stopped) return 'stopped';
    if (result.timedOut) throw new ExecError(this.o.host.name, 'timeout', `reading ${gen.path} (${id}) did not finish within ${seconds(command)} s.`);
    if (result.code !== 0) {
      if (head !== null && /No such file/i.test(result.stderr)) return 'vanished';
      const why = firstLine(result.stderr) || `exit code ${result.code}`;
      throw new ExecError(this.o.host.name, 'exit', `reading ${this.o.source} ${gen.path} failed (${id}): ${why}.`);
    }
    if (head !== null) throw new ExecError(this.o.host.name, 'exit', `${id} of ${gen.path} answered without its header.`);
    return 'done';
  }

  exec(command: RenderedCommand): Promise<ExecResult> {
    this.checkCancelled();
    return this.o.executor.run(this.o.host, command, this.o.signal ? { signal: this.o.signal } : {});
  }

  checkCancelled(): void {
    if (this.o.signal?.aborted) throw new ExecError(this.o.host.name, 'cancelled', `reading ${this.o.source} ${this.path} was cancelled.`);
  }

  /**
   * The segments still to stream, found again by inode after a rotation moved the file under the read
   * (renamed, copytruncated, compressed meanwhile); null when they cannot be found. Notes say what happened.
   */
  async remap(queue: Segment[], notes: string[]): Promise<Segment[] | null> {
    const { gens } = await this.stat();
    const byInode = new Map(gens.map((g) => [g.inode, g]));
    const out: Segment[] = [];
    for (const segment of queue) {
      const old = segment.gen;
      let gen = byInode.get(old.inode);
      let how = 'renamed';
      if (gen && gen.compressed !== old.compressed) gen = undefined;
      if (gen && gen.generation === 0 && old.generation === 0 && gen.size < (segment.to ?? segment.from)) {
        // Truncated in place: logrotate's copytruncate left the data in a copy.
        gen = gens[1];
        how = 'truncated (copytruncate)';
      }
      if (!gen && !old.compressed) {
        // Compressed meanwhile (a new inode): gzip keeps the mtime; else the current file went straight to .1.gz.
        const older = gens[old.generation + 1];
        gen = gens.find((g) => g.compressed && g.mtimeMs === old.mtimeMs) ?? (older?.compressed && old.generation === 0 ? older : undefined);
        how = 'rotated and compressed';
      }
      if (!gen) return null;
      const from = segment.from;
      if (gen.compressed && !old.compressed) {
        out.push({ ...segment, gen, from, to: null });
      } else {
        out.push({ ...segment, gen, to: gen.generation === 0 ? segment.to : null });
      }
      if (old.generation === 0 && gen.generation !== 0) {
        notes.push(`${old.path} was ${how} while it was being read: read ${gen.path} from the window start, then the new ${old.path}.`);
      }
    }
    const newest = out[out.length - 1]!.gen.generation;
    for (let g = newest - 1; g >= 0; g--) {
      const gen = gens[g]!;
      out.push({ gen, from: 0, to: g === 0 ? gen.size : null, partial: false });
    }
    return out;
  }
}

/** "sample INODE SIZE\n" then frames "block OFFSET LENGTH\n" + bytes; null when cut or garbled (e.g. truncated meanwhile). */
function parseSample(data: Buffer): Sample | null {
  let nl = data.indexOf(10);
  const head = /^sample (\d+) (\d+)$/.exec(data.toString('latin1', 0, Math.max(0, nl)));
  if (!head) return null;
  const sample: Sample = { inode: head[1]!, size: Number(head[2]), blocks: [] };
  let pos = nl + 1;
  while (pos < data.length) {
    nl = data.indexOf(10, pos);
    const frame = /^block (\d+) (\d+)$/.exec(data.toString('latin1', pos, nl < 0 ? data.length : nl));
    if (!frame || nl < 0) return null;
    const length = Number(frame[2]);
    if (nl + 1 + length > data.length) return null;
    sample.blocks.push({ offset: Number(frame[1]), data: data.subarray(nl + 1, nl + 1 + length) });
    pos = nl + 1 + length;
  }
  return sample;
}

export function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.trim().slice(0, 300) ?? '';
}

export function seconds(command: RenderedCommand): number {
  return Math.round(command.timeoutMs / 1000);
}
