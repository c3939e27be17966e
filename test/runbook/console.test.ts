/**
 * A runbook in the local console (`badgateway start` without Slack credentials), driven through the
 * real process's stdin and stdout: the checks run over real SSH (a throwaway sshd) against evidence
 * recorded from the lab's request_terminate_timeout fault. The process quits mid-session; a new one on
 * the same data directory (the embedded store) picks the session up where it stood.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_LOG_FORMAT } from '../lab/lab.js';
import { REPO_ROOT, writeConfig } from '../support/config.js';
import { BIN, consoleEnv, spawnConsole, type ConsoleProcess } from '../support/console-process.js';
import { sharedSshd } from '../support/shared-sshd.js';
import type { TestSshd } from '../support/sshd.js';

const EVIDENCE = join(REPO_ROOT, 'test', 'fixtures', 'lab', 'request_terminate_timeout');

let sshd: TestSshd;
let configFile: string;
const dataDir = mkdtempSync(join(tmpdir(), 'badgateway-runbook-console-'));

beforeAll(async () => {
  sshd = sharedSshd();
  configFile = writeConfig({
    ssh: { user: sshd.user, privateKey: sshd.clientKey, knownHosts: sshd.knownHosts, connectTimeout: '5s' },
    hosts: {
      'web-03': {
        address: '127.0.0.1',
        port: sshd.port,
        sources: {
          accessLog: join(EVIDENCE, 'access.log'),
          logFormat: LAB_LOG_FORMAT,
          errorLog: join(EVIDENCE, 'error.log'),
          fpmLog: join(EVIDENCE, 'fpm.log'),
          slowLog: join(EVIDENCE, 'slow.log'),
        },
      },
    },
  });
});

afterAll(async () => {
  await sshd?.stop();
});

function startConsole(): ConsoleProcess {
  return spawnConsole({ env: consoleEnv({ BADGATEWAY_CONFIG: configFile, BADGATEWAY_DATA_DIR: dataDir, LOG_LEVEL: '', METRICS_PORT: '0' }) });
}

/** The step shown last after `from`: its title and its Done button's number. */
async function nextStep(c: ConsoleProcess, from: number): Promise<{ title: string; done: string; end: number }> {
  const done = await c.match(/\[(\d+)\] Done/, from);
  // The step's header is the last one before its buttons (an ended step is printed again, without buttons).
  const before = c.out().slice(from, from + done.index);
  const titles = [...before.matchAll(/Step \d+ · ([^\n]+)/g)];
  return { title: titles[titles.length - 1]![1]!, done: done[1]!, end: from + done.index + done[0].length };
}

describe('a malformed runbook at start', () => {
  it('stops `badgateway start` with the file, the line and the reason (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'badgateway-runbooks-bad-'));
    writeFileSync(join(dir, 'night.md'), '---\ntitle: Night\n---\n\n## Check the pool\n\n```yaml step\nwhen: { cause: [pool_exausted] }\n```\n\nLook.\n');
    const file = writeConfig({ runbooks: dir, hosts: {} });
    const env = consoleEnv({ BADGATEWAY_CONFIG: file, BADGATEWAY_DATA_DIR: 'memory://', LOG_LEVEL: '', METRICS_PORT: '0' });
    const child = spawn(process.execPath, [BIN, 'start'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain(`${join(dir, 'night.md')}:8: step "Check the pool": when.cause.0:`);
    expect(stderr).toMatch(/pool_exhausted/);
  }, 120_000);
});

describe('a runbook in the console', () => {
  it('takes the request_terminate_timeout branch, survives a restart of the bot, and prints the timeline', async () => {
    const first = startConsole();
    await first.match(/badgateway console: type \/502 help/);
    first.send('/502 runbook web-03 --since 15m --until 2026-11-25T17:00Z');
    const verdict = await first.match(/Verdict: [^\n]*\(request_terminate_timeout\)/, 0, 40_000);
    expect(verdict[0]).toBeTruthy();
    await first.match(/Runbook: 502\/504 triage[^\n]* on web-03, started by [^\n]* · session ([a-f0-9]+)/);
    const session = /session ([a-f0-9]+)/.exec(first.out())![1]!;
    const titles: string[] = [];
    let at = 0;
    for (;;) {
      const step = await nextStep(first, at);
      titles.push(step.title);
      at = step.end;
      if (step.title.startsWith('Locate:')) break;
      first.send(step.done);
    }
    expect(titles).toEqual([
      'Observe: how many 5xx, since when, which upstream',
      'Analyze: nginx error-log signatures',
      'Analyze: the PHP-FPM pool and its log',
      'Analyze: the slow log (what the busy workers are stuck in)',
      'Locate: PHP-FPM kills long requests (request_terminate_timeout)',
    ]);
    // Its check ran over SSH: the FPM master log's tail, with the kill.
    const locate = first.out().slice(first.out().lastIndexOf('Locate: PHP-FPM kills long requests'));
    expect(locate).toMatch(/Check log\.tail source=fpmLog lines=40 at [^\n]*: \d+ lines of output/);
    expect(locate).toContain(`$ tail -n 40 ${join(EVIDENCE, 'fpm.log')}`);
    expect(locate).toMatch(/execution timed out \([\d.]+ sec\), terminating/);
    expect(await first.quit()).toBe(0);

    // A new process on the same store: asking again picks the session up at the same step.
    const second = startConsole();
    await second.match(/badgateway console/);
    second.send('/502 runbook web-03');
    await second.match(/picked this runbook up again/);
    const again = await nextStep(second, 0);
    expect(again.title).toBe('Locate: PHP-FPM kills long requests (request_terminate_timeout)');
    second.send(again.done);
    const fix = await nextStep(second, again.end);
    expect(fix.title).toBe('Fix: requests killed by request_terminate_timeout');
    expect(second.out().slice(again.end)).toMatch(/\[\d+\] Request reload php-fpm/);
    second.send(`/502 timeline ${session}`);
    const file = await second.match(/--- (timeline-web-03-[\d-]+-[a-f0-9]+\.md) ---([\s\S]*?)--- end of \1 ---/);
    const timeline = file[2]!;
    expect(timeline).toContain('# Incident timeline: web-03');
    expect(timeline).toMatch(/Diagnosis:\*\* `request_terminate_timeout`/);
    expect(timeline).toContain('Session resumed at "Locate: PHP-FPM kills long requests (request_terminate_timeout)"');
    expect(timeline).toContain('Step 5 done: Locate: PHP-FPM kills long requests');
    expect(timeline).toContain('~~Locate: the pool is exhausted~~: not applicable (top cause request_terminate_timeout');
    expect(await second.quit()).toBe(0);
  }, 120_000);
});
