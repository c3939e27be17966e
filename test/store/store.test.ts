/**
 * One suite, run against both backends: the real PostgreSQL server (a schema of its own) and
 * embedded PGlite (a temp directory). Same migrations, same behaviour; races are settled by the
 * database (conditional UPDATE ... RETURNING, INSERT ... ON CONFLICT DO NOTHING).
 */
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMBEDDED_SETTINGS } from '../../src/store/open.js';
import { MIGRATIONS, deferredStore, openStore, type NewApproval, type Store } from '../../src/store/index.js';
import { BACKENDS, HAS_POSTGRES, pgliteDb, postgresDb, type TestDb } from './support.js';

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

function approval(id: string, overrides: Partial<NewApproval> = {}): NewApproval {
  return {
    id,
    action: 'reload',
    host: 'web-03',
    commandId: 'fpm.reload',
    params: { pid: 1234 },
    argv: ['systemctl', 'reload', 'php8.2-fpm.service'],
    requestedBy: 'U0ASKER',
    surface: 'slack',
    channel: 'C0ONCALL',
    reason: 'pool exhausted',
    requestedAt: T0,
    expiresAt: T0 + 15 * 60_000,
    dryRun: false,
    ...overrides,
  };
}

/** What the schema refuses, whichever way the SQL arrives. */
async function rawSql(db: TestDb, store: Store, sql: string): Promise<unknown> {
  if (db.raw) return db.raw(sql);
  // PGlite is in this process: go through the store's own connection (tests only).
  return (store as unknown as { db: { query(sql: string): Promise<unknown> } }).db.query(sql);
}

describe.each(BACKENDS)('store', ({ make }) => {
  const db = make();
  let store: Store;

  beforeAll(async () => {
    store = await db.open();
  }, 120_000);

  afterAll(async () => {
    await store?.close();
    await db.drop();
  });

  describe(`on ${db.name}`, () => {
    it('applies the versioned migrations once; opening again applies nothing new and keeps the data', async () => {
      expect(await store.migrations()).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
      await store.createApproval(approval('0000000000000001'));
      await store.close();
      store = await db.open();
      expect(await store.migrations()).toHaveLength(MIGRATIONS.length);
      expect((await store.getApproval('0000000000000001'))?.reason).toBe('pool exhausted');
    }, 120_000);

    it('round-trips an approval; the first decision wins, later ones change nothing', async () => {
      const created = await store.createApproval(approval('00000000000000a1'));
      expect(created).toMatchObject({ state: 'pending', params: { pid: 1234 }, argv: ['systemctl', 'reload', 'php8.2-fpm.service'], requestedAt: T0, decidedBy: null });
      const decisions = await Promise.all(
        Array.from({ length: 12 }, (_, i) => store.decideApproval('00000000000000a1', { state: i % 3 === 0 ? 'denied' : 'approved', by: `U0CLICK${i}`, at: T0 + 1000 + i })),
      );
      const winners = decisions.filter((d) => d !== null);
      expect(winners).toHaveLength(1);
      const stored = await store.getApproval('00000000000000a1');
      expect(stored).toMatchObject({ state: winners[0]!.state, decidedBy: winners[0]!.decidedBy });
      expect(await store.decideApproval('00000000000000a1', { state: 'approved', by: 'U0LATE', at: T0 + 5000 })).toBeNull();
    });

    it('an expired request takes no decision; expiring it happens once', async () => {
      await store.createApproval(approval('00000000000000b1', { expiresAt: T0 + 60_000 }));
      expect(await store.decideApproval('00000000000000b1', { state: 'approved', by: 'U0LATE', at: T0 + 60_000 })).toBeNull();
      expect(await store.expireApproval('00000000000000b1', T0 + 30_000)).toBeNull();
      const [first, second] = await Promise.all([store.expireApproval('00000000000000b1', T0 + 61_000), store.expireApproval('00000000000000b1', T0 + 61_000)]);
      expect([first, second].filter(Boolean)).toHaveLength(1);
      expect((await store.getApproval('00000000000000b1'))?.state).toBe('expired');
      await store.createApproval(approval('00000000000000b2', { expiresAt: T0 + 1000 }));
      await store.createApproval(approval('00000000000000b3', { expiresAt: T0 + 10 * 60_000 }));
      const swept = await store.expireApprovals(T0 + 2000);
      expect(swept.map((a) => a.id)).toContain('00000000000000b2');
      expect(swept.map((a) => a.id)).not.toContain('00000000000000b3');
    });

    it('records the outcome only of an approved request', async () => {
      await store.createApproval(approval('00000000000000c1'));
      expect(await store.finishApproval('00000000000000c1', { state: 'succeeded', at: T0, outcome: {} })).toBe(false);
      await store.decideApproval('00000000000000c1', { state: 'approved', by: 'U0APPROVER', at: T0 + 1 });
      expect(await store.finishApproval('00000000000000c1', { state: 'failed', at: T0 + 2, outcome: { exitCode: 3, checks: [{ name: 'x', ok: false }] } })).toBe(true);
      expect(await store.finishApproval('00000000000000c1', { state: 'succeeded', at: T0 + 3, outcome: {} })).toBe(false);
      expect(await store.getApproval('00000000000000c1')).toMatchObject({ state: 'failed', finishedAt: T0 + 2, outcome: { exitCode: 3 } });
      expect((await store.listApprovals({ state: 'failed' })).map((a) => a.id)).toEqual(['00000000000000c1']);
    });

    it('appends audit entries and lists them newest first, by time, host, approval and kind', async () => {
      const base = { kind: 'command' as const, event: 'ran' as const, actor: 'U0ASKER', surface: 'slack' };
      await store.appendAudit({ ...base, at: T0 - 86_400_000, host: 'web-01', commandId: 'host.uptime', argv: ['cat', '/proc/uptime'], exitCode: 0, durationMs: 12.6 });
      await store.appendAudit({
        ...base,
        at: T0,
        host: 'web-03',
        commandId: 'fpm.reload',
        argv: ['systemctl', 'reload', 'x'],
        exitCode: 0,
        durationMs: 80,
        approvalId: '00000000000000d1',
        approver: 'U0APPROVER',
        output: 'ok',
      });
      await store.appendAudit({
        kind: 'decision',
        event: 'approved',
        at: T0 + 1,
        host: 'web-03',
        actor: 'U0ASKER',
        surface: 'slack',
        approvalId: '00000000000000d1',
        approver: 'U0APPROVER',
        detail: { reason: 'x' },
      });
      const recent = await store.listAudit({ since: T0 - 1000 });
      expect(recent.map((e) => e.event)).toEqual(['approved', 'ran']);
      expect(recent[1]).toMatchObject({ host: 'web-03', argv: ['systemctl', 'reload', 'x'], exitCode: 0, durationMs: 80, output: 'ok', approver: 'U0APPROVER' });
      expect(typeof recent[0]!.id).toBe('number');
      expect((await store.listAudit({ host: 'web-01' })).map((e) => e.commandId)).toEqual(['host.uptime']);
      expect((await store.listAudit({ approvalId: '00000000000000d1', kind: 'decision' })).map((e) => e.event)).toEqual(['approved']);
      expect(await store.listAudit({ limit: 1 })).toHaveLength(1);
    });

    it('the audit log is append-only: the database refuses UPDATE, DELETE and TRUNCATE', async () => {
      await store.appendAudit({ kind: 'decision', event: 'requested', at: T0, host: 'web-09', actor: 'U0ASKER', surface: 'slack' });
      await expect(rawSql(db, store, `UPDATE audit_log SET host = 'forged'`)).rejects.toThrow(/append-only/);
      await expect(rawSql(db, store, 'DELETE FROM audit_log')).rejects.toThrow(/append-only/);
      await expect(rawSql(db, store, 'TRUNCATE audit_log')).rejects.toThrow(/append-only/);
      expect((await store.listAudit({ host: 'web-09' })).length).toBe(1);
    });

    it('runbook sessions keep jsonb state; an update names the version it read (one of two racing wins)', async () => {
      const s = await store.createRunbookSession({
        id: 'rb1',
        runbook: 'pool-exhausted',
        host: 'web-03',
        channel: 'C0ONCALL',
        threadTs: '1.2',
        startedBy: 'U0ASKER',
        state: { step: 0, notes: ['a'] },
        at: T0,
      });
      expect(s).toMatchObject({ version: 1, status: 'active', state: { step: 0, notes: ['a'] } });
      const [a, b] = await Promise.all([store.updateRunbookSession('rb1', 1, { state: { step: 1 }, at: T0 + 1 }), store.updateRunbookSession('rb1', 1, { state: { step: 9 }, at: T0 + 1 })]);
      expect([a, b].filter(Boolean)).toHaveLength(1);
      const done = await store.updateRunbookSession('rb1', 2, { status: 'done', at: T0 + 2 });
      expect(done).toMatchObject({ version: 3, status: 'done', updatedAt: T0 + 2 });
      expect(done!.state.step === 1 || done!.state.step === 9).toBe(true);
      expect((await store.listRunbookSessions({ status: 'done' })).map((r) => r.id)).toEqual(['rb1']);
      expect(await store.getRunbookSession('nope')).toBeNull();
    });

    it('a digest fire time is a lease: one claim of many wins; it finishes once', async () => {
      const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => store.claimDigestRun({ schedule: 'morning', fireTime: T0, owner: `replica-${i}`, at: T0 + i })));
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await store.claimDigestRun({ schedule: 'morning', fireTime: T0 + 86_400_000, owner: 'replica-0', at: T0 })).toBe(true);
      expect(await store.finishDigestRun('morning', T0, { status: 'posted', at: T0 + 5000, detail: { ts: '1.2' } })).toBe(true);
      expect(await store.finishDigestRun('morning', T0, { status: 'failed', at: T0 + 6000 })).toBe(false);
      const runs = await store.listDigestRuns({ schedule: 'morning' });
      expect(runs.map((r) => r.status)).toEqual(['running', 'posted']);
      expect(runs[1]).toMatchObject({ fireTime: T0, finishedAt: T0 + 5000, detail: { ts: '1.2' } });
    });

    it("an approved request carries its runner's lease: renewed by that runner only; once it lapses the request is interrupted, once", async () => {
      await store.createApproval(approval('lease-running-01'));
      const decided = await store.decideApproval('lease-running-01', { state: 'approved', by: 'U0APPROVER', at: T0 + 1000, runner: 'replica-a', leaseUntil: T0 + 21_000 });
      expect(decided).toMatchObject({ state: 'approved', runner: 'replica-a', leaseUntil: T0 + 21_000, message: null });
      await store.setApprovalMessage('lease-running-01', { channel: 'C0ONCALL', ts: '1700000000.000100' });
      expect(await store.renewApprovalLease('lease-running-01', 'replica-b', T0 + 99_000)).toBe(false);
      expect(await store.renewApprovalLease('lease-running-01', 'replica-a', T0 + 41_000)).toBe(true);
      // Not yet lapsed: nothing to interrupt.
      expect(await store.interruptApprovals(T0 + 40_000, 'lease-running-01')).toEqual([]);
      const [a, b] = await Promise.all([store.interruptApprovals(T0 + 41_000), store.interruptApprovals(T0 + 41_000, 'lease-running-01')]);
      const marked = [...a, ...b].filter((x) => x.id === 'lease-running-01');
      expect(marked).toHaveLength(1);
      expect(marked[0]).toMatchObject({ state: 'interrupted', finishedAt: T0 + 41_000, message: { channel: 'C0ONCALL', ts: '1700000000.000100' } });
      expect(await store.renewApprovalLease('lease-running-01', 'replica-a', T0 + 61_000)).toBe(false);
      // Another instance cannot finish it; its own runner, which knows how it ended, can.
      expect(await store.finishApproval('lease-running-01', { state: 'failed', at: T0 + 50_000, outcome: {}, runner: 'replica-b' })).toBe(false);
      expect(await store.finishApproval('lease-running-01', { state: 'succeeded', at: T0 + 50_000, outcome: { exitCode: 0 }, runner: 'replica-a' })).toBe(true);
      expect(await store.getApproval('lease-running-01')).toMatchObject({ state: 'succeeded', leaseUntil: null });
      // Approved by a version without leases: taken for interrupted once no run could still be going.
      await store.createApproval(approval('lease-legacy-002'));
      await store.decideApproval('lease-legacy-002', { state: 'approved', by: 'U0APPROVER', at: T0 });
      expect(await store.interruptApprovals(T0 + 14 * 60_000, 'lease-legacy-002')).toEqual([]);
      expect((await store.interruptApprovals(T0 + 15 * 60_000, 'lease-legacy-002')).map((x) => x.id)).toEqual(['lease-legacy-002']);
    });

    it("a host's generation counts the changes made on it, each once, whoever makes them", async () => {
      expect(await store.hostGeneration('web-gen')).toBe(0);
      const bumps = await Promise.all(Array.from({ length: 6 }, (_, i) => store.touchHost('web-gen', T0 + i)));
      expect(bumps.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(await store.hostGeneration('web-gen')).toBe(6);
      expect(await store.hostGeneration('web-other')).toBe(0);
    });
  });
});

describe('store: scale-out and ownership', () => {
  it.skipIf(!HAS_POSTGRES)(
    'two replicas on one PostgreSQL: both migrate at once, and a request decided from both is decided once',
    async () => {
      const db = postgresDb();
      const [a, b] = await Promise.all([db.open(), db.open()]);
      try {
        expect(await a.migrations()).toEqual(await b.migrations());
        await a.createApproval(approval('00000000000000e1'));
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).decideApproval('00000000000000e1', { state: 'approved', by: `U0R${i}`, at: T0 + 10 })));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect((await b.getApproval('00000000000000e1'))?.state).toBe('approved');
      } finally {
        await Promise.all([a.close(), b.close()]);
        await db.drop();
      }
    },
    120_000,
  );

  it('an embedded directory has one owner; a second open is refused with what to do, or reads a snapshot', async () => {
    const db = pgliteDb();
    const owner = await db.open();
    try {
      await owner.appendAudit({ kind: 'decision', event: 'requested', at: T0, host: 'web-03', actor: 'U0ASKER', surface: 'slack' });
      await expect(openStore({ dataDir: db.dir })).rejects.toThrow(/in use: this process already has it open.*DATABASE_URL/);
      const snapshot = await openStore({ dataDir: db.dir, snapshotIfBusy: true });
      try {
        expect(snapshot.location).toMatch(/snapshot/);
        expect((await snapshot.listAudit({ host: 'web-03' })).map((e) => e.event)).toEqual(['requested']);
      } finally {
        await snapshot.close();
      }
    } finally {
      await owner.close();
    }
    // Closed: the lock is released and the next process may own it.
    const next = await db.open();
    expect((await next.listAudit({ host: 'web-03' })).length).toBe(1);
    await next.close();
    await db.drop();
  }, 120_000);
});

describe('embedded store settings and first start', () => {
  it('a fresh data folder is created with the lean settings, nothing of its creation left beside it, and reopened as it was', async () => {
    const db = pgliteDb();
    const first = await db.open();
    try {
      await first.appendAudit({ kind: 'decision', event: 'requested', at: T0, host: 'web-03', actor: 'U0ASKER', surface: 'slack' });
      const shown = (await rawSql(db, first, 'SHOW shared_buffers')) as { rows: Array<{ shared_buffers: string }> };
      expect(shown.rows[0]!.shared_buffers).toBe(EMBEDDED_SETTINGS[1]!.split('=')[1]);
    } finally {
      await first.close();
    }
    // Nothing of the creation is left beside it.
    expect(readdirSync(db.dir).filter((f) => f.startsWith('pglite.init-'))).toEqual([]);
    const again = await db.open();
    expect((await again.listAudit({ host: 'web-03' })).map((e) => e.event)).toEqual(['requested']);
    await again.close();
    await db.drop();
  }, 120_000);
});

describe('deferredStore', () => {
  it('answers once the store is open; until then calls wait, and kind and location are known at once', async () => {
    let open!: (store: Store) => void;
    const opening = new Promise<Store>((resolve) => (open = resolve));
    const store = deferredStore(opening, { kind: 'embedded', location: 'memory://' });
    expect(store).toMatchObject({ kind: 'embedded', location: 'memory://' });
    let settled = false;
    const listed = store.listAudit({ host: 'web-03' }).then((entries) => ((settled = true), entries));
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    const real = await openStore({ dataDir: 'memory://' });
    await real.appendAudit({ kind: 'decision', event: 'requested', at: T0, host: 'web-03', actor: 'U0ASKER', surface: 'slack' });
    open(real);
    expect((await listed).map((e) => e.event)).toEqual(['requested']);
    expect((await store.migrations()).map((m) => m.version)).toEqual(MIGRATIONS.map((m) => m.version));
    await store.close();
    await expect(real.listAudit()).rejects.toThrow();
  }, 60_000);

  it('a store that fails to open fails every call with its error, and closes without one', async () => {
    const opening = openStore({ databaseUrl: 'postgres://postgres@127.0.0.1:9/test' });
    opening.catch(() => undefined);
    const store = deferredStore(opening, { kind: 'postgres', location: 'postgres://postgres@127.0.0.1:9/test' });
    await expect(store.getApproval('00000000000000a1')).rejects.toThrow(/cannot open the PostgreSQL store at postgres:\/\/postgres@127\.0\.0\.1:9\/test/);
    await expect(store.close()).resolves.toBeUndefined();
  }, 60_000);
});
