/**
 * Typed errors. Every message is written for the responder who reads it in Slack or a terminal:
 * one line, says what is wrong and, where it can, what to do.
 */

/** Exit codes of the CLI; the Slack front end maps the same kinds to ephemeral replies. */
export const ExitCode = { ok: 0, failed: 1, usage: 2 } as const;

export class BadgatewayError extends Error {
  /** `usage` errors are the caller's input (exit 2); `failed` errors are the host's or the network's (exit 1). */
  readonly kind: 'usage' | 'failed';

  constructor(message: string, kind: 'usage' | 'failed', options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.kind = kind;
  }
}

/** The user asked for something malformed: bad flags, unknown host, bad duration. */
export class UsageError extends BadgatewayError {
  constructor(message: string) {
    super(message, 'usage');
  }
}

/** badgateway.yaml or a catalog/runbook file is invalid; `problems` are `path: reason` lines. */
export class ConfigError extends BadgatewayError {
  readonly problems: string[];

  /** One problem: one line. Several: a head line, then one indented line per problem (`badgateway` prints them so). */
  constructor(file: string, problems: string[]) {
    super(problems.length === 1 ? `${file} is invalid: ${problems[0]}` : `${file} has ${problems.length} problems:\n  ${problems.join('\n  ')}`, 'usage');
    this.problems = problems;
  }
}

/**
 * Why a command failed, for code to decide on (the message is for people):
 * - `unreachable`: no connection to the host (refused, no route, no SSH answer, lost mid-command);
 * - `auth`: the host refused the key, or no usable credentials;
 * - `hostkey`: the host's key is not pinned, changed or revoked;
 * - `cancelled`: the caller cancelled (Ctrl-C, a stopping bot);
 * - `timeout`: the command ran but did not finish in time;
 * - `truncated`: the command's output passed its cap;
 * - `exit`: the command ran and failed, or answered something unusable (missing file, bad header).
 */
export type ExecFailure = 'unreachable' | 'auth' | 'hostkey' | 'cancelled' | 'timeout' | 'truncated' | 'exit';

/** A remote or local command could not run or did not finish; `reason` says why. */
export class ExecError extends BadgatewayError {
  readonly host: string;
  readonly reason: ExecFailure;

  constructor(host: string, reason: ExecFailure, message: string, options?: { cause?: unknown }) {
    super(`${host}: ${message}`, 'failed', options);
    this.host = host;
    this.reason = reason;
  }
}

/** The host's key is not pinned in known_hosts, or it changed. Never bypassed. */
export class HostKeyError extends ExecError {
  readonly fingerprint: string;

  constructor(host: string, message: string, fingerprint: string) {
    super(host, 'hostkey', message);
    this.fingerprint = fingerprint;
  }
}

/** Failures of the host rather than of one command: nothing more can be read from it. */
const HOST_FAILURES: ReadonlySet<ExecFailure> = new Set(['unreachable', 'auth', 'hostkey', 'cancelled']);

/** Whether `err` means the host itself failed (no connection, refused, cancelled), not just one read. */
export function isHostFailure(err: unknown): boolean {
  return err instanceof ExecError && HOST_FAILURES.has(err.reason);
}

/** User text quoted in an error message: printable ASCII only, cut to `max` characters. */
export function printable(text: string, max = 40): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
