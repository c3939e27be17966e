/**
 * A local access log analyzed on every core: the file is split into byte ranges that start at line starts, each
 * range is analyzed by its own thread (this one takes the first), and the parts merge into exactly the result one pass
 * gives (src/analyze/access/parts.ts). gzip cannot be split: it is streamed through one analyzer, as are small files.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { createAccessAnalyzer, type AccessAnalyzerOptions } from '../analyze/access/analyzer.js';
import type { CompiledFormat } from '../analyze/access/format.js';
import { mergeAccessParts, type AccessPart } from '../analyze/access/parts.js';
import type { AccessStats, ConnectionEntry } from '../analyze/access/types.js';
import type { Window } from '../analyze/window.js';
import { isGzip, streamFile } from './files.js';

const CHUNK = 1 << 20;
/** Below this per thread, starting a thread costs more than it saves. */
const MIN_RANGE_BYTES = 32 << 20;

export interface ByteRange {
  start: number;
  end: number;
}

export interface AccessFileOptions {
  format: CompiledFormat;
  window?: Window;
  /** Threads to use, this one included; default: the cores this process may use. */
  threads?: number;
  /** Smallest range worth a thread (tests lower it to split small files). */
  minRangeBytes?: number;
}

export interface AccessFileResult {
  stats: AccessStats;
  connections: Map<number, ConnectionEntry>;
  /** Bytes read from disk. */
  bytes: number;
  /** Threads the analysis ran on (1: a single pass). */
  threads: number;
  /** Why the parts were analyzed again in one pass, when they were. */
  singlePassBecause?: string;
}

/** Where the line holding byte `at` ends: the start of the next line (or `size`). */
function nextLineStart(fd: number, at: number, size: number): number {
  if (at <= 0) return 0;
  const block = Buffer.allocUnsafe(64 * 1024);
  // A range may start right after a newline: look from the byte before.
  for (let pos = at - 1; pos < size; pos += block.length) {
    const n = readSync(fd, block, 0, Math.min(block.length, size - pos), pos);
    if (n <= 0) break;
    const nl = block.subarray(0, n).indexOf(10);
    if (nl >= 0) return pos + nl + 1;
  }
  return size;
}

/** `count` ranges of about equal size covering [0, size), each starting at a line start; empty ones left out. */
export function lineAlignedRanges(path: string, size: number, count: number): ByteRange[] {
  const fd = openSync(path, 'r');
  try {
    const starts = [0];
    for (let k = 1; k < count; k++) starts.push(Math.max(starts[k - 1]!, nextLineStart(fd, Math.floor((size * k) / count), size)));
    starts.push(size);
    const ranges: ByteRange[] = [];
    for (let k = 0; k < count; k++) if (starts[k + 1]! > starts[k]!) ranges.push({ start: starts[k]!, end: starts[k + 1]! });
    return ranges;
  } finally {
    closeSync(fd);
  }
}

function analyzerOptions(format: CompiledFormat, window: Window | undefined): AccessAnalyzerOptions {
  return { format, ...(window ? { window } : {}) };
}

/** Reads one range through one analyzer, synchronously: the thread has nothing else to do meanwhile. */
export function analyzeRange(path: string, range: ByteRange, options: AccessAnalyzerOptions) {
  const analyzer = createAccessAnalyzer(options);
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let pos = range.start; pos < range.end; ) {
      const n = readSync(fd, buf, 0, Math.min(CHUNK, range.end - pos), pos);
      if (n <= 0) break;
      analyzer.pushChunk(n === CHUNK ? buf : buf.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  return analyzer;
}

/** The worker thread's module, when running compiled; under tsx (development, tests) the ranges run on this thread. */
const WORKER = import.meta.url.endsWith('.js') ? new URL('./access-worker.js', import.meta.url) : null;

export interface WorkerRequest {
  path: string;
  range: ByteRange;
  spec: string;
  window: Window | undefined;
}

function inWorker(request: WorkerRequest): Promise<AccessPart> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER!, { workerData: request });
    let part: AccessPart | undefined;
    worker.once('message', (m: AccessPart) => (part = m));
    worker.once('error', reject);
    worker.once('exit', (code) => (part ? resolve(part) : reject(new Error(`the analysis thread for bytes ${request.range.start}-${request.range.end} exited with code ${code}`))));
  });
}

/** Analyzes a local access log (gzip or not) on up to `threads` threads. */
export async function analyzeAccessFile(path: string, options: AccessFileOptions): Promise<AccessFileResult> {
  const { format, window } = options;
  if (await isGzip(path)) {
    const analyzer = createAccessAnalyzer(analyzerOptions(format, window));
    const bytes = await streamFile(path, (chunk) => analyzer.pushChunk(chunk));
    return { stats: analyzer.result(), connections: analyzer.statusByConnection(), bytes, threads: 1 };
  }
  const { size } = await stat(path);
  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), Math.floor(size / (options.minRangeBytes ?? MIN_RANGE_BYTES))));
  const single = (because?: string): AccessFileResult => {
    const analyzer = analyzeRange(path, { start: 0, end: size }, analyzerOptions(format, window));
    return { stats: analyzer.result(), connections: analyzer.statusByConnection(), bytes: size, threads: 1, ...(because ? { singlePassBecause: because } : {}) };
  };
  const ranges = threads > 1 ? lineAlignedRanges(path, size, threads) : [];
  if (ranges.length < 2) return single();

  const request = (range: ByteRange): WorkerRequest => ({ path, range, spec: format.spec, window });
  const others = WORKER ? ranges.slice(1).map((range) => inWorker(request(range))) : [];
  // This thread takes the first range while the workers take theirs (under tsx it takes them all, one by one).
  const first = analyzeRange(path, ranges[0]!, analyzerOptions(format, window));
  const parts = [first.snapshot(), ...(WORKER ? await Promise.all(others) : ranges.slice(1).map((r) => analyzeRange(path, r, analyzerOptions(format, window)).snapshot()))];
  const merged = mergeAccessParts(first.statsContext(), parts);
  if ('inexact' in merged) return single(merged.inexact);
  return { stats: merged.stats, connections: merged.connections, bytes: size, threads: ranges.length };
}
