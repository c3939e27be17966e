import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_LOG_FORMAT } from '../lab/lab.js';
import { REPO_ROOT, testCatalogDir, writeConfig } from '../support/config.js';
import { sharedSshd } from '../support/shared-sshd.js';
import type { TestSshd } from '../support/sshd.js';

const BIN = join(REPO_ROOT, 'bin', 'badgateway.js');

function cli(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, BADGATEWAY_CONFIG: '', LOG_LEVEL: '', ...env },
    cwd: REPO_ROOT,
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

let sshd: TestSshd;
let configFile: string;

beforeAll(async () => {
  sshd = sharedSshd();
  configFile = writeConfig({
    ssh: { user: sshd.user, privateKey: sshd.clientKey, knownHosts: sshd.knownHosts, connectTimeout: '2s' },
    sources: { accessLog: '/etc/hostname' },
    catalog: testCatalogDir(),
    hosts: {
      'web-lab': { address: '127.0.0.1', port: sshd.port, groups: ['web'] },
      'web-unpinned': { address: 'localhost', port: sshd.port, groups: ['web'] },
    },
  });
});
afterAll(async () => {
  await sshd?.stop();
});

describe('badgateway CLI', () => {
  it('lists the inventory', () => {
    const { code, stdout } = cli(['hosts', '--config', configFile]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^HOST\s+ADDRESS/);
    expect(stdout).toMatch(new RegExp(`web-lab\\s+127\\.0\\.0\\.1:${sshd.port}\\s+${sshd.user}\\s+ssh\\s+@web`));
  });

  it('runs a catalog command on a pinned host over real SSH', () => {
    const { code, stdout } = cli(['run', 'web-lab', 'log.tail', 'source=accessLog', 'lines=5', '--config', configFile]);
    expect(code).toBe(0);
    expect(stdout.length).toBeGreaterThan(0);
    expect(stdout.trim()).toBe(spawnSync('tail', ['-n', '5', '/etc/hostname'], { encoding: 'utf8' }).stdout.trim());
  });

  it('refuses a host whose key is not pinned, with exit 1 and one line', () => {
    const { code, stdout, stderr } = cli(['run', 'web-unpinned', 'host.uname', '--config', configFile]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^badgateway: web-unpinned: host key not pinned: .*SHA256:/);
  });

  it('exits 1 with the exit code when the remote command fails', () => {
    const { code, stderr } = cli(['run', 'web-lab', 'test.fail', '--config', configFile]);
    expect(code).toBe(1);
    expect(stderr).toContain('something broke');
    expect(stderr).toContain('badgateway: web-lab: test.fail exited with code 3.');
  });

  it.each([
    [['run', 'web-03;id', 'host.uname'], /is not a host name, group or glob/],
    [['run', 'web-lb', 'host.uname'], /Unknown host "web-lb"\. Did you mean web-lab\?/],
    [['run', '@web', 'host.uname'], /run takes exactly one host; "@web" names 2/],
    [['run', 'web-lab', 'rm.rf'], /"rm\.rf" is not in the command catalog/],
    [['run', 'web-lab', 'fpm.reload'], /changes the host; it runs only through an approval/],
    [['run', 'web-lab', 'log.tail', 'source=accessLog', 'lines=$(id)'], /lines must be a whole number/],
    [['run', 'web-lab'], /run needs a host and a command id/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['hosts', '--bogus'], /^badgateway: unknown option "--bogus"\. It takes --json\. Usage: badgateway hosts \[--json\]\n/],
    [['triag', 'web-lab'], /unknown command "triag"\. Did you mean `badgateway triage`\?/],
    [['run', 'web-lab', 'host.uptim'], /"host\.uptim" is not in the command catalog\. Did you mean host\.uptime\? `badgateway commands` lists them\./],
    [['triage', 'web-lab', '--sinc', '5m'], /^badgateway: unknown option "--sinc"\. Did you mean --since\? It takes --since, --until, --json\. Usage: badgateway triage TARGET/],
    [['triage', 'web-lab', '--since'], /^badgateway: --since needs a value\. Usage: /],
    [['commands', '--json=yes'], /^badgateway: --json takes no value\. Usage: /],
  ])('bad usage %j exits 2 with one clear line and runs nothing', (args, message) => {
    const { code, stdout, stderr } = cli([...args, '--config', configFile]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(message);
  });

  it('a bad config exits 2 with one line per problem', () => {
    const bad = writeConfig('hosts:\n  web-03:\n    port: twenty\n    adress: x\nssh:\n  connectTimeout: soon\n');
    const { code, stderr } = cli(['hosts', '--config', bad]);
    expect(code).toBe(2);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe(`badgateway: ${bad} has 3 problems:`);
    expect(stderr).toContain('hosts.web-03.port: expected number, received string');
    expect(stderr).toContain('hosts.web-03: unknown setting "adress"');
    expect(stderr).toContain('ssh.connectTimeout: expected a duration');
  });

  it('a YAML alias bomb is bad config: exit 2 with the reason, at once', () => {
    // "Billion laughs": nine levels of nine aliases each would expand to 9^9 strings.
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const bomb = writeConfig(`${levels.join('\n')}\nhosts:\n  web-03: {}\n`);
    const started = Date.now();
    const { code, stderr } = cli(['hosts', '--config', bomb]);
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('its aliases expand too far (more than 100 expansions, as in a YAML alias bomb)');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('a missing config file exits 2 with one line naming who named it and what to do', () => {
    const { code, stderr } = cli(['hosts', '--config', '/nonexistent/b.yaml']);
    expect(code).toBe(2);
    expect(stderr).toBe('badgateway: config file /nonexistent/b.yaml does not exist (named by --config). Check the path, or write one there with `badgateway init /nonexistent/b.yaml`.\n');
    const fromEnv = cli(['hosts'], { BADGATEWAY_CONFIG: '/nonexistent/c.yaml' });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain('config file /nonexistent/c.yaml does not exist (named by BADGATEWAY_CONFIG)');
  });

  it('`commands` shows what each command takes; `run` reads /proc output in words, the raw text under it', () => {
    const list = cli(['commands', '--config', configFile]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+KIND\s+TAKES\s+DESCRIPTION$/m);
    expect(list.stdout).toMatch(/^log\.tail\s+read-only\s+source=accessLog\|errorLog\|fpmLog\|slowLog lines=N\(1\.\.\d+\)/m);
    expect(list.stdout).toMatch(/^host\.uptime\s+read-only\s+-\s+uptime and load average$/m);
    expect(list.stdout).toMatch(/^fpm\.reload\s+mutating\s+\(host: fpmService\)/m);
    expect(list.stdout).toContain('Run a read-only one: badgateway run HOST ID [name=value ...]');
    const json = JSON.parse(cli(['commands', '--json', '--config', configFile]).stdout) as { commands: Array<{ id: string; params: object; sources: string[] }> };
    expect(json.commands.find((c) => c.id === 'log.read-range')).toMatchObject({ params: { offset: { type: 'integer', min: 0 } }, sources: [] });

    const uptime = cli(['run', 'web-lab', 'host.uptime', '--config', configFile]);
    expect(uptime.code).toBe(0);
    expect(uptime.stdout).toMatch(
      /^up (\d+ d )?(\d+ h )?\d+ min; load average [\d.]+ \(1 min\), [\d.]+ \(5 min\), [\d.]+ \(15 min\); \d+ of \d+ tasks runnable now\n--- host\.uptime output ---\n[\d.]+ [\d.]+\n/,
    );
    const raw = cli(['run', 'web-lab', 'host.uptime', '--raw', '--config', configFile]);
    expect(raw.stdout).toMatch(/^[\d.]+ [\d.]+\n[\d.]+ [\d.]+ [\d.]+ \d+\/\d+ \d+\n$/);
    const memory = cli(['run', 'web-lab', 'host.memory', '--config', configFile]);
    expect(memory.stdout).toMatch(/^memory [\d.]+ GiB available of [\d.]+ GiB; (swap [\d.]+ GiB free of [\d.]+ GiB|no swap)\n/);
  });

  it('prints help for each command', () => {
    for (const command of ['hosts', 'run', 'start', 'commands']) {
      const { code, stdout } = cli([command, '--help']);
      expect(code).toBe(0);
      expect(stdout).toMatch(new RegExp(`^Usage: badgateway ${command}`));
    }
    const { code, stdout } = cli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Exit codes: 0 ok, 1 the host or command failed, 2 bad usage or bad config.');
  });

  it('one-shot commands that keep no state never open the store (no data/ folder appears)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'badgateway-nostore-'));
    try {
      const access = join(REPO_ROOT, 'test', 'fixtures', 'lab', 'healthy', 'access.log');
      for (const args of [['--help'], ['hosts'], ['commands'], ['analyze', '--access', access, '--log-format', `'${LAB_LOG_FORMAT}'`, '--json'], ['init', join(dir, 'x.yaml')]]) {
        const result = spawnSync(process.execPath, [BIN, ...args], {
          encoding: 'utf8',
          cwd: dir,
          env: { ...process.env, BADGATEWAY_CONFIG: '', BADGATEWAY_DATA_DIR: '', DATABASE_URL: '' },
          timeout: 30_000,
        });
        expect(result.status, `${args.join(' ')}: ${result.stderr}`).toBe(0);
        expect(existsSync(join(dir, 'data')), args.join(' ')).toBe(false);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
