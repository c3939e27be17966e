/**
 * `badgateway audit` as a real process: it reads the store the bot uses (DATABASE_URL on the real
 * PostgreSQL server; else the embedded directory, through a snapshot while another process holds
 * it), prints oldest first, --json exports, and exits 0 / 1 / 2 like the other commands. Plus the
 * AuditingExecutor against a real SSH server: each remote command is one record with who asked.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditingExecutor, withActor } from '../../src/actions/index.js';
import { loadCatalog } from '../../src/catalog/index.js';
import { loadConfig } from '../../src/config/index.js';
import { SshExecutor } from '../../src/exec/index.js';
import { createLogger } from '../../src/log/index.js';
import type { Store } from '../../src/store/index.js';
import { REPO_ROOT, testCatalogDir, writeConfig } from '../support/config.js';
import { sharedSshd } from '../support/shared-sshd.js';
import type { TestSshd } from '../support/sshd.js';
import { HAS_POSTGRES, PG_URL, pgliteDb, postgresDb } from '../store/support.js';

const BIN = join(REPO_ROOT, 'bin', 'badgateway.js');
const NOW = Date.now();

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, LOG_LEVEL: '', DATABASE_URL: '', BADGATEWAY_DATA_DIR: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function seed(store: Store): Promise<void> {
  await store.appendAudit({
    kind: 'command',
    event: 'ran',
    at: NOW - 10 * 86_400_000,
    host: 'web-01',
    actor: 'U0OLD',
    surface: 'slack',
    commandId: 'host.uptime',
    argv: ['cat', '/proc/uptime'],
    exitCode: 0,
    durationMs: 5,
  });
  await store.appendAudit({
    kind: 'decision',
    event: 'requested',
    at: NOW - 60_000,
    host: 'web-03',
    actor: 'U0ASKER',
    surface: 'slack',
    approvalId: 'aaaaaaaaaaaaaaaa',
    commandId: 'fpm.reload',
    argv: ['systemctl', 'reload', 'php8.2-fpm'],
    detail: { reason: 'pool exhausted' },
  });
  await store.appendAudit({ kind: 'decision', event: 'approved', at: NOW - 50_000, host: 'web-03', actor: 'U0ASKER', surface: 'slack', approvalId: 'aaaaaaaaaaaaaaaa', approver: 'U0APPROVER' });
  await store.appendAudit({
    kind: 'command',
    event: 'ran',
    at: NOW - 40_000,
    host: 'web-03',
    actor: 'U0ASKER',
    surface: 'slack',
    approvalId: 'aaaaaaaaaaaaaaaa',
    approver: 'U0APPROVER',
    commandId: 'fpm.reload',
    argv: ['systemctl', 'reload', 'php8.2-fpm'],
    exitCode: 0,
    durationMs: 120,
    output: '',
  });
  await store.appendAudit({
    kind: 'command',
    event: 'ran',
    at: NOW - 30_000,
    host: 'web-04',
    actor: 'U0OTHER',
    surface: 'console',
    commandId: 'fpm.status',
    argv: ['curl'],
    exitCode: 0,
    durationMs: 40,
  });
}

describe('badgateway audit (CLI)', () => {
  it.skipIf(!HAS_POSTGRES)(
    'exports from PostgreSQL (DATABASE_URL): --since, --host, --json; bad usage exits 2, an unreachable server 1',
    async () => {
      const db = postgresDb();
      const store = await db.open();
      try {
        await seed(store);
        const schema = (store.location.match(/schema (\w+)/) ?? [])[1]!;
        const env = { DATABASE_URL: `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}` };
        const [text, json, bad, down] = await Promise.all([
          cli(['audit', '--since', '7d'], env),
          cli(['audit', '--since', '1d', '--host', 'web-03', '--json'], env),
          cli(['audit', '--since', 'forever'], env),
          cli(['audit'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:9/test' }),
        ]);
        expect(text.code).toBe(0);
        const lines = text.stdout.trim().split('\n');
        expect(lines[0]).toMatch(/^TIME \(UTC\)\s+EVENT\s+HOST\s+WHO\s+WHAT$/);
        // Oldest first, the 10-day-old entry outside --since 7d.
        expect(lines.slice(1).map((l) => l.split(/\s+/)[2])).toEqual(['requested', 'approved', 'ran', 'ran']);
        expect(text.stdout).toMatch(/ran\s+web-03\s+U0ASKER\s+fpm\.reload exit 0 120ms approval aaaaaaaaaaaaaaaa by U0APPROVER/);
        expect(text.stdout).not.toContain('U0OLD');

        expect(json.code).toBe(0);
        const doc = JSON.parse(json.stdout) as { store: string; host: string; entries: Array<Record<string, unknown>> };
        // Where it read, without credentials or options.
        expect(doc.store).toBe(PG_URL.replace(/:[^:@/]*@/, '@'));
        expect(doc.entries.map((e) => e.event)).toEqual(['requested', 'approved', 'ran']);
        expect(doc.entries[2]).toMatchObject({ host: 'web-03', commandId: 'fpm.reload', argv: ['systemctl', 'reload', 'php8.2-fpm'], exitCode: 0, approver: 'U0APPROVER' });
        expect(doc.entries[0]!.at).toMatch(/^\d{4}-\d\d-\d\dT/);

        expect(bad.code).toBe(2);
        expect(bad.stderr.trim()).toMatch(/^badgateway: --since "forever" is not a duration/);
        expect(down.code).toBe(1);
        expect(down.stderr.trim().split('\n')).toHaveLength(1);
        expect(down.stderr).toMatch(/^badgateway: cannot open the PostgreSQL store at postgres:\/\/postgres@127\.0\.0\.1:9\/test/);
      } finally {
        await store.close();
        await db.drop();
      }
    },
    120_000,
  );

  it('reads the embedded store while another process (here: this one) owns it, from a snapshot', async () => {
    const db = pgliteDb();
    const store = await db.open();
    try {
      await seed(store);
      const out = await cli(['audit', '--json', '--host', 'web-04'], { BADGATEWAY_DATA_DIR: db.dir });
      expect(out.code).toBe(0);
      const doc = JSON.parse(out.stdout) as { store: string; entries: Array<Record<string, unknown>> };
      expect(doc.store).toMatch(/snapshot: another badgateway process \(pid \d+\) has it open/);
      expect(doc.entries).toEqual([expect.objectContaining({ host: 'web-04', actor: 'U0OTHER', surface: 'console', commandId: 'fpm.status' })]);
    } finally {
      await store.close();
      await db.drop();
    }
  }, 120_000);
});

describe('AuditingExecutor over real SSH', () => {
  let sshd: TestSshd;
  const db = pgliteDb();
  let store: Store;

  beforeAll(async () => {
    [sshd, store] = [sharedSshd(), await db.open()];
  }, 120_000);

  afterAll(async () => {
    await sshd?.stop();
    await store?.close();
    await db.drop();
  });

  it('records each command with who asked, argv, exit code and duration; a mutating one keeps its output, a refused one its error', async () => {
    const config = loadConfig({
      path: writeConfig({
        catalog: testCatalogDir(),
        hosts: { 'web-ssh': { address: '127.0.0.1', port: sshd.port, user: sshd.user, privateKey: sshd.clientKey, knownHosts: sshd.knownHosts } },
      }),
      env: {},
    });
    const catalog = loadCatalog(config.catalogDir);
    const host = config.hosts[0]!;
    const logger = createLogger({ level: 'silent' });
    const executor = new AuditingExecutor(new SshExecutor({ logger }), store, logger);
    try {
      await withActor({ user: 'U0ASKER', surface: 'slack', channel: 'C0ONCALL', via: 'triage web-ssh' }, () => executor.run(host, catalog.render('host.uptime', host)));
      // No context: a command nobody asked for (a schedule) is the system's.
      await executor.run(host, catalog.render('host.cpus', host));
      const mutating = { ...catalog.render('host.uptime', host), id: 'test.mutating', mutating: true, argv: ['sh', '-c', 'echo changed /x?token=SECRET123; echo oops >&2; exit 4'] };
      await withActor({ user: 'U0ASKER', surface: 'slack', approvalId: 'bbbbbbbbbbbbbbbb', approver: 'U0APPROVER' }, () => executor.run(host, mutating, { approvalId: 'bbbbbbbbbbbbbbbb' }));
      await expect(executor.run(host, mutating)).rejects.toThrow(/runs only after an approval/);
      await executor.flush();
      const entries = (await store.listAudit({ host: 'web-ssh' })).reverse();
      expect(entries.map((e) => [e.commandId, e.event, e.actor, e.exitCode])).toEqual([
        ['host.uptime', 'ran', 'U0ASKER', 0],
        ['host.cpus', 'ran', 'system', 0],
        ['test.mutating', 'failed', 'U0ASKER', 4],
        ['test.mutating', 'failed', 'system', null],
      ]);
      expect(entries[0]).toMatchObject({ surface: 'slack', argv: ['cat', '/proc/uptime', '/proc/loadavg'], detail: { via: 'triage web-ssh', channel: 'C0ONCALL' } });
      expect(entries[0]!.durationMs).toBeGreaterThanOrEqual(0);
      expect(entries[2]).toMatchObject({ approvalId: 'bbbbbbbbbbbbbbbb', approver: 'U0APPROVER', output: 'changed /x?token=[redacted]\noops' });
      expect(entries[3]!.detail).toMatchObject({ error: expect.stringMatching(/runs only after an approval/) });
    } finally {
      await executor.close();
    }
  }, 120_000);
});
