/**
 * Windowed remote log reads: `npm run bench:triage`.
 *
 * Starts the test OpenSSH server (test/support/sshd.ts), makes (once, reused from os.tmpdir()) a 2 GB and a 200 MB
 * access log in nginx's `upstream` format at a realistic rate (about 60 MB an hour with a day/night swing, a little
 * disorder between workers), then reads the last 15 minutes of each over loopback SSH with readWindow into the real
 * access analyzer. Each run is a child process, so its peak RSS is its own. Prints figures instead of failing:
 * the goal is a 2 GB log in under 2 s, and the 200 MB one within 20% of that (cost follows the window).
 */
import { fork } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileLogFormat, createAccessAnalyzer } from '../src/analyze/access/index.js';
import { loadCatalog } from '../src/catalog/index.js';
import { readWindow } from '../src/collect/remote-log.js';
import { defaultCatalogDir, parseConfigText } from '../src/config/index.js';
import { SshExecutor } from '../src/exec/index.js';
import { createLogger } from '../src/log/index.js';
import { startSshd } from '../test/support/sshd.js';
import { seededRandom } from '../test/support/random.js';

const GENERATOR_VERSION = 2;
const SIZES = [
  { label: '2 GB', bytes: 2_000_000_000 },
  { label: '200 MB', bytes: 200_000_000 },
];
/** Average bytes per hour; the rate swings ±50% over the day. */
const RATE_PER_HOUR = 60_000_000;
const WINDOW_MS = 15 * 60_000;
const END = Date.UTC(2024, 4, 14, 12, 0, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const mulberry32 = seededRandom;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;

/** `$time_local` in a fixed +0200 zone. */
function timeLocal(epochMs: number): string {
  const d = new Date(epochMs + 2 * HOUR);
  return `${pad2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0200`;
}

const secs = (ms: number): string => (ms / 1000).toFixed(3);

/** The part of a line after `[$time_local] `: request, status, sizes, referer, agent, upstream timings. */
function makeTails(rnd: () => number, count: number): string[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const uas = Array.from({ length: 60 }, () => {
    const v = `${100 + Math.floor(rnd() * 30)}.0.${Math.floor(rnd() * 6000)}.${Math.floor(rnd() * 200)}`;
    return `Mozilla/5.0 (${pick(['Windows NT 10.0; Win64; x64', 'Macintosh; Intel Mac OS X 10_15_7', 'X11; Linux x86_64', 'Linux; Android 14; Pixel 8'])}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v} Safari/537.36`;
  });
  uas.push('curl/8.5.0', 'kube-probe/1.29');
  const referers = ['-', '-', 'https://shop.example.com/', 'https://www.google.com/'];
  const servers = ['10.0.0.11:9000', '10.0.0.12:9000', '10.0.0.13:9000'];
  const paths = ['/index.php', '/checkout', '/api/v1/cart', '/api/v1/search?q=item', '/login', '/static/app.js'];
  return Array.from({ length: count }, () => {
    const path = pick(paths);
    const uri = path.includes('?') ? `${path}${Math.floor(rnd() * 50000)}` : path;
    const server = pick(servers);
    const r = rnd();
    let status: number;
    let rt: number;
    let upstream: string;
    if (path === '/static/app.js') {
      status = 200;
      rt = Math.floor(rnd() * 5);
      upstream = 'uct="-" uht="-" urt="-" uaddr="-" ustatus="-"';
    } else if (r < 0.01) {
      status = 502;
      rt = Math.floor(rnd() * 5);
      upstream = `uct="0.001" uht="-" urt="${secs(rt)}" uaddr="${server}" ustatus="502"`;
    } else if (r < 0.015) {
      status = 504;
      rt = 60000 + Math.floor(rnd() * 10);
      upstream = `uct="0.001" uht="-" urt="${secs(rt)}" uaddr="${server}" ustatus="504"`;
    } else {
      status = rnd() < 0.95 ? 200 : 404;
      const up = 5 + Math.floor(rnd() * rnd() * 800);
      rt = up + 1;
      upstream = `uct="0.001" uht="${secs(up - 1)}" urt="${secs(up)}" uaddr="${server}" ustatus="${status}"`;
    }
    const body = status === 200 ? 1000 + Math.floor(rnd() * 60000) : 150;
    return `"GET ${uri} HTTP/1.1" ${status} ${body} "${pick(referers)}" "${pick(uas)}" rt=${secs(rt)} ${upstream}\n`;
  });
}

/** Writes ~`bytes` of log ending at END, lines spaced by the day's traffic curve. */
function generate(path: string, bytes: number): void {
  const rnd = mulberry32(7);
  const tails = makeTails(rnd, 4096);
  const ips = Array.from({ length: 5000 }, () => `${10 + Math.floor(rnd() * 200)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}.${1 + Math.floor(rnd() * 254)}`);
  const avgLine = tails.reduce((s, t) => s + t.length, 0) / tails.length + 40;
  const rateAt = (t: number) => (RATE_PER_HOUR / HOUR) * (1 + 0.5 * Math.sin((2 * Math.PI * ((t % DAY) - 6 * HOUR)) / DAY));
  // Walk back from the end to find the start that yields `bytes`.
  let start = END;
  for (let acc = 0; acc < bytes; start -= 60_000) acc += rateAt(start) * 60_000;
  const fd = openSync(`${path}.tmp`, 'w');
  let batch: string[] = [];
  let batchBytes = 0;
  let written = 0;
  let t = start;
  let cachedSecond = -1;
  let cachedStamp = '';
  while (t < END) {
    // 5% of lines were written by a slower worker, up to 1.5 s late.
    const stampTime = rnd() < 0.05 ? t - Math.floor(rnd() * 1500) : t;
    const second = Math.floor(stampTime / 1000);
    if (second !== cachedSecond) {
      cachedSecond = second;
      cachedStamp = timeLocal(second * 1000);
    }
    const line = `${ips[Math.floor(rnd() * ips.length)]} - - [${cachedStamp}] ${tails[Math.floor(rnd() * tails.length)]}`;
    batch.push(line);
    batchBytes += line.length;
    t += avgLine / rateAt(t);
    if (batchBytes >= 4 << 20) {
      writeSync(fd, batch.join(''));
      written += batchBytes;
      batch = [];
      batchBytes = 0;
    }
  }
  writeSync(fd, batch.join(''));
  written += batchBytes;
  closeSync(fd);
  renameSync(`${path}.tmp`, path);
  writeFileSync(`${path}.json`, JSON.stringify({ end: END, start, bytes: written }));
}

interface ChildInput {
  path: string;
  port: number;
  user: string;
  clientKey: string;
  knownHosts: string;
  from: number;
}

interface ChildResult {
  connectMs: number;
  /** One trivial command on the open connection: this host's fixed cost per remote command. */
  commandMs: number;
  searchMs: number;
  streamMs: number;
  finishMs: number;
  totalMs: number;
  bytesFetched: number;
  probes: number;
  windowBytes: number;
  lines: number;
  requests: number;
  count502: number;
  count504: number;
  outsideWindow: number;
  startFound: boolean;
  notes: string[];
  baselineRssMb: number;
  maxRssMb: number;
}

/** Child side: one windowed read over SSH into the analyzer. */
async function runOne(input: ChildInput): Promise<ChildResult> {
  const baselineRssMb = process.memoryUsage().rss / 1024 / 1024;
  const host = parseConfigText(
    JSON.stringify({
      hosts: {
        'web-03': {
          address: '127.0.0.1',
          port: input.port,
          user: input.user,
          privateKey: input.clientKey,
          knownHosts: input.knownHosts,
          sources: { accessLog: input.path },
        },
      },
    }),
    join(tmpdir(), 'bench.yaml'),
  ).hosts[0]!;
  const catalog = loadCatalog(defaultCatalogDir());
  const executor = new SshExecutor({ logger: createLogger({ level: 'silent' }) });
  try {
    const c0 = performance.now();
    await executor.run(host, catalog.render('host.uname', host));
    const connectMs = performance.now() - c0;
    const r0 = performance.now();
    await executor.run(host, catalog.render('host.uname', host));
    const commandMs = performance.now() - r0;

    const t0 = performance.now();
    const analyzer = createAccessAnalyzer({ format: compileLogFormat('upstream'), window: { from: input.from } });
    let windowBytes = 0;
    const result = await readWindow({
      executor,
      catalog,
      host,
      source: 'accessLog',
      from: input.from,
      timeOf: timeOfUpstream,
      onData: (chunk) => {
        windowBytes += chunk.length;
        analyzer.pushChunk(chunk);
      },
    });
    const f0 = performance.now();
    const stats = analyzer.result();
    const finishMs = performance.now() - f0;
    return {
      connectMs,
      commandMs,
      searchMs: result.searchMs,
      streamMs: result.streamMs,
      finishMs,
      totalMs: performance.now() - t0,
      bytesFetched: result.bytesFetched,
      probes: result.probes,
      windowBytes,
      lines: stats.lines,
      requests: stats.requests,
      count502: stats.count502,
      count504: stats.count504,
      outsideWindow: stats.outsideWindow,
      startFound: result.startFound,
      notes: result.notes,
      baselineRssMb,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    await executor.close();
  }
}

const TIME_RE = /\[(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\]/;

/** `[$time_local]` of a line, for the window search. */
function timeOfUpstream(line: string): number | null {
  const m = TIME_RE.exec(line);
  if (!m) return null;
  const utc = Date.UTC(Number(m[3]), MONTHS.indexOf(m[2]!), Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  return utc - (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9])) * 60_000;
}

function runInChild(input: ChildInput): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--run', JSON.stringify(input)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: ChildResult | undefined;
    child.on('message', (m) => (result = m as ChildResult));
    child.on('error', reject);
    child.on('exit', (code) => (result && code === 0 ? resolve(result) : reject(new Error(`bench child exited ${code}`))));
  });
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

async function main(): Promise<void> {
  const runIdx = process.argv.indexOf('--run');
  if (runIdx >= 0) {
    const result = await runOne(JSON.parse(process.argv[runIdx + 1]!) as ChildInput);
    process.send?.(result);
    return;
  }
  const repeat = Number(process.env.BENCH_REPEAT ?? 5);
  const files = SIZES.map(({ label, bytes }) => {
    const path = join(tmpdir(), `badgateway-triage-access-${bytes}-v${GENERATOR_VERSION}.log`);
    if (!existsSync(path) || !existsSync(`${path}.json`)) {
      const g0 = Date.now();
      process.stdout.write(`generating ${path} ... `);
      generate(path, bytes);
      console.log(`${((Date.now() - g0) / 1000).toFixed(1)} s`);
    }
    return { label, path, meta: JSON.parse(readFileSync(`${path}.json`, 'utf8')) as { end: number; start: number } };
  });
  const sshd = await startSshd();
  try {
    const medians: number[] = [];
    for (const file of files) {
      const from = file.meta.end - WINDOW_MS;
      const runs: ChildResult[] = [];
      for (let i = 0; i < repeat; i++) {
        runs.push(await runInChild({ path: file.path, port: sshd.port, user: sshd.user, clientKey: sshd.clientKey, knownHosts: sshd.knownHosts, from }));
      }
      // The median run, reported whole: single runs swing with the machine's load.
      const r = [...runs].sort((a, b) => a.totalMs - b.totalMs)[Math.floor(runs.length / 2)]!;
      medians.push(r.totalMs);
      const size = statSync(file.path).size;
      console.log(
        `${file.label} log (${mb(size)}, ${((file.meta.end - file.meta.start) / HOUR).toFixed(1)} h), last 15 min, median of ${repeat} child runs ` +
          `[${runs.map((x) => x.totalMs.toFixed(0)).join(', ')} ms]:\n` +
          `  readWindow + analysis ${r.totalMs.toFixed(0)} ms = search ${r.searchMs} ms (${r.probes} probes incl. stat) + ` +
          `stream & parse ${r.streamMs} ms + result ${r.finishMs.toFixed(0)} ms\n` +
          `  before it: SSH connect + first command ${r.connectMs.toFixed(0)} ms, one more trivial command ${r.commandMs.toFixed(0)} ms (this host's cost per command)\n` +
          `  window ${mb(r.windowBytes)}, fetched ${mb(r.bytesFetched)} (${(r.bytesFetched / r.windowBytes).toFixed(3)}x the window, ` +
          `${((r.bytesFetched / size) * 100).toFixed(2)}% of the file)\n` +
          `  lines analyzed ${r.lines}, requests in window ${r.requests} (outside ${r.outsideWindow}), 502 ${r.count502}, 504 ${r.count504}, ` +
          `startFound ${r.startFound}${r.notes.length ? `, notes: ${r.notes.join(' | ')}` : ''}\n` +
          `  peak RSS ${r.maxRssMb.toFixed(0)} MB (node+tsx before the read ${r.baselineRssMb.toFixed(0)} MB)`,
      );
    }
    if (medians.length === 2) {
      console.log(`2 GB vs 200 MB (medians): ${((medians[0]! / medians[1]! - 1) * 100).toFixed(0)}% (target: within 20%; 2 GB under 2000 ms)`);
    }
  } finally {
    await sshd.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
