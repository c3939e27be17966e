/**
 * Triage end to end: real OpenSSH in front of the real nginx + PHP-FPM lab. Each fault is driven for
 * real, then `triage` discovers the host over SSH, reads only the window, and must name the cause.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createServices } from '../../src/app/services.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/index.js';
import { LAB_LOG_FORMAT } from '../lab/lab.js';
import { SCENARIOS } from '../lab/scenarios.js';
import { REPO_ROOT, writeConfig } from '../support/config.js';
import { hostConfig, startIsolatedSshd, startLabHost, type LabHost } from '../support/lab-host.js';
import { freePort } from '../support/sshd.js';
import { expectedTopCause } from '../diagnose/support.js';

const quiet = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });
const started: LabHost[] = [];
afterAll(async () => {
  await Promise.all(started.map((h) => h.stop()));
});

const FAULTS = SCENARIOS;

describe('triage over SSH of real lab faults', () => {
  // Each scenario has its own lab and sshd on their own ports, so a few run at once.
  it.concurrent.each(FAULTS.map((s) => s.name))(
    '%s',
    async (name) => {
      const scenario = FAULTS.find((s) => s.name === name)!;
      const labHost = await startLabHost(scenario.labOptions);
      started.push(labHost);
      await scenario.run(labHost.lab);
      const services = createServices(labHost.config, quiet);
      try {
        const result = await services.triage({ target: 'web-lab', sinceMs: 15 * 60_000 });
        const host = result.hosts[0]!;
        expect(host.error).toBeNull();
        const causes = host.report!.diagnosis.causes.map((c) => `${c.id}:${c.confidence}`);
        expect(host.report!.diagnosis.causes[0]!.id, causes.join(' ')).toBe(expectedTopCause(scenario.expectedCause));
        const read = host.report!.sources.filter((s) => s.status === 'read').map((s) => s.source);
        if (scenario.expectedCause === 'fpm_down') {
          // Other labs' PHP-FPM masters run beside this one: none of them may stand in for the pool that is down.
          expect(read).toEqual(expect.arrayContaining(['access', 'error', 'nginxConfig']));
          expect(read).not.toContain('fpmLog');
          expect(read).not.toContain('fpmStatus');
          expect(host.report!.sources.find((s) => s.source === 'fpmLog')).toMatchObject({ status: 'missing', detail: 'no running PHP-FPM master serves the pool nginx passes PHP to' });
          expect(host.report!.diagnosis.notes.join('\n')).toMatch(/no running PHP-FPM master serves what nginx passes PHP to/);
        } else {
          expect(read).toEqual(expect.arrayContaining(['access', 'error', 'fpmLog', 'nginxConfig', 'fpmConfig']));
        }
        expect(host.bytesFetched).toBeGreaterThan(0);
        expect(host.report!.vitals?.loadAverage).not.toBeNull();
      } finally {
        await services.close();
      }
    },
    120_000,
  );
});

describe('fan-out', () => {
  it('runs many hosts in parallel, worst first, and a down or unpinned host is a row, not an abort', async () => {
    const labHost = await startLabHost({}, { names: ['web-1'] });
    started.push(labHost);
    await SCENARIOS.find((s) => s.name === 'header_too_big')!.run(labHost.lab);
    const deadPort = await freePort();
    const pinned = hostConfig(labHost.sshd, { accessLog: labHost.lab.paths.access });
    const wrongKeys = join(labHost.sshd.dir, 'wrong_known_hosts');
    writeFileSync(wrongKeys, `[127.0.0.1]:${labHost.sshd.port} ${labHost.sshd.otherPublicKey}\n`);
    const config = loadConfig({
      path: writeConfig({
        catalog: join(REPO_ROOT, 'commands'),
        ssh: { concurrency: 4 },
        hosts: {
          'web-1': { ...pinned, groups: ['web'] },
          'web-2': { ...pinned, groups: ['web'] },
          'web-3': { ...pinned, groups: ['web'] },
          'web-down': { ...pinned, port: deadPort, groups: ['web'] },
          'web-mitm': { ...pinned, knownHosts: wrongKeys, groups: ['web'] },
        },
      }),
      env: {},
    });
    const services = createServices(config, quiet);
    const progress: string[] = [];
    try {
      const result = await services.triage({ target: '@web', sinceMs: 15 * 60_000, onProgress: (e) => progress.push(e.type) });
      expect(
        result.rows
          .map((r) => r.host)
          .slice(0, 2)
          .sort(),
      ).toEqual(['web-down', 'web-mitm']);
      expect(result.rows.find((r) => r.host === 'web-down')!.error).toMatch(/connection refused/);
      expect(result.rows.find((r) => r.host === 'web-mitm')!.error).toMatch(/HOST KEY CHANGED/);
      for (const name of ['web-1', 'web-2', 'web-3']) {
        const row = result.rows.find((r) => r.host === name)!;
        expect(row.error).toBeNull();
        expect(row.topCause).toBe('header_too_big');
      }
      expect(result.hosts.map((h) => h.host)).toEqual(result.rows.map((r) => r.host));
      expect(progress.filter((p) => p === 'host-done')).toHaveLength(5);
    } finally {
      await services.close();
    }
  }, 120_000);
});

describe('unknown is not healthy', () => {
  it('a host where nginx no longer runs: requests it served before are no evidence of health now', async () => {
    const labHost = await startLabHost({});
    started.push(labHost);
    for (let i = 0; i < 5; i++) await labHost.lab.request('/ok.php');
    // The same files, seen from a host (its own PID namespace) where no nginx or PHP-FPM runs.
    const isolated = await startIsolatedSshd(labHost.sshd);
    try {
      const config = loadConfig({
        path: writeConfig({
          catalog: join(REPO_ROOT, 'commands'),
          hosts: {
            'web-stopped': hostConfig(isolated, {
              accessLog: labHost.lab.paths.access,
              logFormat: labHost.config.hosts[0]!.sources.logFormat ?? `'${LAB_LOG_FORMAT}'`,
              errorLog: labHost.lab.paths.error,
            }),
          },
        }),
        env: {},
      });
      const services = createServices(config, quiet);
      try {
        const report = (await services.triage({ target: 'web-stopped', sinceMs: 15 * 60_000 })).hosts[0]!.report!;
        expect(report.access?.requests).toBeGreaterThanOrEqual(5);
        expect(report.diagnosis.causes.map((c) => c.id)).not.toContain('healthy');
        expect(report.diagnosis.verdict).toMatchObject({
          status: 'unknown',
          why: expect.stringMatching(/^no nginx master runs on the host, so its access log describes the past; its newest entry is at /),
        });
      } finally {
        await services.close();
      }
    } finally {
      await isolated.stop();
    }
  }, 120_000);
});

describe("sources that are not the host's own", () => {
  it("a configured access log the running nginx does not write is not read as this host's traffic", async () => {
    const labHost = await startLabHost({});
    started.push(labHost);
    for (let i = 0; i < 5; i++) await labHost.lab.request('/ok.php');
    await labHost.lab.readLogs();
    // Another server's log copied beside this nginx's own (same directory, so the right master is still picked).
    const foreign = join(dirname(labHost.lab.paths.access), 'copied-from-web-07.log');
    copyFileSync(labHost.lab.paths.access, foreign);
    const config = loadConfig({
      path: writeConfig({
        catalog: join(REPO_ROOT, 'commands'),
        hosts: { 'web-lab': hostConfig(labHost.sshd, { accessLog: foreign, logFormat: `'${LAB_LOG_FORMAT}'`, errorLog: labHost.lab.paths.error }) },
      }),
      env: {},
    });
    const services = createServices(config, quiet);
    try {
      const report = (await services.triage({ target: 'web-lab', sinceMs: 15 * 60_000 })).hosts[0]!.report!;
      expect(report.access).toBeNull();
      expect(report.diagnosis.causes.map((c) => c.id)).not.toContain('healthy');
      expect(report.diagnosis.verdict).toMatchObject({
        status: 'unknown',
        why: `the configured access log ${foreign} is not one the running nginx (pid ${readFileSync(join(labHost.lab.dir, 'nginx.pid'), 'utf8').trim()}) writes: its config names ${labHost.lab.paths.access}`,
        needs: expect.stringMatching(/^sources\.accessLog set to a log this host's nginx writes/),
      });
    } finally {
      await services.close();
    }
  }, 120_000);
});

describe('an incident that spans a log rotation', () => {
  it('counts the failures on both sides of the rotation, read from the rotated and the new files', async () => {
    const labHost = await startLabHost({ fpmListen: 'unix' }, { sources: (lab) => ({ errorLog: lab.paths.error }) });
    started.push(labHost);
    const { lab } = labHost;
    await lab.requestMany('/ok.php', 6, 2);
    await lab.stopFpm('SIGTERM');
    const before = await lab.requestMany('/ok.php', 4, 2);
    await lab.rotateLogs();
    const after = await lab.requestMany('/ok.php', 3, 1);
    expect([...before, ...after].map((r) => r.status)).toEqual(Array(7).fill(502));
    await lab.readLogs();
    const services = createServices(labHost.config, quiet);
    try {
      const report = (await services.triage({ target: 'web-lab', sinceMs: 15 * 60_000 })).hosts[0]!.report!;
      expect(report.access?.count502).toBe(7);
      expect(report.access?.requests).toBe(13);
      const top = report.diagnosis.causes[0]!;
      expect(top.id).toBe('fpm_down');
      expect(top.explains).toBe(7);
    } finally {
      await services.close();
    }
  }, 120_000);
});

describe('time zones: hosts and bot in different zones', () => {
  // request_terminate_timeout is named only from PHP-FPM's log and nginx's error log, both zone-less:
  // read in the wrong zone they fall out of the window and the verdict changes.
  const scenario = SCENARIOS.find((s) => s.name === 'request_terminate_timeout')!;
  const bin = join(REPO_ROOT, 'bin', 'badgateway.js');
  const triageIn = (labHost: LabHost, botZone: string) => {
    const run = spawnSync(process.execPath, [bin, 'triage', 'web-lab', '--json', '--config', labHost.configFile], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, TZ: botZone },
    });
    expect(run.status, run.stderr).toBe(0);
    return JSON.parse(run.stdout).hosts[0].report;
  };

  it.concurrent.each([
    ['UTC', ['UTC', 'Asia/Tokyo', 'America/St_Johns']],
    ['Asia/Tokyo', ['UTC', 'America/St_Johns']],
    ['America/St_Johns', ['Asia/Kolkata']],
  ])(
    'hosts logging in %s: the same verdict with the bot in %j',
    async (hostZone, botZones) => {
      const labHost = await startLabHost({ ...scenario.labOptions, tz: hostZone });
      started.push(labHost);
      await scenario.run(labHost.lab);
      for (const botZone of botZones) {
        const report = triageIn(labHost, botZone);
        expect(report.diagnosis.causes[0]?.id, `bot in ${botZone}`).toBe('request_terminate_timeout');
        const fpmLog = report.sources.find((s: { source: string }) => s.source === 'fpmLog');
        // The FPM log was read at the zone nginx writes into its access log (the host's daemons' zone).
        const offset = new Intl.DateTimeFormat('en-US', { timeZone: hostZone, timeZoneName: 'longOffset' }).formatToParts(new Date(report.window.to)).find((p) => p.type === 'timeZoneName')!.value;
        const expected = offset === 'GMT' ? '+0000' : offset.slice(3).replace(':', '');
        expect(fpmLog.detail, `bot in ${botZone}`).toContain(`times read at UTC${expected}`);
      }
    },
    120_000,
  );
});

describe('badgateway triage (CLI)', () => {
  it('prints the verdict, exits 0, and --json carries per-host timings and sources', async () => {
    const labHost = await startLabHost({}, { names: ['web-lab'] });
    started.push(labHost);
    await SCENARIOS.find((s) => s.name === 'worker_crash')!.run(labHost.lab);
    const bin = join(REPO_ROOT, 'bin', 'badgateway.js');
    const text = spawnSync(process.execPath, [bin, 'triage', 'web-lab', '--since', '10m', '--config', labHost.configFile], { encoding: 'utf8', timeout: 60_000 });
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^Host: web-lab\nVERDICT: PHP-FPM workers crashed \(worker_crash, confidence/);
    const json = spawnSync(process.execPath, [bin, 'triage', 'web-lab', '--json', '--config', labHost.configFile], { encoding: 'utf8', timeout: 60_000 });
    const result = JSON.parse(json.stdout);
    expect(result.hosts[0].timings.total).toBeGreaterThan(0);
    expect(result.hosts[0].report.diagnosis.causes[0].id).toBe('worker_crash');
    expect(result.hosts[0].report.sources.find((s: { source: string }) => s.source === 'access').status).toBe('read');
  }, 120_000);

  it.each([
    [['triage', 'web-lab;id'], /is not a host name, group or glob/],
    [['triage', 'web-lab', '--since', 'forever'], /--since "forever" is not a duration/],
    [['triage'], /triage needs one target/],
  ])('bad usage %j exits 2 and connects nowhere', (args, message) => {
    const config = writeConfig({ hosts: { 'web-lab': { address: '127.0.0.1', port: 1 } } });
    const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'badgateway.js'), ...args, '--config', config], { encoding: 'utf8', timeout: 30_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });
});
