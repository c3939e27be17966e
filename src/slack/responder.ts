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
import { scrub } from '../report/scrub.js';
import type { ClickResponder, FileUpload, MessageHandle, MessageRef, Responder } from '../chat/types.js';

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

/** Called with the Web API method and the error whenever a call fails for good (after the client's retries): metrics. */
export type ApiErrorHook = (method: string, err: unknown) => void;

async function counted<T>(onApiError: ApiErrorHook | undefined, method: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    try {
      onApiError?.(method, err);
    } catch {
      /* counting must never change what the caller sees */
    }
    throw err;
  }
}

export class SlackMessageHandle implements MessageHandle {
  constructor(
    private readonly client: WebClient,
    readonly channel: string,
    readonly ts: string,
    private readonly onApiError?: ApiErrorHook,
    /** Set when this message is itself a thread reply: replies go to the parent's thread. */
    readonly threadTs?: string,
  ) {}

  /** Where the message lives, to reach it again after a restart (runbook sessions keep it). */
  get ref(): MessageRef {
    return { channel: this.channel, ts: this.ts, ...(this.threadTs ? { threadTs: this.threadTs } : {}) };
  }

  /** A reply in this message's thread, returning the reply's own handle (to update it later). */
  async threadReply(message: Message): Promise<MessageHandle> {
    const thread = this.threadTs ?? this.ts;
    const result = await counted(this.onApiError, 'chat.postMessage', () =>
      this.client.chat.postMessage({ channel: this.channel, thread_ts: thread, ...renderSlack(message), unfurl_links: false, unfurl_media: false }),
    );
    if (!result.ts) throw new Error('Slack returned no message timestamp');
    return new SlackMessageHandle(this.client, this.channel, result.ts, this.onApiError, thread);
  }

  async update(message: Message): Promise<void> {
    await counted(this.onApiError, 'chat.update', () => this.client.chat.update({ channel: this.channel, ts: this.ts, ...renderSlack(message) }));
  }

  async reply(message: Message): Promise<void> {
    await counted(this.onApiError, 'chat.postMessage', () =>
      this.client.chat.postMessage({ channel: this.channel, thread_ts: this.threadTs ?? this.ts, ...renderSlack(message), unfurl_links: false, unfurl_media: false }),
    );
  }

  async upload(file: FileUpload): Promise<void> {
    // A chart (binary `data`) may go in the channel under the message; text files go in its thread.
    const where = file.inChannel ? { channel_id: this.channel } : { channel_id: this.channel, thread_ts: this.threadTs ?? this.ts };
    // Evidence and timeline files carry log text: the same scrubber as every message.
    const body = file.data ? { file: file.data } : { content: scrub(file.content) };
    await counted(this.onApiError, 'files.uploadV2', () =>
      this.client.filesUploadV2({ ...where, ...body, initial_comment: scrub(file.comment), filename: file.filename, title: scrub(file.title) } as webApi.FilesUploadV2Arguments),
    );
  }
}

export interface SlackResponderOptions {
  client: WebClient;
  channel: string;
  user: string;
  /** Bolt's respond(), when the payload had a response_url. */
  respond?: RespondFn;
  logger: Logger;
  /** Failed Web API calls are reported here (metrics) before they are handled or rethrown. */
  onApiError?: ApiErrorHook;
}

export class SlackResponder implements Responder {
  constructor(protected readonly options: SlackResponderOptions) {}

  async ephemeral(message: Message): Promise<void> {
    const rendered = renderSlack(message);
    const { client, channel, user, respond, logger, onApiError } = this.options;
    if (respond) {
      try {
        await counted(onApiError, 'response_url', () => respond({ response_type: 'ephemeral', replace_original: false, ...rendered }));
        return;
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, 'response_url failed; trying chat.postEphemeral');
      }
    }
    await counted(onApiError, 'chat.postEphemeral', () => client.chat.postEphemeral({ channel, user, ...rendered }));
  }

  async post(message: Message): Promise<MessageHandle> {
    const { client, channel, onApiError } = this.options;
    try {
      const result = await counted(onApiError, 'chat.postMessage', () => client.chat.postMessage({ channel, ...renderSlack(message), unfurl_links: false, unfurl_media: false }));
      if (!result.ts) throw new Error('Slack returned no message timestamp');
      return new SlackMessageHandle(client, result.channel ?? channel, result.ts, onApiError);
    } catch (err) {
      throw explain(err);
    }
  }

  /** A message posted earlier (maybe by an earlier process), by its channel and ts. */
  open(ref: MessageRef): MessageHandle {
    return new SlackMessageHandle(this.options.client, ref.channel, ref.ts, this.options.onApiError, ref.threadTs);
  }
}

export class SlackClickResponder extends SlackResponder implements ClickResponder {
  readonly source: MessageHandle | null;

  constructor(options: SlackResponderOptions & { messageTs: string | null; threadTs?: string | null }) {
    super(options);
    const thread = options.threadTs && options.threadTs !== options.messageTs ? options.threadTs : undefined;
    this.source = options.messageTs ? new SlackMessageHandle(options.client, options.channel, options.messageTs, options.onApiError, thread) : null;
  }
}
