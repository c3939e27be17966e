import { describe, expect, it } from 'vitest';
import { parseFpmTT, type FpmPoolConfig } from '../../../src/analyze/config/index.js';
import { fixture } from './helpers.js';

const P = '/tmp/badgateway-fixture';

function pool(pools: FpmPoolConfig[], name: string): FpmPoolConfig {
  const p = pools.find((x) => x.name === name);
  if (!p) throw new Error(`no pool ${name}`);
  return p;
}

describe('parseFpmTT on real `php-fpm8.2 -tt` of the Debian default config', () => {
  const cfg = parseFpmTT(fixture('fpm-debian-default.tt.txt'));

  it('reads the global section', () => {
    expect(cfg.source).toBe('tt');
    expect(cfg.testOk).toBe(true);
    expect(cfg.warnings).toEqual([]);
    expect(cfg.messages).toEqual([]);
    expect(cfg.global.errorLog).toBe('/var/log/php8.2-fpm.log');
    expect(cfg.global.pid).toBe('/run/php/php8.2-fpm.pid');
    expect(cfg.global.emergencyRestartThreshold).toBe(0);
    expect(cfg.global.processMax).toBe(0);
    // 8.2 prints "unknown value" when log_level was never set: not a level.
    expect(cfg.global.logLevel).toBeUndefined();
    expect(cfg.global.settings['events.mechanism']).toBe('epoll');
  });

  it('reads the www pool with "undefined" values left out', () => {
    expect(cfg.pools.map((p) => p.name)).toEqual(['www']);
    const www = cfg.pools[0]!;
    expect(www).toMatchObject({
      listen: '/run/php/php8.2-fpm.sock',
      listenBacklog: -1,
      listenOwner: 'www-data',
      listenGroup: 'www-data',
      user: 'www-data',
      group: 'www-data',
      pm: 'dynamic',
      pmMaxChildren: 5,
      pmStartServers: 2,
      pmMinSpareServers: 1,
      pmMaxSpareServers: 3,
      pmMaxRequests: 0,
      pmProcessIdleTimeout: 10,
      requestTerminateTimeout: 0,
      requestSlowlogTimeout: 0,
      catchWorkersOutput: false,
    });
    expect(www.listenMode).toBeUndefined();
    expect(www.pmStatusPath).toBeUndefined();
    expect(www.pingPath).toBeUndefined();
    expect(www.slowlog).toBeUndefined();
    expect(www.maxExecutionTime).toBeUndefined();
    expect('chroot' in www.settings).toBe(false);
    expect(www.settings['security.limit_extensions']).toBe('.php .phar');
  });
});

describe('parseFpmTT on real -tt output of the fixture pools', () => {
  const cfg = parseFpmTT(fixture('fpm-app.tt.txt'));

  it('reads three pools from the include= glob, with FPM having applied $pool and defaults', () => {
    expect(cfg.warnings).toEqual([]);
    expect(cfg.testOk).toBe(true);
    expect(cfg.pools.map((p) => p.name)).toEqual(['app', 'app2', 'worker']);
    expect(cfg.global).toMatchObject({
      errorLog: `${P}/fpm-app/log/php-fpm.log`,
      emergencyRestartThreshold: 10,
      emergencyRestartInterval: 60,
      processControlTimeout: 10,
      processMax: 64,
    });
  });

  it('app: TCP pool with status page, slowlog and admin values', () => {
    const app = pool(cfg.pools, 'app');
    expect(app).toMatchObject({
      listen: '127.0.0.1:9001',
      listenBacklog: 4096,
      listenAllowedClients: '127.0.0.1',
      pmMaxChildren: 12,
      pmMaxRequests: 500,
      pmStatusPath: '/fpm-status',
      pingPath: '/fpm-ping',
      requestSlowlogTimeout: 5,
      slowlog: `${P}/fpm-app/log/app.slow.log`,
      catchWorkersOutput: true,
      maxExecutionTime: 30,
      maxExecutionTimeFrom: 'php_admin_value',
      memoryLimit: '256M',
      memoryLimitBytes: 256 * 1024 * 1024,
    });
    // php_admin_flag is printed by FPM as php_admin_value = 1.
    expect(app.phpAdminValues).toEqual({ log_errors: '1', memory_limit: '256M', max_execution_time: '30' });
  });

  it('app2: unix socket, static, php_value max_execution_time, terminate timeout in minutes', () => {
    const app2 = pool(cfg.pools, 'app2');
    expect(app2).toMatchObject({
      listen: '/run/php/php8.2-fpm-app2.sock',
      listenMode: '0660',
      pm: 'static',
      pmMaxChildren: 4,
      requestTerminateTimeout: 60,
      maxExecutionTime: 30,
      maxExecutionTimeFrom: 'php_value',
      memoryLimitBytes: 128 * 1024 * 1024,
    });
  });

  it('worker: ondemand on a bare port', () => {
    expect(pool(cfg.pools, 'worker')).toMatchObject({ listen: '9002', pm: 'ondemand', pmProcessIdleTimeout: 20, requestTerminateTimeout: 300 });
  });
});

describe('parseFpmTT variants of the real output', () => {
  it('log_level = debug prefixes (microseconds, pid, function, line)', () => {
    const cfg = parseFpmTT(fixture('fpm-debug.tt.txt'));
    expect(cfg.warnings).toEqual([]);
    expect(cfg.global.logLevel).toBe('debug');
    expect(cfg.pools).toMatchObject([{ name: 'dbg', listen: '/run/php/dbg.sock', requestTerminateTimeout: 45, pmMaxChildren: 5 }]);
    expect(cfg.testOk).toBe(true);
  });

  it('failed test: messages kept, testOk false, no pools', () => {
    const cfg = parseFpmTT(fixture('fpm-fail.tt.txt'));
    expect(cfg.testOk).toBe(false);
    expect(cfg.pools).toEqual([]);
    expect(cfg.messages).toEqual(['ALERT: [pool broken] user has not been defined', 'ERROR: failed to post process the configuration', 'ERROR: FPM initialization failed']);
  });

  it('error_log = syslog form (`[LEVEL] msg`, no timestamp)', () => {
    // Captured from php-fpm8.2 -tt with error_log = syslog and a pool missing `user`.
    const cfg = parseFpmTT('[ALERT] [pool w] user has not been defined\n[ERROR] failed to post process the configuration\n[ERROR] FPM initialization failed\n');
    expect(cfg.source).toBe('tt');
    expect(cfg.testOk).toBe(false);
    expect(cfg.messages).toHaveLength(3);
  });

  it('survives CRLF line endings', () => {
    const cfg = parseFpmTT(fixture('fpm-debian-default.tt.txt').replace(/\n/g, '\r\n'));
    expect(cfg.pools[0]!.listen).toBe('/run/php/php8.2-fpm.sock');
  });
});

describe('parseFpmTT ini fallback (raw php-fpm.conf / pool.d files)', () => {
  it('parses the fixture pool files the -tt output came from, agreeing on the key values', () => {
    const ini = parseFpmTT(
      [fixture('src/fpm-app/php-fpm.conf'), fixture('src/fpm-app/pool.d/app.conf'), fixture('src/fpm-app/pool.d/app2.conf'), fixture('src/fpm-app/pool.d/worker.conf')].join('\n'),
    );
    const tt = parseFpmTT(fixture('fpm-app.tt.txt'));
    expect(ini.source).toBe('ini');
    expect(ini.warnings).toEqual([]);
    expect(ini.includes).toEqual(['pool.d/*.conf']);
    const keys = [
      'name',
      'listen',
      'listenBacklog',
      'pm',
      'pmMaxChildren',
      'pmMaxRequests',
      'pmStatusPath',
      'requestTerminateTimeout',
      'requestSlowlogTimeout',
      'catchWorkersOutput',
      'maxExecutionTime',
      'maxExecutionTimeFrom',
      'memoryLimitBytes',
      'pmProcessIdleTimeout',
    ] as const;
    const pick = (p: FpmPoolConfig): Record<string, unknown> => Object.fromEntries(keys.map((k) => [k, p[k]]));
    expect(ini.pools.map(pick)).toEqual(tt.pools.map(pick));
    expect(ini.global.emergencyRestartInterval).toBe(60);
  });

  it('handles comments, quotes, inline ; comments, flags, $pool and keys before [global]', () => {
    const cfg = parseFpmTT(
      [
        'error_log = /var/log/fpm.log',
        '; comment line',
        '[www]',
        'listen = /run/php/$pool.sock ; trailing comment',
        'pm.max_children = 7',
        'request_terminate_timeout = 1h',
        'slowlog = "/var/log/slow; really.log"',
        'php_flag[display_errors] = off',
        'php_value[max_execution_time] = 45',
        'garbage line without equals',
      ].join('\n'),
    );
    expect(cfg.global.errorLog).toBe('/var/log/fpm.log');
    const www = cfg.pools[0]!;
    expect(www.listen).toBe('/run/php/www.sock');
    expect(www.pmMaxChildren).toBe(7);
    expect(www.requestTerminateTimeout).toBe(3600);
    expect(www.slowlog).toBe('/var/log/slow; really.log');
    expect(www.phpValues).toEqual({ display_errors: '0', max_execution_time: '45' });
    expect(www.maxExecutionTime).toBe(45);
    // FPM defaults filled in for the ini path.
    expect(www.listenBacklog).toBe(-1);
    expect(www.requestSlowlogTimeout).toBe(0);
    expect(cfg.warnings).toEqual(['line 10: not "key = value": garbage line without equals']);
  });

  it('warns on bad numbers and durations instead of guessing', () => {
    const cfg = parseFpmTT('[a]\npm.max_children = lots\nrequest_terminate_timeout = 5x\nphp_admin_value[memory_limit] = big\n');
    expect(cfg.pools[0]!.pmMaxChildren).toBeUndefined();
    expect(cfg.pools[0]!.requestTerminateTimeout).toBeUndefined();
    expect(cfg.pools[0]!.memoryLimit).toBe('big');
    expect(cfg.pools[0]!.memoryLimitBytes).toBeUndefined();
    expect(cfg.warnings).toHaveLength(3);
  });

  it.each(['', '\u0000\u0001', '[', '[[[]]]', '=', 'a=b\n'.repeat(500), '[x]\n'.repeat(100), 'NOTICE: \tkey = value'])('never throws on garbage %#', (text) => {
    const cfg = parseFpmTT(text);
    expect(cfg.warnings.length).toBeLessThanOrEqual(51);
    expect(() => JSON.stringify(cfg)).not.toThrow();
  });
});
