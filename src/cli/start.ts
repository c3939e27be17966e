/**
 * `badgateway start`: the bot. Slack in Socket Mode (SLACK_APP_TOKEN + SLACK_BOT_TOKEN) or over HTTP
 * (SLACK_SIGNING_SECRET + SLACK_BOT_TOKEN, PORT, /slack/events), else the local console on this
 * terminal. All three run the same router and use cases; the choice is logged as one JSON line.
 */
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import { webApi } from '@slack/bolt';
import { slackGroupMembers } from '../actions/index.js';
import { deferredStore, openStore, storeIdentity, storeOptionsFromEnv } from '../store/index.js';
import { createServices } from '../app/services.js';
import { runConsole } from '../console/console.js';
import { ExitCode } from '../errors.js';
import { createRouter } from '../router/router.js';
import { createEndpoints } from '../alerts/endpoints.js';
import { errorMessage } from '../errors.js';
import { health } from '../metrics/health.js';
import { metricsHost, metricsPort, startEndpointServer, toBoltRoutes, type EndpointServer } from '../metrics/http.js';
import { metrics } from '../metrics/metrics.js';
import { createSlackApp, type SlackApp } from '../slack/app.js';
import { chooseMode } from '../slack/mode.js';
import { startBanner } from './banner.js';
import { drain, stopSignals } from './shutdown.js';
import { createDigests } from '../digest/digests.js';
import { startDigestSchedules } from '../digest/bot.js';
import { responderDigestPoster, textDigestPoster } from '../digest/posters.js';
import type { DigestScheduler } from '../digest/scheduler.js';
import { approvalGateway, createRunbookService, loadRunbooks } from '../runbook/index.js';
import type { Context } from './context.js';
import type { Io } from './types.js';

export async function start(context: Context, io: Io, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const mode = chooseMode(env);
  const { config, inventory, catalog, logger } = context;
  const loaded = { config: config.file, hosts: inventory.hosts.length, commands: catalog.list().length };
  io.stdout.write(startBanner(config, mode));
  if (mode.mode === 'console') {
    logger.info({ mode: 'console', ...loaded }, 'no Slack credentials in the environment: starting the local console');
    // Keep the terminal for the conversation: only warnings from here on, unless LOG_LEVEL asks otherwise.
    if (!env.LOG_LEVEL) logger.level = 'warn';
  } else if (mode.mode === 'socket') {
    logger.info({ mode: 'socket', ...loaded, ...(mode.apiUrl ? { apiUrl: mode.apiUrl } : {}) }, 'starting the Slack app in Socket Mode');
  } else {
    logger.info({ mode: 'http', port: mode.port, path: mode.path, ...loaded, ...(mode.apiUrl ? { apiUrl: mode.apiUrl } : {}) }, 'starting the Slack app in HTTP mode');
  }

  // The executor reports connections and commands to the metrics (createServices builds the same executor as the CLI).
  metrics.collectProcessMetrics();
  // Runbooks (runbooks/*.md) are validated before anything opens: a bad file stops the start with file:line: reason.
  const runbookFiles = loadRunbooks(config.runbooksDir, catalog);
  // Durable state (approvals, the audit log): PostgreSQL with DATABASE_URL, else PGlite under ./data (next to badgateway.yaml).
  // It opens while the bot starts serving (creating the embedded store on a first start takes seconds):
  // what needs it waits for it, and a store that cannot be opened stops the bot with its error.
  const storeOptions = { ...storeOptionsFromEnv(env, config.file ? dirname(config.file) : process.cwd()), logger };
  const opening = openStore(storeOptions);
  const storeFailed = new AbortController();
  opening.catch(() => storeFailed.abort());
  const store = deferredStore(opening, storeIdentity(storeOptions));
  // /readyz: the store answers a query (PGlite in-process, or the PostgreSQL server).
  health.setCheck('store', () => store.migrations());
  // slack.approverGroup members come from usergroups.users.list (scope usergroups:read).
  const groupMembers =
    mode.mode === 'console' || !config.slack.approverGroup
      ? null
      : slackGroupMembers(new webApi.WebClient(mode.botToken, { timeout: 10_000, retryConfig: { retries: 1 }, ...(mode.apiUrl ? { slackApiUrl: mode.apiUrl } : {}) }));
  let slack: SlackApp | null = null;
  // Null (the alert webhook answers 503, Alertmanager retries) until the Slack app is up, and in console mode.
  const responderFor = (channel: string) => {
    try {
      return slack?.channelResponder(channel) ?? null;
    } catch (err) {
      // The Slack app was created but is not (or no longer) started: alerts get 503 until it is; say why.
      logger.warn({ channel, err: errorMessage(err) }, 'no Slack responder for the channel: alerts are answered 503');
      return null;
    }
  };
  const services = createServices(config, logger, { observer: metrics.observer, store, groupMembers });
  services.actions?.setMessenger(responderFor);
  // Digests (scheduled and `/502 digest`): history and the exactly-once lease live in the store.
  const digests = createDigests({ triage: services.triage, store, logger });
  let digestSchedules: DigestScheduler | null = null;
  const armDigests = (poster: Parameters<typeof startDigestSchedules>[0]['poster']) => {
    digestSchedules = startDigestSchedules({ config, digests, poster, logger, onPosted: (name) => metrics.digestPosted(name) });
  };
  // Runbook sessions live in the store (they survive a restart); a step's action goes through the approvals.
  const runbooks = createRunbookService({ services, store, runbooks: runbookFiles, logger, ...(services.actions ? { actions: approvalGateway(services.actions) } : {}) });
  const router = createRouter({ services, logger, metrics, digests, runbooks });
  metrics.trackRunningJobs(() => router.running());
  let endpoints: ReturnType<typeof createEndpoints> | null = null;
  let server: EndpointServer | null = null;
  const signals = stopSignals();
  const schedules = () => digestSchedules as DigestScheduler | null;
  // SIGTERM/SIGINT: take nothing new, let running work finish (shutdown.drainTimeout), cancel the rest.
  const drainWork = (signal: NodeJS.Signals) => {
    logger.info({ signal, running: router.running() }, 'stopping');
    return drain({
      logger,
      timeoutMs: config.shutdown.drainTimeoutMs,
      hurry: signals.hurry,
      stopTaking: () => {
        router.drain();
        schedules()?.drain();
        endpoints?.drain();
      },
      idle: async () => {
        await Promise.all([router.idle(), schedules()?.idle(), endpoints?.idle()]);
      },
      cancel: async () => {
        await Promise.all([schedules()?.stop(), router.close(), endpoints?.close()]);
      },
      running: () => ({ jobs: router.running(), digests: schedules()?.busy() ?? [] }),
    });
  };
  try {
    endpoints = createEndpoints({ config, services, router, logger, metrics, health, env, responderFor });
    if (mode.mode !== 'http') {
      // No Bolt HTTP receiver in these modes: Prometheus and Alertmanager reach the bot on METRICS_PORT.
      const port = metricsPort(env);
      const host = metricsHost(env, mode.mode);
      try {
        server = await startEndpointServer({ routes: endpoints.routes, port, host, logger });
        logger.info({ host, port: server.port, paths: endpoints.routes.map((r) => r.path) }, 'metrics and health endpoints listening');
      } catch (err) {
        if (mode.mode === 'socket') throw err;
        // The console is a terminal session: a busy port (another console) is not worth interrupting it for.
        logger.info({ port, err: errorMessage(err) }, 'metrics endpoint not started (set METRICS_PORT to another port)');
      }
    }
    if (mode.mode === 'console') {
      services.actions?.startSweeper();
      armDigests(textDigestPoster(io.stdout));
      const ended = new AbortController();
      // A store that cannot be opened ends the console as it ends the app (its error is the exit).
      storeFailed.signal.addEventListener('abort', () => ended.abort());
      const session = runConsole({ router, input: process.stdin, output: io.stdout, user: userInfo().username, signal: ended.signal });
      const signal = await Promise.race([session.then(() => null), signals.first]);
      if (signal) {
        await drainWork(signal);
        ended.abort();
      }
      await session;
      if (storeFailed.signal.aborted) await opening;
      return ExitCode.ok;
    }
    slack = createSlackApp({ router, logger, mode, metrics, health, routes: toBoltRoutes(endpoints.routes, logger) });
    const { port } = await slack.start();
    // Expired requests, and running ones whose runner vanished (its lease lapsed): now, once the app can
    // update their messages, and every 10 s.
    services.actions?.startSweeper();
    armDigests(responderDigestPoster(responderFor));
    logger.info({ mode: mode.mode, ...(port !== null ? { port } : {}) }, 'slack app running');
    const failed = new Promise<'store failed'>((resolve) => {
      if (storeFailed.signal.aborted) resolve('store failed');
      else storeFailed.signal.addEventListener('abort', () => resolve('store failed'));
    });
    const stop = await Promise.race([signals.first, failed]);
    // The store's error stops the bot with exit 1; a signal drains first.
    if (stop === 'store failed') await opening;
    else await drainWork(stop);
    return ExitCode.ok;
  } finally {
    signals.dispose();
    // Whatever is left (an error above skipped the drain) is cancelled; the store closes last, after the
    // executor has written the audit records of every command it ran.
    await schedules()?.stop();
    await router.close();
    await endpoints?.close();
    await slack?.stop();
    await server?.close();
    await services.close();
    await store.close();
    logger.info('stopped');
  }
}
