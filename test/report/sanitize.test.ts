/** Display safety: terminal control sequences out of log text, bidi and control characters out of user text shown in Slack. */
import { describe, expect, it } from 'vitest';
import { requestMessage } from '../../src/actions/messages.js';
import { renderConsole } from '../../src/report/console.js';
import { plainUserText, terminalSafe } from '../../src/report/sanitize.js';
import { renderSlack } from '../../src/report/slack.js';
import type { Approval } from '../../src/store/index.js';

describe('terminalSafe', () => {
  it('drops CSI, OSC, DCS and two-character escapes, C0/C1 controls and bidi overrides; keeps tabs, newlines and text', () => {
    const line = 'GET /a\x1b[2J\x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\ \x1bPq#0\x1b\\ \x1bc\x9b31m\x07\x08\r\u202eevil\tok\nnext';
    // (0x9b alone is dropped; what followed it is plain text then.)
    expect(terminalSafe(line)).toBe('GET /ared  link  31mevil\tok\nnext');
  });
});

describe('user text in Block Kit', () => {
  const approval: Approval = {
    id: 'a1b2c3d4e5f60718',
    action: 'reload',
    host: 'web-03',
    commandId: 'fpm.reload',
    params: {},
    argv: ['systemctl', 'reload', 'php8.2-fpm'],
    requestedBy: 'U0ASKER',
    surface: 'slack',
    channel: 'C0ONCALL',
    reason: 'deploy ``` *bold* <!channel> <https://evil|x> \u202eoverride\u2066 zero\u200bwidth',
    requestedAt: 0,
    expiresAt: 15 * 60_000,
    dryRun: false,
    state: 'pending',
    decidedBy: null,
    decidedAt: null,
    finishedAt: null,
    outcome: null,
    runner: null,
    leaseUntil: null,
    message: null,
  };

  it('a reason is a plain_text block: escaped, without bidi or invisible characters, unable to break the code block', () => {
    const message = requestMessage(approval, { approvers: { users: ['U0APPROVER'], group: null }, verify: ['fpm.state'], notes: [], user: 'root', now: 0 });
    const blocks = renderSlack(message).blocks as Array<{ type: string; text?: { type: string; text: string } }>;
    const reason = blocks.find((b) => b.text?.text.startsWith('why: '))!;
    expect(reason.text).toEqual({ type: 'plain_text', text: 'why: deploy ``` *bold* &lt;!channel&gt; &lt;https://evil|x&gt; override zerowidth', emoji: false });
    // The command's code block is in a block of its own, whole.
    const command = blocks.find((b) => b.text?.text.includes('systemctl reload php8.2-fpm'))!;
    expect(command.text!.text.split('```')).toHaveLength(3);
    // The console prints the words, nothing else.
    expect(renderConsole(message, () => 1)).toContain('why: deploy ``` *bold* <!channel> <https://evil|x> override zerowidth');
    expect(plainUserText('a\u200f\u2067b\nc\x1b[1md')).toBe('ab cd');
  });
});
