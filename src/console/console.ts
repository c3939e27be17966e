/**
 * @module console: the local front end of `badgateway start` when no Slack credentials are set. It
 * reads the same commands (`/502 triage web-03`, or without the `/502`) and prints the same
 * messages the router gives Slack, as text; buttons are numbered choices (type the number).
 */
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { errorMessage } from '../errors.js';
import { renderConsole } from '../report/console.js';
import { readerText } from '../report/sanitize.js';
import type { Message, MessageButton } from '../report/message.js';
import type { Router } from '../router/router.js';
import { SLASH_COMMANDS } from '../router/commands.js';
import type { ClickResponder, FileUpload, MessageHandle, MessageRef, Responder } from '../chat/types.js';

export interface ConsoleOptions {
  router: Router;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Who is typing (the local user name). */
  user: string;
  prompt?: string;
  /** Ends the session (the bot is stopping): input is no longer read. */
  signal?: AbortSignal;
}

/** The commands come from the router's table, so the banner never lists one that is not there. */
const BANNER = `badgateway console: type /502 help for the commands (${SLASH_COMMANDS.map((c) => c.name).join(', ')}), a number to press a button, quit to leave.\n`;

/** Runs the console until the input ends (or `quit`) and every running job has finished. */
export async function runConsole(options: ConsoleOptions): Promise<void> {
  const { router, output, user } = options;
  const tty = Boolean((options.output as { isTTY?: boolean }).isTTY);
  const rl = createInterface({ input: options.input, output, terminal: tty, prompt: options.prompt ?? '502> ' });
  const choices = new Map<number, { button: MessageButton; source: MessageHandle }>();
  let nextChoice = 1;

  // Everything printed goes through here: scrubbed, and no log line may drive the terminal.
  const write = (raw: string) => {
    const text = readerText(raw);
    output.write(text.endsWith('\n') ? text : `${text}\n`);
    if (tty) rl.prompt(true);
  };

  /** Every message printed this session, by its number, so a runbook can reach it again (`open`). */
  const handles = new Map<string, Handle>();
  let nextMessage = 1;
  // Message numbers are this process's own: a session stored by an earlier console cannot reach them.
  const consoleId = randomBytes(4).toString('hex');

  class Handle implements MessageHandle {
    private lastStatus: string | null = null;
    readonly ref: MessageRef;

    /** `parent`: this message is a reply in that message's thread (printed indented). */
    constructor(
      message: Message,
      private readonly parent: Handle | null = null,
    ) {
      this.ref = { channel: 'console', ts: `${consoleId}.${nextMessage++}`, ...(parent ? { threadTs: parent.ref.ts } : {}) };
      handles.set(this.ref.ts, this);
      this.print(message);
    }

    print(message: Message): void {
      if (message.status !== undefined) {
        if (message.status !== this.lastStatus) write(`${this.parent ? '  │ ' : ''}… ${message.status}`);
        this.lastStatus = message.status;
        return;
      }
      // Buttons are numbered choices wherever they are, thread replies included (runbook steps, approvals).
      const text = renderConsole(message, (button) => {
        const n = nextChoice++;
        choices.set(n, { button, source: this });
        return n;
      });
      write(this.parent ? text.replace(/^/gm, '  │ ') : text);
    }

    async update(message: Message): Promise<void> {
      this.print(message);
    }

    async reply(message: Message): Promise<void> {
      await this.threadReply(message);
    }

    async threadReply(message: Message): Promise<MessageHandle> {
      return new Handle(message, this.parent ?? this);
    }

    async upload(file: FileUpload): Promise<void> {
      const comment = renderConsole({ text: file.comment, blocks: [{ kind: 'section', text: file.comment }] }, () => 0).trimEnd();
      write(`  │ ${comment}\n  │ --- ${file.filename} ---\n${file.content.replace(/\n$/, '').replace(/^/gm, '  │ ')}\n  │ --- end of ${file.filename} ---`);
    }
  }

  const responder: Responder = {
    async ephemeral(message) {
      write(renderConsole(message, () => 0));
    },
    async post(message) {
      return new Handle(message);
    },
    open(ref) {
      return handles.get(ref.ts) ?? null;
    },
  };

  const handleLine = (line: string) => {
    const text = line.trim();
    if (text === '') return;
    if (text === 'quit' || text === 'exit') {
      rl.close();
      return;
    }
    if (/^\d+$/.test(text)) {
      const choice = choices.get(Number(text));
      if (!choice) {
        write(`No choice ${text}: the numbers in [brackets] under a message are its buttons.`);
        return;
      }
      const clickResponder: ClickResponder = { ...responder, source: choice.source };
      write(`> ${choice.button.label}`);
      void router.click({ surface: 'console', user, channel: 'console', action: choice.button.action, value: choice.button.value }, clickResponder);
      return;
    }
    const commandText = text.replace(/^\/\S+\s*/, '');
    try {
      const plan = router.plan({ surface: 'console', text: commandText, user, channel: 'console' });
      if (plan.kind === 'reply') write(renderConsole(plan.message, () => 0));
      else void plan.run(responder);
    } catch (err) {
      write(`error: ${errorMessage(err)}`);
    }
  };

  output.write(BANNER);
  rl.on('line', handleLine);
  // Ctrl-C cancels what is running (remote commands included) and leaves.
  rl.on('SIGINT', () => {
    void router.close();
    rl.close();
  });
  options.signal?.addEventListener('abort', () => rl.close(), { once: true });
  if (tty) rl.prompt();
  const closed = new Promise<void>((resolve) => rl.once('close', resolve));
  if (options.signal?.aborted) rl.close();
  else options.signal?.addEventListener('abort', () => rl.close(), { once: true });
  await closed;
  // `quit` (or the end of the session) lets go of the input: a pipe still open on the other side
  // would otherwise keep the process alive until it closes.
  (options.input as { unref?: () => void }).unref?.();
  await router.idle();
}
