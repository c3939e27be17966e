/**
 * `badgateway start` in Slack HTTP mode as a real child process, for the tests that kill it (SIGKILL)
 * or stop it (SIGTERM) mid-work: its Web API calls go to the test's Slack stub, its JSON log lines
 * (stderr) can be waited for.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { REPO_ROOT } from './config.js';
import { BIN, consoleEnv } from './console-process.js';
import { freePort } from './sshd.js';

export interface BotProcess {
  child: ChildProcessWithoutNullStreams;
  /** Where signed Slack requests go. */
  url: string;
  stderr(): string;
  /** Waits until a log line (stderr) matches; returns it. Fails early if the process exits. */
  waitForLog(re: RegExp, ms?: number): Promise<string>;
  /** Resolves with the exit code (null after a signal) once the process has exited. */
  exited(): Promise<number | null>;
}

/** Starts the bot with `env` (config, store) on a free PORT, talking to the stub at `apiUrl`; resolves once it serves. */
export async function spawnSlackBot(options: { env: NodeJS.ProcessEnv; secret: string; apiUrl: string }): Promise<BotProcess> {
  const port = await freePort();
  const env = consoleEnv({ LOG_LEVEL: 'info', SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: options.secret, SLACK_API_URL: options.apiUrl, PORT: String(port), ...options.env });
  const child = spawn(process.execPath, [BIN, 'start'], { cwd: REPO_ROOT, env, stdio: 'pipe' });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', () => undefined);
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitForLog = async (re: RegExp, ms = 60_000): Promise<string> => {
    // Generous: a bot on a machine busy with another suite can take many seconds to start.
    const deadline = Date.now() + ms;
    for (;;) {
      const line = stderr.split('\n').find((l) => re.test(l));
      if (line) return line;
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the bot exited (${child.exitCode ?? child.signalCode}) before ${re}\n${stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const bot: BotProcess = { child, url: `http://127.0.0.1:${port}/slack/events`, stderr: () => stderr, waitForLog, exited: () => exit };
  await waitForLog(/"msg":"slack app running"/);
  return bot;
}

/** The bot processes a test file starts: each on the same stub, all SIGKILLed at the end if still running. */
export class BotProcesses {
  private readonly started: BotProcess[] = [];

  constructor(private readonly slack: { secret: string; apiUrl: string }) {}

  async start(env: NodeJS.ProcessEnv): Promise<BotProcess> {
    const bot = await spawnSlackBot({ env, ...this.slack });
    this.started.push(bot);
    return bot;
  }

  async killAll(): Promise<void> {
    for (const bot of this.started) {
      if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
      await bot.exited();
    }
  }
}
