/**
 * Digests end to end, on real components: OpenSSH in front of the real nginx + PHP-FPM lab driven into
 * pool exhaustion, triaged over SSH; two bot instances (each its own Bolt app and its own store
 * connection) on one REAL PostgreSQL in a schema of their own; the Slack Web API stub recording what
 * was posted. Schedules are fired by a ManualTrigger (the fake clock), not by waiting.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices, type Services } from '../../src/app/services.js';
import { defaultCatalogDir, loadConfig, type Config, type Schedule } from '../../src/config/index.js';
import { DigestScheduler, ManualTrigger, createDigests, pngSize, previousFireTime, responderDigestPoster, storedDigestOf, toStored, type Digests } from '../../src/digest/index.js';
import { createLogger, type Logger } from '../../src/log/index.js';
import { createRouter, type Router } from '../../src/router/index.js';
import { createSlackApp, type SlackApp } from '../../src/slack/app.js';
import type { Store } from '../../src/store/index.js';
import { startLab, sleep, type Lab } from '../lab/lab.js';
import { poolExhausted, poolExhaustedOptions } from '../lab/scenarios.js';
import { REPO_ROOT, writeConfig } from '../support/config.js';
import { hostConfig } from '../support/lab-host.js';
import { freePort, startSshd, type TestSshd } from '../support/sshd.js';
import { HAS_POSTGRES, postgresDb, type TestDb } from '../store/support.js';
import { allText, post, sign, slashBody, startSlackStub, type SlackStub } from '../slack/stub.js';

const CHANNEL = 'C0DIGEST';
const SECRET = 'digest-signing-secret-0123456789';
const ZONE = 'Europe/Berlin';

const silent = () => createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });

/** A logger whose lines the test can read. */
function capturingLogger(): { logger: Logger; lines: () => string[] } {
  const out: string[] = [];
  const logger = createLogger({
    level: 'info',
    destination: new Writable({
      write(chunk, _e, done) {
        out.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    }),
  });
  return { logger, lines: () => out };
}

interface Instance {
  store: Store;
  services: Services;
  digests: Digests;
  router: Router;
  bot: SlackApp;
  trigger: ManualTrigger;
  scheduler: DigestScheduler;
  url: string;
}

let sshd: TestSshd;
let lab: Lab;
let stub: SlackStub;
let db: TestDb;
let config: Config;
let configFile: string;
const instances: Instance[] = [];
const schedule = (): Schedule => config.schedules.find((s) => s.name === 'hourly')!;

async function instance(options: { logger?: Logger; schedules?: Schedule[]; store?: Store } = {}): Promise<Instance> {
  const logger = options.logger ?? silent();
  const store = options.store ?? (await db.open());
  const services = createServices(config, logger);
  const digests = createDigests({ triage: services.triage, store, logger });
  const router = createRouter({ services, logger, digests, updateIntervalMs: 50 });
  const port = await freePort();
  const bot = createSlackApp({
    router,
    logger,
    mode: { mode: 'http', botToken: 'xoxb-stub-token', signingSecret: SECRET, port, path: '/slack/events', apiUrl: stub.apiUrl },
    retryConfig: { retries: 2, factor: 1, minTimeout: 20, maxTimeout: 50 },
  });
  await bot.start();
  const trigger = new ManualTrigger();
  const scheduler = new DigestScheduler({
    schedules: options.schedules ?? config.schedules,
    digests,
    poster: responderDigestPoster((channel) => bot.channelResponder(channel)),
    logger,
    trigger,
  });
  const made = { store, services, digests, router, bot, trigger, scheduler, url: `http://127.0.0.1:${port}/slack/events` };
  instances.push(made);
  return made;
}

/** Waits until the FPM pool answers its status page with no worker busy but the one answering. */
async function poolIdle(): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const s = await lab.fpmStatus('', 1000);
    if (s.ok && /active processes:\s+1\b/.test(s.text)) return;
    await sleep(250);
  }
  throw new Error('the lab pool did not go idle');
}

const text = allText;

beforeAll(async () => {
  [sshd, lab, stub] = await Promise.all([startSshd(), startLab(poolExhaustedOptions), startSlackStub()]);
  const pinned = hostConfig(sshd, { accessLog: lab.paths.access });
  configFile = writeConfig({
    catalog: defaultCatalogDir(),
    slack: { channels: [CHANNEL] },
    hosts: {
      'web-1': { ...pinned, groups: ['web'] },
      'web-2': { ...pinned, groups: ['web'] },
      'web-down': { ...pinned, port: await freePort(), connectTimeout: '2s', groups: ['web'] },
    },
    schedules: [
      { name: 'hourly', cron: '0 * * * *', timezone: ZONE, channel: CHANNEL, targets: ['@web'] },
      { name: 'catchup', cron: '0 * * * *', timezone: ZONE, channel: CHANNEL, targets: ['web-1'] },
    ],
  });
  config = loadConfig({ path: configFile, env: {} });
  db = postgresDb();
  // Real traffic and a real pool exhaustion: 502s (EAGAIN), 504s, "server reached pm.max_children".
  await poolExhausted(lab);
  await poolIdle();
}, 120_000);

afterAll(async () => {
  for (const i of instances) {
    await i.scheduler.stop();
    await i.bot.stop();
    await i.router.close();
    await i.services.close();
    await i.store.close();
  }
  await db?.drop();
  await Promise.all([lab?.stop(), sshd?.stop(), stub?.close()]);
});

describe.skipIf(!HAS_POSTGRES)('scheduled digests', () => {
  let first: Awaited<ReturnType<DigestScheduler['run']>>;

  it('a fired schedule is posted once by two instances sharing PostgreSQL: one message, one chart', async () => {
    const [a, b] = [await instance(), await instance()];
    await Promise.all([a.scheduler.start(), b.scheduler.start()]);
    stub.reset();
    const fireTime = previousFireTime(schedule().cron, ZONE, Date.now())!;
    const outcomes = await Promise.all([a.trigger.fire('hourly', fireTime), b.trigger.fire('hourly', fireTime)]);
    const statuses = outcomes.map((o) => (o as { status: string }).status).sort();
    expect(statuses).toEqual(['claimed-elsewhere', 'posted']);
    first = outcomes.find((o) => (o as { status: string }).status === 'posted') as typeof first;

    const posts = stub.ok('chat.postMessage');
    expect(posts).toHaveLength(1);
    expect(posts[0]!.body.channel).toBe(CHANNEL);
    expect(text(posts[0]!)).toMatch(/hourly digest of @web: 3 of 3 hosts need attention/);
    expect(text(posts[0]!)).toMatch(/Could not reach/);
    // filesUploadV2: the upload URL, the bytes, the completion (to the channel, not a thread).
    expect(stub.ok('files.getUploadURLExternal')).toHaveLength(1);
    const uploads = stub.calls.filter((c) => c.method === 'upload');
    expect(uploads).toHaveLength(1);
    expect(uploads[0]!.raw).toContain('PNG');
    expect(uploads[0]!.raw).toContain('IHDR');
    const complete = stub.ok('files.completeUploadExternal');
    expect(complete).toHaveLength(1);
    expect(complete[0]!.body.channel_id).toBe(CHANNEL);
    expect(complete[0]!.body.thread_ts).toBeUndefined();

    // History: one posted run, its digest kept for the next comparison.
    const runs = await a.store.listDigestRuns({ schedule: 'hourly' });
    expect(runs.map((r) => r.status)).toEqual(['posted']);
    expect(storedDigestOf(runs[0]!)?.fireTime).toBe(fireTime);
  });

  it('carries the numbers of the triage report (AccessStats) over the real lab logs', async () => {
    const d = first.digest!;
    const result = first.result!;
    expect(result.window).toMatchObject(d.window);
    for (const name of ['web-1', 'web-2']) {
      const a = result.hosts.find((h) => h.host === name)!.report!.access!;
      expect(a.count502).toBeGreaterThan(0);
      expect(a.count504).toBeGreaterThan(0);
      const h = d.hosts.find((x) => x.host === name)!;
      expect({ requests: h.requests, c502: h.count502, c504: h.count504, rate: h.rate5xx, p95: h.p95, p99: h.p99 }).toEqual({
        requests: a.requests,
        c502: a.count502,
        c504: a.count504,
        rate: a.rate5xx,
        p95: a.upstreamResponseTime.p95,
        p99: a.upstreamResponseTime.p99,
      });
      expect(h.topUris.map((u) => u.uri)).toEqual(a.topFailingUris.slice(0, 5).map((u) => u.uri));
      expect(h.topCause?.id).toBe('pool_exhausted');
    }
    const reports = result.hosts.filter((h) => h.report).map((h) => h.report!.access!);
    const sum = (f: (a: (typeof reports)[number]) => number) => reports.reduce((n, a) => n + f(a), 0);
    expect(d.fleet.requests).toBe(sum((a) => a.requests));
    expect(d.fleet.count502).toBe(sum((a) => a.count502));
    expect(d.fleet.count504).toBe(sum((a) => a.count504));
    expect(d.fleet.rate5xx).toBeCloseTo(sum((a) => a.count5xx) / sum((a) => a.requests), 10);
    expect(d.hourly.reduce((n, b) => n + b.requests, 0)).toBe(d.fleet.requests);
    expect(d.fleet.worstHour!.count502 + d.fleet.worstHour!.count504).toBeLessThanOrEqual(d.fleet.count502 + d.fleet.count504);
    expect(d.fleet.worstHour!.count502 + d.fleet.worstHour!.count504).toBeGreaterThan(0);
    expect(d.unreachable.map((u) => u.host)).toEqual(['web-down']);
    // The status page's counter, as the triage read it.
    const status = result.hosts.find((h) => h.host === 'web-1')!.report!.fpm.status!;
    expect(d.hosts.find((h) => h.host === 'web-1')!.fpm!.maxChildrenTotal).toBe(status.maxChildrenReached);
    expect(status.maxChildrenReached).toBeGreaterThan(0);
  });

  it('the next digest covers the time since the previous one, with FPM counter deltas against it', async () => {
    const a = instances[0]!;
    const before = toStored(first.digest!, first.digest!.window.to);
    // FPM counts a max_children episode once until the pool can grow again, so a second flood on the same
    // pool would not move the counter: restart the pool (new start time), then exhaust it again.
    await lab.stopFpm('SIGTERM');
    await lab.startFpm();
    await lab.requestMany('/sleep.php?s=3', 12, 12);
    await poolIdle();
    stub.reset();
    const outcome = (await a.trigger.fire('hourly', first.fireTime + 3_600_000)) as typeof first;
    expect(outcome.status).toBe('posted');
    const d = outcome.digest!;
    expect(d.previousTo).toBe(first.digest!.window.to);
    expect(Math.abs(d.window.from - first.digest!.window.to)).toBeLessThan(5000);
    const web1 = d.hosts.find((h) => h.host === 'web-1')!;
    const baseline = before.hosts['web-1']!.counters!;
    expect(web1.counters!.startTime).not.toBe(baseline.startTime);
    expect(web1.fpm).toMatchObject({ restarted: true, maxChildrenSinceLast: web1.counters!.maxChildrenReached });
    expect(web1.fpm!.maxChildrenSinceLast).toBeGreaterThan(0);
    expect(d.change?.requests?.before).toBe(first.digest!.fleet.requests);
    const message = text(stub.ok('chat.postMessage')[0]!);
    expect(message).toMatch(/max children reached \+\d+ since the last digest \(pool restarted\)/);
    // The arrow follows the change against the previous digest, whichever way this run's traffic went
    // (the triages' own status-page requests land in the access log too).
    const change = d.fleet.requests > first.digest!.fleet.requests ? '▲ [\\d.]+%' : d.fleet.requests < first.digest!.fleet.requests ? '▼ [\\d.]+%' : '=';
    expect(message).toMatch(new RegExp(`requests [\\d,]+ ${change}`));
  });

  it('skips a run that overlaps the previous one of the same schedule, with a log line', async () => {
    const { logger, lines } = capturingLogger();
    const one = await instance({ logger, store: await db.open() });
    await one.scheduler.start();
    const slot = first.fireTime + 7_200_000;
    const [x, y] = await Promise.all([one.trigger.fire('hourly', slot), one.trigger.fire('hourly', slot + 60_000)]);
    expect([(x as { status: string }).status, (y as { status: string }).status]).toEqual(['posted', 'overlap']);
    expect(lines().some((l) => /digest skipped: the previous run of this schedule is still going/.test(l) && l.includes('"schedule":"hourly"'))).toBe(true);
  });

  it('posts a digest missed while every instance was down once, late, with a note', async () => {
    const catchup = config.schedules.find((s) => s.name === 'catchup')!;
    const due = previousFireTime(catchup.cron, ZONE, Date.now())!;
    const older = previousFireTime(catchup.cron, ZONE, due)!;
    // The last run the store knows is the one before `due`: nobody ran at `due`.
    const seed = await db.open();
    await seed.claimDigestRun({ schedule: 'catchup', fireTime: older, owner: 'gone', at: older });
    const stored = { ...toStored(first.digest!, first.digest!.window.to), schedule: 'catchup', target: 'web-1', fireTime: older };
    await seed.finishDigestRun('catchup', older, { status: 'posted', at: older + 1000, detail: { digest: stored } });
    await seed.close();

    stub.reset();
    const [c, d] = [await instance({ schedules: [catchup] }), await instance({ schedules: [catchup] })];
    const outcomes = (await Promise.all([c.scheduler.start(), d.scheduler.start()])).flat();
    // One posts it. The other either lost the claim or, listing the runs after the claim landed, found
    // the slot taken and had nothing to catch up (which of the two depends on the timing).
    const statuses = outcomes.map((o) => o.status).sort();
    expect([['claimed-elsewhere', 'posted'], ['posted']]).toContainEqual(statuses);
    const late = outcomes.find((o) => o.status === 'posted')!;
    expect(late.fireTime).toBe(due);
    expect(late.late).toBe(true);
    const posts = stub.ok('chat.postMessage');
    expect(posts).toHaveLength(1);
    expect(text(posts[0]!)).toMatch(/Posted late: the digest due .* was missed while no badgateway instance was running/);
    // A third start finds the run in place: nothing more.
    const e = await instance({ schedules: [catchup] });
    expect(await e.scheduler.start()).toEqual([]);
    expect(stub.ok('chat.postMessage')).toHaveLength(1);
  });
});

describe.skipIf(!HAS_POSTGRES)('asked for', () => {
  it('/502 digest TARGET posts one now through the Slack app, with the chart; a bad target runs nothing', async () => {
    const a = instances[0]!;
    stub.reset();
    const body = slashBody({ text: 'digest web-1 --since 2h', user_id: 'U0ONCALL', channel_id: CHANNEL, response_url: stub.responseUrl('digest') });
    const res = await post(a.url, body, sign(SECRET, body));
    expect(res.status).toBe(200);
    const final = await stub.waitFor(() => stub.ok('chat.update').find((c) => /Digest of web-1: \d+ of 1 host/.test(text(c))), 30_000, 'the digest');
    expect(text(final)).toMatch(/502 × [\d,]+/);
    await stub.waitFor(() => stub.ok('files.completeUploadExternal')[0], 10_000, 'the chart upload');
    expect(stub.ok('chat.postMessage')).toHaveLength(1);

    stub.reset();
    const bad = slashBody({ text: 'digest web-99', user_id: 'U0ONCALL', channel_id: CHANNEL, response_url: stub.responseUrl('bad') });
    const refused = await post(a.url, bad, sign(SECRET, bad));
    expect(refused.status).toBe(200);
    expect(JSON.stringify(refused.json)).toMatch(/web-99/);
    await sleep(200);
    expect(stub.ok('chat.postMessage')).toHaveLength(0);
  });

  it('badgateway digest TARGET prints one in the terminal and writes the chart', () => {
    const chart = join(mkdtempSync(join(tmpdir(), 'badgateway-digest-')), 'chart.png');
    const bin = join(REPO_ROOT, 'bin', 'badgateway.js');
    const run = spawnSync(process.execPath, [bin, 'digest', 'web-1', '--since', '2h', '--timezone', ZONE, '--chart', chart, '--config', configFile], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, LOG_LEVEL: '' },
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/== Digest of web-1: 1 of 1 host needs attention ==/);
    expect(run.stdout).toMatch(/requests ▁*[▁-█]+/);
    expect(run.stdout).toMatch(/web-1 +[\d,]+ +[\d,]+ +[\d,]+/);
    expect(pngSize(readFileSync(chart))).toEqual({ width: 1000, height: 440 });
  });
});
