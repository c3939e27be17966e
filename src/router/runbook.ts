/**
 * The router's side of runbooks: `/502 runbook HOST`, `/502 timeline [SESSION]`, the "Start
 * runbook" button of a triage and the buttons of runbook steps. The sessions themselves are the
 * runbook service's (src/runbook); this only decides what to start and hands it the thread.
 */
import type { RunbookService } from '../runbook/service.js';
import type { TriageResult, TriageSpan } from '../triage/types.js';
import { spanOf } from './span.js';
import type { Services } from '../app/services.js';
import { code } from '../report/message.js';
import type { Command } from './grammar.js';
import { noticeMessage } from '../chat/messages.js';
import type { ResultCache } from './results.js';
import type { Click, ClickResponder, Invocation, MessageHandle, Responder } from '../chat/types.js';
import type { Plan, TriageJob } from './types.js';

export interface RunbookRouteDeps {
  runbooks: RunbookService | undefined;
  services: Pick<Services, 'inventory'>;
  results: ResultCache;
  track(run: (signal: AbortSignal) => Promise<void>): Promise<void>;
  /** The router's triage job (progress message updated in place, then the verdict with its buttons). */
  triage(invocation: Invocation, target: string, span: TriageSpan, responder: Responder, signal: AbortSignal): Promise<TriageJob>;
}

const NOT_ENABLED = 'Runbooks are not enabled in this badgateway (no runbooks were loaded at start).';

export function runbookRoutes(deps: RunbookRouteDeps) {
  const { runbooks } = deps;

  async function startOrResume(
    invocation: Invocation,
    host: string,
    span: TriageSpan,
    runbook: string | undefined,
    responder: Responder,
    signal: AbortSignal,
    existing: { result: TriageResult; thread: MessageHandle | null } | null,
  ): Promise<void> {
    if (!runbooks) return;
    const actor = { surface: invocation.surface, user: invocation.user, channel: invocation.channel };
    const active = await runbooks.activeFor(invocation.channel, host);
    if (active) {
      await runbooks.resume(active, actor, responder);
      return;
    }
    let result = existing?.result ?? null;
    let thread = existing?.thread ?? null;
    if (!result) {
      const job = await deps.triage(invocation, host, span, responder, signal);
      if (!job.result) return;
      result = job.result;
      thread = job.handle;
    }
    await runbooks.start({ actor, host, result, ...span, ...(runbook ? { runbook } : {}), thread, responder });
  }

  /** A plan for `runbook` and `timeline`; null for any other command. */
  function plan(invocation: Invocation, command: Command): Plan | null {
    if (command.name !== 'runbook' && command.name !== 'timeline') return null;
    if (!runbooks) return { kind: 'reply', reason: 'usage', message: noticeMessage(NOT_ENABLED) };
    const actor = { surface: invocation.surface, user: invocation.user, channel: invocation.channel };
    if (command.name === 'timeline') {
      return {
        kind: 'job',
        command: 'timeline',
        target: command.session ?? 'latest',
        run: (responder) => deps.track(() => runbooks.timeline(actor, command.session, responder)),
      };
    }
    if (command.runbook && !runbooks.runbooks.has(command.runbook)) {
      return {
        kind: 'reply',
        reason: 'usage',
        message: noticeMessage(`There is no runbook ${code(command.runbook)}. Known: ${[...runbooks.runbooks.keys()].map(code).join(', ') || 'none'}.`),
      };
    }
    const host = deps.services.inventory.resolve(command.target)[0]!.name;
    return {
      kind: 'job',
      command: 'runbook',
      target: host,
      run: (responder) => deps.track((signal) => startOrResume(invocation, host, spanOf(command.sinceMs, command.until), command.runbook, responder, signal, null)),
    };
  }

  /** "Start runbook" on a triage message: the runbook runs in that message's thread. */
  async function startFromButton(input: Click, responder: ClickResponder, ref: { resultId: string; host: string | null }): Promise<void> {
    if (!runbooks) {
      await responder.ephemeral(noticeMessage(NOT_ENABLED));
      return;
    }
    const result = deps.results.get(ref.resultId);
    const host = ref.host ?? result?.rows.find((r) => !r.error)?.host ?? result?.rows[0]?.host ?? null;
    if (!host || !deps.services.inventory.get(host)) {
      await responder.ephemeral(noticeMessage(`That triage is no longer in memory. Run ${code('/502 runbook HOST')} instead.`));
      return;
    }
    const span: TriageSpan = result ? { sinceMs: Math.max(60_000, result.window.to - result.window.from), ...(result.window.until ? { untilMs: result.window.to } : {}) } : { sinceMs: 15 * 60_000 };
    const invocation: Invocation = { surface: input.surface, text: `runbook ${host}`, user: input.user, channel: input.channel };
    await startOrResume(invocation, host, span, undefined, responder, new AbortController().signal, result ? { result, thread: responder.source } : null);
  }

  return {
    plan,
    startFromButton,
    /** Whether a click belongs to a runbook step. */
    handles: (action: string) => runbooks?.handles(action) ?? false,
    click: (input: Click, responder: ClickResponder) => runbooks!.click(input, responder),
  };
}
