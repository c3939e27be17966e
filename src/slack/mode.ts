/**
 * Which front end `badgateway start` runs, from the environment: Socket Mode with SLACK_APP_TOKEN +
 * SLACK_BOT_TOKEN, HTTP with SLACK_SIGNING_SECRET + SLACK_BOT_TOKEN, else the local console. A half
 * configured Slack (a token without its partner) is an error, not a silent fallback to the console.
 */
import { UsageError } from '../errors.js';

export const DEFAULT_PORT = 3000;
export const EVENTS_PATH = '/slack/events';

export type StartMode =
  | { mode: 'socket'; botToken: string; appToken: string; apiUrl?: string }
  | { mode: 'http'; botToken: string; signingSecret: string; port: number; path: string; apiUrl?: string }
  | { mode: 'console' };

export function chooseMode(env: NodeJS.ProcessEnv = process.env): StartMode {
  const botToken = env.SLACK_BOT_TOKEN?.trim() || undefined;
  const appToken = env.SLACK_APP_TOKEN?.trim() || undefined;
  const signingSecret = env.SLACK_SIGNING_SECRET?.trim() || undefined;
  const apiUrl = env.SLACK_API_URL?.trim() || undefined;
  if (!botToken && !appToken && !signingSecret) return { mode: 'console' };
  if (!botToken) {
    throw new UsageError(`${appToken ? 'SLACK_APP_TOKEN' : 'SLACK_SIGNING_SECRET'} is set but SLACK_BOT_TOKEN is not: set the bot token (xoxb-...) too.`);
  }
  if (!botToken.startsWith('xoxb-')) throw new UsageError('SLACK_BOT_TOKEN should be a bot token starting with xoxb-.');
  if (apiUrl && !/^https?:\/\/[^\s]+$/.test(apiUrl)) throw new UsageError(`SLACK_API_URL "${apiUrl.slice(0, 60)}" is not an http(s) URL.`);
  const api = apiUrl ? { apiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/` } : {};
  if (appToken) {
    if (!appToken.startsWith('xapp-')) throw new UsageError('SLACK_APP_TOKEN should be an app-level token starting with xapp-.');
    return { mode: 'socket', botToken, appToken, ...api };
  }
  if (signingSecret) {
    const portText = env.PORT?.trim() || String(DEFAULT_PORT);
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new UsageError(`PORT "${portText.slice(0, 20)}" is not a port number.`);
    return { mode: 'http', botToken, signingSecret, port, path: EVENTS_PATH, ...api };
  }
  throw new UsageError('SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN (Socket Mode) nor SLACK_SIGNING_SECRET (HTTP mode) is.');
}
