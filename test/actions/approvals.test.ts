/**
 * The approval flow end to end over the real things: signed requests to REAL Bolt apps (HTTP mode,
 * a Web API stub), the real router and actions, the store on the REAL PostgreSQL server and on
 * embedded PGlite, and a reload over REAL SSH of the lab's REAL php-fpm (SIGUSR2 to its master).
 *
 * Per backend: two bot instances share one store (two replicas: on PostgreSQL each has its own
 * pool; the embedded store is one process's, so both apps share it) and receive the same Approve
 * click at once; the reload runs once (audit log, FPM master log: one "Reloading in progress").
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_APPROVE, ACTION_DENY } from '../../src/actions/index.js';
import { defaultCatalogDir, loadConfig, type Config } from '../../src/config/index.js';
import { createLogger } from '../../src/log/index.js';
import type { Store } from '../../src/store/index.js';
import { writeConfig } from '../support/config.js';
import { hostConfig, startLabHost, type LabHost } from '../support/lab-host.js';
import { startSlackStub, type SlackStub } from '../slack/stub.js';
import { BACKENDS, pgliteDb, type TestDb } from '../store/support.js';
import { auditOf, botKit, reloadsLogged, text, type Bot, type BotKit } from './bots.js';

const SECRET = 'approvals-signing-secret';
const CHANNEL = 'C0ONCALL';
/** Another channel the bot answers in: its people neither see nor decide this channel's requests. */
const OTHER_CHANNEL = 'C0OTHERTEAM';
const ASKER = 'U0ASKER';
const APPROVER = 'U0APPROVER';
const APPROVER2 = 'U0APPROVER2';
const STRANGER = 'U0STRANGER';
const GROUPIE = 'U0GROUPIE';
const GROUP = 'S0ONCALL';

const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'silent' });

let stub: SlackStub;
let labHost: LabHost;
let config: Config;
let groupApi: Server;
let groupApiUrl: string;
let kit: BotKit;

beforeAll(async () => {
  [stub, labHost] = await Promise.all([startSlackStub(), startLabHost({}, { names: ['web-lab'] })]);
  // The approver group's members, answered as Slack's usergroups.users.list does.
  groupApi = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(req.url?.startsWith('/api/usergroups.users.list') ? { ok: true, users: [GROUPIE] } : { ok: false, error: 'unknown_method' }));
  });
  await new Promise<void>((resolve) => groupApi.listen(0, '127.0.0.1', resolve));
  groupApiUrl = `http://127.0.0.1:${(groupApi.address() as { port: number }).port}/api/`;
  kit = botKit({ stub, secret: SECRET, channel: CHANNEL, logger, groupApiUrl });
  config = loadConfig({
    path: writeConfig({
      catalog: defaultCatalogDir(),
      slack: { channels: [CHANNEL, OTHER_CHANNEL], approvers: [APPROVER, APPROVER2], approverGroup: GROUP },
      approvals: { expiry: '15m', verifyWindow: '2s', verifyTimeout: '10s' },
      hosts: { 'web-lab': { ...hostConfig(labHost.sshd, { accessLog: labHost.lab.paths.access }), actions: { reload: 'fpm.reload-signal' } } },
    }),
    env: {},
  });
}, 120_000);

const startBot = (store: Store, overrides: Partial<Config> = {}) => kit.start(store, { ...config, ...overrides });
const command = (bot: Bot, text: string, user: string, channel = CHANNEL) => kit.command(bot, text, user, channel);
const click = (bot: Bot, actionId: string, value: string, ts: string, user: string, channel = CHANNEL) => kit.click(bot, actionId, value, ts, user, channel);
const ephemeral = (id: string) => kit.ephemeral(id);
const requestPosted = (since: number) => kit.requestPosted(since);
const outcome = (ts: string) => kit.outcome(ts);

afterAll(async () => {
  await stub?.close();
  await new Promise((r) => groupApi?.close(r));
  await labHost?.stop();
});

const reloads = () => reloadsLogged(labHost.lab);

describe.each(BACKENDS)('approvals', ({ make }) => {
  const db: TestDb = make();
  let storeA: Store;
  let storeB: Store;
  let botA: Bot;
  let botB: Bot;

  beforeAll(async () => {
    storeA = await db.open();
    // Two replicas: their own connection pool on PostgreSQL; the embedded store belongs to one process.
    storeB = db.name === 'postgres' ? await db.open() : storeA;
    [botA, botB] = await Promise.all([startBot(storeA), startBot(storeB)]);
  }, 120_000);

  afterAll(async () => {
    await botA?.stop();
    await botB?.stop();
    await storeA?.close();
    if (storeB !== storeA) await storeB?.close();
    await db.drop();
  });

  describe(`on ${db.name}`, () => {
    it('/502 reload posts who asked, the host, why, the exact argv and the expiry; the requester, a stranger cannot approve', async () => {
      const before = stub.ok('chat.postMessage').length;
      const res = await command(botA, 'reload web-lab pool stuck after deploy', ASKER);
      expect(res.status).toBe(200);
      const { value, id, call } = await requestPosted(before);
      const said = text(call);
      expect(said).toContain('Approval needed: reload php-fpm on web-lab');
      expect(said).toContain(`asked by <@${ASKER}>`);
      expect(said).toContain('why: pool stuck after deploy');
      expect(said).toMatch(new RegExp(`sh -c '&lt;fixed script of fpm.reload-signal, \\d+ lines, sha256 [0-9a-f]{12}…&gt;' fpm-reload-signal ${labHost.lab.fpmMasterPid()}`));
      expect(said).toMatch(/expires \d\d:\d\d UTC \(in 15 min\)/);
      // The lab's SSH login is root: the command runs without sudo, and the request says so.
      expect(said).toContain('(`fpm.reload-signal`, as root, no sudo)');
      expect(said).not.toMatch(/sudo -n/);
      expect(said).toContain(`<!subteam^${GROUP}>`);
      const stored = await storeB.getApproval(id);
      expect(stored).toMatchObject({ state: 'pending', host: 'web-lab', commandId: 'fpm.reload-signal', requestedBy: ASKER, params: { pid: labHost.lab.fpmMasterPid() } });

      const self = await click(botA, ACTION_APPROVE, value, 'req-1', ASKER);
      const strangerApprove = await click(botB, ACTION_APPROVE, value, 'req-1', STRANGER);
      const strangerDeny = await click(botB, ACTION_DENY, value, 'req-1', STRANGER);
      // An approver, but in another channel the bot answers in (a forwarded copy of the message).
      const elsewhere = await click(botA, ACTION_APPROVE, value, 'copy-1', APPROVER, OTHER_CHANNEL);
      expect(await ephemeral(self)).toMatch(/you asked for this one: another approver must approve it \(two-person rule\)/);
      expect(await ephemeral(strangerApprove)).toMatch(/only approvers may approve changes \(not in slack.approvers nor in the group S0ONCALL\)/);
      expect(await ephemeral(strangerDeny)).toMatch(/only approvers may deny/);
      expect(await ephemeral(elsewhere)).toContain(`is decided in <#${CHANNEL}>, where it was asked. Nothing was run.`);
      // Nothing changed: still pending, no command ran for it.
      expect((await storeA.getApproval(id))?.state).toBe('pending');
      const audit = await auditOf(storeA, id);
      expect(audit.map((e) => e.event)).toEqual(['requested', 'refused', 'refused', 'refused', 'refused']);
      expect(audit.find((e) => e.actor === APPROVER && e.event === 'refused')?.detail).toMatchObject({ why: "another channel than the request's" });
      expect(audit.filter((e) => e.kind === 'command')).toEqual([]);
      expect(audit[0]).toMatchObject({ actor: ASKER, host: 'web-lab', commandId: 'fpm.reload-signal', detail: { reason: 'pool stuck after deploy' } });

      // A member of slack.approverGroup (read through usergroups.users.list) may decide: here, deny.
      await click(botB, ACTION_DENY, value, 'req-1', GROUPIE);
      const denied = await stub.waitFor(() => stub.ok('chat.update').find((c) => c.body.ts === 'req-1' && text(c).includes('Denied')), 10_000, 'the denied message');
      expect(text(denied)).toContain(`by <@${GROUPIE}>`);
      expect((await storeA.getApproval(id))?.state).toBe('denied');
    }, 120_000);

    it('the same Approve click reaching both replicas at once (and a double click) runs the reload once; it is verified', async () => {
      const before = stub.ok('chat.postMessage').length;
      await command(botB, 'reload web-lab', ASKER);
      const { value, id } = await requestPosted(before);
      const master = labHost.lab.fpmMasterPid();
      const workers = labHost.lab.fpmWorkerPids();
      const reloadsBefore = await reloads();
      const ts = `req-${id}`;
      // Traffic through nginx to PHP during the change, so the 5xx comparison has requests on both sides.
      let traffic = true;
      const load = (async () => {
        while (traffic) await Promise.all([labHost.lab.request('/ok.php', { timeoutMs: 5000 }), new Promise((r) => setTimeout(r, 40))]);
      })();
      await new Promise((r) => setTimeout(r, 1200));
      const clicks = await Promise.all([
        click(botA, ACTION_APPROVE, value, ts, APPROVER),
        click(botB, ACTION_APPROVE, value, ts, APPROVER2),
        click(botA, ACTION_APPROVE, value, ts, APPROVER),
        click(botB, ACTION_APPROVE, value, ts, APPROVER),
      ]);
      const done = await outcome(ts).finally(() => (traffic = false));
      await load;
      const said = text(done);
      expect(said).toMatch(/reload php-fpm on web-lab: ok\* \(exit 0, \d+ ms\), verified/);
      expect(said).toMatch(/✓ \*5xx 2s before\/after\*: before 0\.0% \(0\/[1-9]\d*\), after 0\.0% \(0\/[1-9]\d*\)/);
      expect(said).toMatch(/✓ \*fpm.master-state\*: master \d+ active; workers: /);
      expect(said).toMatch(/✓ \*fpm status\*: pool www answers/);
      // Verified by identity: the same master (a foreground one re-executes in place), the same listen socket, new workers.
      expect(said).toContain(`✓ *php-fpm master*: master ${master} kept (re-executed in place), kept its listen socket ${labHost.lab.fpmListen}, workers ${workers.length} → `);
      expect(said).toContain(`; ${labHost.lab.dir}/php-fpm.pid names ${master}`);
      expect(said).toMatch(/5xx 2s before\/after\*: before/);
      expect(said).toContain(`sent SIGUSR2 to ${master}`);

      // Exactly one reload: one command in the audit log, one "Reloading in progress" in the master log.
      const audit = await auditOf(storeA, id);
      const runs = audit.filter((e) => e.kind === 'command' && e.commandId === 'fpm.reload-signal');
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ event: 'ran', host: 'web-lab', actor: ASKER, exitCode: 0, argv: expect.arrayContaining(['fpm-reload-signal', String(master)]) });
      expect([APPROVER, APPROVER2]).toContain(runs[0]!.approver);
      expect(runs[0]!.output).toContain(`sent SIGUSR2 to ${master}`);
      expect(audit.filter((e) => e.event === 'approved')).toHaveLength(1);
      expect(audit.filter((e) => e.event === 'refused')).toHaveLength(3);
      // The verification's commands are on the record too, under the same approval.
      expect(audit.some((e) => e.commandId === 'fpm.master-state' && e.event === 'ran')).toBe(true);
      expect(await reloads()).toBe(reloadsBefore + 1);
      // A graceful reload: the master keeps its pid, the workers are new.
      expect(labHost.lab.fpmMasterPid()).toBe(master);
      const after = labHost.lab.fpmWorkerPids();
      expect(after.length).toBeGreaterThan(0);
      expect(after.filter((p) => workers.includes(p))).toEqual([]);
      const replies = await stub.waitFor(
        () => {
          const got = clicks.map((c) => stub.calls.find((x) => x.method === 'respond' && x.path.endsWith(`/${c}`)));
          return got.filter(Boolean).length === 3 ? got.filter(Boolean) : null;
        },
        10_000,
        'three ephemeral replies',
      );
      for (const r of replies) expect(text(r!)).toMatch(/already approved by <@U0APPROVER2?>/);
      expect(await storeB.getApproval(id)).toMatchObject({ state: 'succeeded', outcome: { exitCode: 0 } });
      const final = await stub.waitFor(
        () => stub.ok('chat.update').find((c) => c.body.ts === ts && text(c).includes('Done: reload php-fpm on web-lab')),
        20_000,
        'the request message updated to Done',
      );
      expect(text(final)).toContain('Done: reload php-fpm on web-lab');
    }, 120_000);

    it('a late click on an expired request is refused and runs nothing', async () => {
      const now = Date.now();
      await storeA.createApproval({
        id: 'e0e0e0e0e0e0e0e0',
        action: 'reload',
        host: 'web-lab',
        commandId: 'fpm.reload-signal',
        params: { pid: labHost.lab.fpmMasterPid()! },
        argv: ['sh', '-c', 'exit 0', 'fpm-reload-signal', '1'],
        requestedBy: ASKER,
        surface: 'slack',
        channel: CHANNEL,
        reason: null,
        requestedAt: now - 16 * 60_000,
        expiresAt: now - 60_000,
        dryRun: false,
      });
      const reloadsBefore = await reloads();
      const late = await click(botB, ACTION_APPROVE, 'a=e0e0e0e0e0e0e0e0', 'req-expired', APPROVER);
      expect(await ephemeral(late)).toMatch(/This request expired at \d\d:\d\d UTC; nothing was run/);
      const again = await click(botA, ACTION_APPROVE, 'a=e0e0e0e0e0e0e0e0', 'req-expired', APPROVER2);
      expect(await ephemeral(again)).toMatch(/expired at .*Ask again with `\/502 reload web-lab`/);
      const audit = await auditOf(storeA, 'e0e0e0e0e0e0e0e0');
      expect(audit.map((e) => e.event)).toEqual(['expired', 'refused']);
      expect(audit.filter((e) => e.kind === 'command')).toEqual([]);
      expect(await reloads()).toBe(reloadsBefore);
      expect(stub.ok('chat.update').filter((c) => c.body.ts === 'req-expired')).toEqual([]);
    }, 120_000);

    it('a pending request survives a restart: a new app on the same store takes the click and runs it', async () => {
      const before = stub.ok('chat.postMessage').length;
      await command(botA, 'reload web-lab', ASKER);
      const { value, id } = await requestPosted(before);
      // Restart: both apps stop, the store is closed and opened again (the embedded one from its directory).
      await botA.stop();
      await botB.stop();
      await storeA.close();
      if (storeB !== storeA) await storeB.close();
      storeA = await db.open();
      storeB = storeA;
      botA = await startBot(storeA);
      botB = botA;
      const ts = `req-${id}`;
      await click(botA, ACTION_APPROVE, value, ts, APPROVER);
      const done = await outcome(ts);
      expect(text(done)).toMatch(/reload php-fpm on web-lab: ok/);
      expect((await storeA.getApproval(id))?.state).toBe('succeeded');
    }, 120_000);

    it("/502 audit HOST shows the recent entries to who asked; a triage's commands are recorded with who asked", async () => {
      if (db.name === 'postgres') {
        await command(botA, 'triage web-lab --since 5m', ASKER);
        await stub.waitFor(() => stub.ok('chat.update').find((c) => text(c).includes('web-lab') && /Verdict|Healthy/.test(text(c))), 45_000, 'the triage');
        const triage = (await storeA.listAudit({ host: 'web-lab', kind: 'command' })).filter((e) => (e.detail as { via?: string } | null)?.via === 'triage web-lab');
        expect(triage.length).toBeGreaterThan(3);
        expect(new Set(triage.map((e) => e.actor))).toEqual(new Set([ASKER]));
        expect(triage.map((e) => e.commandId)).toEqual(expect.arrayContaining(['host.processes', 'nginx.config', 'fpm.config']));
      }
      const res = await command(botA, 'audit web-lab', APPROVER);
      expect(res.status).toBe(200);
      const reply = await stub.waitFor(() => stub.calls.filter((c) => c.method === 'respond').find((c) => text(c).includes('Audit log of web-lab')), 10_000, 'the audit reply');
      expect(text(reply)).toMatch(/ran\s+web-lab\s+U0ASKER\s+fpm\.reload-signal exit 0/);
      expect(text(reply)).toMatch(/approved\s+web-lab/);
      if (db.name === 'postgres') expect(text(reply)).toMatch(/plus \d+ read-only commands \(triage, logs, status\) asked by <@U0ASKER>/);
      expect(text(reply)).toContain(`Audit log of web-lab* in <#${CHANNEL}>`);
      const answer = async (res: Promise<unknown>, matching: (t: string) => boolean, what: string) => {
        await res;
        return text(await stub.waitFor(() => stub.calls.filter((c) => c.method === 'respond').find((c) => matching(text(c))), 10_000, what));
      };
      // Another channel sees none of this channel's decisions and reasons...
      const elsewhere = await answer(command(botA, 'audit web-lab', ASKER, OTHER_CHANNEL), (t) => t.includes(`<#${OTHER_CHANNEL}>`), "the other channel's audit");
      expect(elsewhere).toContain(`No audit entries for \`web-lab\` in <#${OTHER_CHANNEL}> yet.`);
      expect(elsewhere).not.toMatch(/fpm\.reload-signal|approved/);
      // ...unless an approver asks for every channel's; others may not.
      const refused = await answer(command(botA, 'audit --all web-lab', ASKER, OTHER_CHANNEL), (t) => t.includes('Only approvers may see'), 'the refused --all');
      expect(refused).toMatch(/Only approvers may see every channel's audit log/);
      const all = await answer(command(botA, 'audit --all web-lab', APPROVER, OTHER_CHANNEL), (t) => t.includes('Audit log of web-lab*:'), "the approver's --all");
      expect(all).toMatch(/ran\s+web-lab\s+U0ASKER\s+fpm\.reload-signal exit 0/);
      expect(all).not.toContain(`in <#${OTHER_CHANNEL}>`);
    }, 120_000);
  });
});

describe('approvals against the lab: dry run, and a stopped php-fpm', () => {
  const db = pgliteDb();
  let store: Store;
  let bot: Bot;

  beforeAll(async () => {
    store = await db.open();
    bot = await startBot(store);
  }, 120_000);

  afterAll(async () => {
    await bot?.stop();
    await store?.close();
    await db.drop();
  });

  it('--dry-run shows the argv and runs nothing; dryRun: true approves without running', async () => {
    const res = await command(bot, 'reload web-lab --dry-run', ASKER);
    expect(res.status).toBe(200);
    const preview = await stub.waitFor(() => stub.calls.filter((c) => c.method === 'respond').find((c) => text(c).includes('Dry run: reload php-fpm on web-lab')), 20_000, 'the preview');
    expect(text(preview)).toMatch(/fpm-reload-signal \d+/);
    expect(text(preview)).toContain('Nothing was run and no approval was requested.');
    expect(await store.listApprovals()).toEqual([]);

    const dry = await startBot(store, { dryRun: true });
    try {
      const before = stub.ok('chat.postMessage').length;
      const reloadsBefore = await reloads();
      await command(dry, 'reload web-lab', ASKER);
      const { value, id, call } = await requestPosted(before);
      expect(text(call)).toContain('(dry run: approving runs nothing)');
      await click(dry, ACTION_APPROVE, value, `req-${id}`, APPROVER);
      expect(text(await outcome(`req-${id}`))).toContain('Nothing was run.');
      expect((await auditOf(store, id)).filter((e) => e.commandId === 'fpm.reload-signal' && e.kind === 'command')).toEqual([]);
      expect(await reloads()).toBe(reloadsBefore);
    } finally {
      await dry.stop();
    }
  }, 120_000);

  it('a php-fpm stopped after the request runs nothing: the facts are read again just before running', async () => {
    const before = stub.ok('chat.postMessage').length;
    await command(bot, 'reload web-lab', ASKER);
    const { value, id } = await requestPosted(before);
    await labHost.lab.stopFpm();
    const reloadsBefore = await reloads();
    await click(bot, ACTION_APPROVE, value, `req-${id}`, APPROVER);
    const said = text(await outcome(`req-${id}`));
    expect(said).toMatch(
      /reload php-fpm on web-lab: failed\*: nothing was run: no running PHP-FPM master was found on web-lab, so there is nothing to reload with fpm.reload-signal \(is PHP-FPM stopped\? Start it on the host\)\. Ask again with `\/502 reload web-lab` once it is clear\./,
    );
    expect(await store.getApproval(id)).toMatchObject({ state: 'failed', outcome: { exitCode: null } });
    expect((await auditOf(store, id)).filter((e) => e.kind === 'command' && e.commandId === 'fpm.reload-signal')).toEqual([]);
    expect(await reloads()).toBe(reloadsBefore);
    // The request message is updated after the outcome is posted: wait for that last update.
    const final = await stub.waitFor(
      () => stub.ok('chat.update').find((c) => c.body.ts === `req-${id}` && text(c).includes('Failed: reload php-fpm on web-lab')),
      20_000,
      'the request message updated to Failed',
    );
    expect(text(final)).toContain('Failed: reload php-fpm on web-lab');
  }, 120_000);
});
