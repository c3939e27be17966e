/**
 * `badgateway start`: the bot. Slack in Socket Mode (SLACK_APP_TOKEN + SLACK_BOT_TOKEN) or over HTTP
 * (SLACK_SIGNING_SECRET + SLACK_BOT_TOKEN, PORT, /slack/events), else the local console on this
 * terminal. All three run the same router and use cases; the choice is logged as one JSON line.
 */
import { userInfo } from 'node:os';
import { createServices } from '../app/services.js';
import { runConsole } from '../console/console.js';
import { ExitCode } from '../errors.js';
import { createRouter } from '../router/router.js';
import { createSlackApp } from '../slack/app.js';
import { chooseMode } from '../slack/mode.js';
import type { Context } from './context.js';
import type { Io } from './main.js';

export async function start(context: Context, io: Io, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const mode = chooseMode(env);
  const { config, inventory, catalog, logger } = context;
  const loaded = { config: config.file, hosts: inventory.hosts.length, commands: catalog.list().length };
  if (mode.mode === 'console') {
    logger.info({ mode: 'console', ...loaded }, 'no Slack credentials in the environment: starting the local console');
    // Keep the terminal for the conversation: only warnings from here on, unless LOG_LEVEL asks otherwise.
    if (!env.LOG_LEVEL) logger.level = 'warn';
  } else if (mode.mode === 'socket') {
    logger.info({ mode: 'socket', ...loaded, ...(mode.apiUrl ? { apiUrl: mode.apiUrl } : {}) }, 'starting the Slack app in Socket Mode');
  } else {
    logger.info({ mode: 'http', port: mode.port, path: mode.path, ...loaded, ...(mode.apiUrl ? { apiUrl: mode.apiUrl } : {}) }, 'starting the Slack app in HTTP mode');
  }

  const services = createServices(config, logger, { executor: context.executor() });
  const router = createRouter({ services, logger });
  try {
    if (mode.mode === 'console') {
      await runConsole({ router, input: process.stdin, output: io.stdout, user: userInfo().username });
      return ExitCode.ok;
    }
    const slack = createSlackApp({ router, logger, mode });
    const { port } = await slack.start();
    logger.info({ mode: mode.mode, ...(port !== null ? { port } : {}) }, 'slack app running');
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    logger.info({ signal, running: router.running() }, 'stopping');
    await slack.stop();
    return ExitCode.ok;
  } finally {
    await router.close();
    await services.close();
  }
}
