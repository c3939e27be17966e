/**
 * @module router: the one command router behind every front end. It parses `/502 ...`, checks who
 * may run it where, and either answers at once (help, hosts, a usage error, a refusal: nothing
 * runs) or returns a job: post a message, run the use case with progress updates in place, and
 * finish with the report. Button clicks come back here too.
 */
import { BadgatewayError, UsageError, errorMessage } from '../errors.js';
import type { Logger } from '../log/index.js';
import type { Services } from '../app/services.js';
import {
  ACTION_EVIDENCE,
  ACTION_RELOAD,
  ACTION_RUNBOOK,
  evidenceText,
  parseButtonValue,
  sectionMessage,
  triageMessage,
} from '../report/chat.js';
import { bold, code, esc, mention, pre, type Message } from '../report/message.js';
import { scrub } from '../report/scrub.js';
import { formatDuration } from '../config/index.js';
import { authorize } from './auth.js';
import { parseCommand, type Command, type SectionName } from './grammar.js';
import { ProgressState, helpMessage, hostsMessage, noticeMessage, refusalMessage, usageMessage } from './messages.js';
import { ResultCache } from './results.js';
import { ThrottledUpdates, UpdateBudget } from './throttle.js';
import type { Click, ClickResponder, Invocation, Plan, Responder } from './types.js';

export interface RouterOptions {
  services: Pick<Services, 'config' | 'inventory' | 'triage'>;
  logger: Logger;
  /** Minimum time between two in-place updates of one message (Slack: chat.update is Tier 3). */
  updateIntervalMs?: number;
  /** Jobs running at once; more are refused politely. */
  maxJobs?: number;
  /** Interim (progress) updates per minute across all jobs; final answers are not counted. */
  updatesPerMinute?: number;
  results?: ResultCache;
}

export interface Router {
  /** Decides what a command is, without I/O: safe to call before acknowledging. */
  plan(invocation: Invocation): Plan;
  /** Handles a button click (the front end has acknowledged it already). */
  click(click: Click, responder: ClickResponder): Promise<void>;
  /** Jobs running now. */
  running(): number;
  /** Resolves when no job is running. */
  idle(): Promise<void>;
  /** Cancels running jobs and waits for them to end. */
  close(): Promise<void>;
}

/** Largest evidence shown inline in a thread reply; longer goes up as a file. */
const INLINE_EVIDENCE = 2800;

export function createRouter(options: RouterOptions): Router {
  const { services, logger } = options;
  const updateIntervalMs = options.updateIntervalMs ?? 1500;
  const maxJobs = options.maxJobs ?? 50;
  const results = options.results ?? new ResultCache();
  const budget = new UpdateBudget(options.updatesPerMinute ?? 40);
  const jobs = new Map<Promise<void>, AbortController>();

  function who(invocation: { surface: Invocation['surface']; user: string }): string {
    return invocation.surface === 'slack' ? mention(invocation.user) : esc(invocation.user);
  }

  function track(run: (signal: AbortSignal) => Promise<void>): Promise<void> {
    const controller = new AbortController();
    const promise: Promise<void> = run(controller.signal)
      .catch((err) => logger.error({ err: errorMessage(err) }, 'job failed'))
      .finally(() => jobs.delete(promise));
    jobs.set(promise, controller);
    return promise;
  }

  function plan(invocation: Invocation): Plan {
    const refusal = authorize(invocation, services.config.slack, 'read');
    if (refusal) {
      logger.info({ user: invocation.user, channel: invocation.channel }, 'command refused');
      return { kind: 'reply', reason: 'refused', message: refusalMessage(refusal) };
    }
    let command: Command;
    try {
      command = parseCommand(invocation.text);
      if (command.name === 'help') return { kind: 'reply', reason: 'help', message: helpMessage() };
      if (command.name === 'hosts') return { kind: 'reply', reason: 'hosts', message: hostsMessage(services.inventory, services.config.file) };
      const hosts = services.inventory.resolve(command.target);
      if (command.name !== 'triage' && hosts.length !== 1) {
        throw new UsageError(
          `\`${command.name}\` takes one host; "${command.target}" names ${hosts.length}: ${hosts
            .slice(0, 5)
            .map((h) => h.name)
            .join(', ')}${hosts.length > 5 ? ', …' : ''}.`,
        );
      }
    } catch (err) {
      if (err instanceof BadgatewayError && err.kind === 'usage') {
        return { kind: 'reply', reason: 'usage', message: usageMessage(withHostHint(invocation.text, err.message)) };
      }
      throw err;
    }
    if (jobs.size >= maxJobs) {
      return { kind: 'reply', reason: 'busy', message: noticeMessage(`I am running ${jobs.size} jobs already; please try again in a minute.`) };
    }
    const { name, target, sinceMs } = command;
    return {
      kind: 'job',
      command: name,
      target,
      run: (responder) => track((signal) => runTriage(invocation, name, target, sinceMs, responder, signal)),
    };
  }

  /** "Unknown subcommand web-03" when web-03 is a host: suggest the triage. */
  function withHostHint(text: string, problem: string): string {
    const first = text.trim().split(/\s+/)[0] ?? '';
    if (/^Unknown subcommand/.test(problem) && first && services.inventory.get(first)) {
      return `${problem.replace(/\.$/, '')}. Did you mean \`/502 triage ${first}\`?`;
    }
    return problem;
  }

  async function runTriage(
    invocation: Invocation,
    name: 'triage' | SectionName,
    target: string,
    sinceMs: number,
    responder: Responder,
    signal: AbortSignal,
  ): Promise<void> {
    const title = name === 'triage' ? `Triage of ${target}` : `${{ logs: 'Access log', fpm: 'PHP-FPM', slowlog: 'Slow log' }[name]} of ${target}`;
    const hosts = services.inventory.resolve(target).map((h) => h.name);
    const state = new ProgressState(title, formatDuration(sinceMs), who(invocation), hosts);
    const log = logger.child({ job: name, target, user: invocation.user, channel: invocation.channel });
    let handle;
    try {
      handle = await responder.post(state.message());
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'could not post the progress message');
      await responder.ephemeral(noticeMessage(`⚠️ I could not post in this channel: ${esc(errorMessage(err))}`)).catch(() => undefined);
      return;
    }
    const updates = new ThrottledUpdates(handle, updateIntervalMs, (err) => log.warn({ err: errorMessage(err) }, 'progress update failed'), budget);
    const started = Date.now();
    let final: Message;
    try {
      const result = await services.triage({
        target,
        sinceMs,
        signal,
        onProgress: (event) => {
          state.apply(event);
          updates.push(state.message());
        },
      });
      const resultId = results.put(result);
      const options = { resultId, requestedBy: who(invocation) };
      final = name === 'triage' ? triageMessage(result, options) : sectionMessage(name, result, options);
      log.info({ ms: Date.now() - started, hosts: result.hosts.length, top: result.rows[0]?.topCause ?? null }, 'job done');
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'job failed');
      final = noticeMessage(`❌ ${bold(`${esc(title)} failed`)}: ${esc(scrub(errorMessage(err)))}`);
    }
    await updates.finish(final);
  }

  async function click(input: Click, responder: ClickResponder): Promise<void> {
    const action = input.action.replace(/#\d+$/, '');
    const known = [ACTION_EVIDENCE, ACTION_RUNBOOK, ACTION_RELOAD];
    if (!known.includes(action)) {
      await responder.ephemeral(noticeMessage(`That button (${code(input.action.slice(0, 60))}) is not one I know.`));
      return;
    }
    const need = action === ACTION_RELOAD ? 'mutate' : 'read';
    const refusal = authorize(input, services.config.slack, need);
    if (refusal) {
      await responder.ephemeral(refusalMessage(refusal));
      return;
    }
    const ref = parseButtonValue(input.value);
    if (!ref) {
      await responder.ephemeral(noticeMessage('That button carries nothing I can read (an old or altered message). Run the command again.'));
      return;
    }
    if (action === ACTION_RUNBOOK || action === ACTION_RELOAD) {
      const what = action === ACTION_RUNBOOK ? 'Runbooks are' : 'Reloading php-fpm from chat is';
      await responder.ephemeral(noticeMessage(`${what} not available yet in this version of badgateway.${ref.host ? ` For now, see ${code(`/502 fpm ${ref.host}`)}.` : ''}`));
      return;
    }
    const result = results.get(ref.resultId);
    if (!result) {
      await responder.ephemeral(noticeMessage(`That result is no longer in memory (the bot restarted or it is older than a day). Run ${code(`/502 triage ${ref.host ?? 'TARGET'}`)} again.`));
      return;
    }
    const text = evidenceText(result, ref.host);
    const target = responder.source;
    const header = `Evidence for ${code(ref.host ?? result.target)}, asked by ${who(input)}`;
    if (text.length <= INLINE_EVIDENCE) {
      const message = { text: `Evidence for ${esc(ref.host ?? result.target)}`, blocks: [{ kind: 'section' as const, text: `${header}\n${pre(text.trimEnd().split('\n'))}` }] };
      if (target) await target.reply(message);
      else await responder.post(message);
      return;
    }
    const upload = {
      filename: `evidence-${(ref.host ?? result.target).replace(/[^A-Za-z0-9._-]/g, '_')}.txt`,
      title: `Evidence: ${ref.host ?? result.target}`,
      content: text,
      comment: `${header} (${text.split('\n').length} lines, scrubbed of credentials)`,
    };
    if (target) await target.upload(upload);
    else {
      const handle = await responder.post(noticeMessage(header));
      await handle.upload(upload);
    }
  }

  return {
    plan,
    click: (input, responder) =>
      track(() =>
        click(input, responder).catch(async (err) => {
          logger.warn({ err: errorMessage(err), action: input.action }, 'button failed');
          await responder.ephemeral(noticeMessage(`⚠️ That did not work: ${esc(scrub(errorMessage(err)))}`)).catch(() => undefined);
        }),
      ),
    running: () => jobs.size,
    async idle() {
      while (jobs.size) await Promise.allSettled([...jobs.keys()]);
    },
    async close() {
      for (const controller of jobs.values()) controller.abort();
      while (jobs.size) await Promise.allSettled([...jobs.keys()]);
    },
  };
}
