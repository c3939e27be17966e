/**
 * Runbook sessions: walks responders through a runbook in an incident thread. Each step is posted
 * with its check already run; its buttons (Done, Skip, Run again, Escalate, Abort, and the step's
 * action when it has one) move the session on. The state lives in the store, so several incidents
 * run at once, any bot instance can continue a session, and a restart loses nothing. Every step,
 * check, action request and escalation is written to the session's timeline with who and when; the
 * end of a runbook (or `/502 timeline`) posts it as a Markdown file.
 */
import { randomBytes } from 'node:crypto';
import { withActor } from '../actions/index.js';
import { errorMessage } from '../errors.js';
import { CAUSE_WORDS } from '../report/chat.js';
import { code, esc, type Message } from '../report/message.js';
import { authorize } from '../chat/auth.js';
import type { Actor, Click, ClickResponder, MessageHandle, Responder } from '../chat/types.js';
import type { RunbookSession } from '../store/types.js';
import { noActionGateway } from './actions.js';
import { checkLabel, runCheck } from './checks.js';
import { RUNBOOK_ACTIONS, type Runbook, type RunbookStep } from './format.js';
import {
  ACTION_STEP_ABORT,
  ACTION_STEP_ACTION,
  ACTION_STEP_AGAIN,
  ACTION_STEP_DONE,
  ACTION_STEP_ESCALATE,
  ACTION_STEP_SKIP,
  RUNBOOK_STEP_ACTIONS,
  endMessage,
  escalationMessage,
  noticeText,
  parseStepButtonValue,
  startMessage,
  stepMessage,
  who,
} from './messages.js';
import { renderGuidance } from './render.js';
import { nextStep, stepNumber, stepState, type Session, type SessionState, type TimelineEntry } from './session.js';
import type { RunbookService, RunbookServiceOptions, StartInput } from './service-types.js';
import { renderTimeline, timelineFilename } from './timeline.js';

export const DEFAULT_RUNBOOK = '502-triage';

export type { RunbookService, RunbookServiceOptions, StartInput } from './service-types.js';

const MAX_TIMELINE = 500;
/** An active session untouched this long is set aside when its host's runbook is asked for again. */
const STALE_MS = 12 * 3_600_000;

function fromRow(row: RunbookSession): Session {
  return { id: row.id, runbook: row.runbook, version: row.version, status: row.status, state: row.state as unknown as SessionState };
}

class Conflict extends Error {}

export function createRunbookService(options: RunbookServiceOptions): RunbookService {
  const { services, store, runbooks } = options;
  const log = options.logger.child({ component: 'runbook' });
  const now = options.now ?? Date.now;
  const actions = options.actions ?? noActionGateway();
  /** Thread handles of this process's sessions, for front ends without message refs. */
  const threads = new Map<string, MessageHandle>();
  /** One transition at a time per session in this process; the store's version guards across processes. */
  const locks = new Map<string, Promise<unknown>>();

  function locked<T>(id: string, run: () => Promise<T>): Promise<T> {
    const previous = locks.get(id) ?? Promise.resolve();
    const next = previous.then(run, run);
    // The run's caller gets its error from `next`; the lock chain only orders runs and must not reject.
    const tail = next.catch(() => undefined);
    locks.set(id, tail);
    void tail.then(() => {
      if (locks.get(id) === tail) locks.delete(id);
    });
    return next;
  }

  function record(state: SessionState, entry: Omit<TimelineEntry, 'at'> & { at?: number }): void {
    state.timeline.push({ at: entry.at ?? now(), ...entry } as TimelineEntry);
    if (state.timeline.length > MAX_TIMELINE) state.timeline.splice(1, state.timeline.length - MAX_TIMELINE);
  }

  async function save(session: Session, status?: Session['status']): Promise<void> {
    const row = await store.updateRunbookSession(session.id, session.version, {
      state: session.state as unknown as Record<string, unknown>,
      ...(status ? { status } : {}),
      at: now(),
    });
    if (!row) throw new Conflict(`session ${session.id} was changed by someone else`);
    session.version = row.version;
    session.status = row.status;
  }

  async function load(id: string): Promise<Session | null> {
    const row = await store.getRunbookSession(id);
    return row ? fromRow(row) : null;
  }

  function threadOf(session: Session, responder: Responder | ClickResponder): MessageHandle | null {
    const known = threads.get(session.id);
    if (known) return known;
    const ref = session.state.thread;
    const opened = ref && responder.open ? responder.open(ref) : null;
    if (opened) {
      threads.set(session.id, opened);
      return opened;
    }
    return 'source' in responder ? responder.source : null;
  }

  async function postInThread(thread: MessageHandle | null, responder: Responder, message: Message): Promise<MessageHandle | null> {
    if (thread?.threadReply) return thread.threadReply(message);
    if (thread) {
      await thread.reply(message);
      return null;
    }
    return responder.post(message);
  }

  function contextFor(session: Session) {
    const s = session.state;
    return { host: s.host, report: s.report, inventory: services.inventory.get(s.host) ?? null, sinceMs: s.sinceMs };
  }

  function runbookOf(session: Session): Runbook | null {
    return runbooks.get(session.runbook) ?? null;
  }

  /** Runs the step's check, posts the step in the thread and makes it the current one. */
  async function show(session: Session, runbook: Runbook, step: RunbookStep, thread: MessageHandle | null, responder: Responder, by: string): Promise<void> {
    const s = session.state;
    const at = now();
    let state = stepState(s, step.id);
    if (!state) {
      state = { id: step.id, title: step.title, status: 'shown', shownAt: at, checks: [] };
      s.steps.push(state);
    } else {
      Object.assign(state, { status: 'shown', shownAt: at });
      delete state.reason;
    }
    s.current = step.id;
    record(s, { event: 'step', who: null, step: step.id, text: `Step ${stepNumber(s, step.id)} shown: ${step.title}` });
    if (step.check) await check(session, step, by, false);
    const posted = await postInThread(thread, responder, stepMessage({ runbook, session, step, state, number: stepNumber(s, step.id), guidance: renderGuidance(step.guidance, contextFor(session)) }));
    if (posted?.ref) state.message = posted.ref;
  }

  /** Runs the step's check; `rerun` (Run again) triages a view afresh first. `by` is who it runs for (the audit log). */
  async function check(session: Session, step: RunbookStep, by: string, rerun: boolean): Promise<void> {
    if (!step.check) return;
    const s = session.state;
    const state = stepState(s, step.id)!;
    const host = services.inventory.get(s.host);
    if (!host) {
      state.checks.push({
        kind: step.check.kind,
        label: checkLabel(step.check),
        ok: false,
        summary: `${s.host} is no longer in the inventory`,
        output: '',
        command: null,
        exitCode: null,
        at: now(),
        ms: 0,
      });
    } else {
      // The audit log (when the executor keeps one) attributes the check to the session and who asked.
      const actor = { user: by, surface: s.surface, channel: s.channel, via: `runbook ${session.id} ${step.id}` };
      if (rerun && step.check.kind === 'view') await withActor(actor, () => retriage(session, by));
      const result = await withActor(actor, () => runCheck(step.check!, { host, report: s.report, catalog: services.catalog, executor: services.executor, now }));
      state.checks.push(result);
      if (state.checks.length > 10) state.checks.splice(0, state.checks.length - 10);
    }
    const last = state.checks[state.checks.length - 1]!;
    record(s, { event: 'check', who: rerun ? by : null, step: step.id, text: `Check \`${last.label}\` ${last.ok ? 'ok' : 'FAILED'}: ${last.summary}` });
  }

  /** A fresh triage of the host (Run again on a view), so the next branches see the current state. */
  async function retriage(session: Session, by: string): Promise<void> {
    const s = session.state;
    try {
      const result = await services.triage({ target: s.host, sinceMs: s.sinceMs, ...(s.untilMs != null ? { untilMs: s.untilMs } : {}) });
      const report = result.hosts.find((h) => h.host === s.host)?.report ?? null;
      if (!report) throw new Error(result.hosts[0]?.error ?? 'no report');
      s.report = { ...report, joins: [] };
      s.triagedAt = now();
      const top = report.diagnosis.causes[0];
      record(s, { event: 'triaged', who: by, text: `Triage re-run: ${top ? `${top.id} (${Math.round(top.confidence * 100)}%)` : 'no cause named'}` });
    } catch (err) {
      record(s, { event: 'note', who: null, text: `Triage re-run failed: ${errorMessage(err).slice(0, 300)}; the check shows the earlier report` });
    }
  }

  /** Moves past `afterId` to the next step that applies, or finishes the runbook. */
  async function advance(session: Session, runbook: Runbook, afterId: string | null, by: string, thread: MessageHandle | null, responder: Responder): Promise<void> {
    const s = session.state;
    const before = s.steps.filter((x) => x.status === 'not-applicable').length;
    const next = nextStep(runbook, s, afterId, now());
    for (const skipped of s.steps.filter((x) => x.status === 'not-applicable').slice(before)) {
      log.debug({ session: session.id, step: skipped.id, reason: skipped.reason }, 'step not applicable');
    }
    if (next) {
      await show(session, runbook, next, thread, responder, by);
      await save(session);
      return;
    }
    s.current = null;
    s.endedAt = now();
    s.outcome = 'completed';
    record(s, { event: 'completed', who: by, text: 'Runbook completed' });
    await save(session, 'done');
    await finish(session, runbook, by, thread, responder);
  }

  async function finish(session: Session, runbook: Runbook, by: string | null, thread: MessageHandle | null, responder: Responder): Promise<void> {
    threads.delete(session.id);
    await postInThread(thread, responder, endMessage(runbook, session, by));
    await uploadTimeline(session, thread, responder, `Timeline of ${code(session.state.host)} (${esc(runbook.title)}), ready to paste into the review`);
  }

  async function uploadTimeline(session: Session, thread: MessageHandle | null, responder: Responder, comment: string): Promise<void> {
    // Decisions on the session's action requests live with the approvals: merge them in by time.
    const decisions = await actions.history(session.id, session.state.host).catch((err) => {
      log.warn({ err: errorMessage(err), session: session.id }, 'could not read the approvals of the session');
      return [];
    });
    const merged: Session = { ...session, state: { ...session.state, timeline: [...session.state.timeline, ...decisions].sort((a, b) => a.at - b.at) } };
    const content = renderTimeline(merged, now());
    const file = { filename: timelineFilename(session), title: `Timeline: ${session.state.host} (${session.id})`, content, comment };
    if (thread) {
      await thread.upload(file);
      return;
    }
    const handle = await responder.post(noticeText(comment));
    await handle.upload(file);
  }

  async function activeFor(channel: string, host: string): Promise<Session | null> {
    const rows = await store.listRunbookSessions({ status: 'active', host, limit: 50 });
    for (const row of rows.filter((r) => r.channel === channel)) {
      const session = fromRow(row);
      if (now() - row.updatedAt < STALE_MS) return session;
      // Forgotten for half a day: set aside, so a new incident starts a fresh runbook.
      record(session.state, { event: 'aborted', who: null, text: `Set aside after ${Math.round(STALE_MS / 3_600_000)} h without activity` });
      session.state.endedAt = now();
      session.state.outcome = 'aborted';
      await save(session, 'abandoned').catch((err) => log.warn({ err: errorMessage(err), session: session.id }, 'could not set a stale session aside'));
    }
    return null;
  }

  async function start(input: StartInput): Promise<Session | null> {
    const { actor, host, result, responder } = input;
    const runbook = runbooks.get(input.runbook ?? DEFAULT_RUNBOOK);
    if (!runbook) {
      await responder.ephemeral(noticeText(`There is no runbook ${code(input.runbook ?? DEFAULT_RUNBOOK)}. Known: ${[...runbooks.keys()].map(code).join(', ') || 'none'}.`));
      return null;
    }
    const hostResult = result.hosts.find((h) => h.host === host);
    const at = now();
    const id = randomBytes(5).toString('hex');
    const state: SessionState = {
      schema: 1,
      runbookTitle: runbook.title,
      runbookHash: runbook.hash,
      host,
      surface: actor.surface,
      channel: actor.channel,
      thread: input.thread?.ref ?? null,
      sinceMs: input.sinceMs,
      ...(input.untilMs !== undefined ? { untilMs: input.untilMs } : {}),
      startedBy: actor.user,
      startedAt: at,
      report: hostResult?.report ? { ...hostResult.report, joins: [] } : null,
      triagedAt: hostResult?.report ? at : null,
      current: null,
      steps: [],
      timeline: [],
      endedAt: null,
      outcome: null,
    };
    const top = state.report?.diagnosis.causes[0];
    record(state, {
      event: 'started',
      who: actor.user,
      text: `Runbook "${runbook.title}" started on ${host}; triage: ${top ? `${top.id} (${Math.round(top.confidence * 100)}%), ${CAUSE_WORDS[top.id]}` : hostResult?.error ? `failed (${hostResult.error})` : 'no cause named'}`,
    });
    const row = await store.createRunbookSession({
      id,
      runbook: runbook.id,
      host,
      channel: actor.channel,
      threadTs: state.thread?.ts ?? null,
      startedBy: actor.user,
      state: state as unknown as Record<string, unknown>,
      at,
    });
    const session = fromRow(row);
    log.info({ session: id, runbook: runbook.id, host, user: actor.user, channel: actor.channel }, 'runbook started');
    let thread = input.thread;
    if (!thread) {
      thread = await responder.post(startMessage(runbook, session));
      session.state.thread = thread.ref ?? null;
    } else {
      await postInThread(thread, responder, startMessage(runbook, session));
    }
    threads.set(id, thread);
    await locked(id, () => advance(session, runbook, null, actor.user, thread, responder));
    return session;
  }

  async function resume(session: Session, actor: Actor, responder: Responder): Promise<void> {
    await locked(session.id, async () => {
      const fresh = (await load(session.id)) ?? session;
      const runbook = runbookOf(fresh);
      const thread = threadOf(fresh, responder);
      if (!runbook) {
        await responder.ephemeral(noticeText(`Session ${code(fresh.id)} uses the runbook ${code(fresh.runbook)}, which is no longer loaded.`));
        return;
      }
      const current = runbook.steps.find((st) => st.id === fresh.state.current);
      const state = current ? stepState(fresh.state, current.id) : undefined;
      record(fresh.state, { event: 'resumed', who: actor.user, text: `Session resumed${current ? ` at "${current.title}"` : ''}` });
      const changed = fresh.state.runbookHash !== runbook.hash ? ' (the runbook file changed since the session started; it continues with the current file)' : '';
      await postInThread(thread, responder, noticeText(`↩️ ${who(fresh.state.surface, actor.user)} picked this runbook up again${changed}. ${current ? 'The current step:' : ''}`));
      if (current && state) {
        const posted = await postInThread(
          thread,
          responder,
          stepMessage({ runbook, session: fresh, step: current, state, number: stepNumber(fresh.state, current.id), guidance: renderGuidance(current.guidance, contextFor(fresh)) }),
        );
        if (posted?.ref) state.message = posted.ref;
      } else {
        await advance(fresh, runbook, fresh.state.steps[fresh.state.steps.length - 1]?.id ?? null, actor.user, thread, responder);
        return;
      }
      await save(fresh);
    });
  }

  async function click(input: Click, responder: ClickResponder): Promise<void> {
    const action = input.action.replace(/#\d+$/, '');
    const ref = parseStepButtonValue(input.value);
    if (!ref) {
      await responder.ephemeral(noticeText('That button carries nothing I can read (an old or altered message).'));
      return;
    }
    const refusal = authorize(input, services.config.slack, 'read');
    if (refusal) {
      await responder.ephemeral(noticeText(refusal));
      return;
    }
    try {
      await locked(ref.sessionId, () => transition(action, ref.sessionId, ref.stepId, input, responder));
    } catch (err) {
      if (!(err instanceof Conflict)) throw err;
      await responder.ephemeral(noticeText('Someone moved this runbook on at the same moment; look at the latest step in the thread.'));
    }
  }

  async function transition(action: string, sessionId: string, stepId: string, input: Click, responder: ClickResponder): Promise<void> {
    const session = await load(sessionId);
    if (!session) {
      await responder.ephemeral(noticeText(`There is no runbook session ${code(sessionId)} (it may belong to another badgateway installation).`));
      return;
    }
    const s = session.state;
    if (input.channel !== s.channel) {
      await responder.ephemeral(noticeText(`This runbook belongs to another channel; only people there can move it on.`));
      return;
    }
    if (session.status !== 'active') {
      await responder.ephemeral(noticeText(`This runbook is over (${s.outcome ?? session.status}). ${code(`/502 timeline ${session.id}`)} posts its timeline.`));
      return;
    }
    const runbook = runbookOf(session);
    const step = runbook?.steps.find((st) => st.id === stepId);
    if (!runbook || !step) {
      await responder.ephemeral(noticeText(`That step is not in the runbook ${code(session.runbook)} as loaded now.`));
      return;
    }
    const state = stepState(s, stepId);
    if (s.current !== stepId || !state) {
      const current = runbook.steps.find((st) => st.id === s.current);
      await responder.ephemeral(
        noticeText(`That step is already ${state?.status ?? 'past'}${state?.by ? ` (by ${who(s.surface, state.by)})` : ''}.${current ? ` The runbook is at ${esc(`"${current.title}"`)}.` : ''}`),
      );
      return;
    }
    const thread = threadOf(session, responder);
    const user = input.user;
    const ended = (how: string) => stepMessage({ runbook, session, step, state, number: stepNumber(s, step.id), guidance: renderGuidance(step.guidance, contextFor(session)), ended: { how } });
    const updateSource = async (message: Message) => {
      await responder.source?.update(message).catch((err) => log.warn({ err: errorMessage(err) }, 'could not update the step message'));
    };
    const clock = () => `${new Date(now()).toISOString().slice(11, 16)}Z`;
    switch (action) {
      case ACTION_STEP_DONE:
      case ACTION_STEP_SKIP: {
        const done = action === ACTION_STEP_DONE;
        Object.assign(state, { status: done ? 'done' : 'skipped', by: user, endedAt: now() });
        record(s, { event: done ? 'done' : 'skipped', who: user, step: step.id, text: `Step ${stepNumber(s, step.id)} ${done ? 'done' : 'skipped'}: ${step.title}` });
        await updateSource(ended(`${done ? '✅ Done' : '⏭ Skipped'} by ${who(s.surface, user)} at ${clock()}`));
        await advance(session, runbook, step.id, user, thread, responder);
        return;
      }
      case ACTION_STEP_AGAIN: {
        if (!step.check) {
          await responder.ephemeral(noticeText('This step has no check to run again.'));
          return;
        }
        record(s, { event: 'rerun', who: user, step: step.id, text: `Check of "${step.title}" run again` });
        await check(session, step, user, true);
        await save(session);
        const message = stepMessage({ runbook, session, step, state, number: stepNumber(s, step.id), guidance: renderGuidance(step.guidance, contextFor(session)) });
        if (responder.source) await updateSource(message);
        else {
          const posted = await postInThread(thread, responder, message);
          if (posted?.ref) state.message = posted.ref;
        }
        return;
      }
      case ACTION_STEP_ESCALATE: {
        const group = services.config.slack.escalationGroup;
        record(s, { event: 'escalated', who: user, step: step.id, text: `Escalated at "${step.title}"${group ? ` to user group ${group}` : ' (no escalation group configured)'}` });
        await save(session);
        await postInThread(thread, responder, escalationMessage(session, step, user, group));
        return;
      }
      case ACTION_STEP_ABORT: {
        s.current = null;
        s.endedAt = now();
        s.outcome = 'aborted';
        record(s, { event: 'aborted', who: user, step: step.id, text: `Runbook aborted at "${step.title}"` });
        await save(session, 'abandoned');
        await updateSource(ended(`🛑 Aborted by ${who(s.surface, user)} at ${clock()}`));
        await finish(session, runbook, user, thread, responder);
        return;
      }
      case ACTION_STEP_ACTION: {
        if (!step.action) {
          await responder.ephemeral(noticeText('This step has no action.'));
          return;
        }
        const spec = RUNBOOK_ACTIONS[step.action];
        log.info({ session: session.id, step: step.id, action: step.action, user }, `${spec.label} requested from a runbook step`);
        const top = s.report?.diagnosis.causes[0];
        const outcome = await actions.request({
          action: step.action,
          host: s.host,
          actor: { surface: input.surface, user, channel: input.channel },
          sessionId: session.id,
          stepId: step.id,
          reason: `runbook ${runbook.id}, step "${step.title}"${top ? `; diagnosis ${top.id} (${Math.round(top.confidence * 100)}%)` : ''}`,
          responder,
          thread,
        });
        // The request took a while (discovery over SSH): record its outcome on the latest state.
        const fresh = (await load(session.id)) ?? session;
        record(fresh.state, { event: 'action-requested', who: user, step: step.id, text: outcome.text });
        await save(fresh);
        return;
      }
      default:
        await responder.ephemeral(noticeText(`That button (${code(action.slice(0, 60))}) is not one I know.`));
    }
  }

  async function timeline(actor: Actor, sessionId: string | null, responder: Responder): Promise<void> {
    let session: Session | null = null;
    if (sessionId) {
      session = await load(sessionId);
      if (session && session.state.channel !== actor.channel && actor.surface !== 'console') session = null;
    } else {
      const rows = await store.listRunbookSessions({ limit: 200 });
      const row = rows.filter((r) => r.channel === actor.channel).sort((a, b) => b.updatedAt - a.updatedAt)[0];
      session = row ? fromRow(row) : null;
    }
    if (!session) {
      await responder.ephemeral(
        noticeText(sessionId ? `There is no runbook session ${code(sessionId)} in this channel.` : `No runbook has run in this channel yet: ${code('/502 runbook HOST')} starts one.`),
      );
      return;
    }
    const thread = threadOf(session, responder);
    await uploadTimeline(
      session,
      thread,
      responder,
      `Timeline of ${code(session.state.host)} (${esc(session.state.runbookTitle)}, session ${code(session.id)}), asked by ${who(actor.surface, actor.user)}`,
    );
  }

  return {
    runbooks,
    handles: (action) => (RUNBOOK_STEP_ACTIONS as readonly string[]).includes(action.replace(/#\d+$/, '')),
    activeFor,
    start,
    resume,
    click,
    timeline,
  };
}
