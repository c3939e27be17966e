/** `badgateway triage TARGET [--since 15m] [--until TIME] [--json]`: the full triage over SSH, from a terminal. */
import { parseCliArgs } from './args.js';
import { parseWindowOptions, resolveWindowEnd } from '../config/window.js';
import { ExitCode, UsageError } from '../errors.js';
import type { TriageProgress } from '../triage/types.js';
import type { CliCommand } from './types.js';

const USAGE = 'badgateway triage TARGET [--since 15m] [--until TIME] [--json]';
const DEFAULT_SINCE_MS = 15 * 60_000;

export const triage: CliCommand = {
  needsContext: true,
  help: `Usage: ${USAGE}

Triages 502/504s on one or more hosts over SSH: discovers each host's nginx and PHP-FPM setup, reads
only the time window of its logs, the FPM status and host vitals, and says what is wrong and what to do.

  TARGET        a host (web-03), a group (@web), a glob (web-*) or a comma-separated list
  --since DUR   how far back to look from the window's end (default 15m; e.g. 5m, 2h)
  --until TIME  the window's end (default now): a duration ago (2h) or ISO 8601 with an offset
                (2026-11-25T17:00Z); a post-mortem of 02:00-02:30: --since 30m --until 2026-11-25T02:30+01:00
  --json        one JSON object: per host the analyzers' output, timings and sources read

Ctrl-C cancels the remote commands. Exit code 1 when any host could not be triaged: unreachable, or
its evidence supports no verdict (the report says Unknown, why, and what it needs).
`,
  async run(args, context, io) {
    const { values, positionals } = parseOptions(args);
    if (positionals.length !== 1) throw new UsageError(`triage needs one target. Usage: ${USAGE}`);
    const { sinceMs, until } = parseWindowOptions(values, { defaultSinceMs: DEFAULT_SINCE_MS, sinceExamples: '15m, 2h, 90s' });
    if (!context) throw new Error('internal: triage needs its context');
    // Resolve before connecting anywhere: a bad target is the caller's mistake, exit 2.
    context.inventory.resolve(positionals[0]!);

    const [{ createServices }, { renderFleetText }, { scrubDeep }] = await Promise.all([import('../app/services.js'), import('../report/fleet.js'), import('../report/scrub.js')]);
    const services = createServices(context.config, context.logger);
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    const progress = progressLine(io.stderr);
    try {
      const result = await services.triage({
        target: positionals[0]!,
        sinceMs,
        ...(until ? { untilMs: resolveWindowEnd(until, Date.now()) } : {}),
        signal: controller.signal,
        onProgress: progress.update,
      });
      progress.clear();
      io.stdout.write(values.json ? `${JSON.stringify(scrubDeep(result))}\n` : renderFleetText(result, { colour: Boolean((io.stdout as { isTTY?: boolean }).isTTY) }));
      // A host whose evidence supports no verdict was not triaged, whatever the report says about it.
      return result.hosts.some((h) => h.error || h.report?.diagnosis.verdict.status === 'unknown') ? ExitCode.failed : ExitCode.ok;
    } finally {
      process.off('SIGINT', onSigint);
      await services.close();
    }
  },
};

function parseOptions(args: string[]) {
  return parseCliArgs(args, { since: { type: 'string' }, until: { type: 'string' }, json: { type: 'boolean' } }, USAGE);
}

/** A single progress line on stderr while hosts run (only on a terminal, so logs and pipes stay clean). */
function progressLine(stderr: NodeJS.WritableStream) {
  const tty = Boolean((stderr as { isTTY?: boolean }).isTTY);
  let total = 0;
  let done = 0;
  const write = (text: string) => {
    if (tty) stderr.write(`\r\x1b[K${text}`);
  };
  return {
    update(event: TriageProgress) {
      if (event.type === 'started') total = event.hosts.length;
      if (event.type === 'host-done') done++;
      if (event.type === 'phase') write(`triage: ${done}/${total} hosts done; ${event.host}: ${event.phase}…`);
      if (event.type === 'host-done') write(`triage: ${done}/${total} hosts done`);
    },
    clear() {
      write('');
    },
  };
}
