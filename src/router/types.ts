/**
 * What the front ends (Slack, console) hand the router, and what they implement for it. The router
 * knows nothing of Slack's wire format; a front end only translates to and from these.
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
  content: string;
  /** mrkdwn shown with the file. */
  comment: string;
}

/** A message the bot posted, which it can update in place and reply to in its thread. */
export interface MessageHandle {
  update(message: Message): Promise<void>;
  reply(message: Message): Promise<void>;
  upload(file: FileUpload): Promise<void>;
}

/** How the router answers, implemented by each front end. */
export interface Responder {
  /** Visible only to who asked (Slack ephemeral); nothing else happens. */
  ephemeral(message: Message): Promise<void>;
  /** A new message in the channel. */
  post(message: Message): Promise<MessageHandle>;
}

/** A click's responder also knows the message the button sits on. */
export interface ClickResponder extends Responder {
  source: MessageHandle | null;
}

/**
 * What a command turns into, decided at once without I/O so a front end can acknowledge within
 * Slack's 3 seconds: an immediate reply (help, hosts, usage errors, refusals: nothing runs), or a
 * job the front end starts after acknowledging.
 */
export type Plan =
  | { kind: 'reply'; message: Message; reason: 'help' | 'hosts' | 'usage' | 'refused' | 'busy' }
  | { kind: 'job'; command: string; target: string; run(responder: Responder): Promise<void> };
