import { describe, expect, it } from 'vitest';
import { analyzeAccessLines, BUILTIN_FORMATS, compileLogFormat, createAccessAnalyzer, parseAccessLine } from '../../../src/analyze/access/index.js';

const COMBINED_VARS = ['remote_addr', 'remote_user', 'time_local', 'request', 'status', 'body_bytes_sent', 'http_referer', 'http_user_agent'];

describe('compileLogFormat', () => {
  it('expands the built-in names', () => {
    expect(BUILTIN_FORMATS.upstream).toBe(
      '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" ' +
        'rt=$request_time uct="$upstream_connect_time" uht="$upstream_header_time" urt="$upstream_response_time" ' +
        'uaddr="$upstream_addr" ustatus="$upstream_status"',
    );
    const combined = compileLogFormat('combined');
    expect(combined.format).toBe(BUILTIN_FORMATS.combined);
    expect(combined.variables).toEqual(COMBINED_VARS);
    expect(combined.timeVariable).toBe('time_local');
    expect(combined.hasUpstream).toBe(false);
    expect(combined.hasConnection).toBe(false);
    const upstream = compileLogFormat(' upstream ');
    expect(upstream.variables).toEqual([...COMBINED_VARS, 'request_time', 'upstream_connect_time', 'upstream_header_time', 'upstream_response_time', 'upstream_addr', 'upstream_status']);
    expect(upstream.hasUpstream).toBe(true);
    expect(upstream.escape).toBe('default');
  });

  it('concatenates several quoted strings like nginx, with nginx.conf escapes', () => {
    const spec = `'$remote_addr - $remote_user [$time_local] '\n    '"$request" $status $body_bytes_sent '\n` + `    "\\"$http_referer\\" \\"$http_user_agent\\"";`;
    const f = compileLogFormat(spec);
    expect(f.format).toBe(BUILTIN_FORMATS.combined);
    expect(f.variables).toEqual(COMBINED_VARS);
  });

  it('accepts a bare (unquoted) format text, also one that merely starts with a quote', () => {
    expect(compileLogFormat('$remote_addr [$time_iso8601] $status').variables).toEqual(['remote_addr', 'time_iso8601', 'status']);
    const f = compileLogFormat('"$request" $status $connection');
    expect(f.format).toBe('"$request" $status $connection');
    expect(f.variables).toEqual(['request', 'status', 'connection']);
  });

  it('supports ${var}, case-insensitive names, and escape= before the strings', () => {
    const f = compileLogFormat("escape=none '${remote_addr}|${Status}|${request_time}ms'");
    expect(f.escape).toBe('none');
    expect(f.variables).toEqual(['remote_addr', 'status', 'request_time']);
    const e = parseAccessLine(f, '1.2.3.4|504|60.001ms');
    expect(e?.status).toBe(504);
    expect(e?.requestTime).toBe(60.001);
    expect(e?.fields.remote_addr).toBe('1.2.3.4');
  });

  it('rejects malformed specs loudly', () => {
    expect(() => compileLogFormat("'$ x'")).toThrow(/invalid variable/);
    expect(() => compileLogFormat("'${status'")).toThrow(/closing bracket/);
    expect(() => compileLogFormat("escape=xml '$status'")).toThrow(/escape=xml/);
    expect(() => compileLogFormat("''")).toThrow(/empty/);
    expect(() => compileLogFormat("'no variables here'")).toThrow(/no variables/);
  });
});

describe('parseAccessLine', () => {
  it('decodes a combined line', () => {
    const e = parseAccessLine('combined', '203.0.113.9 - alice [28/Sep/1970:12:00:00 +0600] "GET /shop/cart.php?id=7&x=1 HTTP/1.1" 502 157 "-" "curl/8.5.0"');
    expect(e).not.toBeNull();
    expect(e?.time).toBe(Date.UTC(1970, 8, 28, 6, 0, 0));
    expect(e?.method).toBe('GET');
    expect(e?.uri).toBe('/shop/cart.php');
    expect(e?.status).toBe(502);
    expect(e?.fields.remote_user).toBe('alice');
    expect(e?.fields.http_user_agent).toBe('curl/8.5.0');
    expect(e?.upstreams).toEqual([]);
  });

  it('handles negative offsets, a request line of "-", and rejects bad times', () => {
    const e = parseAccessLine('combined', '1.1.1.1 - - [01/Jan/2024:00:30:00 -0130] "-" 400 0 "-" "-"');
    expect(e?.time).toBe(Date.UTC(2024, 0, 1, 2, 0, 0));
    expect(e?.method).toBeNull();
    expect(e?.uri).toBeNull();
    expect(parseAccessLine('combined', '1.1.1.1 - - [31/Feb/2024:00:30:00 +0000] "-" 400 0 "-" "-"')).toBeNull();
    expect(parseAccessLine('combined', '1.1.1.1 - - [01/Foo/2024:00:30:00 +0000] "-" 400 0 "-" "-"')).toBeNull();
    expect(parseAccessLine('combined', '1.1.1.1 - - [01/Jan/2024:24:30:00 +0000] "-" 400 0 "-" "-"')).toBeNull();
    expect(parseAccessLine('combined', '1.1.1.1 - - [01/Jan/2024:00:30:00 +0000] "-" 40x 0 "-" "-"')).toBeNull();
  });

  it('decodes a custom format with $connection, $time_iso8601 and $msec', () => {
    const f = compileLogFormat('\'$time_iso8601 c=$connection $status "$request" $request_time\'');
    expect(f.hasConnection).toBe(true);
    expect(f.timeVariable).toBe('time_iso8601');
    const e = parseAccessLine(f, '1970-09-28T12:00:00+06:00 c=123456 504 "POST /api/v1/pay HTTP/2.0" 60.004');
    expect(e?.time).toBe(Date.UTC(1970, 8, 28, 6, 0, 0));
    expect(e?.connection).toBe(123456);
    expect(e?.method).toBe('POST');
    expect(e?.uri).toBe('/api/v1/pay');
    expect(e?.requestTime).toBe(60.004);
    // $msec wins over the second-resolution stamps when both are present.
    const m = compileLogFormat("'$msec [$time_local] $status'");
    expect(m.timeVariable).toBe('msec');
    expect(parseAccessLine(m, '1715680800.123 [14/May/2024:12:00:00 +0200] 200')?.time).toBe(1715680800123);
    expect(parseAccessLine(f, '1970-09-28T12:00:00Z c=1 200 "GET / HTTP/1.1" 0.000')?.time).toBe(Date.UTC(1970, 8, 28, 12));
  });

  it('keeps escape=json field splitting intact across \\" and \\\\', () => {
    const f = compileLogFormat(`escape=json '{"t":"$time_iso8601","s":$status,"u":"$request_uri","ua":"$http_user_agent",' '"a":"$upstream_addr","us":"$upstream_status","rt":$request_time}'`);
    expect(f.escape).toBe('json');
    const line = '{"t":"2024-05-14T10:00:00+00:00","s":502,"u":"/x?q=\\"1\\"","ua":"evil \\"agent\\" \\\\","a":"10.0.0.1:9000","us":"502","rt":0.003}';
    const e = parseAccessLine(f, line);
    expect(e).not.toBeNull();
    expect(e?.status).toBe(502);
    expect(e?.uri).toBe('/x');
    expect(e?.fields.http_user_agent).toBe('evil \\"agent\\" \\\\');
    expect(e?.upstreams).toEqual([{ addr: '10.0.0.1:9000', status: 502, connectTime: null, headerTime: null, responseTime: null }]);
    // json prints a missing value as an empty string, not "-".
    const empty = parseAccessLine(f, '{"t":"2024-05-14T10:00:00+00:00","s":200,"u":"/static.css","ua":"","a":"","us":"","rt":0.000}');
    expect(empty?.upstreams).toEqual([]);
    const stats = analyzeAccessLines([line, line], { format: f });
    expect(stats.parsed).toBe(2);
    expect(stats.count502).toBe(2);
    expect(stats.topFailingUris).toEqual([{ uri: '/x', count5xx: 2, count502: 2, count504: 0 }]);
  });

  it('treats \\xHH escapes (escape=default) as ordinary value bytes', () => {
    const line = '1.1.1.1 - - [14/May/2024:12:00:00 +0000] "GET /caf\\xC3\\xA9?a=\\x22 HTTP/1.1" 502 0 "-" "agent \\x22quoted\\x22"';
    const e = parseAccessLine('combined', line);
    expect(e?.uri).toBe('/caf\\xC3\\xA9');
    expect(e?.fields.http_user_agent).toBe('agent \\x22quoted\\x22');
  });

  it('agrees with the analyzer on which lines parse', () => {
    const good = '1.1.1.1 - - [14/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "x"';
    const bad = '1.1.1.1 - - [14/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "x';
    expect(parseAccessLine('combined', good)).not.toBeNull();
    expect(parseAccessLine('combined', bad)).toBeNull();
    const a = createAccessAnalyzer({ format: 'combined' });
    a.push(good);
    a.push(bad);
    const r = a.result();
    expect([r.parsed, r.unparsed]).toEqual([1, 1]);
    expect(r.unparsedReasons).toEqual({ shape: 1 });
    expect(r.unparsedSamples).toEqual([bad]);
  });
});
