/**
 * Where scheduled digests are posted: a Slack channel through the running Bolt app's per-channel
 * responder (the same SlackResponder as every other message: Block Kit within limits, retries on 429),
 * or the terminal of the local console.
 */
import { renderConsole } from '../report/console.js';
import type { Message } from '../report/message.js';
import type { FileUpload, MessageHandle, Responder } from '../chat/types.js';
import type { DigestPoster } from './scheduler.js';

/** Posts through the front end's per-channel responder (the running Slack app's), when it has one yet. */
export function responderDigestPoster(responderFor: (channel: string) => Pick<Responder, 'post'> | null): DigestPoster {
  return {
    needsChannel: true,
    post(channel, message) {
      if (!channel) throw new Error('no channel to post the digest in');
      const responder = responderFor(channel);
      if (!responder) throw new Error('the Slack app is not running');
      return responder.post(message);
    },
  };
}

/** Prints digests on a terminal (the console front end): the message as text, the chart as its sparkline. */
export function textDigestPoster(output: NodeJS.WritableStream): DigestPoster {
  const write = (text: string) => output.write(text.endsWith('\n') ? text : `${text}\n`);
  const handle: MessageHandle = {
    async update(message: Message) {
      write(renderConsole(message, () => 0));
    },
    async reply(message: Message) {
      write(renderConsole(message, () => 0).replace(/^/gm, '  │ '));
    },
    async upload(file: FileUpload) {
      write(`  │ ${file.title}\n${file.content.replace(/\n$/, '').replace(/^/gm, '  │ ')}`);
    },
  };
  return {
    needsChannel: false,
    async post(_channel, message) {
      write(renderConsole(message, () => 0));
      return handle;
    },
  };
}
