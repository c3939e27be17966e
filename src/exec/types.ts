/** What every executor (ssh, local) returns and accepts. */
import type { Host } from '../config/index.js';
import type { RenderedCommand } from '../catalog/index.js';
import type { Logger } from '../log/index.js';

export interface ExecResult {
  host: string;
  commandId: string;
  /** Exit code, or null when the command was killed by a signal or cut off. */
  code: number | null;
  signal: string | null;
  /** Empty when the caller streamed stdout through `onStdout`. */
  stdout: Buffer;
  stderr: string;
  /** Bytes of stdout received (streamed or buffered), up to the cap. */
  stdoutBytes: number;
  /** Output reached the command's cap and the rest was dropped (the command was stopped). */
  truncated: boolean;
  timedOut: boolean;
  durationMs: number;
}

export interface ExecOptions {
  /** Cancels the remote command (Ctrl-C, a Slack user aborting). */
  signal?: AbortSignal;
  /** Receive stdout as it arrives instead of buffering it (for log streams). */
  onStdout?: (chunk: Buffer) => void;
  /** Required for mutating commands: the id of the approval that allowed it. */
  approvalId?: string;
}

export interface Executor {
  run(host: Host, command: RenderedCommand, options?: ExecOptions): Promise<ExecResult>;
  /** Closes every connection; in-flight commands are cancelled. */
  close(): Promise<void>;
}

/**
 * Runs one command with the bookkeeping every executor owes: a log line before and after, and the
 * observer told of the outcome, failure included.
 */
export async function observed(
  context: { logger: Logger; observer: ExecObserver | undefined; transport: 'ssh' | 'local' },
  host: string,
  command: { id: string; argv: readonly string[] },
  run: () => Promise<ExecResult>,
): Promise<ExecResult> {
  const started = Date.now();
  context.logger.info({ host, command: command.id, argv: command.argv, transport: context.transport }, 'command');
  let result: ExecResult;
  try {
    result = await run();
  } catch (err) {
    notify(context.observer, (o) => o.commandFinished?.(host, command.id, { error: err as Error, ms: Date.now() - started }));
    throw err;
  }
  notify(context.observer, (o) => o.commandFinished?.(host, command.id, { result, ms: result.durationMs }));
  context.logger.info({ host, command: command.id, code: result.code, ms: result.durationMs, bytes: result.stdoutBytes, timedOut: result.timedOut }, 'command done');
  return result;
}

/** Keeps stderr from flooding memory; it is for messages, not data. */
export const STDERR_CAP_BYTES = 64 * 1024;

export function succeeded(result: ExecResult): boolean {
  return result.code === 0 && !result.timedOut && !result.truncated;
}

/**
 * Hooks an executor calls as it works, for metrics and the audit log. Kept out of the executors' logic:
 * they only report, and a throwing observer must never break a command.
 */
export interface ExecObserver {
  connected?(host: string, ms: number): void;
  connectFailed?(host: string, error: Error): void;
  commandFinished?(host: string, commandId: string, outcome: { result?: ExecResult; error?: Error; ms: number }): void;
}

export function notify(observer: ExecObserver | undefined, call: (o: ExecObserver) => void): void {
  if (!observer) return;
  try {
    call(observer);
  } catch {
    /* an observer's bug must not fail the command it observes */
  }
}
