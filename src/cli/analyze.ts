/** `badgateway analyze`: diagnose from evidence files on this machine (no SSH). */
import { parseArgs } from 'node:util';
import { parseDuration } from '../config/index.js';
import { ExitCode, UsageError, errorMessage } from '../errors.js';
import { renderJson, renderText } from '../report/index.js';
import { analyzeFiles, type AnalyzeFilesInput, type WindowRequest } from '../triage/analyze-files.js';
import type { CliCommand } from './commands.js';

const USAGE =
  'badgateway analyze [--access FILE] [--log-format FORMAT|NAME] [--error FILE] [--fpm-log FILE] [--slow-log FILE] ' +
  '[--fpm-status FILE] [--nginx-conf FILE] [--fpm-conf FILE] [--since DUR | --from T --to T] [--json]';

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
  --since DUR          only the last DUR (15m, 2h) before the newest entry in the files
  --from T --to T      an absolute window (ISO 8601, e.g. 2026-11-25T10:00:00Z)
  --json               one JSON object on stdout
`,
  async run(args, _context, io) {
    const { values, positionals } = parseOptions(args);
    if (positionals.length > 0) throw new UsageError(`analyze takes only options, not "${positionals[0]!.slice(0, 40)}". Usage: ${USAGE}`);
    const input: AnalyzeFilesInput = { window: windowOf(values) };
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
    const report = await analyzeFiles(input);
    io.stdout.write(values.json ? `${renderJson(report)}\n` : renderText(report));
    return ExitCode.ok;
  },
};

function parseOptions(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        access: { type: 'string' },
        'log-format': { type: 'string' },
        error: { type: 'string' },
        'fpm-log': { type: 'string' },
        'slow-log': { type: 'string' },
        'fpm-status': { type: 'string' },
        'nginx-conf': { type: 'string' },
        'fpm-conf': { type: 'string' },
        since: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UsageError(`${errorMessage(err).split('\n')[0]} Usage: ${USAGE}`);
  }
}

function windowOf(values: { since?: string | boolean; from?: string | boolean; to?: string | boolean }): WindowRequest {
  const { since, from, to } = values;
  if (typeof since === 'string') {
    if (from !== undefined || to !== undefined) throw new UsageError('Use either --since or --from/--to, not both.');
    const ms = parseDuration(since);
    if (ms === null || ms <= 0) throw new UsageError(`--since "${since.slice(0, 40)}" is not a duration: use e.g. 15m, 2h, 90s.`);
    return { kind: 'since', ms };
  }
  if (from === undefined && to === undefined) return { kind: 'all' };
  if (typeof from !== 'string' || typeof to !== 'string') throw new UsageError('--from and --to go together.');
  const start = parseTime(from, '--from');
  const end = parseTime(to, '--to');
  if (end <= start) throw new UsageError('--to must be after --from.');
  return { kind: 'range', from: start, to: end };
}

function parseTime(text: string, option: string): number {
  const normalized = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}/.test(text) ? text.replace(' ', 'T') : text;
  const ms = /^\d{4}-\d{2}-\d{2}/.test(normalized) ? Date.parse(normalized) : NaN;
  if (Number.isNaN(ms)) throw new UsageError(`${option} "${text.slice(0, 40)}" is not a time: use ISO 8601, e.g. 2026-11-25T10:00:00Z.`);
  return ms;
}
