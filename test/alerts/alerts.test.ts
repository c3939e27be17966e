/**
 * Alertmanager → badgateway → Slack, end to end with real components: real Alertmanager webhook
 * payloads POSTed to the real Bolt app in HTTP mode (custom routes on the receiver's port), the Slack
 * Web API stub recording what reaches Slack, and a real fault (PHP-FPM stopped) in the real nginx +
 * PHP-FPM lab behind a real sshd, triaged over real SSH. /metrics is scraped at the end.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEndpoints, type Endpoints } from '../../src/alerts/endpoints.js';
import { AlertReceiver } from '../../src/alerts/receiver.js';
import { createServices, type Services } from '../../src/app/services.js';
import { defaultCatalogDir, loadConfig } from '../../src/config/index.js';
import { Inventory } from '../../src/inventory/index.js';
import { createLogger } from '../../src/log/index.js';
import { Health } from '../../src/metrics/health.js';
import { toBoltRoutes } from '../../src/metrics/http.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { CAUSE_WORDS } from '../../src/report/chat.js';
import { createRouter, type Router } from '../../src/router/index.js';
import { createSlackApp, type SlackApp } from '../../src/slack/app.js';
import { fpmDownUnix, fpmDownUnixOptions } from '../lab/scenarios.js';
import { writeConfig } from '../support/config.js';
import { hostConfig, startLabHost, type LabHost } from '../support/lab-host.js';
import { freePort } from '../support/sshd.js';
import { scrape } from '../metrics/scrape.js';
import { allText, startSlackStub, type SlackStub } from '../slack/stub.js';

const TOKEN = 'alert-token-0123456789abcdef';
const CHANNEL = 'C0ALERTS';
// Every log line is kept: the token must never be in one, and each refusal must be logged.
const logLines: string[] = [];
const logger = createLogger({
  level: 'info',
  destination: new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(...chunk.toString().split('\n').filter(Boolean));
      if (process.env.LOG_LEVEL) process.stderr.write(chunk);
      done();
    },
  }),
});
const logged = (msg: string) => logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg);

let stub: SlackStub;
let labHost: LabHost;
let services: Services;
let router: Router;
let bot: SlackApp;
let endpoints: Endpoints;
let base: string;
const metrics = new Metrics();
const health = new Health();

/** An Alertmanager webhook body (version 4) as Alertmanager sends it. */
function payload(alerts: Array<{ name: string; status?: 'firing' | 'resolved'; instance?: string; fingerprint: string; labels?: Record<string, string> }>) {
  const startsAt = new Date(Date.now() - 120_000).toISOString();
  const list = alerts.map((a) => ({
    status: a.status ?? 'firing',
    labels: { alertname: a.name, severity: 'page', job: 'php-fpm', ...(a.instance !== undefined ? { instance: a.instance } : {}), ...a.labels },
    annotations: { summary: `${a.name} on ${a.instance ?? '?'}`, description: 'from the test' },
    startsAt,
    endsAt: a.status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.internal:9090/graph?g0.expr=phpfpm_up+%3D%3D+0',
    fingerprint: a.fingerprint,
  }));
  return {
    receiver: 'badgateway',
    status: list.every((a) => a.status === 'resolved') ? 'resolved' : 'firing',
    alerts: list,
    groupLabels: { alertname: alerts[0]!.name },
    commonLabels: { alertname: alerts[0]!.name, severity: 'page' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.internal:9093',
    version: '4',
    groupKey: `{}/{alertname=~"^(?:Php.*)$"}:{alertname="${alerts[0]!.name}"}`,
    truncatedAlerts: 0,
  };
}

async function send(body: unknown, token: string | null = TOKEN, scheme = 'Bearer') {
  const res = await fetch(`${base}/alerts/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token !== null ? { authorization: `${scheme} ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text) as any, headers: res.headers };
}

const posts = () => stub.calls.filter((c) => c.method !== 'auth.test');
const topLevelPosts = () => stub.ok('chat.postMessage').filter((c) => !c.body.thread_ts);
const settle = () => new Promise((r) => setTimeout(r, 300));

beforeAll(async () => {
  [stub, labHost] = await Promise.all([startSlackStub(), startLabHost(fpmDownUnixOptions)]);
  // The fault: PHP-FPM stopped, nginx answering 502 (connect() to the unix socket fails).
  await fpmDownUnix(labHost.lab);
  const deadPort = await freePort();
  const lab = hostConfig(labHost.sshd, { accessLog: labHost.lab.paths.access });
  const config = loadConfig({
    path: writeConfig({
      catalog: defaultCatalogDir(),
      slack: { channels: [CHANNEL] },
      hosts: {
        'web-lab': lab,
        // Same address as web-lab: an instance of 127.0.0.1:port is ambiguous.
        'web-twin': { ...lab },
        // Down (nothing listens), found by its address.
        'web-dead': { ...lab, address: 'localhost', port: deadPort, connectTimeout: '2s' },
        // Reachable (the same sshd), but the logs configured for it are not the ones its nginx writes.
        'web-nolog': hostConfig(labHost.sshd, { accessLog: `${labHost.lab.dir}/no-such-access.log`, errorLog: `${labHost.lab.dir}/no-such-error.log` }),
      },
      alerts: {
        tokenEnv: 'BADGATEWAY_ALERT_TOKEN',
        channel: CHANNEL,
        cooldown: '30m',
        resolvedWindow: '5m',
        triggers: [{ alertnames: ['PhpFpmDown', 'NginxHigh5xxRate'] }, { alertnames: ['NginxUpstreamSlow'], hostLabel: 'host', window: '5m' }],
      },
    }),
    env: {},
  });
  services = createServices(config, logger, { observer: metrics.observer });
  router = createRouter({ services, logger, metrics, updateIntervalMs: 50 });
  endpoints = createEndpoints({
    config,
    services,
    router,
    logger,
    metrics,
    health,
    env: { BADGATEWAY_ALERT_TOKEN: TOKEN },
    responderFor: (channel) => bot.channelResponder(channel),
  });
  const port = await freePort();
  bot = createSlackApp({
    router,
    logger,
    metrics,
    health,
    routes: toBoltRoutes(endpoints.routes, logger),
    mode: { mode: 'http', botToken: 'xoxb-alerts', signingSecret: 'alerts-signing-secret', port, path: '/slack/events', apiUrl: stub.apiUrl },
    retryConfig: { retries: 2, factor: 1, minTimeout: 20, maxTimeout: 50 },
  });
  await bot.start();
  base = `http://127.0.0.1:${port}`;
}, 120_000);

afterAll(async () => {
  await endpoints?.close();
  await bot?.stop();
  await router?.close();
  await services?.close();
  await Promise.all([stub?.close(), labHost?.stop()]);
});

describe('POST /alerts/alertmanager: refused requests post nothing', () => {
  it('a missing or wrong bearer token gets 401', async () => {
    const body = payload([{ name: 'PhpFpmDown', instance: 'web-lab:9253', fingerprint: 'aaaa000000000001' }]);
    const missing = await send(body, null);
    const wrong = await send(body, `${TOKEN}x`);
    const basic = await send(body, TOKEN, 'Basic');
    expect([missing.status, wrong.status, basic.status]).toEqual([401, 401, 401]);
    expect(missing.json).toEqual({ status: 'unauthorized', reason: 'missing or wrong bearer token' });
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    await settle();
    expect(posts()).toEqual([]);
    expect(logged('alert webhook refused').map((l) => l.reason)).toEqual(['no bearer token', 'wrong token', 'wrong token']);
  });

  it('malformed payloads get 400 with the reason', async () => {
    const cases: Array<[unknown, RegExp]> = [
      ['{"alerts": [', /the body is not JSON/],
      ['[1,2]', /expected an Alertmanager webhook object/],
      [{ ...payload([{ name: 'PhpFpmDown', instance: 'web-lab:9253', fingerprint: 'aaaa000000000002' }]), version: '3' }, /unsupported webhook version "3"/],
      [{ version: '4', status: 'firing', receiver: 'badgateway' }, /alerts: expected array/],
      [{ version: '4', status: 'firing', alerts: [] }, /alerts: expected at least one alert/],
      [{ version: '4', status: 'firing', alerts: [{ status: 'burning', labels: { alertname: 'PhpFpmDown' } }] }, /alerts\.0\.status/],
      [{ version: '4', status: 'firing', alerts: [{ status: 'firing', labels: { alertname: 42 } }] }, /alerts\.0\.labels\.alertname/],
    ];
    for (const [body, reason] of cases) {
      const res = await send(body);
      expect(res.status, String(reason)).toBe(400);
      expect(res.json.status).toBe('rejected');
      expect(res.json.reason, String(reason)).toMatch(reason);
    }
    expect(logged('malformed alert webhook')).toHaveLength(cases.length);
    const huge = await send(`{"alerts":"${'x'.repeat(1024 * 1024)}"}`);
    expect(huge.status).toBe(413);
    expect(huge.json.reason).toMatch(/larger than 1048576 bytes/);
    await settle();
    expect(posts()).toEqual([]);
  });

  it('unknown, ambiguous or missing hosts get 422 with the reason; alerts nobody triggers on are ignored', async () => {
    const unknown = await send(payload([{ name: 'PhpFpmDown', instance: 'web-99:9253', fingerprint: 'bbbb000000000001' }]));
    expect(unknown.status).toBe(422);
    expect(unknown.json.reason).toBe('instance "web-99:9253" is not in the inventory (no host has that name or address)');
    expect(unknown.json.results).toEqual([expect.objectContaining({ alertname: 'PhpFpmDown', host: null, action: 'rejected' })]);
    const ambiguous = await send(payload([{ name: 'PhpFpmDown', instance: '127.0.0.1:9253', fingerprint: 'bbbb000000000002' }]));
    expect(ambiguous.status).toBe(422);
    expect(ambiguous.json.reason).toMatch(/is the address of 3 inventory hosts \(web-lab, web-nolog, web-twin\)/);
    const noLabel = await send(payload([{ name: 'PhpFpmDown', fingerprint: 'bbbb000000000003' }]));
    expect(noLabel.status).toBe(422);
    expect(noLabel.json.reason).toBe('the alert has no "instance" label naming the host');
    // This trigger reads the host from another label.
    const otherLabel = await send(payload([{ name: 'NginxUpstreamSlow', instance: 'web-lab:4040', fingerprint: 'bbbb000000000004' }]));
    expect(otherLabel.status).toBe(422);
    expect(otherLabel.json.reason).toBe('the alert has no "host" label naming the host');
    const hostile = await send(payload([{ name: 'PhpFpmDown', instance: 'web-lab;reboot:9253', fingerprint: 'bbbb000000000005' }]));
    expect(hostile.status).toBe(422);
    expect(hostile.json.reason).toMatch(/is not a host name or address/);
    expect(logged('alert not handled').map((l) => l.reason)).toEqual([unknown.json.reason, ambiguous.json.reason, noLabel.json.reason, otherLabel.json.reason, hostile.json.reason]);
    const ignored = await send(payload([{ name: 'DiskAlmostFull', instance: 'web-lab:9100', fingerprint: 'bbbb000000000006' }]));
    expect(ignored.status).toBe(200);
    expect(ignored.json.results).toEqual([expect.objectContaining({ action: 'ignored', reason: 'no trigger in alerts.triggers names this alert' })]);
    await settle();
    expect(posts()).toEqual([]);
  });
});

describe('POST /alerts/alertmanager: firing, repeated, resolved', () => {
  const alert = { name: 'PhpFpmDown', instance: 'web-lab:9253', fingerprint: 'c0ffee0000000001' };
  let triageTs = '';

  it('a firing alert posts the triage of its host in the channel, and the verdict names the cause', async () => {
    const res = await send(payload([alert]));
    expect(res.status).toBe(200);
    expect(res.json.results).toEqual([{ alertname: 'PhpFpmDown', status: 'firing', fingerprint: alert.fingerprint, host: 'web-lab', action: 'triage' }]);
    const first = await stub.waitFor(() => stub.ok('chat.postMessage')[0], 5000, 'the progress message');
    expect(first.body.channel).toBe(CHANNEL);
    expect(first.body.text).toContain('Triage of web-lab running');
    const final = await stub.waitFor(() => stub.ok('chat.update').find((c) => allText(c).includes('Verdict')), 30_000, 'the verdict');
    triageTs = final.body.ts as string;
    const blocks = final.body.blocks as Array<Record<string, any>>;
    // The same message as `/502 triage web-lab`: header, verdict with the cause id, evidence, fix, buttons.
    expect(blocks[0]).toMatchObject({ type: 'header', text: { text: `web-lab: ${CAUSE_WORDS.fpm_down}` } });
    expect(blocks[1]!.text.text).toMatch(/\*Verdict:\*.*`fpm_down`/);
    expect(blocks[1]!.text.text).toContain('*Fix:*');
    expect(allText(final)).toContain('asked by alert `PhpFpmDown`');
    expect(blocks.find((b) => b.type === 'actions')).toBeTruthy();
    expect(topLevelPosts()).toHaveLength(1);
  }, 120_000);

  it('the same alert again within the cooldown: a thread note, no second triage', async () => {
    const before = stub.ok('chat.update').length;
    const res = await send(payload([alert]));
    expect(res.status).toBe(200);
    expect(res.json.results[0]).toMatchObject({ host: 'web-lab', action: 'note' });
    const note = await stub.waitFor(() => stub.ok('chat.postMessage').find((c) => c.body.thread_ts), 5000, 'the thread note');
    expect(note.body.thread_ts).toBe(triageTs);
    expect(note.body.channel).toBe(CHANNEL);
    expect(allText(note)).toMatch(/`PhpFpmDown` is still firing for `web-lab` \(notification 2, firing since \d\d:\d\d:\d\d UTC\)\. Within the 30m cooldown/);
    await settle();
    expect(topLevelPosts()).toHaveLength(1);
    expect(stub.ok('chat.update')).toHaveLength(before);
  });

  it('resolved: a thread note with the 5xx rate now; resolved again posts nothing', async () => {
    const res = await send(payload([{ ...alert, status: 'resolved' }]));
    expect(res.status).toBe(200);
    expect(res.json.results[0]).toMatchObject({ host: 'web-lab', action: 'resolved_note' });
    const note = await stub.waitFor(() => stub.ok('chat.postMessage').find((c) => c.body.thread_ts && allText(c).includes('Resolved')), 30_000, 'the resolved note');
    expect(note.body.thread_ts).toBe(triageTs);
    const text = allText(note);
    expect(text).toMatch(/✅ \*Resolved\*: `PhpFpmDown` on `web-lab` at \d\d:\d\d:\d\d UTC \(firing since \d\d:\d\d:\d\d UTC\)/);
    // FPM is still down in the lab: the last 5 minutes still hold the 502s.
    expect(text).toMatch(/5xx now: \*\d+\.\d+%\* \(\d+ of \d+ requests in the last 5m; 502 × \d+, 504 × \d+\)/);
    const count = stub.ok('chat.postMessage').length;
    const again = await send(payload([{ ...alert, status: 'resolved' }]));
    expect(again.json.results[0]).toMatchObject({ action: 'duplicate' });
    const untracked = await send(payload([{ ...alert, fingerprint: 'c0ffee00000000ff', status: 'resolved' }]));
    expect(untracked.json.results[0]).toMatchObject({ action: 'untracked' });
    await settle();
    expect(stub.ok('chat.postMessage')).toHaveLength(count);
  }, 120_000);

  it('a host found by its address that is down: the triage says so, and the failure is counted', async () => {
    const posted = topLevelPosts().length;
    const res = await send(payload([{ name: 'NginxHigh5xxRate', instance: 'localhost:4040', fingerprint: 'dead000000000001' }]));
    expect(res.status).toBe(200);
    expect(res.json.results[0]).toMatchObject({ host: 'web-dead', action: 'triage' });
    await stub.waitFor(() => topLevelPosts().length > posted, 5000, 'the second triage');
    const final = await stub.waitFor(() => stub.ok('chat.update').find((c) => c.body.ts !== triageTs && /connection refused|could not/i.test(allText(c))), 15_000, 'the failed triage');
    expect(allText(final)).toMatch(/web-dead/);
  });

  it('/metrics moved: alert commands, SSH latency, failures by host, alerts and webhook answers; /healthz and /readyz answer', async () => {
    await router.idle();
    await endpoints.alerts!.idle();
    const m = await scrape(`${base}/metrics`);
    expect(m.value('badgateway_commands_total', { source: 'alert', command: 'triage', outcome: 'ok' })).toBe(1);
    expect(m.value('badgateway_commands_total', { source: 'alert', command: 'triage', outcome: 'failed' })).toBe(1);
    expect(m.count('badgateway_job_duration_seconds', { source: 'alert', command: 'triage' })).toBe(2);
    expect(m.count('badgateway_ssh_connect_seconds')).toBeGreaterThanOrEqual(1);
    expect(m.count('badgateway_ssh_command_seconds')).toBeGreaterThan(5);
    expect(m.count('badgateway_ssh_command_seconds', { command: 'nginx.config' })).toBeGreaterThanOrEqual(1);
    expect(m.value('badgateway_ssh_connect_failures_total', { host: 'web-dead' })).toBeGreaterThanOrEqual(1);
    expect(m.value('badgateway_alerts_total', { status: 'firing', action: 'triage' })).toBe(2);
    expect(m.value('badgateway_alerts_total', { status: 'firing', action: 'note' })).toBe(1);
    expect(m.value('badgateway_alerts_total', { status: 'resolved', action: 'resolved_note' })).toBe(1);
    expect(m.value('badgateway_alerts_total', { action: 'rejected' })).toBe(5);
    expect(m.value('badgateway_alerts_total', { action: 'ignored' })).toBe(1);
    expect(m.value('badgateway_alert_webhooks_total', { code: '401' })).toBe(3);
    expect(m.value('badgateway_alert_webhooks_total', { code: '400' })).toBe(7);
    expect(m.value('badgateway_alert_webhooks_total', { code: '413' })).toBe(1);
    expect(m.value('badgateway_alert_webhooks_total', { code: '422' })).toBe(5);
    expect(m.value('badgateway_alert_webhooks_total', { code: '200' })).toBe(7);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const readyz = await fetch(`${base}/readyz`);
    expect(readyz.status).toBe(200);
    expect(await readyz.json()).toMatchObject({ status: 'ready', checks: { slack: { ok: true } } });
    // The token never reached a log line (nor did the bot token).
    expect(logLines.length).toBeGreaterThan(20);
    expect(logLines.filter((l) => l.includes(TOKEN) || l.includes('xoxb-alerts'))).toEqual([]);
  });
});

describe('an alert on a host whose evidence cannot be read', () => {
  it('the triage and the resolved note both say Unknown, never a rate or health', async () => {
    const alert = { name: 'NginxUpstreamSlow', fingerprint: 'beef000000000001', labels: { host: 'web-nolog' } };
    const posted = topLevelPosts().length;
    const res = await send(payload([alert]));
    expect(res.json.results[0]).toMatchObject({ host: 'web-nolog', action: 'triage' });
    await stub.waitFor(() => topLevelPosts().length > posted, 5000, 'the triage');
    const final = await stub.waitFor(() => stub.ok('chat.update').find((c) => /web-nolog: Unknown/.test(allText(c))), 30_000, 'the verdict');
    // Its logs are not this nginx's: the verdict says so, and what is needed, instead of reading them.
    expect(allText(final)).toMatch(/\*Verdict:\* Unknown: the configured access log \S+no-such-access\.log is not one the running nginx \(pid \d+\) writes/);
    expect(allText(final)).toContain("*Needed:* sources.accessLog set to a log this host's nginx writes");
    expect(allText(final)).not.toMatch(/Healthy/);
    await send(payload([{ ...alert, status: 'resolved' }]));
    const note = await stub.waitFor(() => stub.ok('chat.postMessage').find((c) => c.body.thread_ts === final.body.ts && allText(c).includes('Resolved')), 30_000, 'the resolved note');
    expect(allText(note)).toMatch(/5xx now: unknown, the configured access log \S+no-such-access\.log is not one the running nginx/);
  }, 120_000);
});

describe('the receiver without Slack (console mode)', () => {
  /** A receiver for web-03's PhpFpmDown with no Slack to post in, counting the triages it asks for. */
  function receiverWithoutSlack(): { receiver: AlertReceiver; triaged: () => number } {
    const config = loadConfig({
      path: writeConfig({
        catalog: defaultCatalogDir(),
        hosts: { 'web-03': { address: '10.0.0.13' } },
        alerts: { tokenEnv: 'T', channel: CHANNEL, triggers: [{ alertnames: ['PhpFpmDown'] }] },
      }),
      env: {},
    });
    let triaged = 0;
    const receiver = new AlertReceiver({
      settings: config.alerts!,
      token: TOKEN,
      inventory: new Inventory(config.hosts),
      router: {
        triage: () => {
          triaged++;
          return null;
        },
        background: () => null,
        retryAfterSeconds: () => 30,
      },
      triage: () => Promise.reject(new Error('not reached')),
      responderFor: () => null,
      logger,
    });
    return { receiver, triaged: () => triaged };
  }

  it('answers 503 so Alertmanager retries, and posts nothing', () => {
    const { receiver, triaged } = receiverWithoutSlack();
    const res = receiver.receive(JSON.stringify(payload([{ name: 'PhpFpmDown', instance: '10.0.0.13:9253', fingerprint: 'eeee000000000001' }])));
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'unavailable', reason: 'no Slack connection to post in (console mode)' });
    expect(triaged()).toBe(0);
    expect(receiver.authorized(`Bearer ${TOKEN}`)).toBe(true);
    expect(receiver.authorized(`bearer ${TOKEN}`)).toBe(true);
    expect(receiver.authorized(`Bearer ${TOKEN.slice(0, -1)}`)).toBe(false);
    expect(() => new AlertReceiver({ ...(receiver as any).options, token: 'short' })).toThrow(/at least 16 characters/);
  });

  it('while the bot drains for a restart: 503 for every alert, nothing started (Alertmanager sends it again)', () => {
    const { receiver, triaged } = receiverWithoutSlack();
    receiver.drain();
    const res = receiver.receive(JSON.stringify(payload([{ name: 'PhpFpmDown', instance: '10.0.0.13:9253', fingerprint: 'eeee000000000002' }])));
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'unavailable', reason: 'badgateway is restarting; Alertmanager will send it again' });
    expect(triaged()).toBe(0);
  });
});

describe('limits that hold: one triage per alert and host per notification, a cap per notification, resolved reads inside the job cap', () => {
  /** A receiver of its own (its own router and cap) on the same services, posting through the same Bolt app. */
  function limitedReceiver(maxJobs: number) {
    const limited = createRouter({ services, logger, updateIntervalMs: 50, maxJobs });
    const receiver = new AlertReceiver({
      settings: { ...services.config.alerts!, maxTriages: 2 },
      token: TOKEN,
      inventory: services.inventory,
      router: limited,
      triage: (request) => services.triage(request),
      responderFor: (channel) => bot.channelResponder(channel),
      logger,
    });
    return { limited, receiver };
  }

  it('60 copies of one alert start one triage; past alerts.maxTriages the rest are listed in one note', async () => {
    stub.reset();
    const { limited, receiver } = limitedReceiver(50);
    try {
      const copies = Array.from({ length: 60 }, () => ({ name: 'PhpFpmDown', instance: 'web-lab:9253', fingerprint: 'ab00000000000060' }));
      const others = [
        { name: 'NginxHigh5xxRate', instance: 'web-twin', fingerprint: 'ab00000000000061' },
        { name: 'NginxHigh5xxRate', instance: 'localhost:4040', fingerprint: 'ab00000000000062' },
      ];
      const res = receiver.receive(JSON.stringify(payload([...copies, ...others])));
      expect(res.status).toBe(200);
      const actions = (res.body.results as Array<{ action: string; host: string }>).map((r) => `${r.host}:${r.action}`);
      expect(actions.filter((a) => a === 'web-lab:triage')).toHaveLength(1);
      expect(actions.filter((a) => a === 'web-lab:duplicate')).toHaveLength(59);
      expect(actions.slice(60)).toEqual(['web-twin:triage', 'web-dead:summarized']);
      await limited.idle();
      await receiver.idle();
      const top = topLevelPosts();
      // Two triages and one summary note: not 62 messages.
      expect(top).toHaveLength(3);
      const summary = top.map(allText).find((t) => t.includes('more alert'))!;
      expect(summary).toMatch(
        /1 more alert\* in this Alertmanager notification would each start a triage; at most 2 start per notification \(`alerts\.maxTriages`\): `web-dead` \(`NginxHigh5xxRate`\)/,
      );
      expect(stub.ok('chat.postMessage').filter((c) => c.body.thread_ts)).toEqual([]);
    } finally {
      await limited.close();
    }
  }, 120_000);

  it('a resolved note is a job: refused with Retry-After while the cap is full, posted once a slot is free', async () => {
    stub.reset();
    const { limited, receiver } = limitedReceiver(1);
    try {
      const alert = { name: 'PhpFpmDown', instance: 'web-lab:9253', fingerprint: 'ab00000000000070' };
      expect(receiver.receive(JSON.stringify(payload([alert]))).status).toBe(200);
      await limited.idle();
      let release = () => {};
      const held = limited.background('holding the only slot', () => new Promise<void>((r) => (release = r)));
      expect(held).not.toBeNull();
      expect(limited.running()).toBe(1);
      const refused = receiver.receive(JSON.stringify(payload([{ ...alert, status: 'resolved' }])));
      expect(refused.status).toBe(503);
      expect(refused.body.results).toEqual([expect.objectContaining({ action: 'unavailable', reason: 'too many jobs running; retry later' })]);
      expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(5);
      // Nothing outside the cap: the refused read did not start.
      expect(limited.running()).toBe(1);
      release();
      await held;
      const accepted = receiver.receive(JSON.stringify(payload([{ ...alert, status: 'resolved' }])));
      expect(accepted.body.results).toEqual([expect.objectContaining({ action: 'resolved_note' })]);
      expect(limited.running()).toBe(1);
      await receiver.idle();
      expect(stub.ok('chat.postMessage').filter((c) => c.body.thread_ts && allText(c).includes('Resolved'))).toHaveLength(1);
    } finally {
      await limited.close();
    }
  }, 120_000);
});
