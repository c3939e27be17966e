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
