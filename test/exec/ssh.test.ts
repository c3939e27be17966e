import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type Catalog, type RenderedCommand } from '../../src/catalog/index.js';
import { parseConfigText, type Host } from '../../src/config/index.js';
import { HostKeyError, ExecError, UsageError } from '../../src/errors.js';
import { SshExecutor } from '../../src/exec/index.js';
import { createLogger } from '../../src/log/index.js';
import { freePort, startSshd, type TestSshd } from '../support/sshd.js';
import { testCatalogDir } from '../support/config.js';

let sshd: TestSshd;
let catalog: Catalog;
const logLines: string[] = [];
const logger = createLogger({
  level: 'debug',
  destination: new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  }),
});

function host(overrides: Record<string, unknown> = {}, name = 'web-lab'): Host {
  const config = parseConfigText(
    JSON.stringify({
      hosts: {
        [name]: {
          address: '127.0.0.1',
          port: sshd.port,
          user: sshd.user,
          privateKey: sshd.clientKey,
          knownHosts: sshd.knownHosts,
          connectTimeout: '2s',
          sources: { accessLog: '/var/log/nginx/access.log' },
          ...overrides,
        },
      },
    }),
    join(sshd.dir, 'inline.yaml'),
  );
  return config.hosts[0]!;
}

beforeAll(async () => {
  sshd = await startSshd();
  catalog = loadCatalog(testCatalogDir());
});
afterAll(async () => {
  await sshd?.stop();
});

describe('SshExecutor against a real sshd', () => {
  it('runs a catalog command with a pinned key and returns stdout and exit code', async () => {
    const executor = new SshExecutor({ logger });
    try {
      const result = await executor.run(host(), catalog.render('host.uname', host()));
      expect(result.code).toBe(0);
      expect(result.stdout.toString()).toMatch(/^Linux /);
      expect(result.timedOut).toBe(false);
    } finally {
      await executor.close();
    }
  });

  it('returns stderr and a non-zero exit code', async () => {
    const executor = new SshExecutor({ logger });
    try {
      const result = await executor.run(host(), catalog.render('test.fail', host()));
      expect(result.code).toBe(3);
      expect(result.stderr).toContain('something broke');
    } finally {
      await executor.close();
    }
  });

  it('passes every argument through the remote shell byte for byte', async () => {
    const nasty = ['$(id)', '`id`', "it's", '"q"', 'a;b|c&d', '*', '~', '$HOME', 'line\nbreak', 'tab\there', 'ünï', '', ' lead', '\\'];
    const command: RenderedCommand = {
      id: 'test.printf',
      argv: ['printf', '%s\\0', ...nasty],
      sudo: false,
      timeoutMs: 5000,
      maxOutputBytes: 65536,
      mutating: false,
    };
    const executor = new SshExecutor({ logger });
    try {
      const result = await executor.run(host(), command);
      expect(result.code).toBe(0);
      expect(result.stdout.toString('utf8').split('\0').slice(0, -1)).toEqual(nasty);
    } finally {
      await executor.close();
    }
  });

  it('reuses one connection for many concurrent commands, within the per-connection channel limit', async () => {
    const executor = new SshExecutor({ logger, channelsPerHost: 4 });
    const before = logLines.filter((l) => l.includes('ssh connected')).length;
    try {
      const results = await Promise.all(Array.from({ length: 25 }, () => executor.run(host(), catalog.render('host.uptime', host()))));
      expect(results.every((r) => r.code === 0)).toBe(true);
      expect(logLines.filter((l) => l.includes('ssh connected')).length - before).toBe(1);
    } finally {
      await executor.close();
    }
  });

  it('refuses a host whose pinned key differs, naming the host and the offered fingerprint', async () => {
    const knownHosts = join(sshd.dir, 'wrong_known_hosts');
    writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${sshd.otherPublicKey}\n`);
    const realPrint = execFileSync('ssh-keygen', ['-lf', join(sshd.dir, 'host_ed25519.pub')])
      .toString()
      .split(' ')[1]!;
    const executor = new SshExecutor({ logger });
    try {
      const error = await executor.run(host({ knownHosts }), catalog.render('host.uname', host())).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HostKeyError);
      expect((error as HostKeyError).message).toContain('HOST KEY CHANGED');
      expect((error as HostKeyError).message).toContain('web-lab');
      expect((error as HostKeyError).fingerprint).toBe(realPrint);
      expect((error as HostKeyError).reason).toBe('hostkey');
    } finally {
      await executor.close();
    }
  });

  it('refuses a host that is not in known_hosts at all', async () => {
    const knownHosts = join(sshd.dir, 'empty_known_hosts');
    writeFileSync(knownHosts, '# nothing pinned\n');
    const executor = new SshExecutor({ logger });
    try {
      await expect(executor.run(host({ knownHosts }), catalog.render('host.uname', host()))).rejects.toThrow(/host key not pinned.*ssh-keyscan/);
    } finally {
      await executor.close();
    }
  });

  it('accepts a hashed known_hosts entry (HashKnownHosts yes)', async () => {
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update(`[127.0.0.1]:${sshd.port}`).digest('base64');
    const knownHosts = join(sshd.dir, 'hashed_known_hosts');
    writeFileSync(knownHosts, `|1|${salt.toString('base64')}|${hash} ${sshd.hostPublicKey}\n`);
    const executor = new SshExecutor({ logger });
    try {
      const result = await executor.run(host({ knownHosts }), catalog.render('host.uname', host()));
      expect(result.code).toBe(0);
    } finally {
      await executor.close();
    }
  });

  it('refuses a key marked @revoked even when it is also pinned', async () => {
    const knownHosts = join(sshd.dir, 'revoked_known_hosts');
    writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}\n@revoked * ${sshd.hostPublicKey}\n`);
    const executor = new SshExecutor({ logger });
    try {
      await expect(executor.run(host({ knownHosts }), catalog.render('host.uname', host()))).rejects.toMatchObject({ reason: 'hostkey', message: expect.stringMatching(/@revoked/) });
    } finally {
      await executor.close();
    }
  });

  it('kills a command that hangs at its timeout, leaving no process behind', async () => {
    const marker = 1000 + Math.floor(Math.random() * 3000);
    const executor = new SshExecutor({ logger });
    try {
      const started = Date.now();
      const result = await executor.run(host(), catalog.render('test.sleep', host(), { seconds: marker }));
      expect(result.timedOut, JSON.stringify({ ...result, stdout: String(result.stdout), stderr: String(result.stderr) })).toBe(true);
      expect(result.code).toBeNull();
      // The 1 s timeout, not the sleep of 1000+ s, ended it (the margin is for a loaded machine).
      expect(Date.now() - started).toBeLessThan(20_000);
      // The host-side wrapper kills the command as the channel closes (a loaded machine may take a moment).
      expect(await gone(`sleep ${marker}`)).toBe(true);
    } finally {
      await executor.close();
    }
  });

  it('cuts a command that prints 50 MB at its output cap', async () => {
    const executor = new SshExecutor({ logger });
    try {
      const result = await executor.run(host(), catalog.render('test.flood', host(), { bytes: 50 * 1024 * 1024 }));
      expect(result.truncated).toBe(true);
      expect(result.stdout.length).toBe(1024 * 1024);
      expect(result.stdoutBytes).toBe(1024 * 1024);
    } finally {
      await executor.close();
    }
  });

  it('streams stdout to a callback without buffering it', async () => {
    const executor = new SshExecutor({ logger });
    let streamed = 0;
    try {
      const result = await executor.run(host(), catalog.render('test.flood', host(), { bytes: 300_000 }), {
        onStdout: (chunk) => {
          streamed += chunk.length;
        },
      });
      expect(result.code).toBe(0);
      expect(streamed).toBe(300_000);
      expect(result.stdout.length).toBe(0);
    } finally {
      await executor.close();
    }
  });

  it('cancels a running command when its AbortSignal fires', async () => {
    const executor = new SshExecutor({ logger });
    const controller = new AbortController();
    const marker = 5000 + Math.floor(Math.random() * 4000);
    const command = { ...catalog.render('test.sleep', host(), { seconds: marker }), timeoutMs: 60_000 };
    try {
      setTimeout(() => controller.abort(), 300);
      const started = Date.now();
      await expect(executor.run(host(), command, { signal: controller.signal })).rejects.toMatchObject({ reason: 'cancelled', message: expect.stringMatching(/cancelled/) });
      // Far below the command's 60 s timeout: the cancel, not the timeout, ended it.
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(await gone(`sleep ${marker}`)).toBe(true);
    } finally {
      await executor.close();
    }
  });

  it('a cancel ends the wait for a host that accepts the connection and never answers, and for a free channel', async () => {
    // A TCP server that takes the connection and says nothing (a hung host, a stuck firewall): the
    // SSH handshake would wait out the 60 s connect timeout; shutting down must not.
    const held = new Set<import('node:net').Socket>();
    const silent = createServer((socket) => held.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const executor = new SshExecutor({ logger, channelsPerHost: 1 });
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 300);
      const started = Date.now();
      await expect(executor.run(host({ port, connectTimeout: '60s' }, 'web-hung'), catalog.render('host.uname', host()), { signal: controller.signal })).rejects.toThrow(
        /web-hung: host\.uname was cancelled before it started/,
      );
      expect(Date.now() - started).toBeLessThan(20_000);

      // One channel per host: the second command waits for the first's; its cancel takes it out of the line.
      const sleeping = { ...catalog.render('test.sleep', host(), { seconds: 30 }), timeoutMs: 60_000 };
      const first = new AbortController();
      const running = executor.run(host(), sleeping, { signal: first.signal });
      const second = new AbortController();
      setTimeout(() => second.abort(), 500);
      const waited = Date.now();
      await expect(executor.run(host(), catalog.render('host.uname', host()), { signal: second.signal })).rejects.toThrow(/host\.uname was cancelled before it started/);
      expect(Date.now() - waited).toBeLessThan(20_000);
      first.abort();
      await expect(running).rejects.toThrow(/cancelled/);
      // The line is not stuck: the next command gets the channel.
      expect((await executor.run(host(), catalog.render('host.uname', host()))).code).toBe(0);
    } finally {
      await executor.close();
      for (const socket of held) socket.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('fails fast with a clear message when nothing listens on the port', async () => {
    const executor = new SshExecutor({ logger });
    const port = await freePort();
    const started = Date.now();
    try {
      await expect(executor.run(host({ port, connectTimeout: '60s' }), catalog.render('host.uname', host()))).rejects.toMatchObject({
        reason: 'unreachable',
        message: expect.stringMatching(/connection refused by .*127\.0\.0\.1:\d+/),
      });
      // Refused at once, not after the 60 s connect timeout.
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await executor.close();
    }
  });

  it('gives up at the connect timeout on a port that never speaks SSH', async () => {
    const silent: Server = createServer(() => {
      /* accept and say nothing, like a hung host */
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const executor = new SshExecutor({ logger });
    const started = Date.now();
    try {
      await expect(executor.run(host({ port, connectTimeout: '1s' }), catalog.render('host.uname', host()))).rejects.toMatchObject({
        reason: 'unreachable',
        message: expect.stringMatching(/no SSH answer .* within 1 s/),
      });
      // At the 1 s connect timeout, not the 30 s command timeout.
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await executor.close();
      silent.close();
    }
  });

  it('reports an authentication failure for a key the server does not accept', async () => {
    const executor = new SshExecutor({ logger });
    try {
      const error = await executor.run(host({ privateKey: sshd.strangerKey }), catalog.render('host.uname', host())).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ExecError);
      expect((error as Error).message).toMatch(/authentication failed/);
      expect((error as ExecError).reason).toBe('auth');
    } finally {
      await executor.close();
    }
  });

  it('refuses a mutating command that has no approval, before connecting', async () => {
    const executor = new SshExecutor({ logger });
    try {
      await expect(executor.run(host({ port: 1 }), catalog.render('test.mutate', host()))).rejects.toBeInstanceOf(UsageError);
    } finally {
      await executor.close();
    }
  });

  it('never writes the private key or passphrase to the log', () => {
    const key = execFileSync('cat', [sshd.clientKey]).toString();
    const body = key.split('\n')[1]!;
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('')).not.toContain(body);
  });
});

/** True once no process matches (within 10 s, for a loaded machine); false when one outlives that. */
async function gone(pattern: string): Promise<boolean> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    if (!processExists(pattern)) return true;
  }
  return !processExists(pattern);
}

function processExists(pattern: string): boolean {
  try {
    execFileSync('pgrep', ['-f', `^${pattern}$`]);
    return true;
  } catch {
    return false;
  }
}
