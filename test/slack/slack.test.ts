/**
 * The real Bolt app in HTTP mode on a free port, talking to a local Slack Web API stub. Requests are
 * signed with the signing secret exactly as Slack signs them; assertions are on the recorded Web
 * API calls. Triage results here come from the real analyzers over recorded lab evidence (the
 * triage over real SSH is in triage.test.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServices, type Services } from '../../src/app/services.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/index.js';
import { CAUSE_WORDS } from '../../src/report/chat.js';
import type { Router } from '../../src/router/index.js';
import type { TriageRequest, TriageResult } from '../../src/triage/types.js';
import { testCatalogDir, writeConfig } from '../support/config.js';
import { startHttpBot, type HttpBot } from '../support/slack-bot.js';
import { hostOf, hugeResult, labReport, resultOf } from './fixtures.js';
import { allText, actionBody, clickPayload, post, sign, slashBody, startSlackStub, type SlackStub } from './stub.js';

const SECRET = 'stub-signing-secret-0123456789';
const CHANNEL = 'C0ONCALL';
const USER = 'U0RESPONDER';
const APPROVER = 'U0APPROVER';

let stub: SlackStub;
let app: HttpBot;
let router: Router;
let services: Services;
let url: string;
const triageCalls: TriageRequest[] = [];
const canned = new Map<string, () => Promise<TriageResult>>();

beforeAll(async () => {
  stub = await startSlackStub();
  const config = loadConfig({
    path: writeConfig({
      catalog: testCatalogDir(),
      slack: { channels: [CHANNEL, 'C0NOTMEMBER'], approvers: [APPROVER] },
      hosts: {
        'web-03': { address: '127.0.0.1', port: 9, groups: ['web'] },
        'web-04': { address: '127.0.0.1', port: 9, groups: ['web'] },
        'web-big': { address: '127.0.0.1', port: 9 },
      },
    }),
    env: {},
  });
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'silent' });
  const real = createServices(config, logger);
  // The triage use case answers from recorded lab evidence, run through the real analyzers.
  services = {
    ...real,
    async triage(request) {
      triageCalls.push(request);
      const make = canned.get(request.target);
      if (!make) throw new Error(`no canned result for ${request.target}`);
      request.onProgress?.({ type: 'started', hosts: [request.target] });
      request.onProgress?.({ type: 'phase', host: request.target, phase: 'collect' });
      return make();
    },
  };
  canned.set('web-03', async () => resultOf('web-03', [hostOf(await labReport('fastcgi_read_timeout', 'web-03'), 'web-03')]));
  canned.set('web-big', () => hugeResult('web-big'));
  app = await startHttpBot({ services, logger, apiUrl: stub.apiUrl, signingSecret: SECRET, botToken: 'xoxb-stub-token', updateIntervalMs: 50 });
  router = app.router;
  url = app.url;
});

afterAll(async () => {
  await app?.stop();
  await services?.close();
  await stub?.close();
});

beforeEach(() => {
  stub.reset();
  triageCalls.length = 0;
});

function command(text: string, options: { user?: string; channel?: string; responseId?: string } = {}) {
  const body = slashBody({
    text,
    user_id: options.user ?? USER,
    channel_id: options.channel ?? CHANNEL,
    response_url: stub.responseUrl(options.responseId ?? 'cmd'),
  });
  return post(url, body, sign(SECRET, body));
}

function click(actionId: string, value: string, messageTs: string, user = USER) {
  const body = actionBody(clickPayload({ user, channel: CHANNEL, messageTs, actionId, value, responseUrl: stub.responseUrl('click') }));
  return post(url, body, sign(SECRET, body));
}

const settle = () => new Promise((r) => setTimeout(r, 300));

describe('Slack over HTTP: requests', () => {
  it('rejects a forged or stale signature with 401, and posts nothing', async () => {
    const body = slashBody({ text: 'triage web-03', user_id: USER, channel_id: CHANNEL, response_url: stub.responseUrl('x') });
    const forged = await post(url, body, sign('not-the-secret', body));
    const stale = await post(url, body, sign(SECRET, body, Math.floor(Date.now() / 1000) - 6 * 60));
    const unsigned = await post(url, body, { 'content-type': 'application/x-www-form-urlencoded' });
    const tampered = await post(url, body.replace('web-03', 'web-04'), sign(SECRET, body));
    expect([forged.status, stale.status, unsigned.status, tampered.status]).toEqual([401, 401, 401, 401]);
    await settle();
    expect(stub.calls.filter((c) => c.method !== 'auth.test')).toEqual([]);
    expect(triageCalls).toEqual([]);
  });

  it('refuses a request stamped more than five minutes in the future (a kept request cannot be replayed later)', async () => {
    const body = slashBody({ text: 'hosts', user_id: USER, channel_id: CHANNEL, response_url: stub.responseUrl('future') });
    const now = Math.floor(Date.now() / 1000);
    const ahead = await post(url, body, sign(SECRET, body, now + 6 * 60));
    const skewed = await post(url, body, sign(SECRET, body, now + 60));
    expect(ahead.status).toBe(401);
    expect(skewed.status).toBe(200);
    expect(skewed.json.text ?? JSON.stringify(skewed.json)).toMatch(/host/);
  });

  it("answers adversarial target globs at once, and another command's ack is not held up by them", async () => {
    const hostile = [`triage ${'*'.repeat(24)}Z`, `triage ${'*'.repeat(9)}Z`, `triage ${'*a'.repeat(8)}Z`, `logs ${'?*'.repeat(4)}${'x'.repeat(50)}`];
    const burst = Array.from({ length: 40 }, (_, i) => command(hostile[i % hostile.length]!, { responseId: `glob-${i}` }));
    const hosts = command('hosts', { responseId: 'hosts-during-globs' });
    const [answers, hostsAnswer] = await Promise.all([Promise.all(burst), hosts]);
    expect(hostsAnswer.status).toBe(200);
    // Slack's limit is 3 s; a backtracking matcher took minutes here.
    expect(hostsAnswer.ms).toBeLessThan(2500);
    expect(JSON.stringify(hostsAnswer.json)).toContain('web-03');
    for (const answer of answers) expect(answer.status).toBe(200);
    const replies = answers.map((a) => JSON.stringify(a.json));
    expect(replies.filter((r) => r.includes('a glob may have at most 8'))).toHaveLength(20);
    expect(replies.filter((r) => r.includes('No host matches'))).toHaveLength(20);
    await settle();
    expect(triageCalls).toEqual([]);
  });

  it('answers help and hosts at once, ephemerally, in the acknowledgement', async () => {
    const help = await command('help');
    expect(help.status).toBe(200);
    expect(help.json.response_type).toBe('ephemeral');
    expect(JSON.stringify(help.json.blocks)).toContain('/502 triage TARGET [--since 15m]');
    const hosts = await command('hosts');
    expect(hosts.json.response_type).toBe('ephemeral');
    expect(JSON.stringify(hosts.json.blocks)).toMatch(/web-03\s+127\.0\.0\.1:9\s+@web/);
    const empty = await command('');
    expect(JSON.stringify(empty.json.blocks)).toContain('/502 slowlog HOST');
    await settle();
    expect(stub.ok('chat.postMessage')).toEqual([]);
  });

  it('bad input gets an ephemeral reply saying what was wrong, with the usage; nothing runs', async () => {
    const cases: Array<[string, RegExp]> = [
      ['triage web-3', /Unknown host "web-3"\. Did you mean web-03\?/],
      ['triage wbe-03', /Did you mean web-03\?/],
      ['triag web-03', /Unknown subcommand "triag"\. Did you mean `triage`\?/],
      ['web-03', /Did you mean `\/502 triage web-03`\?/],
      ['reboot web-03', /Unknown subcommand "reboot"/],
      ['triage web-03 --since forever', /--since "forever" is not a duration/],
      ['triage web-03 --since 30d', /longer than 7d/],
      ['triage web-03 --until 5x', /--until "5x" is not a time/],
      ['triage web-03 --verbose', /Unknown option "--verbose"/],
      ['triage web-03;id', /"web-03;id" contains ";"/],
      // Slack sends & escaped; the reply is mrkdwn, where &amp; shows as &.
      ['triage web-03&amp;&amp;id', /"web-03&amp;&amp;id" contains "&amp;"/],
      ['triage $(id)', /contains "\$" "\(" "\)"/],
      ['triage `id`', /contains "`"/],
      ['triage web-03|nc', /contains "\|"/],
      ['triage', /`triage` needs a target/],
      ['logs @web', /`logs` takes one host; "@web" names 2: web-03, web-04/],
      ['fpm web-03 web-04', /takes a host, got "web-03" and "web-04"/],
    ];
    for (const [text, expected] of cases) {
      const res = await command(text);
      expect(res.status, text).toBe(200);
      expect(res.ms, text).toBeLessThan(3000);
      expect(res.json.response_type, text).toBe('ephemeral');
      const shown = allText({ body: res.json.blocks });
      expect(shown, text).toMatch(expected);
      // The usage line of the command typed, never the whole help; an unknown subcommand points at help.
      const usage = { triage: '/502 triage TARGET [--since 15m] [--until TIME]', logs: '/502 logs HOST [--since 15m] [--until TIME]', fpm: '/502 fpm HOST' }[text.split(' ')[0]!];
      expect(shown, text).toContain(usage ?? 'Type `/502 help` for the commands.');
      expect(shown, text).not.toContain(usage === undefined ? '/502 triage TARGET' : '/502 digest');
    }
    await settle();
    expect(triageCalls).toEqual([]);
    expect(stub.calls.filter((c) => c.method !== 'auth.test')).toEqual([]);
  });

  it('refuses politely outside the configured channels, and runs nothing', async () => {
    const res = await command('triage web-03', { channel: 'C0ELSEWHERE' });
    expect(res.status).toBe(200);
    expect(res.json.response_type).toBe('ephemeral');
    expect(JSON.stringify(res.json.blocks)).toContain('Sorry, I only answer in <#C0ONCALL>');
    const dm = await command('help', { channel: 'D0DIRECT' });
    expect(JSON.stringify(dm.json.blocks)).toContain('Sorry');
    await settle();
    expect(triageCalls).toEqual([]);
    expect(stub.ok('chat.postMessage')).toEqual([]);
  });

  it('malformed payloads get a 4xx or a clear reply, never a crash', async () => {
    const garbage = 'payload=%7Bnot-json';
    expect((await post(url, garbage, sign(SECRET, garbage))).status).toBe(400);
    const noUser = slashBody({ text: 'triage web-03', channel_id: CHANNEL });
    const noUserRes = await post(url, noUser, sign(SECRET, noUser));
    expect(noUserRes.status).toBe(200);
    expect(noUserRes.json.text).toMatch(/malformed/);
    // Payloads Bolt cannot route are left unacknowledged: Bolt answers 404 after its 3 s wait.
    const unknownType = actionBody({ type: 'mystery', user: { id: USER } });
    const noActions = actionBody({ type: 'block_actions', user: { id: USER }, channel: { id: CHANNEL }, response_url: stub.responseUrl('bad') });
    const [unknownTypeRes, noActionsRes] = await Promise.all([post(url, unknownType, sign(SECRET, unknownType)), post(url, noActions, sign(SECRET, noActions))]);
    expect(unknownTypeRes.status).toBe(404);
    expect(noActionsRes.status).toBe(404);
    const badValue = await click('bg:evidence', 'r=../../etc;h=$(id)', '1700000000.000100');
    const unknownAction = await click('bg:rm-rf', 'r=abcdef;h=web-03', '1700000000.000100');
    expect([badValue.status, unknownAction.status]).toEqual([200, 200]);
    const replies = await stub.waitFor(() => (stub.ok('respond').length >= 2 ? stub.ok('respond') : null), 5000, 'two ephemeral replies');
    const texts = replies.map(allText).join('\n');
    expect(texts).toContain('carries nothing I can read');
    expect(texts).toContain('is not one I know');
    expect(replies.every((r) => r.body.response_type === 'ephemeral')).toBe(true);
    // Still alive and answering.
    expect((await command('help')).status).toBe(200);
    expect(triageCalls).toEqual([]);
  });
});

describe('Slack over HTTP: a triage', () => {
  it('posts at once, updates in place, and finishes with the verdict, sections and buttons', async () => {
    const res = await command('triage web-03 --since 30m');
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    expect(res.ms).toBeLessThan(3000);
    const posted = await stub.waitFor(() => stub.ok('chat.postMessage')[0], 5000, 'the progress message');
    expect(posted.body.channel).toBe(CHANNEL);
    expect(posted.body.text).toContain('Triage of web-03 running');
    // The triage starts once Slack has answered the post, a moment after the stub saw it.
    expect(await stub.waitFor(() => triageCalls[0], 5000, 'the triage call')).toMatchObject({ target: 'web-03', sinceMs: 30 * 60_000 });
    const final = await stub.waitFor(() => stub.ok('chat.update').find((c) => allText(c).includes('Verdict')), 5000, 'the final message');
    const ts = (await stub.waitFor(() => stub.calls.find((c) => c.method === 'chat.postMessage'))).body;
    expect(final.body.channel).toBe(CHANNEL);
    const blocks = final.body.blocks as Array<Record<string, any>>;
    expect(blocks[0]).toMatchObject({ type: 'header', text: { text: `web-03: ${CAUSE_WORDS.fastcgi_read_timeout}` } });
    const verdict = blocks[1]!.text.text as string;
    expect(verdict).toMatch(/\*Verdict:\*.*`fastcgi_read_timeout`.*confidence \*\d+% \((high|medium|low)\)\*/);
    expect(verdict).toContain('*Fix:*');
    expect(verdict.split('\n').filter((l) => l.startsWith('• ')).length).toBeGreaterThanOrEqual(2);
    const text = allText(final);
    expect(text).toMatch(/502 × \d+ · 504 × \d+/);
    expect(text).toMatch(/per minute \(\d+ min\)\s+requests `[▁▂▃▄▅▆▇█]+`/);
    const actions = blocks.find((b) => b.type === 'actions')!;
    // No runbooks were loaded into this bot: no Start runbook button.
    expect(actions.elements.map((e: { text: { text: string } }) => e.text.text)).toEqual(['Show evidence', 'Reload php-fpm']);
    // Every update went to the message first posted, never a new one.
    const postTs = stub.calls.find((c) => c.method === 'chat.postMessage')!;
    void ts;
    const messageTs = stub.ok('chat.update')[0]!.body.ts as string;
    expect(stub.ok('chat.update').every((c) => c.body.ts === messageTs)).toBe(true);
    expect(stub.ok('chat.postMessage')).toHaveLength(1);
    expect(postTs.status).toBe(200);

    // Show evidence: raw lines in the thread of that message.
    const value = actions.elements[0].value as string;
    await click(actions.elements[0].action_id, value, messageTs);
    const thread = await stub.waitFor(() => stub.ok('chat.postMessage').find((c) => c.body.thread_ts === messageTs) ?? stub.ok('files.completeUploadExternal')[0], 5000, 'the evidence');
    expect(
      allText(thread) +
        stub.calls
          .filter((c) => c.method === 'upload')
          .map((c) => c.raw)
          .join(''),
    ).toMatch(/upstream timed out/);

    // A runbook button from before a restart without runbooks says so; without a store (badgateway start opens one)
    // reloading says so, for anyone.
    await click('bg:runbook', value, messageTs);
    await click(actions.elements[1].action_id, value, messageTs, USER);
    await click(actions.elements[1].action_id, value, messageTs, APPROVER);
    const replies = await stub.waitFor(() => (stub.ok('respond').length >= 3 ? stub.ok('respond') : null), 5000, 'three ephemeral replies');
    const said = replies.map(allText).join('\n');
    expect(said).toContain('Runbooks are not enabled in this badgateway (no runbooks were loaded at start).');
    expect(said).toContain('Reloading php-fpm from chat is not available here: approvals need the bot');
  });

  it('a fan-out answer far over the limits is truncated with a note, not refused; log lines are escaped and scrubbed', async () => {
    const res = await command('triage web-big');
    expect(res.status).toBe(200);
    const final = await stub.waitFor(() => stub.calls.find((c) => c.method === 'chat.update' && allText(c).includes('need attention')), 30_000, 'the final message');
    expect(final.ok).toBe(true);
    const blocks = final.body.blocks as Array<Record<string, any>>;
    expect(blocks.length).toBeLessThanOrEqual(50);
    const text = allText(final);
    expect(text).toContain('Worst first');
    expect(text).toMatch(/truncated|not shown/);
    expect(blocks[blocks.length - 1]!.type).toBe('actions');
    for (const b of blocks) if (b.type === 'section' && b.text) expect(b.text.text.length).toBeLessThanOrEqual(3000);
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('SECRET123');
    expect(stub.calls.filter((c) => !c.ok && c.method !== 'respond')).toEqual([]);

    // Its evidence is too long for a thread reply: it goes up as a file, scrubbed.
    const actions = blocks[blocks.length - 1]!;
    await click(actions.elements[0].action_id, actions.elements[0].value, final.body.ts as string);
    const done = await stub.waitFor(() => stub.ok('files.completeUploadExternal')[0], 30_000, 'the file upload');
    expect(done).toBeTruthy();
    const getUrl = stub.ok('files.getUploadURLExternal')[0]!;
    expect(getUrl.body.filename).toBe('evidence-web-big.txt');
    const bytes = stub.calls
      .filter((c) => c.method === 'upload')
      .map((c) => c.raw)
      .join('');
    expect(bytes).toContain('upstream timed out');
    expect(bytes).not.toContain('SECRET123');
    expect(bytes).toContain('token=[redacted]');
  });

  it("a burst from one user holds five slots and is told when to retry; someone else's triage still runs", async () => {
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    canned.set('web-04', async () => {
      await gate;
      return resultOf('web-04', [hostOf(await labReport('fastcgi_read_timeout', 'web-04'), 'web-04')]);
    });
    try {
      const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => command(`triage web-04 --since ${i + 1}m`, { user: 'U0BURST', responseId: `burst-${i}` })));
      const busy = burst.filter((r) => r.body !== '');
      expect(burst.filter((r) => r.body === '')).toHaveLength(5);
      expect(busy).toHaveLength(7);
      for (const r of busy) expect(JSON.stringify(r.json)).toMatch(/you have 5 commands running already .*please try again in about \d+ (seconds|minutes)/);
      const other = await command('triage web-03', { user: 'U0OTHER', responseId: 'other' });
      expect(other.body).toBe('');
      await stub.waitFor(() => stub.ok('chat.update').find((c) => c.body.channel === CHANNEL && allText(c).includes('web-03') && allText(c).includes('Verdict')), 10_000, "the other user's verdict");
    } finally {
      release();
      await router.idle();
      canned.delete('web-04');
    }
  });

  it('a 429 from Slack is retried after Retry-After and the message still arrives', async () => {
    stub.rateLimit('chat.postMessage', 1, 1);
    stub.rateLimit('chat.update', 1, 1);
    const res = await command('triage web-03');
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(3000);
    const final = await stub.waitFor(() => stub.ok('chat.update').find((c) => allText(c).includes('Verdict')), 30_000, 'the final message after 429s');
    expect(final.body.channel).toBe(CHANNEL);
    const posts = stub.calls.filter((c) => c.method === 'chat.postMessage');
    expect(posts.map((c) => c.status)).toEqual([429, 200]);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(900);
    expect(stub.calls.filter((c) => c.method === 'chat.update' && c.status === 429)).toHaveLength(1);
  });

  it('a channel the bot is not in gets an ephemeral hint, and the triage does not run', async () => {
    const res = await command('triage web-03', { channel: 'C0NOTMEMBER', responseId: 'nm' });
    expect(res.status).toBe(200);
    const reply = await stub.waitFor(() => stub.ok('respond')[0], 5000, 'the hint');
    expect(reply.path).toBe('/respond/nm');
    expect(allText(reply)).toContain('/invite @badgateway');
    expect(triageCalls).toEqual([]);
  });
});
