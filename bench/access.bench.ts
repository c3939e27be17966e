/**
 * Access-log benchmark, part of `npm run bench` (which builds first: it measures the compiled code).
 *
 * Generates once into os.tmpdir() logs in nginx's `upstream` format (2,000,000 and 200,000 lines), reads each once
 * (hot cache), then, in the same run and alternated, BENCH_REPEAT times each (default 5):
 *  - `mawk '{c[$9]++}' FILE`: a one-column count, the floor any tool pays to read and split the lines;
 *  - `badgateway analyze --access FILE --log-format upstream --json`: the shipped CLI, the whole process;
 * with wall time and peak RSS (VmHWM sampled from /proc every 5 ms), and their ratio. Then the analysis alone, in a
 * child process, on one thread and on every core (best of the repeats). Where GoAccess and lnav are installed
 * (Debian: goaccess, lnav), each also runs once on the 200,000-line log, for scale (a 2,000,000-line run of GoAccess
 * takes minutes).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateUpstreamLog } from '../test/support/access-log.js';

const GENERATOR_VERSION = 1;
const SIZES = [2_000_000, 200_000];
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'badgateway.js');
const REPEAT = Number(process.env.BENCH_REPEAT ?? 5);

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const ms = (x: number) => `${x.toFixed(0).padStart(5)} ms`;
const installed = (command: string, args: string[]) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

/** Other tools on the same file: each reads, parses and aggregates every line, as badgateway does. */
const OTHERS: Array<{ name: string; check: string[]; args: (path: string) => string[] }> = [
  {
    name: 'goaccess',
    check: ['--version'],
    args: (path) => [
      path,
      '--no-global-config',
      '--no-progress',
      `--log-format=%h %^[%d:%t %^] "%r" %s %b "%R" "%u" rt=%T %^`,
      '--date-format=%d/%b/%Y',
      '--time-format=%T',
      '-o',
      join(tmpdir(), 'badgateway-bench-goaccess.json'),
    ],
  },
  { name: 'lnav', check: ['-V'], args: (path) => ['-n', '-c', ';SELECT count(*), sum(sc_status >= 500) FROM access_log', path] },
];

interface Measured {
  ms: number;
  peakMb: number;
}

/** Runs a command with its output discarded; wall time and the peak RSS /proc saw. */
function measure(command: string, args: string[]): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let peakKb = 0;
    const sample = () => {
      try {
        peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0));
      } catch {
        // exited between two samples
      }
    };
    const timer = setInterval(sample, 5);
    child.on('error', reject);
    child.on('exit', (code) => {
      const wall = performance.now() - t0;
      clearInterval(timer);
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`));
      else resolve({ ms: wall, peakMb: peakKb / 1024 });
    });
  });
}

interface InProcess {
  wallMs: number;
  maxRssMb: number;
  threads: number;
  lines: number;
}

/**
 * The analysis alone, compiled, on `threads` threads, in a plain node child: not under tsx, whose loader the worker
 * threads would inherit (and start slower with).
 */
const CHILD = `
  const [path, threads] = process.argv.slice(1);
  const { analyzeAccessFile } = await import(${JSON.stringify(new URL('../dist/collect/access-file.js', import.meta.url).href)});
  const { compileLogFormat } = await import(${JSON.stringify(new URL('../dist/analyze/access/format.js', import.meta.url).href)});
  const t0 = performance.now();
  const result = await analyzeAccessFile(path, { format: compileLogFormat('upstream'), threads: Number(threads) });
  const wallMs = performance.now() - t0;
  process.stdout.write(JSON.stringify({ wallMs, maxRssMb: process.resourceUsage().maxRSS / 1024, threads: result.threads, lines: result.stats.lines }));
`;

function inChild(path: string, threads: number): InProcess {
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, path, String(threads)], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`bench child exited ${child.status}: ${child.stderr}`);
  return JSON.parse(child.stdout) as InProcess;
}

function logFile(lines: number): string {
  const path = join(tmpdir(), `badgateway-access-upstream-${lines}-v${GENERATOR_VERSION}.log`);
  if (!existsSync(path)) {
    const g0 = Date.now();
    process.stdout.write(`generating ${path} ... `);
    generateUpstreamLog(path, lines);
    console.log(`${((Date.now() - g0) / 1000).toFixed(1)} s`);
  }
  return path;
}

export async function accessBench(): Promise<void> {
  const mawk = installed('mawk', ['-W', 'version']);
  if (!mawk) console.log('mawk is not installed (Debian: apt-get install mawk): its figures are skipped');
  for (const lines of SIZES) {
    const path = logFile(lines);
    readFileSync(path); // hot cache for both tools
    console.log(`${lines.toLocaleString('en-US')} lines (${(statSync(path).size / 1e6).toFixed(0)} MB, hot cache), load ${load()}, ${REPEAT} runs each, alternated:`);
    const cli: Measured[] = [];
    const awk: Measured[] = [];
    for (let i = 0; i < REPEAT; i++) {
      if (mawk) awk.push(await measure('mawk', ['{c[$9]++}', path]));
      cli.push(await measure(process.execPath, [BIN, 'analyze', '--access', path, '--log-format', 'upstream', '--json']));
    }
    const row = (name: string, runs: Measured[]) =>
      console.log(
        `  ${name.padEnd(52)} median ${ms(median(runs.map((r) => r.ms)))}  best ${ms(Math.min(...runs.map((r) => r.ms)))}  peak RSS ${Math.max(...runs.map((r) => r.peakMb))
          .toFixed(0)
          .padStart(4)} MB  [${runs.map((r) => r.ms.toFixed(0)).join(', ')}]`,
      );
    if (mawk) row(`mawk '{c[$9]++}'`, awk);
    row('badgateway analyze --access --log-format upstream --json', cli);
    if (mawk) {
      const ratio = (pick: (xs: number[]) => number) => (pick(cli.map((r) => r.ms)) / pick(awk.map((r) => r.ms))).toFixed(2);
      console.log(`  ratio badgateway / mawk: median ${ratio(median)}, best ${ratio((xs) => Math.min(...xs))}`);
    }
    if (lines < SIZES[0]!) {
      for (const other of OTHERS) {
        if (!installed(other.name, other.check)) {
          console.log(`  ${other.name.padEnd(52)} not installed (Debian: apt-get install ${other.name})`);
          continue;
        }
        const run = await measure(other.name, other.args(path));
        console.log(`  ${`${other.name} (once)`.padEnd(52)} ${ms(run.ms)}  peak RSS ${run.peakMb.toFixed(0).padStart(4)} MB`);
      }
    }
    for (const threads of [1, availableParallelism()]) {
      const runs: InProcess[] = [];
      for (let i = 0; i < REPEAT; i++) runs.push(inChild(path, threads));
      const best = runs.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
      console.log(
        `  analysis alone, in process, ${threads} thread${threads > 1 ? 's' : ''} asked, ${best.threads} used:`.padEnd(55) +
          ` best ${ms(best.wallMs)}  (${(((best.lines / best.wallMs) * 1000) / 1e6).toFixed(2)} M lines/s)  peak RSS ${Math.max(...runs.map((r) => r.maxRssMb)).toFixed(0)} MB  [${runs.map((r) => r.wallMs.toFixed(0)).join(', ')}]`,
      );
    }
    console.log(`  load after: ${load()}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await accessBench();
