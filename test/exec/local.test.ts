/**
 * The local transport: catalog commands run on this machine as real processes (no shell in between),
 * with the SSH executor's contract: timeouts and cancel kill the whole process group, output caps,
 * stderr caps, exit codes, mutating commands refused without an approval, `sudo -n` unless root.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCatalog, type RenderedCommand } from '../../src/catalog/index.js';
import { defaultCatalogDir, parseConfigText, type Host } from '../../src/config/index.js';
import { LocalExecutor, RoutingExecutor, SshExecutor, createExecutor, localArgv, type ExecResult } from '../../src/exec/index.js';
import { STDERR_CAP_BYTES } from '../../src/exec/types.js';
import { createLogger } from '../../src/log/index.js';

const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });
const config = parseConfigText('hosts:\n  localhost:\n    transport: local\n  web-ssh:\n    address: 127.0.0.1\n    port: 1\n', join(tmpdir(), 'local-test.yaml'), {});
const local: Host = config.hosts.find((h) => h.name === 'localhost')!;
const remote: Host = config.hosts.find((h) => h.name === 'web-ssh')!;
const executor = new LocalExecutor({ logger });
afterAll(() => executor.close());

function cmd(argv: string[], extra: Partial<RenderedCommand> = {}): RenderedCommand {
  return { id: 'test.cmd', argv, sudo: false, timeoutMs: 10_000, maxOutputBytes: 1024 * 1024, mutating: false, ...extra };
}

/** A process is gone when /proc has no entry for it, or only its zombie (pid 1 may not reap here). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitDead(pid: number, ms = 2000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

const pidsOf = (result: ExecResult | string) =>
  (typeof result === 'string' ? result : result.stdout.toString())
    .split('\n')
    .filter((l) => /^\d+$/.test(l))
    .map(Number);

describe('LocalExecutor', () => {
  it('runs the argv directly: no shell sees the arguments, and sh -c scripts get theirs as positional parameters', async () => {
    const literal = await executor.run(local, cmd(['printf', '%s\\n', '$(id); echo pwned `id` | cat']));
    expect(literal.code).toBe(0);
    expect(literal.stdout.toString()).toBe('$(id); echo pwned `id` | cat\n');
    const script = await executor.run(local, cmd(['sh', '-c', 'printf "%s|%s\\n" "$1" "$2"', 'name', 'a b; c', '$HOME']));
    expect(script.stdout.toString()).toBe('a b; c|$HOME\n');
    expect(script).toMatchObject({ host: 'localhost', commandId: 'test.cmd', timedOut: false, truncated: false, signal: null });
  });

  it('reports exit codes and stderr, and a program that does not exist as exit 127', async () => {
    const failed = await executor.run(local, cmd(['sh', '-c', 'echo partial; echo "something broke" >&2; exit 3']));
    expect(failed.code).toBe(3);
    expect(failed.stdout.toString()).toBe('partial\n');
    expect(failed.stderr).toBe('something broke\n');
    const missing = await executor.run(local, cmd(['/nonexistent/badgateway-tool', '-x']));
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('/nonexistent/badgateway-tool: not found');
    const killed = await executor.run(local, cmd(['sh', '-c', 'kill -TERM $$']));
    expect(killed).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it('kills the whole process group at the timeout, children included', async () => {
    const started = Date.now();
    const result = await executor.run(local, cmd(['sh', '-c', 'sleep 30 & echo $!; sh -c "sleep 40 & echo \\$!; wait" & wait'], { timeoutMs: 500 }));
    // The 500 ms timeout ended it, not the 30 and 40 s sleeps.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(result).toMatchObject({ timedOut: true, code: null, truncated: false });
    const pids = pidsOf(result);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(await waitDead(pid), `pid ${pid} outlived the timeout`).toBe(true);
  });

  it('leaves nothing running once the command exits (background children die with it)', async () => {
    const started = Date.now();
    const result = await executor.run(local, cmd(['sh', '-c', 'sleep 30 & echo $!']));
    // Not held open by the 30 s background sleep.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(result.code).toBe(0);
    const [pid] = pidsOf(result);
    expect(await waitDead(pid!)).toBe(true);
  });

  it('stops at the output cap: keeps exactly the cap, marks it truncated and kills the producer', async () => {
    const result = await executor.run(local, cmd(['sh', '-c', 'echo $$; exec yes badgateway'], { maxOutputBytes: 100_000 }));
    expect(result).toMatchObject({ truncated: true, code: null, stdoutBytes: 100_000, timedOut: false });
    expect(result.stdout.length).toBe(100_000);
    expect(await waitDead(pidsOf(result.stdout.toString().split('\n')[0]!)[0]!)).toBe(true);
  });

  it('streams stdout through onStdout instead of buffering it, under the same cap', async () => {
    const chunks: Buffer[] = [];
    const result = await executor.run(local, cmd(['head', '-c', '300000', '/dev/zero'], { maxOutputBytes: 250_000 }), { onStdout: (c) => chunks.push(c) });
    expect(result.stdout.length).toBe(0);
    expect(Buffer.concat(chunks).length).toBe(250_000);
    expect(result).toMatchObject({ truncated: true, stdoutBytes: 250_000 });
  });

  it('caps stderr', async () => {
    const result = await executor.run(local, cmd(['sh', '-c', 'head -c 200000 /dev/zero | tr "\\0" e >&2']));
    expect(result.code).toBe(0);
    expect(result.stderr.length).toBe(STDERR_CAP_BYTES);
  });

  it('cancels: the abort kills the group and the run rejects; an aborted signal runs nothing', async () => {
    const controller = new AbortController();
    const chunks: string[] = [];
    const running = executor.run(local, cmd(['sh', '-c', 'sleep 30 & echo $!; wait']), {
      signal: controller.signal,
      onStdout: (c) => {
        chunks.push(c.toString());
        controller.abort();
      },
    });
    await expect(running).rejects.toThrow(/localhost: test\.cmd was cancelled after \d+ ms/);
    expect(await waitDead(pidsOf(chunks.join(''))[0]!)).toBe(true);

    const marker = join(mkdtempSync(join(tmpdir(), 'badgateway-local-')), 'ran');
    await expect(executor.run(local, cmd(['touch', marker]), { signal: AbortSignal.abort() })).rejects.toThrow(/cancelled before it started/);
    expect(existsSync(marker)).toBe(false);
  });

  it('close() stops every running command', async () => {
    const own = new LocalExecutor({ logger });
    const chunks: string[] = [];
    let closing: Promise<void> | undefined;
    const running = own.run(local, cmd(['sh', '-c', 'sleep 30 & echo $!; wait']), {
      onStdout: (c) => {
        chunks.push(c.toString());
        closing = own.close();
      },
    });
    await expect(running).rejects.toThrow(/cancelled/);
    await closing;
    expect(await waitDead(pidsOf(chunks.join(''))[0]!)).toBe(true);
  });

  it('refuses a mutating command without an approval id, and runs it with one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'badgateway-local-'));
    const marker = join(dir, 'changed');
    const change = cmd(['touch', marker], { id: 'test.change', mutating: true });
    await expect(executor.run(local, change)).rejects.toThrow(/test\.change changes the host and runs only after an approval/);
    expect(existsSync(marker)).toBe(false);
    expect((await executor.run(local, change, { approvalId: 'appr-1' })).code).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });

  it('runs sudo: true commands through `sudo -n --` unless running as root', async () => {
    expect(localArgv(cmd(['nginx', '-T'], { sudo: true }), 1000)).toEqual(['sudo', '-n', '--', 'nginx', '-T']);
    expect(localArgv(cmd(['nginx', '-T'], { sudo: true }), 0)).toEqual(['nginx', '-T']);
    expect(localArgv(cmd(['nginx', '-T'], { sudo: false }), 1000)).toEqual(['nginx', '-T']);

    // A non-root bot: `sudo` on PATH is a stand-in that prints the argv it was given.
    const bin = mkdtempSync(join(tmpdir(), 'badgateway-sudo-'));
    writeFileSync(join(bin, 'sudo'), '#!/bin/sh\nprintf "%s\\n" sudo "$@"\n');
    chmodSync(join(bin, 'sudo'), 0o755);
    const asUser = new LocalExecutor({ logger, uid: 1000, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    const viaSudo = await asUser.run(local, cmd(['id', '-u'], { sudo: true }));
    expect(viaSudo.stdout.toString()).toBe('sudo\n-n\n--\nid\n-u\n');
    const plain = await asUser.run(local, cmd(['id', '-u']));
    expect(plain.stdout.toString()).toBe(`${process.getuid!()}\n`);

    if (process.getuid!() === 0) {
      const asRoot = await executor.run(local, cmd(['id', '-u'], { sudo: true }));
      expect(asRoot.stdout.toString()).toBe('0\n');
    }
  });

  it('tells its observer about every command, and an observer that throws breaks nothing', async () => {
    const seen: string[] = [];
    const observed = new LocalExecutor({
      logger,
      observer: {
        commandFinished(host, id, outcome) {
          seen.push(`${host} ${id} ${outcome.result?.code ?? outcome.error?.message}`);
          throw new Error('observer bug');
        },
      },
    });
    expect((await observed.run(local, cmd(['true']))).code).toBe(0);
    await expect(observed.run(local, cmd(['sleep', '5']), { signal: AbortSignal.timeout(100) })).rejects.toThrow(/cancelled/);
    expect(seen[0]).toBe('localhost test.cmd 0');
    expect(seen[1]).toMatch(/^localhost test\.cmd localhost: test\.cmd was cancelled/);
  });

  it('runs the shipped catalog unchanged: the fixed sh -c entries, dd byte ranges, ps', async () => {
    const catalog = loadCatalog(defaultCatalogDir());
    const dir = mkdtempSync(join(tmpdir(), 'badgateway-local-'));
    const log = join(dir, 'access.log');
    writeFileSync(log, 'first line\nsecond line\nthird line\n');
    const host: Host = { ...local, sources: { accessLog: log } };
    const range = await executor.run(host, catalog.render('log.read-range', host, { source: 'accessLog', offset: 11, length: 11 }));
    expect(range.stdout.toString()).toBe('second line');
    const ps = await executor.run(host, catalog.render('host.processes', host));
    expect(ps.code).toBe(0);
    expect(ps.stdout.toString()).toMatch(new RegExp(`^\\s*${process.pid}\\b`, 'm'));
  });
});

describe('RoutingExecutor', () => {
  it('sends each host to the executor of its transport', async () => {
    const routed = createExecutor(config, logger);
    try {
      expect(routed).toBeInstanceOf(RoutingExecutor);
      expect((await routed.run(local, cmd(['printf', 'here']))).stdout.toString()).toBe('here');
      // The ssh host goes to SSH: it has no credentials, which only the SSH executor checks.
      await expect(routed.run(remote, cmd(['printf', 'there']))).rejects.toThrow(/web-ssh: no SSH credentials/);
    } finally {
      await routed.close();
    }
    const ssh = new SshExecutor({ logger });
    const both = new RoutingExecutor({ ssh, local: executor });
    expect((await both.run(local, cmd(['echo', 'ok']))).stdout.toString()).toBe('ok\n');
    await ssh.close();
  });
});
