/** `badgateway start` as a console process for tests: its stdin and stdout are the terminal a responder uses. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './config.js';

export const BIN = join(REPO_ROOT, 'bin', 'badgateway.js');

/** Variables that would switch the bot to Slack or point it at another config or database. */
const FOREIGN = ['BADGATEWAY_CONFIG', 'LOG_LEVEL', 'SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_API_URL', 'DATABASE_URL'];

/** This process's environment without those variables, plus `extra`. */
export function consoleEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of FOREIGN) delete env[key];
  return { ...env, ...extra };
}

export interface ConsoleProcess {
  child: ChildProcessWithoutNullStreams;
  out(): string;
  err(): string;
  send(line: string): void;
  /** Waits until stdout matches; returns all of stdout. */
  waitFor(re: RegExp, ms?: number): Promise<string>;
  /** Waits until stdout after `from` matches; returns the match. */
  match(re: RegExp, from?: number, ms?: number): Promise<RegExpExecArray>;
  /** Closes stdin (the console's quit) and resolves with the exit code. */
  quit(): Promise<number | null>;
}

export function spawnConsole(options: { cwd?: string; env: NodeJS.ProcessEnv; wrap?: string[] }): ConsoleProcess {
  const argv = [...(options.wrap ?? []), process.execPath, BIN, 'start'];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd ?? REPO_ROOT, env: options.env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Generous: a bot starting on a machine busy with another suite can take many seconds; a wait that
  // fails only ever fails by timing out, so the margin costs nothing when things go right.
  const match = async (re: RegExp, from = 0, ms = 60_000): Promise<RegExpExecArray> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = re.exec(stdout.slice(from));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}\n--- stdout ---\n${stdout.slice(from)}\n--- stderr ---\n${stderr}`);
      if (child.exitCode !== null) throw new Error(`console exited (${child.exitCode}) before ${re}\n${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return {
    child,
    out: () => stdout,
    err: () => stderr,
    send: (line) => child.stdin.write(`${line}\n`),
    match,
    async waitFor(re, ms) {
      await match(re, 0, ms);
      return stdout;
    },
    quit() {
      const exited = child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise<number | null>((r) => child.once('exit', r));
      child.stdin.end();
      return exited;
    },
  };
}
