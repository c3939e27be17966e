/**
 * The durable state of the bot, behind one small interface: approvals of changes, the append-only
 * audit log, runbook sessions and digest runs. Two implementations share one schema and one set of
 * migrations (src/store/migrations.ts): PGlite embedded in the process (default, nothing to install)
 * and a PostgreSQL server (DATABASE_URL) for teams running several replicas. Use cases call these
 * typed methods; no SQL leaves src/store/.
 *
 * Times are epoch milliseconds everywhere in this interface.
 */

export type ActionKind = 'reload' | 'restart';

/**
 * pending → approved → succeeded | failed | interrupted; pending → denied | expired. Only `pending`
 * accepts a decision. `interrupted`: the instance running it went away (its lease lapsed) or was stopped
 * while the command ran; it may or may not have run, and it is never run again by itself.
 */
export type ApprovalState = 'pending' | 'approved' | 'denied' | 'expired' | 'succeeded' | 'failed' | 'interrupted';

/** Where the request message was posted, to reach it from any instance (Slack: channel + ts). */
export interface ApprovalMessage {
  channel: string;
  ts: string;
  threadTs?: string;
}

export interface NewApproval {
  id: string;
  action: ActionKind;
  host: string;
  /** The catalog command approved, its parameters and the exact argv shown to the approvers. */
  commandId: string;
  params: Record<string, string | number>;
  argv: string[];
  requestedBy: string;
  /** Where it was asked: slack, console. */
  surface: string;
  channel: string;
  /** Why, in the requester's words or the triage verdict it came from. */
  reason: string | null;
  requestedAt: number;
  expiresAt: number;
  /** Approving it shows what would run and runs nothing. */
  dryRun: boolean;
}

export interface Approval extends NewApproval {
  state: ApprovalState;
  decidedBy: string | null;
  decidedAt: number | null;
  finishedAt: number | null;
  /** What happened when it ran (exit code, verification), set by finishApproval. */
  outcome: Record<string, unknown> | null;
  /** The instance running it (set with the approval), and until when its lease holds unless renewed. */
  runner: string | null;
  leaseUntil: number | null;
  message: ApprovalMessage | null;
}

export interface Decision {
  state: 'approved' | 'denied';
  by: string;
  at: number;
  /** With `approved`: the instance that will run it, and its first lease. */
  runner?: string;
  leaseUntil?: number;
}

export type FinishedState = 'succeeded' | 'failed' | 'interrupted';

export type AuditKind = 'command' | 'decision';

/** Decisions: requested, approved, denied, expired, refused, interrupted. Commands: ran (exit 0) or failed. */
export type AuditEvent = 'requested' | 'approved' | 'denied' | 'expired' | 'refused' | 'interrupted' | 'ran' | 'failed';

export interface NewAuditEntry {
  at: number;
  kind: AuditKind;
  event: AuditEvent;
  host: string | null;
  /** Who asked (Slack user id, console user, or `system`). */
  actor: string | null;
  surface: string | null;
  approvalId?: string | null;
  approver?: string | null;
  commandId?: string | null;
  argv?: string[] | null;
  exitCode?: number | null;
  durationMs?: number | null;
  /** Output kept for the record, already truncated by the caller. */
  output?: string | null;
  detail?: Record<string, unknown> | null;
}

export interface AuditEntry extends Required<NewAuditEntry> {
  id: number;
}

export interface AuditFilter {
  /** Entries at or after this time. */
  since?: number;
  host?: string;
  approvalId?: string;
  kind?: AuditKind;
  /** Newest first, at most this many (default 1000). */
  limit?: number;
}

export type RunbookStatus = 'active' | 'done' | 'abandoned';

export interface NewRunbookSession {
  id: string;
  runbook: string;
  host: string | null;
  channel: string | null;
  threadTs: string | null;
  startedBy: string;
  state: Record<string, unknown>;
  at: number;
}

export interface RunbookSession extends Omit<NewRunbookSession, 'at'> {
  status: RunbookStatus;
  /** Incremented by every update: updates name the version they read (optimistic concurrency). */
  version: number;
  createdAt: number;
  updatedAt: number;
}

export type DigestStatus = 'running' | 'posted' | 'failed';

export interface DigestRun {
  schedule: string;
  fireTime: number;
  owner: string;
  claimedAt: number;
  finishedAt: number | null;
  status: DigestStatus;
  detail: Record<string, unknown> | null;
}

export interface Store {
  /** `embedded` (PGlite in a directory or in memory) or `postgres` (DATABASE_URL). */
  readonly kind: 'embedded' | 'postgres';
  /** Where the data lives, for logs (a directory, memory://, or the server without credentials). */
  readonly location: string;

  // -- approvals
  createApproval(approval: NewApproval): Promise<Approval>;
  getApproval(id: string): Promise<Approval | null>;
  /**
   * The first valid decision wins: sets the state only if the request is still pending and not
   * expired at `decision.at` (one conditional UPDATE). Returns the updated request, or null when
   * another decision (or the clock) got there first.
   */
  decideApproval(id: string, decision: Decision): Promise<Approval | null>;
  /** Marks one pending request expired if its time has passed; returns it when this call did it. */
  expireApproval(id: string, now: number): Promise<Approval | null>;
  /** Marks every pending request past its time expired; returns those this call expired. */
  expireApprovals(now: number): Promise<Approval[]>;
  /**
   * Records how an approved request ended: from `approved`, or by its own runner from `interrupted`
   * (another instance took its lease for lost, but the runner knows how it ended). False otherwise.
   */
  finishApproval(id: string, result: { state: FinishedState; at: number; outcome: Record<string, unknown>; runner?: string }): Promise<boolean>;
  /** The runner keeps its lease on a running request; false when it is not running it (any more). */
  renewApprovalLease(id: string, runner: string, until: number): Promise<boolean>;
  /** Marks approved requests whose runner's lease ended before `now` interrupted (one request: `id`); returns those this call marked. */
  interruptApprovals(now: number, id?: string): Promise<Approval[]>;
  /** Where the request message is (set once posted). */
  setApprovalMessage(id: string, message: ApprovalMessage): Promise<void>;
  listApprovals(filter?: { state?: ApprovalState; host?: string; limit?: number }): Promise<Approval[]>;

  // -- audit log (append-only: the tables refuse UPDATE and DELETE)
  appendAudit(entry: NewAuditEntry): Promise<AuditEntry>;
  listAudit(filter?: AuditFilter): Promise<AuditEntry[]>;

  // -- runbook sessions
  createRunbookSession(session: NewRunbookSession): Promise<RunbookSession>;
  getRunbookSession(id: string): Promise<RunbookSession | null>;
  /** Writes only if the session is still at `expectedVersion`; null when someone else updated it first. */
  updateRunbookSession(id: string, expectedVersion: number, change: { state?: Record<string, unknown>; status?: RunbookStatus; at: number }): Promise<RunbookSession | null>;
  listRunbookSessions(filter?: { status?: RunbookStatus; host?: string; limit?: number }): Promise<RunbookSession[]>;

  // -- digest runs: (schedule, fireTime) is unique, so claiming it is a lease across replicas
  /** True for the one caller that claimed this fire time; false for everyone else. */
  claimDigestRun(run: { schedule: string; fireTime: number; owner: string; at: number }): Promise<boolean>;
  finishDigestRun(schedule: string, fireTime: number, result: { status: 'posted' | 'failed'; at: number; detail?: Record<string, unknown> }): Promise<boolean>;
  /**
   * Claims again a fire time whose run was cancelled because its instance was stopping (failed, detail
   * `cancelled: 'stopping'`): true for the one caller that got it (the next start's catch-up posts it, once).
   */
  reclaimDigestRun(run: { schedule: string; fireTime: number; owner: string; at: number }): Promise<boolean>;
  listDigestRuns(filter?: { schedule?: string; limit?: number }): Promise<DigestRun[]>;

  // -- host generations: a counter per host, bumped by every change made on it (an approved action ran),
  // so each replica knows its cached discovery of that host is stale without comparing clocks
  /** Bumps the host's generation; returns the new one. */
  touchHost(host: string, at: number): Promise<number>;
  /** The host's generation now (0 when nothing was ever changed on it). */
  hostGeneration(host: string): Promise<number>;

  /** Applied migration versions, oldest first (for diagnostics and tests). */
  migrations(): Promise<Array<{ version: number; name: string }>>;
  close(): Promise<void>;
}
