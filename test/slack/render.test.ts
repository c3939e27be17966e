/** Block Kit rendering: every documented limit holds whatever the message, and cuts are announced. */
import { describe, expect, it } from 'vitest';
import { triageMessage } from '../../src/report/chat.js';
import { code, cutMrkdwn, esc, pre, type Message } from '../../src/report/message.js';
import { renderSlack, SLACK_LIMITS } from '../../src/report/slack.js';
import { hugeResult, HOSTILE_LINE } from './fixtures.js';
import { blockProblem } from './stub.js';

describe('renderSlack', () => {
  it('keeps 50 blocks at most, with a note, and the buttons last', () => {
    const message: Message = {
      text: 'many',
      blocks: [
        ...Array.from({ length: 80 }, (_, i) => ({ kind: 'section' as const, text: `section ${i}` })),
        { kind: 'actions', buttons: [{ action: 'bg:evidence', label: 'Show evidence', value: 'r=abcd;h=web-03' }] },
      ],
    };
    const { blocks } = renderSlack(message);
    expect(blocks).toHaveLength(SLACK_LIMITS.blocks);
    expect(blocks[blocks.length - 1]!.type).toBe('actions');
    expect(JSON.stringify(blocks[blocks.length - 2])).toMatch(/32 more sections not shown/);
    expect(blockProblem(blocks)).toBeNull();
  });

  it('cuts long texts with a visible note, closing an open code block and never splitting an entity', () => {
    const long = `${'a'.repeat(2990)}&amp;${'b'.repeat(50)}`;
    const [cut] = renderSlack({ text: 'x', blocks: [{ kind: 'section', text: long }] }).blocks as Array<{ text: { text: string } }>;
    expect(cut!.text.text.length).toBeLessThanOrEqual(3000);
    expect(cut!.text.text).toMatch(/truncated/);
    expect(cut!.text.text).not.toMatch(/&am?p?(?!;)\n/);
    const fenced = renderSlack({ text: 'x', blocks: [{ kind: 'section', text: pre(Array.from({ length: 400 }, (_, i) => `line ${i} of the log`)) }] });
    const t = (fenced.blocks[0] as { text: { text: string } }).text.text;
    expect(t.length).toBeLessThanOrEqual(3000);
    expect(t.split('```').length % 2).toBe(1);
    expect(cutMrkdwn('<@U123456> hello', 8, '…')).toBe('…');
  });

  it('bounds button texts, values and action ids, and keeps action ids unique', () => {
    const { blocks } = renderSlack({
      text: 'x',
      blocks: [
        {
          kind: 'actions',
          buttons: [
            { action: 'bg:evidence', label: 'L'.repeat(200), value: 'v'.repeat(5000) },
            { action: 'bg:evidence', label: 'again', value: 'v' },
            { action: `bg:${'x'.repeat(400)}`, label: 'long id', value: 'v' },
          ],
        },
        { kind: 'header', text: 'H'.repeat(400) },
      ],
    });
    expect(blockProblem(blocks)).toBeNull();
    const elements = (blocks.find((b) => b.type === 'actions') as { elements: Array<{ action_id: string; text: { text: string }; value: string }> }).elements;
    expect(elements[0]!.text.text.length).toBeLessThanOrEqual(75);
    expect(elements[0]!.value.length).toBeLessThanOrEqual(2000);
    expect(elements[1]!.action_id).toBe('bg:evidence#2');
    expect(elements[2]!.action_id.length).toBeLessThanOrEqual(255);
  });

  it('renders an oversized fan-out as one valid message, escaped and scrubbed', async () => {
    const rendered = renderSlack(triageMessage(await hugeResult('@big'), { resultId: 'abcd1234', requestedBy: '<@U0ME>' }));
    expect(blockProblem(rendered.blocks)).toBeNull();
    const json = JSON.stringify(rendered);
    expect(json).not.toContain('<!channel>');
    expect(json).not.toContain('<https://evil');
    expect(json).not.toContain('SECRET123');
    expect(json).toContain('<@U0ME>');
    expect(json).toMatch(/more hosts|not shown|truncated/);
  });

  it('escapes data so a log line cannot ping, link or end a code block', () => {
    expect(esc(HOSTILE_LINE)).not.toMatch(/<!channel>|<https/);
    expect(code('a`b')).toBe('`aˋb`');
    expect(pre(['x ``` y']).split('```')).toHaveLength(3);
  });
});
