/**
 * Runs catalog commands over SSH (ssh2). One connection per host, reused by every command of a
 * triage as multiplexed channels (below OpenSSH's 10 sessions per connection), closed when idle.
 * Host keys are pinned against known_hosts; an unknown or changed key refuses the connection.
 */
import { readFileSync } from 'node:fs';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import type { RenderedCommand } from '../catalog/index.js';
import type { Host } from '../config/index.js';
import { ExecError, HostKeyError, UsageError, errorMessage, type ExecFailure } from '../errors.js';
import type { Logger } from '../log/index.js';
import { entriesFor, fingerprint, hostKeyAlgorithms, keyTypeOf, knownHostsName, readKnownHosts, verifyHostKey } from './known-hosts.js';
import { remoteCommandLine } from './remote-command.js';
import { untilAborted } from './abort.js';
import { Semaphore } from './semaphore.js';
import { notify, observed, type ExecObserver, type ExecOptions, type ExecResult, type Executor } from './types.js';
import { CappedOutput } from './output.js';

export interface SshExecutorOptions {
  logger: Logger;
  /** Told about connections and commands (metrics, audit). */
  observer?: ExecObserver;
  /** Channels open at once on one connection; OpenSSH refuses the 11th by default. */
  channelsPerHost?: number;
  idleTimeoutMs?: number;
}

interface Connection {
  client: Client;
  ready: Promise<void>;
  /** The handshake is done (ready resolved). */
  established: boolean;
  channels: Semaphore;
  active: number;
  idleTimer?: NodeJS.Timeout;
  closed: boolean;
}

export class SshExecutor implements Executor {
  private readonly connections = new Map<string, Connection>();
  private readonly logger: Logger;
  private readonly observer: ExecObserver | undefined;
  private readonly channelsPerHost: number;
  private readonly idleTimeoutMs: number;

  constructor(options: SshExecutorOptions) {
    this.logger = options.logger;
    this.observer = options.observer;
    this.channelsPerHost = Math.min(options.channelsPerHost ?? 6, 9);
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  }

  async run(host: Host, command: RenderedCommand, options: ExecOptions = {}): Promise<ExecResult> {
    if (command.mutating && !options.approvalId) {
      throw new UsageError(`${command.id} changes the host and runs only after an approval.`);
    }
    if (options.signal?.aborted) throw new ExecError(host.name, 'cancelled', `${command.id} was cancelled before it started.`);
    const connection = this.connection(host);
    connection.active++;
    clearTimeout(connection.idleTimer);
    const cancelled = () => new ExecError(host.name, 'cancelled', `${command.id} was cancelled before it started.`);
    try {
      // A cancel ends the wait for the connection (a host that does not answer) or for a free channel.
      await untilAborted(connection.ready, options.signal, cancelled);
      return await connection.channels
        .use(() => this.exec(host, connection.client, command, options), options.signal)
        .catch((err: unknown) => {
          throw options.signal?.aborted && !(err instanceof ExecError) ? cancelled() : err;
        });
    } finally {
      connection.active--;
      this.scheduleIdleClose(host.name, connection);
    }
  }

  async close(): Promise<void> {
    for (const [name, connection] of this.connections) this.drop(name, connection);
  }

  private connection(host: Host): Connection {
    const existing = this.connections.get(host.name);
    if (existing && !existing.closed) return existing;
    const client = new Client();
    const connection: Connection = {
      client,
      channels: new Semaphore(this.channelsPerHost),
      active: 0,
      closed: false,
      established: false,
      ready: this.connect(host, client),
    };
    connection.ready.then(
      () => (connection.established = true),
      () => undefined,
    );
    // The command awaiting `ready` reports the error; here the failed connection is only forgotten.
    connection.ready.catch(() => this.drop(host.name, connection));
    client.on('close', () => this.drop(host.name, connection));
    this.connections.set(host.name, connection);
    return connection;
  }

  private connect(host: Host, client: Client): Promise<void> {
    const { ssh } = host;
    const where = `${ssh.user}@${host.address}:${ssh.port}`;
    const knownHosts = readKnownHosts(ssh.knownHosts);
    const names = [knownHostsName(host.address, ssh.port)];
    if (host.name !== host.address) names.push(knownHostsName(host.name, ssh.port));
    const pinned = knownHosts ? entriesFor(knownHosts, names) : [];
    let keyProblem: HostKeyError | undefined;

    const hostVerifier = (blob: Buffer): boolean => {
      const print = fingerprint(blob);
      const type = keyTypeOf(blob);
      if (!knownHosts) {
        keyProblem = new HostKeyError(
          host.name,
          `host key not pinned: known_hosts file ${ssh.knownHosts} cannot be read. The host offered ${type} ${print}; ` +
            `check it with the host's owner, then add it (ssh-keyscan -p ${ssh.port} ${host.address} >> ${ssh.knownHosts}).`,
          print,
        );
        return false;
      }
      const verdict = verifyHostKey(knownHosts, names, blob);
      if (verdict.status === 'match') return true;
      if (verdict.status === 'revoked') {
        keyProblem = new HostKeyError(host.name, `host key ${type} ${print} is marked @revoked in ${ssh.knownHosts} (line ${verdict.entry.line}); refusing to connect.`, print);
      } else if (verdict.status === 'mismatch') {
        const lines = verdict.entries.map((e) => e.line).join(', ');
        keyProblem = new HostKeyError(
          host.name,
          `HOST KEY CHANGED: ${where} offered ${type} ${print}, which does not match the key pinned in ${ssh.knownHosts} (line ${lines}). ` +
            'Refusing to connect: this is a man-in-the-middle or a rebuilt host; confirm with its owner before updating known_hosts.',
          print,
        );
      } else {
        keyProblem = new HostKeyError(
          host.name,
          `host key not pinned: ${where} offered ${type} ${print}, which is not in ${ssh.knownHosts}. ` +
            `Check the fingerprint with the host's owner, then add it (ssh-keyscan -p ${ssh.port} ${host.address} >> ${ssh.knownHosts}).`,
          print,
        );
      }
      return false;
    };

    const config: ConnectConfig = {
      host: host.address,
      port: ssh.port,
      username: ssh.user,
      readyTimeout: ssh.connectTimeoutMs,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      hostVerifier,
    };
    const algorithms = hostKeyAlgorithms(pinned);
    if (algorithms.length > 0) config.algorithms = { serverHostKey: algorithms as never };
    if (ssh.agent) config.agent = ssh.agent;
    if (ssh.privateKey) {
      try {
        config.privateKey = readFileSync(ssh.privateKey);
      } catch (err) {
        return Promise.reject(new ExecError(host.name, 'auth', `cannot read the SSH private key ${ssh.privateKey}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`));
      }
      if (ssh.passphrase !== undefined) config.passphrase = ssh.passphrase;
    }
    if (!config.privateKey && !config.agent) {
      return Promise.reject(new ExecError(host.name, 'auth', 'no SSH credentials: set ssh.privateKey or ssh.agent in badgateway.yaml.'));
    }

    return new Promise<void>((resolve, reject) => {
      const started = Date.now();
      client.once('ready', () => {
        this.logger.debug({ host: host.name, ms: Date.now() - started }, 'ssh connected');
        notify(this.observer, (o) => o.connected?.(host.name, Date.now() - started));
        resolve();
      });
      client.on('error', (err: Error & { level?: string; code?: string }) => {
        const failure = keyProblem ?? connectError(host.name, err, where, ssh.connectTimeoutMs);
        this.logger.warn({ host: host.name, err: failure.message }, 'ssh connection failed');
        notify(this.observer, (o) => o.connectFailed?.(host.name, failure));
        reject(failure);
      });
      try {
        client.connect(config);
      } catch (err) {
        reject(new ExecError(host.name, 'unreachable', `cannot connect to ${where}: ${errorMessage(err)}`));
      }
    });
  }

  private async exec(host: Host, client: Client, command: RenderedCommand, options: ExecOptions): Promise<ExecResult> {
    const line = remoteCommandLine(command, host.ssh.user);
    return observed({ logger: this.logger, observer: this.observer, transport: 'ssh' }, host.name, command, () => {
      const started = Date.now();
      return this.openChannel(host, client, command, line, (channel) => collect(host.name, command, channel, options, started));
    });
  }

  /**
   * Opens a session channel. sshd frees a finished session a moment after its channel closes, so under
   * load a new channel can briefly exceed MaxSessions ("open failed"): retry that with a short backoff.
   */
  private async openChannel<T>(
    host: Host,
    client: Client,
    command: RenderedCommand,
    line: string,
    // Called synchronously on open: an event such as 'exit' may follow in the same packet batch.
    onOpen: (channel: ClientChannel) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let opened: Promise<T> | undefined;
      try {
        await new Promise<void>((resolve, reject) => {
          client.exec(line, (err, channel) => {
            if (err) return reject(err);
            opened = onOpen(channel);
            resolve();
          });
        });
        return await opened!;
      } catch (err) {
        if (opened || attempt >= CHANNEL_OPEN_ATTEMPTS || !/open failed/i.test(errorMessage(err))) {
          if (opened) throw err;
          throw new ExecError(host.name, 'unreachable', `cannot open a channel for ${command.id}: ${errorMessage(err)}`);
        }
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
  }

  private scheduleIdleClose(name: string, connection: Connection): void {
    if (connection.active > 0 || connection.closed) return;
    connection.idleTimer = setTimeout(() => this.drop(name, connection), this.idleTimeoutMs);
    connection.idleTimer.unref();
  }

  private drop(name: string, connection: Connection): void {
    clearTimeout(connection.idleTimer);
    if (this.connections.get(name) === connection) this.connections.delete(name);
    if (!connection.closed) {
      connection.closed = true;
      // A handshake still waiting on a silent host has nothing to end politely: drop the socket (and its
      // connect timer), or the process would wait out the connect timeout before it can exit.
      if (connection.established) connection.client.end();
      else connection.client.destroy();
    }
  }
}

const CHANNEL_OPEN_ATTEMPTS = 5;

/** How long a stopped command may take to die on the host before the channel is closed regardless. */
const STOP_GRACE_MS = 3000;

/** Reads one channel to its end, enforcing the command's timeout and output cap. */
function collect(hostName: string, command: RenderedCommand, channel: ClientChannel, options: ExecOptions, started: number): Promise<ExecResult> {
  return new Promise<ExecResult>((resolve, reject) => {
    const output = new CappedOutput(command.maxOutputBytes, options.onStdout, () => stop());
    let timedOut = false;
    let cancelled = false;
    let exitCode: number | null = null;
    let exitSignal: string | null = null;
    let exited = false;

    let forceClose: NodeJS.Timeout | undefined;
    const stop = () => {
      // EOF on stdin tells the host-side wrapper to kill the command (see remote-command.ts).
      channel.end();
      // If the host never answers, stop waiting for it.
      forceClose ??= setTimeout(() => channel.close(), STOP_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, command.timeoutMs);
    const onAbort = () => {
      cancelled = true;
      stop();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    channel.on('data', (chunk: Buffer) => output.stdout(chunk));
    channel.stderr.on('data', (chunk: Buffer) => output.stderr(chunk));
    channel.on('exit', (code: number | null, signal?: string) => {
      exited = true;
      exitCode = code ?? null;
      exitSignal = signal ?? null;
    });
    // ssh2 repeats the exit status as arguments of 'close'; take it from there if 'exit' was missed.
    channel.on('close', (code?: number | null, signal?: string) => {
      if (!exited && (typeof code === 'number' || typeof signal === 'string')) {
        exited = true;
        exitCode = typeof code === 'number' ? code : null;
        exitSignal = signal ?? null;
      }
      clearTimeout(timer);
      clearTimeout(forceClose);
      options.signal?.removeEventListener('abort', onAbort);
      const durationMs = Date.now() - started;
      if (cancelled) {
        reject(new ExecError(hostName, 'cancelled', `${command.id} was cancelled after ${durationMs} ms.`));
        return;
      }
      if (!exited && !timedOut && !output.truncated) {
        reject(new ExecError(hostName, 'unreachable', `the connection was lost while ${command.id} was running (after ${durationMs} ms).`));
        return;
      }
      resolve({
        host: hostName,
        commandId: command.id,
        code: timedOut || output.truncated ? null : exitCode,
        signal: exitSignal,
        stdout: output.stdoutBuffer(),
        stderr: output.stderrText(),
        stdoutBytes: output.stdoutBytes,
        truncated: output.truncated,
        timedOut,
        durationMs,
      });
    });
  });
}

/**
 * ssh2's connection error as an ExecError with its reason. ssh2 gives no code for a handshake timeout,
 * a refused key or an unusable private key, so those few are recognised by its own message text.
 */
function connectError(host: string, err: Error & { level?: string; code?: string }, where: string, timeoutMs: number): ExecError {
  const message = err.message;
  const failure = (reason: ExecFailure, text: string) => new ExecError(host, reason, text, { cause: err });
  if (err.code === 'ECONNREFUSED') return failure('unreachable', `connection refused by ${where}: is sshd running and the port right?`);
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return failure('unreachable', `cannot resolve the address of ${where}.`);
  if (err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') return failure('unreachable', `${where} is unreachable (no route to host).`);
  if (err.code === 'ETIMEDOUT' || /Timed out while waiting for handshake/.test(message)) {
    return failure('unreachable', `no SSH answer from ${where} within ${Math.round(timeoutMs / 1000)} s: host down or filtered.`);
  }
  if (err.code === 'ECONNRESET') return failure('unreachable', `${where} reset the connection during the SSH handshake.`);
  if (err.level === 'client-authentication' || /authentication methods failed/.test(message)) {
    return failure('auth', `authentication failed for ${where}: the key or agent identity is not accepted.`);
  }
  if (/passphrase/i.test(message) || /Cannot parse privateKey/i.test(message)) {
    return failure('auth', `the SSH private key cannot be used (${message.split('\n')[0]}): check the file and its passphrase.`);
  }
  return failure('unreachable', `cannot connect to ${where}: ${message.split('\n')[0]}`);
}
