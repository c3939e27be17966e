import type { ErrorKind } from './types.js';

// Actions after which the upstream's status line has already gone to the client: nginx can only cut
// the response short (UPS finalize turns 502/504 into NGX_ERROR), so the access log keeps e.g. 200.
const BODY_PHASE_ACTIONS = new Set(['reading upstream', 'sending to client', 'proxying upgraded connection']);

function isUpstreamAction(action: string | null): boolean {
  return action === null || /upstream/.test(action);
}

function isClientAction(action: string | null): boolean {
  return action !== null && !/upstream/.test(action) && /client|request|SSL handshaking|keepalive|lingering/i.test(action);
}

function connectKind(errno: number | null): ErrorKind {
  switch (errno) {
    case 2:
      return 'connect_enoent';
    case 13:
      return 'connect_eacces';
    case 111:
      return 'connect_refused';
    case 11:
      return 'connect_eagain';
    case 100: // ENETDOWN
    case 101: // ENETUNREACH
    case 112: // EHOSTDOWN
    case 113: // EHOSTUNREACH
      return 'connect_unreachable';
    case 110:
      return 'connect_etimedout';
    default:
      return 'connect_other';
  }
}

function timeoutKind(action: string | null): ErrorKind {
  switch (action) {
    case 'connecting to upstream':
    case 'SSL handshaking to upstream':
      return 'timeout_connect';
    case 'sending request to upstream':
      return 'timeout_send';
    case 'reading upstream':
    case 'proxying upgraded connection':
      return 'timeout_read';
    default:
      return 'timeout_read_header';
  }
}

function stderrKind(payload: string): ErrorKind {
  if (payload.includes('Primary script unknown')) return 'primary_script_unknown';
  if (payload.includes('Unable to open primary script')) return 'script_open_failed';
  if (/PHP (?:Fatal|Parse) error:/.test(payload)) return 'php_fatal';
  return 'fastcgi_stderr';
}

const INVALID_HEADER_RE =
  /^upstream sent (?:invalid header|invalid status|unexpected FastCGI|unsupported FastCGI|invalid FastCGI|no valid HTTP|invalid chunked|duplicate header|invalid response|invalid "Content-Length"|"Content-Length" and "Transfer-Encoding")/;

/**
 * Classify by message text (without errno / action / tail). Order matters: stderr payloads can quote
 * any other template, so they are decided first by the caller passing `stderr`.
 */
export function classifyErrorMessage(message: string, errno: number | null, action: string | null, stderr: string | null): ErrorKind {
  if (stderr !== null) return stderrKind(stderr);
  if (message.startsWith('connect() ')) return connectKind(errno);
  if (message.startsWith('upstream timed out')) return timeoutKind(action);
  if (/client prematurely closed|client closed prematurely/.test(message)) return 'client_closed';
  if (message.startsWith('upstream prematurely closed connection')) return 'premature_close';
  if (message.startsWith('upstream prematurely closed FastCGI')) return 'premature_fastcgi_stdout';
  if (message.startsWith('upstream sent too big header')) return 'too_big_header';
  if (INVALID_HEADER_RE.test(message)) return 'invalid_header';
  if (message.startsWith('no live upstreams')) return 'no_live_upstreams';
  if (message.startsWith('upstream server temporarily disabled')) return 'upstream_disabled';
  if (message.startsWith('an upstream response is buffered to a temporary file')) return 'upstream_buffered';
  const io = /^(recv|readv|read|recvmsg|writev|write|send|sendfile|sendmsg|SSL_read|SSL_write)\(\) failed/.exec(message);
  if (io) {
    if (isClientAction(action)) return 'client_closed';
    if (!isUpstreamAction(action)) return 'other';
    if (errno === 104) return 'reset_by_peer';
    if (errno === 32) return 'broken_pipe';
    return 'io_error';
  }
  return 'other';
}

/** HTTP status nginx sends because of this entry, or null when the response status is not decided by it. */
export function statusFor(kind: ErrorKind, action: string | null, stderr: string | null): number | null {
  const bodyPhase = action !== null && BODY_PHASE_ACTIONS.has(action);
  switch (kind) {
    case 'timeout_connect':
    case 'timeout_send':
    case 'timeout_read_header':
      return bodyPhase ? null : 504;
    case 'timeout_read':
    case 'upstream_disabled':
    case 'upstream_buffered':
    case 'fastcgi_stderr':
    case 'other':
      return null;
    case 'primary_script_unknown':
      return 404;
    case 'script_open_failed':
      // fpm_main.c: EACCES -> 403 "Access denied.", anything else -> 404 "No input file specified."
      return stderr !== null && /\(Permission denied\)|\(13\)/.test(stderr) ? 403 : 404;
    case 'php_fatal':
      // PHP's own 500 (display_errors=Off, nothing sent yet); nginx passes it through.
      return action === 'reading response header from upstream' ? 500 : null;
    case 'client_closed':
      return action !== null && /upstream/.test(action) && !bodyPhase ? 499 : null;
    default:
      return bodyPhase ? null : 502;
  }
}

/** Higher wins when several entries share one connection; the cause of a 502/504 outranks warnings around it. */
export function kindRank(kind: ErrorKind): number {
  switch (kind) {
    case 'other':
    case 'upstream_buffered':
      return 0;
    case 'upstream_disabled':
    case 'fastcgi_stderr':
      return 1;
    case 'client_closed':
      return 2;
    default:
      return 3;
  }
}
