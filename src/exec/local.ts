/**
 * Runs catalog commands on the machine the bot runs on (`transport: local`), with the same contract as
 * the SSH executor: the catalog's argv is executed directly (spawn with an argv array, never a shell;
 * the catalog's fixed `sh -c 'script' name args` entries work because `sh` is argv[0]), `sudo: true`
 * commands go through `sudo -n --` unless the bot runs as root, and each command runs in a process group
 * of its own that is killed at the command's timeout, on cancel, when its output passes the cap, and as
 * soon as the command itself exits (so nothing it started outlives the request).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { RenderedCommand } from '../catalog/index.js';
import type { Host } from '../config/index.js';
import { ExecError, UsageError, errorMessage } from '../errors.js';
import type { Logger } from '../log/index.js';
import { Semaphore } from './semaphore.js';
import { observed, type ExecObserver, type ExecOptions, type ExecResult, type Executor } from './types.js';
import { CappedOutput } from './output.js';
import { withSudo } from './sudo.js';

export interface LocalExecutorOptions {
  logger: Logger;
  /** Told about commands (metrics, audit). */
  observer?: ExecObserver;
  /** Commands at once on this machine (the same role as channelsPerHost for SSH). */
  concurrency?: number;
  /** The user id commands run as; decides whether `sudo: true` needs `sudo -n`. Default: this process's. */
  uid?: number;
  /** Environment of the commands; default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** Working directory of the commands; default `/` (catalog paths are absolute). */
  cwd?: string;
}

/** `sudo: true` commands go through `sudo -n --` (never prompts), except when already running as root. */
export function localArgv(command: RenderedCommand, uid: number): string[] {
  return withSudo(command, uid === 0);
}

/**
 * How long the pipes may stay open once the command was stopped, or once it exited, before they are
 * closed regardless (a process that left the command's group may still hold them).
 */
const STOP_GRACE_MS = 1000;
const EXIT_GRACE_MS = 3000;

export class LocalExecutor implements Executor {
  private readonly logger: Logger;
  private readonly observer: ExecObserver | undefined;
  private readonly slots: Semaphore;
  private readonly uid: number;
  private readonly env: NodeJS.ProcessEnv | undefined;
  private readonly cwd: string;
  /** In-flight commands, stopped by close(). */
  private readonly running = new Set<() => void>();

  constructor(options: LocalExecutorOptions) {
    this.logger = options.logger;
    this.observer = options.observer;
    this.slots = new Semaphore(Math.max(1, options.concurrency ?? 8));
    this.uid = options.uid ?? process.getuid?.() ?? -1;
    this.env = options.env;
    this.cwd = options.cwd ?? '/';
  }

  async run(host: Host, command: RenderedCommand, options: ExecOptions = {}): Promise<ExecResult> {
    if (command.mutating && !options.approvalId) {
      throw new UsageError(`${command.id} changes the host and runs only after an approval.`);
    }
    const cancelled = () => new ExecError(host.name, 'cancelled', `${command.id} was cancelled before it started.`);
    if (options.signal?.aborted) throw cancelled();
    return this.slots
      .use(async () => {
        if (options.signal?.aborted) throw cancelled();
        const argv = localArgv(command, this.uid);
        return observed({ logger: this.logger, observer: this.observer, transport: 'local' }, host.name, command, () => this.exec(host.name, command, argv, options, Date.now()));
      }, options.signal)
      .catch((err: unknown) => {
        // A cancel while waiting for a slot.
        throw options.signal?.aborted && !(err instanceof ExecError) ? cancelled() : err;
      });
  }

  /** Stops every running command (its whole process group) and waits for nothing more. */
  async close(): Promise<void> {
    for (const stop of [...this.running]) stop();
  }

  private exec(hostName: string, command: RenderedCommand, argv: string[], options: ExecOptions, started: number): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = spawn(argv[0]!, argv.slice(1), {
          cwd: this.cwd,
          env: this.env ?? process.env,
          // A session and process group of its own: kill(-pid) reaches everything it starts.
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      } catch (err) {
        reject(new ExecError(hostName, 'exit', `cannot run ${command.id}: ${errorMessage(err)}`));
        return;
      }
      const output = new CappedOutput(command.maxOutputBytes, options.onStdout, () => stop());
      let timedOut = false;
      let cancelled = false;
      let spawnError: NodeJS.ErrnoException | undefined;
      let exitCode: number | null = null;
      let exitSignal: string | null = null;
      let settled = false;
      let graceTimer: NodeJS.Timeout | undefined;

      const finish = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(graceTimer);
        options.signal?.removeEventListener('abort', onAbort);
        this.running.delete(onClose);
        const durationMs = Date.now() - started;
        if (cancelled) {
          reject(new ExecError(hostName, 'cancelled', `${command.id} was cancelled after ${durationMs} ms.`));
          return;
        }
        let stderr = output.stderrText();
        let code: number | null = timedOut || output.truncated ? null : exitCode;
        if (spawnError) {
          const missing = spawnError.code === 'ENOENT';
          code = missing ? 127 : 126;
          stderr += `${argv[0]}: ${missing ? 'not found' : `cannot run it (${spawnError.code ?? spawnError.message})`}\n`;
        }
        resolve({
          host: hostName,
          commandId: command.id,
          code,
          signal: timedOut || output.truncated ? (exitSignal ?? 'SIGKILL') : exitSignal,
          stdout: output.stdoutBuffer(),
          stderr,
          stdoutBytes: output.stdoutBytes,
          truncated: output.truncated,
          timedOut,
          durationMs,
        });
      };

      const killGroup = () => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* the group is already gone */
        }
      };
      // A process that moved to a group of its own may still hold the pipes: stop waiting for it.
      const armGrace = (ms: number) => {
        graceTimer ??= setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          finish();
        }, ms);
      };
      const stop = () => {
        killGroup();
        armGrace(STOP_GRACE_MS);
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
      const onClose = () => onAbort();
      this.running.add(onClose);

      child.stdout!.on('data', (chunk: Buffer) => output.stdout(chunk));
      child.stderr!.on('data', (chunk: Buffer) => output.stderr(chunk));
      child.on('error', (err: NodeJS.ErrnoException) => {
        // The program could not be started (not installed, not executable): like a shell, exit 127/126.
        spawnError = err;
        finish();
      });
      child.on('exit', (code, signal) => {
        exitCode = code;
        exitSignal = signal;
        // Whatever the command left running in its group goes with it, so nothing outlives the request;
        // the pipes then drain and 'close' follows.
        killGroup();
        armGrace(EXIT_GRACE_MS);
      });
      child.on('close', () => finish());
    });
  }
}
