/** The run of an approved action and its verification (src/actions/service.ts decides and records; this runs). */
import type { Catalog, CatalogCommand, RenderedCommand } from '../catalog/index.js';
import type { Discovery } from '../collect/discover.js';
import type { DiscoveryCache } from '../collect/discovery-cache.js';
import { errorMessage } from '../errors.js';
import type { Config, Host } from '../config/index.js';
import type { ExecResult, Executor } from '../exec/index.js';
import { sleep } from '../exec/abort.js';
import type { Inventory } from '../inventory/index.js';
import type { Logger } from '../log/index.js';
import { code, type Message } from '../report/message.js';
import { scrub } from '../report/scrub.js';
import { noticeMessage } from '../chat/messages.js';
import type { ClickResponder } from '../chat/types.js';
import type { ActionKind, Approval, Store } from '../store/index.js';
import { INTERRUPTED, clock, displayArgv, type RunOutcome } from './messages.js';
import { masterHint } from '../collect/fpm-identity.js';
import { masterNow, verifyCommands, verifyErrorRate, verifyMaster, verifyStatus, type Check, type VerifyContext } from './verify.js';

/** The command for an action on a host, rendered from the host's facts now. */
export interface Prepared {
  host: Host;
  command: CatalogCommand;
  params: Record<string, string | number>;
  rendered: RenderedCommand;
  /** The argv exactly as the executor runs it on this host (`sudo -n --` first unless it runs as root). */
  argv: string[];
  /** The account it runs as. */
  user: string;
  discovery: Discovery;
  notes: string[];
}

/** What a run needs of the service that decided it. */
export interface RunContext {
  deps: { config: Config; inventory: Inventory; catalog: Catalog; executor: Executor; store: Store; logger: Logger };
  discovery: DiscoveryCache;
  now: () => number;
  prepare(action: ActionKind, host: string, signal?: AbortSignal): Promise<Prepared>;
  tell(responder: ClickResponder, message: Message): Promise<void>;
}

/**
 * Runs an approved request: the host's facts again (the command runs only if it is still the one approved),
 * exactly the approved argv, then the verification (master identity, the command's verify steps, the status
 * page, the 5xx rate before and after).
 */
export async function runApproved(ctx: RunContext, approval: Approval, responder: ClickResponder, signal: AbortSignal | undefined, progress: { ran: boolean }): Promise<RunOutcome> {
  const fail = (error: string): RunOutcome => ({ state: 'failed', exitCode: null, durationMs: 0, output: '', checks: [], error });
  if (approval.dryRun || ctx.deps.config.dryRun) {
    return { state: 'succeeded', exitCode: null, durationMs: 0, output: '', checks: [], dryRun: true };
  }
  if (!ctx.deps.inventory.get(approval.host)) return fail(`${approval.host} is no longer in the inventory; nothing was run`);
  const command = ctx.deps.catalog.get(approval.commandId);
  if (!command?.mutating) return fail(`${approval.commandId} is no longer a mutating catalog command; nothing was run`);
  // The facts again, just before running: the command runs only if it is still the one approved.
  let prepared: Prepared;
  try {
    prepared = await ctx.prepare(approval.action, approval.host, signal);
  } catch (err) {
    if (signal?.aborted) throw err;
    return fail(`nothing was run: ${errorMessage(err)} Ask again with \`/502 ${approval.action} ${approval.host}\` once it is clear.`);
  }
  const changed = whatChanged(approval, prepared);
  if (changed) return fail(`nothing was run: ${changed} since the request. Check the host, then ask again with \`/502 ${approval.action} ${approval.host}\`.`);
  const { host, rendered, discovery } = prepared;
  const verify: VerifyContext = { executor: ctx.deps.executor, catalog: ctx.deps.catalog, host, discovery, ...(signal ? { signal } : {}) };
  const pid = typeof approval.params.pid === 'number' && approval.params.pid > 0 ? approval.params.pid : null;
  // The master is verified by identity (config, pid file, listen socket, start time), not by this pid.
  const hint = masterHint(discovery, pid);
  const before = (await masterNow(verify, hint)).master;
  const startedAt = ctx.now();
  let result: ExecResult;
  if (signal?.aborted) throw new Error('cancelled');
  progress.ran = true;
  try {
    result = await ctx.deps.executor.run(host, rendered, { approvalId: approval.id, ...(signal ? { signal } : {}) });
  } catch (err) {
    return { ...fail(errorMessage(err)), checks: await verifyCommands(verify, command, approval.params, 0) };
  } finally {
    // Every replica's cached discovery of this host is stale now (the store's host generation).
    ctx.discovery.invalidate(approval.host);
    await ctx.deps.store.touchHost(approval.host, ctx.now()).catch((err) => ctx.deps.logger.warn({ err: errorMessage(err), host: approval.host }, 'could not mark the host changed in the store'));
  }
  const changedAt = ctx.now();
  const ok = result.code === 0 && !result.timedOut && !result.truncated;
  const output = scrub([result.stdout.toString('utf8').trimEnd(), result.stderr.trimEnd()].filter(Boolean).join('\n'));
  const { verifyTimeoutMs, verifyWindowMs } = ctx.deps.config.approvals;
  const wait = ok ? verifyTimeoutMs : 0;
  const checks: Check[] = [];
  const master = await verifyMaster(verify, approval.action, before, hint, wait);
  checks.push(master.check);
  // The verify commands check the master found now (a daemonized master's new pid), not the old pid.
  const params = 'pid' in approval.params && master.after ? { ...approval.params, pid: master.after.pid } : approval.params;
  checks.push(...(await verifyCommands(verify, command, params, wait)));
  if (ok) {
    checks.push(await verifyStatus(verify, verifyTimeoutMs));
    if (verifyWindowMs > 0) {
      const until = changedAt + verifyWindowMs;
      const wait = until - ctx.now();
      if (wait > 5000) {
        await ctx.tell(responder, noticeMessage(`Ran ${code(approval.commandId)} on ${code(approval.host)} (exit 0); comparing the 5xx rate until ${clock(until)}…`));
      }
      if (wait > 0) await sleep(wait, signal);
    }
    if (signal?.aborted) checks.push({ name: '5xx before/after', ok: null, detail: 'not compared: the bot is stopping' });
    else checks.push(await verifyErrorRate(verify, startedAt, changedAt, verifyWindowMs));
  }
  const failedCheck = checks.some((c) => c.ok === false);
  const error = !ok ? (result.timedOut ? `${command.id} did not finish within its timeout` : `${command.id} exited with ${result.code ?? result.signal ?? 'no code'}${firstError(output)}`) : undefined;
  return {
    state: ok && !failedCheck ? 'succeeded' : 'failed',
    exitCode: result.code,
    durationMs: result.durationMs,
    output,
    checks,
    ...(error
      ? { error }
      : failedCheck
        ? {
            error: `ran (exit 0) but did not verify: ${checks
              .filter((c) => c.ok === false)
              .map((c) => c.name)
              .join(', ')}`,
          }
        : {}),
  };
}

/** What differs between the approved command and the one the host's facts render now; null: the same. */
function whatChanged(approval: Approval, now: Prepared): string | null {
  if (now.command.id !== approval.commandId) return `the ${approval.action} of ${approval.host} is now ${now.command.id} (was ${approval.commandId}: badgateway.yaml changed)`;
  const was = approval.params.pid;
  const is = now.params.pid;
  if (was !== undefined && was !== is) return `the PHP-FPM master of ${approval.host} is now pid ${is ?? 'none'} (was ${was}: it was restarted, or reloaded as a daemon)`;
  if (JSON.stringify(now.argv) !== JSON.stringify(approval.argv)) {
    return `the command for ${approval.host} is now ${displayArgv(now.argv, now.command.id)} (was ${displayArgv(approval.argv, approval.commandId)})`;
  }
  return null;
}

function firstError(output: string): string {
  const line = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .pop();
  return line ? `: ${line.slice(0, 300)}` : '';
}

/** The bot was stopping: what an approved request became when its run was cancelled. */
export function cancelledOutcome(outcome: RunOutcome, ran: boolean): RunOutcome {
  if (!ran) {
    return { ...outcome, state: 'failed', error: 'cancelled before it ran: the bot was stopping; nothing was run. Ask again in a minute.' };
  }
  if (outcome.exitCode === null && !outcome.dryRun) {
    // Cancelled while the command itself ran: its process group was killed, at some point.
    return { ...outcome, state: 'interrupted', error: INTERRUPTED };
  }
  if (outcome.state === 'succeeded') return { ...outcome, unverified: 'not fully verified: the bot was stopping' };
  return outcome;
}
