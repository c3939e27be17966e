/**
 * No request in limbo: a REAL `badgateway start` process runs an approved reload of the lab's REAL
 * php-fpm over REAL SSH and is killed with SIGKILL while it verifies. Another bot process on the same
 * store (PostgreSQL when there is one, else the same PGlite folder) finds the runner's lease lapsed:
 * the request becomes `interrupted` (audit entry, its message updated in place without buttons, a note
 * in its thread), within a minute, and nothing runs twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_APPROVE } from '../../src/actions/index.js';
import { INTERRUPTED } from '../../src/actions/messages.js';
import { APPROVER, ASKER, auditOf, processBench, text, type ProcessBench } from './bots.js';

let bench: ProcessBench;

beforeAll(async () => {
  bench = await processBench('interrupted-signing-secret');
}, 120_000);

afterAll(async () => {
  await bench?.close();
});

// A long 5xx comparison keeps the runner busy after the command ran: it is killed meanwhile.
const startBot = () => bench.startBot({ approvals: { expiry: '15m', verifyWindow: '90s', verifyTimeout: '10s' } });

describe('kill -9 of the bot running an approved reload', () => {
  it('leaves, within a minute, an interrupted request with its audit entry and an updated message; nothing runs twice', async () => {
    const { stub, kit, db, reloads } = bench;
    const runner = await startBot();
    const before = stub.ok('chat.postMessage').length;
    await kit.command(runner, 'reload web-lab stuck workers', ASKER);
    const { value, id, call } = await kit.requestPosted(before);
    const ts = (call.response as { ts: string }).ts;
    expect(ts).toMatch(/^\d+\.\d+$/);
    const reloadsBefore = await reloads();
    // The click lands on the real request message (its ts as Slack gave it).
    await kit.click(runner, ACTION_APPROVE, value, ts, APPROVER);
    // The command ran; the runner now waits out the 5xx comparison window.
    await stub.waitFor(() => stub.ok('chat.postMessage').find((c) => c.body.thread_ts === ts && /comparing the 5xx rate until/.test(text(c))), 60_000, 'the runner verifying');
    expect(await reloads()).toBe(reloadsBefore + 1);
    const updatesBefore = stub.ok('chat.update').filter((c) => c.body.ts === ts).length;

    runner.child.kill('SIGKILL');
    await runner.exited();
    const killedAt = Date.now();

    // Another instance (here started after the kill: with PGlite one process owns the folder at a time).
    const survivor = await startBot();
    const interrupted = await stub.waitFor(
      () =>
        stub
          .ok('chat.update')
          .filter((c) => c.body.ts === ts)
          .slice(updatesBefore)
          .find((c) => text(c).includes('Interrupted: reload php-fpm on web-lab')),
      90_000,
      'the request message marked interrupted',
    );
    expect(Date.now() - killedAt).toBeLessThan(60_000);
    expect(text(interrupted)).toContain(INTERRUPTED);
    expect(text(interrupted)).toContain(`approved by <@${APPROVER}>`);
    // The buttons are gone.
    expect((interrupted.body.blocks as Array<{ type: string }>).some((b) => b.type === 'actions')).toBe(false);
    const note = await stub.waitFor(() => stub.ok('chat.postMessage').find((c) => c.body.thread_ts === ts && /may or may not have run/.test(text(c))), 20_000, 'the note in the thread');
    expect(text(note)).toContain('Ask again with `/502 reload web-lab`');

    // A later click is told what happened, and runs nothing.
    const late = await kit.click(survivor, ACTION_APPROVE, value, ts, APPROVER);
    expect(await kit.ephemeral(late)).toContain(INTERRUPTED);

    survivor.child.kill('SIGTERM');
    expect(await survivor.exited()).toBe(0);
    const store = await db.open();
    try {
      const approval = await store.getApproval(id);
      expect(approval).toMatchObject({ state: 'interrupted', decidedBy: APPROVER });
      expect(approval!.finishedAt! - killedAt).toBeLessThan(60_000);
      const audit = await auditOf(store, id);
      const decisions = audit.filter((e) => e.kind === 'decision').map((e) => e.event);
      expect(decisions).toEqual(['requested', 'approved', 'interrupted', 'refused']);
      expect(audit.find((e) => e.event === 'interrupted')).toMatchObject({ actor: ASKER, host: 'web-lab', detail: expect.objectContaining({ runner: expect.stringMatching(/:\d+:/) }) });
      expect(audit.filter((e) => e.kind === 'command' && e.commandId === 'fpm.reload-signal')).toHaveLength(1);
    } finally {
      await store.close();
    }
    expect(await reloads()).toBe(reloadsBefore + 1);
  }, 240_000);
});
