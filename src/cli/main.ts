/**
 * The `badgateway` command line. Exit codes: 0 ok, 1 the host or command failed, 2 bad usage or
 * bad config. Errors are one line on stderr, written for the person at the terminal.
 */
import { BadgatewayError, ConfigError, ExitCode, UsageError, errorMessage, printable } from '../errors.js';
import { nearest } from '../suggest.js';
import { COMMANDS, GLOBAL_HELP } from './commands.js';
import type { Io } from './types.js';

export type { Io } from './types.js';

/** Global options come before or after the command name; everything else belongs to the command. */
function splitGlobal(argv: string[]): { config?: string; help: boolean; name?: string; rest: string[] } {
  let config: string | undefined;
  let help = false;
  let name: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--config' || arg === '-c') {
      config = argv[++i];
      if (config === undefined) throw new UsageError('--config needs a file path.');
    } else if (arg.startsWith('--config=')) {
      config = arg.slice('--config='.length);
    } else if (arg === '--help' || arg === '-h') {
      help = true;
    } else if (name === undefined && !arg.startsWith('-')) {
      name = arg;
    } else {
      rest.push(arg);
    }
  }
  return { ...(config !== undefined ? { config } : {}), help, ...(name !== undefined ? { name } : {}), rest };
}

export async function main(argv: string[], io: Io = process): Promise<number> {
  const { config, help, name, rest } = splitGlobal(argv);
  if (name === undefined || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    io.stdout.write((topic && COMMANDS[topic]?.help) || GLOBAL_HELP);
    return name !== undefined || help ? ExitCode.ok : ExitCode.usage;
  }
  const command = COMMANDS[name];
  if (!command) {
    const near = nearest(name, Object.keys(COMMANDS));
    throw new UsageError(`unknown command "${printable(name)}".${near ? ` Did you mean \`badgateway ${near}\`?` : ''} Run \`badgateway --help\` for the list.`);
  }
  if (help) {
    io.stdout.write(command.help);
    return ExitCode.ok;
  }
  // One-shot commands keep stderr for their own one-line errors; the bot (`start`) logs at info.
  const logLevel = process.env.LOG_LEVEL || (name === 'start' ? 'info' : 'silent');
  // Loaded here, not at the top: `--help` and the commands without a context skip zod, ssh2 and pino.
  const context = command.needsContext ? (await import('./context.js')).createContext({ logLevel, ...(config !== undefined ? { configPath: config } : {}) }) : null;
  return command.run(rest, context, io, config !== undefined ? { configPath: config } : {});
}

/** Runs `main` as a process: one line on stderr for any error, and the exit code it implies. */
export async function runAsProcess(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (err) {
    // One line per error; a config with several problems gets one line per problem (ConfigError's own lines).
    const message = err instanceof ConfigError ? errorMessage(err) : errorMessage(err).replace(/\s*\n\s*/g, ' ');
    process.stderr.write(`badgateway: ${message}\n`);
    process.exitCode = err instanceof BadgatewayError && err.kind === 'usage' ? ExitCode.usage : ExitCode.failed;
  }
}
