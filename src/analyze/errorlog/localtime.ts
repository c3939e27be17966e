// nginx and php-fpm both log wall-clock local time with no zone, so the caller must tell us the
// server's offset; without it we fall back to this process's zone (right when the bot runs on the box).

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

export function monthIndex(abbrev: string): number | undefined {
  return MONTHS[abbrev];
}

/**
 * Epoch ms for a local wall-clock time, or null when a field is out of range
 * (garbage that happened to match the shape must not become a plausible date).
 * `month` is 0-based. `tzOffsetMinutes` is local minus UTC (CET = 60).
 */
export function localTimeToEpoch(year: number, month: number, day: number, hour: number, minute: number, second: number, millis: number, tzOffsetMinutes?: number): number | null {
  if (
    !(year >= 1970 && year <= 9999) ||
    !(month >= 0 && month <= 11) ||
    !(day >= 1 && day <= 31) ||
    !(hour >= 0 && hour <= 23) ||
    !(minute >= 0 && minute <= 59) ||
    !(second >= 0 && second <= 60) ||
    !(millis >= 0 && millis < 1000)
  ) {
    return null;
  }
  if (tzOffsetMinutes !== undefined && Number.isFinite(tzOffsetMinutes)) {
    return Date.UTC(year, month, day, hour, minute, second, millis) - tzOffsetMinutes * 60_000;
  }
  const t = new Date(year, month, day, hour, minute, second, millis).getTime();
  return Number.isFinite(t) ? t : null;
}

/** `25/Nov/2026:16:42:48 +0000` (FPM text status, strftime `%d/%b/%Y:%H:%M:%S %z`); carries its own zone. */
export function parseStrftimeWithZone(s: string): number | null {
  const m = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(s.trim());
  if (!m) return null;
  const month = monthIndex(m[2]!);
  if (month === undefined) return null;
  const offset = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  return localTimeToEpoch(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]), 0, offset);
}

/** Physical lines that cannot come from these daemons; cheap guard before any regex work. */
export const MAX_LINE_LENGTH = 65_536;

// NUL, C0 controls other than TAB, DEL and U+FFFD (what a decoder makes of invalid UTF-8).
const BINARY_RE = /[\u0000-\u0008\u000b-\u001f\u007f\ufffd]/;

export function looksBinary(s: string): boolean {
  return BINARY_RE.test(s);
}

export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** Push into a bounded sample list. */
export function pushCapped<T>(list: T[], item: T, max: number): void {
  if (list.length < max) list.push(item);
}
