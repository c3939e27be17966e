/**
 * The chat message every front end renders: a short list of blocks whose text is Slack mrkdwn (the
 * lingua franca of the bot). `slack.ts` turns it into Block Kit within Slack's limits; `console.ts`
 * into terminal text with buttons as numbered choices. Builders put data (log lines, URIs, host
 * names) through `esc`, `code` and `pre`, so no log line can format, link or ping (`<!channel>`).
 */
import { plainUserText } from './sanitize.js';

export type MessageBlock =
  /** A title line (plain text, no formatting). */
  | { kind: 'header'; text: string }
  /** A paragraph of mrkdwn. */
  | { kind: 'section'; text: string }
  /**
   * Text someone typed (a reason, an alert's summary), shown as plain text: it cannot format, link,
   * mention or reorder (bidi and control characters are removed by the renderers). Not mrkdwn: pass it raw.
   */
  | { kind: 'plain'; text: string }
  /** Short mrkdwn label/value pairs shown side by side in Slack. */
  | { kind: 'fields'; fields: string[] }
  /** Small print: window, sources, timings. */
  | { kind: 'context'; text: string }
  | { kind: 'divider' }
  | { kind: 'actions'; buttons: MessageButton[] };

export interface MessageButton {
  /** Stable action id the router dispatches on (`bg:evidence`, `bg:runbook`, `bg:reload`). */
  action: string;
  label: string;
  /** Opaque to the front ends; parsed by the router when the button is clicked. */
  value: string;
  style?: 'primary' | 'danger';
}

export interface Message {
  /** Fallback text in mrkdwn (notifications, screen readers, the console's first line). */
  text: string;
  blocks: MessageBlock[];
  /**
   * Set on interim progress messages: one line saying where the work is. The console prints only
   * this line for an update; Slack replaces the whole message.
   */
  status?: string;
}

/** Escapes the three characters Slack treats as markup in any text: `<@U1>`, `<!here>`, links. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Reverses `esc` and turns Slack references into readable text (for terminals). */
export function unesc(text: string): string {
  return text
    .replace(/<@([A-Z0-9]+)>/g, '@$1')
    .replace(/<#([A-Z0-9]+)(?:\|([^>]*))?>/g, (_, id: string, name?: string) => `#${name || id}`)
    .replace(/<!([a-z]+)>/g, '@$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Inline code of data (a URI, a path, a setting): backticks inside cannot close it early. */
export function code(text: string): string {
  const clean = text.replace(/`/g, 'ˋ').replace(/[\r\n]+/g, ' ');
  return clean === '' ? '' : `\`${esc(clean)}\``;
}

/** A preformatted block of lines (tables, log samples); ``` inside a line cannot end it. */
export function pre(lines: readonly string[]): string {
  const body = lines.map((l) => esc(l.replace(/```/g, 'ˋˋˋ'))).join('\n');
  return `\`\`\`${body || ' '}\`\`\``;
}

export function bold(text: string): string {
  return `*${text}*`;
}

export function mention(user: string): string {
  return /^[UW][A-Z0-9]+$/.test(user) ? `<@${user}>` : esc(user);
}

export function channelRef(channel: string): string {
  return /^[CG][A-Z0-9]+$/.test(channel) ? `<#${channel}>` : esc(channel);
}

export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s*\n\s*/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * Cuts mrkdwn to at most `max` characters without splitting an entity (`&amp;`) or a reference
 * (`<@U1>`), and closes a code block left open by the cut. `note` is appended (and counted).
 */
export function cutMrkdwn(text: string, max: number, note = '…'): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - note.length - 3);
  const amp = text.lastIndexOf('&', end);
  if (amp !== -1 && amp > end - 6 && text.indexOf(';', amp) >= end) end = amp;
  const lt = text.lastIndexOf('<', end);
  if (lt !== -1 && text.indexOf('>', lt) >= end) end = lt;
  let cut = text.slice(0, end);
  // A high surrogate at the end would leave half a character.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  const fences = cut.split('```').length - 1;
  if (fences % 2 === 1) cut += '```';
  return `${cut}${note}`;
}

/** The fallback text of a message: its first header or section on one line, in mrkdwn. */
export function fallbackOf(blocks: readonly MessageBlock[], max = 300): string {
  for (const block of blocks) {
    if (block.kind === 'header') return cutMrkdwn(esc(oneLine(block.text, 10_000)), max);
    if (block.kind === 'section') return cutMrkdwn(oneLine(block.text.replace(/```/g, ' '), 10_000), max);
    if (block.kind === 'plain') return cutMrkdwn(esc(plainUserText(block.text)), max);
  }
  return '';
}
