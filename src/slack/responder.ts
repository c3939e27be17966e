/**
 * The router's Responder over Slack's Web API: chat.postMessage / chat.update / a thread reply /
 * filesUploadV2, and ephemeral replies through the response_url (or chat.postEphemeral). Every
 * message goes through renderSlack, so no call can fail on a Block Kit limit.
 */
import type { RespondFn, webApi } from '@slack/bolt';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/index.js';
import type { Message } from '../report/message.js';
import { renderSlack } from '../report/slack.js';
import type { ClickResponder, FileUpload, MessageHandle, Responder } from '../router/types.js';

type WebClient = webApi.WebClient;

/** Slack's error codes turned into what the responder should do about them. */
function explain(err: unknown): Error {
  const code = (err as { data?: { error?: unknown } }).data?.error;
  if (code === 'not_in_channel' || code === 'channel_not_found') {
    return new Error('I am not a member of this channel: invite me with `/invite @badgateway`, then ask again.');
  }
  if (code === 'is_archived') return new Error('this channel is archived.');
  return err instanceof Error ? err : new Error(errorMessage(err));
}

export class SlackMessageHandle implements MessageHandle {
  constructor(
    private readonly client: WebClient,
    readonly channel: string,
    readonly ts: string,
  ) {}

  async update(message: Message): Promise<void> {
    await this.client.chat.update({ channel: this.channel, ts: this.ts, ...renderSlack(message) });
  }

  async reply(message: Message): Promise<void> {
    await this.client.chat.postMessage({ channel: this.channel, thread_ts: this.ts, ...renderSlack(message), unfurl_links: false, unfurl_media: false });
  }

  async upload(file: FileUpload): Promise<void> {
    await this.client.filesUploadV2({
      channel_id: this.channel,
      thread_ts: this.ts,
      initial_comment: file.comment,
      content: file.content,
      filename: file.filename,
      title: file.title,
    });
  }
}

export interface SlackResponderOptions {
  client: WebClient;
  channel: string;
  user: string;
  /** Bolt's respond(), when the payload had a response_url. */
  respond?: RespondFn;
  logger: Logger;
}

export class SlackResponder implements Responder {
  constructor(protected readonly options: SlackResponderOptions) {}

  async ephemeral(message: Message): Promise<void> {
    const rendered = renderSlack(message);
    const { client, channel, user, respond, logger } = this.options;
    if (respond) {
      try {
        await respond({ response_type: 'ephemeral', replace_original: false, ...rendered });
        return;
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, 'response_url failed; trying chat.postEphemeral');
      }
    }
    await client.chat.postEphemeral({ channel, user, ...rendered });
  }

  async post(message: Message): Promise<MessageHandle> {
    const { client, channel } = this.options;
    try {
      const result = await client.chat.postMessage({ channel, ...renderSlack(message), unfurl_links: false, unfurl_media: false });
      if (!result.ts) throw new Error('Slack returned no message timestamp');
      return new SlackMessageHandle(client, result.channel ?? channel, result.ts);
    } catch (err) {
      throw explain(err);
    }
  }
}

export class SlackClickResponder extends SlackResponder implements ClickResponder {
  readonly source: MessageHandle | null;

  constructor(options: SlackResponderOptions & { messageTs: string | null }) {
    super(options);
    this.source = options.messageTs ? new SlackMessageHandle(options.client, options.channel, options.messageTs) : null;
  }
}
