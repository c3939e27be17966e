/**
 * Message → terminal text for the local console: the same message Slack shows, with mrkdwn turned
 * into plain text and buttons into numbered choices.
 */
import { unesc, type Message, type MessageButton } from './message.js';
import { plainUserText } from './sanitize.js';

/** Plain text of a mrkdwn string: code blocks indented, markers dropped, entities and references readable. */
export function mrkdwnToPlain(text: string): string {
  return text
    .split('```')
    .map((part, i) => {
      if (i % 2 === 1) {
        return `\n${unesc(part)
          .split('\n')
          .map((l) => `    ${l}`)
          .join('\n')}\n`;
      }
      return unesc(
        part
          .replace(/`([^`\n]*)`/g, '$1')
          .replace(/(^|[\s(•])\*([^*\n]+?)\*(?=$|[\s).,:;!?])/gm, '$1$2')
          .replace(/(^|[\s(•])_([^_\n]+?)_(?=$|[\s).,:;!?])/gm, '$1$2'),
      );
    })
    .join('')
    .replace(/\n{3,}/g, '\n\n')
    .replace(/^\n+|\n+$/g, '');
}

/**
 * Renders a message for the terminal. `number` gives each button its choice number (the console
 * keeps them unique for the session, so an older message's buttons stay usable).
 */
export function renderConsole(message: Message, number: (button: MessageButton) => number): string {
  const out: string[] = [];
  for (const block of message.blocks) {
    switch (block.kind) {
      case 'header':
        out.push(`== ${block.text} ==`);
        break;
      case 'section':
        out.push(mrkdwnToPlain(block.text));
        break;
      case 'plain':
        out.push(plainUserText(block.text));
        break;
      case 'fields':
        out.push(block.fields.map(mrkdwnToPlain).join('\n'));
        break;
      case 'context':
        out.push(`  (${mrkdwnToPlain(block.text)})`);
        break;
      case 'divider':
        out.push('--');
        break;
      case 'actions':
        out.push(block.buttons.map((b) => `[${number(b)}] ${b.label}`).join('   '));
        break;
    }
  }
  if (out.length === 0) out.push(mrkdwnToPlain(message.text));
  return `${out.join('\n')}\n`;
}
