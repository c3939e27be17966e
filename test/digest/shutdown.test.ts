/**
 * SIGTERM during a digest, on REAL bot processes (`badgateway start`, Slack HTTP mode against the Web
 * API stub) sharing one store (PostgreSQL when there is one, else one PGlite folder, in turn): the
 * digest reads the lab's REAL nginx/PHP-FPM over REAL SSH and waits on a host that accepts the
 * connection and never answers. The stopping bot drains (shutdown.drainTimeout: 2s), cancels the
 * digest, posts nothing, records the run failed and loses no audit record; the next start posts the
 * digest late, once; the one after posts nothing.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { previousFireTime } from '../../src/digest/index.js';
import { defaultCatalogDir } from '../../src/config/index.js';
import { writeConfig } from '../support/config.js';
import { BotProcesses, type BotProcess } from '../support/bot-process.js';
import { hostConfig, startLabHost, type LabHost } from '../support/lab-host.js';
import { allText, startSlackStub, type SlackStub } from '../slack/stub.js';
import { BACKENDS, type TestDb } from '../store/support.js';

const SECRET = 'digest-shutdown-signing-secret';
const CHANNEL = 'C0DIGEST';
/** Monthly: the slot due now stays the same for the whole test, whatever the date. */
const CRON = '0 0 1 * *';

let stub: SlackStub;
let labHost: LabHost;
let db: TestDb;
let configFile: string;
let hung: Server;
const held = new Set<Socket>();
let bots: BotProcesses;

beforeAll(async () => {
  [stub, labHost] = await Promise.all([startSlackStub(), startLabHost({}, { names: ['web-lab'] })]);
  bots = new BotProcesses({ secret: SECRET, apiUrl: stub.apiUrl });
  // A host that takes the TCP connection and never says a word (a hung machine): the SSH handshake
  // would wait out its 60 s connect timeout.
  hung = createServer((socket) => held.add(socket));
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  const pinned = hostConfig(labHost.sshd, { accessLog: labHost.lab.paths.access });
  configFile = writeConfig({
    catalog: defaultCatalogDir(),
    slack: { channels: [CHANNEL] },
    shutdown: { drainTimeout: '2s' },
    hosts: {
      'web-lab': pinned,
      'web-hung': { ...pinned, port: (hung.address() as { port: number }).port, connectTimeout: '60s' },
    },
    schedules: [{ name: 'monthly', cron: CRON, timezone: 'UTC', channel: CHANNEL, targets: ['web-lab', 'web-hung'] }],
  });
  db = BACKENDS[0]!.make();
  // The last digest the store knows is the one before the slot due now: every instance was down then.
  const store = await db.open();
  const due = previousFireTime(CRON, 'UTC', Date.now())!;
  const older = previousFireTime(CRON, 'UTC', due)!;
  await store.claimDigestRun({ schedule: 'monthly', fireTime: older, owner: 'gone', at: older });
  await store.finishDigestRun('monthly', older, { status: 'posted', at: older + 1000 });
  await store.close();
}, 120_000);

afterAll(async () => {
  await bots?.killAll();
  for (const socket of held) socket.destroy();
  await new Promise((r) => hung?.close(r));
  await db?.drop();
  await stub?.close();
  await labHost?.stop();
});

const startBot = () => bots.start({ BADGATEWAY_CONFIG: configFile, ...db.env });

function logLines(bot: BotProcess): Array<Record<string, unknown>> {
  return bot
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const digestPosts = () => stub.ok('chat.postMessage').filter((c) => /digest of web-lab,web-hung/i.test(allText(c)));

describe('SIGTERM during a digest run', () => {
  it('posts nothing bogus, records the run failed, loses no audit record; the next start posts it late, once', async () => {
    const due = previousFireTime(CRON, 'UTC', Date.now())!;
    const first = await startBot();
    await first.waitForLog(/digest missed while down: posting it late/);
    // The digest is collecting: web-lab's reads over SSH have run, web-hung's handshake hangs.
    await first.waitForLog(/"host":"web-lab".*"msg":"command done"/);
    const stopping = Date.now();
    first.child.kill('SIGTERM');
    expect(await first.exited()).toBe(0);
    // Drained for 2 s, then cancelled: not the 60 s the hung host's handshake would have taken.
    expect(Date.now() - stopping, first.stderr()).toBeLessThan(30_000);
    const firstLog = logLines(first);
    expect(firstLog.some((l) => l.msg === 'drain timeout: cancelling what is still running')).toBe(true);
    expect(firstLog.find((l) => l.msg === 'digest cancelled: nothing posted')).toMatchObject({ schedule: 'monthly', cancelled: 'stopping' });
    // Nothing was posted: no digest built from cancelled reads ("0/2 hosts reached"), no progress message either.
    expect(stub.ok('chat.postMessage')).toEqual([]);
    // No audit record was lost and the store was not closed under anyone.
    expect(first.stderr()).not.toMatch(/could not write the audit record|Cannot use a pool|could not record/);
    const started = firstLog.filter((l) => l.msg === 'command').length;
    expect(started).toBeGreaterThan(0);

    let store = await db.open();
    try {
      const [run] = await store.listDigestRuns({ schedule: 'monthly', limit: 1 });
      expect(run).toMatchObject({ fireTime: due, status: 'failed', detail: { cancelled: 'stopping' } });
      const audited = await store.listAudit({ kind: 'command', limit: 10_000 });
      // Every command the bot started is on record (and the ones cancelled before they started too).
      expect(audited.length).toBeGreaterThanOrEqual(started);
      expect(audited.filter((e) => e.host === 'web-lab' && e.event === 'ran').length).toBeGreaterThan(0);
      expect(audited.filter((e) => e.host === 'web-hung').map((e) => e.detail?.error)).toContainEqual(expect.stringMatching(/cancelled/));
    } finally {
      await store.close();
    }

    // The hung host is gone (refused now); the next start posts the cut-off digest, late, once.
    for (const socket of held) socket.destroy();
    await new Promise((r) => hung.close(r));
    const second = await startBot();
    const late = await stub.waitFor(() => digestPosts()[0], 90_000, 'the digest posted late');
    expect(allText(late)).toMatch(/Posted late: the digest due .* \(UTC\) was cut off when badgateway restarted/);
    await second.waitForLog(/"msg":"digest posted"/);
    second.child.kill('SIGTERM');
    expect(await second.exited()).toBe(0);

    const third = await startBot();
    await third.waitForLog(/digest catch-up: nothing missed/);
    third.child.kill('SIGTERM');
    expect(await third.exited()).toBe(0);
    expect(digestPosts()).toHaveLength(1);
    store = await db.open();
    try {
      const runs = await store.listDigestRuns({ schedule: 'monthly' });
      expect(runs.map((r) => [r.fireTime, r.status])).toEqual([
        [due, 'posted'],
        [previousFireTime(CRON, 'UTC', due)!, 'posted'],
      ]);
      expect(runs[0]!.detail).toMatchObject({ late: true });
    } finally {
      await store.close();
    }
  }, 240_000);
});
