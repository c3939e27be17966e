import { describe, expect, it } from 'vitest';
import { parseNginxT, type NginxConfig, type NginxLocation } from '../../../src/analyze/config/index.js';
import { fixture } from './helpers.js';

const P = '/tmp/badgateway-fixture/nginx-app';

function loc(cfg: NginxConfig, server: string, match: string, parent?: string): NginxLocation {
  const s = cfg.servers.find((x) => x.label === server);
  const l = s?.locations.find((x) => x.match === match && x.parent === parent);
  if (!l) throw new Error(`no ${server} location ${match}`);
  return l;
}

describe('parseNginxT on real `nginx -T` of the Debian default config', () => {
  const cfg = parseNginxT(fixture('nginx-debian-default.T.txt'));

  it('reads all dumped files, main settings and the default site through include globs', () => {
    expect(cfg.warnings).toEqual([]);
    expect(cfg.testOk).toBe(true);
    expect(cfg.messages).toEqual([]);
    expect(cfg.files).toEqual(['/etc/nginx/nginx.conf', '/etc/nginx/modules-enabled/50-mod-http-echo.conf', '/etc/nginx/mime.types', '/etc/nginx/sites-enabled/default']);
    expect(cfg.user).toEqual({ name: 'www-data' });
    expect(cfg.workerConnections).toBe(768);
    expect(cfg.workerRlimitNofile).toBeUndefined();
    expect(cfg.servers.map((s) => [s.label, s.listen, s.serverName])).toEqual([['server _:80', ['80', '[::]:80'], ['_']]]);
    // The commented-out PHP location must not appear.
    expect(cfg.servers[0]!.locations.map((l) => l.match)).toEqual(['/']);
    expect(cfg.servers[0]!.locations.some((l) => l.fastcgiPass !== undefined)).toBe(false);
  });

  it('lists logs with default format and level', () => {
    expect(cfg.accessLogs).toMatchObject([{ path: '/var/log/nginx/access.log', format: 'combined', context: 'http' }]);
    expect(cfg.errorLogs).toMatchObject([{ path: '/var/log/nginx/error.log', level: 'error', context: 'main' }]);
    expect(Object.keys(cfg.logFormats)).toEqual(['combined']);
  });

  it('fills nginx defaults where nothing is set', () => {
    const v = cfg.servers[0]!.locations[0]!.settings.values;
    expect(v.fastcgi_read_timeout).toBe(60);
    expect(v.fastcgi_connect_timeout).toBe(60);
    expect(v.proxy_read_timeout).toBe(60);
    expect(v.fastcgi_buffer_size).toBe(4096);
    expect(v.fastcgi_buffers).toEqual({ count: 8, size: 4096 });
    expect(v.fastcgi_next_upstream).toEqual(['error', 'timeout']);
    expect(cfg.servers[0]!.locations[0]!.settings.setAt).toEqual({});
    expect(cfg.notes.join()).toMatch(/4k on x86_64/);
  });

  it('is JSON-serialisable without loss', () => {
    expect(JSON.parse(JSON.stringify(cfg))).toEqual(cfg);
  });
});

describe('parseNginxT on real `nginx -T` of the fixture app config', () => {
  const cfg = parseNginxT(fixture('nginx-app.T.txt'));

  it('parses without warnings and in nginx dump order', () => {
    expect(cfg.warnings).toEqual([]);
    expect(cfg.testOk).toBe(true);
    expect(cfg.files).toEqual([`${P}/nginx.conf`, `${P}/snippets/buffers.conf`, `${P}/conf.d/a-legacy.conf`, `${P}/fastcgi_params`, `${P}/conf.d/app.conf`, `${P}/snippets/php.conf`]);
    expect(cfg.user).toEqual({ name: 'www-data', group: 'www-data' });
    expect(cfg.workerProcesses).toBe('2');
    expect(cfg.workerRlimitNofile).toBe(8192);
    expect(cfg.workerConnections).toBe(1024);
  });

  it('concatenates multi-part log_format strings exactly as nginx compiles them', () => {
    expect(cfg.logFormats.upstream_timing).toEqual({
      escape: 'default',
      format:
        '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" ' +
        'rt=$request_time uct="$upstream_connect_time" uht="$upstream_header_time" ' +
        'urt="$upstream_response_time" us=$upstream_status ua="$upstream_addr" cn=$connection',
    });
    expect(cfg.logFormats.json_log).toEqual({
      escape: 'json',
      format: '{"time":"$time_iso8601","status":$status,"upstream":"$upstream_addr","urt":"$upstream_response_time"}',
    });
    expect(cfg.logFormats.quoted!.format).toBe('q="$request"\tend');
    expect(cfg.logFormats.combined!.builtin).toBe(true);
  });

  it('collects access/error logs with context, skipping off and flagging syslog + if=', () => {
    expect(cfg.accessLogs.map((a) => [a.path, a.format, a.context, a.syslog ?? false, a.condition ?? null])).toEqual([
      ['logs/access.log', 'upstream_timing', 'http', false, null],
      ['logs/app.access.log', 'json_log', 'server app.example.test:8080', false, null],
      ['syslog:server=unix:/dev/log,tag=app', 'upstream_timing', 'server app.example.test:8080', true, '$loggable'],
    ]);
    expect(cfg.errorLogs.map((e) => [e.path, e.level, e.context])).toEqual([
      ['logs/error.log', 'warn', 'main'],
      ['logs/app.error.log', 'info', 'server app.example.test:8080'],
    ]);
  });

  it('labels servers by name and port, quoted server_name included', () => {
    expect(cfg.servers.map((s) => [s.label, s.serverName, s.listen])).toEqual([
      ['server legacy.example.test:8081', ['legacy.example.test'], ['8081']],
      ['server app.example.test:8080', ['app.example.test', 'www.app.example.test'], ['8080', '[::]:8080']],
    ]);
  });

  it('inherits http → server → location, including settings from included snippets', () => {
    const legacy = loc(cfg, 'server legacy.example.test:8081', '~ \\.php$');
    expect(legacy.settings.values.fastcgi_read_timeout).toBe(90); // http: 1m30s
    expect(legacy.settings.values.fastcgi_connect_timeout).toBe(5);
    expect(legacy.settings.values.fastcgi_buffer_size).toBe(8192); // snippets/buffers.conf
    expect(legacy.settings.values.fastcgi_buffers).toEqual({ count: 8, size: 8192 });
    expect(legacy.settings.setAt.fastcgi_buffer_size).toEqual({ context: 'http', file: `${P}/snippets/buffers.conf`, line: 1 });
    expect(legacy.fastcgiPass).toBe('unix:/run/php/php7.4-fpm.sock');

    const php = loc(cfg, 'server app.example.test:8080', '~ \\.php$');
    expect(php.settings.values.fastcgi_read_timeout).toBe(120); // server override
    expect(php.settings.setAt.fastcgi_read_timeout).toMatchObject({ context: 'server app.example.test:8080', line: 7 });
    expect(php.fastcgiPass).toBe('php_pool');
    // Set after the locations in the file, still merged into them.
    expect(php.settings.values.fastcgi_send_timeout).toBe(30);
  });

  it('handles nested locations with their own overrides', () => {
    const reports = loc(cfg, 'server app.example.test:8080', '^~ /reports/');
    expect(reports.modifier).toBe('^~');
    expect(reports.settings.values.fastcgi_read_timeout).toBe(300);
    const nested = loc(cfg, 'server app.example.test:8080', '~ \\.php$', '^~ /reports/');
    expect(nested.settings.values.fastcgi_read_timeout).toBe(300);
    expect(nested.settings.values.fastcgi_buffer_size).toBe(32768);
    expect(nested.settings.values.fastcgi_buffers).toEqual({ count: 16, size: 32768 });
    expect(nested.fastcgiPass).toBe('127.0.0.1:9001');
    expect(nested.label).toBe('server app.example.test:8080 location ~ \\.php$');
  });

  it('reads proxy settings and quoted regex locations', () => {
    const api = loc(cfg, 'server app.example.test:8080', '/api/');
    expect(api.proxyPass).toBe('http://127.0.0.1:9999/');
    expect(api.settings.values.proxy_read_timeout).toBe(120);
    expect(api.settings.values.proxy_connect_timeout).toBe(60);
    const img = loc(cfg, 'server app.example.test:8080', '~* \\.(?:png|jpe?g){1}$');
    expect(img.modifier).toBe('~*');
    expect(img.path).toBe('\\.(?:png|jpe?g){1}$');
  });

  it('reads upstream groups with server parameters and defaults', () => {
    expect(cfg.upstreams).toEqual([
      {
        name: 'php_pool',
        context: 'http',
        servers: [
          { address: '127.0.0.1:9001', weight: 1, maxFails: 3, failTimeout: 30, backup: false, down: false },
          { address: 'unix:/run/php/php8.2-fpm-app2.sock', weight: 1, maxFails: 1, failTimeout: 10, backup: true, down: false },
        ],
        keepalive: 8,
        file: `${P}/nginx.conf`,
        line: 31,
      },
    ]);
  });
});

describe('parseNginxT edge cases', () => {
  it('reports nginx stderr from a failed test and gives an empty but valid config', () => {
    const cfg = parseNginxT(fixture('nginx-bad.T.txt'));
    expect(cfg.testOk).toBe(false);
    expect(cfg.messages[0]).toMatch(/\[emerg\].*fastcgi_busy_buffers_size/);
    expect(cfg.servers).toEqual([]);
    expect(cfg.warnings).toEqual(['no nginx configuration found in input']);
  });

  it('accepts a bare nginx.conf without -T headers', () => {
    const cfg = parseNginxT('http { fastcgi_read_timeout 5m; server { listen 80; location ~ \\.php$ { fastcgi_pass 127.0.0.1:9000; } } }');
    expect(cfg.files).toEqual(['(input)']);
    expect(cfg.servers[0]!.locations[0]!.settings.values.fastcgi_read_timeout).toBe(300);
  });

  it('parses a pasted site file (server at top level) as if inside http, with a warning', () => {
    const cfg = parseNginxT('# configuration file /etc/nginx/sites-enabled/app:\nserver { listen 8080; fastcgi_read_timeout 10s; location / { fastcgi_pass unix:/run/php/php8.2-fpm.sock; } }\n');
    expect(cfg.servers[0]!.label).toBe('server _:8080');
    expect(cfg.servers[0]!.locations[0]!.settings.values.fastcgi_read_timeout).toBe(10);
    expect(cfg.warnings.join()).toMatch(/outside http/);
  });

  it('resolves relative and glob includes against the main file directory, each include inlined where it stands', () => {
    const text = [
      '# configuration file /x/nginx.conf:',
      'http { include inc/t.conf; server { listen 1; include inc/t.conf; location / { include inc/[s]*.conf; } } }',
      '# configuration file /x/inc/t.conf:',
      'fastcgi_read_timeout 7s;',
      '# configuration file /x/inc/sub.conf:',
      'fastcgi_pass 127.0.0.1:9000;',
      'fastcgi_send_timeout 3s;',
    ].join('\n');
    const cfg = parseNginxT(text);
    expect(cfg.warnings).toEqual([]);
    const l = cfg.servers[0]!.locations[0]!;
    expect(l.fastcgiPass).toBe('127.0.0.1:9000');
    expect(l.settings.values.fastcgi_send_timeout).toBe(3);
    expect(l.settings.setAt.fastcgi_read_timeout).toMatchObject({ context: 'server _:1', file: '/x/inc/t.conf' });
  });

  it('warns about includes whose file is missing from the dump, include cycles and unreached files', () => {
    const text = [
      '# configuration file /x/nginx.conf:',
      'http { include /x/missing.conf; include /x/a.conf; }',
      '# configuration file /x/a.conf:',
      'include /x/a.conf;',
      '# configuration file /x/orphan.conf:',
      'server { listen 9; }',
    ].join('\n');
    const cfg = parseNginxT(text);
    const w = cfg.warnings.join('\n');
    expect(w).toMatch(/missing\.conf is not in the dump/);
    expect(w).toMatch(/include cycle/);
    expect(w).toMatch(/orphan\.conf is not reached/);
    expect(cfg.servers.map((s) => s.label)).toEqual(['server _:9']);
  });

  it('warns on invalid durations/sizes and keeps the inherited value', () => {
    const cfg = parseNginxT('http { fastcgi_read_timeout 30s; server { fastcgi_read_timeout 1.5s; fastcgi_buffer_size 4kb; location / {} } }');
    expect(cfg.servers[0]!.locations[0]!.settings.values.fastcgi_read_timeout).toBe(30);
    expect(cfg.servers[0]!.locations[0]!.settings.values.fastcgi_buffer_size).toBe(4096);
    expect(cfg.warnings).toHaveLength(2);
  });

  it('reads stream upstreams separately and ignores mail/other blocks', () => {
    const cfg = parseNginxT('stream { upstream db { server 10.0.0.5:5432 down; } server { listen 15432; proxy_pass db; } } mail { server { listen 25; } }');
    expect(cfg.upstreams).toMatchObject([{ name: 'db', context: 'stream', servers: [{ address: '10.0.0.5:5432', down: true }] }]);
    expect(cfg.servers).toEqual([]);
  });

  it('flags a duplicate log_format and unknown escape', () => {
    const cfg = parseNginxT("http { log_format a escape=xml '$x'; log_format a '$y'; }");
    expect(cfg.logFormats.a).toEqual({ escape: 'default', format: '$y' });
    expect(cfg.warnings).toHaveLength(2);
  });

  it.each([
    '',
    '}}}}{{{',
    '\u0000\u0001binary\uffff',
    '# configuration file /x:\n',
    'http { server { location { } } }',
    'http { server { listen; server_name; access_log; error_log; location ~ { fastcgi_pass; } } upstream { server; } log_format; }',
    'events { worker_connections lots; } worker_rlimit_nofile many;',
    "a 'b\n".repeat(200),
  ])('never throws on garbage %#', (text) => {
    const cfg = parseNginxT(text);
    expect(Array.isArray(cfg.warnings)).toBe(true);
    expect(cfg.warnings.length).toBeLessThanOrEqual(51);
    expect(() => JSON.stringify(cfg)).not.toThrow();
  });

  it('warns on garbage instead of silently returning nothing', () => {
    expect(parseNginxT('}}}}{{{').warnings.length).toBeGreaterThan(0);
    expect(parseNginxT('events { worker_connections lots; }').warnings.join()).toMatch(/worker_connections/);
  });
});
