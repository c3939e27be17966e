/**
 * The router with the real config loader and inventory. The triage use case answers from recorded
 * lab evidence through the real analyzers; responders are the plain in-memory kind a front end
 * implements.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { Inventory } from '../../src/inventory/index.js';
import { createLogger } from '../../src/log/index.js';
import type { Message } from '../../src/report/message.js';
import { authorize } from '../../src/chat/auth.js';
import { ProgressState } from '../../src/chat/messages.js';
import { createRouter } from '../../src/router/router.js';
import { ThrottledUpdates, UpdateBudget } from '../../src/chat/throttle.js';
import type { ClickResponder, FileUpload, MessageHandle } from '../../src/chat/types.js';
import type { TriageRequest } from '../../src/triage/types.js';
import { writeConfig } from '../support/config.js';
import { hostOf, labReport, resultOf } from '../slack/fixtures.js';

const config = loadConfig({
  path: writeConfig({
    slack: { channels: ['C0ONCALL'], users: ['U0READER'], approvers: ['U0APPROVER'] },
    hosts: { 'web-03': { address: '10.0.0.3', groups: ['web'] }, 'web-04': { address: '10.0.0.4', groups: ['web'] } },
  }),
  env: {},
});
const logger = createLogger({ level: 'silent' });

function text(m: Message): string {
  return m.blocks.map((b) => ('text' in b ? b.text : b.kind === 'actions' ? b.buttons.map((x) => x.label).join(' ') : '')).join('\n');
}

/** A responder that records what it was asked to do. */
function recorder() {
  const log: Array<{ kind: string; message?: Message; file?: FileUpload }> = [];
  const handle: MessageHandle = {
    async update(message) {
      log.push({ kind: 'update', message });
    },
    async reply(message) {
      log.push({ kind: 'reply', message });
    },
    async upload(file) {
      log.push({ kind: 'upload', file });
    },
  };
  const responder: ClickResponder = {
    source: handle,
    async ephemeral(message) {
      log.push({ kind: 'ephemeral', message });
    },
    async post(message) {
      log.push({ kind: 'post', message });
      return handle;
    },
  };
  return { log, responder };
}

function routerWith(triage: (r: TriageRequest) => Promise<ReturnType<typeof resultOf>>, maxJobs = 50) {
  return createRouter({ services: { config, inventory: new Inventory(config.hosts), triage }, logger, updateIntervalMs: 10, maxJobs });
}

const slack = (text: string, user = 'U0READER', channel = 'C0ONCALL') => ({ surface: 'slack' as const, text, user, channel });

describe('authorization', () => {
  it('answers in the configured channels, for the listed users and approvers; the console is the operator', () => {
    expect(authorize({ surface: 'slack', user: 'U0READER', channel: 'C0ONCALL' }, config.slack, 'read')).toBeNull();
    expect(authorize({ surface: 'slack', user: 'U0APPROVER', channel: 'C0ONCALL' }, config.slack, 'read')).toBeNull();
    expect(authorize({ surface: 'slack', user: 'U0READER', channel: 'C0RANDOM' }, config.slack, 'read')).toMatch(/only answer in <#C0ONCALL>/);
    expect(authorize({ surface: 'slack', user: 'U0STRANGER', channel: 'C0ONCALL' }, config.slack, 'read')).toMatch(/<@U0STRANGER>, you are not on the list/);
    expect(authorize({ surface: 'slack', user: 'U0READER', channel: 'C0ONCALL' }, config.slack, 'mutate')).toMatch(/only approvers/);
    expect(authorize({ surface: 'slack', user: 'U0APPROVER', channel: 'C0ONCALL' }, config.slack, 'mutate')).toBeNull();
    expect(authorize({ surface: 'console', user: 'root', channel: 'console' }, config.slack, 'mutate')).toBeNull();
    const open = { ...config.slack, channels: [], users: [] };
    expect(authorize({ surface: 'slack', user: 'U0ANYONE', channel: 'C0ANY' }, open, 'read')).toBeNull();
  });
});

describe('the router', () => {
  it('plans help, hosts, usage errors and refusals as immediate replies: nothing runs', () => {
    const calls: TriageRequest[] = [];
    const router = routerWith(async (r) => {
      calls.push(r);
      throw new Error('must not run');
    });
    expect(router.plan(slack('help'))).toMatchObject({ kind: 'reply', reason: 'help' });
    const hosts = router.plan(slack('hosts'));
    expect(hosts.kind === 'reply' && text(hosts.message)).toMatch(/web-03\s+10\.0\.0\.3:22\s+@web/);
    expect(router.plan(slack('triage web-99'))).toMatchObject({ kind: 'reply', reason: 'usage' });
    expect(router.plan(slack('triage web-03', 'U0STRANGER'))).toMatchObject({ kind: 'reply', reason: 'refused' });
    expect(router.plan(slack('help', 'U0READER', 'C0ELSEWHERE'))).toMatchObject({ kind: 'reply', reason: 'refused' });
    expect(router.plan(slack('triage @web'))).toMatchObject({ kind: 'job', command: 'triage', target: '@web' });
    expect(calls).toEqual([]);
  });

  it('runs a job: posts the progress, updates in place, finishes with the report; buttons reach the result', async () => {
    const report = await labReport('fastcgi_read_timeout', 'web-03');
    const router = routerWith(async (r) => {
      r.onProgress?.({ type: 'started', hosts: ['web-03'] });
      for (const phase of ['discover', 'collect', 'analyze'] as const) {
        r.onProgress?.({ type: 'phase', host: 'web-03', phase });
        await new Promise((res) => setTimeout(res, 15));
      }
      return resultOf('web-03', [hostOf(report, 'web-03')]);
    });
    const plan = router.plan(slack('triage web-03 --since 1h'));
    if (plan.kind !== 'job') throw new Error('expected a job');
    const { log, responder } = recorder();
    await plan.run(responder);
    expect(log[0]).toMatchObject({ kind: 'post' });
    expect(log[0]!.message!.status).toMatch(/^Triage of web-03 running \(last 1h\): web-03 starting/);
    const updates = log.filter((l) => l.kind === 'update');
    const final = updates[updates.length - 1]!.message!;
    expect(final.status).toBeUndefined();
    expect(text(final)).toMatch(/Verdict:.*`fastcgi_read_timeout`/);
    const actions = final.blocks.find((b) => b.kind === 'actions');
    if (actions?.kind !== 'actions') throw new Error('no buttons');

    await router.click({ surface: 'slack', user: 'U0READER', channel: 'C0ONCALL', action: 'bg:evidence', value: actions.buttons[0]!.value }, responder);
    const reply = log.find((l) => l.kind === 'reply');
    expect(text(reply!.message!)).toContain('upstream timed out (110');
    // This router has no runbooks: no Start runbook button, only evidence and reload.
    expect(actions.buttons.map((b) => b.action)).toEqual(['bg:evidence', 'bg:reload']);
    await router.click({ surface: 'slack', user: 'U0READER', channel: 'C0ONCALL', action: 'bg:reload#2', value: actions.buttons[1]!.value }, responder);
    await router.click({ surface: 'slack', user: 'U0READER', channel: 'C0ONCALL', action: 'bg:evidence', value: 'r=ffffffff;h=web-03' }, responder);
    const said = log.filter((l) => l.kind === 'ephemeral').map((l) => text(l.message!));
    // Asking is open to readers; this router has no store, so approvals (test/actions) are not available.
    expect(said[0]).toMatch(/Reloading php-fpm from chat is not available here: approvals need the bot's store/);
    expect(said[1]).toMatch(/no longer in memory.*\/502 triage web-03/);
  });

  it("logs, fpm and slowlog answer with that part of the one host's report", async () => {
    const report = await labReport('request_terminate_timeout', 'web-03');
    const router = routerWith(async () => resultOf('web-03', [hostOf(report, 'web-03')]));
    const expected = { logs: /\*Requests\* \d+ · 5xx/, fpm: /\*FPM log\* \d+ events in the window/, slowlog: /\*Slow log\*/ } as const;
    for (const [name, re] of Object.entries(expected)) {
      const plan = router.plan(slack(`${name} web-03`));
      if (plan.kind !== 'job') throw new Error('expected a job');
      const { log, responder } = recorder();
      await plan.run(responder);
      const final = log[log.length - 1]!.message!;
      expect(final.blocks[0]).toMatchObject({ kind: 'header', text: `web-03: ${{ logs: 'access log', fpm: 'PHP-FPM pool', slowlog: 'slow log' }[name]}` });
      expect(text(final)).toMatch(re);
      expect(text(final)).toContain('verdict of the full triage: request_terminate_timeout');
    }
  });

  it('a failing use case ends the message with the error, not silence', async () => {
    const router = routerWith(async () => {
      throw new Error('ssh: connect ECONNREFUSED 10.0.0.3:22');
    });
    const plan = router.plan(slack('fpm web-03'));
    if (plan.kind !== 'job') throw new Error('expected a job');
    const { log, responder } = recorder();
    await plan.run(responder);
    expect(text(log[log.length - 1]!.message!)).toMatch(/PHP-FPM of web-03 failed\*: ssh: connect ECONNREFUSED/);
  });

  it('refuses more jobs than it may run at once, politely', async () => {
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const router = routerWith(async () => {
      await gate;
      throw new Error('released');
    }, 2);
    const { responder } = recorder();
    for (const [user, target] of [
      ['U0READER', 'web-03'],
      ['U0APPROVER', 'web-04'],
    ] as const) {
      const plan = router.plan(slack(`triage ${target}`, user));
      if (plan.kind === 'job') void plan.run(responder);
    }
    expect(router.running()).toBe(2);
    const busy = router.plan(slack('triage @web'));
    expect(busy).toMatchObject({ kind: 'reply', reason: 'busy' });
    expect(text((busy as { message: Message }).message)).toMatch(/^I am running 2 jobs already; please try again in about \d+ seconds\.$/);
    release();
    await router.idle();
    expect(router.plan(slack('triage web-03')).kind).toBe('job');
  });

  it('one user cannot take every slot: their sixth job waits, saying when to retry; others still run', async () => {
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const router = routerWith(async () => {
      await gate;
      throw new Error('released');
    });
    const { responder } = recorder();
    // A burst of different windows (identical ones would be joined), all planned before any runs, as
    // concurrent requests are (each waits for its ack): five hold a slot.
    const planned = Array.from({ length: 12 }, (_, i) => router.plan(slack(`triage web-03 --since ${i + 1}m`)));
    for (const plan of planned) if (plan.kind === 'job') void plan.run(responder);
    expect(planned.filter((p) => p.kind === 'job')).toHaveLength(5);
    const refused = planned.find((p) => p.kind === 'reply')!;
    expect(refused).toMatchObject({ reason: 'busy' });
    expect(text((refused as { message: Message }).message)).toMatch(
      /^you have 5 commands running already \(triage of web-03, triage of web-03, triage of web-03, …\); each person may run 5 at once; please try again in about \d+ seconds\.$/,
    );
    // Someone else is not held up by that burst; nor is the console's operator.
    expect(router.plan(slack('triage web-04', 'U0APPROVER')).kind).toBe('job');
    expect(router.plan({ surface: 'console', text: 'triage web-04 --since 7m', user: 'root', channel: 'console' }).kind).toBe('job');
    release();
    await router.idle();
  });

  it('joins an identical running triage (same hosts, window and channel) instead of starting it twice', async () => {
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const router = routerWith(async () => {
      calls++;
      await gate;
      throw new Error('released');
    });
    const { responder } = recorder();
    const first = router.plan(slack('triage web-03 --since 20m'));
    if (first.kind !== 'job') throw new Error('expected a job');
    void first.run(responder);
    const again = router.plan(slack('triage web-03 --since 20m', 'U0APPROVER'));
    expect(again).toMatchObject({ kind: 'reply', reason: 'joined' });
    expect(text((again as { message: Message }).message)).toMatch(/The same triage of web-03 \(last 20m\) is already running here, asked by <@U0READER> \d+ s ago/);
    // Another window, another channel or another command is other work.
    expect(router.plan(slack('triage web-03 --since 25m')).kind).toBe('job');
    expect(router.plan(slack('logs web-03 --since 20m')).kind).toBe('job');
    release();
    await router.idle();
    expect(calls).toBe(1);
    expect(router.plan(slack('triage web-03 --since 20m')).kind).toBe('job');
  });

  it('folds progress events into one status line per host', () => {
    const state = new ProgressState('Triage of @web', 'last 15m', null, ['web-03', 'web-04']);
    state.apply({ type: 'phase', host: 'web-03', phase: 'collect' });
    state.apply({ type: 'source', host: 'web-03', source: 'access', status: 'read' });
    state.apply({ type: 'source', host: 'web-03', source: 'slowLog', status: 'missing' });
    expect(state.status()).toBe('Triage of @web running (last 15m): 0/2 hosts done');
    expect(text(state.message())).toContain('• `web-03` collect (access ✓, slowLog –)');
  });
});

describe('throttled updates', () => {
  it('sends at most one update per interval, the latest state, and the final one last even behind a slow update', async () => {
    const sent: string[] = [];
    let slow = true;
    const handle: MessageHandle = {
      async update(m) {
        if (slow) {
          slow = false;
          await new Promise((r) => setTimeout(r, 120));
        }
        sent.push(m.text);
      },
      reply: async () => undefined,
      upload: async () => undefined,
    };
    const updates = new ThrottledUpdates(handle, 50, () => undefined);
    const msg = (t: string): Message => ({ text: t, blocks: [] });
    updates.push(msg('1'));
    await new Promise((r) => setTimeout(r, 10));
    for (let i = 2; i <= 30; i++) updates.push(msg(String(i)));
    await updates.finish(msg('final'));
    updates.push(msg('late'));
    await new Promise((r) => setTimeout(r, 100));
    expect(sent[sent.length - 1]).toBe('final');
    expect(sent).not.toContain('late');
    expect(sent.length).toBeLessThanOrEqual(3);
  });

  it('shares an app-wide allowance of interim updates between jobs; final answers always go', async () => {
    const sent: string[] = [];
    const handle: MessageHandle = { update: async (m) => void sent.push(m.text), reply: async () => undefined, upload: async () => undefined };
    const budget = new UpdateBudget(60, 5);
    const jobs = Array.from({ length: 20 }, () => new ThrottledUpdates(handle, 10, () => undefined, budget));
    for (let round = 0; round < 5; round++) {
      jobs.forEach((j, i) => j.push({ text: `job ${i} step ${round}`, blocks: [] }));
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(jobs.map((j, i) => j.finish({ text: `job ${i} final`, blocks: [] })));
    expect(sent.filter((t) => t.includes('step')).length).toBeLessThanOrEqual(7);
    expect(sent.filter((t) => t.endsWith('final'))).toHaveLength(20);
  });
});
