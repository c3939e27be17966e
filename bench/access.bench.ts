/**
 * Access-log hot-path benchmark: `npm run bench`.
 *
 * Generates (once, reused from os.tmpdir()) synthetic logs in nginx's `upstream` format and runs the full
 * access analysis on each in its own child process, so peak RSS is measured per size.
 */
import { fork } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAccessAnalyzer } from '../src/analyze/access/index.js';
import { generateUpstreamLog } from '../test/support/access-log.js';

const GENERATOR_VERSION = 1;
const SIZES = [2_000_000, 200_000];

interface RunResult {
  baselineRssMb: number;
  lines: number;
  bytes: number;
  wallMs: number;
  maxRssMb: number;
  requests: number;
  unparsed: number;
  count502: number;
  count504: number;
  peakConcurrency: number | null;
}

/** Child side: read the file in big chunks, analyse, report. */
function runOne(path: string): RunResult {
  // Node + tsx before any analysis work, to tell the analyzer's share of the peak apart.
  const baselineRssMb = process.memoryUsage().rss / 1024 / 1024;
  const t0 = process.hrtime.bigint();
  const analyzer = createAccessAnalyzer({ format: 'upstream' });
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let bytes = 0;
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n <= 0) break;
    bytes += n;
    analyzer.pushChunk(n === buf.length ? buf : buf.subarray(0, n));
  }
  closeSync(fd);
  const stats = analyzer.result();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  return {
    baselineRssMb,
    lines: stats.lines,
    bytes,
    wallMs,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    requests: stats.requests,
    unparsed: stats.unparsed,
    count502: stats.count502,
    count504: stats.count504,
    peakConcurrency: stats.peakConcurrency,
  };
}

function runInChild(path: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--run', path], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: RunResult | undefined;
    child.on('message', (m) => (result = m as RunResult));
    child.on('error', reject);
    child.on('exit', (code) => (result && code === 0 ? resolve(result) : reject(new Error(`bench child exited ${code}`))));
  });
}

async function main(): Promise<void> {
  const runIdx = process.argv.indexOf('--run');
  if (runIdx >= 0) {
    const path = process.argv[runIdx + 1] as string;
    process.send?.(runOne(path));
    return;
  }
  const repeat = Number(process.env.BENCH_REPEAT ?? 3);
  for (const lines of SIZES) {
    const path = join(tmpdir(), `badgateway-access-upstream-${lines}-v${GENERATOR_VERSION}.log`);
    if (!existsSync(path)) {
      const g0 = Date.now();
      process.stdout.write(`generating ${path} ... `);
      generateUpstreamLog(path, lines);
      console.log(`${((Date.now() - g0) / 1000).toFixed(1)} s`);
    }
    const size = statSync(path).size;
    const runs: RunResult[] = [];
    for (let i = 0; i < repeat; i++) runs.push(await runInChild(path));
    const r = runs.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
    console.log(
      `${lines.toLocaleString('en-US')} lines (${(size / 1e6).toFixed(0)} MB), best of ${repeat} child runs ` +
        `[${runs.map((x) => x.wallMs.toFixed(0)).join(', ')} ms]:\n` +
        `  wall ${r.wallMs.toFixed(0)} ms, ${((r.lines / r.wallMs) * 1000 / 1e6).toFixed(2)} M lines/s, ` +
        `${(r.bytes / 1e6 / (r.wallMs / 1000)).toFixed(0)} MB/s, peak RSS ${r.maxRssMb.toFixed(0)} MB ` +
        `(node+tsx before analysis ${r.baselineRssMb.toFixed(0)} MB)\n` +
        `  requests ${r.requests}, unparsed ${r.unparsed}, 502 ${r.count502}, 504 ${r.count504}, peak concurrency ${r.peakConcurrency}`,
    );
  }
}

// Importable (e.g. for the generator) without running the benchmark.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
