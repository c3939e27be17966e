/** The messages a runbook session posts in its thread: the start, each step, the end, escalations. */
import { CAUSE_WORDS, confidenceWords } from '../report/chat.js';
import { bold, code, cutMrkdwn, esc, fallbackOf, mention, pre, type Message, type MessageBlock, type MessageButton } from '../report/message.js';
import type { Surface } from '../chat/types.js';
import { RUNBOOK_ACTIONS, type Runbook, type RunbookStep } from './format.js';
import { markdownToMrkdwn } from './render.js';
import type { CheckResult, Session, StepState } from './session.js';

export const ACTION_STEP_DONE = 'bg:rb:done';
export const ACTION_STEP_SKIP = 'bg:rb:skip';
export const ACTION_STEP_AGAIN = 'bg:rb:again';
export const ACTION_STEP_ESCALATE = 'bg:rb:escalate';
export const ACTION_STEP_ABORT = 'bg:rb:abort';
export const ACTION_STEP_ACTION = 'bg:rb:action';
export const RUNBOOK_STEP_ACTIONS = [ACTION_STEP_DONE, ACTION_STEP_SKIP, ACTION_STEP_AGAIN, ACTION_STEP_ESCALATE, ACTION_STEP_ABORT, ACTION_STEP_ACTION] as const;

/** `s=<session>;t=<step>`: what a step's buttons carry. */
export function stepButtonValue(sessionId: string, stepId: string): string {
  return `s=${sessionId};t=${stepId}`;
}

export function parseStepButtonValue(value: unknown): { sessionId: string; stepId: string } | null {
  if (typeof value !== 'string') return null;
  const match = /^s=([a-f0-9]{6,32});t=([a-z0-9][a-z0-9-]{0,62})$/.exec(value);
  return match ? { sessionId: match[1]!, stepId: match[2]! } : null;
}

function message(blocks: MessageBlock[]): Message {
  return { text: fallbackOf(blocks), blocks };
}

export function who(surface: Surface, user: string | null | undefined): string {
  if (!user) return 'badgateway';
  return surface === 'slack' ? mention(user) : esc(user);
}

function time(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 16)}Z`;
}

export function startMessage(runbook: Runbook, session: Session): Message {
  const s = session.state;
  const top = s.report?.diagnosis.causes[0];
  const lines = [
    `📋 ${bold(`Runbook: ${esc(runbook.title)}`)} on ${code(s.host)}, started by ${who(s.surface, s.startedBy)} · session ${code(session.id)}`,
    top ? `Diagnosis: ${esc(CAUSE_WORDS[top.id])} (${code(top.id)}), confidence ${bold(confidenceWords(top.confidence))}` : 'Diagnosis: no cause named.',
  ];
  const blocks: MessageBlock[] = [{ kind: 'section', text: lines.join('\n') }];
  if (runbook.intro) blocks.push({ kind: 'section', text: cutMrkdwn(markdownToMrkdwn(runbook.intro), 2900) });
  blocks.push({
    kind: 'context',
    text: `Each step comes here with its check already run: ${bold('Done')} moves on, ${bold('Skip')} leaves it out, ${bold('Run again')} re-runs the check, ${bold('Escalate')} calls for help. ${code(`/502 timeline ${session.id}`)} posts the timeline at any time.`,
  });
  return message(blocks);
}

function checkBlock(check: CheckResult): MessageBlock {
  const head = `${check.ok ? '🔎' : '⚠️'} ${bold('Check')} ${code(check.label)} at ${time(check.at)}: ${esc(check.summary)}`;
  const cmd = check.command ? `\n${code(`$ ${check.command}`)}` : '';
  let lines = check.output.split('\n');
  const budget = 2400;
  let note = '';
  if (check.output.length > budget) {
    // Logs: the newest lines (the end); anything else: the start.
    const keepEnd = check.label.startsWith('log.');
    const kept: string[] = [];
    let size = 0;
    const ordered = keepEnd ? [...lines].reverse() : lines;
    for (const l of ordered) {
      const line = l.length > 300 ? `${l.slice(0, 299)}…` : l;
      if (size + line.length + 1 > budget) break;
      kept.push(line);
      size += line.length + 1;
    }
    lines = keepEnd ? kept.reverse() : kept;
    note = `\n_${check.output.split('\n').length - lines.length} more lines in the timeline (${code('/502 timeline')})_`;
  }
  return { kind: 'section', text: `${head}${cmd}\n${pre(lines)}${note}` };
}

export interface StepMessageOptions {
  runbook: Runbook;
  session: Session;
  step: RunbookStep;
  state: StepState;
  number: number;
  guidance: string;
  /** Ended steps show how they ended and have no buttons. */
  ended?: { how: string };
}

export function stepMessage(o: StepMessageOptions): Message {
  const { session, step, state } = o;
  const s = session.state;
  const blocks: MessageBlock[] = [
    { kind: 'section', text: `${bold(`Step ${o.number} · ${esc(step.title)}`)}\n${o.guidance ? cutMrkdwn(o.guidance, 2800, '\n_…cut: the runbook file has the rest_') : ''}`.trimEnd() },
  ];
  const check = state.checks[state.checks.length - 1];
  if (check) blocks.push(checkBlock(check));
  if (step.action) {
    const action = RUNBOOK_ACTIONS[step.action];
    blocks.push({
      kind: 'section',
      text: `🛠 This step proposes ${bold(esc(action.label))} on ${code(s.host)}. It changes the host, so it goes through an approval: ${bold(`Request ${esc(action.label.toLowerCase())}`)} asks an approver.`,
    });
  }
  if (o.ended) {
    blocks.push({ kind: 'context', text: `${o.ended.how} · ${esc(o.runbook.title)} on ${code(s.host)} · session ${code(session.id)}` });
    return message(blocks);
  }
  blocks.push({ kind: 'context', text: `${esc(o.runbook.title)} on ${code(s.host)} · session ${code(session.id)} · step shown at ${time(state.shownAt ?? Date.now())}` });
  const value = stepButtonValue(session.id, step.id);
  const buttons: MessageButton[] = [
    { action: ACTION_STEP_DONE, label: 'Done', value, style: 'primary' },
    { action: ACTION_STEP_SKIP, label: 'Skip', value },
  ];
  if (step.check) buttons.push({ action: ACTION_STEP_AGAIN, label: 'Run again', value });
  if (step.action) buttons.push({ action: ACTION_STEP_ACTION, label: `Request ${RUNBOOK_ACTIONS[step.action].label.toLowerCase()}`, value, style: 'danger' });
  buttons.push({ action: ACTION_STEP_ESCALATE, label: 'Escalate', value }, { action: ACTION_STEP_ABORT, label: 'Abort', value, style: 'danger' });
  blocks.push({ kind: 'actions', buttons });
  return message(blocks);
}

export function endMessage(runbook: Runbook, session: Session, by: string | null): Message {
  const s = session.state;
  const done = s.steps.filter((x) => x.status === 'done').length;
  const skipped = s.steps.filter((x) => x.status === 'skipped').length;
  const na = s.steps.filter((x) => x.status === 'not-applicable').length;
  const head = s.outcome === 'aborted' ? `🛑 ${bold('Runbook aborted')} by ${who(s.surface, by)}` : `🏁 ${bold('Runbook finished')}${by ? ` (last step by ${who(s.surface, by)})` : ''}`;
  return message([
    {
      kind: 'section',
      text: `${head}: ${esc(runbook.title)} on ${code(s.host)} · ${done} done, ${skipped} skipped, ${na} not applicable. The timeline for the review follows as a file.`,
    },
  ]);
}

export function escalationMessage(session: Session, step: RunbookStep, by: string, group: string | undefined): Message {
  const s = session.state;
  const ping = group ? `<!subteam^${group}>` : null;
  const top = s.report?.diagnosis.causes[0];
  const text = [
    `🚨 ${ping ? `${ping} ` : ''}${bold('Escalation')} requested by ${who(s.surface, by)} for ${code(s.host)} at step ${bold(esc(step.title))}.`,
    top ? `Diagnosis so far: ${esc(CAUSE_WORDS[top.id])} (${code(top.id)}, ${confidenceWords(top.confidence)}).` : '',
    ping ? '' : '_No escalation group is configured (`slack.escalationGroup` in badgateway.yaml): please page the next level by hand._',
  ]
    .filter(Boolean)
    .join('\n');
  return message([{ kind: 'section', text }]);
}

export function noticeText(text: string): Message {
  return message([{ kind: 'section', text }]);
}
