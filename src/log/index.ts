/**
 * Structured logging: one JSON event per line (pino). Secrets are redacted by key wherever they
 * appear, so a config object or an error carrying a token can be logged without leaking it.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Keys whose values never reach a log line, at the top level or nested up to three levels deep. */
const SECRET_KEYS = ['privateKey', 'passphrase', 'password', 'token', 'botToken', 'appToken', 'signingSecret', 'authorization', 'cookie', 'secret'];

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const key of SECRET_KEYS) {
    paths.push(key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`);
  }
  paths.push('req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie');
  return paths;
}

export interface LoggerOptions {
  level?: string;
  /** Where lines go; defaults to stderr so stdout stays clean for reports and --json. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info';
  return pino(
    {
      level,
      base: { app: 'badgateway' },
      redact: { paths: redactPaths(), censor: '[redacted]' },
    },
    options.destination ?? pino.destination(2),
  );
}
