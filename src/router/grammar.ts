/**
 * The `/502 ...` grammar. Parsing is pure and strict: anything that is not a subcommand, a target
 * made of inventory characters or a known option is refused with a message that says what was
 * wrong, before anything runs.
 */
import { formatDuration, parseDuration } from '../config/index.js';
import { UsageError } from '../errors.js';
import { editDistance } from '../inventory/index.js';

export const DEFAULT_SINCE_MS = 15 * 60_000;
export const MAX_SINCE_MS = 7 * 86_400_000;

export type SectionName = 'logs' | 'fpm' | 'slowlog';

export type Command =
  | { name: 'triage' | SectionName; target: string; sinceMs: number }
  | { name: 'hosts' }
  | { name: 'help' };

export const SUBCOMMANDS = ['triage', 'logs', 'fpm', 'slowlog', 'hosts', 'help'] as const;

export const USAGE_LINES: ReadonlyArray<readonly [string, string]> = [
  ['/502 triage TARGET [--since 15m]', 'what is wrong, how sure, the evidence and the fix'],
  ['/502 logs HOST [--since 15m]', 'the access-log report: 5xx, latency, upstreams, failing URIs'],
  ['/502 fpm HOST', 'PHP-FPM pool status and master-log events'],
  ['/502 slowlog HOST [--since 15m]', 'top slow scripts and the frames they were stuck in'],
  ['/502 hosts', 'the inventory: hosts and @groups'],
  ['/502 help', 'this help'],
];

export const TARGET_HELP = 'TARGET is a host (web-03), a @group (@web), a glob (web-*) or a comma list (web-01,web-02).';

/** Characters a target or an option may contain; everything else (`;`, `$`, `|`, quotes, spaces in names) is refused. */
const TOKEN_RE = /^[A-Za-z0-9@._*?,=-]+$/;

/** Slack escapes &, < and > in command text, and phones turn -- into dashes: undo both before reading. */
export function normalize(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/[\u2013\u2014](?=[a-z])/g, '--')
    .replace(/\u00a0/g, ' ')
    .trim();
}

function printable(text: string, max = 40): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean;
}

function badCharacters(token: string): string {
  const bad = [...new Set([...token].filter((c) => !/[A-Za-z0-9@._*?,=-]/.test(c)))];
  return bad.map((c) => (/[\x21-\x7e]/.test(c) ? `"${c}"` : `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`)).join(' ');
}

/** Parses the text after `/502`. Throws a UsageError (the message says what was wrong) on anything else. */
export function parseCommand(raw: string): Command {
  const text = normalize(raw);
  if (text.length > 500) throw new UsageError('That command is too long.');
  const words = text === '' ? [] : text.split(/\s+/);
  for (const word of words) {
    if (!TOKEN_RE.test(word)) {
      throw new UsageError(
        `"${printable(word)}" contains ${badCharacters(word)}, which is not allowed: targets are host names, @groups or globs (letters, digits, . _ - * ? ,).`,
      );
    }
  }
  const [first, ...rest] = words;
  if (first === undefined) return { name: 'help' };
  const name = first.toLowerCase();
  switch (name) {
    case 'help':
    case '-h':
    case '--help':
      return { name: 'help' };
    case 'hosts':
      if (rest.length) throw new UsageError('`hosts` takes no arguments.');
      return { name: 'hosts' };
    case 'triage':
    case 'logs':
    case 'fpm':
    case 'slowlog':
      return parseTargetCommand(name, rest);
    default: {
      const near = SUBCOMMANDS.find((s) => editDistance(name, s) <= Math.max(1, Math.floor(s.length / 3)));
      throw new UsageError(`Unknown subcommand "${printable(first)}".${near ? ` Did you mean \`${near}\`?` : ''}`);
    }
  }
}

function parseTargetCommand(name: 'triage' | SectionName, args: string[]): Command {
  const what = name === 'triage' ? 'a target' : 'a host';
  let target: string | undefined;
  let since: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--since' || arg === '-s') {
      if (since !== undefined) throw new UsageError('--since is given twice.');
      since = args[++i];
      if (since === undefined) throw new UsageError('--since needs a duration, e.g. --since 15m.');
    } else if (arg.startsWith('--since=')) {
      if (since !== undefined) throw new UsageError('--since is given twice.');
      since = arg.slice('--since='.length);
    } else if (arg.startsWith('-')) {
      throw new UsageError(`Unknown option "${printable(arg)}": \`${name}\` takes only --since.`);
    } else if (target === undefined) {
      target = arg;
    } else {
      throw new UsageError(`\`${name}\` takes ${what}, got "${printable(target)}" and "${printable(arg)}" (use a comma list, web-01,web-02).`);
    }
  }
  if (target === undefined) throw new UsageError(`\`${name}\` needs ${what}. ${TARGET_HELP}`);
  let sinceMs = DEFAULT_SINCE_MS;
  if (since !== undefined) {
    const parsed = parseDuration(since);
    if (parsed === null || parsed <= 0) throw new UsageError(`--since "${printable(since)}" is not a duration: use e.g. 15m, 2h, 90s.`);
    if (parsed > MAX_SINCE_MS) throw new UsageError(`--since ${printable(since)} is longer than ${formatDuration(MAX_SINCE_MS)}: ask for a shorter window.`);
    sinceMs = parsed;
  }
  return { name, target, sinceMs };
}
