/**
 * The audit log of remote commands: an Executor that wraps the real one (SSH, local, routing) and
 * appends one record per command to the store, with who asked. "Who" travels with the work in an
 * AsyncLocalStorage context that the router sets around a triage (the Slack user, the console user)
 * and the actions set around an approved change (requester, approver, approval id), so no use case
 * has to thread it through its calls.
 *
 * Read-only commands are recorded without blocking them (a slow store must not slow a triage); a
 * mutating command's record is written before its result is returned. Output kept for the record
 * is truncated and scrubbed of credentials; a log read keeps only its byte count, not the log lines.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { RenderedCommand } from '../catalog/index.js';
import type { Host } from '../config/index.js';
import { errorMessage } from '../errors.js';
import type { ExecOptions, ExecResult, Executor } from '../exec/index.js';
import type { Logger } from '../log/index.js';
import { scrub } from '../report/scrub.js';
import type { NewAuditEntry, Store } from '../store/index.js';

/** Who the remote commands run for. */
export interface AuditActor {
  /** Slack user id, the console's local user, or `system` (schedules, alerts). */
  user: string;
  surface: string;
  channel?: string;
  /** What they asked for, e.g. `triage web-03`. */
  via?: string;
  approvalId?: string;
  approver?: string;
}

const context = new AsyncLocalStorage<AuditActor>();

/** Runs `fn` with `actor` as the one the remote commands it starts are recorded for. */
export function withActor<T>(actor: AuditActor, fn: () => T): T {
  return context.run(actor, fn);
}

export function currentActor(): AuditActor | undefined {
  return context.getStore();
}

/** Characters of output kept per command: mutating commands keep stdout and stderr, read-only ones stderr. */
export const AUDIT_OUTPUT_LIMIT = 4000;
const READ_ONLY_STDERR_LIMIT = 500;

export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… [${text.length - max} more characters not kept]`;
}

export function auditOutput(command: RenderedCommand, result: ExecResult): string | null {
  if (command.mutating) {
    const out = [result.stdout.toString('utf8').trimEnd(), result.stderr.trimEnd()].filter(Boolean).join('\n');
    return out ? truncate(scrub(out), AUDIT_OUTPUT_LIMIT) : null;
  }
  const err = result.stderr.trim();
  return err ? truncate(scrub(err), READ_ONLY_STDERR_LIMIT) : null;
}

export function commandEntry(host: Host, command: RenderedCommand, actor: AuditActor | undefined, outcome: { result?: ExecResult; error?: unknown; ms: number }, at: number): NewAuditEntry {
  const { result, error } = outcome;
  const ok = result !== undefined && result.code === 0 && !result.timedOut && !result.truncated;
  const detail: Record<string, unknown> = {};
  if (actor?.via) detail.via = actor.via;
  if (actor?.channel) detail.channel = actor.channel;
  if (result) {
    detail.stdoutBytes = result.stdoutBytes;
    if (result.timedOut) detail.timedOut = true;
    if (result.truncated) detail.truncated = true;
    if (result.signal) detail.signal = result.signal;
  }
  if (error !== undefined) detail.error = truncate(scrub(errorMessage(error)), READ_ONLY_STDERR_LIMIT);
  return {
    at,
    kind: 'command',
    event: ok ? 'ran' : 'failed',
    host: host.name,
    actor: actor?.user ?? 'system',
    surface: actor?.surface ?? 'system',
    approvalId: actor?.approvalId ?? null,
    approver: actor?.approver ?? null,
    commandId: command.id,
    // Log reads carry byte offsets, not secrets; the argv is what ran, as the approvers saw it.
    argv: command.argv,
    exitCode: result?.code ?? null,
    durationMs: result?.durationMs ?? outcome.ms,
    output: result ? auditOutput(command, result) : null,
    detail: Object.keys(detail).length ? detail : null,
  };
}

export class AuditingExecutor implements Executor {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly inner: Executor,
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async run(host: Host, command: RenderedCommand, options: ExecOptions = {}): Promise<ExecResult> {
    const actor = currentActor();
    const started = this.now();
    let result: ExecResult;
    try {
      result = await this.inner.run(host, command, options);
    } catch (err) {
      await this.record(command, commandEntry(host, command, actor, { error: err, ms: this.now() - started }, started));
      throw err;
    }
    await this.record(command, commandEntry(host, command, actor, { result, ms: result.durationMs }, started));
    return result;
  }

  private async record(command: RenderedCommand, entry: NewAuditEntry): Promise<void> {
    const write = this.store.appendAudit(entry).catch((err) => {
      this.logger.error({ err: errorMessage(err), host: entry.host, command: entry.commandId }, 'could not write the audit record of a remote command');
    });
    if (command.mutating) {
      await write;
      return;
    }
    this.pending.add(write);
    void write.finally(() => this.pending.delete(write));
  }

  /** Resolves when every record started so far is written. */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    await this.flush();
    await this.inner.close();
  }
}
