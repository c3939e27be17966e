/**
 * `badgateway start` without Slack credentials: the local console, driven through the stdin and
 * stdout of the real process. The triage runs over real SSH (a throwaway sshd) against evidence
 * recorded from the lab.
 */
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_LOG_FORMAT } from '../lab/lab.js';
import { REPO_ROOT, testCatalogDir, writeConfig } from '../support/config.js';
import { consoleEnv, spawnConsole, type ConsoleProcess } from '../support/console-process.js';
import { sharedSshd } from '../support/shared-sshd.js';
import type { TestSshd } from '../support/sshd.js';

const EVIDENCE = join(REPO_ROOT, 'test', 'fixtures', 'lab', 'fastcgi_read_timeout');

let sshd: TestSshd;
let configFile: string;

beforeAll(async () => {
  // The shared sshd has a PID namespace of its own: the labs other files run are not this host's processes.
  sshd = sharedSshd();
  configFile = writeConfig({
    ssh: { user: sshd.user, privateKey: sshd.clientKey, knownHosts: sshd.knownHosts, connectTimeout: '5s' },
    catalog: testCatalogDir(),
    hosts: {
      'web-03': {
        address: '127.0.0.1',
        port: sshd.port,
        groups: ['web'],
        sources: { accessLog: join(EVIDENCE, 'access.log'), logFormat: LAB_LOG_FORMAT, errorLog: join(EVIDENCE, 'error.log'), fpmLog: join(EVIDENCE, 'fpm.log') },
      },
    },
  });
});

afterAll(async () => {
  await sshd?.stop();
});

/** The console as a child process, with a way to wait for what it prints. */
function startConsole(): ConsoleProcess {
  return spawnConsole({ env: consoleEnv({ BADGATEWAY_CONFIG: configFile, LOG_LEVEL: '' }) });
}

describe('badgateway start (local console)', () => {
  it('takes /502 commands on stdin and prints the same messages, buttons as numbered choices', async () => {
    const c = startConsole();
    await c.waitFor(/badgateway console: type \/502 help/);

    c.send('/502 hosts');
    await c.waitFor(new RegExp(`web-03\\s+127\\.0\\.0\\.1:${sshd.port}\\s+@web`));

    c.send('/502 help');
    await c.waitFor(/\/502 slowlog HOST \[--since 15m\]/);

    let mark = c.out().length;
    c.send('/502 triage web-03;id');
    await c.waitFor(/"web-03;id" contains ";", which is not allowed/);
    expect(c.out().slice(mark)).toContain('/502 triage TARGET [--since 15m] [--until TIME]');
    c.send('/502 triage web-3');
    await c.waitFor(/Unknown host "web-3"\. Did you mean web-03\?/);

    mark = c.out().length;
    c.send('/502 triage web-03 --since 15m --until 2026-11-25T17:00Z');
    await c.waitFor(/Triage of web-03 running/);
    await c.waitFor(/\[\d+\] Show evidence\s+\[\d+\] Start runbook/, 40_000);
    const answer = c.out().slice(mark);
    // The evidence is recorded logs: no PHP-FPM master of this host was seen running, so no reload is offered.
    expect(answer).not.toContain('Reload php-fpm');
    expect(answer).toContain('== web-03: PHP answered too slowly: nginx gave up at fastcgi_read_timeout ==');
    expect(answer).toMatch(/Verdict: .*\(fastcgi_read_timeout\), confidence \d+% \((high|medium|low)\)/);
    expect(answer).toMatch(/Fix: /);
    expect(answer).not.toMatch(/&lt;|&gt;|&amp;|<@|```/);
    const evidence = /\[(\d+)\] Show evidence/.exec(answer)![1]!;
    const runbook = /\[(\d+)\] Start runbook/.exec(answer)![1]!;

    // Start runbook: the runbook's first step in the triage's thread, its check already run, with its buttons.
    c.send(runbook);
    await c.waitFor(/Step 1 · Observe: [^\n]*\n[\s\S]*Check view access[\s\S]*\[\d+\] Done\s+\[\d+\] Skip\s+\[\d+\] Run again\s+\[\d+\] Escalate\s+\[\d+\] Abort/);
    c.send(evidence);
    await c.waitFor(/upstream timed out \(110/);
    c.send('99');
    await c.waitFor(/No choice 99/);

    c.child.stdin.end();
    const code = await new Promise<number | null>((resolve) => c.child.once('exit', resolve));
    expect(code).toBe(0);
    // The mode it chose is one JSON line on stderr; the console itself stays on stdout.
    const first = JSON.parse(c.err().split('\n')[0]!);
    expect(first).toMatchObject({ level: 30, mode: 'console' });
  }, 120_000);
});

describe('the console on a pipe', () => {
  it('a usage error prints one usage line, not the help; `quit` exits while the pipe is still open', async () => {
    const c = spawnConsole({ env: consoleEnv({ BADGATEWAY_CONFIG: configFile, BADGATEWAY_DATA_DIR: 'memory://', METRICS_PORT: '0' }) });
    try {
      await c.waitFor(/badgateway console: type \/502 help/);
      const mark = c.out().length;
      c.send('/502 reload');
      await c.waitFor(/Usage: \/502 reload HOST \[--dry-run\] \[reason\]/);
      const said = c.out().slice(mark);
      expect(said).toContain('reload needs a host.');
      expect(said).not.toContain('/502 triage TARGET');
      c.send('/502 triag web-03');
      await c.waitFor(/Unknown subcommand "triag"\. Did you mean triage\?/);
      // stdin stays open (a pipe whose writer is still there): quit alone must end the process.
      c.send('quit');
      const code = await new Promise<number | null>((resolve) => (c.child.exitCode !== null ? resolve(c.child.exitCode) : c.child.once('exit', resolve)));
      expect(code).toBe(0);
      expect(c.child.stdin.writableEnded).toBe(false);
    } finally {
      if (c.child.exitCode === null) c.child.kill('SIGKILL');
    }
  }, 120_000);
});

describe('SIGTERM to the console', () => {
  it('drains: a command typed then is told the bot is restarting; a triage still running is cancelled and says so; exit 0', async () => {
    // A host that accepts the connection and never answers: its triage runs until it is cancelled.
    const held = new Set<Socket>();
    const hung = createServer((socket) => held.add(socket));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const file = writeConfig({
      ssh: { user: sshd.user, privateKey: sshd.clientKey, knownHosts: sshd.knownHosts },
      catalog: testCatalogDir(),
      shutdown: { drainTimeout: '3s' },
      hosts: { 'web-hung': { address: '127.0.0.1', port: (hung.address() as { port: number }).port, connectTimeout: '60s' } },
    });
    const c = spawnConsole({ env: consoleEnv({ BADGATEWAY_CONFIG: file, BADGATEWAY_DATA_DIR: 'memory://', LOG_LEVEL: 'info', METRICS_PORT: '0' }) });
    try {
      await c.waitFor(/badgateway console: type \/502 help/);
      c.send('/502 triage web-hung');
      await c.waitFor(/Triage of web-hung running/);
      const stopping = Date.now();
      c.child.kill('SIGTERM');
      const deadline = Date.now() + 60_000;
      while (!/draining: taking no new work/.test(c.err()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      // Within the 3 s drain: nothing new starts.
      c.send('/502 hosts');
      await c.waitFor(/badgateway is restarting: nothing was started\. Please try again in a minute\./);
      await c.waitFor(/Triage of web-hung cancelled: badgateway is restarting, so it did not finish\. Ask again in a minute\./);
      const code = await new Promise<number | null>((resolve) => (c.child.exitCode !== null ? resolve(c.child.exitCode) : c.child.once('exit', resolve)));
      expect(code).toBe(0);
      // The drain, not the host's 60 s connect timeout.
      expect(Date.now() - stopping, c.err()).toBeLessThan(30_000);
      expect(c.out()).not.toMatch(/web-hung\s+127\.0\.0\.1/);
    } finally {
      if (c.child.exitCode === null) c.child.kill('SIGKILL');
      for (const socket of held) socket.destroy();
      await new Promise((r) => hung.close(r));
    }
  }, 120_000);
});
