/**
 * Time zone arithmetic for digests: hour boundaries and labels in the schedule's zone, and the
 * schedule's previous and next fire times (croner; node-cron computes only the next ones from now).
 */
import { Cron } from 'croner';

export const HOUR_MS = 3_600_000;
const QUARTER_MS = 900_000;

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();
const offsetCache = new Map<string, number>();

/** Minutes the zone is ahead of UTC at `ms` (every zone's offset is a multiple of 15 minutes). */
export function zoneOffsetMinutes(ms: number, timeZone: string): number {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return 0;
  const key = `${timeZone}|${Math.floor(ms / QUARTER_MS)}`;
  const cached = offsetCache.get(key);
  if (cached !== undefined) return cached;
  let formatter = offsetFormatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
    offsetFormatters.set(timeZone, formatter);
  }
  const name = formatter.formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const match = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name);
  const offset = match ? (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3] ?? 0)) : 0;
  if (offsetCache.size > 10_000) offsetCache.clear();
  offsetCache.set(key, offset);
  return offset;
}

/** Start of the local hour (in `timeZone`) that contains `ms`, as epoch ms. */
export function hourStart(ms: number, timeZone: string): number {
  const offset = zoneOffsetMinutes(ms, timeZone) * 60_000;
  const local = ms + offset;
  return local - (((local % HOUR_MS) + HOUR_MS) % HOUR_MS) - offset;
}

const labelFormatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string, withDay: boolean): Intl.DateTimeFormat {
  const key = `${timeZone}|${withDay}`;
  let f = labelFormatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      ...(withDay ? { weekday: 'short', day: 'numeric', month: 'short' } : {}),
    });
    labelFormatters.set(key, f);
  }
  return f;
}

/** `08:00` in the zone. */
export function clock(ms: number, timeZone: string): string {
  return formatter(timeZone, false).format(new Date(ms));
}

/** `Mon 13 May, 08:00` in the zone. */
export function dayClock(ms: number, timeZone: string): string {
  return formatter(timeZone, true)
    .format(new Date(ms))
    .replace(/,? (\d{2}:\d{2})$/, ', $1');
}

/** `08:00–09:00`, with days when the span is a day or more or crosses midnight in the zone. */
export function span(from: number, to: number, timeZone: string): string {
  const sameDay = dayClock(from, timeZone).split(',')[0] === dayClock(to, timeZone).split(',')[0];
  if (sameDay && to - from < 86_400_000) return `${clock(from, timeZone)}–${clock(to, timeZone)}`;
  return `${dayClock(from, timeZone)} – ${dayClock(to, timeZone)}`;
}

/**
 * A schedule's fire times, computed by croner (node-cron fires the schedules but only counts forward
 * from now). `domAndDow`: node-cron requires both the day of month and the day of week to match, and
 * so does this; the tests compare the two libraries on the same expressions.
 */
function fireTimes(expression: string, timeZone: string | undefined): Cron {
  return new Cron(expression, { paused: true, domAndDow: true, ...(timeZone ? { timezone: timeZone } : {}) });
}

/** The last fire time of a cron expression strictly before `before`, in its zone; null when none in the past `maxDays`. */
export function previousFireTime(expression: string, timeZone: string | undefined, before: number, maxDays = 400): number | null {
  const job = fireTimes(expression, timeZone);
  try {
    const [at] = job.previousRuns(1, new Date(before));
    if (!at) return null;
    const ms = at.getTime();
    return ms < before && ms >= before - maxDays * 86_400_000 ? ms : null;
  } finally {
    job.stop();
  }
}

/** The next fire time strictly after `after`; null when none in the next `maxDays`. */
export function nextFireTime(expression: string, timeZone: string | undefined, after: number, maxDays = 400): number | null {
  const job = fireTimes(expression, timeZone);
  try {
    const at = job.nextRun(new Date(after))?.getTime() ?? null;
    return at !== null && at > after && at <= after + maxDays * 86_400_000 ? at : null;
  } finally {
    job.stop();
  }
}
