/**
 * How `badgateway start` stops on SIGTERM/SIGINT, in order: take nothing new (commands and clicks get
 * "restarting, try again in a minute", alerts 503, no digest starts); let what runs finish (approved
 * actions, commands, digests, audit writes) for up to shutdown.drainTimeout; cancel the rest (a cancelled
 * digest posts nothing and is recorded failed, a cancelled action is recorded as such); and only then
 * may the caller close the Slack app, the executor (which flushes the audit log) and, last, the store.
 */
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/index.js';
import { sleep } from '../exec/abort.js';

export interface DrainParts {
  logger: Logger;
  timeoutMs: number;
  /** Stop taking new work. */
  stopTaking(): void;
  /** Resolves when the work in progress has finished on its own. */
  idle(): Promise<void>;
  /** Cancels what is left and resolves when it has wound down. */
  cancel(): Promise<void>;
  /** What is still running, for the log. */
  running(): Record<string, unknown>;
  /** A second signal: stop waiting and cancel now. */
  hurry?: AbortSignal;
}

/** How long cancelled work may take to wind down before the shutdown goes on without it. */
export const CANCEL_GRACE_MS = 10_000;

/** Waits for `work` at most `ms` (less if `hurry` aborts); true when the work ended in time. No timer is left behind. */
async function within(work: Promise<unknown>, ms: number, hurry?: AbortSignal): Promise<boolean> {
  const done = new AbortController();
  let ended = false;
  await Promise.race([work.then(() => (ended = true)), sleep(ms, hurry ? AbortSignal.any([hurry, done.signal]) : done.signal)]);
  done.abort();
  return ended;
}

/** Drains; returns whether everything finished on its own (false: some of it was cancelled). */
export async function drain(parts: DrainParts): Promise<boolean> {
  const { logger } = parts;
  const started = Date.now();
  parts.stopTaking();
  logger.info({ running: parts.running(), drainTimeoutMs: parts.timeoutMs }, 'draining: taking no new work, letting running work finish');
  const idle = parts.idle().catch((err) => logger.warn({ err: errorMessage(err) }, 'waiting for running work failed'));
  if (await within(idle, parts.timeoutMs, parts.hurry)) {
    logger.info({ ms: Date.now() - started }, 'drained: all running work finished');
    return true;
  }
  logger.warn({ running: parts.running(), ms: Date.now() - started }, 'drain timeout: cancelling what is still running');
  const cancelled = parts.cancel().catch((err) => logger.warn({ err: errorMessage(err) }, 'cancelling running work failed'));
  if (!(await within(cancelled, CANCEL_GRACE_MS))) logger.error({ running: parts.running() }, `cancelled work did not end within ${CANCEL_GRACE_MS / 1000} s; stopping without it`);
  else logger.info({ ms: Date.now() - started }, 'cancelled work ended');
  return false;
}

/** The first SIGINT/SIGTERM (and an AbortSignal for a second one: hurry). */
export function stopSignals(): { first: Promise<NodeJS.Signals>; hurry: AbortSignal; dispose(): void } {
  const hurry = new AbortController();
  let seen = 0;
  let resolve!: (signal: NodeJS.Signals) => void;
  const first = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const on = (signal: NodeJS.Signals) => {
    seen++;
    if (seen === 1) resolve(signal);
    else hurry.abort();
  };
  const onInt = () => on('SIGINT');
  const onTerm = () => on('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    first,
    hurry: hurry.signal,
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
