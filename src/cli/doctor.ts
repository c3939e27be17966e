/**
 * `badgateway doctor [TARGET]`: everything a first triage needs, checked in order, one line per check
 * and one line per problem with its fix (the checks: doctor-checks.ts, loaded only when it runs).
 * Exit 1 when any check fails, 2 on bad usage.
 */
import { ExitCode, UsageError, printable } from '../errors.js';
import { terminalSafe } from '../report/sanitize.js';
import { parseCliArgs } from './args.js';
import type { CliCommand } from './types.js';
import type { Check } from './doctor-checks.js';

const USAGE = 'badgateway doctor [TARGET] [--json]';

export const doctor: CliCommand = {
  needsContext: false,
  help: `Usage: ${USAGE}

Checks what badgateway needs, one line each, and for every problem one line with its fix:
  config     badgateway.yaml (or the built-in localhost inventory)
  catalog    commands/*.yaml, and every catalog id the code, the config and the runbooks use
  runbooks   runbooks/*.md
  store      the bot's state (DATABASE_URL, or the embedded store under ./data)
  slack      the tokens in the environment: which mode start would run, and auth.test with the bot token
  per host   SSH (reachable, host key pinned, login accepted), sudo for the catalog's sudo commands,
             the sources discovery finds (access log, error log, FPM log, slow log, status page)
             and whether the login can read them

TARGET limits the host checks to a host, @group, glob or list (default: every host).
Exit code 0 when every check passed (warnings allowed), 1 when any failed, 2 on bad usage.
`,
  async run(args, _context, io, globals = {}) {
    const { values, positionals } = parseCliArgs(args, { json: { type: 'boolean' } }, USAGE);
    if (positionals.length > 1) throw new UsageError(`doctor takes at most one target, got "${printable(positionals[0]!)}" and "${printable(positionals[1]!)}" (use a comma list). Usage: ${USAGE}`);
    const checks: Check[] = [];
    const print = (check: Check) => {
      checks.push(check);
      if (!values.json) io.stdout.write(`${checkLine(check)}\n`);
    };
    const { diagnoseSetup } = await import('./doctor-checks.js');
    await diagnoseSetup({ target: positionals[0], configPath: globals.configPath, env: process.env, report: print });
    const failed = checks.filter((c) => c.level === 'FAIL').length;
    const warned = checks.filter((c) => c.level === 'warn').length;
    if (values.json) io.stdout.write(`${JSON.stringify({ ok: failed === 0, checks }, null, 2)}\n`);
    else
      io.stdout.write(`\n${failed ? `doctor: ${failed} problem${failed === 1 ? '' : 's'} to fix` : 'doctor: every check passed'}${warned ? ` (${warned} warning${warned === 1 ? '' : 's'})` : ''}.\n`);
    return failed ? ExitCode.failed : ExitCode.ok;
  },
};

export function checkLine(check: Check): string {
  // Host text (stderr, paths) reaches the terminal without control sequences; it holds no log lines to scrub.
  return terminalSafe(`${check.level.padEnd(4)}  ${check.subject.padEnd(10)}  ${check.text}${check.fix ? ` Fix: ${check.fix}` : ''}`).trimEnd();
}
