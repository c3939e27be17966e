/** Bolt's and the WebClient's log calls, as pino JSON lines (with the same redaction). */
import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from '../log/index.js';

export function boltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ component: 'slack' });
  const text = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m))).join(' ');
  return {
    debug: (...msg: unknown[]) => child.debug(text(msg)),
    info: (...msg: unknown[]) => child.info(text(msg)),
    warn: (...msg: unknown[]) => child.warn(text(msg)),
    error: (...msg: unknown[]) => child.error(text(msg)),
    setLevel: () => undefined,
    getLevel: () => {
      const level = child.level;
      return level === 'debug' || level === 'trace' ? LogLevel.DEBUG : level === 'info' ? LogLevel.INFO : level === 'warn' ? LogLevel.WARN : LogLevel.ERROR;
    },
    setName: () => undefined,
  };
}
