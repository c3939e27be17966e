/**
 * `badgateway audit --since 7d [--host H] [--json]`: exports the audit log (every remote command the
 * bot ran, every approval decision) from the store the bot uses: DATABASE_URL, else the embedded
 * store under ./data (a snapshot copy when the running bot holds it).
 */
import { dirname } from 'node:path';
import { parseCliArgs } from './args.js';
import { readerText } from '../report/sanitize.js';
import { scrubDeep } from '../report/scrub.js';
import { parseWindowOptions } from '../config/window.js';
import { ExitCode, UsageError, printable } from '../errors.js';
import type { AuditEntry } from '../store/index.js';
import type { CliCommand } from './types.js';

const USAGE = 'badgateway audit [--since 7d] [--host HOST] [--limit N] [--json]';

export const AUDIT_HELP = `Usage: ${USAGE}

Prints the audit log, oldest first: every remote command the bot ran (who asked, who approved, host,
command id and argv, exit code, duration, truncated output) and every approval decision (requested,
approved, denied, expired, refused).

  --since D    how far back (default 7d): 90m, 12h, 30d
  --host H     only this host
  --limit N    at most N entries, the newest (default 100000)
  --json       one JSON document: { store, since, host, entries: [...] }

The store is the bot's: PostgreSQL when DATABASE_URL is set, else the embedded one under ./data next to
badgateway.yaml (BADGATEWAY_DATA_DIR). While the bot runs on the embedded store, a copy is read.
`;

function toJson(e: AuditEntry): Record<string, unknown> {
  return { ...e, at: new Date(e.at).toISOString() };
}

export const audit: CliCommand = {
  needsContext: true,
  help: AUDIT_HELP,
  async run(args, context, io) {
    const { values, positionals } = parseCliArgs(args, { since: { type: 'string' }, host: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } }, USAGE);
    if (positionals.length) throw new UsageError(`audit takes no arguments, only options ("${printable(positionals[0]!)}" is not one). Usage: ${USAGE}`);
    const { sinceMs } = parseWindowOptions({ since: values.since }, { defaultSinceMs: 7 * 86_400_000, sinceExamples: '90m, 12h, 7d' });
    const limit = values.limit === undefined ? 100_000 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a whole number of at least 1, got "${values.limit}".`);
    if (values.host !== undefined && context && !context.inventory.get(values.host)) {
      // Hosts leave the inventory; their records stay. Not an error, but say so.
      io.stderr.write(`badgateway: note: ${values.host} is not in the inventory now; showing its records anyway\n`);
    }
    const baseDir = context?.config.file ? dirname(context.config.file) : process.cwd();
    const [{ openStore, storeOptionsFromEnv }, { auditLine }] = await Promise.all([import('../store/index.js'), import('../actions/messages.js')]);
    const store = await openStore({ ...storeOptionsFromEnv(process.env, baseDir), snapshotIfBusy: true });
    try {
      const since = Date.now() - sinceMs;
      const entries = (await store.listAudit({ since, ...(values.host ? { host: values.host } : {}), limit })).reverse();
      if (values.json) {
        io.stdout.write(`${JSON.stringify({ store: store.location, since: new Date(since).toISOString(), host: values.host ?? null, entries: entries.map((e) => scrubDeep(toJson(e))) }, null, 2)}\n`);
      } else if (entries.length === 0) {
        io.stdout.write(`No audit entries since ${new Date(since).toISOString()}${values.host ? ` for ${values.host}` : ''} (store: ${store.location}).\n`);
      } else {
        io.stdout.write(`${'TIME (UTC)'.padEnd(14)}  ${'EVENT'.padEnd(9)} ${'HOST'.padEnd(12)} ${'WHO'.padEnd(12)} WHAT\n`);
        // Records written before a scrubber rule existed are scrubbed again on the way out.
        for (const e of entries) io.stdout.write(`${readerText(auditLine(e))}\n`);
      }
      return ExitCode.ok;
    } finally {
      await store.close();
    }
  },
};
