/** Access-log analysis: compile an nginx log_format once, stream lines through it, get plain AccessStats out. */
export { BUILTIN_FORMATS, compileLogFormat, logFormatSpec } from './format.js';
export type { CompiledFormat, EscapeMode } from './format.js';
export { analyzeAccessLines, createAccessAnalyzer } from './analyzer.js';
export type { AccessAnalyzer, AccessAnalyzerOptions } from './analyzer.js';
export { parseAccessLine } from './entry.js';
export type {
  AccessEntry,
  AccessStats,
  ConnectionEntry,
  ErrorTimeBuckets,
  FailingUri,
  LatencySummary,
  TimelineBucket,
  UpstreamAttempt,
  UpstreamStats,
} from './types.js';
