import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileLogFormat } from '../../src/analyze/access/format.js';
import { parseFpmTT, parseNginxT } from '../../src/analyze/config/index.js';
import { DiscoveryCache } from '../../src/collect/discovery-cache.js';
import { deriveSources, discoverHost, effectiveSources, failureReason, orderNginxMasters, selectLocation, type Discovery, type DiscoveryContext } from '../../src/collect/discover.js';
import { parseFacts, parseNginxMasterTitle, systemdUnit } from '../../src/collect/host-parse.js';
import { parseConfigText } from '../../src/config/index.js';
import { openStore } from '../../src/store/index.js';
import { SshExecutor, type ExecResult } from '../../src/exec/index.js';
import { createLogger } from '../../src/log/index.js';
import { LAB_LOG_FORMAT, sleep, startLab } from '../lab/lab.js';
import { REPO_ROOT } from '../support/config.js';
import { hostConfig, startIsolatedSshd, startLabHost, type IsolatedSshd, type LabHost } from '../support/lab-host.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'config');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

describe('deriveSources (captured nginx -T / php-fpm -tt)', () => {
  it('picks the PHP server of an app config: its own access log and format, error log, pool, slow log, status URL', () => {
    const nginx = parseNginxT(fixture('nginx-app.T.txt'));
    const fpm = parseFpmTT(fixture('fpm-app.tt.txt'));
    const derived = deriveSources({
      nginx,
      fpm,
      nginxFacts: parseFacts('badgateway: prefix /tmp/badgateway-fixture/nginx-app/\nbadgateway: error-log-path stderr\n'),
      fpmFacts: parseFacts('badgateway: cgroup 0::/system.slice/php8.2-fpm.service\n'),
    });
    expect(derived.pool).toBe('app');
    expect(derived.sources).toEqual({
      // server-level access_log replaces the http one; the syslog one (with if=) is skipped
      accessLog: '/tmp/badgateway-fixture/nginx-app/logs/app.access.log',
      logFormat: `escape=json '{"time":"$time_iso8601","status":$status,"upstream":"$upstream_addr","urt":"$upstream_response_time"}'`,
      errorLog: '/tmp/badgateway-fixture/nginx-app/logs/app.error.log',
      fpmLog: '/tmp/badgateway-fixture/fpm-app/log/php-fpm.log',
      slowLog: '/tmp/badgateway-fixture/fpm-app/log/app.slow.log',
      fpmStatusUrl: 'http://127.0.0.1:8080/fpm-status',
      fpmService: 'php8.2-fpm',
    });
    expect(derived.missing).toEqual([]);
    // the spec compiles to the format nginx writes
    expect(compileLogFormat(derived.sources.logFormat!).escape).toBe('json');
  });

  it('on a stock Debian install says what is missing and why', () => {
    const derived = deriveSources({
      nginx: parseNginxT(fixture('nginx-debian-default.T.txt')),
      fpm: parseFpmTT(fixture('fpm-debian-default.tt.txt')),
      nginxFacts: parseFacts('badgateway: prefix /usr/share/nginx\n'),
    });
    expect(derived.sources).toEqual({
      accessLog: '/var/log/nginx/access.log',
      logFormat: expect.stringMatching(/^'\$remote_addr - \$remote_user \[\$time_local\]/),
      errorLog: '/var/log/nginx/error.log',
      fpmLog: '/var/log/php8.2-fpm.log',
    });
    expect(derived.pool).toBe('www');
    expect(derived.problems).toEqual(['nginx passes no location to PHP-FPM (no fastcgi_pass in its configuration)']);
    expect(derived.missing).toEqual([
      { source: 'slowLog', why: 'request_slowlog_timeout is 0 in pool www: FPM writes no slow log' },
      { source: 'fpmStatusUrl', why: 'pm.status_path is not set in pool www' },
    ]);
  });

  it('holds discovered values to the rules configured ones follow: a bad one is missing or a problem, with why', () => {
    const nginx = parseNginxT(fixture('nginx-app.T.txt'));
    const derived = deriveSources({
      nginx,
      fpm: parseFpmTT(fixture('fpm-app.tt.txt')),
      // A prefix that is not absolute leaves a relative path; a unit named like an option.
      nginxFacts: parseFacts('badgateway: prefix /tmp/badgateway-fixture/nginx-app/\n'),
      fpmFacts: parseFacts('badgateway: cgroup 0::/system.slice/-H.service\n'),
    });
    expect(derived.sources.fpmService).toBeUndefined();
    expect(derived.problems).toContain('the discovered fpmService "-H" is not usable: expected a service name like php8.2-fpm (not starting with -)');
    const withNewline = deriveSources({
      nginx: { ...nginx, accessLogs: nginx.accessLogs.map((l) => ({ ...l, path: `${l.path}\n/etc/shadow` })) },
      nginxFacts: parseFacts('badgateway: prefix /tmp/badgateway-fixture/nginx-app/\n'),
    });
    expect(withNewline.sources.accessLog).toBeUndefined();
    expect(withNewline.missing).toContainEqual({
      source: 'accessLog',
      why: expect.stringMatching(/^the discovered accessLog ".*" is not usable: expected an absolute path \(starting with \/\) on one line$/),
    });
  });

  it('without any configuration says so for every source', () => {
    const derived = deriveSources({});
    expect(derived.sources).toEqual({});
    expect(derived.missing.map((m) => m.source)).toEqual(['accessLog', 'errorLog', 'fpmLog', 'slowLog', 'fpmStatusUrl']);
  });

  it('chooses locations the way nginx does', () => {
    const server = parseNginxT(fixture('nginx-app.T.txt')).servers.find((s) => s.serverName.includes('app.example.test'))!;
    expect(selectLocation(server, '/fpm-status')?.match).toBe('= /fpm-status');
    expect(selectLocation(server, '/index.php')?.match).toBe('~ \\.php$');
    expect(selectLocation(server, '/reports/x.php')?.match).toBe('^~ /reports/');
    expect(selectLocation(server, '/logo.PNG')?.match).toBe('~* \\.(?:png|jpe?g){1}$');
    expect(selectLocation(server, '/api/users')?.match).toBe('/api/');
    expect(selectLocation(server, '/status')?.match).toBe('/');
  });
});

describe('instance choice, facts, overrides and the cache', () => {
  it('prefers the nginx master whose prefix holds a configured log, else keeps ps order', () => {
    const a = parseNginxMasterTitle(10, 'nginx: master process /usr/sbin/nginx -g daemon on; master_process on;')!;
    const b = parseNginxMasterTitle(20, 'nginx: master process /usr/sbin/nginx -p /tmp/lab-b/ -c /tmp/lab-b/nginx.conf -g daemon off;')!;
    const c = parseNginxMasterTitle(30, 'nginx: master process nginx -c/srv/site/conf/nginx.conf')!;
    expect(a).toEqual({ pid: 10, title: a.title, program: '/usr/sbin/nginx' });
    expect(c).toEqual({ pid: 30, title: c.title, program: 'nginx', conf: '/srv/site/conf/nginx.conf' });
    expect(orderNginxMasters([a, b, c], ['/tmp/lab-b']).map((m) => m.pid)).toEqual([20, 10, 30]);
    expect(orderNginxMasters([a, b, c], ['/srv/site/conf']).map((m) => m.pid)).toEqual([30, 10, 20]);
    expect(orderNginxMasters([a, b, c], ['/tmp/lab-bb']).map((m) => m.pid)).toEqual([10, 20, 30]);
    expect(orderNginxMasters([a, b, c], []).map((m) => m.pid)).toEqual([10, 20, 30]);
  });

  it('reads the systemd unit from cgroup v1 and v2 lines', () => {
    expect(systemdUnit(['0::/system.slice/php8.2-fpm.service'])).toBe('php8.2-fpm');
    expect(systemdUnit(['12:pids:/system.slice/php-fpm.service', '1:name=systemd:/system.slice/php-fpm.service'])).toBe('php-fpm');
    expect(systemdUnit(['9:name=systemd:/', '0::/'])).toBeUndefined();
  });

  it("explains failures with sudo's or the tool's own words", () => {
    const result = (over: Partial<ExecResult>): ExecResult => ({
      host: 'h',
      commandId: 'nginx.config',
      code: 1,
      signal: null,
      stdout: Buffer.alloc(0),
      stderr: '',
      stdoutBytes: 0,
      truncated: false,
      timedOut: false,
      durationMs: 20_000,
      ...over,
    });
    expect(failureReason(result({ stderr: 'sudo: a password is required\n' }))).toBe('sudo: a password is required');
    // noise from the login shell's profile comes first; the command's own complaint wins
    expect(failureReason(result({ stderr: "rm: cannot remove '/root/.pyenv/shims/tmp.QOFx5tmjKH': No such file or directory\ncurl: (22) The requested URL returned error: 502\n" }))).toBe(
      'curl: (22) The requested URL returned error: 502',
    );
    expect(
      failureReason(
        result({
          stderr: 'badgateway: binary /usr/sbin/nginx\n',
          stdout: Buffer.from('nginx: [emerg] unknown directive "x" in /etc/nginx/nginx.conf:3\nnginx: configuration file /etc/nginx/nginx.conf test failed\n'),
        }),
      ),
    ).toBe('nginx: [emerg] unknown directive "x" in /etc/nginx/nginx.conf:3');
    expect(failureReason(result({ code: null, timedOut: true }))).toBe('no answer within 20 s');
  });

  const discovery = (over: Partial<Discovery> = {}): Discovery => ({
    host: 'web-1',
    at: 0,
    sources: { accessLog: '/var/log/nginx/app.log', logFormat: "'$remote_addr $status'", errorLog: '/var/log/nginx/error.log', fpmLog: '/var/log/php8.2-fpm.log' },
    problems: [],
    missing: [],
    ...over,
  });

  it('lets badgateway.yaml win field by field, keeping the log format with its access log', () => {
    const nginx = parseNginxT(fixture('nginx-app.T.txt'));
    const d = discovery({ nginx, nginxMaster: { pid: 1, title: 't', prefix: '/tmp/badgateway-fixture/nginx-app/' } });
    expect(effectiveSources({ errorLog: '/srv/error.log' }, d)).toEqual({ ...d.sources, errorLog: '/srv/error.log' });
    // another access log: the discovered format does not apply; the format nginx writes that file with does
    expect(effectiveSources({ accessLog: '/tmp/badgateway-fixture/nginx-app/logs/access.log' }, d)).toEqual({
      ...d.sources,
      accessLog: '/tmp/badgateway-fixture/nginx-app/logs/access.log',
      logFormat: expect.stringMatching(/^'\$remote_addr - \$remote_user .* cn=\$connection'$/),
    });
    expect(effectiveSources({ accessLog: '/elsewhere.log' }, d).logFormat).toBeUndefined();
    expect(effectiveSources({ accessLog: '/elsewhere.log', logFormat: 'combined' }, d).logFormat).toBe('combined');
    const fromYaml = parseConfigText('hosts:\n  web-1:\n    sources:\n      fpmLog: /x/fpm.log\n', 'b.yaml', {}).hosts[0]!;
    expect(effectiveSources(fromYaml.sources, d).fpmLog).toBe('/x/fpm.log');
  });

  it('caches per host for its TTL and shares one run between concurrent callers', async () => {
    let now = 1000;
    // The masters check is proven against the real lab below; here only the TTL and sharing.
    const cache = new DiscoveryCache({ ttlMs: 60_000, now: () => now, stillValid: async () => true });
    let runs = 0;
    const run = async (ctx: DiscoveryContext) => {
      runs++;
      await new Promise((r) => setTimeout(r, 5));
      return discovery({ host: ctx.host.name, at: now });
    };
    const ctx = (name: string) => ({ host: { name } }) as unknown as DiscoveryContext;
    const [x, y] = await Promise.all([cache.discover(ctx('a'), run), cache.discover(ctx('a'), run)]);
    expect(x).toBe(y);
    expect(runs).toBe(1);
    now += 59_999;
    expect(await cache.discover(ctx('a'), run)).toBe(x);
    await cache.discover(ctx('b'), run);
    expect(runs).toBe(2);
    now += 1;
    expect(cache.get('a')).toBeUndefined();
    expect(await cache.discover(ctx('a'), run)).not.toBe(x);
    expect(runs).toBe(3);
    cache.invalidate('a');
    expect(cache.get('a')).toBeUndefined();
    const failing = async () => {
      throw new Error('unreachable');
    };
    await expect(cache.discover(ctx('c'), failing)).rejects.toThrow('unreachable');
    expect(cache.get('c')).toBeUndefined();
  });
});

describe('the discovery cache across replicas', () => {
  const discovery = (over: Pick<Discovery, 'host' | 'at'>): Discovery => ({ sources: {}, problems: [], missing: [], ...over });
  it("a change made on a host by any replica (the store's host generation) makes every cached discovery of it stale", async () => {
    const store = await openStore({ dataDir: 'memory://' });
    try {
      let runs = 0;
      const run = async (ctx: DiscoveryContext) => discovery({ host: ctx.host.name, at: ++runs });
      const ctx = { host: { name: 'web-1' } } as unknown as DiscoveryContext;
      // Two replicas: their own caches, one store (the masters check is proven against the real lab elsewhere).
      const held = async () => true;
      const a = new DiscoveryCache({ generation: (h) => store.hostGeneration(h), stillValid: held });
      const b = new DiscoveryCache({ generation: (h) => store.hostGeneration(h), stillValid: held });
      const first = await b.discover(ctx, run);
      expect(await b.discover(ctx, run)).toBe(first);
      expect(runs).toBe(1);
      // Replica A ran an action on web-1.
      expect(await store.touchHost('web-1', Date.UTC(2026, 0, 1))).toBe(1);
      expect(await store.hostGeneration('web-2')).toBe(0);
      const second = await b.discover(ctx, run);
      expect(second).not.toBe(first);
      expect(await b.discover(ctx, run)).toBe(second);
      expect(runs).toBe(2);
      // `fresh`: read now, whatever is cached (and kept for the next one).
      const fresh = await a.discover(ctx, run, { fresh: true });
      expect(runs).toBe(3);
      expect(await a.discover(ctx, run)).toBe(fresh);
      // A store that cannot be read: nothing cached is trusted.
      const broken = new DiscoveryCache({ generation: () => Promise.reject(new Error('store down')), stillValid: held });
      await broken.discover(ctx, run);
      await broken.discover(ctx, run);
      expect(runs).toBe(5);
    } finally {
      await store.close();
    }
  });

  it('a caller whose request is cancelled stops waiting for a discovery someone else started', async () => {
    const cache = new DiscoveryCache();
    let finish: (d: Discovery) => void = () => undefined;
    const slow = () => new Promise<Discovery>((resolve) => (finish = resolve));
    const ctx = { host: { name: 'web-1' } } as unknown as DiscoveryContext;
    const owner = cache.discover(ctx, slow);
    const controller = new AbortController();
    const waiter = cache.discover({ ...ctx, signal: controller.signal }, slow);
    controller.abort();
    await expect(waiter).rejects.toThrow('cancelled');
    finish(discovery({ host: 'web-1', at: 1 }));
    expect((await owner).host).toBe('web-1');
  });
});

describe('discoverHost against the real lab over real SSH', () => {
  const logger = createLogger({ level: 'silent' });
  let lh: LabHost;
  let isolated: IsolatedSshd;
  let executor: SshExecutor;
  const ctxFor = (name: string): DiscoveryContext => ({ executor, catalog: lh.catalog, host: lh.hosts.find((h) => h.name === name)! });

  beforeAll(async () => {
    // web-lab is pinned to this lab by its access log; web-bare has no sources at all.
    lh = await startLabHost({ requestSlowlogTimeout: 1 }, { names: ['web-lab', 'web-bare'], pin: (name) => name === 'web-lab' });
    isolated = await startIsolatedSshd(lh.sshd);
    executor = new SshExecutor({ logger });
  });
  afterAll(async () => {
    await executor?.close();
    await isolated?.stop();
    await lh?.stop();
  });

  it("finds the lab's logs, log_format, pool and status URL from its running masters, without writing to its logs", async () => {
    const { lab } = lh;
    await lab.request('/ok.php');
    const before = await lab.readLogs();
    const d = await discoverHost(ctxFor('web-lab'));
    expect(d.sources).toEqual({
      accessLog: lab.paths.access,
      logFormat: `'${LAB_LOG_FORMAT}'`,
      errorLog: lab.paths.error,
      fpmLog: lab.paths.fpmLog,
      slowLog: lab.paths.slowLog,
      fpmStatusUrl: lab.url('/fpm-status'),
    });
    expect(d.pool).toBe('www');
    expect(d.missing).toEqual([]);
    expect(d.problems.filter((p) => !/nginx masters run/.test(p))).toEqual([]);
    expect(d.nginxMaster).toMatchObject({ binary: '/usr/sbin/nginx', prefix: `${lab.dir}/`, conf: lab.paths.nginxConf });
    expect(d.fpmMaster).toMatchObject({ pid: lab.fpmMasterPid(), conf: lab.paths.fpmConf, binary: expect.stringMatching(/\/php-fpm/) });
    expect(d.nginx?.testOk).toBe(true);
    expect(d.fpm).toMatchObject({ source: 'tt', testOk: true });
    expect(d.fpmText).toContain('NOTICE: [www]');
    // php-fpm -tt ran with -F -O and nginx -T with -e stderr: not a byte was added to any lab log
    const after = await lab.readLogs();
    expect(after.fpmLog).toBe(before.fpmLog);
    expect(after.error).toBe(before.error);
    expect(after.fpmLog).not.toContain('NOTICE: [global]');
    // the discovered status URL and format really work
    expect((await lab.fpmStatus()).ok).toBe(true);
    expect(compileLogFormat(d.sources.logFormat!).hasConnection).toBe(true);
  });

  it('with several nginx masters and nothing configured to tie one to the host, reads none and says how to pin it', async () => {
    // A second lab beside this file's: two nginx and two PHP-FPM masters at least, whatever else runs.
    const other = await startLab();
    try {
      const d = await discoverHost(ctxFor('web-bare'));
      expect(d.nginxMaster).toBeUndefined();
      expect(d.fpmMaster).toBeUndefined();
      expect(d.sources).toEqual({});
      expect(d.problems.join('\n')).toMatch(/\d+ nginx masters run \(pids [\d, ]+\) and no configured source ties one to this host: none was read; set sources\.accessLog/);
      expect(d.problems.join('\n')).toMatch(/\d+ PHP-FPM masters run and no nginx configuration says which pool this site uses: none was read/);
      // The pinned name still finds its own lab among them.
      const pinned = await discoverHost(ctxFor('web-lab'));
      expect(pinned.sources.accessLog).toBe(lh.lab.paths.access);
      expect(pinned.fpmMaster?.pid).toBe(lh.lab.fpmMasterPid());
    } finally {
      await other.stop();
    }
  });

  it('never runs the binary or config of a master that root does not run (anyone can set a process title)', async () => {
    const fake = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', '-c', 'exec -a "nginx: master process /tmp/evil -c /tmp/evil.conf" sleep 30'], {
      stdio: 'ignore',
      // A bare environment: the impostor needs none of the suite's (faketime's LD_PRELOAD included).
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    try {
      const pid = fake.pid!;
      for (let i = 0; i < 100 && !readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('nginx: master'); i++) await sleep(10);
      const host = ctxFor('web-lab').host;
      const result = await executor.run(host, lh.catalog.render('nginx.config', host, { pid }));
      expect(result.code).toBe(3);
      expect(result.stdout.toString()).toBe('');
      expect(result.stderr).toContain(`badgateway: untrusted ${pid}:65534`);
      expect(result.stderr).toContain(`process ${pid} is not a running nginx master owned by root`);
    } finally {
      fake.kill('SIGKILL');
    }
  });

  it('on a host where nginx and PHP-FPM do not run, says so and reads the default configuration', async () => {
    const host = parseConfigText(JSON.stringify({ hosts: { 'web-stopped': hostConfig(isolated, { accessLog: lh.lab.paths.access }) } }), join(lh.sshd.dir, 'isolated.yaml'), {}).hosts[0]!;
    const debianFpmLog = '/var/log/php8.2-fpm.log';
    const sizeBefore = existsSync(debianFpmLog) ? statSync(debianFpmLog).size : null;
    const d = await discoverHost({ executor, catalog: lh.catalog, host });
    expect(d.nginxMaster).toBeUndefined();
    expect(d.fpmMaster).toBeUndefined();
    expect(d.problems).toContain('no running nginx master found; read the default nginx configuration (nginx -T) instead');
    expect(d.problems.some((p) => p.startsWith('no running PHP-FPM master found; read the default configuration of /'))).toBe(true);
    expect(d.sources.accessLog).not.toBe(lh.lab.paths.access);
    if (sizeBefore !== null) expect(statSync(debianFpmLog).size).toBe(sizeBefore);
  });

  it('reuses a cached discovery only while the masters it read still run: a stopped or restarted PHP-FPM is rediscovered', async () => {
    const cache = new DiscoveryCache();
    const first = await cache.discover(ctxFor('web-lab'));
    const pid = lh.lab.fpmMasterPid()!;
    expect(first.fpmMaster?.pid).toBe(pid);
    expect(first.masters?.read.map((m) => m.pid)).toEqual(expect.arrayContaining([pid, first.nginxMaster!.pid]));
    // Same masters: the cached one (other labs starting and stopping beside this one do not matter).
    expect(await cache.discover(ctxFor('web-lab'))).toBe(first);

    await lh.lab.stopFpm();
    const down = await cache.discover(ctxFor('web-lab'));
    expect(down).not.toBe(first);
    // Never the dead master from cache, and never another lab's pool in its place.
    expect(down.fpmMaster?.pid).not.toBe(pid);
    expect(down.sources.fpmLog).not.toBe(lh.lab.paths.fpmLog);

    await lh.lab.startFpm();
    const again = await cache.discover(ctxFor('web-lab'));
    expect(again).not.toBe(down);
    expect(again.fpmMaster?.pid).toBe(lh.lab.fpmMasterPid());
    expect(again.fpmMaster?.pid).not.toBe(pid);
    expect(again.sources.fpmLog).toBe(lh.lab.paths.fpmLog);
  });
});
