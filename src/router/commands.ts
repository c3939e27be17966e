/**
 * The slash-command table: every `/502` subcommand once, with its grammar, usage line, help text,
 * who may run it and what it does. The router dispatches through it, `/502 help` and the usage
 * errors print from it, the console names its commands from it, and a test checks that manifest.yml
 * lists every one. Adding a subcommand is one entry here (plus its tests).
 */
import { UsageError, printable } from '../errors.js';
import { describeSpan } from '../config/index.js';
import { nearest } from '../suggest.js';
import { code, esc } from '../report/message.js';
import { scrub } from '../report/scrub.js';
import { errorMessage } from '../errors.js';
import { planDigestJob } from '../digest/job.js';
import type { Digests } from '../digest/digests.js';
import type { Logger } from '../log/index.js';
import type { Services } from '../app/services.js';
import type { TriageSpan } from '../triage/types.js';
import type { Need } from '../chat/auth.js';
import {
  parseActionCommand,
  parseAuditCommand,
  parseDigestCommand,
  parseNoArgs,
  parseRunbookCommand,
  parseTargetCommand,
  parseTimelineCommand,
  splitWords,
  type Command,
  type SectionName,
} from './grammar.js';
import { noticeMessage } from '../chat/messages.js';
import type { Invocation, Responder } from '../chat/types.js';
import { helpMessage, hostsMessage } from './messages.js';
import { spanOf } from './span.js';
import type { Plan, TriageJob } from './types.js';

/** A job a handler asks the router to run: it holds a slot from the plan on (a busy reply when the caps are full). */
export interface JobSpec {
  command: string;
  target: string;
  /** In words, for the busy and joined replies: "triage of web-03". */
  label: string;
  /** Identical work (same key) already running in the channel is joined instead of started again. */
  key?: string;
  /** The window in words, shown when a job is joined. */
  window?: string;
  run(responder: Responder, signal: AbortSignal): Promise<void>;
}

/** What a handler may use: the router's services and its job book, never its internals. */
export interface PlanContext {
  invocation: Invocation;
  services: Pick<Services, 'config' | 'inventory' | 'triage' | 'actions'>;
  logger: Logger;
  updateIntervalMs: number;
  digests?: Digests;
  /** mrkdwn: who asked. */
  requestedBy: string;
  job(spec: JobSpec): Plan;
  /** A busy reply when this caller may not start a job now, else null. */
  busy(): Plan | null;
  /** The router's read job: a progress message updated in place, then the report with its buttons. */
  read(name: 'triage' | SectionName, target: string, span: TriageSpan, responder: Responder, signal: AbortSignal): Promise<TriageJob>;
  /** `runbook` and `timeline` (src/router/runbook.ts). */
  runbookPlan(command: Command): Plan;
  /** Counts the command's outcome in the metrics. */
  count(command: string, outcome: string, seconds?: number): void;
}

export interface SlashCommand<C extends Command = Command> {
  name: C['name'];
  /** Other words that name it (`-h`, `--help`). */
  aliases?: readonly string[];
  /** What follows `/502 `, with placeholders in capitals: `triage TARGET [--since 15m] [--until TIME]`. */
  usage: string;
  /** One line for `/502 help`. */
  summary: string;
  /** Who may run it (src/router/auth.ts): `read` is anyone allowed in the channel; deciding a change is the approvals'. */
  permission: Need;
  /** The grammar: the words after the name, to the command (a UsageError says what was wrong). */
  parse(args: string[]): C;
  handle(command: C, ctx: PlanContext): Plan;
}

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

/** Keeps each entry's parse and handle typed by its own command. */
function define<N extends Command['name']>(spec: SlashCommand<Of<N>>): SlashCommand {
  return spec as unknown as SlashCommand;
}

const WINDOW = '[--since 15m] [--until TIME]';

/** triage, logs, fpm, slowlog: a read of hosts over a window, joined when the same one already runs in the channel. */
function planRead(command: Of<'triage' | SectionName>, ctx: PlanContext): Plan {
  const { name, target } = command;
  const hosts = ctx.services.inventory.resolve(target);
  if (name !== 'triage' && hosts.length !== 1) {
    throw new UsageError(
      `\`${name}\` takes one host; "${target}" names ${hosts.length}: ${hosts
        .slice(0, 5)
        .map((h) => h.name)
        .join(', ')}${hosts.length > 5 ? ', …' : ''}.`,
    );
  }
  const key = JSON.stringify([name, ctx.invocation.channel, hosts.map((h) => h.name), command.sinceMs, command.until ?? null]);
  return ctx.job({
    command: name,
    target,
    label: `${name === 'triage' ? 'triage' : `${name} read`} of ${target}`,
    key,
    window: `${describeSpan(command.sinceMs, null)}${command.until ? ', same end' : ''}`,
    run: async (responder, signal) => {
      await ctx.read(name, target, spanOf(command.sinceMs, command.until), responder, signal);
    },
  });
}

/** reload / restart (an approval request, or a dry-run preview) and audit: the actions' use cases. */
function planAction(command: Of<'reload' | 'restart' | 'audit'>, ctx: PlanContext): Plan {
  const host = command.host;
  if (host !== null) {
    const hosts = ctx.services.inventory.resolve(host);
    if (hosts.length !== 1) throw new UsageError(`\`${command.name}\` takes one host; "${host}" names ${hosts.length}.`);
  }
  const actions = ctx.services.actions;
  if (!actions) {
    const what = command.name === 'audit' ? 'The audit log is' : 'Reloading or restarting php-fpm from chat is';
    return { kind: 'reply', reason: 'refused', message: noticeMessage(`${what} not available here: it needs the bot's store, which ${code('badgateway start')} opens.`) };
  }
  const { invocation } = ctx;
  const actor = { user: invocation.user, surface: invocation.surface, channel: invocation.channel };
  return ctx.job({
    command: command.name,
    target: host ?? '*',
    label: `${command.name}${host ? ` of ${host}` : ''}`,
    run: async (responder, signal) => {
      const started = Date.now();
      let outcome = 'ok';
      try {
        if (command.name === 'audit') await actions.auditReply(command.host, responder, { actor, all: command.all });
        else await actions.request({ action: command.name, host: command.host, actor, reason: command.reason, preview: command.dryRun }, responder, signal);
      } catch (err) {
        outcome = 'failed';
        ctx.logger.warn({ err: errorMessage(err), command: command.name }, 'action command failed');
        await responder
          .ephemeral(noticeMessage(`❌ ${esc(command.name)} failed: ${esc(scrub(errorMessage(err)))}`))
          .catch((e) => ctx.logger.warn({ err: errorMessage(e) }, 'could not tell the caller'));
      } finally {
        ctx.count(command.name, outcome, (Date.now() - started) / 1000);
      }
    },
  });
}

/** `/502 digest [TARGET]`: the target is checked now (a UsageError is a usage reply); the job runs in src/digest. */
function planDigest(command: Of<'digest'>, ctx: PlanContext): Plan {
  const job = planDigestJob({
    command,
    channel: ctx.invocation.channel,
    requestedBy: ctx.requestedBy,
    config: ctx.services.config,
    inventory: ctx.services.inventory,
    triage: ctx.services.triage,
    logger: ctx.logger,
    updateIntervalMs: ctx.updateIntervalMs,
    ...(ctx.digests ? { digests: ctx.digests } : {}),
    onFinished: (outcome, seconds) => ctx.count('digest', outcome, seconds),
  });
  return ctx.job({ command: 'digest', target: job.target, label: `digest of ${job.target}`, run: (responder, signal) => job.run(responder, signal) });
}

function readCommand(name: 'triage' | SectionName, usage: string, summary: string): SlashCommand {
  return define<'triage' | SectionName>({ name, usage, summary, permission: 'read', parse: (args) => parseTargetCommand(name, args) as Of<typeof name>, handle: planRead });
}

export const SLASH_COMMANDS: readonly SlashCommand[] = [
  readCommand('triage', `triage TARGET ${WINDOW}`, 'what is wrong, how sure, the evidence and the fix'),
  readCommand('logs', `logs HOST ${WINDOW}`, 'the access-log report: 5xx, latency, upstreams, failing URIs'),
  readCommand('fpm', 'fpm HOST', 'PHP-FPM pool status and master-log events'),
  readCommand('slowlog', `slowlog HOST ${WINDOW}`, 'top slow scripts and the frames they were stuck in'),
  define<'hosts'>({
    name: 'hosts',
    usage: 'hosts',
    summary: 'the inventory: hosts and @groups',
    permission: 'read',
    parse: (args) => {
      parseNoArgs('hosts', args);
      return { name: 'hosts' };
    },
    handle: (_, ctx) => ({ kind: 'reply', reason: 'hosts', message: hostsMessage(ctx.services.inventory, ctx.services.config.file) }),
  }),
  define<'reload'>({
    name: 'reload',
    usage: 'reload HOST [--dry-run] [reason]',
    summary: 'graceful php-fpm reload, after an approver approves',
    permission: 'read',
    parse: (args) => parseActionCommand('reload', args),
    handle: planAction,
  }),
  define<'restart'>({
    name: 'restart',
    usage: 'restart HOST [--dry-run] [reason]',
    summary: 'php-fpm restart (drops running requests), after approval',
    permission: 'read',
    parse: (args) => parseActionCommand('restart', args),
    handle: planAction,
  }),
  define<'audit'>({
    name: 'audit',
    usage: 'audit [HOST] [--all]',
    summary: "this channel's recent decisions and commands (--all: every channel, approvers)",
    permission: 'read',
    parse: (args) => parseAuditCommand(args) as Of<'audit'>,
    handle: planAction,
  }),
  define<'runbook'>({
    name: 'runbook',
    usage: `runbook HOST ${WINDOW} [--runbook ID]`,
    summary: 'walk the 502 runbook step by step in a thread',
    permission: 'read',
    parse: (args) => parseRunbookCommand(args) as Of<'runbook'>,
    handle: (command, ctx) => ctx.busy() ?? ctx.runbookPlan(command),
  }),
  define<'timeline'>({
    name: 'timeline',
    usage: 'timeline [SESSION]',
    summary: "a runbook's timeline as a Markdown file, for the review",
    permission: 'read',
    parse: (args) => parseTimelineCommand(args) as Of<'timeline'>,
    handle: (command, ctx) => ctx.runbookPlan(command),
  }),
  define<'digest'>({
    name: 'digest',
    usage: 'digest [TARGET] [--since 24h] [--until TIME]',
    summary: 'the health digest now: 5xx, latency, pool pressure, with a chart',
    permission: 'read',
    parse: (args) => parseDigestCommand(args) as Of<'digest'>,
    handle: planDigest,
  }),
  define<'help'>({
    name: 'help',
    aliases: ['-h', '--help'],
    usage: 'help',
    summary: 'this help',
    permission: 'read',
    parse: () => ({ name: 'help' }),
    handle: () => ({ kind: 'reply', reason: 'help', message: helpMessage(SLASH_COMMANDS) }),
  }),
];

/** The entry a word names (its name or an alias, any case), or undefined. */
export function slashCommand(word: string | undefined): SlashCommand | undefined {
  const name = word?.toLowerCase();
  return SLASH_COMMANDS.find((c) => c.name === name || c.aliases?.includes(name ?? ''));
}

/** The one usage line of a command, as typed: `/502 reload HOST [--dry-run] [reason]`. */
export function usageLine(command: SlashCommand): string {
  return `/502 ${command.usage}`;
}

/** Parses the text after `/502`. Throws a UsageError (the message says what was wrong) on anything else. */
export function parseCommand(raw: string): Command {
  const [first, ...rest] = splitWords(raw);
  if (first === undefined) return { name: 'help' };
  const command = slashCommand(first);
  if (!command) {
    const near = nearest(
      first.toLowerCase(),
      SLASH_COMMANDS.map((c) => c.name),
    );
    throw new UsageError(`Unknown subcommand "${printable(first)}".${near ? ` Did you mean \`${near}\`?` : ''}`);
  }
  return command.parse(rest);
}
