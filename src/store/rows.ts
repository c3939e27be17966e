/** Rows of the store's tables as SQL selects them, and the domain objects made from them (src/store/sql-store.ts). */
import type { Approval, ApprovalMessage, ApprovalState, AuditEntry, DigestRun, RunbookSession, RunbookStatus } from './types.js';

export const ms = (column: string, as = column) => `round(extract(epoch from ${column}) * 1000)::float8 AS ${as}`;
export const ts = (value: number) => new Date(value).toISOString();
export const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));

export const APPROVAL_COLUMNS = [
  'id',
  'action',
  'host',
  'command_id',
  'params',
  'argv',
  'requested_by',
  'surface',
  'channel',
  'reason',
  ms('requested_at'),
  ms('expires_at'),
  'dry_run',
  'state',
  'decided_by',
  ms('decided_at'),
  ms('finished_at'),
  'outcome',
  'runner',
  ms('lease_until'),
  'message',
].join(', ');

export interface ApprovalRow {
  id: string;
  action: Approval['action'];
  host: string;
  command_id: string;
  params: Record<string, string | number>;
  argv: string[];
  requested_by: string;
  surface: string;
  channel: string;
  reason: string | null;
  requested_at: number;
  expires_at: number;
  dry_run: boolean;
  state: ApprovalState;
  decided_by: string | null;
  decided_at: number | null;
  finished_at: number | null;
  outcome: Record<string, unknown> | null;
  runner: string | null;
  lease_until: number | null;
  message: ApprovalMessage | null;
}

export function approvalOf(row: ApprovalRow): Approval {
  return {
    id: row.id,
    action: row.action,
    host: row.host,
    commandId: row.command_id,
    params: row.params,
    argv: row.argv,
    requestedBy: row.requested_by,
    surface: row.surface,
    channel: row.channel,
    reason: row.reason,
    requestedAt: Number(row.requested_at),
    expiresAt: Number(row.expires_at),
    dryRun: row.dry_run,
    state: row.state,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at === null ? null : Number(row.decided_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    outcome: row.outcome,
    runner: row.runner,
    leaseUntil: row.lease_until === null ? null : Number(row.lease_until),
    message: row.message,
  };
}

export const AUDIT_COLUMNS = [
  'id::text AS id',
  ms('at'),
  'kind',
  'event',
  'host',
  'actor',
  'surface',
  'approval_id',
  'approver',
  'command_id',
  'argv',
  'exit_code',
  'duration_ms',
  'output',
  'detail',
].join(', ');

export interface AuditRow {
  id: string;
  at: number;
  kind: AuditEntry['kind'];
  event: AuditEntry['event'];
  host: string | null;
  actor: string | null;
  surface: string | null;
  approval_id: string | null;
  approver: string | null;
  command_id: string | null;
  argv: string[] | null;
  exit_code: number | null;
  duration_ms: number | null;
  output: string | null;
  detail: Record<string, unknown> | null;
}

export function auditOf(row: AuditRow): AuditEntry {
  return {
    id: Number(row.id),
    at: Number(row.at),
    kind: row.kind,
    event: row.event,
    host: row.host,
    actor: row.actor,
    surface: row.surface,
    approvalId: row.approval_id,
    approver: row.approver,
    commandId: row.command_id,
    argv: row.argv,
    exitCode: row.exit_code,
    durationMs: row.duration_ms,
    output: row.output,
    detail: row.detail,
  };
}

export const RUNBOOK_COLUMNS = ['id', 'runbook', 'host', 'channel', 'thread_ts', 'started_by', 'state', 'status', 'version', ms('created_at'), ms('updated_at')].join(', ');

export interface RunbookRow {
  id: string;
  runbook: string;
  host: string | null;
  channel: string | null;
  thread_ts: string | null;
  started_by: string;
  state: Record<string, unknown>;
  status: RunbookStatus;
  version: number;
  created_at: number;
  updated_at: number;
}

export function runbookOf(row: RunbookRow): RunbookSession {
  return {
    id: row.id,
    runbook: row.runbook,
    host: row.host,
    channel: row.channel,
    threadTs: row.thread_ts,
    startedBy: row.started_by,
    state: row.state,
    status: row.status,
    version: Number(row.version),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export const DIGEST_COLUMNS = ['schedule', ms('fire_time'), 'owner', ms('claimed_at'), ms('finished_at'), 'status', 'detail'].join(', ');

export interface DigestRow {
  schedule: string;
  fire_time: number;
  owner: string;
  claimed_at: number;
  finished_at: number | null;
  status: DigestRun['status'];
  detail: Record<string, unknown> | null;
}

export function digestOf(row: DigestRow): DigestRun {
  return {
    schedule: row.schedule,
    fireTime: Number(row.fire_time),
    owner: row.owner,
    claimedAt: Number(row.claimed_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    status: row.status,
    detail: row.detail,
  };
}

/** Applies the migrations not yet recorded, in one transaction, under an advisory lock (replicas starting together). */
