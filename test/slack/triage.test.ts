/**
 * End to end over the real things: a slash command to the real Bolt app (HTTP mode, signed), the
 * real router and triage over real SSH (test/support/sshd.ts) into a real nginx + PHP-FPM lab
 * driven into a real fault, answered through a local Slack Web API stub.
 */
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices } from '../../src/app/services.js';
import { createRouter } from '../../src/router/index.js';
import { createSlackApp } from '../../src/slack/app.js';
import { freePort } from '../support/sshd.js';
import { loadConfig } from '../../src/config/index.js';
import { RESTARTING } from '../../src/router/messages.js';
import { writeConfig } from '../support/config.js';
import { hostConfig } from '../support/lab-host.js';
import { createLogger } from '../../src/log/index.js';
import { CAUSE_WORDS } from '../../src/report/chat.js';
import { fastcgiReadTimeout, fastcgiReadTimeoutOptions } from '../lab/scenarios.js';
import { startLabHost, type LabHost } from '../support/lab-host.js';
import { startHttpBot, type HttpBot } from '../support/slack-bot.js';
import { post, sign, slashBody, startSlackStub, type RecordedCall, type SlackStub } from './stub.js';

const SECRET = 'lab-signing-secret';
const CHANNEL = 'C0LAB';

let stub: SlackStub;
let labHost: LabHost;
let app: HttpBot;
let url: string;

beforeAll(async () => {
  [stub, labHost] = await Promise.all([startSlackStub(), startLabHost(fastcgiReadTimeoutOptions, { names: ['web-lab'] })]);
  await fastcgiReadTimeout(labHost.lab);
  app = await startHttpBot({ config: labHost.config, apiUrl: stub.apiUrl, signingSecret: SECRET, botToken: 'xoxb-lab', updateIntervalMs: 200 });
  url = app.url;
}, 120_000);

afterAll(async () => {
  await app?.stop();
  await stub?.close();
  await labHost?.stop();
});

function command(text: string, n = 0, user = 'U0ONCALL') {
  const body = slashBody({ text, user_id: user, channel_id: CHANNEL, response_url: stub.responseUrl(`lab-${n}`) });
  return post(url, body, sign(SECRET, body));
}

function texts(call: RecordedCall): string {
  return JSON.stringify(call.body);
}

describe('Slack triage of a real lab fault over real SSH', () => {
  it('ends in a message whose verdict names the cause (fastcgi_read_timeout)', async () => {
    const res = await command('triage web-lab --since 15m');
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(3000);
    const posted = await stub.waitFor(() => stub.ok('chat.postMessage')[0], 5000, 'the progress message');
    expect(posted.body.text).toContain('Triage of web-lab running');
    const ts = stub.calls.find((c) => c.method === 'chat.postMessage')!;
    const final = await stub.waitFor(() => stub.ok('chat.update').find((c) => texts(c).includes('Verdict')), 45_000, 'the verdict');
    const blocks = final.body.blocks as Array<Record<string, any>>;
    expect(blocks[0]!.text.text).toBe(`web-lab: ${CAUSE_WORDS.fastcgi_read_timeout}`);
    expect(blocks[1]!.text.text).toMatch(/\*Verdict:\*.*\(`fastcgi_read_timeout`\), confidence/);
    expect(blocks[1]!.text.text).toContain('*Fix:*');
    expect(texts(final)).toMatch(/504 × [1-9]/);
    // Updated in place: every update names the one message posted.
    const updates = stub.ok('chat.update');
    expect(new Set(updates.map((u) => u.body.ts))).toEqual(new Set([final.body.ts]));
    expect(ts.status).toBe(200);
    console.log(`lab triage: ${updates.length} update(s), final after ${final.at - ts.at} ms`);
  }, 120_000);

  it('acknowledges 20 concurrent /502 triage commands in under 3 s each, and answers them all', async () => {
    stub.reset();
    const started = Date.now();
    // Twenty responders, each their own window: identical triages would be joined, and one person may run five at once.
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => command(`triage web-lab --since ${15 + i}m`, i, `U0ONCALL${i}`)));
    const ms = responses.map((r) => r.ms).sort((a, b) => a - b);
    console.log(`20 concurrent acks: median ${ms[10]!.toFixed(0)} ms, max ${ms[19]!.toFixed(0)} ms`);
    expect(responses.every((r) => r.status === 200 && r.body === '')).toBe(true);
    expect(ms[19]!).toBeLessThan(3000);
    await stub.waitFor(() => stub.ok('chat.postMessage').length === 20, 30_000, '20 progress messages');
    // Nothing is lost: every one of the 20 messages gets its final answer (the one with buttons).
    const finals = await stub.waitFor(
      () => {
        const done = stub.ok('chat.update').filter((c) => texts(c).includes('"actions"'));
        return done.length === 20 ? done : null;
      },
      45_000,
      '20 final answers',
    );
    expect(new Set(finals.map((f) => f.body.ts)).size).toBe(20);
    const verdicts = finals.filter((f) => texts(f).includes('(`fastcgi_read_timeout`), confidence')).length;
    console.log(`20 concurrent triages: ${verdicts} verdicts naming fastcgi_read_timeout, all answered ${Math.max(...finals.map((f) => f.at)) - started} ms after the first request`);
    expect(verdicts).toBe(20);
  }, 120_000);
});

describe('a triage cancelled because the bot is stopping', () => {
  it('ends saying it was cancelled (no verdict from cancelled reads); meanwhile new commands are told the bot is restarting', async () => {
    // A host that accepts the connection and never answers keeps the triage going until it is cancelled.
    const held = new Set<Socket>();
    const hung = createServer((socket) => held.add(socket));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const logger = createLogger({ level: 'silent' });
    const config = loadConfig({
      path: writeConfig({ catalog: labHost.config.catalogDir, hosts: { 'web-hung': { ...hostConfig(labHost.sshd), port: (hung.address() as { port: number }).port, connectTimeout: '60s' } } }),
      env: {},
    });
    const local = createServices(config, logger);
    const localRouter = createRouter({ services: local, logger, updateIntervalMs: 50 });
    const port = await freePort();
    const app = createSlackApp({
      router: localRouter,
      logger,
      mode: { mode: 'http', botToken: 'xoxb-lab', signingSecret: SECRET, port, path: '/slack/events', apiUrl: stub.apiUrl },
      retryConfig: { retries: 3, factor: 1, minTimeout: 20, maxTimeout: 50 },
    });
    await app.start();
    const send = (text: string) => {
      const body = slashBody({ text, user_id: 'U0ONCALL', channel_id: CHANNEL, response_url: stub.responseUrl('cancel') });
      return post(`http://127.0.0.1:${port}/slack/events`, body, sign(SECRET, body));
    };
    try {
      stub.reset();
      await send('triage web-hung');
      const progress = await stub.waitFor(() => stub.ok('chat.postMessage')[0], 20_000, 'the progress message');
      localRouter.drain();
      const res = await send('triage web-hung');
      expect(JSON.stringify(res.json)).toContain(RESTARTING);
      const stopping = Date.now();
      await localRouter.close();
      expect(Date.now() - stopping).toBeLessThan(20_000);
      const final = stub
        .ok('chat.update')
        .filter((c) => c.body.ts === (progress.response as { ts: string }).ts)
        .pop()!;
      expect(texts(final)).toContain('Triage of web-hung cancelled');
      expect(texts(final)).toContain('badgateway is restarting, so it did not finish. Ask again in a minute.');
      expect(texts(final)).not.toMatch(/Verdict|could not be triaged/);
      expect(stub.ok('chat.postMessage')).toHaveLength(1);
    } finally {
      await app.stop();
      await local.close();
      for (const socket of held) socket.destroy();
      await new Promise((r) => hung.close(r));
    }
  }, 120_000);
});
