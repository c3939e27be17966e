/**
 * @module slack: the Bolt app. It only translates: a slash command or a button click becomes an
 * Invocation or a Click for the router, and the router's messages become Block Kit. Every command
 * is acknowledged at once (the router's plan is pure, no I/O), and any work runs after the ack.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { App, HTTPReceiver, SocketModeReceiver, webApi, type AppOptions, type RespondFn } from '@slack/bolt';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/index.js';
import type { Health } from '../metrics/health.js';
import type { BoltRoute } from '../metrics/http.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Responder } from '../chat/types.js';
import { noticeMessage } from '../chat/messages.js';
import type { Router } from '../router/router.js';
import { renderSlack } from '../report/slack.js';
import { boltLogger } from './logger.js';
import type { StartMode } from './mode.js';
import { SlackClickResponder, SlackResponder } from './responder.js';

const { WebClient } = webApi;

type RetryOptions = NonNullable<webApi.WebClientOptions['retryConfig']>;

/**
 * Retries for Web API calls: a 429 waits its Retry-After and counts as one retry; network errors
 * and 5xx back off from 1 s to 30 s, about two minutes in all (plus Retry-After waits) before a
 * message is given up on, rather than the client's default thirty minutes.
 */
export const DEFAULT_RETRY: RetryOptions = { retries: 8, factor: 2, minTimeout: 1000, maxTimeout: 30_000, randomize: true };

export interface SlackAppOptions {
  router: Router;
  logger: Logger;
  mode: Exclude<StartMode, { mode: 'console' }>;
  retryConfig?: RetryOptions;
  /** Per-request timeout of Web API calls, ms (default 30 s). */
  timeoutMs?: number;
  /**
   * HTTP mode: extra endpoints on the receiver's port (/healthz, /readyz, /metrics, the Alertmanager
   * webhook; src/metrics/http.ts). Without them only a plain /healthz is served.
   */
  routes?: BoltRoute[];
  /** Counts Web API errors, 429s and retries. */
  metrics?: Pick<Metrics, 'slackApiError' | 'slackRateLimitedCall' | 'slackRetry'>;
  /** Gets a `slack` readiness check: auth.test passed and (Socket Mode) the socket is connected. */
  health?: Pick<Health, 'setCheck'>;
}

export interface SlackApp {
  app: App;
  mode: 'socket' | 'http';
  /** Starts listening; in HTTP mode resolves to the port. */
  start(): Promise<{ port: number | null }>;
  stop(): Promise<void>;
  /** Posts in a channel on the bot's own initiative (alerts, digests); after start(). */
  channelResponder(channel: string): Responder;
}

/** A Slack error for a metrics label: the platform's code (`not_in_channel`), else the client's error kind. */
export function slackErrorCode(err: unknown): string {
  const data = (err as { data?: { error?: unknown } }).data?.error;
  if (typeof data === 'string' && data) return data;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code.replace(/^slack_webapi_/, '');
  return 'unknown';
}

function str(value: unknown, max = 200): string | null {
  return typeof value === 'string' && value.length > 0 && value.length <= max ? value : null;
}

export function createSlackApp(options: SlackAppOptions): SlackApp {
  const { router, logger, mode } = options;
  const log = logger.child({ component: 'slack' });
  const metrics = options.metrics;
  const retry: RetryOptions & { onFailedAttempt?: (error: Error & { retriesLeft?: number }) => void } = { ...(options.retryConfig ?? DEFAULT_RETRY) };
  if (metrics) {
    // p-retry calls this on every failed attempt (the client passes retryConfig through): count the retries.
    retry.onFailedAttempt = (error) => {
      if ((error.retriesLeft ?? 0) <= 0) return;
      const reason = /rate limit/i.test(error.message) ? 'rate_limited' : (error as { code?: string }).code === 'slack_webapi_http_error' ? 'http_error' : 'network';
      metrics.slackRetry(reason);
    };
  }
  const watched = new WeakSet<object>();
  /** Counts 429s from a client (Bolt hands listeners pooled clients of its own): once per client. */
  const watch = <C extends webApi.WebClient>(client: C): C => {
    if (metrics && !watched.has(client)) {
      watched.add(client);
      client.on(webApi.WebClientEvent.RATE_LIMITED, (_seconds: number, request: { url?: string }) => {
        metrics.slackRateLimitedCall(
          String(request?.url ?? '')
            .split('/')
            .pop() || 'unknown',
        );
      });
    }
    return client;
  };
  const onApiError = metrics ? (method: string, err: unknown) => metrics.slackApiError(method, slackErrorCode(err)) : undefined;
  let authenticated = false;
  let socketConnected = false;
  const clientOptions: webApi.WebClientOptions = {
    retryConfig: retry,
    timeout: options.timeoutMs ?? 30_000,
    ...(mode.apiUrl ? { slackApiUrl: mode.apiUrl } : {}),
  };
  const build = (ids: { botId?: string; botUserId?: string }) => {
    // With both ids given Bolt does not call auth.test again (start() has just done it).
    const common: AppOptions = { token: mode.botToken, logger: boltLogger(logger), clientOptions, ...ids };
    if (mode.mode === 'socket') {
      // Built here (as Bolt would) to hold its public socket client, which says when the connection drops.
      const receiver = new SocketModeReceiver({ appToken: mode.appToken, logger: common.logger! });
      socket = receiver.client;
      return new App({ ...common, socketMode: true, appToken: mode.appToken, receiver });
    }
    const receiver = new HTTPReceiver({
      signingSecret: mode.signingSecret,
      endpoints: mode.path,
      port: mode.port,
      logger: common.logger!,
      customRoutes: options.routes ?? [
        {
          path: '/healthz',
          method: ['GET'],
          handler: (_req, res) => {
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.end(`ok ${router.running()} running\n`);
          },
        },
      ],
    });
    refuseFutureRequests(receiver, log);
    return new App({ ...common, receiver });
  };

  let app: App | null = null;
  let socket: SocketModeReceiver['client'] | null = null;
  options.health?.setCheck('slack', () => {
    if (!authenticated) return 'auth.test has not passed yet';
    if (mode.mode === 'socket' && !socketConnected) return 'the Socket Mode connection is down';
    return true;
  });
  return {
    mode: mode.mode,
    get app() {
      if (!app) throw new Error('the Slack app is built by start()');
      return app;
    },
    async start() {
      // Fail at start, not at the first command, when the token is wrong.
      const auth = await watch(new WebClient(mode.botToken, { ...clientOptions, logger: boltLogger(logger) })).auth.test();
      log.info({ team: auth.team, bot: auth.user }, 'slack token accepted');
      authenticated = true;
      app = build(auth.bot_id && auth.user_id ? { botId: auth.bot_id, botUserId: auth.user_id } : {});
      watch(app.client);
      listen(app, router, log, { watch, ...(onApiError ? { onApiError } : {}) });
      if (mode.mode === 'socket') {
        // The receiver's socket client says when the connection drops and comes back (readiness).
        socket?.on('connected', () => (socketConnected = true));
        socket?.on('reconnecting', () => (socketConnected = false));
        socket?.on('disconnected', () => (socketConnected = false));
        await app.start();
        socketConnected = true;
        return { port: null };
      }
      const server = (await app.start(mode.port)) as { address(): unknown };
      const address = server.address();
      return { port: typeof address === 'object' && address ? (address as { port: number }).port : mode.port };
    },
    async stop() {
      await app?.stop().catch((err) => log.warn({ err: errorMessage(err) }, 'stopping the slack app'));
    },
    channelResponder(channel: string): Responder {
      if (!app) throw new Error('the Slack app is not started');
      return new SlackResponder({ client: app.client, channel, user: 'badgateway', logger: log, ...(onApiError ? { onApiError } : {}) });
    },
  };
}

/** How far ahead of our clock a request's timestamp may be (Slack's own rule is five minutes either way). */
export const MAX_REQUEST_SKEW_SECONDS = 5 * 60;

/**
 * Bolt refuses requests stamped more than five minutes ago, not those stamped in the future: a signed
 * request kept with a future stamp could be replayed for as long as it says. Refused here, 401, before
 * Bolt reads it; a request without the header goes on to Bolt's own checks.
 */
function refuseFutureRequests(receiver: HTTPReceiver, log: Logger): void {
  const listener = receiver.requestListener;
  receiver.requestListener = (req: IncomingMessage, res: ServerResponse) => {
    const stamp = Number(req.headers['x-slack-request-timestamp']);
    if (Number.isFinite(stamp) && stamp > Date.now() / 1000 + MAX_REQUEST_SKEW_SECONDS) {
      log.warn({ ahead: Math.round(stamp - Date.now() / 1000) }, 'slack request stamped in the future refused');
      req.resume();
      res.writeHead(401);
      res.end();
      return;
    }
    listener(req, res);
  };
}

/** The listeners: translate Slack payloads for the router, acknowledge at once, never throw. */
interface ListenHooks {
  watch<C extends webApi.WebClient>(client: C): C;
  onApiError?: (method: string, err: unknown) => void;
}

function listen(app: App, router: Router, log: Logger, hooks: ListenHooks): void {
  const counting = hooks.onApiError ? { onApiError: hooks.onApiError } : {};
  // Every slash command configured for this app lands here (the manifest names /502).
  app.command(/^\//, async ({ body, ack, respond, client }) => {
    const started = Date.now();
    const user = str(body.user_id, 40);
    const channel = str(body.channel_id, 40);
    const text = typeof body.text === 'string' ? body.text : body.text === undefined ? '' : null;
    if (!user || !channel || text === null) {
      log.warn({ user, channel }, 'malformed slash command payload');
      await ack({ response_type: 'ephemeral', text: 'That request was malformed (no user, channel or text); nothing was run.' });
      return;
    }
    let plan;
    try {
      plan = router.plan({ surface: 'slack', text, user, channel });
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'router failed to plan a command');
      await ack({ response_type: 'ephemeral', ...renderSlack(noticeMessage(`❌ Something went wrong on my side: ${errorMessage(err)}`)) });
      return;
    }
    if (plan.kind === 'reply') {
      await ack({ response_type: 'ephemeral', ...renderSlack(plan.message) });
      log.info({ user, channel, reply: plan.reason, ackMs: Date.now() - started }, 'command answered');
      return;
    }
    await ack();
    log.info({ user, channel, command: plan.command, target: plan.target, ackMs: Date.now() - started }, 'command acknowledged');
    const responder = new SlackResponder({ client: hooks.watch(client), channel, user, logger: log, ...counting, ...(str(body.response_url, 2000) ? { respond } : {}) });
    void plan.run(responder);
  });

  // Button clicks on the bot's messages (action ids bg:...); anything else is answered, not dropped.
  app.action(/.*/, async ({ body, ack, respond, client, action }) => {
    await ack();
    const payload = body as unknown as Record<string, unknown>;
    const user = str((payload.user as { id?: unknown } | undefined)?.id, 40);
    const container = (payload.container ?? {}) as Record<string, unknown>;
    const channel = str((payload.channel as { id?: unknown } | undefined)?.id, 40) ?? str(container.channel_id, 40);
    const messageTs = str(container.message_ts, 40) ?? str((payload.message as { ts?: unknown } | undefined)?.ts, 40);
    // A button in a thread reply (runbook steps): replies go to the thread's parent.
    const threadTs = str(container.thread_ts, 40) ?? str((payload.message as { thread_ts?: unknown } | undefined)?.thread_ts, 40);
    const act = action as unknown as Record<string, unknown>;
    const actionId = str(act.action_id, 255);
    const respondFn: RespondFn | undefined = str(payload.response_url, 2000) ? respond : undefined;
    if (!user || !channel || !actionId) {
      log.warn({ user, channel, actionId }, 'malformed action payload');
      if (respondFn) {
        await respondFn({ response_type: 'ephemeral', replace_original: false, text: 'That click could not be read (malformed payload); nothing was done.' }).catch((err: unknown) =>
          log.warn({ err: errorMessage(err) }, 'could not answer a malformed click'),
        );
      }
      return;
    }
    const responder = new SlackClickResponder({ client: hooks.watch(client), channel, user, logger: log, messageTs, threadTs, ...counting, ...(respondFn ? { respond: respondFn } : {}) });
    log.info({ user, channel, action: actionId }, 'button clicked');
    void router.click({ surface: 'slack', user, channel, action: actionId, value: act.value }, responder);
  });

  app.error(async (error) => {
    log.error({ err: errorMessage(error), code: (error as { code?: string }).code }, 'slack app error');
  });
}
