// Public surface of the PHP-FPM analyzers: status page, master log and slow log. Pure: text in, JSON-serialisable out.
export { parseFpmStatus } from './status.js';
export type { FpmProcess, FpmStatus, FpmStatusFormat, FpmStatusOptions } from './status.js';
export { analyzeFpmLog, createFpmLogAnalyzer, parseFpmLogLine } from './masterlog.js';
export type {
  FpmEvent,
  FpmEventKind,
  FpmLogAnalyzer,
  FpmLogOptions,
  FpmLogStats,
  FpmSignalCount,
  FpmTermination,
} from './masterlog.js';
export { analyzeSlowLog, createSlowLogAnalyzer } from './slowlog.js';
export type { SlowLogAnalyzer, SlowLogEntry, SlowLogOptions, SlowLogStats } from './slowlog.js';
