/**
 * `badgateway doctor` against real hosts: a good one (a real sshd in front of the real nginx + PHP-FPM
 * lab), and broken ones: a port nobody listens on, a host whose key is not pinned, and a host (its own
 * PID namespace) where neither nginx nor PHP-FPM runs. Slack's auth.test goes to the local Web API stub.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalogDir } from '../../src/config/index.js';
import { REPO_ROOT, writeConfig } from '../support/config.js';
import { hostConfig, startIsolatedSshd, startLabHost, type IsolatedSshd, type LabHost } from '../support/lab-host.js';
import { freePort } from '../support/sshd.js';
import { startSlackStub, type SlackStub } from '../slack/stub.js';

const BIN = join(REPO_ROOT, 'bin', 'badgateway.js');

let lab: LabHost;
let isolated: IsolatedSshd;
let stub: SlackStub;
let configFile: string;

/** Runs the real command; asynchronously, so the Slack stub in this process can answer it. */
function doctor(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string; lines: string[] }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'doctor', ...args],
      {
        encoding: 'utf8',
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          BADGATEWAY_CONFIG: '',
          LOG_LEVEL: '',
          SLACK_BOT_TOKEN: '',
          SLACK_APP_TOKEN: '',
          SLACK_SIGNING_SECRET: '',
          SLACK_API_URL: '',
          DATABASE_URL: '',
          BADGATEWAY_DATA_DIR: 'memory://',
          ...env,
        },
        timeout: 90_000,
      },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr, lines: stdout.split('\n').filter(Boolean) }),
    );
  });
}

beforeAll(async () => {
  [lab, stub] = await Promise.all([startLabHost(), startSlackStub()]);
  isolated = await startIsolatedSshd(lab.sshd);
  const emptyKnownHosts = join(lab.sshd.dir, 'known_hosts_empty');
  writeFileSync(emptyKnownHosts, '');
  configFile = writeConfig({
    catalog: defaultCatalogDir(),
    hosts: {
      'web-lab': hostConfig(lab.sshd, { accessLog: lab.lab.paths.access }),
      'web-down': { ...hostConfig(lab.sshd), port: await freePort() },
      'web-unpinned': { ...hostConfig(lab.sshd), knownHosts: emptyKnownHosts },
      'web-empty': { ...hostConfig(lab.sshd), port: isolated.port, knownHosts: isolated.knownHosts },
    },
  });
}, 120_000);

afterAll(async () => {
  await Promise.all([isolated?.stop(), lab?.stop(), stub?.close()]);
});

describe('badgateway doctor', () => {
  it('a good host: every check passes, each a line saying what was found; exit 0', async () => {
    const run = await doctor(['web-lab', '--config', configFile]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.lines[0]).toBe(`ok    config      ${configFile}: 4 hosts.`);
    expect(run.stdout).toMatch(/^ok {4}catalog {5}\d+ commands in .*; every id the code and the config use is there\.$/m);
    expect(run.stdout).toMatch(/^ok {4}runbooks {4}1 in .*runbooks \(502-triage\)\.$/m);
    expect(run.stdout).toMatch(/^ok {4}store {7}embedded at memory:\/\/: opens, \d+ migrations applied\.$/m);
    expect(run.stdout).toMatch(/^ok {4}slack {7}no Slack tokens: `badgateway start` runs the local console\./m);
    expect(run.stdout).toContain(`ok    web-lab     ${lab.sshd.user}@127.0.0.1:${lab.sshd.port}: reachable, host key pinned in ${lab.sshd.knownHosts}, login accepted.`);
    expect(run.stdout).toMatch(/^ok {4}web-lab {5}sudo: /m);
    const sources = run.lines.find((l) => l.startsWith('ok    web-lab     sources: '))!;
    expect(sources).toContain(`accessLog ${lab.lab.paths.access} (badgateway.yaml)`);
    expect(sources).toContain(`errorLog ${lab.lab.paths.error}`);
    expect(sources).toContain(`fpmLog ${lab.lab.paths.fpmLog}`);
    expect(sources).toMatch(/fpmStatusUrl http:\/\/127\.0\.0\.1:\d+\//);
    // The lab's pool writes no slow log: a warning with its fix, not a failure.
    expect(run.stdout).toMatch(/^warn {2}web-lab {5}slowLog not found: request_slowlog_timeout is 0 in pool www[^\n]* Fix: /m);
    expect(run.stdout).not.toMatch(/^FAIL/m);
    expect(run.lines.at(-1)).toMatch(/^doctor: every check passed \(\d+ warnings?\)\.$/);
  }, 120_000);

  it('broken hosts: one line each, saying what is wrong and what to do; exit 1', async () => {
    const run = await doctor(['--config', configFile]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const fails = run.lines.filter((l) => l.startsWith('FAIL'));
    expect(fails.find((l) => l.includes('web-down'))).toMatch(/^FAIL {2}web-down {4}connection refused by .*: is sshd running and the port right\?$/);
    expect(fails.find((l) => l.includes('web-unpinned'))).toMatch(
      /^FAIL {2}web-unpinned {2}host key not pinned: .* offered .*SHA256:.*, which is not in .*known_hosts_empty\. Check the fingerprint with the host's owner, then add it \(ssh-keyscan -p \d+ 127\.0\.0\.1 >> /,
    );
    expect(fails.find((l) => l.includes('web-empty'))).toBe(
      'FAIL  web-empty   neither nginx nor PHP-FPM runs there: nothing to triage. Fix: point this inventory entry at a host that serves PHP through nginx.',
    );
    expect(fails).toHaveLength(3);
    // A host that cannot be reached gets no further lines (its sudo and sources were not checked).
    expect(run.lines.filter((l) => / web-down /.test(l))).toHaveLength(1);
    expect(run.lines.at(-1)).toMatch(/^doctor: 3 problems to fix/);
  }, 120_000);

  it('Slack: auth.test with the bot token against the Web API; a revoked token is a failure with its fix', async () => {
    const env = { SLACK_APP_TOKEN: 'xapp-1-test', SLACK_API_URL: stub.apiUrl };
    const good = await doctor(['web-lab', '--config', configFile], { ...env, SLACK_BOT_TOKEN: 'xoxb-good' });
    expect(good.stdout).toMatch(/^ok {4}slack {7}Socket Mode: the bot token works \(auth\.test: @badgateway in Stub\)\.$/m);
    const revoked = await doctor(['web-lab', '--config', configFile], { ...env, SLACK_BOT_TOKEN: 'xoxb-revoked' });
    expect(revoked.code).toBe(1);
    expect(revoked.stdout).toMatch(/^FAIL {2}slack {7}auth\.test with SLACK_BOT_TOKEN failed: invalid_auth\. Fix: copy the Bot User OAuth Token again/m);
    const half = await doctor(['web-lab', '--config', configFile], { SLACK_APP_TOKEN: 'xapp-1-test' });
    expect(half.stdout).toMatch(/^FAIL {2}slack {7}SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not/m);
    expect(stub.ok('auth.test').length).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('a config with problems: one FAIL line per problem, nothing else checked; a bad target is bad usage', async () => {
    const bad = writeConfig('hosts:\n  web-03:\n    port: twenty\n    adress: x\n');
    const run = await doctor(['--config', bad]);
    expect(run.code).toBe(1);
    expect(run.lines.filter((l) => l.startsWith('FAIL  config'))).toEqual([
      `FAIL  config      hosts.web-03.port: expected number, received string Fix: edit ${bad}.`,
      `FAIL  config      hosts.web-03: unknown setting "adress" Fix: edit ${bad}.`,
    ]);
    const typo = await doctor(['web-lb', '--config', configFile]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/^badgateway: Unknown host "web-lb"\. Did you mean web-lab\?/);
  }, 60_000);
});
