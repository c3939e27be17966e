/**
 * A reload verified by identity, not by pid, against a REAL PHP-FPM started as sysvinit scripts start
 * it (`daemonize = yes`, no -F): SIGUSR2 re-executes the master, which forks again under a new pid.
 * The lab's master is reached over REAL SSH, the request is approved through REAL Bolt apps sharing
 * one store (PostgreSQL when there is one, else PGlite), and the lab's own pid file says which
 * master runs. systemd is not available on this machine, so `systemctl reload` is not run here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_APPROVE } from '../../src/actions/index.js';
import { judgeMaster } from '../../src/actions/verify.js';
import { findMaster, masterHint } from '../../src/collect/fpm-identity.js';
import { discoverHost } from '../../src/collect/discover.js';
import { defaultCatalogDir, loadConfig, type Config } from '../../src/config/index.js';
import { createLogger } from '../../src/log/index.js';
import type { Store } from '../../src/store/index.js';
import { writeConfig } from '../support/config.js';
import { hostConfig, startLabHost, type LabHost } from '../support/lab-host.js';
import { startSlackStub, type SlackStub } from '../slack/stub.js';
import { BACKENDS, type TestDb } from '../store/support.js';
import { APPROVER, ASKER, CHANNEL, auditOf, botKit, reloadsLogged, text, type Bot, type BotKit } from './bots.js';

const SECRET = 'identity-signing-secret';
const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'silent' });

let stub: SlackStub;
let labHost: LabHost;
let config: Config;
let kit: BotKit;
let db: TestDb;
let storeA: Store;
let storeB: Store;
let botA: Bot;
let botB: Bot;

const reloads = () => reloadsLogged(labHost.lab);

beforeAll(async () => {
  [stub, labHost] = await Promise.all([startSlackStub(), startLabHost({ fpmDaemonize: true }, { names: ['web-lab'] })]);
  kit = botKit({ stub, secret: SECRET, channel: CHANNEL, logger });
  config = loadConfig({
    path: writeConfig({
      catalog: defaultCatalogDir(),
      slack: { channels: [CHANNEL], approvers: [APPROVER] },
      approvals: { expiry: '15m', verifyWindow: '0s', verifyTimeout: '20s' },
      hosts: { 'web-lab': { ...hostConfig(labHost.sshd, { accessLog: labHost.lab.paths.access }), actions: { reload: 'fpm.reload-signal' } } },
    }),
    env: {},
  });
  db = BACKENDS[0]!.make();
  storeA = await db.open();
  // Two replicas: their own pool on PostgreSQL; the embedded store is one process's, so they share it.
  storeB = db.name === 'postgres' ? await db.open() : storeA;
  [botA, botB] = await Promise.all([kit.start(storeA, config), kit.start(storeB, config)]);
}, 120_000);

afterAll(async () => {
  await botA?.stop();
  await botB?.stop();
  await storeA?.close();
  if (storeB !== storeA) await storeB?.close();
  await db?.drop();
  await stub?.close();
  await labHost?.stop();
});

describe('a daemonized PHP-FPM master (daemonize = yes)', () => {
  it('a reload approved against it is reported ok, with the new master pid; it ran once', async () => {
    const before = stub.ok('chat.postMessage').length;
    const master = labHost.lab.fpmMasterPid()!;
    expect(master).toBeGreaterThan(0);
    await kit.command(botA, 'reload web-lab', ASKER);
    const { value, id, call } = await kit.requestPosted(before);
    expect(text(call)).toMatch(new RegExp(`fpm-reload-signal ${master}\\b`));
    const reloadsBefore = await reloads();
    const ts = `req-${id}`;
    await kit.click(botB, ACTION_APPROVE, value, ts, APPROVER);
    const said = text(await kit.outcome(ts));

    const now = labHost.lab.fpmMasterPid()!;
    expect(now).toBeGreaterThan(0);
    expect(now).not.toBe(master);
    expect(said).toMatch(/reload php-fpm on web-lab: ok\* \(exit 0, \d+ ms\), verified/);
    expect(said).toMatch(
      new RegExp(
        `✓ \\*php-fpm master\\*: master ${master} → ${now} \\(re-executed and daemonized again, started \\d\\d:\\d\\d:\\d\\d UTC\\), kept its listen socket ${labHost.lab.fpmListen}, workers \\d+ → \\d+, \\d+ new; ${labHost.lab.dir}/php-fpm.pid names ${now}`,
      ),
    );
    // The catalog's own check ran against the master found now, not the pid that was signalled.
    expect(said).toContain(`✓ *fpm.master-state*: master ${now} active; workers:`);
    expect(said).not.toMatch(/does not run/);
    expect(await storeA.getApproval(id)).toMatchObject({ state: 'succeeded', outcome: { exitCode: 0 } });
    const runs = (await auditOf(storeA, id)).filter((e) => e.kind === 'command' && e.commandId === 'fpm.reload-signal');
    expect(runs).toHaveLength(1);
    expect(await reloads()).toBe(reloadsBefore + 1);
    // It keeps serving PHP through nginx.
    expect((await labHost.lab.request('/ok.php')).status).toBe(200);
    const done = await stub.waitFor(() => stub.ok('chat.update').find((c) => c.body.ts === ts && text(c).includes('Done: reload php-fpm on web-lab')), 20_000, 'Done');
    expect(text(done)).toContain('verified');
  }, 120_000);

  it('two replicas: after a reload on one, the other discovers the host again (the store says it changed) and its request names the current pid', async () => {
    const host = config.hosts[0]!;
    const ctxOf = (bot: Bot) => ({ executor: bot.services.executor, catalog: bot.services.catalog, host });
    // B has the host in its discovery cache (a triage would have put it there).
    const cachedB = await botB.services.discovery.discover(ctxOf(botB));
    const old = labHost.lab.fpmMasterPid()!;
    expect(cachedB.fpmMaster?.pid).toBe(old);
    expect(await botB.services.discovery.discover(ctxOf(botB))).toBe(cachedB);

    let before = stub.ok('chat.postMessage').length;
    await kit.command(botA, 'reload web-lab', ASKER);
    const asked = await kit.requestPosted(before);
    await kit.click(botA, ACTION_APPROVE, asked.value, `req-${asked.id}`, APPROVER);
    expect(text(await kit.outcome(`req-${asked.id}`))).toMatch(/reload php-fpm on web-lab: ok/);
    const current = labHost.lab.fpmMasterPid()!;
    expect(current).not.toBe(old);

    // B did not run the reload, yet its cached discovery is stale: the store's generation of web-lab moved.
    expect(await storeB.hostGeneration('web-lab')).toBeGreaterThan(0);
    const rediscovered = await botB.services.discovery.discover(ctxOf(botB));
    expect(rediscovered).not.toBe(cachedB);
    expect(rediscovered.fpmMaster?.pid).toBe(current);

    before = stub.ok('chat.postMessage').length;
    await kit.command(botB, 'reload web-lab', ASKER);
    const { call, id } = await kit.requestPosted(before);
    expect(text(call)).toMatch(new RegExp(`fpm-reload-signal ${current}\\b`));
    expect(await storeA.getApproval(id)).toMatchObject({ params: { pid: current } });
  }, 120_000);

  it('fresh facts: a request names the master running now, whatever is cached; one that changed before the approval runs nothing and says what changed', async () => {
    const host = config.hosts[0]!;
    await botA.services.discovery.discover({ executor: botA.services.executor, catalog: botA.services.catalog, host });
    // Restarted behind the bot's back (no action of the bot, so nothing tells the cache).
    await labHost.lab.stopFpm();
    await labHost.lab.startFpm();
    const restarted = labHost.lab.fpmMasterPid()!;
    expect(botA.services.discovery.get('web-lab')?.fpmMaster?.pid).not.toBe(restarted);
    let before = stub.ok('chat.postMessage').length;
    await kit.command(botA, 'reload web-lab', ASKER);
    const asked = await kit.requestPosted(before);
    expect(text(asked.call)).toMatch(new RegExp(`fpm-reload-signal ${restarted}\\b`));

    // Restarted again between the request and the approval: the approved pid is not the master any more.
    await labHost.lab.stopFpm();
    await labHost.lab.startFpm();
    const again = labHost.lab.fpmMasterPid()!;
    const reloadsBefore = await reloads();
    before = stub.ok('chat.postMessage').length;
    await kit.click(botB, ACTION_APPROVE, asked.value, `req-${asked.id}`, APPROVER);
    const said = text(await kit.outcome(`req-${asked.id}`));
    expect(said).toContain(
      `failed*: nothing was run: the PHP-FPM master of web-lab is now pid ${again} (was ${restarted}: it was restarted, or reloaded as a daemon) since the request. Check the host, then ask again with \`/502 reload web-lab\`.`,
    );
    expect((await auditOf(storeA, asked.id)).filter((e) => e.kind === 'command' && e.commandId === 'fpm.reload-signal')).toEqual([]);
    expect(await reloads()).toBe(reloadsBefore);
    expect(labHost.lab.fpmMasterPid()).toBe(again);
    expect(await storeA.getApproval(asked.id)).toMatchObject({ state: 'failed' });
  }, 120_000);

  it('identity tells a restart (a new master) from a reload and from nothing at all, on the real master', async () => {
    const host = config.hosts[0]!;
    const ctx = { executor: botA.services.executor, catalog: botA.services.catalog, host };
    const discovery = await discoverHost(ctx);
    const hint = masterHint(discovery);
    expect(hint.conf).toBe(labHost.lab.paths.fpmConf);
    expect(hint.listen).toBe(labHost.lab.fpmListen);
    const before = (await findMaster(ctx, hint)).master!;
    expect(before.pid).toBe(labHost.lab.fpmMasterPid());
    expect(before.socket?.local).toBe(labHost.lab.fpmListen);
    expect(before.pidFile).toEqual({ path: `${labHost.lab.dir}/php-fpm.pid`, names: before.pid });
    expect(before.startedAt).toEqual(expect.any(Number));

    // Nothing happened: neither a restart nor a reload.
    const same = (await findMaster(ctx, hint)).master!;
    expect(judgeMaster('restart', before, same, hint)).toMatchObject({ ok: false, detail: expect.stringContaining('was not restarted') });
    if (before.workers.length > 0) expect(judgeMaster('reload', before, same, hint)).toMatchObject({ ok: false, detail: expect.stringContaining('did not take effect') });

    // A real restart: stopped (FPM removes its socket) and started again.
    await labHost.lab.stopFpm();
    expect(judgeMaster('restart', before, (await findMaster(ctx, hint)).master, hint)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^no PHP-FPM master of .* runs now \(was pid \d+\)$/),
    });
    await labHost.lab.startFpm();
    const after = (await findMaster(ctx, hint)).master!;
    expect(after.pid).toBe(labHost.lab.fpmMasterPid());
    expect(judgeMaster('restart', before, after, hint)).toMatchObject({ ok: true, detail: expect.stringContaining(`new master ${after.pid} (was ${before.pid}`) });
    // Read as a reload it kept serving, but not gracefully: the listen socket is a new one.
    expect(judgeMaster('reload', before, after, hint).detail).toContain(`listen socket ${labHost.lab.fpmListen} is a new one`);
  }, 120_000);
});
