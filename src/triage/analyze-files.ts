/**
 * The `analyze` use case: evidence files on this machine → analyzers → diagnosis → Report.
 * Every input is optional; a missing, empty or unreadable one becomes a line in the report.
 */
import { BUILTIN_FORMATS, compileLogFormat, createAccessAnalyzer, type CompiledFormat } from '../analyze/access/index.js';
import { parseFpmTT, parseNginxT, type NginxConfig } from '../analyze/config/index.js';
import { createErrorLogAnalyzer, parseErrorEntry } from '../analyze/errorlog/index.js';
import { joinByConnection, type Evidence } from '../analyze/evidence.js';
import { createFpmLogAnalyzer, createSlowLogAnalyzer, parseFpmLogLine, parseFpmStatus } from '../analyze/fpm/index.js';
import type { Window } from '../analyze/window.js';
import { checkFile, LineSplitter, streamFile, tailLines } from '../collect/files.js';
import { UsageError } from '../errors.js';
import { buildReport } from '../report/build.js';
import type { Report, SourceKey, SourceStatus } from '../report/types.js';

export interface AnalyzeFilesInput {
  access?: string;
  /** A built-in name or the format as written after the format's name in nginx.conf. */
  logFormat?: string;
  error?: string;
  fpmLog?: string;
  slowLog?: string;
  fpmStatus?: string;
  nginxConf?: string;
  fpmConf?: string;
  window: WindowRequest;
}

export type WindowRequest = { kind: 'all' } | { kind: 'since'; ms: number } | { kind: 'range'; from: number; to: number };

type Readable = { source: SourceKey; path: string };

export async function analyzeFiles(input: AnalyzeFilesInput): Promise<Report> {
  const sources: SourceStatus[] = [];
  const usable = async (source: SourceKey, path: string | undefined): Promise<Readable | null> => {
    if (path === undefined) {
      sources.push({ source, path: null, status: 'not given' });
      return null;
    }
    const problem = await checkFile(path);
    if (problem) {
      sources.push({ source, path, ...problem });
      return null;
    }
    return { source, path };
  };

  const nginxFile = await usable('nginxConfig', input.nginxConf);
  const fpmFile = await usable('fpmConfig', input.fpmConf);
  const nginxConfig = nginxFile ? parseNginxT(await readText(nginxFile, sources)) : undefined;
  const fpmConfig = fpmFile ? parseFpmTT(await readText(fpmFile, sources)) : undefined;

  const accessFile = await usable('access', input.access);
  const errorFile = await usable('error', input.error);
  const fpmLogFile = await usable('fpmLog', input.fpmLog);
  const slowFile = await usable('slowLog', input.slowLog);
  const statusFile = await usable('fpmStatus', input.fpmStatus);

  const logFormat = chooseLogFormat(input.logFormat, input.access, nginxConfig);
  // A bad --log-format is the caller's mistake even when the access log itself cannot be read.
  const compiled = accessFile || logFormat.from === 'option' ? compileFormat(logFormat.spec) : null;
  const format = accessFile ? compiled : null;
  const window = await resolveWindow(input.window, { access: accessFile, format, error: errorFile, fpmLog: fpmLogFile });

  const evidence: Evidence = {};
  if (nginxConfig) evidence.nginxConfig = nginxConfig;
  if (fpmConfig) evidence.fpmConfig = fpmConfig;

  let connections: ReturnType<ReturnType<typeof createAccessAnalyzer>['statusByConnection']> | undefined;
  if (accessFile && format) {
    const analyzer = createAccessAnalyzer({ format, window });
    const bytes = await streamFile(accessFile.path, (chunk) => analyzer.pushChunk(chunk));
    evidence.access = analyzer.result();
    connections = analyzer.statusByConnection();
    sources.push(readStatus(accessFile, bytes, `${evidence.access.parsed} lines parsed, ${evidence.access.unparsed} unparsed`));
  }
  if (errorFile) {
    const analyzer = createErrorLogAnalyzer({ window });
    const bytes = await streamLines(errorFile.path, (line) => analyzer.push(line));
    evidence.errors = analyzer.result();
    sources.push(readStatus(errorFile, bytes, `${evidence.errors.inWindow} entries in the window`));
  }
  if (fpmLogFile) {
    const analyzer = createFpmLogAnalyzer({ window });
    const bytes = await streamLines(fpmLogFile.path, (line) => analyzer.push(line));
    evidence.fpmLog = analyzer.result();
    sources.push(readStatus(fpmLogFile, bytes, `${evidence.fpmLog.inWindow} events in the window`));
  }
  if (slowFile) {
    const analyzer = createSlowLogAnalyzer({ window });
    const bytes = await streamLines(slowFile.path, (line) => analyzer.push(line));
    evidence.slowLog = analyzer.result();
    sources.push(readStatus(slowFile, bytes, `${evidence.slowLog.inWindow} entries in the window`));
  }
  if (statusFile) {
    const text = await readText(statusFile, sources);
    const listen = fpmConfig?.pools[0]?.listen;
    const parsed = parseFpmStatus(text, listen ? { listen } : {});
    if ('error' in parsed) evidence.fpmStatusError = parsed.error;
    else evidence.fpmStatus = parsed;
  }
  if (connections && evidence.errors) evidence.joins = joinByConnection(connections, evidence.errors.connections);

  return buildReport({
    evidence,
    sources,
    logFormat: format !== null ? logFormat : null,
    window,
    since: input.window.kind === 'since' ? input.window.ms : null,
  });
}

async function readText(file: Readable, sources: SourceStatus[]): Promise<string> {
  const chunks: Buffer[] = [];
  const bytes = await streamFile(file.path, (c) => chunks.push(c));
  sources.push(readStatus(file, bytes));
  return Buffer.concat(chunks).toString('utf8');
}

function readStatus(file: Readable, bytes: number, detail?: string): SourceStatus {
  return { source: file.source, path: file.path, status: 'read', bytes, ...(detail ? { detail } : {}) };
}

async function streamLines(path: string, onLine: (line: string) => void): Promise<number> {
  const splitter = new LineSplitter(onLine);
  const bytes = await streamFile(path, (chunk) => splitter.push(chunk));
  splitter.end();
  return bytes;
}

/** --log-format wins; else the format nginx.conf names for this access log; else `combined`. */
function chooseLogFormat(
  option: string | undefined,
  accessPath: string | undefined,
  nginx: NginxConfig | undefined,
): { spec: string; from: 'option' | 'nginx-config' | 'default' } {
  if (option !== undefined) return { spec: option, from: 'option' };
  if (nginx && nginx.accessLogs.length > 0) {
    const base = accessPath?.split('/').pop();
    const log =
      nginx.accessLogs.find((l) => l.path === accessPath) ??
      nginx.accessLogs.find((l) => base !== undefined && l.path.split('/').pop() === base) ??
      nginx.accessLogs.find((l) => !l.syslog);
    const format = log ? nginx.logFormats[log.format] : undefined;
    if (format) return { spec: formatSpec(format.format, format.escape), from: 'nginx-config' };
  }
  return { spec: 'combined', from: 'default' };
}

/** Writes a parsed log_format back as nginx would read it, so the compiler sees the same text. */
function formatSpec(format: string, escape: 'default' | 'json' | 'none'): string {
  const quoted = `'${format.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return escape === 'default' ? quoted : `escape=${escape} ${quoted}`;
}

function compileFormat(spec: string): CompiledFormat {
  try {
    return compileLogFormat(spec);
  } catch (err) {
    const names = Object.keys(BUILTIN_FORMATS).join(', ');
    throw new UsageError(`--log-format "${spec.slice(0, 80)}" is not a log_format nginx would accept (${(err as Error).message}); use ${names} or the format from nginx.conf.`);
  }
}

/** --since counts back from the newest entry in the files, found from their tails (cheap on big files). */
async function resolveWindow(
  request: WindowRequest,
  files: { access: Readable | null; format: CompiledFormat | null; error: Readable | null; fpmLog: Readable | null },
): Promise<Window> {
  if (request.kind === 'all') return {};
  if (request.kind === 'range') return { from: request.from, to: request.to };
  let newest = -Infinity;
  if (files.access && files.format) {
    const analyzer = createAccessAnalyzer({ format: files.format });
    for (const line of await tailLines(files.access.path)) analyzer.push(line);
    newest = Math.max(newest, analyzer.result().lastTime ?? -Infinity);
  }
  if (files.error) {
    for (const line of await tailLines(files.error.path)) newest = Math.max(newest, parseErrorEntry(line)?.time ?? -Infinity);
  }
  if (files.fpmLog) {
    for (const line of await tailLines(files.fpmLog.path)) newest = Math.max(newest, parseFpmLogLine(line)?.time ?? -Infinity);
  }
  if (!Number.isFinite(newest)) return {};
  // Inclusive of the newest entry itself.
  return { from: newest - request.ms, to: newest + 1 };
}
