/**
 * The bot's own metrics and health endpoints, scraped over real HTTP and parsed with
 * parse-prometheus-text-format: the registry itself, the small endpoint server (Socket Mode and
 * console), the real Bolt app in HTTP mode counting commands and Slack errors against the Web API
 * stub, and `badgateway start` in console mode serving METRICS_PORT.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { register as globalRegister } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEndpoints } from '../../src/alerts/endpoints.js';
import { createServices, type Services } from '../../src/app/services.js';
import { loadConfig } from '../../src/config/index.js';
import type { ExecResult } from '../../src/exec/types.js';
import { createLogger } from '../../src/log/index.js';
import { Health } from '../../src/metrics/health.js';
import { metricsHost, metricsPort, observabilityRoutes, startEndpointServer, toBoltRoutes, type EndpointServer } from '../../src/metrics/http.js';
import { Metrics, label } from '../../src/metrics/metrics.js';
import { createRouter, type Router } from '../../src/router/index.js';
import { createSlackApp, type SlackApp } from '../../src/slack/app.js';
import { REPO_ROOT, testCatalogDir, writeConfig } from '../support/config.js';
import { freePort } from '../support/sshd.js';
import { hostOf, labReport, resultOf } from '../slack/fixtures.js';
import { post, sign, slashBody, startSlackStub, type SlackStub } from '../slack/stub.js';
import { parseScrape, scrape } from './scrape.js';

const quiet = createLogger({ level: process.env.LOG_LEVEL ?? 'silent' });

function execResult(partial: Partial<ExecResult>): ExecResult {
  return { host: 'web-03', commandId: 'x', code: 0, signal: null, stdout: Buffer.alloc(0), stderr: '', stdoutBytes: 0, truncated: false, timedOut: false, durationMs: 5, ...partial };
}

describe('the registry', () => {
  it('counts what it is told, in valid exposition format, on a registry of its own', async () => {
    const metrics = new Metrics();
    metrics.commandFinished({ source: 'slack', command: 'triage', outcome: 'ok', seconds: 1.2 });
    metrics.commandFinished({ source: 'alert', command: 'triage', outcome: 'failed', seconds: 0.3 });
    metrics.commandFinished({ source: 'console', command: 'help', outcome: 'ok' });
    metrics.observer.connected!('web-03', 120);
    metrics.observer.connectFailed!('web-09', new Error('connection refused'));
    metrics.observer.commandFinished!('web-03', 'log.stat', { result: execResult({}), ms: 40 });
    metrics.observer.commandFinished!('web-03', 'fpm.status', { result: execResult({ code: 7 }), ms: 3000 });
    metrics.observer.commandFinished!('web-03', 'log.read-stream', { result: execResult({ timedOut: true, code: null }), ms: 60_000 });
    metrics.observer.commandFinished!('web-04', 'host.uptime', { error: new Error('channel closed'), ms: 2 });
    metrics.approvalDecided('approved');
    metrics.approvalDecided('approved');
    metrics.approvalDecided('Denied');
    metrics.approvalDecided('<script>'.repeat(20));
    metrics.digestPosted('morning');
    metrics.slackApiError('chat.postMessage', 'not_in_channel');
    metrics.slackRateLimitedCall('chat.update');
    metrics.slackRetry('rate_limited');
    metrics.alertHandled('firing', 'triage');
    metrics.alertRequest(401);
    let running = 3;
    metrics.trackRunningJobs(() => running);

    const first = await metrics.scrape();
    expect(first.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parseScrape(first.body);
    expect(m.value('badgateway_commands_total', { source: 'slack', command: 'triage', outcome: 'ok' })).toBe(1);
    expect(m.value('badgateway_commands_total', { source: 'alert', outcome: 'failed' })).toBe(1);
    expect(m.value('badgateway_commands_total')).toBe(3);
    expect(m.count('badgateway_job_duration_seconds', { source: 'slack', command: 'triage' })).toBe(1);
    // Replies (no job) are counted but have no duration.
    expect(m.count('badgateway_job_duration_seconds', { source: 'console' })).toBe(0);
    expect(m.family('badgateway_ssh_connect_seconds')!.type).toBe('HISTOGRAM');
    expect(m.count('badgateway_ssh_connect_seconds')).toBe(1);
    expect(Number(m.samples('badgateway_ssh_connect_seconds')[0]!.sum)).toBeCloseTo(0.12);
    expect(m.value('badgateway_ssh_connect_failures_total', { host: 'web-09' })).toBe(1);
    expect(m.count('badgateway_ssh_command_seconds')).toBe(4);
    expect(m.count('badgateway_ssh_command_seconds', { command: 'log.read-stream' })).toBe(1);
    expect(m.value('badgateway_remote_command_failures_total', { host: 'web-03' })).toBe(2);
    expect(m.value('badgateway_remote_command_failures_total', { host: 'web-03', command: 'fpm.status', reason: 'exit' })).toBe(1);
    expect(m.value('badgateway_remote_command_failures_total', { host: 'web-03', reason: 'timeout' })).toBe(1);
    expect(m.value('badgateway_remote_command_failures_total', { host: 'web-04', reason: 'error' })).toBe(1);
    expect(m.value('badgateway_approvals_total', { outcome: 'approved' })).toBe(2);
    expect(m.value('badgateway_approvals_total', { outcome: 'denied' })).toBe(1);
    // Outside text cannot make up label values.
    expect(m.value('badgateway_approvals_total', { outcome: 'other' })).toBe(1);
    expect(m.value('badgateway_digests_posted_total', { schedule: 'morning' })).toBe(1);
    expect(m.value('badgateway_slack_api_errors_total', { method: 'chat.postmessage', error: 'not_in_channel' })).toBe(1);
    expect(m.value('badgateway_slack_rate_limited_total', { method: 'chat.update' })).toBe(1);
    expect(m.value('badgateway_slack_api_retries_total', { reason: 'rate_limited' })).toBe(1);
    expect(m.value('badgateway_alerts_total', { status: 'firing', action: 'triage' })).toBe(1);
    expect(m.value('badgateway_alert_webhooks_total', { code: '401' })).toBe(1);
    expect(m.value('badgateway_jobs_running')).toBe(3);
    running = 0;
    expect(parseScrape((await metrics.scrape()).body).value('badgateway_jobs_running')).toBe(0);
    // Nothing leaked into prom-client's global registry.
    expect((await globalRegister.metrics()).includes('badgateway_')).toBe(false);
    // Process metrics are opt-in (start turns them on), under the same prefix.
    metrics.collectProcessMetrics();
    metrics.collectProcessMetrics();
    const withProcess = parseScrape((await metrics.scrape()).body);
    expect(withProcess.value('badgateway_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('keeps label values short and tame', () => {
    expect(label('approved')).toBe('approved');
    expect(label('Not_In_Channel')).toBe('not_in_channel');
    expect(label('a b')).toBe('other');
    expect(label('x'.repeat(49))).toBe('other');
    expect(label(undefined)).toBe('other');
  });
});

describe('the endpoint server (Socket Mode and console)', () => {
  let server: EndpointServer;
  const health = new Health();
  let storeUp = false;
  const metrics = new Metrics();

  beforeAll(async () => {
    health.setCheck('store', () => (storeUp ? true : 'store unreachable: connection refused'));
    health.setCheck('slow', () => new Promise((resolve) => setTimeout(resolve, 10)));
    server = await startEndpointServer({ routes: observabilityRoutes({ metrics, health, status: () => '0 running' }), port: 0, host: '127.0.0.1', logger: quiet });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('serves /healthz, /readyz (with each check) and /metrics; other paths and methods get JSON 404/405', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const healthz = await fetch(`${base}/healthz`);
    expect(healthz.status).toBe(200);
    expect(await healthz.text()).toBe('ok 0 running\n');

    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    const body = (await notReady.json()) as { status: string; checks: Record<string, { ok: boolean; detail?: string }> };
    expect(body.status).toBe('not ready');
    expect(body.checks.store).toMatchObject({ ok: false, detail: 'store unreachable: connection refused' });
    expect(body.checks.slow).toMatchObject({ ok: true });
    storeUp = true;
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { store: { ok: true }, slow: { ok: true } } });

    metrics.commandFinished({ source: 'console', command: 'hosts', outcome: 'ok' });
    const m = await scrape(`${base}/metrics`);
    expect(m.contentType).toMatch(/^text\/plain/);
    expect(m.value('badgateway_commands_total', { source: 'console', command: 'hosts' })).toBe(1);

    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toBe('not_found');
    const wrongMethod = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
  });

  it('METRICS_PORT defaults to 9464 and METRICS_HOST to all interfaces (Socket Mode) or loopback (console)', () => {
    expect(metricsPort({})).toBe(9464);
    expect(metricsPort({ METRICS_PORT: '0' })).toBe(0);
    expect(metricsPort({ METRICS_PORT: ' 9100 ' })).toBe(9100);
    expect(() => metricsPort({ METRICS_PORT: 'metrics' })).toThrow(/METRICS_PORT "metrics" is not a port number/);
    expect(() => metricsPort({ METRICS_PORT: '70000' })).toThrow(/not a port number/);
    expect(metricsHost({}, 'socket')).toBe('0.0.0.0');
    expect(metricsHost({}, 'console')).toBe('127.0.0.1');
    expect(metricsHost({ METRICS_HOST: '::1' }, 'socket')).toBe('::1');
    expect(() => metricsHost({ METRICS_HOST: 'a b' }, 'socket')).toThrow(/METRICS_HOST/);
  });

  it('a check that hangs makes /readyz answer 503 in time, not hang', async () => {
    const slow = new Health();
    slow.setCheck('hung', () => new Promise(() => undefined));
    const started = Date.now();
    const result = await slow.readiness(200);
    // The check never answers: only the 200 ms budget can end this (the margin is for a loaded machine).
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result).toMatchObject({ ready: false, checks: { hung: { ok: false, detail: 'no answer within 200 ms' } } });
  });
});

describe('Slack over HTTP: commands and Slack errors are counted, /metrics on the same port', () => {
  const SECRET = 'metrics-signing-secret';
  let stub: SlackStub;
  let bot: SlackApp;
  let router: Router;
  let services: Services;
  let base: string;
  const metrics = new Metrics();
  const health = new Health();

  beforeAll(async () => {
    stub = await startSlackStub();
    const config = loadConfig({
      path: writeConfig({ catalog: testCatalogDir(), hosts: { 'web-03': { address: '127.0.0.1', port: 9 } } }),
      env: {},
    });
    const real = createServices(config, quiet, { observer: metrics.observer });
    services = { ...real, triage: async (request) => resultOf(request.target, [hostOf(await labReport('fastcgi_read_timeout', 'web-03'), 'web-03')]) };
    router = createRouter({ services, logger: quiet, metrics, updateIntervalMs: 20 });
    metrics.trackRunningJobs(() => router.running());
    const endpoints = createEndpoints({ config, services, router, logger: quiet, metrics, health, responderFor: () => null });
    const port = await freePort();
    bot = createSlackApp({
      router,
      logger: quiet,
      metrics,
      health,
      routes: toBoltRoutes(endpoints.routes, quiet),
      mode: { mode: 'http', botToken: 'xoxb-metrics', signingSecret: SECRET, port, path: '/slack/events', apiUrl: stub.apiUrl },
      retryConfig: { retries: 2, factor: 1, minTimeout: 10, maxTimeout: 20 },
    });
    base = `http://127.0.0.1:${port}`;
    // Before start: not ready (auth.test has not passed).
    expect((await health.readiness()).checks.slack).toMatchObject({ ok: false, detail: 'auth.test has not passed yet' });
    await bot.start();
  });
  afterAll(async () => {
    await bot?.stop();
    await router?.close();
    await services?.close();
    await stub?.close();
  });

  const command = (text: string, channel = 'C0ONCALL') => {
    const body = slashBody({ text, user_id: 'U0RESPONDER', channel_id: channel, response_url: stub.responseUrl('m') });
    return post(`${base}/slack/events`, body, sign(SECRET, body));
  };

  it('counts slash commands by subcommand and outcome, 429s, retries and API errors', async () => {
    expect((await command('help')).status).toBe(200);
    expect((await command('triag web-03')).status).toBe(200);
    // One 429 on the first post: waited out and retried, the triage still lands.
    stub.rateLimit('chat.postMessage', 1, 1);
    await command('triage web-03');
    await stub.waitFor(() => stub.ok('chat.update').find((c) => JSON.stringify(c.body).includes('Verdict')), 10_000, 'the verdict');
    // A channel the bot is not in: chat.postMessage fails with not_in_channel.
    await command('triage web-03', 'C0NOTMEMBER');
    await stub.waitFor(() => stub.ok('respond').find((c) => JSON.stringify(c.body).includes('not a member')), 5000, 'the ephemeral explanation');
    await router.idle();

    const m = await scrape(`${base}/metrics`);
    expect(m.value('badgateway_commands_total', { source: 'slack', command: 'help', outcome: 'ok' })).toBe(1);
    expect(m.value('badgateway_commands_total', { source: 'slack', command: 'invalid', outcome: 'usage' })).toBe(1);
    expect(m.value('badgateway_commands_total', { source: 'slack', command: 'triage', outcome: 'ok' })).toBe(1);
    expect(m.value('badgateway_commands_total', { source: 'slack', command: 'triage', outcome: 'failed' })).toBe(1);
    expect(m.count('badgateway_job_duration_seconds', { source: 'slack', command: 'triage' })).toBe(2);
    expect(m.value('badgateway_slack_rate_limited_total', { method: 'chat.postmessage' })).toBe(1);
    expect(m.value('badgateway_slack_api_retries_total', { reason: 'rate_limited' })).toBe(1);
    expect(m.value('badgateway_slack_api_errors_total', { method: 'chat.postmessage', error: 'not_in_channel' })).toBe(1);
    expect(m.value('badgateway_jobs_running')).toBe(0);
  });

  it('serves /healthz and /readyz on the receiver port: ready once auth.test passed', async () => {
    const healthz = await fetch(`${base}/healthz`);
    expect(healthz.status).toBe(200);
    expect(await healthz.text()).toMatch(/^ok \d+ running\n$/);
    const readyz = await fetch(`${base}/readyz`);
    expect(readyz.status).toBe(200);
    expect(await readyz.json()).toMatchObject({ status: 'ready', checks: { slack: { ok: true } } });
    // The Slack endpoint still verifies signatures; the custom routes do not disturb it.
    expect((await post(`${base}/slack/events`, 'x=1', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(401);
  });
});

describe('badgateway start in console mode', () => {
  it('serves /metrics, /healthz and /readyz on METRICS_PORT, counting console commands', async () => {
    const port = await freePort();
    const configFile = writeConfig({ catalog: testCatalogDir(), hosts: { 'web-03': { address: '127.0.0.1', port: 9 } } });
    const env: NodeJS.ProcessEnv = { ...process.env, BADGATEWAY_CONFIG: configFile, METRICS_PORT: String(port), LOG_LEVEL: '' };
    for (const key of ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_API_URL', 'PORT']) delete env[key];
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'badgateway.js'), 'start'], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 60_000;
      for (;;) {
        const ok = await fetch(`${base}/healthz`).then(
          (r) => r.status === 200,
          () => false,
        );
        if (ok) break;
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no /healthz: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      child.stdin.write('/502 help\nhosts\ntriag web-03\n');
      const m = await (async () => {
        for (;;) {
          const s = await scrape(`${base}/metrics`);
          if (s.value('badgateway_commands_total', { source: 'console' }) >= 3 || Date.now() > deadline) return s;
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      expect(m.value('badgateway_commands_total', { source: 'console', command: 'help', outcome: 'ok' })).toBe(1);
      expect(m.value('badgateway_commands_total', { source: 'console', command: 'hosts', outcome: 'ok' })).toBe(1);
      expect(m.value('badgateway_commands_total', { source: 'console', command: 'invalid', outcome: 'usage' })).toBe(1);
      expect(m.value('badgateway_process_resident_memory_bytes')).toBeGreaterThan(0);
      // Ready: no Slack to wait for in the console; once the store (PGlite, created on this first start
      // while the console already answers) answers.
      let readyz = await fetch(`${base}/readyz`);
      while (readyz.status !== 200 && Date.now() < deadline) {
        expect(readyz.status).toBe(503);
        await new Promise((r) => setTimeout(r, 100));
        readyz = await fetch(`${base}/readyz`);
      }
      expect(readyz.status).toBe(200);
      expect(await readyz.json()).toMatchObject({ status: 'ready', checks: { store: { ok: true } } });
      expect(stdout).toContain('/502 triage TARGET');
    } finally {
      child.stdin.end();
    }
    expect(await exited).toBe(0);
  }, 120_000);
});
