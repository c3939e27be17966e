/**
 * Parses a CLI command's options with node:util parseArgs, turning its errors (which quote with an
 * unclosed `'` and talk about positionals) into one line that says what was wrong, suggests the
 * option meant, and gives the command's usage.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, errorMessage, printable } from '../errors.js';
import { nearest } from '../suggest.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCliArgs<T extends Options>(args: string[], options: T, usage: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${describeParseError(err, options)} Usage: ${usage}`);
  }
}

/** parseArgs's error in our words. */
function describeParseError(err: unknown, options: Options): string {
  const code = (err as { code?: string }).code;
  const message = errorMessage(err);
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  const names = Object.entries(options).flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])]);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = quoted.split('=')[0]!;
    const near = option.startsWith('--')
      ? nearest(
          option,
          names.filter((n) => n.startsWith('--')),
        )
      : undefined;
    const known = names.filter((n) => n.startsWith('--')).join(', ');
    return `unknown option "${printable(option)}".${near ? ` Did you mean ${near}?` : ''}${known ? ` It takes ${known}.` : ' It takes no options.'}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    // "Option '--since <value>' argument missing" / "Option '--json' does not take an argument"
    const option = quoted.split(' ')[0]!;
    if (/argument missing/.test(message)) return `${option} needs a value.`;
    return `${option} takes no value.`;
  }
  return message.split('\n')[0]!.replace(/'/g, '"');
}
