/**
 * The session engine on its own (the in-memory session store, a front end that records what it is
 * given, triage results from the real analyzers over recorded lab evidence): two clicks at once move
 * a step on once, a forgotten session is set aside, and a step without an approval flow says so.
 */
import { describe, expect, it } from 'vitest';
import { createServices } from '../../src/app/services.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/index.js';
import type { Message } from '../../src/report/message.js';
import type { Click, ClickResponder, MessageHandle } from '../../src/chat/types.js';
import { createRunbookService, MemoryRunbookSessionStore, parseRunbook } from '../../src/runbook/index.js';
import { testCatalogDir, writeConfig } from '../support/config.js';
import { hostOf, labReport, resultOf } from '../slack/fixtures.js';

const RUNBOOK = `---
id: mini
title: Mini
---
## Look

\`\`\`yaml step
check: { view: verdict }
\`\`\`

Look at {{host}}: {{cause}}.

## Capacity

\`\`\`yaml step
when: { cause: [pool_exhausted] }
action: reload
\`\`\`

Add workers: {{setting}} {{current}} → {{suggested}}.

## Timeouts

\`\`\`yaml step
when: { cause: [fastcgi_read_timeout] }
\`\`\`

Slow code.
`;

function frontEnd() {
  const said: Array<{ kind: string; text: string; message: Message }> = [];
  let n = 0;
  const text = (m: Message) => m.blocks.map((b) => ('text' in b ? b.text : 'buttons' in b ? b.buttons.map((x) => `[${x.label}]`).join(' ') : '')).join('\n');
  const handle = (_kind: string): MessageHandle => {
    const ref = { channel: 'C0ONCALL', ts: `1.${++n}` };
    return {
      ref,
      update: async (m) => void said.push({ kind: `update ${ref.ts}`, text: text(m), message: m }),
      reply: async (m) => void said.push({ kind: 'reply', text: text(m), message: m }),
      threadReply: async (m) => {
        const h = handle('reply');
        said.push({ kind: `reply ${h.ref!.ts}`, text: text(m), message: m });
        return h;
      },
      upload: async (f) => void said.push({ kind: 'upload', text: f.content, message: { text: f.comment, blocks: [] } }),
    };
  };
  const responder: ClickResponder = {
    source: null,
    ephemeral: async (m) => void said.push({ kind: 'ephemeral', text: text(m), message: m }),
    post: async (m) => {
      const h = handle('post');
      said.push({ kind: `post ${h.ref!.ts}`, text: text(m), message: m });
      return h;
    },
  };
  return { said, responder, handle };
}

async function setup(scenario: string) {
  const config = loadConfig({ path: writeConfig({ catalog: testCatalogDir(), slack: { channels: ['C0ONCALL'] }, hosts: { 'web-03': { address: '127.0.0.1', port: 9 } } }), env: {} });
  const logger = createLogger({ level: 'silent' });
  const services = createServices(config, logger);
  const result = resultOf('web-03', [hostOf(await labReport(scenario, 'web-03'), 'web-03')]);
  let clock = Date.parse('2026-03-01T03:00:00Z');
  const store = new MemoryRunbookSessionStore();
  const runbook = parseRunbook(RUNBOOK, 'mini.md', services.catalog);
  const service = createRunbookService({ services: { ...services, triage: async () => result }, store, runbooks: new Map([['mini', runbook]]), logger, now: () => clock });
  return { service, store, result, tick: (ms: number) => (clock += ms), close: () => services.close() };
}

const actor = { surface: 'slack' as const, user: 'U0RESPONDER', channel: 'C0ONCALL' };

describe('the session engine', () => {
  it('moves a step on once when two people click Done at the same moment', async () => {
    const { service, store, result, close } = await setup('pool_exhausted');
    const fe = frontEnd();
    const thread = fe.handle('post');
    const session = (await service.start({ actor, host: 'web-03', result, sinceMs: 900_000, runbook: 'mini', thread, responder: fe.responder }))!;
    const first = fe.said.find((s) => s.text.includes('Step 1 · Look'))!;
    expect(first.text).toContain('Look at web-03: pool_exhausted.');
    expect(first.text).toMatch(/`view verdict`.*pool_exhausted \(confidence \d+%\)/s);
    const value = `s=${session.id};t=look`;
    const click = (user: string): Click => ({ surface: 'slack', user, channel: 'C0ONCALL', action: 'bg:rb:done', value });
    await Promise.all([service.click(click('U0A'), { ...fe.responder, source: null }), service.click(click('U0B'), { ...fe.responder, source: null })]);
    const shown = fe.said.filter((s) => /Step \d+ · /.test(s.text) && s.kind.startsWith('reply'));
    expect(shown.map((s) => /Step \d+ · (\w+)/.exec(s.text)![1])).toEqual(['Look', 'Capacity']);
    expect(fe.said.filter((s) => s.kind === 'ephemeral').map((s) => s.text)).toEqual([expect.stringMatching(/That step is already done \(by <@U0[AB]>\)/)]);
    const capacity = shown[1]!.text;
    expect(capacity).toContain('Add workers: pm.max_children 2 → 7.');
    expect(capacity).toContain('[Request reload php-fpm]');
    // Without a store there is no approval flow: the step says so, and the timeline records it.
    await service.click({ surface: 'slack', user: 'U0A', channel: 'C0ONCALL', action: 'bg:rb:action', value: `s=${session.id};t=capacity` }, { ...fe.responder, source: null });
    expect(fe.said[fe.said.length - 1]!.text).toMatch(/Reload php-fpm from chat is not available here/);
    const row = await store.getRunbookSession(session.id);
    expect(JSON.stringify(row!.state)).toContain('not available (no approval flow without a store)');
    await close();
  });

  it('sets a forgotten session aside, so the next incident starts afresh', async () => {
    const { service, store, result, tick, close } = await setup('fastcgi_read_timeout');
    const fe = frontEnd();
    const session = (await service.start({ actor, host: 'web-03', result, sinceMs: 900_000, runbook: 'mini', thread: null, responder: fe.responder }))!;
    tick(3_600_000);
    expect((await service.activeFor('C0ONCALL', 'web-03'))?.id).toBe(session.id);
    expect(await service.activeFor('C0OTHER', 'web-03')).toBeNull();
    tick(12 * 3_600_000);
    expect(await service.activeFor('C0ONCALL', 'web-03')).toBeNull();
    expect((await store.getRunbookSession(session.id))!.status).toBe('abandoned');
    await close();
  });
});
