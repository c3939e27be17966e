// Public surface of the nginx error.log analyzer: pure functions, lines in, JSON-serialisable stats out.
export { analyzeErrorLog, createErrorLogAnalyzer, extractPhpMessages } from './analyze.js';
export type { ErrorLogAnalyzer } from './analyze.js';
export { classifyErrorMessage, statusFor } from './classify.js';
export { parseErrorEntry } from './parse.js';
export type {
  ErrorEntry,
  ErrorKind,
  ErrorLogOptions,
  ErrorLogStats,
  ErrorSignature,
  PhpMessageCount,
} from './types.js';
