/**
 * First run on a fresh machine: the real CLI (`node bin/badgateway.js`) in an empty directory, without
 * badgateway.yaml, BADGATEWAY_CONFIG or Slack tokens.
 *
 * Machine states:
 *  - "nothing running": the bot runs in a PID namespace of its own (`unshare --pid --fork --mount-proc`),
 *    so its process table shows no nginx or PHP-FPM whatever else runs here (nginx and php-fpm stay
 *    installed);
 *  - "nothing installed": the same, with an empty tmpfs over /usr/sbin inside the namespace;
 *  - "the lab": real nginx + PHP-FPM started by this suite and driven into a fault. Other test files run
 *    labs at the same time, so this one is pinned the way a user would: `badgateway init`, then
 *    sources.accessLog of localhost set to the lab's access log.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { INIT_TEMPLATE } from '../../src/cli/init.js';
import { BIN, consoleEnv, spawnConsole, type ConsoleProcess } from '../support/console-process.js';
import { loadConfig, parseConfigText } from '../../src/config/index.js';
import { startLab, type Lab } from '../lab/lab.js';
import { workerCrash, workerCrashOptions } from '../lab/scenarios.js';

const IN_EMPTY_PID_NS = ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child'];
const WITHOUT_USR_SBIN = [...IN_EMPTY_PID_NS, 'sh', '-c', 'mount -t tmpfs badgateway-empty /usr/sbin && exec "$0" "$@"'];

function freshDir(): string {
  return mkdtempSync(join(tmpdir(), 'badgateway-fresh-'));
}

/** The environment of a newcomer: no config, no Slack tokens, default log level. */
/** A newcomer's shell: no config, no Slack tokens, no database. */
const freshEnv = (): NodeJS.ProcessEnv => consoleEnv();

function cli(args: string[], cwd: string, wrap: string[] = []) {
  const argv = [...wrap, process.execPath, BIN, ...args];
  const result = spawnSync(argv[0]!, argv.slice(1), { cwd, env: freshEnv(), encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `badgateway start` as a newcomer runs it: its stdin and stdout are the console. */
function startConsole(cwd: string, wrap: string[] = []): ConsoleProcess {
  return spawnConsole({ cwd, env: freshEnv(), wrap });
}

describe('badgateway init', () => {
  it('writes a commented badgateway.yaml once: localhost on the local transport; a second init refuses (exit 2, one line)', () => {
    const dir = freshDir();
    const first = cli(['init'], dir);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^Wrote badgateway\.yaml: localhost on this machine \(transport: local\)/);
    expect(first.stdout).toContain('badgateway hosts');
    const file = join(dir, 'badgateway.yaml');
    const text = readFileSync(file, 'utf8');
    expect(text).toBe(INIT_TEMPLATE);
    expect(text).toMatch(/^# /);
    const config = loadConfig({ path: file, env: {} });
    expect(config.hosts.map((h) => [h.name, h.transport])).toEqual([['localhost', 'local']]);

    writeFileSync(file, `${text}# my edits\n`);
    const second = cli(['init'], dir);
    expect(second.code).toBe(2);
    expect(second.stdout).toBe('');
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    expect(second.stderr).toBe(`badgateway: ${file} already exists; not overwriting it (edit it, or give another path: badgateway init PATH).\n`);
    expect(readFileSync(file, 'utf8')).toBe(`${text}# my edits\n`);

    // The file is what the bot then uses from that directory.
    const hosts = cli(['hosts'], dir);
    expect(hosts.code).toBe(0);
    expect(hosts.stdout).toMatch(/^localhost\s+this machine\s+\S+\s+local\s*$/m);
    expect(hosts.stdout).not.toContain('built-in');
  });

  it('writes where --config or a path argument says, and refuses there too', () => {
    const dir = freshDir();
    expect(cli(['init', '--config', 'etc/bg.yaml'], dir)).toMatchObject({ code: 0, stdout: expect.stringContaining('badgateway --config etc/bg.yaml hosts') });
    expect(cli(['--config', 'etc/bg.yaml', 'hosts'], dir).stdout).toMatch(/^localhost\s+this machine/m);
    expect(cli(['init', 'etc/bg.yaml'], dir)).toMatchObject({ code: 2, stderr: expect.stringMatching(/^badgateway: .*etc\/bg\.yaml already exists/) });
    expect(cli(['init', 'other.yaml'], dir).code).toBe(0);
    expect(loadConfig({ path: join(dir, 'other.yaml'), env: {} }).hosts).toHaveLength(1);
    expect(cli(['init', 'a.yaml', 'b.yaml'], dir)).toMatchObject({ code: 2, stderr: expect.stringMatching(/init takes at most one path/) });
  });

  it('has a commented SSH host example that is valid once uncommented', () => {
    let inBlock = false;
    const uncommented = INIT_TEMPLATE.split('\n')
      .map((line) => {
        if (line.startsWith('  # web-03:')) inBlock = true;
        else if (inBlock && !line.startsWith('  #   ')) inBlock = false;
        return inBlock ? line.replace(/^ {2}# /, '  ').replace(/\s+#\s.*$/, '') : line;
      })
      .join('\n');
    const config = parseConfigText(uncommented, 'init.yaml', {});
    expect(config.hosts.map((h) => [h.name, h.transport, h.address, h.groups])).toEqual([
      ['localhost', 'local', 'localhost', []],
      ['web-03', 'ssh', '10.0.0.13', ['web']],
    ]);
  });
});

describe('zero config: no badgateway.yaml, no Slack tokens', () => {
  it('`badgateway hosts` lists localhost on the local transport', () => {
    const { code, stdout } = cli(['hosts'], freshDir());
    expect(code).toBe(0);
    expect(stdout).toMatch(/^localhost\s+this machine\s+\S+\s+local\s*$/m);
    expect(stdout).toContain('built-in inventory: no badgateway.yaml found; `badgateway init` writes one to edit');
    const json = JSON.parse(cli(['hosts', '--json'], freshDir()).stdout);
    expect(json).toMatchObject({ config: null, hosts: [{ name: 'localhost', transport: 'local' }] });
  });

  it('the console starts with a short banner, lists localhost, and on a machine where nothing runs says so', async () => {
    const c = startConsole(freshDir(), IN_EMPTY_PID_NS);
    const banner = await c.waitFor(/badgateway console: type \/502 help/);
    expect(banner.split('\n').slice(0, 3)).toEqual([
      'badgateway: no badgateway.yaml here, so using the built-in config: one host, localhost (this machine, transport: local).',
      '  Add hosts: `badgateway init` writes a badgateway.yaml to edit (SSH hosts, groups, Slack access).',
      '  Slack: not connected; set SLACK_APP_TOKEN and SLACK_BOT_TOKEN (README, "Slack app") and restart.',
    ]);

    c.send('/502 hosts');
    await c.waitFor(/localhost\s+this machine \(local\)/);

    const mark = c.out().length;
    c.send('/502 triage localhost');
    await c.waitFor(/Triage of localhost running/);
    await c.waitFor(/\[\d+\] Show evidence/, 30_000);
    const answer = c.out().slice(mark);
    expect(answer).toContain('== localhost: Neither nginx nor PHP-FPM is running: nothing to triage ==');
    expect(answer).toContain('Verdict: Neither nginx nor PHP-FPM is running: nothing to triage');
    expect(answer).toMatch(/nginx: installed \(.*nginx.*\) but not running: no "nginx: master process" in localhost's process table/);
    expect(answer).toMatch(/PHP-FPM: installed \(\/usr\/sbin\/php-fpm[\d.]*\) but not running: no "php-fpm: master process"/);
    expect(answer).not.toMatch(/Healthy|healthy/);
    expect(await c.quit()).toBe(0);
  }, 120_000);

  it('`badgateway triage localhost` on a machine without nginx or PHP-FPM installed names what it looked for', () => {
    const { code, stdout, stderr } = cli(['triage', 'localhost'], freshDir(), WITHOUT_USR_SBIN);
    expect(stderr).toBe('');
    // Nothing to triage is not a clean bill of health: exit 1, as for any host that could not be triaged.
    expect(code).toBe(1);
    expect(stdout).toMatch(/^Host: localhost\nVERDICT: Found neither nginx nor PHP-FPM: nothing to triage\n/);
    expect(stdout).toContain('nginx: not running (no "nginx: master process" in localhost\'s process table) and not installed (no nginx in PATH, /usr/sbin, /usr/local/sbin or /usr/local/nginx/sbin)');
    expect(stdout).toContain('default /etc/nginx/nginx.conf');
    expect(stdout).toContain('PHP-FPM: not running (no "php-fpm: master process" in the process table) and not installed (no php-fpm, php-fpm8.4 … php-fpm7.3 in PATH or /usr/sbin)');
    expect(stdout).toContain('badgateway init');

    const json = JSON.parse(cli(['triage', 'localhost', '--json'], freshDir(), WITHOUT_USR_SBIN).stdout);
    const host = json.hosts[0];
    expect(host.error).toBeNull();
    expect(host.report.diagnosis).toMatchObject({ causes: [], headline: 'Found neither nginx nor PHP-FPM: nothing to triage' });
  });
});

describe('a fresh machine running the lab', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab(workerCrashOptions);
    await workerCrash(lab);
  }, 120_000);
  afterAll(async () => {
    await lab?.stop();
  });

  it('init, pin localhost to the lab, start: the console triages localhost and names the fault', async () => {
    const dir = freshDir();
    expect(cli(['init'], dir).code).toBe(0);
    // What a user would do when several nginx instances run: name the access log of the one meant.
    const file = join(dir, 'badgateway.yaml');
    const doc = parseDocument(readFileSync(file, 'utf8'));
    doc.setIn(['hosts', 'localhost', 'sources', 'accessLog'], lab.paths.access);
    writeFileSync(file, doc.toString());

    const c = startConsole(dir);
    const banner = await c.waitFor(/badgateway console: type \/502 help/);
    expect(banner).toContain(`badgateway: config ${file} (1 host; on this machine: localhost).`);

    c.send('/502 hosts');
    await c.waitFor(/localhost\s+this machine \(local\)/);

    const mark = c.out().length;
    c.send('/502 triage localhost');
    await c.waitFor(/\[\d+\] Show evidence/, 40_000);
    const answer = c.out().slice(mark);
    expect(answer).toContain('== localhost: PHP-FPM workers crashed ==');
    expect(answer).toMatch(/Verdict: .*\(worker_crash\), confidence \d+%/);
    expect(answer).toMatch(/read: access, error, fpmLog/);
    expect(await c.quit()).toBe(0);
  }, 120_000);
});
