import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLoadavg, parseMeminfo, parseOomReport, parseOpenFileLimits, parseUptime } from '../../src/collect/vitals-parse.js';
import { readVitals } from '../../src/collect/vitals.js';
import { Catalog } from '../../src/catalog/index.js';
import { SshExecutor } from '../../src/exec/index.js';
import { createLogger } from '../../src/log/index.js';
import { startLabHost, type LabHost } from '../support/lab-host.js';

// `cat /proc/uptime /proc/loadavg` on the lab machine.
const UPTIME = '1582.36 2291.14\n1.12 1.00 0.83 1/185 20666\n';

// Head of /proc/meminfo (no swap configured).
const MEMINFO = `MemTotal:       24684092 kB
MemFree:        22316912 kB
MemAvailable:   23844116 kB
Buffers:            2632 kB
Cached:          1740872 kB
SwapCached:            0 kB
Active(anon):      26216 kB
SwapTotal:             0 kB
SwapFree:              0 kB
HugePages_Total:       0
`;

// host.open-file-limits: `== PID TITLE` + the `Max open files` line of /proc/PID/limits.
const LIMITS = `== 18323 php-fpm: master process (/tmp/badgateway-lab-A21u4E/php-fpm.conf)
Max open files            20000                20000                files     
== 18326 nginx: master process /usr/sbin/nginx -p /tmp/badgateway-lab-A21u4E/ -c /tmp/badgateway-lab-A21u4E/nginx.conf -e /tmp/badgateway-lab-A21u4E/error.log -g daemon off;
Max open files            1024                 524288               files     
== 777 nginx: master process /usr/sbin/nginx -g daemon on; master_process on;
unreadable
`;

// host.oom-kills after a real kill: a PHP CLI process past a 64 MiB memory cgroup limit.
const OOM = `uptime 2018.35
[ 1795.298864] php invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0
[ 1795.300801] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/bgoomtest,task_memcg=/bgoomtest,task=php,pid=25203,uid=0
[ 1795.300827] Memory cgroup out of memory: Killed process 25203 (php) total-vm:187996kB, anon-rss:65024kB, file-rss:10256kB, shmem-rss:0kB, UID:0 pgtables:344kB oom_score_adj:0
`;

describe('vitals parsers (captured output)', () => {
  it('reads uptime and load average from one cat', () => {
    expect(parseUptime(UPTIME)).toBe(1582.36);
    expect(parseLoadavg(UPTIME.split('\n')[1]!)).toEqual({ one: 1.12, five: 1, fifteen: 0.83, running: 1, total: 185 });
    expect(parseLoadavg('garbage')).toBeNull();
  });

  it('reads memory in bytes', () => {
    expect(parseMeminfo(MEMINFO)).toEqual({
      totalBytes: 24684092 * 1024,
      availableBytes: 23844116 * 1024,
      swapTotalBytes: 0,
      swapFreeBytes: 0,
    });
    expect(parseMeminfo('')).toEqual({ totalBytes: null, availableBytes: null, swapTotalBytes: null, swapFreeBytes: null });
  });

  it("reads the masters' open-file limits", () => {
    expect(parseOpenFileLimits(LIMITS).map(({ process, pid, soft, hard }) => ({ process, pid, soft, hard }))).toEqual([
      { process: 'php-fpm', pid: 18323, soft: 20000, hard: 20000 },
      { process: 'nginx', pid: 18326, soft: 1024, hard: 524288 },
      { process: 'nginx', pid: 777, soft: null, hard: null },
    ]);
  });

  it('counts one OOM kill per killed pid, with its age', () => {
    expect(parseOomReport(OOM)).toEqual([
      {
        secondsAgo: 223,
        pid: 25203,
        process: 'php',
        cgroup: true,
        line: expect.stringContaining('Memory cgroup out of memory: Killed process 25203 (php)'),
      },
    ]);
    expect(parseOomReport('uptime 100.5\n')).toEqual([]);
    expect(parseOomReport('Out of memory: Killed process 4242 (php-fpm8.2) total-vm:1kB\n')).toEqual([
      { secondsAgo: null, pid: 4242, process: 'php-fpm8.2', cgroup: false, line: 'Out of memory: Killed process 4242 (php-fpm8.2) total-vm:1kB' },
    ]);
  });
});

describe('readVitals over real SSH', () => {
  const logger = createLogger({ level: 'silent' });
  let lh: LabHost;
  let executor: SshExecutor;

  beforeAll(async () => {
    lh = await startLabHost();
    executor = new SshExecutor({ logger });
  });
  afterAll(async () => {
    await executor?.close();
    await lh?.stop();
  });

  it("reads load, memory, somaxconn, OOM kills and the lab masters' open-file limits", async () => {
    const vitals = await readVitals({ executor, catalog: lh.catalog, host: lh.hosts[0]! });
    expect(vitals.loadAverage).toMatchObject({ one: expect.any(Number), five: expect.any(Number), fifteen: expect.any(Number) });
    expect(vitals.uptimeSeconds).toBeGreaterThan(0);
    expect(vitals.cpus).toBeGreaterThanOrEqual(1);
    expect(vitals.memory!.totalBytes).toBeGreaterThan(0);
    expect(vitals.memory!.availableBytes).toBeGreaterThan(0);
    expect(vitals.somaxconn).toBe(Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim()));
    // The kernel log may be closed (containers): then null, and the reason is in problems.
    if (vitals.oomKills === null) expect(vitals.problems).toContainEqual(expect.stringMatching(/^OOM kills unknown: the kernel log cannot be read \(.+\)$/));
    else expect(Array.isArray(vitals.oomKills)).toBe(true);
    const fpmPid = lh.lab.fpmMasterPid()!;
    expect(vitals.openFileLimits).toContainEqual(expect.objectContaining({ process: 'php-fpm', pid: fpmPid, soft: expect.anything(), hard: expect.anything() }));
    expect(vitals.openFileLimits).toContainEqual(expect.objectContaining({ process: 'nginx', title: expect.stringContaining(`-c ${lh.lab.paths.nginxConf}`), soft: expect.anything() }));
    expect(vitals.problems.filter((p) => !p.startsWith('OOM kills unknown'))).toEqual([]);
  });

  it('says what it cannot read instead of failing (a catalog folder without the newer entries)', async () => {
    const catalog = new Catalog(lh.catalog.list().filter((c) => c.id !== 'host.oom-kills' && c.id !== 'host.cpus'));
    const vitals = await readVitals({ executor, catalog, host: lh.hosts[0]! });
    expect(vitals.oomKills).toBeNull();
    expect(vitals.cpus).toBeNull();
    expect(vitals.problems).toEqual([
      expect.stringMatching(/^CPU count unknown: host\.cpus is not in the command catalog/),
      expect.stringMatching(/^OOM kills unknown: host\.oom-kills is not in the command catalog/),
    ]);
    expect(vitals.memory!.totalBytes).toBeGreaterThan(0);
  });
});
