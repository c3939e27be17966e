/** `badgateway analyze`: diagnose from evidence files on this machine (no SSH). */
import { parseCliArgs } from './args.js';
import { parseWindowEnd, parseWindowOptions } from '../config/window.js';
import { ExitCode, UsageError } from '../errors.js';
import type { AnalyzeFilesInput, WindowRequest } from '../triage/analyze-files.js';
import type { CliCommand } from './types.js';

const USAGE =
  'badgateway analyze [--access FILE] [--log-format FORMAT|NAME] [--error FILE] [--fpm-log FILE] [--slow-log FILE] ' +
  '[--fpm-status FILE] [--nginx-conf FILE] [--fpm-conf FILE] [--since DUR] [--until TIME] [--from T --to T] [--tz ZONE] [--json]';

export const analyze: CliCommand = {
  needsContext: false,
  help: `Usage: ${USAGE}

Analyzes nginx and PHP-FPM evidence files and names the cause of 502/504s, with evidence and a fix.
Every input is optional; files may be gzip-compressed.

  --access FILE        nginx access log
  --log-format F       built-in name (combined, upstream) or the format as written in nginx.conf
                       after the format's name, e.g. "'$remote_addr [$time_local] ' '\\"$request\\" $status'";
                       default: the format --nginx-conf gives this log, else combined
  --error FILE         nginx error log
  --fpm-log FILE       PHP-FPM master log
  --slow-log FILE      PHP-FPM slow log
  --fpm-status FILE    a saved status page (text, ?json, ?full)
  --nginx-conf FILE    output of \`nginx -T\`
  --fpm-conf FILE      output of \`php-fpm -tt\` (or a pool file)
  --since DUR          only the last DUR (15m, 2h) before the window's end
  --until TIME         the window's end: ISO 8601 with an offset (2026-11-25T17:00Z), or a duration
                       (2h) before the newest entry in the files; default: the newest entry
  --from T --to T      an absolute window (ISO 8601 with an offset, e.g. 2026-11-25T10:00:00Z)
  --tz ZONE            the zone the error, FPM and slow logs were written in (they carry none): an
                       offset (+05:30, Z) or an IANA name; default the access log's offset, else this
                       machine's zone. The report says which it used.
  --json               one JSON object on stdout

Exit code 1 when the evidence supports no verdict (no access log, an empty or unparseable one, nothing
in the window): the report says Unknown, why, and what it needs. Never "healthy" without an access log.
`,
  async run(args, _context, io) {
    const { values, positionals } = parseOptions(args);
    if (positionals.length > 0) throw new UsageError(`analyze takes only options, not "${positionals[0]!.slice(0, 40)}". Usage: ${USAGE}`);
    const input: AnalyzeFilesInput = { window: windowOf(values), ...(values.tz !== undefined ? { tz: values.tz } : {}) };
    const map: Array<[keyof typeof values, keyof AnalyzeFilesInput]> = [
      ['access', 'access'],
      ['log-format', 'logFormat'],
      ['error', 'error'],
      ['fpm-log', 'fpmLog'],
      ['slow-log', 'slowLog'],
      ['fpm-status', 'fpmStatus'],
      ['nginx-conf', 'nginxConf'],
      ['fpm-conf', 'fpmConf'],
    ];
    for (const [option, field] of map) {
      const value = values[option];
      if (typeof value === 'string') (input as unknown as Record<string, string>)[field] = value;
    }
    if (!input.access && !input.error && !input.fpmLog && !input.slowLog && !input.fpmStatus && !input.nginxConf && !input.fpmConf) {
      throw new UsageError(`analyze needs at least one input file. Usage: ${USAGE}`);
    }
    // The analyzers and renderers load only once the arguments are known to be good.
    const [{ analyzeFiles }, { renderJson, renderText }] = await Promise.all([import('../triage/analyze-files.js'), import('../report/index.js')]);
    const report = await analyzeFiles(input);
    const access = report.access;
    if (access && access.requests === 0 && access.unparsed > 0) {
      // The most common first-run mistake gets the first line, naming the fix.
      const given = input.logFormat ? 'the --log-format given' : input.nginxConf ? 'the log_format in --nginx-conf' : 'the default `combined` format';
      io.stderr.write(
        `badgateway: none of the ${access.unparsed} lines of ${input.access} matched ${given}: ` +
          `pass --log-format 'FORMAT' (its log_format from nginx.conf) or --nginx-conf FILE (nginx -T output, which names it).\n`,
      );
    }
    io.stdout.write(values.json ? `${renderJson(report)}\n` : renderText(report));
    return report.diagnosis.verdict.status === 'unknown' ? ExitCode.failed : ExitCode.ok;
  },
};

function parseOptions(args: string[]) {
  return parseCliArgs(
    args,
    {
      access: { type: 'string' },
      'log-format': { type: 'string' },
      error: { type: 'string' },
      'fpm-log': { type: 'string' },
      'slow-log': { type: 'string' },
      'fpm-status': { type: 'string' },
      'nginx-conf': { type: 'string' },
      'fpm-conf': { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      tz: { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
}

function windowOf(values: { since?: string | boolean; until?: string | boolean; from?: string | boolean; to?: string | boolean }): WindowRequest {
  const { since, until, from, to } = values;
  if (typeof since === 'string' || typeof until === 'string') {
    if (from !== undefined || to !== undefined) throw new UsageError('Use either --since/--until or --from/--to, not both.');
    const window = parseWindowOptions({ since: since as string | undefined, until: until as string | undefined }, { defaultSinceMs: null, sinceExamples: '15m, 2h, 90s' });
    return { kind: 'since', ms: window.sinceMs, until: window.until };
  }
  if (from === undefined && to === undefined) return { kind: 'all' };
  if (typeof from !== 'string' || typeof to !== 'string') throw new UsageError('--from and --to go together.');
  const start = parseTime(from, '--from');
  const end = parseTime(to, '--to');
  if (end <= start) throw new UsageError('--to must be after --from.');
  return { kind: 'range', from: start, to: end };
}

/** An absolute time with its offset: a zone-less one would be read in this machine's zone, not the logs'. */
function parseTime(text: string, option: string): number {
  const end = parseWindowEnd(text);
  if (end === null || !('at' in end)) throw new UsageError(`${option} "${text.slice(0, 40)}" is not a time: use ISO 8601 with Z or an offset, e.g. 2026-11-25T10:00:00Z.`);
  return end.at;
}
