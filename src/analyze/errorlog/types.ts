import type { Window } from '../window.js';

/**
 * Stable classification of one nginx error.log entry. The strings are part of the bot's
 * vocabulary (runbooks, chat output, joins with the access log), so never rename one.
 */
export type ErrorKind =
  | 'connect_enoent' // connect() ... (2: No such file or directory): socket file missing
  | 'connect_eacces' // (13: Permission denied): socket perms / SELinux
  | 'connect_refused' // (111: Connection refused): nothing listening
  | 'connect_eagain' // (11: Resource temporarily unavailable): unix socket backlog full
  | 'connect_unreachable' // (113: No route to host) / (101: Network is unreachable) / host/net down
  | 'connect_etimedout' // connect() failed (110: ...): kernel-reported, not nginx's timer
  | 'connect_other' // connect() failed with any other errno
  | 'timeout_connect' // upstream timed out ... while connecting to upstream
  | 'timeout_send' // ... while sending request to upstream
  | 'timeout_read_header' // ... while reading response header from upstream
  | 'timeout_read' // ... while reading upstream (after headers: truncated response)
  | 'premature_close' // upstream prematurely closed connection
  | 'reset_by_peer' // recv()/readv()/writev() failed (104: Connection reset by peer)
  | 'broken_pipe' // writev()/send() failed (32: Broken pipe)
  | 'io_error' // other recv()/writev()... failure towards the upstream
  | 'premature_fastcgi_stdout' // upstream prematurely closed FastCGI stdout / FastCGI request
  | 'too_big_header' // upstream sent too big header
  | 'invalid_header' // invalid header/status, bad FastCGI record, no valid HTTP header, bad chunking
  | 'no_live_upstreams'
  | 'upstream_disabled' // [warn] upstream server temporarily disabled
  | 'primary_script_unknown' // FastCGI stderr "Primary script unknown" -> 404
  | 'script_open_failed' // FastCGI stderr "Unable to open primary script" -> 404/403
  | 'php_fatal' // FastCGI stderr with PHP Fatal/Parse error
  | 'fastcgi_stderr' // any other FastCGI stderr (warnings, notices, error_log())
  | 'client_closed' // 499 family: client gave up / client-side I/O errors
  | 'upstream_buffered' // [warn] an upstream response is buffered to a temporary file
  | 'other';

export interface ErrorLogOptions {
  window?: Window;
  /** Local minus UTC in minutes (CET = 60). Default: this process's zone. */
  tzOffsetMinutes?: number;
}

/** One logical entry (continuation lines already joined with "\n"). */
export interface ErrorEntry {
  time: number;
  level: string;
  pid: number;
  tid: number;
  /** nginx connection serial, equal to the access log's $connection. */
  cid: number | null;
  /** Message without errno, action and the `, client: ...` tail. */
  message: string;
  errno: number | null;
  errnoText: string | null;
  /** The `while ...` part, e.g. "reading response header from upstream". */
  action: string | null;
  kind: ErrorKind;
  /** HTTP status nginx answers with because of this entry; null when the response status is not decided by it. */
  status: number | null;
  client: string | null;
  server: string | null;
  request: string | null;
  upstream: string | null;
  host: string | null;
  referrer: string | null;
  /** FastCGI stderr payload (verbatim, quotes stripped), when present. */
  stderr: string | null;
  raw: string;
}

export interface ErrorSignature {
  kind: ErrorKind;
  status: number | null;
  count: number;
  firstSeen: number;
  lastSeen: number;
  upstreams: string[];
  actions: string[];
  samples: string[];
}

export interface PhpMessageCount {
  message: string;
  count: number;
}

export interface ErrorLogStats {
  /** Physical lines seen. */
  lines: number;
  /** Logical entries parsed (in and outside the window). */
  entries: number;
  inWindow: number;
  outsideWindow: number;
  /** Physical lines that belong to no parseable entry. */
  unparsed: number;
  unparsedSamples: string[];
  byLevel: Record<string, number>;
  signatures: ErrorSignature[];
  /** cid -> most telling kind for that connection (in-window, capped). */
  connections: Record<string, ErrorKind>;
  /** True when `connections` hit its cap and later connections were not recorded. */
  connectionsTruncated: boolean;
  phpMessages: PhpMessageCount[];
}
