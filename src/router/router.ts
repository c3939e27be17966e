/**
 * @module router: the one command router behind every front end. It parses `/502 ...`, checks who
 * may run it where, and either answers at once (help, hosts, a usage error, a refusal: nothing
 * runs) or returns a job: post a message, run the use case with progress updates in place, and
 * finish with the report. Button clicks come back here too.
 */
import { BadgatewayError, errorMessage } from '../errors.js';
import type { Logger } from '../log/index.js';
import type { Services } from '../app/services.js';
import { ACTION_APPROVE, ACTION_DENY, parseApprovalValue, withActor } from '../actions/index.js';
import { ACTION_EVIDENCE, ACTION_RELOAD, ACTION_RUNBOOK, CAUSE_WORDS, confidenceWords, evidenceText, parseButtonValue, sectionMessage, triageMessage } from '../report/chat.js';
import { bold, code, esc, mention, pre, type Message } from '../report/message.js';
import { scrub } from '../report/scrub.js';
import { describeSpan } from '../config/index.js';
import type { TriageSpan } from '../triage/types.js';
import { authorize } from '../chat/auth.js';
import type { SectionName } from './grammar.js';
import { parseCommand, slashCommand, usageLine, type PlanContext } from './commands.js';
import { ProgressState, cancelledMessage, noticeMessage } from '../chat/messages.js';
import { RESTARTING, refusalMessage, usageMessage } from './messages.js';
import { ResultCache } from './results.js';
import { JobBook, retryWords, type JobMeta, type Reservation } from './limits.js';
import { ThrottledUpdates, UpdateBudget } from '../chat/throttle.js';
import type { Click, ClickResponder, Invocation, MessageHandle, Responder } from '../chat/types.js';
import type { AutoTriage, Plan, TriageJob } from './types.js';
import type { CommandSource, Metrics } from '../metrics/metrics.js';
import type { RunbookService } from '../runbook/service.js';
import { runbookRoutes } from './runbook.js';
import type { Digests } from '../digest/digests.js';

export interface RouterOptions {
  /** `actions` (approvals, reload/restart, audit) is there when the front end opened a store. */
  services: Pick<Services, 'config' | 'inventory' | 'triage' | 'actions'>;
  logger: Logger;
  /** Minimum time between two in-place updates of one message (Slack: chat.update is Tier 3). */
  updateIntervalMs?: number;
  /** Jobs running at once; more are refused politely, saying when to retry. */
  maxJobs?: number;
  /** Jobs one Slack user may have running at once (default 5): a burst from one person leaves room for the others. */
  maxJobsPerUser?: number;
  /** Interim (progress) updates per minute across all jobs; final answers are not counted. */
  updatesPerMinute?: number;
  results?: ResultCache;
  /** Counts commands by source, command and outcome (src/metrics). */
  metrics?: Pick<Metrics, 'commandFinished'>;
  /** Runbook sessions (`/502 runbook`, `/502 timeline`, the Start runbook button); absent: not enabled. */
  runbooks?: RunbookService;
  /** Digests with the store's history (`/502 digest`); absent: digests without comparison. */
  digests?: Digests;
}

export interface Router {
  /** Decides what a command is, without I/O: safe to call before acknowledging. */
  plan(invocation: Invocation): Plan;
  /** Handles a button click (the front end has acknowledged it already). */
  click(click: Click, responder: ClickResponder): Promise<void>;
  /**
   * Starts a triage nobody typed (an alert), posted through `responder` exactly as `/502 triage` is.
   * Returns null, starting nothing, when too many jobs run already.
   */
  triage(request: AutoTriage, responder: Responder): Promise<TriageJob> | null;
  /**
   * Runs work nobody typed (the read behind an alert's resolved note) as a job: counted in the cap
   * and cancelled by close(). Returns null, starting nothing, when too many jobs run already.
   */
  background<T>(label: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> | null;
  /** Seconds after which a refused caller should try again (Retry-After). */
  retryAfterSeconds(): number;
  /** Jobs running now. */
  running(): number;
  /** Resolves when no job is running. */
  idle(): Promise<void>;
  /**
   * Takes nothing new from now on (a shutdown): commands and clicks are answered "restarting, try again
   * in a minute", alert triages refused; running jobs go on (idle() says when they are done).
   */
  drain(): void;
  readonly draining: boolean;
  /** Cancels running jobs and waits for them to end. */
  close(): Promise<void>;
}

/** Largest evidence shown inline in a thread reply; longer goes up as a file. */
const INLINE_EVIDENCE = 2800;

export function createRouter(options: RouterOptions): Router {
  const { services, logger } = options;
  const runbooksEnabled = options.runbooks !== undefined;
  const updateIntervalMs = options.updateIntervalMs ?? 1500;
  const book = new JobBook({ maxJobs: options.maxJobs ?? 50, maxJobsPerUser: options.maxJobsPerUser ?? 5 });
  const results = options.results ?? new ResultCache();
  const budget = new UpdateBudget(options.updatesPerMinute ?? 40);
  const jobs = new Map<Promise<void>, AbortController>();
  let draining = false;

  function who(invocation: { surface: Invocation['surface']; user: string }): string {
    return invocation.surface === 'slack' ? mention(invocation.user) : esc(invocation.user);
  }

  const unowned = { owner: null, key: null, label: 'a button', requestedBy: '' };

  function track(run: (signal: AbortSignal) => Promise<void>, meta: Omit<JobMeta, 'started'> | Reservation = unowned): Promise<void> {
    const controller = new AbortController();
    const token = 'claim' in meta ? meta.claim() : book.add({}, meta);
    const promise: Promise<void> = run(controller.signal)
      .catch((err) => logger.error({ err: errorMessage(err) }, 'job failed'))
      .finally(() => {
        jobs.delete(promise);
        book.finish(token);
      });
    jobs.set(promise, controller);
    return promise;
  }

  /**
   * A planned job holds its slot from the plan on: a burst of commands is planned before any of them
   * runs (each waits for its ack), and must not all pass the caps. Released if never run.
   */
  function reserve(meta: Omit<JobMeta, 'started'>): Reservation {
    const token = book.add({}, meta);
    const timer = setTimeout(() => book.finish(token, false), 30_000);
    timer.unref();
    return {
      claim: () => {
        clearTimeout(timer);
        return token;
      },
    };
  }

  /** Who a typed command belongs to for the per-user cap; the console is one operator, not capped. */
  function ownerOf(invocation: Invocation): string | null {
    return invocation.surface === 'slack' ? `slack:${invocation.user}` : null;
  }

  /** A busy reply, saying why and when to try again, or null when the job may start. */
  function busy(owner: string | null): Plan | null {
    const refusal = book.refusal(owner);
    if (!refusal) return null;
    return { kind: 'reply', reason: 'busy', message: noticeMessage(`${refusal.why}; please try again in ${retryWords(refusal.retryAfterSeconds)}.`) };
  }

  function count(source: CommandSource, command: string, outcome: string, seconds?: number): void {
    try {
      options.metrics?.commandFinished({ source, command, outcome, ...(seconds !== undefined ? { seconds } : {}) });
    } catch {
      /* counting must never break a command */
    }
  }

  /** The subcommand typed, for metrics: a known one, or `invalid`. */
  function commandOf(text: string): string {
    const first = text.trim().split(/\s+/)[0] ?? '';
    if (first === '') return 'help';
    return slashCommand(first)?.name ?? 'invalid';
  }

  function plan(invocation: Invocation): Plan {
    const decided: Plan = draining ? { kind: 'reply', reason: 'restarting', message: noticeMessage(RESTARTING) } : planCommand(invocation);
    if (decided.kind === 'reply') {
      const outcome = decided.reason === 'help' || decided.reason === 'hosts' ? 'ok' : decided.reason;
      count(invocation.surface, commandOf(invocation.text), outcome);
    }
    return decided;
  }

  /** Parses through the command table, checks the entry's permission and lets its handler plan the work. */
  function planCommand(invocation: Invocation): Plan {
    const spec = slashCommand(invocation.text.trim().split(/\s+/)[0] || 'help');
    const refusal = authorize(invocation, services.config.slack, spec?.permission ?? 'read');
    if (refusal) {
      logger.info({ user: invocation.user, channel: invocation.channel }, 'command refused');
      return { kind: 'reply', reason: 'refused', message: refusalMessage(refusal) };
    }
    try {
      const command = parseCommand(invocation.text);
      return slashCommand(command.name)!.handle(command, planContext(invocation));
    } catch (err) {
      if (err instanceof BadgatewayError && err.kind === 'usage') {
        return { kind: 'reply', reason: 'usage', message: usageMessage(withHostHint(invocation.text, err.message), spec ? usageLine(spec) : null) };
      }
      throw err;
    }
  }

  /** What a command's handler (src/router/commands.ts) may use of the router. */
  function planContext(invocation: Invocation): PlanContext {
    const owner = ownerOf(invocation);
    const requestedBy = who(invocation);
    return {
      invocation,
      services,
      logger,
      updateIntervalMs,
      ...(options.digests ? { digests: options.digests } : {}),
      requestedBy,
      busy: () => busy(owner),
      count: (command, outcome, seconds) => count(invocation.surface, command, outcome, seconds),
      read: (name, target, span, responder, signal) =>
        runTriage({ source: invocation.surface, requestedBy, user: invocation.user, channel: invocation.channel }, name, target, span, responder, signal),
      runbookPlan: (command) => runbookRoute.plan(invocation, command)!,
      job(spec) {
        // The same read of the same hosts over the same window, already running in this channel: join it.
        const running = spec.key ? book.identical(spec.key) : undefined;
        if (running) {
          const age = Math.round((Date.now() - running.started) / 1000);
          return {
            kind: 'reply',
            reason: 'joined',
            message: noticeMessage(
              `⏳ The same ${esc(running.label)}${spec.window ? ` (${esc(spec.window)})` : ''} is already running here, asked by ${running.requestedBy} ${age} s ago: its message in this channel will show the answer.`,
            ),
          };
        }
        const refused = busy(owner);
        if (refused) return refused;
        const reservation = reserve({ owner, key: spec.key ?? null, label: spec.label, requestedBy });
        return { kind: 'job', command: spec.command, target: spec.target, run: (responder) => track((signal) => spec.run(responder, signal), reservation) };
      },
    };
  }

  /** Why a reload asked from a triage message: that host's verdict. */
  function verdictOf(resultId: string, host: string): string {
    const top = results.get(resultId)?.hosts.find((h) => h.host === host)?.report?.diagnosis.causes[0];
    if (!top) return 'asked from a triage message';
    return `triage verdict: ${CAUSE_WORDS[top.id]} (${top.id}, confidence ${confidenceWords(top.confidence)})`;
  }

  function autoTriage(request: AutoTriage, responder: Responder): Promise<TriageJob> | null {
    if (draining || book.refusal(null)) {
      count(request.source, request.command ?? 'triage', draining ? 'restarting' : 'busy');
      return null;
    }
    let outcome: TriageJob = { handle: null, result: null, error: 'the job did not run' };
    const done = track(
      async (signal) => {
        outcome = await runTriage(
          { source: request.source, requestedBy: request.requestedBy, user: request.source, channel: request.channel, ...(request.onPosted ? { onPosted: request.onPosted } : {}) },
          'triage',
          request.target,
          { sinceMs: request.sinceMs },
          responder,
          signal,
          request.command ?? 'triage',
        );
      },
      { owner: null, key: null, label: `triage of ${request.target}`, requestedBy: request.requestedBy },
    );
    return done.then(() => outcome);
  }

  function background<T>(label: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> | null {
    if (book.refusal(null)) return null;
    let result: { value: T } | { error: unknown } = { error: new Error('the job did not run') };
    const done = track(
      async (signal) => {
        try {
          result = { value: await work(signal) };
        } catch (err) {
          result = { error: err };
        }
      },
      { owner: null, key: null, label, requestedBy: '' },
    );
    return done.then(() => {
      if ('error' in result) throw result.error;
      return result.value;
    });
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
    origin: { source: CommandSource; requestedBy: string; user: string; channel: string; onPosted?: (handle: MessageHandle) => void },
    name: 'triage' | SectionName,
    target: string,
    span: TriageSpan,
    responder: Responder,
    signal: AbortSignal,
    commandLabel: string = name,
  ): Promise<TriageJob> {
    const title = name === 'triage' ? `Triage of ${target}` : `${{ logs: 'Access log', fpm: 'PHP-FPM', slowlog: 'Slow log' }[name]} of ${target}`;
    const hosts = services.inventory.resolve(target).map((h) => h.name);
    const state = new ProgressState(title, describeSpan(span.sinceMs, span.untilMs ?? null), origin.requestedBy, hosts);
    const log = logger.child({ job: name, target, user: origin.user, channel: origin.channel });
    const jobStarted = Date.now();
    let handle: MessageHandle;
    try {
      handle = await responder.post(state.message());
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'could not post the progress message');
      count(origin.source, commandLabel, 'failed', (Date.now() - jobStarted) / 1000);
      await responder
        .ephemeral(noticeMessage(`⚠️ I could not post in this channel: ${esc(errorMessage(err))}`))
        .catch((e) => log.warn({ err: errorMessage(e) }, 'could not tell the user either (ephemeral reply failed)'));
      return { handle: null, result: null, error: errorMessage(err) };
    }
    try {
      origin.onPosted?.(handle);
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'onPosted failed');
    }
    const updates = new ThrottledUpdates(handle, updateIntervalMs, (err) => log.warn({ err: errorMessage(err) }, 'progress update failed'), budget);
    const started = Date.now();
    let final: Message;
    let job: TriageJob = { handle, result: null, error: null };
    try {
      // The remote commands of this triage are audited as asked by this user.
      const result = await withActor({ user: origin.user, surface: origin.source, channel: origin.channel, via: `${commandLabel} ${target}` }, () =>
        services.triage({
          target,
          ...span,
          signal,
          onProgress: (event) => {
            state.apply(event);
            updates.push(state.message());
          },
        }),
      );
      const resultId = results.put(result);
      const options = { resultId, requestedBy: origin.requestedBy, runbooks: runbooksEnabled };
      final = name === 'triage' ? triageMessage(result, options) : sectionMessage(name, result, options);
      log.info({ ms: Date.now() - started, hosts: result.hosts.length, top: result.rows[0]?.topCause ?? null }, 'job done');
      job = { handle, result, error: null };
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'job failed');
      final = noticeMessage(`❌ ${bold(`${esc(title)} failed`)}: ${esc(scrub(errorMessage(err)))}`);
      job = { handle, result: null, error: errorMessage(err) };
    }
    if (signal.aborted) {
      // Cancelled reads are not evidence: no verdict built from them is shown.
      log.info('job cancelled: the bot is stopping');
      final = cancelledMessage(title);
      job = { handle, result: null, error: 'cancelled: badgateway is restarting' };
    }
    const failedHosts = job.result ? job.result.hosts.filter((h) => h.error !== null).length : 0;
    const outcome = signal.aborted ? 'cancelled' : !job.result ? 'failed' : failedHosts === 0 ? 'ok' : failedHosts === job.result.hosts.length ? 'failed' : 'partial';
    try {
      await updates.finish(final);
    } finally {
      count(origin.source, commandLabel, outcome, (Date.now() - jobStarted) / 1000);
    }
    return job;
  }

  const runbookRoute = runbookRoutes({
    runbooks: options.runbooks,
    services,
    results,
    track,
    triage: (invocation, target, span, responder, signal) =>
      runTriage({ source: invocation.surface, requestedBy: who(invocation), user: invocation.user, channel: invocation.channel }, 'triage', target, span, responder, signal, 'runbook'),
  });

  async function click(input: Click, responder: ClickResponder, signal: AbortSignal): Promise<void> {
    const action = input.action.replace(/#\d+$/, '');
    if (runbookRoute.handles(action)) return runbookRoute.click(input, responder);
    const known = [ACTION_EVIDENCE, ACTION_RUNBOOK, ACTION_RELOAD, ACTION_APPROVE, ACTION_DENY];
    if (!known.includes(action)) {
      await responder.ephemeral(noticeMessage(`That button (${code(input.action.slice(0, 60))}) is not one I know.`));
      return;
    }
    if (action === ACTION_APPROVE || action === ACTION_DENY) {
      // Who may decide (approvers, the two-person rule, the channel) is the actions' call, made with the stored request.
      const approvalId = parseApprovalValue(input.value);
      if (!approvalId) {
        await responder.ephemeral(noticeMessage('That button carries nothing I can read (an old or altered message). Nothing was run.'));
        return;
      }
      if (!services.actions) {
        await responder.ephemeral(noticeMessage("Approvals are not available here: they need the bot's store. Nothing was run."));
        return;
      }
      await services.actions.decide({ approvalId, approve: action === ACTION_APPROVE, actor: { user: input.user, surface: input.surface, channel: input.channel } }, responder, signal);
      return;
    }
    // Asking for a reload is open to whoever may run commands; approving it is for approvers.
    const refusal = authorize(input, services.config.slack, 'read');
    if (refusal) {
      await responder.ephemeral(refusalMessage(refusal));
      return;
    }
    const ref = parseButtonValue(input.value);
    if (!ref) {
      await responder.ephemeral(noticeMessage('That button carries nothing I can read (an old or altered message). Run the command again.'));
      return;
    }
    if (action === ACTION_RELOAD) {
      if (!services.actions) {
        await responder.ephemeral(noticeMessage("Reloading php-fpm from chat is not available here: approvals need the bot's store, which `badgateway start` opens."));
        return;
      }
      if (!ref.host || !services.inventory.get(ref.host)) {
        await responder.ephemeral(noticeMessage(`Which host? Ask with ${code('/502 reload HOST [reason]')}.`));
        return;
      }
      const actor = { user: input.user, surface: input.surface, channel: input.channel };
      await services.actions.request({ action: 'reload', host: ref.host, actor, reason: verdictOf(ref.resultId, ref.host) }, responder, signal);
      return;
    }
    // Without runbooks loaded the route says so (the button is not offered then either).
    if (action === ACTION_RUNBOOK) return runbookRoute.startFromButton(input, responder, ref);
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
    click: async (input, responder) => {
      if (draining) {
        await responder.ephemeral(noticeMessage(RESTARTING)).catch((e) => logger.warn({ err: errorMessage(e), action: input.action }, 'could not say the bot is restarting'));
        return;
      }
      return track((signal) =>
        click(input, responder, signal).catch(async (err) => {
          logger.warn({ err: errorMessage(err), action: input.action }, 'button failed');
          await responder
            .ephemeral(noticeMessage(`⚠️ That did not work: ${esc(scrub(errorMessage(err)))}`))
            .catch((e) => logger.warn({ err: errorMessage(e), action: input.action }, 'could not report the failed button'));
        }),
      );
    },
    triage: autoTriage,
    background,
    retryAfterSeconds: () => book.retryAfter(),
    running: () => jobs.size,
    drain() {
      draining = true;
    },
    get draining() {
      return draining;
    },
    async idle() {
      while (jobs.size) await Promise.allSettled([...jobs.keys()]);
    },
    async close() {
      for (const controller of jobs.values()) controller.abort();
      while (jobs.size) await Promise.allSettled([...jobs.keys()]);
    },
  };
}
