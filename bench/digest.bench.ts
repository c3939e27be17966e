/**
 * A 24-hour digest of 20 hosts: `npm run bench:digest`.
 *
 * Starts the test OpenSSH server and the real nginx + PHP-FPM lab (for discovery, FPM status and vitals,
 * as on a real host), and gives each of 20 inventory hosts its own generated access log covering the last
 * 24 hours (nginx `upstream` format, ~1.5 MB an hour with a day/night swing, a bad hour per host; made
 * once per hour and reused from os.tmpdir()). Then it builds the digest exactly as a schedule does:
 * `Services.triage` with sinceMs = 24 h (windowed reads, hosts in parallel under ssh.concurrency), the
 * digest, the Block Kit message and the PNG chart. Prints wall time and bytes fetched. Goal: under 60 s.
 */
import { closeSync, existsSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createServices } from '../src/app/services.js';
import { defaultCatalogDir, loadConfig } from '../src/config/index.js';
import { createDigests, pngSize, renderDigestSlack, renderDigestText } from '../src/digest/index.js';
import { createLogger } from '../src/log/index.js';
import { startLab } from '../test/lab/lab.js';
import { healthy } from '../test/lab/scenarios.js';
import { writeConfig } from '../test/support/config.js';
import { hostConfig } from '../test/support/lab-host.js';
import { seededRandom } from '../test/support/random.js';
import { startSshd } from '../test/support/sshd.js';

const HOSTS = Number(process.env.BENCH_HOSTS ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);
const RATE_PER_HOUR = Number(process.env.BENCH_RATE ?? 1_500_000);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const VERSION = 1;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number) => (n < 10 ? '0' : '') + n;
const secs = (ms: number) => (ms / 1000).toFixed(3);

function timeLocal(ms: number): string {
  const d = new Date(ms);
  return `${pad2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000`;
}

/** ~24 h of access log ending at `end`; host `index` has a bad hour (8% 502/504) at a host-specific time. */
function generate(path: string, index: number, end: number): number {
  const rnd = seededRandom(1000 + index);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const paths = ['/index.php', '/checkout', '/api/v1/cart', '/api/v1/search?q=', '/login', '/static/app.js'];
  const servers = ['10.0.0.11:9000', '10.0.0.12:9000', 'unix:/run/php/php8.2-fpm.sock'];
  const badHour = end - DAY + ((index * 5) % 24) * HOUR;
  const rateAt = (t: number) => (RATE_PER_HOUR / HOUR) * (1 + 0.6 * Math.sin((2 * Math.PI * ((t % DAY) - 9 * HOUR)) / DAY));
  const fd = openSync(`${path}.tmp`, 'w');
  let batch = '';
  let written = 0;
  let t = end - DAY - 5 * 60_000;
  while (t < end) {
    const path0 = pick(paths);
    const uri = path0.endsWith('=') ? `${path0}${Math.floor(rnd() * 5000)}` : path0;
    const bad = t >= badHour && t < badHour + HOUR ? 0.08 : 0.002;
    const r = rnd();
    const server = pick(servers);
    let line: string;
    const head = `10.${index}.${Math.floor(rnd() * 256)}.${1 + Math.floor(rnd() * 254)} - - [${timeLocal(t)}] "GET ${uri} HTTP/1.1"`;
    if (path0 === '/static/app.js') {
      line = `${head} 200 5123 "-" "Mozilla/5.0" rt=0.000 uct="-" uht="-" urt="-" uaddr="-" ustatus="-"\n`;
    } else if (r < bad * 0.7) {
      const rt = Math.floor(rnd() * 30);
      line = `${head} 502 150 "-" "Mozilla/5.0" rt=${secs(rt)} uct="0.000" uht="-" urt="${secs(rt)}" uaddr="${server}" ustatus="502"\n`;
    } else if (r < bad) {
      line = `${head} 504 150 "-" "Mozilla/5.0" rt=60.001 uct="0.001" uht="-" urt="60.000" uaddr="${server}" ustatus="504"\n`;
    } else {
      const up = 5 + Math.floor(rnd() * rnd() * 900);
      line = `${head} 200 ${1000 + Math.floor(rnd() * 40000)} "https://shop.example.com/" "Mozilla/5.0 (X11; Linux x86_64)" rt=${secs(up + 1)} uct="0.001" uht="${secs(up - 2)}" urt="${secs(up)}" uaddr="${server}" ustatus="200"\n`;
    }
    batch += line;
    t += line.length / rateAt(t) || 1;
    if (batch.length > 1 << 22) {
      writeSync(fd, batch);
      written += batch.length;
      batch = '';
    }
  }
  writeSync(fd, batch);
  written += batch.length;
  closeSync(fd);
  renameSync(`${path}.tmp`, path);
  writeFileSync(`${path}.json`, JSON.stringify({ end }));
  return written;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  // Logs end at the top of the current hour: reused for an hour, regenerated after.
  const end = Math.floor(Date.now() / HOUR) * HOUR;
  const g0 = Date.now();
  let generated = 0;
  const logs = Array.from({ length: HOSTS }, (_, i) => {
    const path = join(tmpdir(), `badgateway-digest-bench-${i}-v${VERSION}.log`);
    const fresh = existsSync(`${path}.json`) && (JSON.parse(readFileSync(`${path}.json`, 'utf8')) as { end: number }).end === end && existsSync(path);
    if (!fresh) generated += generate(path, i, end);
    return path;
  });
  if (generated) console.log(`generated ${HOSTS} logs of 24 h (${(generated / 1e6).toFixed(0)} MB) in ${((Date.now() - g0) / 1000).toFixed(1)} s`);
  const total = logs.reduce((n, p) => n + statSync(p).size, 0);

  const [sshd, lab] = await Promise.all([startSshd(), startLab({})]);
  try {
    await healthy(lab);
    const hosts: Record<string, unknown> = {};
    logs.forEach((path, i) => {
      hosts[`web-${String(i + 1).padStart(2, '0')}`] = { ...hostConfig(sshd, { accessLog: path, logFormat: 'upstream' }), groups: ['fleet'] };
    });
    const config = loadConfig({ path: writeConfig({ catalog: defaultCatalogDir(), ssh: { concurrency: CONCURRENCY }, hosts }), env: {} });
    const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });
    const services = createServices(config, logger);
    const digests = createDigests({ triage: services.triage, store: null, logger });
    const started = performance.now();
    const composed = await digests.compose({ target: '@fleet', sinceMs: DAY, timeZone: 'UTC', previous: null });
    const wall = performance.now() - started;
    await services.close();

    const { digest, result, chart } = composed;
    const bytes = result.hosts.reduce((n, h) => n + h.bytesFetched, 0);
    const failed = result.hosts.filter((h) => h.error);
    const phase = (name: 'discover' | 'collect' | 'total') => median(result.hosts.map((h) => h.timings[name] ?? 0));
    const slack = renderDigestSlack(digest, { images: true });
    const chartPath = join(tmpdir(), 'badgateway-digest-bench.png');
    if (chart) writeFileSync(chartPath, chart.data);
    console.log(`24-hour digest of ${HOSTS} hosts at concurrency ${CONCURRENCY} over loopback SSH (logs ${(total / 1e6).toFixed(0)} MB in all)`);
    console.log(
      `  wall ${(wall / 1000).toFixed(2)} s (goal < 60 s): triage ${(result.durationMs / 1000).toFixed(2)} s + digest, message and chart ${((wall - result.durationMs) / 1000).toFixed(2)} s`,
    );
    console.log(`  bytes fetched ${(bytes / 1e6).toFixed(1)} MB (${((bytes / total) * 100).toFixed(1)}% of the files; ${(bytes / HOSTS / 1e6).toFixed(1)} MB per host)`);
    console.log(
      `  per host (median): discover ${phase('discover')} ms, collect ${phase('collect')} ms, total ${phase('total')} ms; ${HOSTS - failed.length} ok, ${failed.length} failed${failed[0] ? ` (${failed[0].error})` : ''}`,
    );
    console.log(
      `  digest: ${digest.fleet.requests} requests, 502 × ${digest.fleet.count502}, 504 × ${digest.fleet.count504}, ${digest.hourly.length} hours, worst hour ${digest.fleet.worstHour ? new Date(digest.fleet.worstHour.hour).toISOString().slice(11, 16) : '-'}`,
    );
    console.log(
      `  Slack message ${slack.blocks.length} blocks, ${JSON.stringify(slack.blocks).length} characters; chart ${chart ? `${JSON.stringify(pngSize(chart.data))} ${(chart.data.length / 1024).toFixed(0)} KB at ${chartPath}` : `none (${composed.chartError})`}`,
    );
    console.log(`  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
    if (process.env.BENCH_PRINT) console.log(renderDigestText(digest));
  } finally {
    await Promise.all([lab.stop(), sshd.stop()]);
  }
}

await main();
