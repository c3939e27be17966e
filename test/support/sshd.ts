/**
 * A real OpenSSH server for tests: started on 127.0.0.1 and a free port, with throwaway host and
 * client keys made in a temp dir, stopped (and its dir removed) by `stop()`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface TestSshd {
  port: number;
  dir: string;
  user: string;
  /** Private key accepted by the server. */
  clientKey: string;
  /** A private key the server does not accept. */
  strangerKey: string;
  /** known_hosts pinning the server's real host key. */
  knownHosts: string;
  /** The server's host public key line (`ssh-ed25519 AAAA...`). */
  hostPublicKey: string;
  /** Another ed25519 public key line, for pinning the wrong key. */
  otherPublicKey: string;
  stop(): Promise<void>;
}

/** What the run's shared server hands to the files (everything but stop, which is the run's). */
export type SharedSshdInfo = Omit<TestSshd, 'stop'>;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function keygen(path: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'badgateway-test', '-f', path]);
  return readFileSync(`${path}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
}

async function waitForBanner(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('SSH-'));
      });
      socket.once('error', () => resolve(false));
      socket.setTimeout(1000, () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not answer on port ${port}: ${log()}`);
}

export interface StartSshdOptions {
  /**
   * Serve from a PID namespace of its own: its sessions see no process of this machine (no test's nginx or
   * PHP-FPM lab), so a host whose evidence is recorded files never depends on which labs other files run.
   */
  ownPidNamespace?: boolean;
}

export async function startSshd(options: StartSshdOptions = {}): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'badgateway-sshd-'));
  const port = await freePort();
  const user = userInfo().username;
  const hostPublicKey = keygen(join(dir, 'host_ed25519'));
  const otherPublicKey = keygen(join(dir, 'other_ed25519'));
  const clientPublicKey = keygen(join(dir, 'client_ed25519'));
  keygen(join(dir, 'stranger_ed25519'));
  writeFileSync(join(dir, 'authorized_keys'), `${clientPublicKey}\n`, { mode: 0o600 });
  mkdirSync(join(dir, 'home'));
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostPublicKey}\n`);
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_ed25519')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'MaxSessions 10',
      // Fan-out tests and benchmarks open many connections at once; the default drops some early.
      'MaxStartups 200:30:400',
      // This machine's root ~/.bashrc (pyenv init) costs ~100 ms per command, which a production host would
      // not have; a home of its own keeps the test server's sessions lean so timings measure badgateway.
      `SetEnv HOME=${join(dir, 'home')}`,
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  // Debian's sshd refuses to start without its privilege separation directory.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  let log = '';
  // sshd hands its own TZ to every session: the test host keeps UTC, the zone the recorded fixtures were
  // written in, whatever zone the suite (the bot) runs in. Daemons the lab starts keep the suite's zone
  // and say so in their environment, which is what host.clock reads.
  const env = { ...process.env, TZ: 'UTC' };
  const sshd = ['/usr/sbin/sshd', '-D', '-e', '-f', join(dir, 'sshd_config'), ...(process.env.BADGATEWAY_SSHD_LOG ? ['-E', process.env.BADGATEWAY_SSHD_LOG] : [])];
  const [command, ...args] = options.ownPidNamespace ? ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child', ...sshd] : sshd;
  const child = spawn(command!, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
  });
  child.stderr!.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-20_000);
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      // unshare --fork ignores SIGTERM (it waits for its child); SIGKILL takes it, and --kill-child then sshd.
      child.kill(options.ownPidNamespace ? 'SIGKILL' : 'SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForBanner(port, child, () => log);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    port,
    dir,
    user,
    clientKey: join(dir, 'client_ed25519'),
    strangerKey: join(dir, 'stranger_ed25519'),
    knownHosts: join(dir, 'known_hosts'),
    hostPublicKey,
    otherPublicKey,
    stop,
  };
}
