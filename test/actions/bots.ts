/**
 * Bot replicas for the approval tests: the REAL router, actions and Bolt app (HTTP mode, signed
 * requests) on a given store, talking to the Slack Web API stub; and the requests a responder makes
 * (a slash command, a click) with the waits for what the bot posts back.
 */
import { webApi } from '@slack/bolt';
import { expect } from 'vitest';
import { slackGroupMembers } from '../../src/actions/index.js';
import { createServices, type Services } from '../../src/app/services.js';
import type { Config } from '../../src/config/index.js';
import type { Logger } from '../../src/log/index.js';
import { createRouter, type Router } from '../../src/router/index.js';
import { createSlackApp, type SlackApp } from '../../src/slack/app.js';
import type { AuditEntry, Store } from '../../src/store/index.js';
import { defaultCatalogDir } from '../../src/config/index.js';
import { createLogger } from '../../src/log/index.js';
import { BotProcesses, type BotProcess } from '../support/bot-process.js';
import { writeConfig } from '../support/config.js';
import type { Lab } from '../lab/lab.js';
import { hostConfig, startLabHost, type LabHost } from '../support/lab-host.js';
import { freePort } from '../support/sshd.js';
import { allText, actionBody, clickPayload, post, sign, slashBody, startSlackStub, type BotResponse, type RecordedCall, type SlackStub } from '../slack/stub.js';
import { BACKENDS, type TestDb } from '../store/support.js';

export interface Bot {
  url: string;
  services: Services;
  router: Router;
  slack: SlackApp;
  stop(): Promise<void>;
}

export interface BotKit {
  start(store: Store, config: Config): Promise<Bot>;
  command(bot: Pick<Bot, 'url'>, text: string, user: string, inChannel?: string): Promise<BotResponse>;
  /** Clicks a button of the message `ts`; returns the id its ephemeral answer comes back on. */
  click(bot: Pick<Bot, 'url'>, actionId: string, value: string, ts: string, user: string, channel?: string): Promise<string>;
  ephemeral(id: string): Promise<string>;
  /** The approval request posted after the first `since` chat.postMessage calls. */
  requestPosted(since: number): Promise<{ value: string; id: string; call: RecordedCall }>;
  /** The outcome posted in the thread of the request message `ts`. */
  outcome(ts: string): Promise<RecordedCall>;
}

export const text = allText;

export function botKit(options: { stub: SlackStub; secret: string; channel: string; logger: Logger; groupApiUrl?: string }): BotKit {
  const { stub, secret, channel, logger } = options;
  let n = 0;
  return {
    async start(store, config) {
      const groupMembers = options.groupApiUrl ? slackGroupMembers(new webApi.WebClient('xoxb-test', { slackApiUrl: options.groupApiUrl, retryConfig: { retries: 0 } })) : null;
      const services = createServices(config, logger, { store, groupMembers });
      const router = createRouter({ services, logger, updateIntervalMs: 50 });
      const port = await freePort();
      const slack = createSlackApp({
        router,
        logger,
        mode: { mode: 'http', botToken: 'xoxb-test', signingSecret: secret, port, path: '/slack/events', apiUrl: stub.apiUrl },
        retryConfig: { retries: 2, factor: 1, minTimeout: 20, maxTimeout: 50 },
      });
      await slack.start();
      services.actions?.setMessenger((channel) => slack.channelResponder(channel));
      return {
        url: `http://127.0.0.1:${port}/slack/events`,
        services,
        router,
        slack,
        async stop() {
          await slack.stop();
          await router.close();
          await services.close();
        },
      };
    },
    command(bot, text, user, inChannel = channel) {
      const body = slashBody({ text, user_id: user, channel_id: inChannel, response_url: stub.responseUrl(`cmd-${n++}`) });
      return post(bot.url, body, sign(secret, body));
    },
    async click(bot, actionId, value, ts, user, inChannel = channel) {
      const id = `click-${n++}`;
      const body = actionBody(clickPayload({ user, channel: inChannel, messageTs: ts, actionId, value, responseUrl: stub.responseUrl(id) }));
      const res = await post(bot.url, body, sign(secret, body));
      expect(res.status).toBe(200);
      return id;
    },
    ephemeral(id) {
      return stub.waitFor(() => stub.calls.find((c) => c.method === 'respond' && c.path.endsWith(`/${id}`)), 20_000, `the reply to ${id}`).then(text);
    },
    async requestPosted(since) {
      const call = await stub.waitFor(
        () =>
          stub
            .ok('chat.postMessage')
            .slice(since)
            .find((c) => text(c).includes('Approval needed')),
        20_000,
        'the approval request',
      );
      const actions = (call.body.blocks as Array<Record<string, any>>).find((b) => b.type === 'actions')!;
      const value = actions.elements[0].value as string;
      return { value, id: value.slice(2), call };
    },
    outcome(ts) {
      return stub.waitFor(() => stub.ok('chat.postMessage').find((c) => c.body.thread_ts === ts && /php-fpm on \S+: (ok|failed)|Dry run/.test(text(c))), 45_000, `the outcome in the thread of ${ts}`);
    },
  };
}

export async function auditOf(store: Store, approvalId: string): Promise<AuditEntry[]> {
  return (await store.listAudit({ approvalId })).reverse();
}

/** The reloads a lab's PHP-FPM master has logged ("Reloading in progress"): how many times one really ran. */
export async function reloadsLogged(lab: Lab): Promise<number> {
  return ((await lab.readLogs()).fpmLog.match(/Reloading in progress/g) ?? []).length;
}

export const CHANNEL = 'C0ONCALL';
export const ASKER = 'U0ASKER';
export const APPROVER = 'U0APPROVER';

/**
 * For tests whose bots are REAL `badgateway start` processes: the Slack stub, the lab's php-fpm behind
 * a real sshd, one store they all reach (PostgreSQL when there is one, else a PGlite folder), and a
 * config whose reload is fpm.reload-signal on the lab.
 */
export interface ProcessBench {
  stub: SlackStub;
  labHost: LabHost;
  kit: BotKit;
  db: TestDb;
  /** A bot process with approvals (and shutdown) settings of its own, on the bench's store. */
  startBot(settings: { approvals: Record<string, string>; shutdown?: Record<string, string> }): Promise<BotProcess>;
  /** The reloads the lab's master has logged. */
  reloads(): Promise<number>;
  close(): Promise<void>;
}

export async function processBench(secret: string): Promise<ProcessBench> {
  const [stub, labHost] = await Promise.all([startSlackStub(), startLabHost({}, { names: ['web-lab'] })]);
  const kit = botKit({ stub, secret, channel: CHANNEL, logger: createLogger({ level: 'silent' }) });
  const db = BACKENDS[0]!.make();
  // Made and migrated here; the bot processes reach the same data through db.env.
  await (await db.open()).close();
  const bots = new BotProcesses({ secret, apiUrl: stub.apiUrl });
  return {
    stub,
    labHost,
    kit,
    db,
    startBot(settings) {
      const configFile = writeConfig({
        catalog: defaultCatalogDir(),
        slack: { channels: [CHANNEL], approvers: [APPROVER] },
        approvals: settings.approvals,
        ...(settings.shutdown ? { shutdown: settings.shutdown } : {}),
        hosts: { 'web-lab': { ...hostConfig(labHost.sshd, { accessLog: labHost.lab.paths.access }), actions: { reload: 'fpm.reload-signal' } } },
      });
      return bots.start({ BADGATEWAY_CONFIG: configFile, ...db.env });
    },
    reloads: () => reloadsLogged(labHost.lab),
    async close() {
      await bots.killAll();
      await db.drop();
      await stub.close();
      await labHost.stop();
    },
  };
}
