/**
 * A runbook session: where one incident's walk through a runbook stands, kept as plain JSON (the
 * `state` of a `runbook_sessions` row) so it survives a restart and any bot instance can continue
 * it. Pure: conditions, the next step, and the timeline entries.
 */
import type { CauseId, VerdictStatus } from '../diagnose/index.js';
import type { Report } from '../triage/report.js';
import type { MessageRef, Surface } from '../chat/types.js';
import type { Condition, Runbook, RunbookStep } from './format.js';

export interface CheckResult {
  kind: 'command' | 'view';
  /** `view fpm`, `log.tail source=errorLog lines=50`. */
  label: string;
  ok: boolean;
  summary: string;
  /** Plain text, scrubbed of credentials, capped. */
  output: string;
  /** The command line as run on the host (commands only). */
  command: string | null;
  exitCode: number | null;
  at: number;
  ms: number;
}

export type StepStatus = 'shown' | 'done' | 'skipped' | 'not-applicable';

export interface StepState {
  id: string;
  title: string;
  status: StepStatus;
  /** Why a step did not apply, in words. */
  reason?: string;
  shownAt?: number;
  endedAt?: number;
  /** Who ended it (done or skipped). */
  by?: string;
  /** Every run of its check, oldest first; the last one is what the step shows. */
  checks: CheckResult[];
  /** The message showing the step, to update it when it ends. */
  message?: MessageRef;
}

export type TimelineEvent = 'started' | 'triaged' | 'step' | 'check' | 'done' | 'skipped' | 'rerun' | 'escalated' | 'action-requested' | 'approval' | 'aborted' | 'completed' | 'resumed' | 'note';

export interface TimelineEntry {
  at: number;
  event: TimelineEvent;
  /** Slack user id or console user; null for the bot itself. */
  who: string | null;
  step?: string;
  text: string;
}

export interface SessionState {
  schema: 1;
  runbookTitle: string;
  runbookHash: string;
  host: string;
  surface: Surface;
  channel: string;
  /** The message whose thread holds the session. */
  thread: MessageRef | null;
  sinceMs: number;
  /** Set for a post-mortem (`--until`): re-runs read the same window, not the present. */
  untilMs?: number;
  startedBy: string;
  startedAt: number;
  /** The triage report of the host the branches are decided on (the latest, after a re-run). */
  report: Report | null;
  triagedAt: number | null;
  current: string | null;
  steps: StepState[];
  timeline: TimelineEntry[];
  endedAt: number | null;
  outcome: 'completed' | 'aborted' | null;
}

export interface Session {
  id: string;
  runbook: string;
  version: number;
  status: 'active' | 'done' | 'abandoned';
  state: SessionState;
}

/** The latest check result of each step, by step id. */
export function checksByStep(state: SessionState): Map<string, CheckResult> {
  const map = new Map<string, CheckResult>();
  for (const s of state.steps) {
    const last = s.checks[s.checks.length - 1];
    if (last) map.set(s.id, last);
  }
  return map;
}

interface Facts {
  /** Undefined: no triage yet. */
  verdict?: VerdictStatus;
  causes: Array<{ id: CauseId; confidence: number }>;
  checks: Map<string, CheckResult>;
}

/** Whether a condition holds, and why (for the record when a step is left out). */
export function evaluate(condition: Condition, facts: Facts): { holds: boolean; because: string } {
  const parts: Array<{ holds: boolean; because: string }> = [];
  const top = facts.causes[0];
  const topText = top ? `top cause ${top.id} (${Math.round(top.confidence * 100)}%)` : 'no cause named';
  if (condition.verdict) {
    const status = facts.verdict ?? 'unknown';
    parts.push({ holds: condition.verdict.includes(status), because: `verdict ${status}, step is for ${condition.verdict.join('/')}` });
  }
  if (condition.cause) parts.push({ holds: !!top && condition.cause.includes(top.id), because: `${topText}${condition.cause.length ? `, step is for ${condition.cause.join('/')}` : ''}` });
  if (condition.notCause) parts.push({ holds: !top || !condition.notCause.includes(top.id), because: `${topText}, step is not for ${condition.notCause.join('/')}` });
  if (condition.anyCause) {
    const min = condition.minConfidence ?? 0;
    const found = facts.causes.find((c) => condition.anyCause!.includes(c.id) && c.confidence >= min);
    parts.push({
      holds: !!found,
      because: found
        ? `${found.id} is among the causes (${Math.round(found.confidence * 100)}%)`
        : `none of ${condition.anyCause.join('/')} among the causes${min ? ` at ${Math.round(min * 100)}%` : ''}`,
    });
  } else if (condition.minConfidence !== undefined) {
    parts.push({ holds: !!top && top.confidence >= condition.minConfidence, because: `${topText}, step needs ${Math.round(condition.minConfidence * 100)}%` });
  }
  if (condition.check) {
    const c = condition.check;
    const result = facts.checks.get(c.step);
    if (!result) parts.push({ holds: false, because: `step ${c.step} has no check result (skipped or not applicable)` });
    else {
      const tests: Array<{ holds: boolean; because: string }> = [];
      if (c.ok !== undefined) tests.push({ holds: result.ok === c.ok, because: `check of ${c.step} ${result.ok ? 'succeeded' : 'failed'}` });
      if (c.matches) {
        const holds = new RegExp(c.matches, 'im').test(result.output);
        tests.push({ holds, because: `output of ${c.step} ${holds ? 'matches' : 'does not match'} /${c.matches}/` });
      }
      if (c.notMatches) {
        const matched = new RegExp(c.notMatches, 'im').test(result.output);
        tests.push({ holds: !matched, because: `output of ${c.step} ${matched ? 'matches' : 'does not match'} /${c.notMatches}/` });
      }
      if (!tests.length) tests.push({ holds: true, because: `step ${c.step} has a check result` });
      parts.push(...tests);
    }
  }
  if (condition.all) {
    const results = condition.all.map((c) => evaluate(c, facts));
    const failed = results.find((r) => !r.holds);
    parts.push(failed ?? { holds: true, because: results.map((r) => r.because).join('; ') });
  }
  if (condition.any) {
    const results = condition.any.map((c) => evaluate(c, facts));
    const held = results.find((r) => r.holds);
    parts.push(held ?? { holds: false, because: results.map((r) => r.because).join('; or ') });
  }
  if (condition.not) {
    const inner = evaluate(condition.not, facts);
    parts.push({ holds: !inner.holds, because: `not (${inner.because})` });
  }
  const failed = parts.find((p) => !p.holds);
  return failed ?? { holds: true, because: parts.map((p) => p.because).join('; ') };
}

export function factsOf(state: SessionState): Facts {
  return {
    ...(state.report ? { verdict: state.report.diagnosis.verdict.status } : {}),
    causes: (state.report?.diagnosis.causes ?? []).map((c) => ({ id: c.id, confidence: c.confidence })),
    checks: checksByStep(state),
  };
}

/**
 * The next step to show after `afterId` (null: from the start), marking the steps in between that
 * do not apply. Returns null when the runbook is finished. Mutates `state.steps` for skipped ones.
 */
export function nextStep(runbook: Runbook, state: SessionState, afterId: string | null, now: number): RunbookStep | null {
  let index = afterId === null ? 0 : runbook.steps.findIndex((s) => s.id === afterId) + 1;
  if (afterId !== null && index === 0) index = runbook.steps.length;
  for (; index < runbook.steps.length; index++) {
    const step = runbook.steps[index]!;
    const existing = state.steps.find((s) => s.id === step.id);
    if (existing && existing.status !== 'not-applicable') continue;
    if (!step.when) return step;
    const verdict = evaluate(step.when, factsOf(state));
    if (verdict.holds) return step;
    const record: StepState = { id: step.id, title: step.title, status: 'not-applicable', reason: verdict.because, endedAt: now, checks: [] };
    if (existing) Object.assign(existing, record);
    else state.steps.push(record);
  }
  return null;
}

export function stepState(state: SessionState, id: string): StepState | undefined {
  return state.steps.find((s) => s.id === id);
}

/** Position of a step among the steps shown so far (1-based), for "Step 3". */
export function stepNumber(state: SessionState, id: string): number {
  const shown = state.steps.filter((s) => s.status !== 'not-applicable');
  const at = shown.findIndex((s) => s.id === id);
  return at === -1 ? shown.length + 1 : at + 1;
}
