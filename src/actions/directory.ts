/**
 * Who may approve changes: the user ids in `slack.approvers`, and the members of the Slack user group
 * `slack.approverGroup` (read with usergroups.users.list, which needs the `usergroups:read` bot
 * scope; cached for a minute). The console is the operator's own terminal: its user approves.
 */
import { errorMessage } from '../errors.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/index.js';

/** Members of a Slack user group (`S0123...`). */
export type GroupMembers = (groupId: string) => Promise<string[]>;

/** A GroupMembers over a Bolt/Web API client. */
export function slackGroupMembers(client: { usergroups: { users: { list(args: { usergroup: string }): Promise<{ users?: string[] }> } } }): GroupMembers {
  return async (groupId) => (await client.usergroups.users.list({ usergroup: groupId })).users ?? [];
}

export type ApproverCheck = { ok: true; how: 'list' | 'group' | 'console' } | { ok: false; why: string };

export class ApproverDirectory {
  private cache: { at: number; members: Set<string> } | null = null;

  constructor(
    private readonly slack: Config['slack'],
    private readonly members: GroupMembers | null,
    private readonly logger: Logger,
    private readonly ttlMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether anyone could approve at all (a list, or a group the bot can read). */
  configured(): boolean {
    return this.slack.approvers.length > 0 || Boolean(this.slack.approverGroup);
  }

  /** Who to name in a request: the listed approvers and the group. */
  describe(): { users: string[]; group: string | null } {
    return { users: this.slack.approvers, group: this.slack.approverGroup ?? null };
  }

  async check(user: string, surface: string): Promise<ApproverCheck> {
    if (surface === 'console') return { ok: true, how: 'console' };
    if (this.slack.approvers.includes(user)) return { ok: true, how: 'list' };
    const group = this.slack.approverGroup;
    if (!group) return { ok: false, why: 'not in slack.approvers' };
    if (!this.members) return { ok: false, why: `slack.approverGroup ${group} cannot be read here (no Slack client)` };
    try {
      if (!this.cache || this.now() - this.cache.at > this.ttlMs) {
        this.cache = { at: this.now(), members: new Set(await this.members(group)) };
      }
    } catch (err) {
      const code = (err as { data?: { error?: string } }).data?.error;
      this.logger.warn({ err: errorMessage(err), group }, 'could not read the approver group');
      const hint = code === 'missing_scope' ? ' (the app needs the usergroups:read scope)' : '';
      return { ok: false, why: `the approver group ${group} could not be read: ${code ?? errorMessage(err)}${hint}` };
    }
    return this.cache.members.has(user) ? { ok: true, how: 'group' } : { ok: false, why: `not in slack.approvers nor in the group ${group}` };
  }
}
