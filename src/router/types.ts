/** What the router hands back to the front ends: plans for a command, and the auto-triage it runs for alerts. */
import type { Message } from '../report/message.js';
import type { MessageHandle, Responder } from '../chat/types.js';
import type { TriageResult } from '../triage/types.js';

/**
 * What a command turns into, decided at once without I/O so a front end can acknowledge within
 * Slack's 3 seconds: an immediate reply (help, hosts, usage errors, refusals: nothing runs), or a
 * job the front end starts after acknowledging.
 */
export type Plan =
  | { kind: 'reply'; message: Message; reason: 'help' | 'hosts' | 'usage' | 'refused' | 'busy' | 'joined' | 'restarting' }
  | { kind: 'job'; command: string; target: string; run(responder: Responder): Promise<void> };

/** A triage the bot starts on its own (an Alertmanager alert): the same job and messages as `/502 triage`. */
export interface AutoTriage {
  source: 'alert';
  /** Command label for metrics and logs (`triage`, or `resolved` for the short read behind a resolved note). */
  command?: string;
  target: string;
  sinceMs: number;
  /** mrkdwn shown where a typed command shows who asked (e.g. "Alertmanager: NginxHigh5xxRate"). */
  requestedBy: string;
  channel: string;
  /** Called as soon as the first message is posted, before the triage ends (thread notes can go there meanwhile). */
  onPosted?(handle: MessageHandle): void;
}

/** How a job ended: the message it posted (null when nothing could be posted) and the result, or why not. */
export interface TriageJob {
  handle: MessageHandle | null;
  result: TriageResult | null;
  error: string | null;
}
