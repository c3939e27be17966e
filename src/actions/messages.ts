/**
 * The messages of the approval flow (chat-neutral: mrkdwn blocks every front end renders): the
 * request with Approve / Deny, what it became, the outcome in its thread, the dry-run preview and the
 * audit listing.
 */
import { createHash } from 'node:crypto';
import { shellJoin } from '../catalog/index.js';
import { bold, channelRef, code, esc, fallbackOf, mention, oneLine, pre, type Message, type MessageBlock } from '../report/message.js';
import { plainUserText } from '../report/sanitize.js';
import type { Approval, AuditEntry } from '../store/index.js';
import type { Check } from './verify.js';

export const ACTION_APPROVE = 'bg:approve';
export const ACTION_DENY = 'bg:deny';

export const ACTION_WORDS = { reload: 'reload php-fpm', restart: 'restart php-fpm' } as const;

/** What an interrupted request says (its runner stopped or vanished while it ran): never run again by itself. */
export const INTERRUPTED = 'The bot stopped while running this; it may or may not have run: check the host, then ask again.';

export type DecidedPhase = 'running' | 'denied' | 'succeeded' | 'unverified' | 'failed' | 'interrupted' | 'dry-run' | 'expired';

/** `a=<approval id>`: all an Approve / Deny button carries; the request itself is in the store. */
export function approvalValue(id: string): string {
  return `a=${id}`;
}

export function parseApprovalValue(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  return /^a=([a-f0-9]{16,40})$/.exec(value)?.[1] ?? null;
}

function message(blocks: MessageBlock[]): Message {
  return { text: fallbackOf(blocks), blocks };
}

export function who(user: string): string {
  return mention(user);
}

export function clock(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 16)} UTC`;
}

function stamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(5, 10)} ${iso.slice(11, 19)}`;
}

/**
 * The argv as it runs (`sudo -n --` first when it goes through sudo); a fixed `sh -c` script is named
 * by its catalog id and digest instead of printed whole.
 */
export function displayArgv(argv: readonly string[], commandId: string): string {
  const sudo = argv[0] === 'sudo' ? argv.slice(0, argv.indexOf('--') + 1) : [];
  const rest = argv.slice(sudo.length);
  if (rest[0] === 'sh' && rest[1] === '-c' && rest.length >= 3) {
    const digest = createHash('sha256').update(rest[2]!).digest('hex').slice(0, 12);
    const script = `sh -c '<fixed script of ${commandId}, ${rest[2]!.split('\n').filter(Boolean).length} lines, sha256 ${digest}…>'`;
    return [shellJoin(sudo), script, shellJoin(rest.slice(3))].filter(Boolean).join(' ');
  }
  return shellJoin(argv);
}

/** The requester's words, as plain text: a reason cannot format, mention, end a code block or reorder the message. */
function reasonBlock(a: Approval): MessageBlock[] {
  return a.reason ? [{ kind: 'plain', text: `why: ${oneLine(a.reason, 600)}` }] : [];
}

/** How the command runs, for the approvers: the account, and sudo when it goes through it. */
export function runsAs(argv: readonly string[], user: string): string {
  if (argv[0] === 'sudo') return `as ${user}, through sudo -n`;
  return `as ${user}${user === 'root' ? ', no sudo' : ''}`;
}

function approverText(approvers: { users: string[]; group: string | null }): string {
  const names = approvers.users.slice(0, 6).map(who);
  if (approvers.users.length > 6) names.push(`${approvers.users.length - 6} more`);
  if (approvers.group) names.push(`<!subteam^${approvers.group}>`);
  return names.length ? names.join(', ') : '_nobody: set slack.approvers_';
}

export interface RequestView {
  approvers: { users: string[]; group: string | null };
  verify: string[];
  notes: string[];
  /** The account the command runs as (the SSH login, or the bot's own user for transport: local). */
  user: string;
  now: number;
}

export function requestMessage(a: Approval, view: RequestView): Message {
  const title = `${ACTION_WORDS[a.action]} on ${a.host}`;
  const lines = [`command (${code(a.commandId)}, ${esc(runsAs(a.argv, view.user))}):\n${pre([displayArgv(a.argv, a.commandId)])}`, `then verified by: ${esc(view.verify.join('; '))}`];
  for (const note of view.notes) lines.push(`_${esc(oneLine(note, 300))}_`);
  const minutes = Math.max(1, Math.round((a.expiresAt - view.now) / 60_000));
  const blocks: MessageBlock[] = [
    { kind: 'section', text: `🔐 ${bold(`Approval needed: ${esc(title)}`)}${a.dryRun ? ' (dry run: approving runs nothing)' : ''}\nasked by ${who(a.requestedBy)}` },
    ...reasonBlock(a),
    { kind: 'section', text: lines.join('\n') },
    { kind: 'context', text: `expires ${clock(a.expiresAt)} (in ${minutes} min) · approvers: ${approverText(view.approvers)} · request ${code(a.id)}` },
    {
      kind: 'actions',
      buttons: [
        { action: ACTION_APPROVE, label: 'Approve', value: approvalValue(a.id), style: 'primary' },
        { action: ACTION_DENY, label: 'Deny', value: approvalValue(a.id), style: 'danger' },
      ],
    },
  ];
  return message(blocks);
}

/** What the request message becomes once decided (the buttons go away). */
export function decidedMessage(a: Approval, phase: DecidedPhase): Message {
  const title = `${ACTION_WORDS[a.action]} on ${a.host}`;
  const by = a.decidedBy ? who(a.decidedBy) : 'nobody';
  const head = {
    running: `⏳ ${bold(`Approved: ${esc(title)}`)} by ${by}, running…`,
    denied: `🚫 ${bold(`Denied: ${esc(title)}`)} by ${by}`,
    succeeded: `✅ ${bold(`Done: ${esc(title)}`)}, approved by ${by}, verified`,
    unverified: `✅ ${bold(`Ran: ${esc(title)}`)}, approved by ${by}, not fully verified: the bot was stopping (see the thread)`,
    failed: `❌ ${bold(`Failed: ${esc(title)}`)}, approved by ${by} (see the thread)`,
    interrupted: `⚠️ ${bold(`Interrupted: ${esc(title)}`)}, approved by ${by}. ${esc(INTERRUPTED)}`,
    'dry-run': `🧪 ${bold(`Dry run: ${esc(title)}`)}, approved by ${by}: nothing was run`,
    expired: `⌛ ${bold(`Expired: ${esc(title)}`)} at ${clock(a.expiresAt)}, nothing was run`,
  }[phase];
  return message([
    { kind: 'section', text: `${head}\nasked by ${who(a.requestedBy)}` },
    ...reasonBlock(a),
    { kind: 'section', text: pre([displayArgv(a.argv, a.commandId)]) },
    { kind: 'context', text: `request ${code(a.id)}${a.decidedAt ? ` · decided ${clock(a.decidedAt)}` : ''}` },
  ]);
}

export interface RunOutcome {
  state: 'succeeded' | 'failed' | 'interrupted';
  exitCode: number | null;
  durationMs: number;
  output: string;
  checks: Check[];
  error?: string;
  dryRun?: boolean;
  /** It ran and what was checked passed, but the checks were cut short (the bot was stopping). */
  unverified?: string;
}

export function outcomeMessage(a: Approval, outcome: RunOutcome): Message {
  const title = `${ACTION_WORDS[a.action]} on ${a.host}`;
  if (outcome.dryRun) {
    return message([{ kind: 'section', text: `🧪 ${bold('Dry run')}: would have run on ${code(a.host)}:\n${pre([displayArgv(a.argv, a.commandId)])}Nothing was run.` }]);
  }
  const head =
    outcome.state === 'succeeded'
      ? `✅ ${bold(`${esc(title)}: ok`)} (exit ${outcome.exitCode}, ${outcome.durationMs} ms), ${outcome.unverified ? esc(outcome.unverified) : 'verified'}`
      : outcome.state === 'interrupted'
        ? `⚠️ ${bold(`${esc(title)}: interrupted`)}: ${esc(oneLine(outcome.error ?? INTERRUPTED, 500))}`
        : `❌ ${bold(`${esc(title)}: failed`)}${outcome.error ? `: ${esc(oneLine(outcome.error, 500))}` : ` (exit ${outcome.exitCode ?? 'none'}, ${outcome.durationMs} ms)`}`;
  const lines = [head];
  const icon = (ok: boolean | null) => (ok === true ? '✓' : ok === false ? '✗' : '·');
  for (const c of outcome.checks) lines.push(`${icon(c.ok)} ${bold(esc(c.name))}: ${esc(oneLine(c.detail, 400))}`);
  const blocks: MessageBlock[] = [{ kind: 'section', text: lines.join('\n') }];
  if (outcome.output.trim()) blocks.push({ kind: 'section', text: `${bold('Output')}\n${pre(outcome.output.trimEnd().split('\n').slice(-30))}` });
  return message(blocks);
}

export function previewMessage(input: { action: keyof typeof ACTION_WORDS; host: string; commandId: string; argv: string[]; verify: string[]; notes: string[]; user: string }): Message {
  const lines = [
    `🧪 ${bold(`Dry run: ${esc(ACTION_WORDS[input.action])} on ${esc(input.host)}`)} would run (${code(input.commandId)}, ${esc(runsAs(input.argv, input.user))}):`,
    pre([displayArgv(input.argv, input.commandId)]),
    `then verify: ${esc(input.verify.join('; '))}`,
    'Nothing was run and no approval was requested.',
  ];
  for (const note of input.notes) lines.push(`_${esc(oneLine(note, 300))}_`);
  return message([{ kind: 'section', text: lines.join('\n') }]);
}

/** One line per entry, newest first, for `/502 audit` and the CLI. */
export function auditLine(e: AuditEntry): string {
  const who = e.actor ?? '-';
  const what =
    e.kind === 'command'
      ? `${e.commandId ?? '?'} exit ${e.exitCode ?? '-'} ${e.durationMs ?? '?'}ms${e.approvalId ? ` approval ${e.approvalId}` : ''}${e.approver ? ` by ${e.approver}` : ''}`
      : `${e.approvalId ? `approval ${e.approvalId}` : ''}${e.approver ? ` by ${e.approver}` : ''}${e.detail?.reason ? ` ${plainUserText(oneLine(String(e.detail.reason), 80))}` : ''}${e.detail?.why ? ` (${oneLine(String(e.detail.why), 80)})` : ''}`;
  return `${stamp(e.at)}  ${e.event.padEnd(9)} ${(e.host ?? '-').padEnd(12)} ${who.padEnd(12)} ${what}`.trimEnd();
}

export interface AuditSummary {
  /** Read-only commands (triage, logs, ...) not listed one by one. */
  readOnly: number;
  actors: string[];
  oldest: number | null;
}

/** Decisions and the commands of approved changes, one line each; the read-only commands of triages counted. */
export function auditMessage(entries: AuditEntry[], summary: AuditSummary, host: string | null, channel: string | null = null): Message {
  const where = channel ? ` in ${channelRef(channel)}` : '';
  if (entries.length === 0 && summary.readOnly === 0) {
    return message([
      { kind: 'section', text: `No audit entries${host ? ` for ${code(host)}` : ''}${where} yet.${channel ? ` Approvers may ask for every channel's: ${code('/502 audit --all')}.` : ''}` },
    ]);
  }
  const lines = [`${bold(`Audit log${host ? ` of ${esc(host)}` : ''}`)}${where}: the last ${entries.length} decisions and commands of approved changes, newest first`];
  if (entries.length) {
    lines.push(pre([`${'TIME (UTC)'.padEnd(14)}  ${'EVENT'.padEnd(9)} ${'HOST'.padEnd(12)} ${'WHO'.padEnd(12)} WHAT`, ...entries.map(auditLine)]));
  }
  if (summary.readOnly) {
    const by = summary.actors.slice(0, 5).map((a) => (/^[UW][A-Z0-9]+$/.test(a) ? mention(a) : esc(a)));
    lines.push(
      `…plus ${summary.readOnly} read-only commands (triage, logs, status)${by.length ? ` asked by ${by.join(', ')}${summary.actors.length > 5 ? ' and others' : ''}` : ''}${summary.oldest ? ` since ${clock(summary.oldest)}` : ''}.`,
    );
  }
  return message([
    { kind: 'section', text: lines.join('\n') },
    { kind: 'context', text: esc(`badgateway audit --since 7d${host ? ` --host ${host}` : ''} --json exports every entry`) },
  ]);
}
