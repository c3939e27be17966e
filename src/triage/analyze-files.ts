/**
 * The `analyze` use case: evidence files on this machine → analyzers → diagnosis → Report.
 * Every input is optional; a missing, empty or unreadable one becomes a line in the report.
 */
import { BUILTIN_FORMATS, compileLogFormat, createAccessAnalyzer, logFormatSpec, type CompiledFormat } from '../analyze/access/index.js';
import { parseFpmTT, parseNginxT, type NginxConfig } from '../analyze/config/index.js';
import { parseErrorEntry } from '../analyze/errorlog/index.js';
import { joinByConnection, type Evidence } from '../analyze/evidence.js';
import { parseFpmLogLine, parseFpmStatus } from '../analyze/fpm/index.js';
import { accessLogOffset, formatUtcOffset, parseUtcOffset, type LogSource } from '../analyze/timestamps.js';
import type { Window } from '../analyze/window.js';
import { analyzeAccessFile, type AccessFileResult } from '../collect/access-file.js';
import { checkFile, streamFile, tailLines } from '../collect/files.js';
import type { WindowEnd } from '../config/index.js';
import { UsageError } from '../errors.js';
import { buildReport } from './build-report.js';
import { logSink } from './log-sink.js';
import type { Report, SourceKey, SourceStatus } from './report.js';

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
  /** The zone the zone-less logs (error, FPM, slow) were written in: an offset (`+05:30`, `Z`) or an IANA name. */
  tz?: string;
  window: WindowRequest;
}

/**
 * `since`: `ms` back from an end (null: from the start of the files); the end is `until`, where a
 * relative one counts back from the newest entry in the files (files are read after the fact), else
 * that newest entry itself.
 */
export type WindowRequest = { kind: 'all' } | { kind: 'since'; ms: number | null; until: WindowEnd | null } | { kind: 'range'; from: number; to: number };

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
  const zone = await logZone(input.tz, accessFile);
  const offset = zone.offset;
  const window = await resolveWindow(input.window, { access: accessFile, format, error: errorFile, fpmLog: fpmLogFile, offset });
  const zoneNote = `times read at UTC${formatUtcOffset(offset)} (${zone.from})`;

  const evidence: Evidence = {};
  if (nginxConfig) evidence.nginxConfig = nginxConfig;
  if (fpmConfig) evidence.fpmConfig = fpmConfig;

  let connections: AccessFileResult['connections'] | undefined;
  if (accessFile && format) {
    // Every core for a big plain file; the same result as one pass (src/collect/access-file.ts).
    const analyzed = await analyzeAccessFile(accessFile.path, { format, window });
    evidence.access = analyzed.stats;
    connections = analyzed.connections;
    sources.push(readStatus(accessFile, analyzed.bytes, `${evidence.access.parsed} lines parsed, ${evidence.access.unparsed} unparsed`));
  }
  // The zone-less logs, each into its analyzer (the same wiring as triage's, src/triage/log-sink.ts).
  const zoneless: Array<[Readable | null, LogSource, () => string]> = [
    [errorFile, 'errorLog', () => `${evidence.errors?.inWindow} entries in the window`],
    [fpmLogFile, 'fpmLog', () => `${evidence.fpmLog?.inWindow} events in the window`],
    [slowFile, 'slowLog', () => `${evidence.slowLog?.inWindow} entries in the window`],
  ];
  for (const [file, source, counted] of zoneless) {
    if (!file) continue;
    const sink = logSink(source, { window, tzOffsetMinutes: offset });
    const bytes = await streamFile(file.path, sink.push);
    sink.finish(evidence);
    sources.push(readStatus(file, bytes, `${counted()}; ${zoneNote}`));
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
    until: input.window.kind === 'since' && input.window.until !== null,
  });
}

type LogFiles = { access: Readable | null; format: CompiledFormat | null; error: Readable | null; fpmLog: Readable | null; offset: number };

/**
 * The zone the zone-less logs were written in: --tz, else the offset nginx wrote into the access log
 * (same host, same clock), else this machine's (right when the logs were written here).
 */
async function logZone(tz: string | undefined, access: Readable | null): Promise<{ offset: number; from: string }> {
  if (tz !== undefined) return { offset: parseZoneOption(tz), from: `--tz ${tz}` };
  const fromAccess = access ? await accessOffset(access) : null;
  if (fromAccess !== null) return { offset: fromAccess, from: "the access log's offset" };
  return { offset: -new Date().getTimezoneOffset(), from: "this machine's zone; give --tz for logs from another host" };
}

async function accessOffset(access: Readable): Promise<number | null> {
  return accessLogOffset(await tailLines(access.path, 64 * 1024));
}

/** `Z`, `UTC`, `+05:30`, `-0330`, or an IANA zone (its offset now: a window across a DST change is off by the change). */
export function parseZoneOption(text: string): number {
  const trimmed = text.trim();
  if (/^(z|utc|gmt)$/i.test(trimmed)) return 0;
  const offset = parseUtcOffset(trimmed);
  if (offset !== null) return offset;
  try {
    const name = new Intl.DateTimeFormat('en-US', { timeZone: trimmed, timeZoneName: 'longOffset' }).formatToParts(new Date()).find((p) => p.type === 'timeZoneName')?.value ?? '';
    const m = /GMT([+-]\d{2}:\d{2})?/.exec(name);
    if (m) return m[1] ? parseUtcOffset(m[1])! : 0;
  } catch {
    // not a zone Intl knows: the usage error below says what is accepted
  }
  throw new UsageError(`--tz "${trimmed.slice(0, 40)}" is not a zone: use an offset (+05:30, -0330, Z) or an IANA name (Europe/Berlin).`);
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

/** --log-format wins; else the format nginx.conf names for this access log; else `combined`. */
function chooseLogFormat(option: string | undefined, accessPath: string | undefined, nginx: NginxConfig | undefined): { spec: string; from: 'option' | 'nginx-config' | 'default' } {
  if (option !== undefined) return { spec: option, from: 'option' };
  if (nginx && nginx.accessLogs.length > 0) {
    const base = accessPath?.split('/').pop();
    const log = nginx.accessLogs.find((l) => l.path === accessPath) ?? nginx.accessLogs.find((l) => base !== undefined && l.path.split('/').pop() === base) ?? nginx.accessLogs.find((l) => !l.syslog);
    const format = log ? nginx.logFormats[log.format] : undefined;
    if (format) return { spec: logFormatSpec(format.format, format.escape), from: 'nginx-config' };
  }
  return { spec: 'combined', from: 'default' };
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
async function resolveWindow(request: WindowRequest, files: LogFiles): Promise<Window> {
  if (request.kind === 'all') return {};
  if (request.kind === 'range') return { from: request.from, to: request.to };
  const until = request.until;
  if (until && 'at' in until) return request.ms === null ? { to: until.at } : { from: until.at - request.ms, to: until.at };
  const newest = await newestEntry(files);
  if (newest === null) return {};
  // Without --until the window ends just past the newest entry, so it includes it.
  const to = until ? newest - until.agoMs : newest + 1;
  const from = until ? to - (request.ms ?? Infinity) : newest - (request.ms ?? Infinity);
  return Number.isFinite(from) ? { from, to } : { to };
}

/** The time of the newest entry in the files; null when no line has a time. */
async function newestEntry(files: LogFiles): Promise<number | null> {
  let newest = -Infinity;
  if (files.access && files.format) {
    const analyzer = createAccessAnalyzer({ format: files.format });
    for (const line of await tailLines(files.access.path)) analyzer.push(line);
    newest = Math.max(newest, analyzer.result().lastTime ?? -Infinity);
  }
  if (files.error) {
    for (const line of await tailLines(files.error.path)) newest = Math.max(newest, parseErrorEntry(line, files.offset)?.time ?? -Infinity);
  }
  if (files.fpmLog) {
    for (const line of await tailLines(files.fpmLog.path)) newest = Math.max(newest, parseFpmLogLine(line, files.offset)?.time ?? -Infinity);
  }
  return Number.isFinite(newest) ? newest : null;
}
