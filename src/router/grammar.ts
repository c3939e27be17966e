/**
 * The `/502 ...` grammar. Parsing is pure and strict: anything that is not a subcommand, a target
 * made of inventory characters or a known option is refused with a message that says what was
 * wrong, before anything runs.
 */
import { parseWindowOptions, UNTIL_EXAMPLE, WINDOW_END_CHARS_RE, type WindowEnd } from '../config/index.js';
import { UsageError, printable } from '../errors.js';
import { editDistance } from '../inventory/index.js';

export const DEFAULT_SINCE_MS = 15 * 60_000;
export const MAX_SINCE_MS = 7 * 86_400_000;

export type SectionName = 'logs' | 'fpm' | 'slowlog';

export type Command =
  | { name: 'triage' | SectionName; target: string; sinceMs: number; until: WindowEnd | null }
  | { name: 'hosts' }
  | { name: 'help' }
  /** A change to one host, run after an approval; `dryRun` only shows what would run. */
  | ActionCommand<'reload'>
  | ActionCommand<'restart'>
  /** `all`: every channel's entries (approvers only); else the channel asked in. */
  | { name: 'audit'; host: string | null; all: boolean }
  /** Starts (or picks up) a runbook for one host in this channel's thread. */
  | { name: 'runbook'; target: string; sinceMs: number; until: WindowEnd | null; runbook?: string }
  /** Posts a runbook session's timeline: by id, else the channel's latest session. */
  | { name: 'timeline'; session: string | null }
  /** The health digest now (src/digest): TARGET, else the targets of this channel's schedule; --since, else since its last digest. */
  | { name: 'digest'; target: string | null; sinceMs: number | null; until: WindowEnd | null };

/** reload / restart HOST [--dry-run] [reason]: one member per name, so a check of `name` narrows. */
export interface ActionCommand<N extends 'reload' | 'restart'> {
  name: N;
  host: string;
  reason: string | null;
  dryRun: boolean;
}

export const SUBCOMMANDS = ['triage', 'logs', 'fpm', 'slowlog', 'hosts', 'help', 'reload', 'restart', 'audit', 'runbook', 'timeline', 'digest'] as const;

/** Longest reason kept with a reload request. */
export const MAX_REASON = 300;

export const USAGE_LINES: ReadonlyArray<readonly [string, string]> = [
  ['/502 triage TARGET [--since 15m] [--until TIME]', 'what is wrong, how sure, the evidence and the fix'],
  ['/502 logs HOST [--since 15m] [--until TIME]', 'the access-log report: 5xx, latency, upstreams, failing URIs'],
  ['/502 fpm HOST', 'PHP-FPM pool status and master-log events'],
  ['/502 slowlog HOST [--since 15m] [--until TIME]', 'top slow scripts and the frames they were stuck in'],
  ['/502 hosts', 'the inventory: hosts and @groups'],
  ['/502 reload HOST [--dry-run] [reason]', 'graceful php-fpm reload, after an approver approves'],
  ['/502 restart HOST [--dry-run] [reason]', 'php-fpm restart (drops running requests), after approval'],
  ['/502 audit [HOST] [--all]', "this channel's recent decisions and commands (--all: every channel, approvers)"],
  ['/502 runbook HOST [--since 15m] [--until TIME]', 'walk the 502 runbook step by step in a thread'],
  ['/502 timeline [SESSION]', "a runbook's timeline as a Markdown file, for the review"],
  ['/502 digest [TARGET] [--since 24h] [--until TIME]', 'the health digest now: 5xx, latency, pool pressure, with a chart'],
  ['/502 help', 'this help'],
];

export const TARGET_HELP = 'TARGET is a host (web-03), a @group (@web), a glob (web-*) or a comma list (web-01,web-02).';

/** Shown under the usage: what --until takes, for the post-mortem windows it exists for. */
export const UNTIL_HELP = '--until ends the window: 2h (ago) or ISO 8601 with an offset (2026-11-25T17:00Z), e.g. --since 30m --until 2026-11-25T02:30+01:00.';

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

function badCharacters(token: string): string {
  const bad = [...new Set([...token].filter((c) => !/[A-Za-z0-9@._*?,=-]/.test(c)))];
  return bad.map((c) => (/[\x21-\x7e]/.test(c) ? `"${c}"` : `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`)).join(' ');
}

/** Parses the text after `/502`. Throws a UsageError (the message says what was wrong) on anything else. */
export function parseCommand(raw: string): Command {
  const text = normalize(raw);
  if (text.length > 500) throw new UsageError('That command is too long.');
  const words = text === '' ? [] : text.split(/\s+/);
  // A reload's reason is free text (stored and shown escaped, never run); everything before it is strict.
  const lead = words[0]?.toLowerCase();
  const strict = lead === 'reload' || lead === 'restart' ? words.slice(0, reasonStart(words)) : words;
  for (const [i, word] of strict.entries()) {
    const until = untilValue(strict, i);
    if (until !== null) {
      if (!WINDOW_END_CHARS_RE.test(until)) throw new UsageError(`--until "${printable(until)}" is not a time: use ${UNTIL_EXAMPLE}.`);
      continue;
    }
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
    case 'reload':
    case 'restart':
      return parseActionCommand(name, rest);
    case 'audit': {
      const all = rest.includes('--all');
      const hosts = rest.filter((w) => w !== '--all');
      if (hosts.length > 1) throw new UsageError('`audit` takes at most one host: /502 audit [HOST] [--all].');
      if (hosts[0]?.startsWith('-')) throw new UsageError(`Unknown option "${printable(hosts[0])}": \`audit\` takes a host and --all.`);
      return { name: 'audit', host: hosts[0] ?? null, all };
    }
    case 'runbook':
      return parseRunbookCommand(rest);
    case 'timeline':
      if (rest.length > 1 || (rest[0] !== undefined && !/^[a-f0-9]{6,32}$/.test(rest[0]))) {
        throw new UsageError('`timeline` takes at most a session id (the hex id the runbook thread shows): /502 timeline [SESSION].');
      }
      return { name: 'timeline', session: rest[0] ?? null };
    case 'digest':
      return parseDigestCommand(rest);
    default: {
      const near = SUBCOMMANDS.find((s) => editDistance(name, s) <= Math.max(1, Math.floor(s.length / 3)));
      throw new UsageError(`Unknown subcommand "${printable(first)}".${near ? ` Did you mean \`${near}\`?` : ''}`);
    }
  }
}

/** The value of an --until at word i, if it is one: a time (`2026-11-25T17:00+01:00`) needs `:` and `+`, which no target may hold. */
function untilValue(words: readonly string[], i: number): string | null {
  const word = words[i]!;
  return words[i - 1] === '--until' ? word : word.startsWith('--until=') ? word.slice('--until='.length) : null;
}

/** Index of the first word of a reload's reason: after the subcommand, the host and any leading options. */
function reasonStart(words: readonly string[]): number {
  let i = Math.min(2, words.length);
  while (i < words.length && words[i]!.startsWith('-')) i++;
  return i;
}

function parseActionCommand<N extends 'reload' | 'restart'>(name: N, args: string[]): ActionCommand<N> {
  const [host, ...rest] = args;
  if (host === undefined || host.startsWith('-')) throw new UsageError(`\`${name}\` needs a host: /502 ${name} HOST [--dry-run] [reason].`);
  let dryRun = false;
  const reason: string[] = [];
  for (const word of rest) {
    if (word === '--dry-run' || word === '-n') dryRun = true;
    else if (reason.length === 0 && word.startsWith('-')) throw new UsageError(`Unknown option "${printable(word)}": \`${name}\` takes only --dry-run.`);
    else reason.push(word);
  }
  const text = reason.join(' ');
  if (/[\x00-\x1f\x7f]/.test(text)) throw new UsageError('The reason contains control characters.');
  if (text.length > MAX_REASON) throw new UsageError(`The reason is longer than ${MAX_REASON} characters; keep it short (the thread can hold the rest).`);
  return { name, host, reason: text || null, dryRun };
}

/** `runbook HOST [--since D] [--runbook NAME]`. */
function parseRunbookCommand(args: string[]): Command {
  let runbook: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = arg === '--runbook' ? args[++i] : arg.startsWith('--runbook=') ? arg.slice('--runbook='.length) : null;
    if (value === null) {
      rest.push(arg);
      continue;
    }
    if (runbook !== undefined) throw new UsageError('--runbook is given twice.');
    if (!value || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(value)) throw new UsageError('--runbook needs a runbook id, e.g. --runbook 502-triage.');
    runbook = value;
  }
  const command = parseTargetCommand('runbook', rest);
  return runbook !== undefined && command.name === 'runbook' ? { ...command, runbook } : command;
}

function parseTargetCommand(name: 'triage' | SectionName | 'runbook', args: string[]): Command {
  const what = name === 'triage' ? 'a target' : 'a host';
  const { positionals, since, until } = readWindowArgs(args, (arg) => `Unknown option "${printable(arg)}": \`${name}\` takes only --since, --until${name === 'runbook' ? ' and --runbook' : ''}.`);
  if (positionals.length > 1) {
    throw new UsageError(`\`${name}\` takes ${what}, got "${printable(positionals[0]!)}" and "${printable(positionals[1]!)}" (use a comma list, web-01,web-02).`);
  }
  const target = positionals[0];
  if (target === undefined) throw new UsageError(`\`${name}\` needs ${what}. ${TARGET_HELP}`);
  const window = parseWindowOptions({ since, until }, { defaultSinceMs: DEFAULT_SINCE_MS, maxSinceMs: MAX_SINCE_MS, sinceExamples: '15m, 2h, 90s' });
  return { name, target, ...window };
}

/** `digest [TARGET] [--since D] [--until T]`: all optional (the channel's schedule fills them in). */
function parseDigestCommand(args: string[]): Command {
  const { positionals, since, until } = readWindowArgs(args, (arg) => `Unknown option "${printable(arg)}": \`digest\` takes only --since and --until.`);
  if (positionals.length > 1) {
    throw new UsageError(`\`digest\` takes one target, got "${printable(positionals[0]!)}" and "${printable(positionals[1]!)}" (use a comma list, web-01,web-02).`);
  }
  const window = parseWindowOptions({ since, until }, { defaultSinceMs: null, maxSinceMs: MAX_SINCE_MS, sinceExamples: '24h, 12h, 90m' });
  return { name: 'digest', target: positionals[0] ?? null, ...window };
}

/** Splits `--since D`, `--until T` (also `--since=D`, `-s D`) from the other words; each option at most once. */
function readWindowArgs(args: string[], unknown: (arg: string) => string): { positionals: string[]; since?: string; until?: string } {
  const found: { since?: string; until?: string } = {};
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const option = arg === '-s' || arg === '--since' || arg.startsWith('--since=') ? 'since' : arg === '--until' || arg.startsWith('--until=') ? 'until' : null;
    if (option === null) {
      if (arg.startsWith('-')) throw new UsageError(unknown(arg));
      positionals.push(arg);
      continue;
    }
    if (found[option] !== undefined) throw new UsageError(`--${option} is given twice.`);
    const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[++i];
    if (!value) throw new UsageError(option === 'since' ? '--since needs a duration, e.g. --since 15m.' : '--until needs a time, e.g. --until 2h or --until 2026-11-25T17:00Z.');
    found[option] = value;
  }
  return { positionals, ...found };
}
