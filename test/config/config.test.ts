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
    expect(() => loadConfig({ path: '/nonexistent/badgateway.yaml', env: {} })).toThrow(/cannot read it: file not found/);
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
