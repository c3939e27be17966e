import { describe, expect, it } from 'vitest';
import { parseErrorEntry, type ErrorKind } from '../../../src/analyze/errorlog/index.js';

// One case per message template of reference section 1.3 (exact wording), wrapped in a realistic header/tail.
const SOCK = 'fastcgi://unix:/run/php/php8.2-fpm.sock:';
const TCP = 'fastcgi://127.0.0.1:9000';

function line(level: string, message: string, upstream: string | null = SOCK, request = 'GET /slow.php HTTP/1.1'): string {
  const up = upstream === null ? '' : `, upstream: "${upstream}"`;
  return `2026/11/25 10:00:01 [${level}] 1234#1234: *55 ${message}, client: 127.0.0.1, server: localhost, request: "${request}"${up}, host: "localhost"`;
}

interface Case {
  row: string;
  level: string;
  message: string;
  kind: ErrorKind;
  status: number | null;
  action: string | null;
  errno?: number | null;
  upstream?: string | null;
}

const CASES: Case[] = [
  {
    row: '1',
    level: 'crit',
    message: 'connect() to unix:/run/php/php8.2-fpm.sock failed (2: No such file or directory) while connecting to upstream',
    kind: 'connect_enoent',
    status: 502,
    action: 'connecting to upstream',
    errno: 2,
  },
  {
    row: '2',
    level: 'crit',
    message: 'connect() to unix:/run/php/php8.2-fpm.sock failed (13: Permission denied) while connecting to upstream',
    kind: 'connect_eacces',
    status: 502,
    action: 'connecting to upstream',
    errno: 13,
  },
  {
    row: '3 sync',
    level: 'error',
    message: 'connect() to 127.0.0.1:9000 failed (111: Connection refused) while connecting to upstream',
    kind: 'connect_refused',
    status: 502,
    action: 'connecting to upstream',
    errno: 111,
    upstream: TCP,
  },
  {
    row: '3 async',
    level: 'error',
    message: 'connect() failed (111: Connection refused) while connecting to upstream',
    kind: 'connect_refused',
    status: 502,
    action: 'connecting to upstream',
    errno: 111,
    upstream: TCP,
  },
  {
    row: '4',
    level: 'error',
    message: 'connect() to unix:/run/php/php8.2-fpm.sock failed (11: Resource temporarily unavailable) while connecting to upstream',
    kind: 'connect_eagain',
    status: 502,
    action: 'connecting to upstream',
    errno: 11,
  },
  {
    row: '5 113',
    level: 'error',
    message: 'connect() failed (113: No route to host) while connecting to upstream',
    kind: 'connect_unreachable',
    status: 502,
    action: 'connecting to upstream',
    errno: 113,
    upstream: 'fastcgi://10.0.0.5:9000',
  },
  {
    row: '5 101',
    level: 'error',
    message: 'connect() failed (101: Network is unreachable) while connecting to upstream',
    kind: 'connect_unreachable',
    status: 502,
    action: 'connecting to upstream',
    errno: 101,
    upstream: 'fastcgi://10.0.0.5:9000',
  },
  {
    row: '6',
    level: 'error',
    message: 'connect() failed (110: Connection timed out) while connecting to upstream',
    kind: 'connect_etimedout',
    status: 502,
    action: 'connecting to upstream',
    errno: 110,
    upstream: TCP,
  },
  {
    row: '7',
    level: 'error',
    message: 'upstream timed out (110: Connection timed out) while connecting to upstream',
    kind: 'timeout_connect',
    status: 504,
    action: 'connecting to upstream',
    errno: 110,
    upstream: TCP,
  },
  {
    row: '8',
    level: 'error',
    message: 'upstream timed out (110: Connection timed out) while sending request to upstream',
    kind: 'timeout_send',
    status: 504,
    action: 'sending request to upstream',
    errno: 110,
  },
  {
    row: '9',
    level: 'error',
    message: 'upstream timed out (110: Connection timed out) while reading response header from upstream',
    kind: 'timeout_read_header',
    status: 504,
    action: 'reading response header from upstream',
    errno: 110,
  },
  { row: '10', level: 'error', message: 'upstream timed out (110: Connection timed out) while reading upstream', kind: 'timeout_read', status: null, action: 'reading upstream', errno: 110 },
  {
    row: '11',
    level: 'error',
    message: 'upstream prematurely closed connection while reading response header from upstream',
    kind: 'premature_close',
    status: 502,
    action: 'reading response header from upstream',
    errno: null,
  },
  {
    row: '12',
    level: 'error',
    message: 'recv() failed (104: Connection reset by peer) while reading response header from upstream',
    kind: 'reset_by_peer',
    status: 502,
    action: 'reading response header from upstream',
    errno: 104,
  },
  {
    row: '13 EPIPE',
    level: 'error',
    message: 'writev() failed (32: Broken pipe) while sending request to upstream',
    kind: 'broken_pipe',
    status: 502,
    action: 'sending request to upstream',
    errno: 32,
  },
  {
    row: '13 writev reset',
    level: 'error',
    message: 'writev() failed (104: Connection reset by peer) while sending request to upstream',
    kind: 'reset_by_peer',
    status: 502,
    action: 'sending request to upstream',
    errno: 104,
  },
  {
    row: '13 readv body',
    level: 'error',
    message: 'readv() failed (104: Connection reset by peer) while reading upstream',
    kind: 'reset_by_peer',
    status: null,
    action: 'reading upstream',
    errno: 104,
  },
  {
    row: '14',
    level: 'error',
    message: 'upstream prematurely closed FastCGI stdout while reading response header from upstream',
    kind: 'premature_fastcgi_stdout',
    status: 502,
    action: 'reading response header from upstream',
  },
  { row: '15 stdout', level: 'error', message: 'upstream prematurely closed FastCGI stdout while reading upstream', kind: 'premature_fastcgi_stdout', status: null, action: 'reading upstream' },
  { row: '15 request', level: 'error', message: 'upstream prematurely closed FastCGI request while reading upstream', kind: 'premature_fastcgi_stdout', status: null, action: 'reading upstream' },
  {
    row: '16',
    level: 'error',
    message: 'upstream sent too big header while reading response header from upstream',
    kind: 'too_big_header',
    status: 502,
    action: 'reading response header from upstream',
  },
  {
    row: '17',
    level: 'error',
    message: 'upstream sent invalid header: "X-Powered-By: PHP\\x0d..." while reading response header from upstream',
    kind: 'invalid_header',
    status: 502,
    action: 'reading response header from upstream',
  },
  {
    row: '17 old',
    level: 'error',
    message: 'upstream sent invalid header while reading response header from upstream',
    kind: 'invalid_header',
    status: 502,
    action: 'reading response header from upstream',
  },
  {
    row: '18',
    level: 'error',
    message: 'upstream sent invalid status "abc" while reading response header from upstream',
    kind: 'invalid_header',
    status: 502,
    action: 'reading response header from upstream',
  },
  {
    row: '19 record',
    level: 'error',
    message: 'upstream sent unexpected FastCGI record: 3 while reading response header from upstream',
    kind: 'invalid_header',
    status: 502,
    action: 'reading response header from upstream',
    upstream: TCP,
  },
  {
    row: '19 version',
    level: 'error',
    message: 'upstream sent unsupported FastCGI protocol version: 72 while reading response header from upstream',
    kind: 'invalid_header',
    status: 502,
    action: 'reading response header from upstream',
    upstream: TCP,
  },
  {
    row: '19 type',
    level: 'error',
    message: 'upstream sent invalid FastCGI record type: 9 while reading response header from upstream',
    kind: 'invalid_header',
    status: 502,
    action: 'reading response header from upstream',
    upstream: TCP,
  },
  {
    row: '19 id',
    level: 'error',
    message: 'upstream sent unexpected FastCGI request id high byte: 1 while reading response header from upstream',
    kind: 'invalid_header',
    status: 502,
    action: 'reading response header from upstream',
    upstream: TCP,
  },
  { row: '20', level: 'error', message: 'no live upstreams while connecting to upstream', kind: 'no_live_upstreams', status: 502, action: 'connecting to upstream', upstream: 'fastcgi://php_backend' },
  {
    row: '20 warn',
    level: 'warn',
    message: 'upstream server temporarily disabled while connecting to upstream',
    kind: 'upstream_disabled',
    status: null,
    action: 'connecting to upstream',
    upstream: TCP,
  },
  {
    row: '21',
    level: 'error',
    message: 'FastCGI sent in stderr: "Primary script unknown" while reading response header from upstream',
    kind: 'primary_script_unknown',
    status: 404,
    action: 'reading response header from upstream',
  },
  {
    row: '22 404',
    level: 'error',
    message: 'FastCGI sent in stderr: "Unable to open primary script: /var/www/x.php (No such file or directory)" while reading response header from upstream',
    kind: 'script_open_failed',
    status: 404,
    action: 'reading response header from upstream',
  },
  {
    row: '22 403',
    level: 'error',
    message: 'FastCGI sent in stderr: "Unable to open primary script: /var/www/x.php (Permission denied)" while reading response header from upstream',
    kind: 'script_open_failed',
    status: 403,
    action: 'reading response header from upstream',
  },
  {
    row: '23 memory',
    level: 'error',
    message:
      'FastCGI sent in stderr: "PHP message: PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted (tried to allocate 20480 bytes) in /var/www/x.php on line 12" while reading response header from upstream',
    kind: 'php_fatal',
    status: 500,
    action: 'reading response header from upstream',
  },
  {
    row: '23 max_execution_time',
    level: 'error',
    message: 'FastCGI sent in stderr: "PHP message: PHP Fatal error:  Maximum execution time of 30 seconds exceeded in /var/www/x.php on line 3" while reading response header from upstream',
    kind: 'php_fatal',
    status: 500,
    action: 'reading response header from upstream',
  },
  {
    row: '23 warning only',
    level: 'error',
    message: 'FastCGI sent in stderr: "PHP message: PHP Warning:  Undefined variable $x in /var/www/x.php on line 3" while reading response header from upstream',
    kind: 'fastcgi_stderr',
    status: null,
    action: 'reading response header from upstream',
  },
  {
    row: '24',
    level: 'error',
    message: 'upstream sent no valid HTTP/1.0 header while reading response header from upstream',
    kind: 'invalid_header',
    status: 502,
    action: 'reading response header from upstream',
    upstream: 'http://10.0.0.5:8080/api/x?y=1',
  },
  {
    row: '25',
    level: 'error',
    message: 'upstream sent invalid chunked response while reading upstream',
    kind: 'invalid_header',
    status: null,
    action: 'reading upstream',
    upstream: 'http://10.0.0.5:8080/api/x?y=1',
  },
  {
    row: '26',
    level: 'info',
    message: 'client prematurely closed connection, so upstream connection is closed too while reading response header from upstream',
    kind: 'client_closed',
    status: 499,
    action: 'reading response header from upstream',
  },
  {
    row: '26 epoll',
    level: 'info',
    message: 'epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too while sending request to upstream',
    kind: 'client_closed',
    status: 499,
    action: 'sending request to upstream',
  },
  { row: '26 body', level: 'info', message: 'client prematurely closed connection while sending to client', kind: 'client_closed', status: null, action: 'sending to client' },
  {
    row: '27',
    level: 'warn',
    message: 'an upstream response is buffered to a temporary file /var/cache/nginx/fastcgi_temp/1/00/0000000001 while reading upstream',
    kind: 'upstream_buffered',
    status: null,
    action: 'reading upstream',
  },
];

describe('nginx error.log message templates (reference 1.3)', () => {
  for (const c of CASES) {
    it(`row ${c.row}: ${c.kind}`, () => {
      const upstream = c.upstream === undefined ? SOCK : c.upstream;
      const e = parseErrorEntry(line(c.level, c.message, upstream), 0);
      expect(e).not.toBeNull();
      expect(e!.kind).toBe(c.kind);
      expect(e!.status).toBe(c.status);
      expect(e!.action).toBe(c.action);
      expect(e!.level).toBe(c.level);
      expect(e!.cid).toBe(55);
      expect(e!.upstream).toBe(upstream);
      expect(e!.request).toBe('GET /slow.php HTTP/1.1');
      expect(e!.client).toBe('127.0.0.1');
      expect(e!.server).toBe('localhost');
      expect(e!.host).toBe('localhost');
      if (c.errno !== undefined) expect(e!.errno).toBe(c.errno);
    });
  }

  it('parses header fields and time with an explicit offset', () => {
    const e = parseErrorEntry(line('error', CASES[10]!.message), 60)!;
    expect(e.time).toBe(Date.UTC(2026, 10, 25, 9, 0, 1));
    expect(e.pid).toBe(1234);
    expect(e.tid).toBe(1234);
    expect(e.errnoText).toBe('Connection timed out');
    expect(e.message).toBe('upstream timed out');
  });

  it('defaults to the process local zone', () => {
    const e = parseErrorEntry(line('error', CASES[10]!.message))!;
    expect(e.time).toBe(new Date(2026, 10, 25, 10, 0, 1).getTime());
  });

  it('accepts TID 0 and entries without a connection id', () => {
    const e = parseErrorEntry('2026/11/25 10:00:01 [notice] 54053#0: signal process started', 0)!;
    expect(e.tid).toBe(0);
    expect(e.cid).toBeNull();
    expect(e.kind).toBe('other');
    expect(e.message).toBe('signal process started');
  });

  it('keeps referrer and subrequest and survives quotes inside the raw request line', () => {
    const raw =
      '2026/11/25 10:00:01 [error] 1#1: *7 upstream prematurely closed connection while reading response header from upstream, ' +
      'client: 10.1.2.3, server: shop.example, request: "GET /a"b?q=, client: 6.6.6.6, server: evil" HTTP/1.1", subrequest: "/ssi", ' +
      'upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "shop.example", referrer: "https://x.example/?a="q""';
    const e = parseErrorEntry(raw, 0)!;
    expect(e.kind).toBe('premature_close');
    expect(e.client).toBe('10.1.2.3');
    expect(e.server).toBe('shop.example');
    expect(e.request).toBe('GET /a"b?q=, client: 6.6.6.6, server: evil" HTTP/1.1');
    expect(e.host).toBe('shop.example');
    expect(e.referrer).toBe('https://x.example/?a="q"');
    expect(e.upstream).toBe('fastcgi://unix:/run/php/php8.2-fpm.sock:');
  });

  it('handles an entry truncated at 2048 bytes (no tail, `...` before errno)', () => {
    const raw = `2026/11/25 10:00:01 [error] 1#1: *7 FastCGI sent in stderr: "PHP message: ${'x'.repeat(1900)}...`;
    const e = parseErrorEntry(raw, 0)!;
    expect(e.kind).toBe('fastcgi_stderr');
    expect(e.client).toBeNull();
    expect(e.action).toBeNull();
  });

  it('real nginx 1.22 line: read-header timeout prints the unix upstream without trailing colon', () => {
    const raw =
      '2026/11/25 16:42:58 [error] 13071#13071: *38 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 127.0.0.1, server: localhost, request: "GET /short?ms=1500 HTTP/1.1", upstream: "fastcgi://unix:/run/lab/fpm.sock", host: "127.0.0.1:19730"';
    const e = parseErrorEntry(raw, 0)!;
    expect(e.kind).toBe('timeout_read_header');
    expect(e.upstream).toBe('fastcgi://unix:/run/lab/fpm.sock');
    expect(e.host).toBe('127.0.0.1:19730');
  });

  it('rejects impossible dates', () => {
    expect(parseErrorEntry('2026/13/45 99:00:00 [error] 1#1: *1 x', 0)).toBeNull();
  });
});
