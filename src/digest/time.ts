/**
 * Time zone arithmetic for digests: hour boundaries and labels in the schedule's zone, and the
 * schedule's previous fire time (node-cron computes only the next ones).
 */
import cron from 'node-cron';

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
  return formatter(timeZone, true).format(new Date(ms)).replace(/,? (\d{2}:\d{2})$/, ', $1');
}

/** `08:00–09:00`, with days when the span is a day or more or crosses midnight in the zone. */
export function span(from: number, to: number, timeZone: string): string {
  const sameDay = dayClock(from, timeZone).split(',')[0] === dayClock(to, timeZone).split(',')[0];
  if (sameDay && to - from < 86_400_000) return `${clock(from, timeZone)}–${clock(to, timeZone)}`;
  return `${dayClock(from, timeZone)} – ${dayClock(to, timeZone)}`;
}

/**
 * The last fire time of a cron expression strictly before `before`, in its zone; null when none in
 * the past `maxDays`. Walks back a quarter-hour at a time, asks node-cron's own matcher about the
 * minutes (and seconds) the expression lists, so day-of-week/day-of-month rules, `L`, `#` and DST
 * are node-cron's, not re-implemented here.
 */
export function previousFireTime(expression: string, timeZone: string | undefined, before: number, maxDays = 400): number | null {
  const fields = cron.parse(expression);
  const task = cron.createTask(expression, () => undefined, timeZone ? { timezone: timeZone } : {});
  try {
    const seconds = [...fields.second].sort((a, b) => b - a);
    const minutes = new Set(fields.minute);
    const hours = new Set(fields.hour);
    const zone = timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
    const limit = before - maxDays * 86_400_000;
    // The quarter-hour containing `before - 1`, then earlier ones.
    let quarter = Math.floor((before - 1) / QUARTER_MS) * QUARTER_MS;
    for (; quarter >= limit; quarter -= QUARTER_MS) {
      const offset = zoneOffsetMinutes(quarter, zone);
      const localQuarter = quarter + offset * 60_000;
      const localHour = Math.floor((((localQuarter % 86_400_000) + 86_400_000) % 86_400_000) / HOUR_MS);
      if (!hours.has(localHour)) continue;
      const firstLocalMinute = Math.floor((((localQuarter % HOUR_MS) + HOUR_MS) % HOUR_MS) / 60_000);
      for (let m = 14; m >= 0; m--) {
        if (!minutes.has(firstLocalMinute + m)) continue;
        const minute = quarter + m * 60_000;
        for (const s of seconds) {
          const at = minute + s * 1000;
          if (at >= before) continue;
          if (task.match(new Date(at))) return at;
        }
      }
    }
    return null;
  } finally {
    task.destroy();
  }
}

/** The next fire time strictly after `after` (bounded walk forward, same matcher). */
export function nextFireTime(expression: string, timeZone: string | undefined, after: number, maxDays = 400): number | null {
  const fields = cron.parse(expression);
  const task = cron.createTask(expression, () => undefined, timeZone ? { timezone: timeZone } : {});
  try {
    const seconds = [...fields.second].sort((a, b) => a - b);
    const minutes = new Set(fields.minute);
    const hours = new Set(fields.hour);
    const zone = timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
    const limit = after + maxDays * 86_400_000;
    for (let quarter = Math.floor(after / QUARTER_MS) * QUARTER_MS; quarter <= limit; quarter += QUARTER_MS) {
      const offset = zoneOffsetMinutes(quarter, zone);
      const localQuarter = quarter + offset * 60_000;
      const localHour = Math.floor((((localQuarter % 86_400_000) + 86_400_000) % 86_400_000) / HOUR_MS);
      if (!hours.has(localHour)) continue;
      const firstLocalMinute = Math.floor((((localQuarter % HOUR_MS) + HOUR_MS) % HOUR_MS) / 60_000);
      for (let m = 0; m < 15; m++) {
        if (!minutes.has(firstLocalMinute + m)) continue;
        for (const s of seconds) {
          const at = quarter + m * 60_000 + s * 1000;
          if (at > after && task.match(new Date(at))) return at;
        }
      }
    }
    return null;
  } finally {
    task.destroy();
  }
}
