/**
 * A local access log analyzed on every core: the file is split into byte ranges that start at line starts, a few per
 * thread; this thread and the worker threads take the next range in turn until none is left (a thread started late or
 * slowed by the machine's other work takes fewer), and the parts merge, in file order, into exactly the result one
 * pass gives (src/analyze/access/parts.ts). gzip cannot be split: it is streamed through one analyzer, as are small
 * files.
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
/**
 * Below this per thread, starting one costs more than it saves (a thread's start and its JIT warm-up are worth
 * ~60 MB of one thread's reading: `npm run bench` on 60 MB is faster on one thread).
 */
const MIN_BYTES_PER_THREAD = 96 << 20;
/** Ranges per thread: enough to even out threads that start late or get less of the machine, few enough to merge fast. */
const RANGES_PER_THREAD = 2;

export interface ByteRange {
  start: number;
  end: number;
}

export interface AccessFileOptions {
  format: CompiledFormat;
  window?: Window;
  /** Threads to use, this one included; default: the cores this process may use. */
  threads?: number;
  /** Fewest bytes worth a thread (tests lower it to split small files). */
  minBytesPerThread?: number;
}

export interface AccessFileResult {
  stats: AccessStats;
  connections: Map<number, ConnectionEntry>;
  /** Bytes read from disk. */
  bytes: number;
  /** Threads the analysis ran on. */
  threads: number;
  /** Byte ranges analyzed and merged (1: a single pass). */
  ranges: number;
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
  ranges: ByteRange[];
  spec: string;
  window: Window | undefined;
  /** Index of the next range nobody took yet, shared by all threads (Atomics.add). */
  next: Int32Array;
}

export interface WorkerPart {
  index: number;
  part: AccessPart;
}

/** Takes ranges until none is left; `onPart` gets each range's part with its index. */
export function takeRanges(request: WorkerRequest, format: CompiledFormat, onPart: (index: number, part: AccessPart) => void): void {
  for (let i = Atomics.add(request.next, 0, 1); i < request.ranges.length; i = Atomics.add(request.next, 0, 1)) {
    onPart(i, analyzeRange(request.path, request.ranges[i]!, analyzerOptions(format, request.window)).snapshot());
  }
}

function inWorker(request: WorkerRequest, parts: AccessPart[]): Promise<void> {
  return new Promise((resolve, reject) => {
    // Not the parent's node options (an --input-type, a loader): the thread only computes.
    const worker = new Worker(WORKER!, { workerData: request, execArgv: [] });
    worker.on('message', (m: WorkerPart) => (parts[m.index] = m.part));
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`an analysis thread exited with code ${code}`))));
  });
}

/** Analyzes a local access log (gzip or not) on up to `threads` threads. */
export async function analyzeAccessFile(path: string, options: AccessFileOptions): Promise<AccessFileResult> {
  const { format, window } = options;
  if (await isGzip(path)) {
    const analyzer = createAccessAnalyzer(analyzerOptions(format, window));
    const bytes = await streamFile(path, (chunk) => analyzer.pushChunk(chunk));
    return { stats: analyzer.result(), connections: analyzer.statusByConnection(), bytes, threads: 1, ranges: 1 };
  }
  const { size } = await stat(path);
  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), Math.floor(size / (options.minBytesPerThread ?? MIN_BYTES_PER_THREAD))));
  const single = (because?: string): AccessFileResult => {
    const analyzer = analyzeRange(path, { start: 0, end: size }, analyzerOptions(format, window));
    return { stats: analyzer.result(), connections: analyzer.statusByConnection(), bytes: size, threads: 1, ranges: 1, ...(because ? { singlePassBecause: because } : {}) };
  };
  const ranges = threads > 1 ? lineAlignedRanges(path, size, threads * RANGES_PER_THREAD) : [];
  if (ranges.length < 2) return single();

  const request: WorkerRequest = { path, ranges, spec: format.spec, window, next: new Int32Array(new SharedArrayBuffer(4)) };
  const parts: AccessPart[] = [];
  // Under tsx (development, tests) there is no compiled worker: this thread takes every range, through the same merge.
  const workers = WORKER ? Array.from({ length: Math.min(threads, ranges.length) - 1 }, () => inWorker(request, parts)) : [];
  const workersDone = Promise.all(workers);
  // Awaited below; if this thread fails first, its own error is the one reported.
  workersDone.catch(() => undefined);
  takeRanges(request, format, (index, part) => (parts[index] = part));
  await workersDone;
  if (parts.filter(Boolean).length !== ranges.length) throw new Error('an analysis thread ended without sending all its parts');
  const merged = mergeAccessParts(createAccessAnalyzer(analyzerOptions(format, window)).statsContext(), parts);
  if ('inexact' in merged) return single(merged.inexact);
  return { stats: merged.stats, connections: merged.connections, bytes: size, threads: workers.length + 1, ranges: ranges.length };
}
