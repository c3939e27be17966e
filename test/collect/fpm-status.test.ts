import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverHost, type Discovery, type DiscoveryContext } from '../../src/collect/discover.js';
import { readFpmStatus } from '../../src/collect/fpm-status.js';
import { findListenSocket, fpmMasters, fpmWorkers, nginxMasters, parseFpmIdentity, parsePs, parseSs } from '../../src/collect/host-parse.js';
import { pickMaster } from '../../src/collect/fpm-identity.js';
import { SshExecutor } from '../../src/exec/index.js';
import { createLogger } from '../../src/log/index.js';
import { sleep } from '../lab/lab.js';
import { poolExhaustedOptions } from '../lab/scenarios.js';
import { startLabHost, type LabHost } from '../support/lab-host.js';

// Captured on the lab: `ps -eo pid,ppid,user:32,stat,etimes,wchan:32,args` (lines kept: header and the
// nginx/FPM ones). Two labs run; the second (SB41OF, pm.max_children 2) has both workers inside sleep.php.
const PS_SATURATED = `  PID  PPID USER                             STAT ELAPSED WCHAN                            COMMAND
    1     0 root                             SLl     1805 -                                /process_api --firecracker-init --addr 0.0.0.0:2024 --max-ws-buffer-size 32768
    2     0 root                             S       1805 kthreadd                         [kthreadd]
18323 18289 root                             Ss       347 do_epoll_wait                    php-fpm: master process (/tmp/badgateway-lab-A21u4E/php-fpm.conf)
18324 18323 nobody                           S        347 skb_wait_for_more_packets        php-fpm: pool www
18325 18323 nobody                           S        347 skb_wait_for_more_packets        php-fpm: pool www
18326 18289 root                             S        347 sigsuspend.isra.0                nginx: master process /usr/sbin/nginx -p /tmp/badgateway-lab-A21u4E/ -c /tmp/badgateway-lab-A21u4E/nginx.conf -e /tmp/badgateway-lab-A21u4E/error.log -g daemon off;
18327 18326 nobody                           S        347 do_epoll_wait                    nginx: worker process
25445 25424 root                             Ss         0 do_epoll_wait                    php-fpm: master process (/tmp/badgateway-lab-SB41OF/php-fpm.conf)
25446 25445 nobody                           S          0 hrtimer_nanosleep                php-fpm: pool www
25447 25445 nobody                           S          0 hrtimer_nanosleep                php-fpm: pool www
25449 25424 root                             S          0 sigsuspend.isra.0                nginx: master process /usr/sbin/nginx -p /tmp/badgateway-lab-SB41OF/ -c /tmp/badgateway-lab-SB41OF/nginx.conf -e /tmp/badgateway-lab-SB41OF/error.log -g daemon off;
25450 25449 nobody                           S          0 do_epoll_wait                    nginx: worker process
25462 25370 root                             Rl         0 -                                /usr/bin/node /work/main/bin/badgateway.js analyze --json
`;

// Idle workers of a TCP pool wait in inet_csk_accept.
const PS_TCP_IDLE = `  PID  PPID USER                             STAT ELAPSED WCHAN                            COMMAND
25911 25894 root                             Ss         0 do_epoll_wait                    php-fpm: master process (/tmp/badgateway-lab-NuX0E5/php-fpm.conf)
25912 25911 nobody                           S          0 inet_csk_accept                  php-fpm: pool www
25913 25911 nobody                           S          0 inet_csk_accept                  php-fpm: pool www
`;

// `ss -lnxt` while SB41OF's pool was saturated (4 waiting, backlog 8), and a TCP lab's.
const SS_UNIX = `Netid State  Recv-Q Send-Q                           Local Address:Port   Peer Address:PortProcess
u_str LISTEN 0      244          /var/run/postgresql/.s.PGSQL.5432 4603              * 0          
u_str LISTEN 4      8      /tmp/badgateway-lab-SB41OF/php-fpm.sock 131466            * 0          
u_str LISTEN 0      80                     /run/mysqld/mysqld.sock 9903              * 0          
tcp   LISTEN 0      511                                  127.0.0.1:36339       0.0.0.0:*          
tcp   LISTEN 0      128                                    0.0.0.0:2024        0.0.0.0:*          
tcp   LISTEN 0      4096                                     [::1]:4369           [::]:*          
`;
const SS_TCP = `Netid State  Recv-Q Send-Q                           Local Address:Port   Peer Address:PortProcess
u_str LISTEN 0      244          /var/run/postgresql/.s.PGSQL.5432 4603              * 0          
tcp   LISTEN 4      8                                    127.0.0.1:44487       0.0.0.0:*          
tcp   LISTEN 0      511                                  127.0.0.1:6379        0.0.0.0:*          
tcp   LISTEN 0      511                                      [::1]:6379           [::]:*          
`;

const FPM_IDENTITY = [
  'now 1796505142 1796502357 100',
  'master 3622 1 0 276073 php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)',
  'pidfile 3622 3622 /run/php/php8.2-fpm.pid',
  'worker 3623 3622 www',
  'master 11853 1 0 301200 php-fpm: master process (/srv/app one/fpm.conf)',
  'pidfile 11853 - -',
  'worker 11854 11853 api',
  'master 12000 1 33 - php-fpm: master process (/home/x/fpm.conf)',
  'socket u_str LISTEN 0      4096              /run/php/php8.2-fpm.sock 630226       * 0 users:(("php-fpm8.2",pid=3623,fd=6),("php-fpm8.2",pid=3622,fd=8)) <-> ino:2162768 dev:0/65024 peers:',
  'socket tcp   LISTEN 0      4096   127.0.0.1:19555 0.0.0.0:* users:(("php-fpm8.2",pid=11854,fd=6),("php-fpm8.2",pid=11853,fd=8)) ino:634260 sk:12d1 cgroup:/ <->',
  '',
].join('\n');

describe('process table and socket parsers (captured output)', () => {
  it('finds the nginx and FPM masters and splits the nginx title into its options', () => {
    const rows = parsePs(PS_SATURATED);
    expect(rows).toHaveLength(13);
    expect(rows[0]).toMatchObject({ pid: 1, ppid: 0, user: 'root', stat: 'SLl', ageSeconds: 1805, wchan: '-' });
    expect(nginxMasters(rows)).toEqual([
      {
        pid: 18326,
        title: expect.stringContaining('nginx: master process'),
        program: '/usr/sbin/nginx',
        prefix: '/tmp/badgateway-lab-A21u4E/',
        conf: '/tmp/badgateway-lab-A21u4E/nginx.conf',
        errorLog: '/tmp/badgateway-lab-A21u4E/error.log',
      },
      expect.objectContaining({ pid: 25449, prefix: '/tmp/badgateway-lab-SB41OF/' }),
    ]);
    expect(fpmMasters(rows).map((m) => [m.pid, m.conf])).toEqual([
      [18323, '/tmp/badgateway-lab-A21u4E/php-fpm.conf'],
      [25445, '/tmp/badgateway-lab-SB41OF/php-fpm.conf'],
    ]);
  });

  it("counts a master's pool workers and tells busy from idle by their wait channel", () => {
    const rows = parsePs(PS_SATURATED);
    const saturated = fpmWorkers(rows, { masterPid: 25445, pool: 'www' });
    expect(saturated.map((w) => [w.pid, w.busy, w.ageSeconds])).toEqual([
      [25446, true, 0],
      [25447, true, 0],
    ]);
    expect(fpmWorkers(rows, { masterPid: 18323 }).map((w) => w.busy)).toEqual([false, false]);
    expect(fpmWorkers(rows, { pool: 'www' })).toHaveLength(4);
    expect(fpmWorkers(parsePs(PS_TCP_IDLE)).map((w) => w.busy)).toEqual([false, false]);
    // Without a wait channel (ps without wchan) busy is unknown, not guessed.
    expect(fpmWorkers(parsePs('  PID  PPID STAT COMMAND\n 7 6 S php-fpm: pool www\n'))[0]!.busy).toBeUndefined();
  });

  it("reads Recv-Q (queue) and Send-Q (backlog) of the pool's listening socket", () => {
    const unix = parseSs(SS_UNIX);
    expect(unix).toHaveLength(6);
    expect(findListenSocket(unix, '/tmp/badgateway-lab-SB41OF/php-fpm.sock')).toMatchObject({ netid: 'u_str', recvQ: 4, sendQ: 8 });
    expect(findListenSocket(unix, 'unix:/run/mysqld//mysqld.sock')).toMatchObject({ recvQ: 0, sendQ: 80 });
    expect(findListenSocket(unix, '/run/php/php8.2-fpm.sock')).toBeUndefined();
    const tcp = parseSs(SS_TCP);
    expect(findListenSocket(tcp, '127.0.0.1:44487')).toMatchObject({ netid: 'tcp', recvQ: 4, sendQ: 8, local: '127.0.0.1:44487' });
    expect(findListenSocket(tcp, '44487')).toMatchObject({ recvQ: 4 });
    expect(findListenSocket(tcp, '[::1]:6379')).toMatchObject({ local: '[::1]:6379' });
    expect(findListenSocket(tcp, '127.0.0.1:6379')).toMatchObject({ local: '127.0.0.1:6379' });
    expect(findListenSocket(tcp, '127.0.0.1:9000')).toBeUndefined();
    expect(findListenSocket(parseSs(SS_UNIX), '0.0.0.0:2024')).toMatchObject({ sendQ: 128 });
  });

  it("reads fpm.identity (captured: a unix-socket master with a pid file, a TCP one without, another user's)", () => {
    const report = parseFpmIdentity(FPM_IDENTITY);
    expect(report.masters).toEqual([
      {
        pid: 3622,
        ppid: 1,
        uid: 0,
        startTicks: 276073,
        startedAt: (1796502357 + 2760.73) * 1000,
        title: 'php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)',
        conf: '/etc/php/8.2/fpm/php-fpm.conf',
        pidFile: { path: '/run/php/php8.2-fpm.pid', names: 3622 },
      },
      { pid: 11853, ppid: 1, uid: 0, startTicks: 301200, startedAt: (1796502357 + 3012) * 1000, title: 'php-fpm: master process (/srv/app one/fpm.conf)', conf: '/srv/app one/fpm.conf' },
      { pid: 12000, ppid: 1, uid: 33, startTicks: null, startedAt: null, title: 'php-fpm: master process (/home/x/fpm.conf)', conf: '/home/x/fpm.conf' },
    ]);
    expect(report.workers).toEqual([
      { pid: 3623, ppid: 3622, pool: 'www' },
      { pid: 11854, ppid: 11853, pool: 'api' },
    ]);
    expect(report.sockets).toEqual([
      { local: '/run/php/php8.2-fpm.sock', inode: 630226, pids: [3623, 3622] },
      { local: '127.0.0.1:19555', inode: 634260, pids: [11854, 11853] },
    ]);
    // The master meant: by config, then the listen socket's owner; another config's master is not it.
    expect(pickMaster(report, { conf: '/etc/php/8.2/fpm/php-fpm.conf', listen: '/run/php/php8.2-fpm.sock' })).toMatchObject({ pid: 3622, workers: [3623], socket: { inode: 630226 } });
    expect(pickMaster(report, { listen: '127.0.0.1:19555' })).toMatchObject({ pid: 11853, socket: { local: '127.0.0.1:19555' } });
    expect(pickMaster(report, { pid: 12000 })).toMatchObject({ pid: 12000, socket: null });
    // Several masters and nothing to tell them apart: none rather than a guess.
    expect(pickMaster(report, {})).toBeNull();
    expect(pickMaster(report, { conf: '/etc/php/8.3/fpm/php-fpm.conf', pid: 999 })).toBeNull();
    // The master of the config meant is gone: another site's master, even the only one left, is not it...
    const other = parseFpmIdentity(
      FPM_IDENTITY.split('\n')
        .filter((l) => !/ 3622 | 3623 |12000|php8\.2-fpm\.sock/.test(l))
        .join('\n'),
    );
    expect(other.masters.map((m) => m.pid)).toEqual([11853]);
    expect(pickMaster(other, { conf: '/etc/php/8.2/fpm/php-fpm.conf', listen: '/run/php/php8.2-fpm.sock' })).toBeNull();
    // ...unless it owns the pool's listen socket (the config file was moved).
    expect(pickMaster(other, { conf: '/etc/php/8.2/fpm/php-fpm.conf', listen: '127.0.0.1:19555' })).toMatchObject({ pid: 11853 });
  });
});

describe('readFpmStatus against the real lab over real SSH', () => {
  const logger = createLogger({ level: 'silent' });
  let healthy: LabHost;
  let saturated: LabHost;
  let executor: SshExecutor;
  const ctx = (lh: LabHost): DiscoveryContext => ({ executor, catalog: lh.catalog, host: lh.hosts[0]! });

  beforeAll(async () => {
    [healthy, saturated] = await Promise.all([startLabHost(), startLabHost(poolExhaustedOptions)]);
    executor = new SshExecutor({ logger });
  });
  afterAll(async () => {
    await executor?.close();
    await Promise.all([healthy?.stop(), saturated?.stop()]);
  });

  it('answers from the status page on a healthy pool', async () => {
    const discovery = await discoverHost(ctx(healthy));
    expect(discovery.sources.fpmStatusUrl).toBe(healthy.lab.url('/fpm-status'));
    const reading = await readFpmStatus(ctx(healthy), discovery, { timeoutMs: 2000 });
    expect(reading.statusError).toBeUndefined();
    expect(reading.fallback).toBeUndefined();
    expect(reading.status).toMatchObject({ format: 'json', pool: 'www', processManager: 'dynamic', listenQueueMeaningful: false });
    expect(reading.status!.totalProcesses).toBeGreaterThanOrEqual(1);
  });

  it('falls back to ps + ss when the saturated pool cannot serve its own status page', async () => {
    const c = ctx(saturated);
    const discovery: Discovery = await discoverHost(c);
    expect(discovery.pool).toBe('www');
    // pm.max_children 2, listen.backlog 2: 8 slow requests fill both workers and the backlog.
    const flood = saturated.lab.requestMany('/sleep.php?s=3', 8, 8);
    const floodEnded = flood.then(() => Date.now());
    await sleep(500);
    const reading = await readFpmStatus(c, discovery, { timeoutMs: 1000 });
    const readAt = Date.now();
    // The reading gave up at its timeout while the pool was still busy: it did not wait for a free worker.
    expect(readAt).toBeLessThan(await floodEnded);
    expect(reading.status).toBeUndefined();
    // nginx answers 502 at once when the unix backlog is full (EAGAIN), else curl gives up after 1 s.
    expect(reading.statusError).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/fpm-status did not answer: curl: \((22|28)\)/);
    expect(reading.fallback).toMatchObject({
      workers: 2,
      busyWorkers: 2,
      maxChildren: 2,
      listen: saturated.lab.fpmListen,
      backlog: 2,
      problems: [],
    });
    expect(reading.fallback!.queue).toBeGreaterThanOrEqual(1);
    expect(reading.fallback!.processes.map((p) => p.pool)).toEqual(['www', 'www']);
    expect(reading.fallback!.processes.every((p) => p.ageSeconds !== null && p.state !== null)).toBe(true);
  });
});
