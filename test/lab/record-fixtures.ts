/**
 * Record real evidence for every lab scenario into test/fixtures/lab/<scenario>/.
 *
 *   npx tsx test/lab/record-fixtures.ts              # all scenarios
 *   npx tsx test/lab/record-fixtures.ts healthy ...  # only these
 *
 * Files: access.log error.log fpm.log slow.log fpm-status.txt nginx-T.txt fpm-tt.txt meta.json.
 * Everything except meta.json is byte-for-byte what nginx / PHP-FPM wrote or printed.
 */
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FPM_BIN, LAB_LOG_FORMAT, LAB_LOG_FORMAT_NAME, LAB_POOL, LAB_PROXY_GROUP, LAB_SERVER_NAME, NGINX_BIN } from './lab.js';
import { SCENARIOS, type ScenarioResult } from './scenarios.js';

const FIXTURE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/lab');

function versionLine(bin: string, arg: string): string {
  try {
    // nginx -v prints to stderr; php-fpm -v to stdout
    const out = execFileSync('/bin/sh', ['-c', '"$0" "$1" 2>&1', bin, arg], { encoding: 'utf8' });
    return out.split('\n')[0]?.trim() ?? '';
  } catch (err) {
    return `unknown (${String(err)})`;
  }
}

async function write(r: ScenarioResult, versions: { nginx: string; php: string }): Promise<number> {
  const dir = path.join(FIXTURE_ROOT, r.name);
  await fsp.rm(dir, { recursive: true, force: true });
  await fsp.mkdir(dir, { recursive: true });
  const files: Record<string, string> = {
    'access.log': r.logs.access,
    'error.log': r.logs.error,
    'fpm.log': r.logs.fpmLog,
    'slow.log': r.logs.slowLog,
    'fpm-status.txt': r.fpmStatus ?? '',
    'nginx-T.txt': r.nginxT,
    'fpm-tt.txt': r.fpmTT,
  };
  const meta = {
    scenario: r.name,
    expectedCause: r.expectedCause,
    logFormat: { name: LAB_LOG_FORMAT_NAME, spec: LAB_LOG_FORMAT },
    recordedAt: new Date().toISOString(),
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    versions,
    serverName: LAB_SERVER_NAME,
    pool: LAB_POOL,
    proxyGroup: LAB_PROXY_GROUP,
    fpmListen: r.fpmListen,
    fastcgiPass: r.fastcgiPass,
    fpmStatusFile: r.fpmStatus === undefined ? 'no snapshot taken' : r.fpmStatus.startsWith('UNAVAILABLE:') ? 'status page did not answer (see file)' : '/fpm-status?full text',
    labOptions: r.options,
    notes: r.notes,
    responses: r.responses,
    durationMs: r.durationMs,
  };
  files['meta.json'] = `${JSON.stringify(meta, null, 2)}\n`;
  let total = 0;
  for (const [name, text] of Object.entries(files)) {
    await fsp.writeFile(path.join(dir, name), text);
    total += Buffer.byteLength(text);
  }
  return total;
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const unknown = only.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const versions = { nginx: versionLine(NGINX_BIN, '-v'), php: versionLine(FPM_BIN, '-v') };
  for (const s of SCENARIOS) {
    if (only.length && !only.includes(s.name)) continue;
    const r = await s.run();
    const bytes = await write(r, versions);
    const codes = r.responses.reduce<Record<number, number>>((acc, x) => ((acc[x.status] = (acc[x.status] ?? 0) + 1), acc), {});
    console.log(`${s.name.padEnd(28)} ${String(r.durationMs).padStart(6)} ms  ${(bytes / 1024).toFixed(1).padStart(5)} KB  ${JSON.stringify(codes)}`);
    for (const n of r.notes) console.log(`    ${n}`);
  }
  console.log(`fixtures in ${path.relative(process.cwd(), FIXTURE_ROOT)}/`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
