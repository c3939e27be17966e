/**
 * The real Bolt app in HTTP mode on a free port, in front of the real router, talking to a Slack Web
 * API stand-in (test/slack/stub.ts): what the Slack tests drive with signed requests.
 */
import { createServices, type Services } from '../../src/app/services.js';
import type { Config } from '../../src/config/index.js';
import { createLogger, type Logger } from '../../src/log/index.js';
import { createRouter, type Router } from '../../src/router/index.js';
import { createSlackApp, type SlackApp } from '../../src/slack/app.js';
import { freePort } from './sshd.js';

export interface HttpBot {
  services: Services;
  router: Router;
  bot: SlackApp;
  /** The events URL to post signed requests to. */
  url: string;
  /** Stops the app and the router's jobs, then the services it made (not ones it was given). */
  stop(): Promise<void>;
}

export interface HttpBotOptions {
  /** The services to route to; or `config`, to build the real ones (and close them at stop). */
  services?: Services;
  config?: Config;
  logger?: Logger;
  apiUrl: string;
  signingSecret: string;
  botToken: string;
  updateIntervalMs: number;
}

export async function startHttpBot(options: HttpBotOptions): Promise<HttpBot> {
  const logger = options.logger ?? createLogger({ level: process.env.LOG_LEVEL ?? 'silent' });
  const services = options.services ?? createServices(options.config!, logger);
  const router = createRouter({ services, logger, updateIntervalMs: options.updateIntervalMs });
  const port = await freePort();
  const bot = createSlackApp({
    router,
    logger,
    mode: { mode: 'http', botToken: options.botToken, signingSecret: options.signingSecret, port, path: '/slack/events', apiUrl: options.apiUrl },
    retryConfig: { retries: 3, factor: 1, minTimeout: 20, maxTimeout: 50 },
  });
  await bot.start();
  return {
    services,
    router,
    bot,
    url: `http://127.0.0.1:${port}/slack/events`,
    async stop() {
      await bot.stop();
      await router.close();
      if (!options.services) await services.close();
    },
  };
}
