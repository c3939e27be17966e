/**
 * The analyzer wiring shared by triage (logs streamed over SSH) and analyze (files on this machine):
 * which analyzer reads which log, and where its result goes in the Evidence.
 */
import { createAccessAnalyzer, type CompiledFormat } from '../analyze/access/index.js';
import { createErrorLogAnalyzer } from '../analyze/errorlog/index.js';
import type { Evidence } from '../analyze/evidence.js';
import { createFpmLogAnalyzer, createSlowLogAnalyzer } from '../analyze/fpm/index.js';
import type { LogSource } from '../analyze/timestamps.js';
import type { Window } from '../analyze/window.js';
import { LineSplitter } from '../collect/files.js';

/** One analyzer per log, fed raw bytes; `finish` stores its result in the evidence. */
export function logSink(source: LogSource, options: { window: Window; tzOffsetMinutes?: number | undefined; format?: CompiledFormat }) {
  const { window, tzOffsetMinutes, format } = options;
  if (source === 'accessLog') {
    // A programming error, not input: callers compile the log_format before reading the access log.
    if (!format) throw new Error('logSink: the access log needs its compiled log_format');
    const analyzer = createAccessAnalyzer({ format, window });
    return {
      push: (chunk: Buffer) => analyzer.pushChunk(chunk),
      finish: (evidence: Evidence) => {
        evidence.access = analyzer.result();
      },
      connections: () => analyzer.statusByConnection(),
    };
  }
  const analyzer =
    source === 'errorLog'
      ? createErrorLogAnalyzer({ window, ...(tzOffsetMinutes !== undefined ? { tzOffsetMinutes } : {}) })
      : source === 'fpmLog'
        ? createFpmLogAnalyzer({ window, ...(tzOffsetMinutes !== undefined ? { tzOffsetMinutes } : {}) })
        : createSlowLogAnalyzer({ window, ...(tzOffsetMinutes !== undefined ? { tzOffsetMinutes } : {}) });
  const splitter = new LineSplitter((line) => analyzer.push(line));
  return {
    push: (chunk: Buffer) => splitter.push(chunk),
    finish: (evidence: Evidence) => {
      splitter.end();
      const result = analyzer.result();
      if (source === 'errorLog') evidence.errors = result as Evidence['errors'];
      else if (source === 'fpmLog') evidence.fpmLog = result as Evidence['fpmLog'];
      else evidence.slowLog = result as Evidence['slowLog'];
    },
    connections: undefined,
  };
}
