import { describe, expect, it } from 'vitest';
import { mrkdwnToPlain, renderConsole } from '../../src/report/console.js';
import { code, esc, pre } from '../../src/report/message.js';

describe('console rendering', () => {
  it('turns mrkdwn into plain text: markers dropped, code blocks indented, entities and mentions readable', () => {
    const text = `*Verdict:* ${esc('a < b && c > d')} ${code('x_y')} asked by <@U0ME> in <#C0ONCALL>\n${pre(['*12 upstream timed out', '_raw_'])}`;
    expect(mrkdwnToPlain(text)).toBe('Verdict: a < b && c > d x_y asked by @U0ME in #C0ONCALL\n\n    *12 upstream timed out\n    _raw_');
  });

  it('shows buttons as numbered choices', () => {
    let n = 7;
    const out = renderConsole(
      {
        text: 'x',
        blocks: [
          { kind: 'header', text: 'web-03: PHP-FPM is down' },
          { kind: 'context', text: 'took 1.2 s' },
          {
            kind: 'actions',
            buttons: [
              { action: 'bg:evidence', label: 'Show evidence', value: 'v' },
              { action: 'bg:runbook', label: 'Start runbook', value: 'v' },
            ],
          },
        ],
      },
      () => n++,
    );
    expect(out).toBe('== web-03: PHP-FPM is down ==\n  (took 1.2 s)\n[7] Show evidence   [8] Start runbook\n');
  });
});
