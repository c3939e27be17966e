import { describe, expect, it } from 'vitest';
import { configFindings, parseFpmTT, parseNginxT, phpRoutes, type Finding, type FpmConfig, type NginxConfig } from '../../../src/analyze/config/index.js';
import { fixture } from './helpers.js';

function nginx(locationBody: string, httpExtra = ''): NginxConfig {
  const cfg = parseNginxT(`http { ${httpExtra} server { listen 80; server_name app; location ~ \\.php$ { ${locationBody} } } }`);
  expect(cfg.warnings).toEqual([]);
  return cfg;
}

function fpm(poolBody: string, name = 'www'): FpmConfig {
  const cfg = parseFpmTT(`[${name}]\nuser = www-data\n${poolBody}`);
  expect(cfg.warnings).toEqual([]);
  return cfg;
}

const byId = (fs: Finding[], id: string): Finding[] => fs.filter((f) => f.id === id);
const one = (fs: Finding[], id: string): Finding => {
  const m = byId(fs, id);
  expect(m, `exactly one ${id} in ${fs.map((f) => f.id).join(',')}`).toHaveLength(1);
  return m[0]!;
};

// A config that follows the safe order and has all diagnostics on.
const SAFE_FPM = [
  'listen = /run/php/php8.2-fpm.sock',
  'pm = dynamic',
  'pm.max_children = 20',
  'pm.status_path = /fpm-status',
  'request_terminate_timeout = 40s',
  'request_slowlog_timeout = 5s',
  'slowlog = /var/log/php-fpm/www.slow.log',
  'php_admin_value[max_execution_time] = 25',
].join('\n');
const SAFE_NGINX = 'fastcgi_pass unix:/run/php/php8.2-fpm.sock; fastcgi_read_timeout 60s; fastcgi_buffer_size 16k; fastcgi_buffers 16 16k;';

describe('configFindings on the real Debian default pair (nginx -T + php-fpm -tt)', () => {
  const n = parseNginxT(fixture('nginx-debian-default.T.txt'));
  const f = parseFpmTT(fixture('fpm-debian-default.tt.txt'));
  const fs = configFindings({ nginx: n, fpm: f });

  it('flags request_terminate_timeout 0 vs the 60s nginx default: 504 with the worker still running', () => {
    const t = one(fs, 'timeout_hierarchy');
    expect(t.severity).toBe('warn');
    expect(t.summary).toMatch(/504/);
    expect(t.summary).toMatch(/60s/);
    expect(t.summary).toMatch(/keeps running/);
    expect(t.detail).toMatch(/nginx default/);
    expect(t.detail).toMatch(/CPU time only/);
    expect(t).toMatchObject({ setting: 'request_terminate_timeout', current: '0 (off)', suggested: '44s' });
    expect(byId(fs, 'timeout_expectation')).toEqual([]);
  });

  it('asks for the status page and slowlog, and reports nothing that needs observed data', () => {
    expect(one(fs, 'status_page_missing').suggested).toBe('/fpm-status');
    expect(one(fs, 'status_page_missing').detail).toMatch(/fastcgi_pass unix:\/run\/php\/php8\.2-fpm\.sock/);
    expect(one(fs, 'slowlog_missing').suggested).toBe('10s');
    for (const id of ['max_children_vs_concurrency', 'backlog_vs_somaxconn', 'buffer_vs_header_size', 'fastcgi_pass_no_pool']) {
      expect(byId(fs, id)).toEqual([]);
    }
  });

  it('every finding has a one-line summary and JSON-safe fields', () => {
    for (const x of fs) {
      expect(x.summary).not.toMatch(/\n/);
      expect(x.summary.length).toBeLessThan(220);
      expect(['info', 'warn', 'critical']).toContain(x.severity);
    }
    expect(JSON.parse(JSON.stringify(fs))).toEqual(fs);
  });
});

describe('configFindings on the real fixture app pair', () => {
  const n = parseNginxT(fixture('nginx-app.T.txt'));
  const f = parseFpmTT(fixture('fpm-app.tt.txt'));

  it('maps locations to pools through an upstream group, TCP addresses and bare ports', () => {
    const routes = phpRoutes(n, f);
    expect(routes.map((r) => [r.location, r.fastcgiPass, r.pools, r.backupOnlyPools, r.settings.fastcgi_read_timeout])).toEqual([
      ['server legacy.example.test:8081 location ~ \\.php$', 'unix:/run/php/php7.4-fpm.sock', [], [], 90],
      ['server app.example.test:8080 location ~ \\.php$', 'php_pool', ['app', 'app2'], ['app2'], 120],
      ['server app.example.test:8080 location ~ \\.php$', '127.0.0.1:9001', ['app'], [], 300],
      ['server app.example.test:8080 location = /fpm-status', '127.0.0.1:9001', ['app'], [], 120],
    ]);
  });

  const fs = configFindings({ nginx: n, fpm: f, observed: { peakConcurrency: 15, somaxconn: 1024, tooBigHeaderCount: 2 } });

  it('puts the stale php7.4 socket first as critical', () => {
    expect(fs[0]!.id).toBe('fastcgi_pass_no_pool');
    expect(fs[0]!.severity).toBe('critical');
    expect(fs[0]!.summary).toMatch(/php7\.4-fpm\.sock/);
    expect(fs[0]!.detail).toMatch(/No such file or directory/);
    expect(fs[0]!.suggested).toBe('unix:/run/php/php8.2-fpm-app2.sock');
    const ranks = fs.map((x) => ({ critical: 0, warn: 1, info: 2 })[x.severity]);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
  });

  it('gives one timeout finding per distinct fastcgi_read_timeout feeding a pool', () => {
    const app = byId(fs, 'timeout_hierarchy').filter((x) => x.scope?.startsWith('pool app ') || x.scope === 'pool app');
    expect(app.map((x) => x.suggested).sort()).toEqual(['224s', '89s']);
    expect(app.find((x) => x.suggested === '89s')!.scope).toMatch(/location = \/fpm-status/);
    // worker: terminate 300s > nginx 90s (http level, since no location reaches port 9002)
    const worker = byId(fs, 'timeout_hierarchy').find((x) => x.scope === 'pool worker')!;
    expect(worker.summary).toMatch(/504 at 90s but FPM only kills it at 300s/);
    expect(worker.detail).toMatch(/http-level value assumed/);
    // app2 (terminate 60s < nginx 120s, max_execution_time 30) is the safe order: info only.
    const app2 = byId(fs, 'timeout_expectation').find((x) => x.scope?.startsWith('pool app2'))!;
    expect(app2.severity).toBe('info');
    expect(app2.summary).toMatch(/502/);
    expect(app2.detail).toMatch(/set_time_limit/);
  });

  it('sizes max_children from primary pools only (the backup pool adds no capacity)', () => {
    const m = one(fs, 'max_children_vs_concurrency');
    expect(m).toMatchObject({ severity: 'critical', current: '12', suggested: '19', scope: 'pool app' });
    expect(m.detail).toMatch(/4\.8 GiB/); // 19 × 256M = 4.75 GiB
  });

  it('reports the capped backlog of the TCP pool and the too-big-header fix for the smallest PHP buffer', () => {
    expect(one(fs, 'backlog_vs_somaxconn')).toMatchObject({ severity: 'warn', current: '1024', suggested: '4096', scope: 'pool app' });
    const b = one(fs, 'buffer_vs_header_size');
    expect(b).toMatchObject({ current: '8k', suggested: '16k' });
    expect(b.detail).toMatch(/smallest of 8k\/32k/);
    expect(b.detail).toMatch(/proxy_buffer_size/);
  });

  it('notes pm caveats for static and ondemand pools only', () => {
    expect(one(fs, 'pm_static_caveat').scope).toBe('pool app2');
    expect(one(fs, 'pm_ondemand_caveat').scope).toBe('pool worker');
    expect(one(fs, 'pm_ondemand_caveat').summary).toMatch(/20s/);
  });
});

describe('timeout_hierarchy cases', () => {
  it('safe order → no timeout_hierarchy, an info expectation of 502 + "execution timed out"', () => {
    const fs = configFindings({ nginx: nginx(SAFE_NGINX), fpm: fpm(SAFE_FPM) });
    expect(byId(fs, 'timeout_hierarchy')).toEqual([]);
    const e = one(fs, 'timeout_expectation');
    expect(e.severity).toBe('info');
    expect(e.summary).toMatch(/40s/);
    expect(e.detail).toMatch(/execution timed out/);
    expect(e.detail).toMatch(/prematurely closed connection/);
  });

  it('terminate ≥ read timeout → 504 first, FPM kills later', () => {
    const fs = configFindings({ nginx: nginx(SAFE_NGINX), fpm: fpm(SAFE_FPM.replace('40s', '2m')) });
    const t = one(fs, 'timeout_hierarchy');
    expect(t.summary).toMatch(/504 at 60s but FPM only kills it at 120s/);
    expect(t).toMatchObject({ current: '120s', suggested: '44s' });
  });

  it('terminate just below read timeout → heartbeat race, mixed 502/504', () => {
    const fs = configFindings({ nginx: nginx(SAFE_NGINX), fpm: fpm(SAFE_FPM.replace('40s', '50s')) });
    const t = one(fs, 'timeout_hierarchy');
    expect(t.summary).toMatch(/502 or 504/);
    expect(t.detail).toMatch(/between 50s and 66\.667s/);
    expect(t.suggested).toBe('44s');
  });

  it('max_execution_time ≥ terminate → CPU-bound scripts SIGTERMed; suggests a lower max_execution_time', () => {
    const fs = configFindings({ nginx: nginx(SAFE_NGINX), fpm: fpm(SAFE_FPM.replace('max_execution_time] = 25', 'max_execution_time] = 0')) });
    const t = one(fs, 'timeout_hierarchy');
    expect(t).toMatchObject({ setting: 'max_execution_time', current: '0 (unlimited)', suggested: '26', severity: 'warn' });
    expect(one(fs, 'timeout_expectation').severity).toBe('info');
  });

  it('escalates to critical when observed upstream times reach the limit', () => {
    const base = { nginx: nginx(SAFE_NGINX), fpm: fpm(SAFE_FPM.replace('40s', '0')) };
    expect(one(configFindings({ ...base, observed: { maxUpstreamSeconds: 30 } }), 'timeout_hierarchy').severity).toBe('warn');
    const hot = one(configFindings({ ...base, observed: { maxUpstreamSeconds: 60.01, p99UpstreamSeconds: 55 } }), 'timeout_hierarchy');
    expect(hot.severity).toBe('critical');
    expect(hot.detail).toMatch(/reaching this limit now/);
    expect(hot.detail).toMatch(/p99 upstream time 55s/);
  });

  it('uses the location value, not the http one, and says where it was set', () => {
    const n = nginx('fastcgi_pass 127.0.0.1:9000; fastcgi_read_timeout 10m;', 'fastcgi_read_timeout 30s;');
    const t = one(configFindings({ nginx: n, fpm: fpm('listen = 9000\nrequest_terminate_timeout = 0') }), 'timeout_hierarchy');
    expect(t.summary).toMatch(/600s/);
    expect(t.detail).toMatch(/set in server app:80 location ~ \\\.php\$ \(\(input\):1\)/);
    expect(t.suggested).toBe('449s');
  });

  it('without nginx config assumes the 60s default and says so', () => {
    const t = one(configFindings({ fpm: fpm('listen = 9000') }), 'timeout_hierarchy');
    expect(t.detail).toMatch(/nginx config not provided/);
    expect(t.suggested).toBe('44s');
  });
});

describe('pool mapping', () => {
  const cases: [string, string, boolean][] = [
    ['unix:/run/php/php8.2-fpm.sock', '/run/php/php8.2-fpm.sock', true],
    ['unix:/run/php//php8.2-fpm.sock', '/run/php/php8.2-fpm.sock', true],
    ['unix:/run/php/php8.1-fpm.sock', '/run/php/php8.2-fpm.sock', false],
    ['127.0.0.1:9000', '9000', true],
    ['127.0.0.1:9000', '127.0.0.1:9000', true],
    ['localhost:9000', '127.0.0.1:9000', true],
    ['[::1]:9000', '[::]:9000', true],
    ['127.0.0.1:9000', '127.0.0.1:9001', false],
    ['127.0.0.1:9000', '/run/php/php8.2-fpm.sock', false],
    ['10.0.0.7:9000', '9000', true],
  ];
  it.each(cases)('fastcgi_pass %s vs listen %s → %s', (pass, listen, match) => {
    const routes = phpRoutes(nginx(`fastcgi_pass ${pass};`), fpm(`listen = ${listen}`));
    expect(routes[0]!.pools).toEqual(match ? ['www'] : []);
  });

  it('variables and remote hosts are not reported as missing pools', () => {
    for (const pass of ['$php_backend', '10.0.0.7:9000']) {
      const fs = configFindings({ nginx: nginx(`fastcgi_pass ${pass};`), fpm: fpm('listen = /run/php/x.sock') });
      expect(byId(fs, 'fastcgi_pass_no_pool')).toEqual([]);
    }
  });

  it('loopback TCP with no pool listening → critical with connection refused', () => {
    const fs = configFindings({ nginx: nginx('fastcgi_pass 127.0.0.1:9000;'), fpm: fpm('listen = 9001') });
    const f = one(fs, 'fastcgi_pass_no_pool');
    expect(f.detail).toMatch(/111: Connection refused/);
    expect(f.suggested).toBe('127.0.0.1:9001');
  });

  it('down servers of an upstream group are not routes', () => {
    const n = nginx('fastcgi_pass php;', 'upstream php { server 127.0.0.1:9000 down; server unix:/run/php/b.sock; }');
    const routes = phpRoutes(n, parseFpmTT('[a]\nlisten = 9000\n[b]\nlisten = /run/php/b.sock\n'));
    expect(routes[0]!.pools).toEqual(['b']);
  });
});

describe('max_children_vs_concurrency', () => {
  const f = fpm('listen = 9000\npm = dynamic\npm.max_children = 10\nphp_admin_value[memory_limit] = 128M');
  it('absent when peak is comfortably below the cap and nothing was reached', () => {
    expect(byId(configFindings({ fpm: f, observed: { peakConcurrency: 8 } }), 'max_children_vs_concurrency')).toEqual([]);
    expect(byId(configFindings({ fpm: f }), 'max_children_vs_concurrency')).toEqual([]);
  });
  it('warn within 10% of the cap, critical above it, with a value from the data', () => {
    expect(one(configFindings({ fpm: f, observed: { peakConcurrency: 9 } }), 'max_children_vs_concurrency')).toMatchObject({ severity: 'warn', suggested: '12' });
    const c = one(configFindings({ fpm: f, observed: { peakConcurrency: 40 } }), 'max_children_vs_concurrency');
    expect(c).toMatchObject({ severity: 'critical', current: '10', suggested: '50', setting: 'pm.max_children' });
    expect(c.summary).toMatch(/40 concurrent/);
    expect(c.detail).toMatch(/6\.3 GiB/);
  });
  it('max children reached without a peak → +50% starting point', () => {
    const c = one(configFindings({ fpm: f, observed: { maxChildrenReached: 3 } }), 'max_children_vs_concurrency');
    expect(c).toMatchObject({ severity: 'warn', suggested: '15' });
    expect(c.detail).toMatch(/episode/);
  });
  it('mentions that static pools never log reaching the cap', () => {
    const s = fpm('listen = 9000\npm = static\npm.max_children = 4');
    expect(one(configFindings({ fpm: s, observed: { peakConcurrency: 4 } }), 'max_children_vs_concurrency').detail).toMatch(/pm = static/);
  });
});

describe('backlog_vs_somaxconn', () => {
  it('explicit backlog above somaxconn → warn', () => {
    const b = one(configFindings({ fpm: fpm('listen = /run/x.sock\nlisten.backlog = 65535'), observed: { somaxconn: 4096 } }), 'backlog_vs_somaxconn');
    expect(b).toMatchObject({ severity: 'warn', setting: 'net.core.somaxconn', current: '4096', suggested: '65535' });
    expect(b.summary).toMatch(/silently capped/);
    expect(b.detail).toMatch(/11: Resource temporarily unavailable/);
  });
  it('-1 (kernel max) with an old 128 somaxconn → info', () => {
    expect(one(configFindings({ fpm: fpm('listen = /run/x.sock'), observed: { somaxconn: 128 } }), 'backlog_vs_somaxconn').severity).toBe('info');
  });
  it('absent when within limits or somaxconn unknown', () => {
    expect(byId(configFindings({ fpm: fpm('listen = /run/x.sock\nlisten.backlog = 511'), observed: { somaxconn: 4096 } }), 'backlog_vs_somaxconn')).toEqual([]);
    expect(byId(configFindings({ fpm: fpm('listen = /run/x.sock'), observed: { somaxconn: 4096 } }), 'backlog_vs_somaxconn')).toEqual([]);
    expect(byId(configFindings({ fpm: fpm('listen = /run/x.sock\nlisten.backlog = 65535') }), 'backlog_vs_somaxconn')).toEqual([]);
  });
});

describe('buffer_vs_header_size', () => {
  it('default 4k buffers → 16k plus bigger fastcgi_buffers (nginx -t would fail otherwise)', () => {
    const b = one(configFindings({ nginx: nginx('fastcgi_pass unix:/run/x.sock;'), observed: { tooBigHeaderCount: 5 } }), 'buffer_vs_header_size');
    expect(b).toMatchObject({ severity: 'warn', current: '4k', suggested: '16k (with fastcgi_buffers 8 16k)' });
    expect(b.summary).toMatch(/5 × 502/);
  });
  it('16k already → 32k, without touching adequate buffers', () => {
    const b = one(configFindings({ nginx: nginx(SAFE_NGINX), observed: { tooBigHeaderCount: 1 } }), 'buffer_vs_header_size');
    expect(b).toMatchObject({ current: '16k', suggested: '32k' });
  });
  it('works without nginx config (assumes the 4k default) and is absent without the symptom', () => {
    expect(one(configFindings({ observed: { tooBigHeaderCount: 1 } }), 'buffer_vs_header_size').detail).toMatch(/4k default assumed/);
    expect(byId(configFindings({ nginx: nginx(SAFE_NGINX), observed: { tooBigHeaderCount: 0 } }), 'buffer_vs_header_size')).toEqual([]);
  });
});

describe('status page, slowlog and pm caveats', () => {
  it('present when unset, absent when configured', () => {
    const bare = configFindings({ fpm: fpm('listen = 9000\npm = dynamic') });
    expect(one(bare, 'status_page_missing').summary).toMatch(/cannot read/);
    expect(one(bare, 'status_page_missing').detail).toMatch(/fastcgi_pass 127\.0\.0\.1:9000/);
    expect(one(bare, 'slowlog_missing').current).toBe('0 (off)');
    const safe = configFindings({ fpm: fpm(SAFE_FPM) });
    expect(byId(safe, 'status_page_missing')).toEqual([]);
    expect(byId(safe, 'slowlog_missing')).toEqual([]);
    expect(byId(safe, 'pm_static_caveat')).toEqual([]);
    expect(byId(safe, 'pm_ondemand_caveat')).toEqual([]);
  });
  it('per-pool status paths when there are several pools', () => {
    const fs = configFindings({ fpm: parseFpmTT('[a]\nlisten = 9000\n[b]\nlisten = 9001\n') });
    expect(byId(fs, 'status_page_missing').map((x) => x.suggested)).toEqual(['/fpm-status-a', '/fpm-status-b']);
  });
});

describe('a fully safe setup', () => {
  it('has no warn/critical findings even with benign observations', () => {
    const fs = configFindings({
      nginx: nginx(SAFE_NGINX),
      fpm: fpm(SAFE_FPM),
      observed: { peakConcurrency: 10, somaxconn: 4096, tooBigHeaderCount: 0, maxChildrenReached: 0, p99UpstreamSeconds: 2, maxUpstreamSeconds: 9 },
    });
    expect(fs.map((x) => `${x.severity}:${x.id}`)).toEqual(['info:timeout_expectation']);
  });
});

describe('robustness', () => {
  it('empty input → no findings; partial configs never throw', () => {
    expect(configFindings({})).toEqual([]);
    expect(() => configFindings({ nginx: parseNginxT('garbage {{{'), fpm: parseFpmTT('garbage') })).not.toThrow();
    expect(() => configFindings({ nginx: parseNginxT(''), observed: { tooBigHeaderCount: 3, peakConcurrency: 5, somaxconn: 1 } })).not.toThrow();
    expect(() => configFindings({ fpm: parseFpmTT('[x]\n'), observed: { peakConcurrency: 5, maxChildrenReached: 2, somaxconn: 1 } })).not.toThrow();
  });
});
