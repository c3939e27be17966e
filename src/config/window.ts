/**
 * The time window a responder asks for: `--since 30m` back from an end, and `--until` for that end
 * (default: now). A post-mortem asks "02:00 to 02:30 last night": `--since 30m --until 2026-11-25T02:30+01:00`.
 * One parser for the CLI, the console and Slack, so every front end accepts and refuses the same text.
 */
import { UsageError, printable } from '../errors.js';
import { formatDuration, parseDuration } from './units.js';

/** Where a window ends: an absolute instant, or a duration before the moment the command runs. */
export type WindowEnd = { at: number } | { agoMs: number };

/**
 * ISO 8601 with an explicit offset; a zone-less time would be read in whichever zone the bot runs in,
 * which is not the responder's nor the host's, so it is refused rather than guessed.
 */
const INSTANT_RE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)(Z|[+-]\d{2}(?::?\d{2})?)$/i;

/** Characters an `--until` value may hold (checked by the chat grammar, which is stricter for everything else). */
export const WINDOW_END_CHARS_RE = /^[0-9A-Za-z:+.-]+$/;

export const UNTIL_EXAMPLE = 'e.g. --until 2h (two hours ago) or --until 2026-11-25T17:00Z (ISO 8601 with Z or an offset like +01:00)';

/** Parses `2h` (ago) or `2026-11-25T17:00:00+01:00`; null when it is neither. */
export function parseWindowEnd(text: string): WindowEnd | null {
  const trimmed = text.trim();
  const match = INSTANT_RE.exec(trimmed);
  if (match) {
    const [, day, clock, zone] = match;
    const offset = zone!.toUpperCase() === 'Z' ? 'Z' : normalizeOffset(zone!);
    const at = Date.parse(`${day}T${clock}${offset}`);
    return Number.isNaN(at) || !sameCalendarDay(day!, at, offset) ? null : { at };
  }
  const ago = parseDuration(trimmed);
  return ago === null || ago < 0 ? null : { agoMs: ago };
}

/** `+05` and `+0530` become `+05:00` and `+05:30`, the only offset form Date.parse accepts. */
function normalizeOffset(zone: string): string {
  const digits = zone.slice(1).replace(':', '');
  return `${zone[0]}${digits.slice(0, 2)}:${digits.slice(2, 4) || '00'}`;
}

/** Date.parse rolls 2026-02-30 over to March; a day that does not exist is a typo, not a time. */
function sameCalendarDay(day: string, at: number, offset: string): boolean {
  const sign = offset === 'Z' ? 0 : offset.startsWith('-') ? -1 : 1;
  const offsetMs = sign * (Number(offset.slice(1, 3) || 0) * 3_600_000 + Number(offset.slice(4, 6) || 0) * 60_000);
  return new Date(at + offsetMs).toISOString().slice(0, 10) === day;
}

/** The window's end in epoch ms, with `now` for a relative end (and for none). */
export function resolveWindowEnd(end: WindowEnd | null | undefined, now: number): number {
  if (!end) return now;
  return 'at' in end ? end.at : now - end.agoMs;
}

export interface WindowOptionsSpec {
  /** Used when --since is absent; null leaves sinceMs null (the caller decides, e.g. "since the last digest"). */
  defaultSinceMs: number | null;
  maxSinceMs?: number;
  /** A duration to show in the error for a bad --since, e.g. `15m, 2h, 90s`. */
  sinceExamples: string;
}

export interface WindowOptions<S extends number | null> {
  sinceMs: S;
  until: WindowEnd | null;
}

/** Reads `--since` and `--until` as typed; a bad value is a UsageError with an example of a good one. */
export function parseWindowOptions(values: { since?: string | undefined; until?: string | undefined }, spec: WindowOptionsSpec & { defaultSinceMs: number }): WindowOptions<number>;
export function parseWindowOptions(values: { since?: string | undefined; until?: string | undefined }, spec: WindowOptionsSpec): WindowOptions<number | null>;
export function parseWindowOptions(values: { since?: string | undefined; until?: string | undefined }, spec: WindowOptionsSpec): WindowOptions<number | null> {
  let sinceMs = spec.defaultSinceMs;
  if (values.since !== undefined) {
    const parsed = parseDuration(values.since);
    if (parsed === null || parsed <= 0) throw new UsageError(`--since "${printable(values.since)}" is not a duration: use e.g. ${spec.sinceExamples}.`);
    if (spec.maxSinceMs !== undefined && parsed > spec.maxSinceMs) {
      throw new UsageError(`--since ${printable(values.since)} is longer than ${formatDuration(spec.maxSinceMs)}: ask for a shorter window.`);
    }
    sinceMs = parsed;
  }
  let until: WindowEnd | null = null;
  if (values.until !== undefined) {
    until = parseWindowEnd(values.until);
    if (until === null) throw new UsageError(`--until "${printable(values.until)}" is not a time: use ${UNTIL_EXAMPLE}.`);
  }
  return { sinceMs, until };
}

/** How a report names its window: "last 15m" when it ends now, "30m to 2026-11-25 17:00Z" when --until ended it. */
export function describeWindow(window: { from: number | null; to: number | null; since: string | null; until?: boolean }): string {
  if (window.from === null && window.to === null) return 'whole files';
  if (window.until && window.to !== null) return `${window.since ?? span(window)} to ${utcMinute(window.to)}`;
  return window.since ? `last ${window.since}` : `${utcMinute(window.from)} to ${utcMinute(window.to)}`;
}

/** The same words for a window still to be read: `sinceMs` back from `untilMs`, or from now when it is null. */
export function describeSpan(sinceMs: number, untilMs: number | null): string {
  return untilMs === null ? `last ${formatDuration(sinceMs)}` : `${formatDuration(sinceMs)} to ${utcMinute(untilMs)}`;
}

function span(window: { from: number | null; to: number | null }): string {
  return window.from !== null && window.to !== null ? formatDuration(Math.max(0, window.to - window.from)) : 'up';
}

function utcMinute(ms: number | null): string {
  return ms === null ? '?' : `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')}Z`;
}
