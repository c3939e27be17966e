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

/** A remote or local command could not run or did not finish. */
export class ExecError extends BadgatewayError {
  readonly host: string;

  constructor(host: string, message: string, options?: { cause?: unknown }) {
    super(`${host}: ${message}`, 'failed', options);
    this.host = host;
  }
}

/** The host's key is not pinned in known_hosts, or it changed. Never bypassed. */
export class HostKeyError extends ExecError {
  readonly fingerprint: string;

  constructor(host: string, message: string, fingerprint: string) {
    super(host, message);
    this.fingerprint = fingerprint;
  }
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
