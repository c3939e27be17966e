/**
 * A clean drain on SIGTERM, on a REAL `badgateway start` process (Slack HTTP mode, the Web API stub)
 * running an approved reload of the lab's REAL php-fpm over REAL SSH: from the signal on, commands and
 * clicks get a polite "restarting" and start nothing; the running reload finishes and is reported
 * (within shutdown.drainTimeout), or, past it, is cancelled and recorded as such; the store is closed
 * last, with every audit record written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_APPROVE } from '../../src/actions/index.js';
import { RESTARTING } from '../../src/router/messages.js';
import type { BotProcess } from '../support/bot-process.js';
import { APPROVER, ASKER, auditOf, processBench, text, type ProcessBench } from './bots.js';

let bench: ProcessBench;

beforeAll(async () => {
  bench = await processBench('drain-signing-secret');
}, 120_000);

afterAll(async () => {
  await bench?.close();
});

function startBot(settings: { verifyWindow: string; drainTimeout: string }): Promise<BotProcess> {
  return bench.startBot({ approvals: { expiry: '15m', verifyWindow: settings.verifyWindow, verifyTimeout: '10s' }, shutdown: { drainTimeout: settings.drainTimeout } });
}

/** Asks for a reload, approves it, and waits until the command ran and the bot is comparing the 5xx rate. */
async function reloadRunning(bot: BotProcess): Promise<{ id: string; value: string; ts: string }> {
  const { stub, kit } = bench;
  const before = stub.ok('chat.postMessage').length;
  await kit.command(bot, 'reload web-lab', ASKER);
  const { id, value, call } = await kit.requestPosted(before);
  const ts = (call.response as { ts: string }).ts;
  await kit.click(bot, ACTION_APPROVE, value, ts, APPROVER);
  await stub.waitFor(() => stub.ok('chat.postMessage').find((c) => c.body.thread_ts === ts && /comparing the 5xx rate until/.test(text(c))), 60_000, 'the reload verifying');
  return { id, value, ts };
}

describe('SIGTERM while an approved reload runs', () => {
  it('takes no new command or click ("restarting"), lets the reload finish and report, then exits 0', async () => {
    const { stub, kit, db } = bench;
    const bot = await startBot({ verifyWindow: '8s', drainTimeout: '60s' });
    const { id, value, ts } = await reloadRunning(bot);
    const postsBefore = stub.ok('chat.postMessage').length;
    const stopping = Date.now();
    bot.child.kill('SIGTERM');
    await bot.waitForLog(/"msg":"draining: taking no new work/);

    // A command now: acknowledged with the polite reply, nothing started.
    const res = await kit.command(bot, 'triage web-lab', ASKER);
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.json)).toContain(RESTARTING);
    // A click now: the same, only for who clicked.
    const late = await kit.click(bot, ACTION_APPROVE, value, ts, APPROVER);
    expect(await kit.ephemeral(late)).toContain(RESTARTING);

    expect(await bot.exited()).toBe(0);
    // It leaves once the work is done (an 8 s window), not when the 60 s drain timeout would end.
    expect(Date.now() - stopping, bot.stderr()).toBeLessThan(45_000);
    expect(bot.stderr()).toMatch(/"msg":"drained: all running work finished"/);
    expect(bot.stderr()).not.toMatch(/could not write the audit record|Cannot use a pool|could not record the outcome/);
    const outcome = await kit.outcome(ts);
    expect(text(outcome)).toMatch(/reload php-fpm on web-lab: ok\* \(exit 0, \d+ ms\), verified/);
    // The 5xx comparison ran to its end (no "not compared: the bot is stopping").
    expect(text(outcome)).toMatch(/\*5xx 8s before\/after\*: before /);
    // Nothing new was posted (no triage message), only the reload's own outcome.
    expect(
      stub
        .ok('chat.postMessage')
        .slice(postsBefore)
        .every((c) => c.body.thread_ts === ts),
    ).toBe(true);
    const store = await db.open();
    try {
      expect(await store.getApproval(id)).toMatchObject({ state: 'succeeded', leaseUntil: null });
      const audit = await auditOf(store, id);
      expect(audit.filter((e) => e.kind === 'command' && e.commandId === 'fpm.reload-signal')).toHaveLength(1);
      // The click during the drain changed nothing: no decision was recorded for it.
      expect(audit.filter((e) => e.kind === 'decision').map((e) => e.event)).toEqual(['requested', 'approved']);
    } finally {
      await store.close();
    }
  }, 240_000);

  it('past the drain timeout the rest is cancelled and recorded as such: ran, not fully verified', async () => {
    const { stub, kit, db } = bench;
    const bot = await startBot({ verifyWindow: '120s', drainTimeout: '1s' });
    const { id, ts } = await reloadRunning(bot);
    const stopping = Date.now();
    bot.child.kill('SIGTERM');
    expect(await bot.exited()).toBe(0);
    // Not the two minutes of the comparison window.
    expect(Date.now() - stopping, bot.stderr()).toBeLessThan(30_000);
    expect(bot.stderr()).toMatch(/"msg":"drain timeout: cancelling what is still running"/);
    expect(bot.stderr()).not.toMatch(/could not write the audit record|Cannot use a pool|could not record the outcome/);
    const outcome = await kit.outcome(ts);
    expect(text(outcome)).toMatch(/reload php-fpm on web-lab: ok\* \(exit 0, \d+ ms\), not fully verified: the bot was stopping/);
    expect(text(outcome)).toContain('· *5xx before/after*: not compared: the bot is stopping');
    const final = await stub.waitFor(() => stub.ok('chat.update').find((c) => c.body.ts === ts && text(c).includes('Ran: reload php-fpm on web-lab')), 20_000, 'the request message');
    expect(text(final)).toContain('not fully verified: the bot was stopping');
    const store = await db.open();
    try {
      expect(await store.getApproval(id)).toMatchObject({ state: 'succeeded', outcome: { unverified: 'not fully verified: the bot was stopping' } });
      expect((await auditOf(store, id)).filter((e) => e.kind === 'command' && e.commandId === 'fpm.reload-signal')).toHaveLength(1);
    } finally {
      await store.close();
    }
  }, 240_000);
});
