/** `badgateway digest TARGET [--since 24h] [--chart FILE] [--json]`: the health digest, in a terminal. */
import { writeFileSync } from 'node:fs';
import { parseCliArgs } from './args.js';
import { parseWindowOptions, resolveWindowEnd } from '../config/window.js';
import { readerText } from '../report/sanitize.js';
import { scrubDeep } from '../report/scrub.js';
import { ExitCode, UsageError } from '../errors.js';
import type { CliCommand } from './types.js';

const USAGE = 'badgateway digest TARGET [--since 24h] [--until TIME] [--timezone ZONE] [--chart FILE] [--json]';

export const digest: CliCommand = {
  needsContext: true,
  help: `Usage: ${USAGE}

Prints the health digest of a target: requests, 502/504 counts and rates, upstream p95/p99, the worst
hour, top failing upstreams and URIs, PHP-FPM pool pressure, slow scripts, config findings and the
hosts that could not be reached, with a per-hour sparkline. The same digest the schedules post.

  TARGET         a host (web-03), a group (@web), a glob (web-*) or a comma-separated list
  --since DUR    how far back from the window's end (default 24h; e.g. 12h, 90m)
  --until TIME   the window's end (default now): a duration ago (2h) or ISO 8601 with an offset (2026-11-25T17:00Z)
  --timezone Z   IANA zone for the hours (default: the schedule's for this target, else UTC)
  --chart FILE   also write the PNG chart (requests and 502/504 per hour) to FILE
  --json         the digest as one JSON object

Exit code 1 when any host could not be reached, or was reached without data for the window (the
digest lists those under "No data", with why).
`,
  async run(args, context, io) {
    const { values, positionals } = parseCliArgs(
      args,
      { since: { type: 'string' }, until: { type: 'string' }, timezone: { type: 'string' }, chart: { type: 'string' }, json: { type: 'boolean' } },
      USAGE,
    );
    if (positionals.length !== 1) throw new UsageError(`digest needs one target. Usage: ${USAGE}`);
    const target = positionals[0]!;
    const { sinceMs, until } = parseWindowOptions(values, { defaultSinceMs: 24 * 3_600_000, sinceExamples: '24h, 12h, 90m' });
    if (!context) throw new Error('internal: digest needs its context');
    const timeZone = values.timezone ?? context.config.schedules.find((s) => s.targets.join(',') === target)?.timezone ?? 'UTC';
    try {
      new Intl.DateTimeFormat('en', { timeZone });
    } catch {
      throw new UsageError(`--timezone "${timeZone.slice(0, 40)}" is not an IANA time zone (e.g. Europe/Berlin).`);
    }
    // Resolve before connecting anywhere: a bad target is the caller's mistake, exit 2.
    context.inventory.resolve(target);

    const [{ createServices }, { createDigests }, { renderDigestText }] = await Promise.all([import('../app/services.js'), import('../digest/digests.js'), import('../digest/render.js')]);
    const services = createServices(context.config, context.logger, { executor: context.executor() });
    const digests = createDigests({ triage: services.triage, store: null, logger: context.logger, images: values.chart !== undefined });
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    try {
      const composed = await digests.compose({ target, sinceMs, ...(until ? { untilMs: resolveWindowEnd(until, Date.now()) } : {}), timeZone, previous: null, signal: controller.signal });
      if (values.chart !== undefined) {
        if (composed.chart) writeFileSync(values.chart, composed.chart.data);
        else if (composed.chartError) io.stderr.write(`badgateway: no chart: ${composed.chartError}\n`);
        else io.stderr.write('badgateway: no chart: a quiet window is one line\n');
      }
      io.stdout.write(values.json ? `${JSON.stringify(scrubDeep(composed.digest))}\n` : readerText(renderDigestText(composed.digest)));
      const withoutData = composed.digest.fleet.reached - composed.digest.fleet.withData;
      return composed.digest.unreachable.length || withoutData ? ExitCode.failed : ExitCode.ok;
    } finally {
      process.off('SIGINT', onSigint);
      await services.close();
    }
  },
};
