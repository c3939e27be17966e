/**
 * Who may do what. The config names the channels the bot answers in (`slack.channels`, empty: any),
 * who may run read-only commands (`slack.users`, empty: anyone there) and the approvers of changes
 * (`slack.approvers`). The local console is the operator's own terminal and is not restricted.
 */
import type { Config } from '../config/index.js';
import { channelRef, mention } from '../report/message.js';
import type { Surface } from './types.js';

export type Need = 'read' | 'mutate';

/** Returns null when allowed, else a polite refusal (mrkdwn) that says why and where to go. */
export function authorize(who: { surface: Surface; user: string; channel: string }, slack: Config['slack'], need: Need): string | null {
  if (who.surface === 'console') return null;
  if (slack.channels.length > 0 && !slack.channels.includes(who.channel)) {
    const where = slack.channels.slice(0, 5).map(channelRef).join(', ');
    return `Sorry, I only answer in ${where}${slack.channels.length > 5 ? ' and a few more channels' : ''}. Please ask there (an admin can add this channel to \`slack.channels\`).`;
  }
  const isApprover = slack.approvers.includes(who.user);
  if (need === 'read' && slack.users.length > 0 && !slack.users.includes(who.user) && !isApprover) {
    return `Sorry ${mention(who.user)}, you are not on the list of people who may run badgateway commands (\`slack.users\`). An on-call lead can add you.`;
  }
  if (need === 'mutate' && !isApprover) {
    return `Sorry ${mention(who.user)}, only approvers (\`slack.approvers\`) may change a host.`;
  }
  return null;
}
