/**
 * Remediation with approvals, read top to bottom:
 *   request (button or `/502 reload HOST`) → render the catalog command for the host (discovery fills
 *   the service name or the master pid) → store a pending approval → post it with Approve / Deny
 *   → a click → checks (approver, two-person rule, expiry) → ONE conditional UPDATE in the store
 *   decides (double clicks, two approvers, two replicas: the first wins, the rest are told)
 *   → run the exact approved argv over SSH → verify → outcome in the request's thread.
 * Every decision and every remote command goes to the audit log.
 */
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { actionProblems, type Catalog, type CatalogCommand } from '../catalog/index.js';
import { effectiveSources } from '../collect/discover.js';
import { DiscoveryCache } from '../collect/discovery-cache.js';
import { ConfigError, UsageError, errorMessage } from '../errors.js';
import type { Config, Host } from '../config/index.js';
import { argvAsRun, type Executor } from '../exec/index.js';
import type { Inventory } from '../inventory/index.js';
import type { Logger } from '../log/index.js';
import { code, esc, mention } from '../report/message.js';
import { scrub } from '../report/scrub.js';
import { noticeMessage } from '../chat/messages.js';
import type { Actor, ClickResponder, MessageHandle, Responder } from '../chat/types.js';
import type { ActionKind, Approval, AuditEvent, Store } from '../store/index.js';
import { AUDIT_OUTPUT_LIMIT, truncate, withActor, type AuditActor } from './audit.js';
import { ApproverDirectory, type GroupMembers } from './directory.js';
import { ACTION_WORDS, INTERRUPTED, auditMessage, clock, decidedMessage, outcomeMessage, previewMessage, requestMessage, type RunOutcome } from './messages.js';
import { cancelledOutcome, runApproved, type Prepared, type RunContext } from './run.js';

export const DEFAULT_ACTIONS: Record<ActionKind, string> = { reload: 'fpm.reload', restart: 'fpm.restart' };

export interface ActionServiceDeps {
  config: Config;
  inventory: Inventory;
  catalog: Catalog;
  /** The audited executor (every command it runs is recorded). */
  executor: Executor;
  store: Store;
  logger: Logger;
  /** Shared with triage, so a reload right after a triage needs no new discovery. */
  discovery?: DiscoveryCache;
  /** Members of slack.approverGroup (Slack's usergroups.users.list); null: the group cannot be read. */
  groupMembers?: GroupMembers | null;
  now?: () => number;
  /** This instance's name as the runner of approved requests (default host:pid:random). */
  instance?: string;
  /** How long a runner's lease on a running request holds unless renewed (default 20 s, renewed every quarter). */
  leaseMs?: number;
}

/** Reaches a channel's messages from any instance (Slack: the running app's per-channel responder). */
export type Messenger = (channel: string) => Responder | null;

const DEFAULT_LEASE_MS = 20_000;

export interface RequestInput {
  action: ActionKind;
  host: string;
  actor: Actor;
  /** The requester's words, or the triage verdict the button came from. */
  reason: string | null;
  /** Show what would run; store and run nothing. */
  preview?: boolean;
}

export function newApprovalId(): string {
  return randomBytes(8).toString('hex');
}

export class ActionService {
  readonly directory: ApproverDirectory;
  /** This instance, as the runner named in the store. */
  readonly instance: string;
  private readonly discovery: DiscoveryCache;
  private readonly now: () => number;
  private readonly leaseMs: number;
  private sweeper: NodeJS.Timeout | null = null;
  private sweeping: Promise<unknown> | null = null;
  private messenger: Messenger | null = null;

  constructor(private readonly deps: ActionServiceDeps) {
    this.discovery = deps.discovery ?? new DiscoveryCache();
    this.now = deps.now ?? Date.now;
    this.instance = deps.instance ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
    this.directory = new ApproverDirectory(deps.config.slack, deps.groupMembers ?? null, deps.logger);
    // Configured ids are checked now; a catalog folder without the defaults fails only when asked.
    const problems = actionProblems(deps.catalog, deps.config);
    if (problems.length) throw new ConfigError(deps.config.file ?? 'built-in config', problems);
  }

  get store(): Store {
    return this.deps.store;
  }

  /** How the sweeper reaches a request's message (posted by whichever instance) to say it was interrupted. */
  setMessenger(messenger: Messenger | null): void {
    this.messenger = messenger;
  }

  commandId(action: ActionKind, host: Host): string {
    return host.actions?.[action] ?? DEFAULT_ACTIONS[action];
  }

  private verifyNames(command: CatalogCommand): string[] {
    const window = this.deps.config.approvals.verifyWindowMs;
    return [...command.verify, 'the PHP-FPM status page', ...(window > 0 ? [`the 5xx rate ${Math.round(window / 1000)}s after vs before`] : [])];
  }

  private async audit(event: AuditEvent, fields: { host: string | null; actor: Actor | AuditActor; approval?: Approval; approver?: string | null; detail?: Record<string, unknown> }): Promise<void> {
    const a = fields.approval;
    try {
      await this.deps.store.appendAudit({
        at: this.now(),
        kind: 'decision',
        event,
        host: fields.host,
        actor: a && event !== 'refused' ? a.requestedBy : fields.actor.user,
        surface: fields.actor.surface,
        approvalId: a?.id ?? null,
        approver: fields.approver ?? null,
        commandId: a?.commandId ?? null,
        argv: a?.argv ?? null,
        // The channel it happened in: `/502 audit` in a channel shows that channel's decisions.
        detail: {
          ...(a?.reason && event === 'requested' ? { reason: a.reason } : {}),
          ...((a?.channel ?? fields.actor.channel) ? { channel: a?.channel ?? fields.actor.channel } : {}),
          ...fields.detail,
        },
      });
    } catch (err) {
      this.deps.logger.error({ err: errorMessage(err), event, host: fields.host }, 'could not write an audit decision');
      throw err;
    }
  }

  /**
   * Renders the host's command for this action from a discovery made NOW (never the cache: the
   * service name or the master pid rendered into a mutating command must be true when it is shown
   * and again when it runs).
   */
  private async prepare(action: ActionKind, hostName: string, signal?: AbortSignal): Promise<Prepared> {
    const configured = this.deps.inventory.get(hostName);
    if (!configured) throw new UsageError(`${hostName} is not in the inventory.`);
    const command = this.deps.catalog.require(this.commandId(action, configured));
    const ctx = { executor: this.deps.executor, catalog: this.deps.catalog, host: configured, ...(signal ? { signal } : {}) };
    const discovery = await this.discovery.discover(ctx, undefined, { fresh: true });
    const host: Host = { ...configured, sources: effectiveSources(configured.sources, discovery) };
    const params: Record<string, string | number> = {};
    const notes: string[] = [];
    if ('pid' in command.params) {
      // The approvers see which master gets the signal; without one there is nothing to signal.
      const pid = discovery.fpmMaster?.pid;
      if (pid === undefined) {
        throw new UsageError(`no running PHP-FPM master was found on ${hostName}, so there is nothing to ${action} with ${command.id} (is PHP-FPM stopped? Start it on the host).`);
      }
      params.pid = pid;
    }
    // What discovery was unsure about (several masters, an unreadable config) is for the approvers to see.
    notes.push(...discovery.problems.filter((p) => /fpm/i.test(p)).slice(0, 2));
    const rendered = this.deps.catalog.render(command.id, host, params);
    const user = host.transport === 'local' ? userInfo().username : host.ssh.user;
    return { host, command, params, rendered, argv: argvAsRun(host, rendered), user, discovery, notes };
  }

  /**
   * `/502 reload HOST [reason]`, or the Reload button: posts the approval request (or the preview).
   * Returns the stored request; null when it was refused (the requester was told why) or only previewed.
   */
  async request(input: RequestInput, responder: Responder, signal?: AbortSignal): Promise<Approval | null> {
    const { actor } = input;
    const via = `${input.action} ${input.host}`;
    return withActor({ ...actor, via }, async (): Promise<Approval | null> => {
      if (!input.preview && actor.surface !== 'console' && !this.directory.configured()) {
        const why = 'no approvers are configured (slack.approvers or slack.approverGroup)';
        await this.audit('refused', { host: input.host, actor, detail: { why, action: input.action } });
        await responder.ephemeral(noticeMessage(`Nobody could approve that: ${esc(why)}. An admin sets them in badgateway.yaml.`));
        return null;
      }
      let prepared: Prepared;
      try {
        prepared = await this.prepare(input.action, input.host, signal);
      } catch (err) {
        const why = scrub(errorMessage(err));
        if (!input.preview) await this.audit('refused', { host: input.host, actor, detail: { why, action: input.action } });
        await responder.ephemeral(noticeMessage(`❌ Cannot ${ACTION_WORDS[input.action]} on ${code(input.host)}: ${esc(why)}`));
        return null;
      }
      const { command, argv, params, notes, user } = prepared;
      if (input.preview) {
        await responder.ephemeral(previewMessage({ action: input.action, host: input.host, commandId: command.id, argv, verify: this.verifyNames(command), notes, user }));
        return null;
      }
      const now = this.now();
      const approval = await this.deps.store.createApproval({
        id: newApprovalId(),
        action: input.action,
        host: input.host,
        commandId: command.id,
        params,
        argv,
        requestedBy: actor.user,
        surface: actor.surface,
        channel: actor.channel,
        reason: input.reason,
        requestedAt: now,
        expiresAt: now + this.deps.config.approvals.expiryMs,
        dryRun: this.deps.config.dryRun,
      });
      await this.audit('requested', { host: input.host, actor, approval });
      this.deps.logger.info({ approval: approval.id, host: input.host, action: input.action, user: actor.user, command: command.id }, 'approval requested');
      const view = { approvers: this.directory.describe(), verify: this.verifyNames(command), notes, user, now };
      try {
        const handle = await responder.post(requestMessage(approval, view));
        // Any instance may have to update it later (an interrupted run), so its address is stored.
        if (handle.ref) {
          await this.deps.store
            .setApprovalMessage(approval.id, handle.ref)
            .catch((err) => this.deps.logger.warn({ err: errorMessage(err), approval: approval.id }, 'could not store where the request was posted'));
        }
      } catch (err) {
        this.deps.logger.warn({ err: errorMessage(err), approval: approval.id }, 'could not post the approval request');
        await responder
          .ephemeral(noticeMessage(`⚠️ The request ${code(approval.id)} is stored but could not be posted: ${esc(errorMessage(err))}`))
          .catch((notice: unknown) => this.deps.logger.warn({ err: errorMessage(notice), approval: approval.id }, 'could not tell the requester either'));
      }
      return approval;
    });
  }

  /** Why a request no longer takes decisions, for the one who clicked. */
  private explain(a: Approval): string {
    switch (a.state) {
      case 'pending':
        return a.expiresAt <= this.now() ? `This request expired at ${clock(a.expiresAt)}; nothing was run.` : 'This request is still waiting for a decision.';
      case 'approved':
        return `This request was already approved by ${mention(a.decidedBy ?? '?')}${a.decidedAt ? ` at ${clock(a.decidedAt)}` : ''}; it is running.`;
      case 'succeeded':
      case 'failed':
        return `This request was already approved by ${mention(a.decidedBy ?? '?')} and has run (${a.state}).`;
      case 'interrupted':
        return `${INTERRUPTED} Ask again with ${code(`/502 ${a.action} ${a.host}`)}.`;
      case 'denied':
        return `This request was denied by ${mention(a.decidedBy ?? '?')}${a.decidedAt ? ` at ${clock(a.decidedAt)}` : ''}; nothing was run.`;
      case 'expired':
        return `This request expired at ${clock(a.expiresAt)}; nothing was run. Ask again with ${code(`/502 ${a.action} ${a.host}`)}.`;
    }
  }

  /** An Approve or Deny click. The store decides who was first; only that click runs anything. */
  async decide(input: { approvalId: string; approve: boolean; actor: Actor }, responder: ClickResponder, signal?: AbortSignal): Promise<void> {
    const { actor } = input;
    const refuse = async (text: string, why: string, approval: Approval | null) => {
      await this.audit('refused', { host: approval?.host ?? null, actor, ...(approval ? { approval } : {}), detail: { why, click: input.approve ? 'approve' : 'deny' } });
      await responder.ephemeral(noticeMessage(text));
    };
    const approval = await this.deps.store.getApproval(input.approvalId);
    if (!approval) {
      await refuse(`I know no request ${code(input.approvalId)} (another badgateway, or its store was reset). Nothing was run.`, 'unknown request', null);
      return;
    }
    const slack = this.deps.config.slack;
    if (actor.surface === 'slack' && slack.channels.length > 0 && !slack.channels.includes(actor.channel)) {
      await refuse('Sorry, decisions are taken in the configured channels only.', 'channel not allowed', approval);
      return;
    }
    if (actor.surface !== approval.surface || actor.channel !== approval.channel) {
      // Approvers decide where the request was asked and can be seen, not from a copy elsewhere.
      const where = approval.surface === 'slack' ? `<#${approval.channel}>` : `the ${approval.surface}`;
      await refuse(`Sorry ${mention(actor.user)}, request ${code(approval.id)} is decided in ${where}, where it was asked. Nothing was run.`, "another channel than the request's", approval);
      return;
    }
    const now = this.now();
    if (approval.state === 'pending' && approval.expiresAt <= now) {
      const expired = await this.deps.store.expireApproval(approval.id, now);
      if (expired) await this.audit('expired', { host: approval.host, actor, approval: expired, detail: { noticedBy: actor.user } });
      await responder.ephemeral(noticeMessage(this.explain(expired ?? { ...approval, state: 'expired' })));
      return;
    }
    if (approval.state === 'approved' && approval.leaseUntil !== null && approval.leaseUntil <= now) {
      // Its runner went away: say so now rather than "it is running".
      for (const gone of await this.deps.store.interruptApprovals(now, approval.id)) await this.interrupted(gone, actor.user);
      const current = (await this.deps.store.getApproval(approval.id)) ?? approval;
      await refuse(this.explain(current), `already ${current.state}`, current);
      return;
    }
    if (approval.state !== 'pending') {
      await refuse(this.explain(approval), `already ${approval.state}`, approval);
      return;
    }
    const isRequester = actor.user === approval.requestedBy;
    if (input.approve && isRequester && actor.surface !== 'console' && !slack.allowSelfApproval) {
      await refuse(`Sorry ${mention(actor.user)}, you asked for this one: another approver must approve it (two-person rule). You may still Deny it to withdraw it.`, 'self-approval', approval);
      return;
    }
    if (!(isRequester && !input.approve)) {
      const check = await this.directory.check(actor.user, actor.surface);
      if (!check.ok) {
        await refuse(`Sorry ${mention(actor.user)}, only approvers may ${input.approve ? 'approve' : 'deny'} changes (${esc(check.why)}).`, `not an approver: ${check.why}`, approval);
        return;
      }
    }
    const decided = await this.deps.store.decideApproval(
      approval.id,
      input.approve ? { state: 'approved', by: actor.user, at: now, runner: this.instance, leaseUntil: now + this.leaseMs } : { state: 'denied', by: actor.user, at: now },
    );
    if (!decided) {
      // Another click, approver or replica was first (or the request expired this instant).
      const current = (await this.deps.store.getApproval(approval.id)) ?? approval;
      await refuse(this.explain(current), `already ${current.state}`, current);
      return;
    }
    await this.audit(input.approve ? 'approved' : 'denied', { host: decided.host, actor, approval: decided, approver: actor.user });
    this.deps.logger.info({ approval: decided.id, host: decided.host, state: decided.state, by: actor.user }, 'approval decided');
    if (!input.approve) {
      await this.show(responder, decidedMessage(decided, 'denied'));
      return;
    }
    if (!decided.message && responder.source?.ref) {
      await this.deps.store
        .setApprovalMessage(decided.id, responder.source.ref)
        .catch((err: unknown) => this.deps.logger.warn({ err: errorMessage(err), approval: decided.id }, 'could not store where the request was posted'));
    }
    await this.show(responder, decidedMessage(decided, 'running'));
    await this.execute(decided, responder, signal);
  }

  /**
   * A request whose runner vanished: audited, and its message (wherever it was posted, by whichever
   * instance) loses its buttons and says so; it is never run again by itself.
   */
  private async interrupted(a: Approval, noticedBy: string): Promise<void> {
    await this.audit('interrupted', { host: a.host, actor: { user: 'system', surface: 'system' }, approval: a, detail: { runner: a.runner, leaseUntil: a.leaseUntil, noticedBy } });
    this.deps.logger.warn({ approval: a.id, host: a.host, runner: a.runner }, 'approved request interrupted: its runner went away');
    const responder = a.message ? this.messenger?.(a.message.channel) : null;
    if (!responder || !a.message) return;
    try {
      const handle = responder.open?.(a.message);
      if (handle) {
        await handle.update(decidedMessage(a, 'interrupted'));
        await handle.reply(noticeMessage(`⚠️ ${INTERRUPTED} Ask again with ${code(`/502 ${a.action} ${a.host}`)}.`));
      } else {
        await responder.post(noticeMessage(`⚠️ Request ${code(a.id)} (${ACTION_WORDS[a.action]} on ${code(a.host)}): ${INTERRUPTED}`));
      }
    } catch (err) {
      this.deps.logger.warn({ err: errorMessage(err), approval: a.id }, 'could not update the interrupted request message');
    }
  }

  /** Updates the request message in place (or posts, when the front end has no handle on it). */
  private async show(responder: ClickResponder, message: ReturnType<typeof decidedMessage>): Promise<void> {
    try {
      if (responder.source) await responder.source.update(message);
      else await responder.post(message);
    } catch (err) {
      this.deps.logger.warn({ err: errorMessage(err) }, 'could not update the approval message');
    }
  }

  private async tell(responder: ClickResponder, message: ReturnType<typeof outcomeMessage>): Promise<void> {
    const handle: MessageHandle | null = responder.source;
    try {
      if (handle) await handle.reply(message);
      else await responder.post(message);
    } catch (err) {
      this.deps.logger.warn({ err: errorMessage(err) }, 'could not post the outcome');
    }
  }

  private runContext(): RunContext {
    return {
      deps: this.deps,
      discovery: this.discovery,
      now: this.now,
      prepare: (action, host, signal) => this.prepare(action, host, signal),
      tell: (responder, message) => this.tell(responder, message),
    };
  }

  /** Runs an approved request: exactly the argv approved, then the verification; the lease is kept meanwhile. */
  private async execute(approval: Approval, responder: ClickResponder, signal?: AbortSignal): Promise<void> {
    const actor: AuditActor = {
      user: approval.requestedBy,
      surface: approval.surface,
      channel: approval.channel,
      approvalId: approval.id,
      ...(approval.decidedBy ? { approver: approval.decidedBy } : {}),
      via: `${approval.action} ${approval.host}`,
    };
    // The lease says this instance is alive and running it; another instance takes a lapsed one for interrupted.
    const renew = setInterval(
      () => {
        this.deps.store
          .renewApprovalLease(approval.id, this.instance, this.now() + this.leaseMs)
          .then((held) => held || this.deps.logger.warn({ approval: approval.id }, 'the lease on a running request was lost'))
          .catch((err) => this.deps.logger.warn({ err: errorMessage(err), approval: approval.id }, 'could not renew the lease on a running request'));
      },
      Math.max(250, Math.floor(this.leaseMs / 4)),
    );
    renew.unref();
    const progress = { ran: false };
    let outcome: RunOutcome;
    try {
      outcome = await withActor(actor, () => runApproved(this.runContext(), approval, responder, signal, progress));
    } catch (err) {
      outcome = { state: 'failed', exitCode: null, durationMs: 0, output: '', checks: [], error: errorMessage(err) };
    } finally {
      clearInterval(renew);
    }
    if (signal?.aborted) outcome = cancelledOutcome(outcome, progress.ran);
    const recorded = await this.deps.store
      .finishApproval(approval.id, { state: outcome.state, at: this.now(), runner: this.instance, outcome: { ...outcome, output: truncate(outcome.output, AUDIT_OUTPUT_LIMIT) } })
      .catch((err) => {
        this.deps.logger.error({ err: errorMessage(err), approval: approval.id }, 'could not record the outcome');
        return true;
      });
    if (!recorded) this.deps.logger.error({ approval: approval.id }, "the outcome was not recorded: the request is no longer this instance's to finish");
    this.deps.logger.info({ approval: approval.id, host: approval.host, state: outcome.state, exit: outcome.exitCode, dryRun: outcome.dryRun ?? false }, 'action finished');
    await this.tell(responder, outcomeMessage(approval, outcome));
    await this.show(responder, decidedMessage(approval, outcome.dryRun ? 'dry-run' : outcome.state === 'succeeded' && outcome.unverified ? 'unverified' : outcome.state));
  }

  /** `/502 audit [HOST]`: decisions and approved changes one by one, read-only commands counted; only for who asked. */
  /**
   * `/502 audit [HOST] [--all]`: the entries of the channel asked in (decisions carry their reasons,
   * which belong to that channel's people); every channel's with --all, for approvers (and the console).
   */
  async auditReply(host: string | null, responder: Responder, scope: { actor: Actor; all: boolean }, limit = 20): Promise<void> {
    const { actor, all } = scope;
    if (all) {
      const check = await this.directory.check(actor.user, actor.surface);
      if (!check.ok) {
        await responder.ephemeral(noticeMessage(`Only approvers may see every channel's audit log (${esc(check.why)}); ${code('/502 audit')} shows this channel's.`));
        return;
      }
    }
    const channel = all || actor.surface === 'console' ? null : actor.channel;
    const entries = await this.deps.store.listAudit({ ...(host ? { host } : {}), limit: 500 });
    const recent = channel === null ? entries : entries.filter((e) => (e.detail as { channel?: unknown } | null)?.channel === channel);
    const changes = recent.filter((e) => e.kind === 'decision' || e.approvalId !== null);
    const readOnly = recent.filter((e) => e.kind === 'command' && e.approvalId === null);
    const actors = [...new Set(readOnly.map((e) => e.actor ?? 'system'))];
    const oldest = readOnly.length ? readOnly[readOnly.length - 1]!.at : null;
    await responder.ephemeral(auditMessage(changes.slice(0, limit), { readOnly: readOnly.length, actors, oldest }, host, channel));
  }

  /**
   * Marks pending requests past their time expired, and running ones whose runner's lease lapsed
   * interrupted (its message updated), with an audit entry each.
   */
  async sweep(): Promise<{ expired: Approval[]; interrupted: Approval[] }> {
    const expired = await this.deps.store.expireApprovals(this.now());
    for (const a of expired) await this.audit('expired', { host: a.host, actor: { user: 'system', surface: 'system' }, approval: a });
    const interrupted = await this.deps.store.interruptApprovals(this.now());
    for (const a of interrupted) await this.interrupted(a, 'system');
    return { expired, interrupted };
  }

  /** Sweeps now and then every `intervalMs` until stop() (the timer does not keep the process alive). */
  startSweeper(intervalMs = 10_000): void {
    if (this.sweeper) return;
    const once = () => {
      if (this.sweeping) return;
      this.sweeping = this.sweep()
        .catch((err) => this.deps.logger.warn({ err: errorMessage(err) }, 'approval sweep failed'))
        .finally(() => (this.sweeping = null));
    };
    this.sweeper = setInterval(once, intervalMs);
    this.sweeper.unref();
    once();
  }

  /** Stops sweeping; resolves once a sweep in progress has written what it found. */
  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    await this.sweeping;
  }
}
