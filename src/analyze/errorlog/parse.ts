import { classifyErrorMessage, statusFor } from './classify.js';
import { localTimeToEpoch, MAX_LINE_LENGTH } from './localtime.js';
import type { ErrorEntry } from './types.js';

/** Start of a new entry (reference 1.1): anything else is a continuation of FastCGI stderr. */
export const ENTRY_START_RE = /^\d{4}\/\d{2}\/\d{2} /;

const HEADER_RE = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) \[([a-z]+)\] (\d+)#(\d+): (?:\*(\d+) )?/;

const STDERR_PREFIX = 'FastCGI sent in stderr: "';

interface Tail {
  client: string | null;
  server: string | null;
  request: string | null;
  subrequest: string | null;
  upstream: string | null;
  host: string | null;
  referrer: string | null;
}

// Trailing quoted fields in the order ngx_http_log_error_handler appends them; peeled from the end
// so that quotes inside the (raw, unescaped) request line cannot derail the split.
const QUOTED_TAIL_KEYS = ['referrer', 'host', 'upstream', 'subrequest'] as const;

const CLIENT_SERVER_RE = /, client: ([^\s,"]*), server: ([^\s,"]*)(?=, request: "|$)/g;

/** Split `MESSAGE, client: ..., server: ...[, request: "..."]...` into message and tail. Linear time. */
function splitTail(body: string): { message: string; tail: Tail } {
  const tail: Tail = {
    client: null,
    server: null,
    request: null,
    subrequest: null,
    upstream: null,
    host: null,
    referrer: null,
  };
  let rest = body;
  for (const key of QUOTED_TAIL_KEYS) {
    if (!rest.endsWith('"')) break;
    const marker = `, ${key}: "`;
    const idx = rest.lastIndexOf(marker);
    if (idx < 0) continue;
    tail[key] = rest.slice(idx + marker.length, -1);
    rest = rest.slice(0, idx);
  }
  // Leftmost `, client: X, server: Y` that is followed by nothing or by the request field.
  CLIENT_SERVER_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  let guard = 0;
  while ((m = CLIENT_SERVER_RE.exec(rest)) !== null && guard++ < 50) {
    const after = rest.slice(m.index + m[0].length);
    if (after === '') {
      tail.client = m[1]!;
      tail.server = m[2]!;
      return { message: rest.slice(0, m.index), tail };
    }
    const reqMarker = ', request: "';
    if (after.startsWith(reqMarker) && after.endsWith('"') && after.length > reqMarker.length) {
      tail.client = m[1]!;
      tail.server = m[2]!;
      tail.request = after.slice(reqMarker.length, -1);
      return { message: rest.slice(0, m.index), tail };
    }
  }
  // No recognisable tail (truncated at 2048 bytes, or a non-request entry): keep everything as message.
  return {
    message: body,
    tail: { client: null, server: null, request: null, subrequest: null, upstream: null, host: null, referrer: null },
  };
}

const ACTION_RE = /^[A-Za-z][A-Za-z0-9 _()-]{0,80}$/;

function splitAction(message: string): { core: string; action: string | null } {
  const idx = message.lastIndexOf(' while ');
  if (idx < 0) return { core: message, action: null };
  const action = message.slice(idx + 7);
  if (!ACTION_RE.test(action)) return { core: message, action: null };
  return { core: message.slice(0, idx), action };
}

/** Cheap check that a line opens a valid entry (header shape and a real date). */
export function isErrorEntryHeader(line: string): boolean {
  const h = HEADER_RE.exec(line);
  if (!h) return false;
  return localTimeToEpoch(Number(h[1]), Number(h[2]) - 1, Number(h[3]), Number(h[4]), Number(h[5]), Number(h[6]), 0, 0) !== null;
}

/**
 * Parse one logical entry (physical lines already joined with "\n"). Returns null when the header is
 * not nginx's; the message part is never rejected because FastCGI stderr may contain anything.
 */
export function parseErrorEntry(raw: string, tzOffsetMinutes?: number): ErrorEntry | null {
  if (raw.length > MAX_LINE_LENGTH) return null;
  const h = HEADER_RE.exec(raw);
  if (!h) return null;
  const time = localTimeToEpoch(Number(h[1]), Number(h[2]) - 1, Number(h[3]), Number(h[4]), Number(h[5]), Number(h[6]), 0, tzOffsetMinutes);
  if (time === null) return null;
  const body = raw.slice(h[0].length);
  const { message: withAction, tail } = splitTail(body);
  const { core: withErrno, action } = splitAction(withAction);

  let stderr: string | null = null;
  let message = withErrno;
  let errno: number | null = null;
  let errnoText: string | null = null;
  const stderrAt = withErrno.indexOf(STDERR_PREFIX);
  if (stderrAt >= 0 && stderrAt < 40) {
    // e.g. `FastCGI sent in stderr: "..."`; the payload is verbatim, so only the outer quotes are stripped.
    let payload = withErrno.slice(stderrAt + STDERR_PREFIX.length);
    if (payload.endsWith('"')) payload = payload.slice(0, -1);
    stderr = payload;
    message = withErrno.slice(0, stderrAt + STDERR_PREFIX.length - 3);
  } else {
    const e = / \((\d{1,5}): ([^()]*)\)$/.exec(withErrno);
    if (e) {
      errno = Number(e[1]);
      errnoText = e[2]!;
      message = withErrno.slice(0, e.index).replace(/\.\.\.$/, '');
    }
  }
  const kind = classifyErrorMessage(message, errno, action, stderr);
  const pidNum = Number(h[8]);
  const tidNum = Number(h[9]);
  return {
    time,
    level: h[7]!,
    pid: Number.isSafeInteger(pidNum) ? pidNum : -1,
    tid: Number.isSafeInteger(tidNum) ? tidNum : -1,
    cid: h[10] !== undefined && Number.isSafeInteger(Number(h[10])) ? Number(h[10]) : null,
    message,
    errno,
    errnoText,
    action,
    kind,
    status: statusFor(kind, action, stderr),
    client: tail.client,
    server: tail.server,
    request: tail.request,
    upstream: tail.upstream,
    host: tail.host,
    referrer: tail.referrer,
    stderr,
    raw,
  };
}
