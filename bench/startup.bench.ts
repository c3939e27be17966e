/**
 * Start-up and idle-memory benchmark of the shipped entry point (`node bin/badgateway.js`, i.e. the compiled
 * dist/): part of `npm run bench`, or alone with `npx tsx bench/startup.bench.ts`.
 *
 *  - `badgateway --help`, wall time of the whole process;
 *  - the Slack app in HTTP mode (a local Web API stub) on the default embedded store: time from spawn to the
 *    first 200 from /healthz, on a fresh data folder (first start: the store is created) and on an existing
 *    one (a restart), then its RSS while idle;
 *  - the local console likewise (ready = it answered `/502 help`);
 *  - the same bot on PostgreSQL (DATABASE_URL, when TEST_DATABASE_URL's server answers), for comparison.
 *
 * RSS is read from /proc/PID/status: VmRSS after BENCH_IDLE_SECONDS (default 65, past the first minute's
 * approval sweep, which reads the store) and VmHWM, the peak since start.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSlackStub, type SlackStub } from '../test/slack/stub.js';
import { freePort } from '../test/support/sshd.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'badgateway.js');
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 65);
const HELP_RUNS = Number(process.env.BENCH_HELP_RUNS ?? 10);

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

function helpTimes(): number[] {
  const times: number[] = [];
  for (let i = 0; i < HELP_RUNS; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
    times.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`badgateway --help exited ${r.status}: ${r.stderr}`);
  }
  return times;
}

/** A folder with a badgateway.yaml (one host), so the default store is created next to it in data/. */
function botFolder(): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'badgateway-bench-start-'));
  const config = join(dir, 'badgateway.yaml');
  writeFileSync(config, 'hosts:\n  web-03:\n    address: 127.0.0.1\n    port: 9\n');
  return { dir, config };
}

function botEnv(config: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, BADGATEWAY_CONFIG: config, ...extra };
  for (const key of ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_API_URL', 'DATABASE_URL', 'BADGATEWAY_DATA_DIR', 'LOG_LEVEL', 'PORT', 'METRICS_PORT']) {
    if (!(key in extra)) delete env[key];
  }
  return env;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

interface Run {
  readyMs: number;
  idle: { rssMb: number; peakMb: number };
}

async function idleMemory(child: ChildProcess): Promise<Run['idle']> {
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  if (child.exitCode !== null) throw new Error(`bot exited (${child.exitCode}) while idle`);
  return memoryOf(child.pid!);
}

async function httpRun(stub: SlackStub, folder: { config: string }, extra: Record<string, string> = {}): Promise<Run> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, 'start'], {
    env: botEnv(folder.config, { SLACK_BOT_TOKEN: 'xoxb-bench', SLACK_SIGNING_SECRET: 'bench-secret', SLACK_API_URL: stub.apiUrl, PORT: String(port), ...extra }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    let readyMs = NaN;
    while (Number.isNaN(readyMs)) {
      if (child.exitCode !== null || performance.now() - t0 > 120_000) throw new Error(`HTTP bot did not answer /healthz: ${stderr}`);
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) readyMs = performance.now() - t0;
      else await new Promise((r) => setTimeout(r, 10));
    }
    return { readyMs, idle: await idleMemory(child) };
  } finally {
    await stop(child);
  }
}

async function consoleRun(folder: { config: string }, extra: Record<string, string> = {}): Promise<Run> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, 'start'], { env: botEnv(folder.config, { METRICS_PORT: '0', ...extra }), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  try {
    child.stdin!.write('/502 help\n');
    while (!/\/502 triage TARGET/.test(stdout)) {
      if (child.exitCode !== null || performance.now() - t0 > 120_000) throw new Error(`console did not answer: ${stdout}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const readyMs = performance.now() - t0;
    return { readyMs, idle: await idleMemory(child) };
  } finally {
    child.stdin!.end();
    await stop(child);
  }
}

/** A schema of its own on the test server (dropped after), or null without a server. */
async function postgresUrl(): Promise<{ url: string; drop: () => Promise<void> } | null> {
  const url = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  if (url === 'none') return null;
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const schema = `bench_start_${process.pid}`;
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    const u = new URL(url);
    u.searchParams.set('options', `-c search_path=${schema}`);
    const drop = async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`).finally(() => c.end());
    };
    return { url: u.toString(), drop };
  } catch {
    return null;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function line(name: string, r: Run): string {
  return `  ${name.padEnd(38)} ready ${r.readyMs.toFixed(0).padStart(5)} ms   idle RSS ${r.idle.rssMb.toFixed(0).padStart(4)} MB   peak RSS ${r.idle.peakMb.toFixed(0).padStart(4)} MB`;
}

export async function startupBench(): Promise<void> {
  console.log(`start-up and idle memory (node ${process.version}, ${cpus().length} cores, load ${load()}), idle ${IDLE_SECONDS} s:`);
  const help = helpTimes();
  console.log(`  badgateway --help                      ${HELP_RUNS} runs: min ${Math.min(...help).toFixed(0)} ms, median ${median(help).toFixed(0)} ms, max ${Math.max(...help).toFixed(0)} ms`);
  const stub = await startSlackStub();
  const folder = botFolder();
  try {
    console.log(line('Slack HTTP, embedded store, first start', await httpRun(stub, folder)));
    console.log(line('Slack HTTP, embedded store, restart', await httpRun(stub, folder)));
    console.log(line('console, embedded store', await consoleRun(folder)));
    const server = await postgresUrl();
    if (server) {
      try {
        console.log(line('Slack HTTP, PostgreSQL', await httpRun(stub, folder, { DATABASE_URL: server.url })));
        console.log(line('console, PostgreSQL', await consoleRun(folder, { DATABASE_URL: server.url })));
      } finally {
        await server.drop();
      }
    } else {
      console.log('  (no PostgreSQL at TEST_DATABASE_URL: its figures are skipped)');
    }
  } finally {
    await stub.close();
    rmSync(folder.dir, { recursive: true, force: true });
  }
  console.log(`  load after: ${load()}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await startupBench();
