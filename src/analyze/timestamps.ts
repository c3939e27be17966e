/**
 * The time of one log line, per source, for searching a remote log by time without parsing all of
 * it. Lines without their own time (continuations, stack frames) give null.
 */
import { parseAccessLine, type CompiledFormat } from './access/index.js';
import { parseErrorEntry } from './errorlog/index.js';
import { localTimeToEpoch, monthIndex } from './errorlog/localtime.js';
import { parseFpmLogLine } from './fpm/index.js';

export type LogSource = 'accessLog' | 'errorLog' | 'fpmLog' | 'slowLog';

// fpm_php_trace.c header: "[08-Dec-2014 16:56:48]  [pool www] pid 3863"
const SLOW_HEADER_RE = /^\[(\d{2})-([A-Z][a-z]{2})-(\d{4}) (\d{2}):(\d{2}):(\d{2})\]\s+\[pool /;

/** `tzOffsetMinutes`: the offset the zone-less logs (all but the access log) were written in; default this process's zone. */
export function lineTimestamp(source: LogSource, accessFormat?: CompiledFormat, tzOffsetMinutes?: number): (line: string) => number | null {
  switch (source) {
    case 'accessLog':
      if (!accessFormat) throw new Error('the access log needs its log_format to be searched by time');
      return (line) => parseAccessLine(accessFormat, line)?.time ?? null;
    case 'errorLog':
      return (line) => parseErrorEntry(line, tzOffsetMinutes)?.time ?? null;
    case 'fpmLog':
      return (line) => parseFpmLogLine(line, tzOffsetMinutes)?.time ?? null;
    case 'slowLog':
      return (line) => {
        const m = SLOW_HEADER_RE.exec(line);
        const month = m ? monthIndex(m[2]!) : undefined;
        if (!m || month === undefined) return null;
        return localTimeToEpoch(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]), 0, tzOffsetMinutes);
      };
  }
}

/** `+0530` or `+05:30` → 330, `-0330` → -210 (local minus UTC, in minutes); null when malformed. */
export function parseUtcOffset(text: string): number | null {
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(text.trim());
  if (!m) return null;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return minutes > 18 * 60 ? null : (m[1] === '-' ? -1 : 1) * minutes;
}

export function formatUtcOffset(minutes: number): string {
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
}

/** `[25/Nov/2026:16:52:17 +0530]` ($time_local) or `2026-11-25T16:52:17+05:30` ($time_iso8601). */
const ACCESS_OFFSET_RE = /\[\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} ([+-]\d{4})\]|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})/;

/**
 * The UTC offset nginx wrote into its access log (newest line first): the zone nginx itself runs in,
 * and so the zone of its error log, which carries none. Null when no line has a time with an offset.
 */
export function accessLogOffset(lines: readonly string[]): number | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = ACCESS_OFFSET_RE.exec(lines[i]!);
    const text = m?.[1] ?? m?.[2];
    const offset = text === 'Z' ? 0 : text ? parseUtcOffset(text) : null;
    if (offset !== null) return offset;
  }
  return null;
}
