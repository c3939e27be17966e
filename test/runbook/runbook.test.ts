/**
 * Runbook sessions end to end: the real Bolt app over HTTP (signed requests, the Slack Web API stub),
 * real lab faults (nginx + PHP-FPM) behind a real sshd, the real store (PGlite in a directory) and the
 * real approval flow. Two incidents run at once in one channel; each must take the branch of its
 * diagnosis. Midway the bot is stopped and a new instance on the same store continues the session.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_APPROVE } from '../../src/actions/index.js';
import { createServices, type Services } from '../../src/app/services.js';
import { defaultCatalogDir, defaultRunbooksDir, loadConfig, type Config } from '../../src/config/index.js';
import { createLogger } from '../../src/log/index.js';
import { createRouter, type Router } from '../../src/router/index.js';
import { approvalGateway, createRunbookService, loadRunbooks } from '../../src/runbook/index.js';
import { createSlackApp, type SlackApp } from '../../src/slack/app.js';
import { openStore, type Store } from '../../src/store/index.js';
import { fastcgiReadTimeout, fastcgiReadTimeoutOptions, poolExhausted, poolExhaustedOptions } from '../lab/scenarios.js';
import { writeConfig } from '../support/config.js';
import { hostConfig, startLabHost, type LabHost } from '../support/lab-host.js';
import { freePort } from '../support/sshd.js';
import { allText, actionBody, clickPayload, post, sign, slashBody, startSlackStub, type RecordedCall, type SlackStub } from '../slack/stub.js';

const SECRET = 'stub-signing-secret-runbooks';
const CHANNEL = 'C0ONCALL';
const OTHER_CHANNEL = 'C0OTHER';
const USER = 'U0RESPONDER';
const USER2 = 'U0SECOND';
const STRANGER = 'U0STRANGER';
const APPROVER = 'U0APPROVER';
const ESCALATION = 'S0ESCALATE';

const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'silent', ...(process.env.LOG_LEVEL ? {} : { destination: new Writable({ write: (_c, _e, done) => done() }) }) });

interface Bot {
  store: Store;
  services: Services;
  router: Router;
  app: SlackApp;
  url: string;
  stop(): Promise<void>;
}

let stub: SlackStub;
let config: Config;
let dataDir: string;
let bot: Bot;
const labs: LabHost[] = [];

async function startBot(): Promise<Bot> {
  const store = await openStore({ dataDir });
  const services = createServices(config, logger, { store });
  const runbooks = createRunbookService({ services, store, runbooks: loadRunbooks(defaultRunbooksDir(), services.catalog), logger, actions: approvalGateway(services.actions!) });
  const router = createRouter({ services, logger, runbooks, updateIntervalMs: 50 });
  const port = await freePort();
  const app = createSlackApp({
    router,
    logger,
    mode: { mode: 'http', botToken: 'xoxb-stub-token', signingSecret: SECRET, port, path: '/slack/events', apiUrl: stub.apiUrl },
    retryConfig: { retries: 2, factor: 1, minTimeout: 20, maxTimeout: 50 },
  });
  await app.start();
  return {
    store,
    services,
    router,
    app,
    url: `http://127.0.0.1:${port}/slack/events`,
    async stop() {
      await app.stop();
      await router.close();
      await services.close();
      await store.close();
    },
  };
}

beforeAll(async () => {
  stub = await startSlackStub();
  // Two real faults at once, each on its own lab behind its own sshd.
  const [pool, slow] = await Promise.all([startLabHost(poolExhaustedOptions), startLabHost(fastcgiReadTimeoutOptions)]);
  labs.push(pool, slow);
  await Promise.all([poolExhausted(pool.lab), fastcgiReadTimeout(slow.lab)]);
  const host = (l: LabHost) => ({ ...hostConfig(l.sshd, { accessLog: l.lab.paths.access }), actions: { reload: 'fpm.reload-signal' } });
  config = loadConfig({
    path: writeConfig({
      catalog: defaultCatalogDir(),
      slack: { channels: [CHANNEL, OTHER_CHANNEL], users: [USER, USER2], approvers: [APPROVER], escalationGroup: ESCALATION },
      approvals: { verifyWindow: '0s' },
      hosts: { 'web-pool': host(pool), 'web-slow': host(slow) },
    }),
    env: {},
  });
  dataDir = mkdtempSync(join(tmpdir(), 'badgateway-runbook-store-'));
  bot = await startBot();
}, 120_000);

afterAll(async () => {
  await bot?.stop();
  await stub?.close();
  await Promise.all(labs.map((l) => l.stop()));
});

let responses = 0;

function command(text: string, user = USER) {
  const body = slashBody({ text, user_id: user, channel_id: CHANNEL, response_url: stub.responseUrl(`cmd${++responses}`) });
  return post(bot.url, body, sign(SECRET, body));
}

/** Clicks a button of a message the bot posted (in a thread when threadTs is given); returns the response_url id. */
async function click(actionId: string, value: string, messageTs: string, options: { user?: string; channel?: string; threadTs?: string } = {}): Promise<string> {
  const id = `click${++responses}`;
  const payload = clickPayload({ user: options.user ?? USER, channel: options.channel ?? CHANNEL, messageTs, actionId, value, responseUrl: stub.responseUrl(id) }) as Record<string, any>;
  if (options.threadTs) {
    payload.container.thread_ts = options.threadTs;
    payload.message.thread_ts = options.threadTs;
  }
  const body = actionBody(payload);
  const res = await post(bot.url, body, sign(SECRET, body));
  expect(res.status).toBe(200);
  return id;
}

const tsOf = (call: RecordedCall) => (call.response as { ts: string }).ts;

interface StepMessage {
  ts: string;
  title: string;
  text: string;
  buttons: Record<string, { action_id: string; value: string }>;
}

/** The step messages posted in a thread, in order. */
function steps(threadTs: string): StepMessage[] {
  return stub
    .ok('chat.postMessage')
    .filter((c) => c.body.thread_ts === threadTs)
    .map((c) => {
      const blocks = (c.body.blocks ?? []) as Array<Record<string, any>>;
      const actions = blocks.find((b) => b.type === 'actions');
      const buttons: StepMessage['buttons'] = {};
      for (const e of actions?.elements ?? []) buttons[(e.text.text as string).toLowerCase()] = { action_id: e.action_id, value: e.value };
      const title = /^\*Step \d+ · (.+?)\*/.exec((blocks[0]?.text?.text as string) ?? '')?.[1] ?? '';
      return { ts: tsOf(c), title, text: allText(c), buttons };
    })
    .filter((m) => m.title && m.buttons.done);
}

async function step(threadTs: string, n: number): Promise<StepMessage> {
  return stub.waitFor(() => steps(threadTs)[n - 1], 20_000, `step ${n} in thread ${threadTs}`);
}

async function ephemeral(id: string): Promise<string> {
  return allText(await stub.waitFor(() => stub.ok('respond').find((c) => c.path === `/respond/${id}`), 10_000, `the reply to ${id}`));
}

/** Done on each step until the one whose title matches `stop` is shown; returns every title seen and that step. */
async function walk(threadTs: string, from: number, stop: RegExp | null): Promise<{ titles: string[]; last: StepMessage; next: number }> {
  const titles: string[] = [];
  for (let n = from; ; n++) {
    const current = await step(threadTs, n);
    titles.push(current.title);
    if (stop?.test(current.title)) return { titles, last: current, next: n };
    const before = stub.ok('chat.postMessage').filter((c) => c.body.thread_ts === threadTs).length;
    await click(current.buttons.done!.action_id, current.buttons.done!.value, current.ts, { threadTs });
    await stub.waitFor(() => stub.ok('chat.postMessage').filter((c) => c.body.thread_ts === threadTs).length > before, 20_000, `what follows "${current.title}"`);
    if (!stop && stub.ok('chat.postMessage').some((c) => c.body.thread_ts === threadTs && allText(c).includes('Runbook finished'))) return { titles, last: current, next: n + 1 };
  }
}

describe('runbook sessions in a Slack thread', () => {
  it('walks two incidents at once down the branch of each diagnosis, across a bot restart, with approval, escalation and the timeline', async () => {
    // Incident 1: `/502 runbook web-pool`: a triage message, then the runbook in its thread.
    expect((await command('runbook web-pool')).status).toBe(200);
    const poolParent = await stub.waitFor(() => stub.ok('chat.postMessage').find((c) => !c.body.thread_ts && allText(c).includes('Triage of web-pool')), 10_000, 'the triage of web-pool');
    const poolTs = tsOf(poolParent);
    // Incident 2: a triage, then its "Start runbook" button.
    expect((await command('triage web-slow')).status).toBe(200);
    const slowVerdict = await stub.waitFor(() => stub.ok('chat.update').find((c) => allText(c).includes('Verdict') && allText(c).includes('web-slow')), 30_000, 'the verdict of web-slow');
    expect(allText(slowVerdict)).toContain('fastcgi_read_timeout');
    const slowTs = slowVerdict.body.ts as string;
    const runbookButton = ((slowVerdict.body.blocks as Array<Record<string, any>>).find((b) => b.type === 'actions')!.elements as Array<Record<string, any>>).find(
      (e) => e.text.text === 'Start runbook',
    )!;
    await click(runbookButton.action_id, runbookButton.value, slowTs);

    const poolVerdict = await stub.waitFor(() => stub.ok('chat.update').find((c) => c.body.ts === poolTs && allText(c).includes('Verdict')), 30_000, 'the verdict of web-pool');
    expect(allText(poolVerdict)).toContain('pool_exhausted');
    const start = await stub.waitFor(() => stub.ok('chat.postMessage').find((c) => c.body.thread_ts === poolTs && allText(c).includes('Runbook: 502/504 triage')), 20_000, 'the start message');
    const poolSession = /session `([a-f0-9]+)`/.exec(allText(start))![1]!;

    // The first step comes with its check already run: the access-log view of the triage.
    const observe = await step(poolTs, 1);
    expect(observe.title).toBe('Observe: how many 5xx, since when, which upstream');
    expect(observe.text).toMatch(/Check\* `view access`.*502 x \d+/s);
    expect(Object.keys(observe.buttons)).toEqual(['done', 'skip', 'run again', 'escalate', 'abort']);

    // Incident 2 walks to the end on its own branch while incident 1 waits.
    const slow = await walk(slowTs, 1, null);
    expect(slow.titles).toEqual(
      expect.arrayContaining(['Analyze: the slow log (what the busy workers are stuck in)', 'Locate: PHP is slower than fastcgi_read_timeout', 'Fix: slow requests versus fastcgi_read_timeout']),
    );
    expect(slow.titles.filter((t) => /pool is exhausted|add capacity|request_terminate|crash|PHP-FPM is down/.test(t))).toEqual([]);
    const slowEnd = await stub.waitFor(() => stub.ok('chat.postMessage').find((c) => c.body.thread_ts === slowTs && allText(c).includes('Runbook finished')), 10_000, 'the end of incident 2');
    expect(allText(slowEnd)).toMatch(/\d+ done, 0 skipped, \d+ not applicable/);
    const slowFile = await stub.waitFor(() => stub.ok('files.getUploadURLExternal').find((c) => String(c.body.filename).startsWith('timeline-web-slow-')), 10_000, 'the timeline file of incident 2');
    expect(slowFile.body.filename).toMatch(/^timeline-web-slow-\d{4}-\d{2}-\d{2}-[a-f0-9]+\.md$/);

    // Incident 1: Done up to the pool's Locate step; its check (ss over SSH) shows the lab's socket.
    const toLocate = await walk(poolTs, 1, /^Locate:/);
    expect(toLocate.titles).toEqual([
      'Observe: how many 5xx, since when, which upstream',
      'Analyze: nginx error-log signatures',
      'Analyze: the PHP-FPM pool and its log',
      'Analyze: the slow log (what the busy workers are stuck in)',
      'Locate: the pool is exhausted',
    ]);
    const locate = toLocate.last;
    expect(locate.text).toMatch(/Check\* `host\.listen-queues`.*\$ ss -lnxt.*LISTEN/s);
    // Only people allowed in the channel may move it on, and only from the session's channel.
    expect(await ephemeral(await click(locate.buttons.done!.action_id, locate.buttons.done!.value, locate.ts, { user: STRANGER, threadTs: poolTs }))).toContain('not on the list');
    expect(await ephemeral(await click(locate.buttons.done!.action_id, locate.buttons.done!.value, locate.ts, { channel: OTHER_CHANNEL, threadTs: poolTs }))).toContain('belongs to another channel');

    // The bot restarts: a new instance on the same store continues the session from the same message.
    await bot.stop();
    bot = await startBot();
    expect((await bot.store.getRunbookSession(poolSession))?.status).toBe('active');
    const before = steps(poolTs).length;
    await click(locate.buttons.done!.action_id, locate.buttons.done!.value, locate.ts, { user: USER2, threadTs: poolTs });
    const fix = await step(poolTs, before + 1);
    expect(fix.title).toBe('Fix: add capacity to the pool');
    expect(fix.text).toMatch(/`pm\.max_children` from 2 to \*\d+\*/);
    expect(fix.text).toContain('$ cat /proc/meminfo');
    expect(fix.buttons['request reload php-fpm']).toBeDefined();
    await stub.waitFor(() => stub.ok('chat.update').find((c) => c.body.ts === locate.ts && allText(c).includes(`Done by <@${USER2}>`)), 10_000, 'the locate step marked done');
    // A stale button: that step is over.
    expect(await ephemeral(await click(observe.buttons.done!.action_id, observe.buttons.done!.value, observe.ts, { threadTs: poolTs }))).toContain('already done');

    // The step's action goes through the approval flow, in the thread; an approver approves; it runs.
    await click(fix.buttons['request reload php-fpm']!.action_id, fix.buttons['request reload php-fpm']!.value, fix.ts, { threadTs: poolTs });
    const request = await stub.waitFor(
      () => stub.ok('chat.postMessage').find((c) => c.body.thread_ts === poolTs && allText(c).includes('Approval needed')),
      20_000,
      'the approval request in the thread',
    );
    expect(allText(request)).toContain(`runbook session ${poolSession}`);
    const approve = ((request.body.blocks as Array<Record<string, any>>).find((b) => b.type === 'actions')!.elements as Array<Record<string, any>>).find((e) =>
      e.action_id.startsWith(ACTION_APPROVE),
    )!;
    await click(approve.action_id, approve.value, tsOf(request), { user: APPROVER, threadTs: poolTs });
    const approval = await stub.waitFor(
      () => stub.ok('chat.postMessage').find((c) => c.body.thread_ts === poolTs && /Reload .* on web-pool: (ok|failed)/i.test(allText(c))),
      30_000,
      'the outcome of the reload',
    );
    expect(allText(approval)).toMatch(/: ok/);

    // Escalate mentions the configured user group.
    await click(fix.buttons.escalate!.action_id, fix.buttons.escalate!.value, fix.ts, { threadTs: poolTs });
    const escalation = await stub.waitFor(() => stub.ok('chat.postMessage').find((c) => c.body.thread_ts === poolTs && allText(c).includes('Escalation')), 10_000, 'the escalation');
    expect(allText(escalation)).toContain(`<!subteam^${ESCALATION}>`);

    // Verify: Run again triages the host afresh and updates the step in place.
    const toVerify = await walk(poolTs, steps(poolTs).findIndex((s) => s.ts === fix.ts) + 1, /^Verify:/);
    expect(toVerify.titles).toEqual(['Fix: add capacity to the pool', 'Verify: the 5xx have stopped']);
    const verify = toVerify.last;
    await click(verify.buttons['run again']!.action_id, verify.buttons['run again']!.value, verify.ts, { threadTs: poolTs });
    await stub.waitFor(() => stub.ok('chat.update').find((c) => c.body.ts === verify.ts && allText(c).includes('Check* `view access`')), 30_000, 'the verify step updated');

    // Done to the end: the remaining steps, then the timeline as a Markdown file in the thread.
    const rest = await walk(poolTs, toVerify.next, null);
    expect(rest.titles).toEqual(['Verify: the 5xx have stopped', 'Prevent: the timeout hierarchy', 'Prevent: alerts and capacity']);
    const upload = await stub.waitFor(() => stub.ok('files.getUploadURLExternal').find((c) => String(c.body.filename).includes(poolSession)), 10_000, 'the timeline of incident 1');
    expect(upload.body.filename).toMatch(/^timeline-web-pool-/);
    const timeline = await stub.waitFor(
      () =>
        stub.calls
          .filter((c) => c.method === 'upload')
          .map((c) => c.raw)
          .find((raw) => raw.includes(`session \`${poolSession}\``)),
      10_000,
      'the timeline bytes',
    );
    expect(timeline).toContain('# Incident timeline: web-pool');
    expect(timeline).toMatch(/\*\*Diagnosis:\*\* `pool_exhausted`/);
    expect(timeline).toMatch(new RegExp(`\\d{2}:\\d{2}:\\d{2} \\| @${USER} \\| Runbook "502/504 triage.*" started on web-pool`));
    expect(timeline).toContain(labs[0]!.lab.fpmListen);
    expect(timeline).toMatch(new RegExp(`@${USER2} \\| Step 5 done: Locate: the pool is exhausted`));
    expect(timeline).toMatch(new RegExp(`@${USER} \\| Approval requested for reload php-fpm on web-pool`));
    expect(timeline).toMatch(new RegExp(`@${APPROVER} \\| Reload of php-fpm on web-pool \\(request [a-f0-9]+\\) approved`));
    expect(timeline).toMatch(/Reload of php-fpm on web-pool \(request [a-f0-9]+\) ran: succeeded, exit 0/);
    expect(timeline).toMatch(new RegExp(`@${USER} \\| Escalated at "Fix: add capacity to the pool" to user group ${ESCALATION}`));
    expect(timeline).toContain('~~Locate: PHP is slower than fastcgi_read_timeout~~: not applicable (top cause pool_exhausted');
    expect(timeline).toMatch(new RegExp(`@${USER} \\| Triage re-run: pool_exhausted`));
    expect(timeline).toMatch(/### Locate: the pool is exhausted: `host\.listen-queues` at \d{2}:\d{2}:\d{2} \(ok\)/);
    expect((await bot.store.getRunbookSession(poolSession))?.status).toBe('done');

    // `/502 timeline SESSION` posts it again, on demand.
    const uploads = stub.ok('files.getUploadURLExternal').length;
    expect((await command(`timeline ${poolSession}`)).status).toBe(200);
    await stub.waitFor(() => stub.ok('files.getUploadURLExternal').length > uploads, 10_000, 'the timeline on demand');
  }, 120_000);
});
