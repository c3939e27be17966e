import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfigText, parseDuration, parseSize } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { REPO_ROOT, writeConfig } from '../support/config.js';

function problemsOf(text: string): string[] {
  try {
    parseConfigText(text, 'badgateway.yaml', {});
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

describe('config loading', () => {
  it('loads the shipped example and applies host overrides over fleet defaults', () => {
    const config = parseConfigText(readFileSync(join(REPO_ROOT, 'badgateway.example.yaml'), 'utf8'), join(REPO_ROOT, 'x.yaml'), {});
    const web03 = config.hosts.find((h) => h.name === 'web-03')!;
    const web01 = config.hosts.find((h) => h.name === 'web-01')!;
    expect(web03.ssh.port).toBe(2222);
    expect(web01.ssh.port).toBe(22);
    expect(web03.ssh.user).toBe('badgateway');
    expect(web03.sources.fpmService).toBe('php8.3-fpm');
    expect(web01.sources.fpmService).toBe('php8.2-fpm');
    expect(web03.sources.accessLog).toBe('/var/log/nginx/access.log');
    expect(web03.ssh.connectTimeoutMs).toBe(10_000);
    expect(web03.groups).toEqual(['web', 'canary']);
    expect(config.schedules[0]!.timezone).toBe('Europe/Berlin');
    expect(config.fanout.concurrency).toBe(8);
  });

  it('lists every problem with its path in the file', () => {
    const problems = problemsOf(`
hosts:
  web-03:
    port: "twenty-two"
    sources:
      accessLog: relative/path.log
  "bad host!":
    address: 10.0.0.1
ssh:
  connectTimeout: soon
slack:
  approvers: [bob]
`);
    expect(problems).toContain('hosts.web-03.port: expected number, received string');
    expect(problems.some((p) => p.startsWith('hosts.web-03.sources.accessLog: expected an absolute path'))).toBe(true);
    expect(problems.some((p) => p.startsWith('hosts.bad host!'))).toBe(true);
    expect(problems.some((p) => p.startsWith('ssh.connectTimeout: expected a duration'))).toBe(true);
    expect(problems.some((p) => p.startsWith('slack.approvers.0: expected a Slack user ID'))).toBe(true);
  });

  it('refuses a zero duration wherever 0 would not mean "off", with its path; 0 is "off" where it says so', () => {
    const problems = problemsOf(`
ssh:
  connectTimeout: 0
  idleTimeout: 0s
hosts:
  web-01:
    commandTimeout: 0ms
approvals:
  expiry: 0
  verifyTimeout: 0s
  verifyWindow: 0
shutdown:
  drainTimeout: 0
schedules:
  - { name: m, cron: "0 8 * * *", targets: ["@web"], window: 0h }
alerts:
  tokenEnv: T
  channel: C0123
  window: 0
  resolvedWindow: 0m
  cooldown: 0
  triggers:
    - { alertnames: [A], window: 0, cooldown: 0 }
`);
    expect(problems.sort()).toEqual(
      [
        'alerts.resolvedWindow',
        'alerts.triggers.0.window',
        'alerts.window',
        'approvals.expiry',
        'approvals.verifyTimeout',
        'hosts.web-01.commandTimeout',
        'schedules.0.window',
        'shutdown.drainTimeout',
        'ssh.connectTimeout',
        'ssh.idleTimeout',
      ].map((path) => expect.stringMatching(new RegExp(`^${path.replace(/\./g, '\\.')}: must be more than 0`))),
    );
    const negative = problemsOf('approvals:\n  expiry: -5\n');
    expect(negative).toEqual(['approvals.expiry: expected a duration like 10s, 5m or 500ms, got "-5"']);
    const config = parseConfigText('approvals:\n  expiry: 90s\n  verifyWindow: 0\nshutdown:\n  drainTimeout: 5s\n', 'b.yaml', {});
    expect(config.approvals).toEqual({ expiryMs: 90_000, verifyWindowMs: 0, verifyTimeoutMs: 30_000 });
    expect(config.shutdown).toEqual({ drainTimeoutMs: 5000 });
    expect(parseConfigText('hosts: {}\n', 'b.yaml', {}).shutdown).toEqual({ drainTimeoutMs: 20_000 });
  });

  it('badgateway start refuses approvals.expiry: 0 before anything opens: exit 2, one line naming the setting', () => {
    const file = writeConfig({ approvals: { expiry: 0 }, hosts: {} });
    const run = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'badgateway.js'), 'start', '--config', file], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, LOG_LEVEL: '', BADGATEWAY_DATA_DIR: 'memory://', SLACK_BOT_TOKEN: '', SLACK_APP_TOKEN: '', SLACK_SIGNING_SECRET: '' },
    });
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(`${file} is invalid: approvals.expiry: must be more than 0`);
  });

  it('names unknown settings instead of ignoring a typo', () => {
    expect(problemsOf('hosts:\n  web-01:\n    adress: 10.0.0.1\n')).toEqual(['hosts.web-01: unknown setting "adress"']);
  });

  it('reports YAML syntax errors with their line', () => {
    const problems = problemsOf('hosts:\n  web-01:\n    address: [unclosed\n');
    expect(problems[0]).toMatch(/^line \d+: /);
  });

  it('refuses addresses a shell could expand', () => {
    expect(problemsOf('hosts:\n  web-01:\n    address: "$(reboot)"\n')[0]).toMatch(/^hosts\.web-01\.address: expected a host name or IP address/);
  });

  it('rejects an invalid cron expression and time zone', () => {
    const problems = problemsOf('schedules:\n  - name: m\n    cron: "99 * * * *"\n    timezone: Mars/Base\n    targets: ["@web"]\n');
    expect(problems).toContain('schedules.0.cron: expected a cron expression like "0 8 * * *"');
    expect(problems).toContain('schedules.0.timezone: expected an IANA time zone like Europe/Berlin');
  });

  it('reads the key passphrase from the named environment variable and fails when it is unset', () => {
    const text = 'hosts:\n  web-01:\n    passphraseEnv: KEY_PASS\n';
    expect(parseConfigText(text, 'b.yaml', { KEY_PASS: 's3cret' }).hosts[0]!.ssh.passphrase).toBe('s3cret');
    expect(problemsOf(text)).toEqual(['hosts.web-01.passphraseEnv: environment variable KEY_PASS is not set']);
  });

  it('falls back to the built-in localhost inventory only when no config was asked for', () => {
    const cwd = process.cwd();
    process.chdir(mkdtempSync(join(tmpdir(), 'badgateway-noconfig-')));
    try {
      const config = loadConfig({ env: {} });
      expect(config.file).toBeNull();
      expect(config.hosts.map((h) => [h.name, h.transport])).toEqual([['localhost', 'local']]);
    } finally {
      process.chdir(cwd);
    }
    expect(() => loadConfig({ path: '/nonexistent/badgateway.yaml', env: {} })).toThrow(/^config file \/nonexistent\/badgateway.yaml does not exist \(named by --config\)/);
  });

  it('loads a file given by BADGATEWAY_CONFIG', () => {
    const file = writeConfig({ hosts: { 'db-1': { address: '10.1.1.1', groups: ['db'] } } });
    const config = loadConfig({ env: { BADGATEWAY_CONFIG: file } });
    expect(config.file).toBe(file);
    expect(config.hosts.map((h) => h.name)).toEqual(['db-1']);
  });
});

describe('units', () => {
  it.each([
    ['15m', 900_000],
    ['90s', 90_000],
    ['500ms', 500],
    ['2h', 7_200_000],
    ['1h30m', 5_400_000],
    ['7d', 604_800_000],
    ['45', 45_000],
  ])('parses duration %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'soon', '15 m', '-5m', '5x', 'm', '1h30'])('rejects duration %j', (text) => {
    expect(parseDuration(text)).toBeNull();
  });

  it('parses sizes in binary and decimal units', () => {
    expect(parseSize('64KiB')).toBe(65_536);
    expect(parseSize('10MB')).toBe(10_000_000);
    expect(parseSize('1GiB')).toBe(1024 ** 3);
    expect(parseSize('512')).toBe(512);
    expect(parseSize('lots')).toBeNull();
  });
});
