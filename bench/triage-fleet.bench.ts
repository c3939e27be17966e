/**
 * Fleet triage: `npm run bench:triage` (second part).
 *
 * Starts the test OpenSSH server and the real nginx + PHP-FPM lab (one healthy pool with a little traffic),
 * declares 50 inventory hosts that all point at the loopback sshd, and triages `@fleet` at concurrency 16,
 * the whole pipeline: discovery, windowed reads of four logs, FPM status, vitals, analysis and diagnosis.
 * Prints wall time, per-phase medians, bytes fetched and peak RSS. Goal: under 10 s.
 */
import { Writable } from 'node:stream';
import { createServices } from '../src/app/services.js';
import { defaultCatalogDir, loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/log/index.js';
import { healthy } from '../test/lab/scenarios.js';
import { startLab } from '../test/lab/lab.js';
import { writeConfig } from '../test/support/config.js';
import { hostConfig } from '../test/support/lab-host.js';
import { startSshd } from '../test/support/sshd.js';

const HOSTS = 50;
const CONCURRENCY = 16;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  const [sshd, lab] = await Promise.all([startSshd(), startLab({})]);
  try {
    await healthy(lab);
    const hosts: Record<string, unknown> = {};
    for (let i = 1; i <= HOSTS; i++) {
      hosts[`web-${String(i).padStart(2, '0')}`] = { ...hostConfig(sshd, { accessLog: lab.paths.access }), groups: ['fleet'] };
    }
    const config = loadConfig({ path: writeConfig({ catalog: defaultCatalogDir(), ssh: { concurrency: CONCURRENCY }, hosts }), env: {} });
    const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });
    const services = createServices(config, logger);
    const started = Date.now();
    const result = await services.triage({ target: '@fleet', sinceMs: 15 * 60_000 });
    const wall = Date.now() - started;
    await services.close();
    const failed = result.hosts.filter((h) => h.error);
    const phase = (name: 'discover' | 'collect' | 'total') => median(result.hosts.map((h) => h.timings[name] ?? 0));
    const bytes = result.hosts.reduce((n, h) => n + h.bytesFetched, 0);
    console.log(`fleet triage: ${HOSTS} hosts at concurrency ${CONCURRENCY} over loopback SSH`);
    console.log(`  wall ${(wall / 1000).toFixed(2)} s (goal < 10 s); ${HOSTS - failed.length} ok, ${failed.length} failed${failed[0] ? ` (${failed[0].error})` : ''}`);
    console.log(`  per host (median): discover ${phase('discover')} ms, collect ${phase('collect')} ms, total ${phase('total')} ms`);
    console.log(`  bytes fetched ${bytes} (${(bytes / HOSTS / 1024).toFixed(1)} KiB per host)`);
    console.log(`  errors: ${[...new Set(failed.map((h) => (h.error ?? '').replace(/web-\d+/g, 'HOST').replace(/\d+ ms/g, 'N ms')))].join(' | ')}`);
    console.log(`  top causes: ${[...new Set(result.rows.map((r) => r.topCause))].join(', ')}`);
    console.log(`  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  } finally {
    await Promise.all([lab.stop(), sshd.stop()]);
  }
}

await main();
