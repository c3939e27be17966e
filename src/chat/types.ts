/**
 * The chat port: what the front ends (Slack, console) hand the router and the features, and what they
 * implement for them. Nothing above knows Slack's wire format; a front end only translates to and from these.
 */
import type { Message } from '../report/message.js';

export type Surface = 'slack' | 'console';

/** One `/502 ...` as typed. */
export interface Invocation {
  surface: Surface;
  /** The text after the command name (`triage web-03 --since 15m`). */
  text: string;
  /** Slack user id (`U012AB`), or the local user's name on the console. */
  user: string;
  /** Slack channel id (`C012AB`, `D...` for a DM), or `console`. */
  channel: string;
}

/** Who is asking or deciding, as the front end saw them. */
export interface Actor {
  surface: Surface;
  /** Slack user id, or the local user's name on the console. */
  user: string;
  channel: string;
}

/** A button click on one of the bot's messages. */
export interface Click {
  surface: Surface;
  user: string;
  channel: string;
  /** The button's action id as sent (`bg:evidence`, possibly with a `#2` suffix). */
  action: string;
  /** The button's value as sent; anything, since a payload can be forged or stale. */
  value: unknown;
}

export interface FileUpload {
  filename: string;
  title: string;
  /** The file's text; with `data`, what a front end without files shows instead (e.g. a sparkline). */
  content: string;
  /** mrkdwn shown with the file. */
  comment: string;
  /** Binary content (a PNG chart): uploaded instead of `content` where files are shown. */
  data?: Buffer;
  /** Post the file in the channel, right under the message, rather than in its thread. */
  inChannel?: boolean;
}

/** Where a posted message lives, to reach it again later, from another process too (Slack: channel + ts). */
export interface MessageRef {
  channel: string;
  ts: string;
  /** Set on a reply: the ts of its thread's parent. */
  threadTs?: string;
}

/** A message the bot posted, which it can update in place and reply to in its thread. */
export interface MessageHandle {
  update(message: Message): Promise<void>;
  reply(message: Message): Promise<void>;
  upload(file: FileUpload): Promise<void>;
  /** The message's address, on front ends whose messages outlive the process (runbook sessions keep it). */
  readonly ref?: MessageRef;
  /** Like reply, returning the reply's own handle (to update it later, e.g. a runbook step). */
  threadReply?(message: Message): Promise<MessageHandle>;
}

/** How the router answers, implemented by each front end. */
export interface Responder {
  /** Visible only to who asked (Slack ephemeral); nothing else happens. */
  ephemeral(message: Message): Promise<void>;
  /** A new message in the channel. */
  post(message: Message): Promise<MessageHandle>;
  /** The message at `ref` (posted earlier, maybe before a restart), or null when it cannot be reached here. */
  open?(ref: MessageRef): MessageHandle | null;
}

/** A click's responder also knows the message the button sits on. */
export interface ClickResponder extends Responder {
  source: MessageHandle | null;
}
