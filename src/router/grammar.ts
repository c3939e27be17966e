/**
 * The `/502 ...` grammar. Parsing is pure and strict: anything that is not a subcommand, a target
 * made of inventory characters or a known option is refused with a message that says what was
 * wrong, before anything runs.
 */
import { parseWindowOptions, UNTIL_EXAMPLE, WINDOW_END_CHARS_RE, type WindowEnd } from '../config/index.js';
import { UsageError, printable } from '../errors.js';

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

/** Longest reason kept with a reload request. */
export const MAX_REASON = 300;

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

/**
 * Splits the text after `/502` into words, refusing anything that is not a name, a target or an
 * option (a reload's free-text reason excepted). The command table (commands.ts) reads the words.
 */
export function splitWords(raw: string): string[] {
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
      throw new UsageError(`"${printable(word)}" contains ${badCharacters(word)}, which is not allowed: targets are host names, @groups or globs (letters, digits, . _ - * ? ,).`);
    }
  }
  return words;
}

export function parseNoArgs(name: string, args: string[]): void {
  if (args.length) throw new UsageError(`\`${name}\` takes no arguments.`);
}

export function parseAuditCommand(args: string[]): Command {
  const all = args.includes('--all');
  const hosts = args.filter((w) => w !== '--all');
  if (hosts.length > 1) throw new UsageError('`audit` takes at most one host.');
  if (hosts[0]?.startsWith('-')) throw new UsageError(`Unknown option "${printable(hosts[0])}": \`audit\` takes a host and --all.`);
  return { name: 'audit', host: hosts[0] ?? null, all };
}

export function parseTimelineCommand(args: string[]): Command {
  if (args.length > 1 || (args[0] !== undefined && !/^[a-f0-9]{6,32}$/.test(args[0]))) {
    throw new UsageError('`timeline` takes at most a session id (the hex id the runbook thread shows).');
  }
  return { name: 'timeline', session: args[0] ?? null };
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

export function parseActionCommand<N extends 'reload' | 'restart'>(name: N, args: string[]): ActionCommand<N> {
  const [host, ...rest] = args;
  if (host === undefined || host.startsWith('-')) throw new UsageError(`\`${name}\` needs a host.`);
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
export function parseRunbookCommand(args: string[]): Command {
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

export function parseTargetCommand(name: 'triage' | SectionName | 'runbook', args: string[]): Command {
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
export function parseDigestCommand(args: string[]): Command {
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
