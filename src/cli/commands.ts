/** The CLI's subcommands: each parses its own arguments and returns an exit code. */
import { ExitCode, UsageError, printable } from '../errors.js';
import type { CatalogCommand } from '../catalog/index.js';
import { parseCliArgs } from './args.js';
import { readableOutput } from './run-output.js';
import { succeeded } from '../exec/types.js';
import { scrub } from '../report/scrub.js';
import { readerText } from '../report/sanitize.js';
import type { CliCommand } from './types.js';
import type { Context } from './context.js';
import { analyze } from './analyze.js';
import { audit } from './audit.js';
import { init } from './init.js';
import { triage } from './triage.js';
import { digest } from './digest.js';
import { doctor } from './doctor.js';

export type { CliCommand } from './types.js';

export const GLOBAL_HELP = `badgateway: triage nginx 502/504s in front of PHP-FPM

Usage: badgateway [--config FILE] COMMAND [ARGS]

Commands:
  hosts                       list the inventory (names, addresses, groups)
  run HOST COMMAND_ID [k=v]   run one read-only catalog command on a host
  triage TARGET [--since D]   triage 502/504s on hosts over SSH (name, @group, glob)
  digest TARGET [--since D]   the health digest of hosts (5xx, latency, pool pressure; default 24h)
  commands                    list the command catalog and what each command takes
  doctor [TARGET]             check config, catalog, store, Slack and each host's SSH, sudo and logs
  analyze [FILES] [--json]    diagnose 502/504s from log files, status snapshots and configs
  start [--dry-run]           start the bot
  audit [--since 7d] [--json] the audit log: remote commands run and approval decisions
  init [PATH]                 write a commented badgateway.yaml to edit (never overwrites)
  help [COMMAND]              show help for a command

Options:
  -c, --config FILE   config file (default: $BADGATEWAY_CONFIG or ./badgateway.yaml)
  -h, --help          show help

Exit codes: 0 ok, 1 the host or command failed, 2 bad usage or bad config.
`;

function need(context: Context | null): Context {
  if (!context) throw new Error('internal: command needs its context');
  return context;
}

const hosts: CliCommand = {
  needsContext: true,
  help: `Usage: badgateway hosts [--json]

Lists the inventory from badgateway.yaml: name, address, port, user, transport and groups.
`,
  async run(args, context, io) {
    const { values, positionals } = parseCliArgs(args, { json: { type: 'boolean' } }, 'badgateway hosts [--json]');
    if (positionals.length > 0) throw new UsageError('hosts takes no arguments. Usage: badgateway hosts [--json]');
    const { inventory, config } = need(context);
    const rows = inventory.hosts.map((h) => ({
      name: h.name,
      address: h.address,
      port: h.ssh.port,
      user: h.ssh.user,
      transport: h.transport,
      groups: h.groups,
    }));
    if (values.json) {
      io.stdout.write(`${JSON.stringify({ config: config.file, hosts: rows }, null, 2)}\n`);
      return ExitCode.ok;
    }
    if (rows.length === 0) {
      io.stdout.write(`No hosts in the inventory (${config.file ?? 'no badgateway.yaml found'}). Add them under hosts: (\`badgateway init\` writes a badgateway.yaml to edit).\n`);
      return ExitCode.ok;
    }
    io.stdout.write(
      table(
        ['HOST', 'ADDRESS', 'USER', 'TRANSPORT', 'GROUPS'],
        rows.map((r) => [r.name, r.transport === 'local' ? 'this machine' : `${r.address}:${r.port}`, r.user, r.transport, r.groups.map((g) => `@${g}`).join(' ')]),
      ),
    );
    if (config.file === null) {
      io.stdout.write('(built-in inventory: no badgateway.yaml found; `badgateway init` writes one to edit)\n');
    }
    return ExitCode.ok;
  },
};

const COMMANDS_USAGE = 'badgateway commands [--json]';

const commands: CliCommand = {
  needsContext: true,
  help: `Usage: ${COMMANDS_USAGE}

Lists the command catalog (commands/*.yaml): every remote command badgateway may run, whether it
changes the host, and what each takes: parameters (name=value on \`badgateway run\`) and the host
sources it reads (accessLog, errorLog, ...: discovered, or set under sources: in badgateway.yaml).
`,
  async run(args, context, io) {
    const { values, positionals } = parseCliArgs(args, { json: { type: 'boolean' } }, COMMANDS_USAGE);
    if (positionals.length > 0) throw new UsageError(`commands takes no arguments. Usage: ${COMMANDS_USAGE}`);
    const list = need(context).catalog.list();
    if (values.json) {
      const rows = list.map((c) => ({ id: c.id, description: c.description, mutating: c.mutating, sudo: c.sudo, params: c.params, sources: sourcesOf(c) }));
      io.stdout.write(`${JSON.stringify({ commands: rows }, null, 2)}\n`);
      return ExitCode.ok;
    }
    const rows = list.map((c) => [c.id, c.mutating ? 'mutating' : 'read-only', takes(c), c.description]);
    io.stdout.write(table(['ID', 'KIND', 'TAKES', 'DESCRIPTION'], rows));
    io.stdout.write('\nRun a read-only one: badgateway run HOST ID [name=value ...]. Mutating ones run only after an approval (/502 reload HOST).\n');
    return ExitCode.ok;
  },
};

/** The host sources a command's argv reads ({accessLog}, ...), which discovery or badgateway.yaml provide. */
function sourcesOf(command: CatalogCommand): string[] {
  const names = new Set<string>();
  for (const arg of command.argv) for (const m of arg.matchAll(/\{([A-Za-z][A-Za-z0-9]*)\}/g)) if (!(m[1]! in command.params)) names.add(m[1]!);
  return [...names];
}

/** `offset=N(0..) length=N(1..1073741824) source=accessLog|errorLog`, then the sources it needs; `-` for none. */
function takes(command: CatalogCommand): string {
  const params = Object.entries(command.params).map(([name, spec]) => {
    const value = spec.type === 'integer' ? `N(${spec.min ?? ''}..${spec.max ?? ''})` : spec.values.join('|');
    return `${name}=${value}${spec.default !== undefined ? ` [${spec.default}]` : ''}`;
  });
  const sources = sourcesOf(command);
  return [...params, ...(sources.length ? [`(host: ${sources.join(', ')})`] : [])].join(' ') || '-';
}

const RUN_USAGE = 'badgateway run HOST COMMAND_ID [name=value ...] [--raw] [--json]';

const run: CliCommand = {
  needsContext: true,
  help: `Usage: ${RUN_USAGE}

Runs one read-only command from the catalog on one inventory host over SSH and prints its output.
Parameters are name=value pairs declared by the command (\`badgateway commands\` lists what each takes).
Output badgateway knows how to read (host.uptime, host.memory, host.open-file-limits, ...) is shown in
words, with the command's raw text under it; --raw prints only the raw text, --json the whole result.
Mutating commands (php-fpm reload, restart) only run through an approval.
`,
  async run(args, context, io) {
    const { values, positionals } = parseCliArgs(args, { json: { type: 'boolean' }, raw: { type: 'boolean' } }, RUN_USAGE);
    const [target, commandId, ...pairs] = positionals;
    if (!target || !commandId) throw new UsageError(`run needs a host and a command id (\`badgateway commands\` lists them). Usage: ${RUN_USAGE}`);
    const ctx = need(context);
    const found = ctx.inventory.resolve(target);
    if (found.length !== 1) {
      throw new UsageError(`run takes exactly one host; "${target}" names ${found.length}.`);
    }
    const host = found[0]!;
    const params = parsePairs(pairs);
    const catalogCommand = ctx.catalog.require(commandId);
    if (catalogCommand.mutating) {
      throw new UsageError(`${commandId} changes the host; it runs only through an approval, not from \`badgateway run\`.`);
    }
    const rendered = ctx.catalog.render(commandId, host, params);
    const executor = ctx.executor();
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    try {
      const result = await executor.run(host, rendered, { signal: controller.signal });
      if (values.json) {
        io.stdout.write(`${JSON.stringify({ ...result, stdout: scrub(result.stdout.toString('utf8')), stderr: scrub(result.stderr) })}\n`);
      } else {
        // Catalog output is host text (log lines among it): scrubbed, and no control sequences reach the terminal.
        const raw = readerText(result.stdout.toString('utf8'));
        const words = values.raw || !succeeded(result) ? null : readableOutput(commandId, raw);
        io.stdout.write(words ? `${words}\n--- ${commandId} output ---\n${raw}` : raw);
        if (result.stderr) io.stderr.write(readerText(result.stderr));
      }
      if (succeeded(result)) return ExitCode.ok;
      io.stderr.write(`badgateway: ${host.name}: ${describeFailure(result)}\n`);
      return ExitCode.failed;
    } finally {
      process.off('SIGINT', onSigint);
      await executor.close();
    }
  },
};

function describeFailure(result: { commandId: string; code: number | null; signal: string | null; timedOut: boolean; truncated: boolean; durationMs: number; stdoutBytes: number }): string {
  if (result.timedOut) return `${result.commandId} did not finish within its timeout and was stopped after ${result.durationMs} ms.`;
  if (result.truncated) return `${result.commandId} printed more than its output cap (${result.stdoutBytes} bytes kept); the rest was dropped.`;
  if (result.signal) return `${result.commandId} was killed by signal ${result.signal}.`;
  return `${result.commandId} exited with code ${result.code}.`;
}

function parsePairs(pairs: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of pairs) {
    const match = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/s.exec(pair);
    if (!match) throw new UsageError(`"${printable(pair)}" is not a name=value parameter. Usage: ${RUN_USAGE}`);
    params[match[1]!] = match[2]!;
  }
  return params;
}

const start: CliCommand = {
  needsContext: true,
  help: `Usage: badgateway start [--dry-run]

Starts the bot with the config in use, in the mode the environment asks for:

  SLACK_APP_TOKEN + SLACK_BOT_TOKEN        Slack, Socket Mode (no public URL needed)
  SLACK_SIGNING_SECRET + SLACK_BOT_TOKEN   Slack, HTTP: POST /slack/events on PORT (default 3000)
  none of them                             the local console: type /502 commands on this terminal

SLACK_API_URL, when set, is the Slack Web API base URL (a proxy, or a stub in tests).
Stop with Ctrl-C (SIGINT) or SIGTERM: running triages are cancelled on the hosts.

  --dry-run   approved reloads/restarts show what would run and run nothing (as dryRun: true)

State (approvals, audit log): PostgreSQL when DATABASE_URL is set, else embedded under ./data next to
badgateway.yaml (BADGATEWAY_DATA_DIR to move it).
`,
  async run(args, context, io) {
    const { values, positionals } = parseCliArgs(args, { 'dry-run': { type: 'boolean' } }, 'badgateway start [--dry-run]');
    if (positionals.length > 0) throw new UsageError(`start takes no arguments ("${printable(positionals[0]!)}"). Usage: badgateway start [--dry-run]`);
    const dryRun = values['dry-run'] === true;
    // Loaded on demand: the bot's modules (Bolt, the router) are not needed by one-shot commands.
    const { start: startBot } = await import('./start.js');
    const ctx = need(context);
    return startBot(dryRun ? { ...ctx, config: { ...ctx.config, dryRun: true } } : ctx, io);
  },
};

export const COMMANDS: Record<string, CliCommand> = { hosts, commands, run, triage, digest, analyze, start, init, audit, doctor };

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
