/**
 * The Store over the Db port: the same SQL on PGlite and PostgreSQL. Races between replicas are
 * settled by the database, never in memory: a decision is one conditional UPDATE ... WHERE state =
 * 'pending' ... RETURNING, a digest lease is one INSERT ... ON CONFLICT DO NOTHING RETURNING.
 */
import type { Db, Queryable } from './db.js';
import { MIGRATIONS, MIGRATIONS_TABLE, type Migration } from './migrations.js';
import {
  APPROVAL_COLUMNS,
  AUDIT_COLUMNS,
  DIGEST_COLUMNS,
  RUNBOOK_COLUMNS,
  approvalOf,
  auditOf,
  digestOf,
  json,
  runbookOf,
  ts,
  type ApprovalRow,
  type AuditRow,
  type DigestRow,
  type RunbookRow,
} from './rows.js';
import type {
  Approval,
  ApprovalMessage,
  ApprovalState,
  FinishedState,
  AuditEntry,
  AuditFilter,
  Decision,
  DigestRun,
  NewApproval,
  NewAuditEntry,
  NewRunbookSession,
  RunbookSession,
  RunbookStatus,
  Store,
} from './types.js';

export async function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('badgateway-migrations:' || current_schema()))`);
    await tx.exec(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await tx.query<{ version: number }>(`SELECT version FROM ${MIGRATIONS_TABLE}`)).rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(migration.version)) continue;
      await tx.exec(migration.sql);
      await tx.query(`INSERT INTO ${MIGRATIONS_TABLE} (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
      applied.push(migration.version);
    }
    return applied;
  });
}

export class SqlStore implements Store {
  readonly kind: Store['kind'];

  constructor(
    private readonly db: Db,
    readonly location: string,
    private readonly onClose: () => Promise<void> | void = () => undefined,
  ) {
    this.kind = db.kind;
  }

  private get q(): Queryable {
    return this.db;
  }

  // -- approvals -----------------------------------------------------------------------------------

  async createApproval(a: NewApproval): Promise<Approval> {
    const { rows } = await this.q.query<ApprovalRow>(
      `INSERT INTO approvals (id, action, host, command_id, params, argv, requested_by, surface, channel, reason, requested_at, expires_at, dry_run)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, $10, $11::timestamptz, $12::timestamptz, $13)
       RETURNING ${APPROVAL_COLUMNS}`,
      [a.id, a.action, a.host, a.commandId, json(a.params), json(a.argv), a.requestedBy, a.surface, a.channel, a.reason, ts(a.requestedAt), ts(a.expiresAt), a.dryRun],
    );
    return approvalOf(rows[0]!);
  }

  async getApproval(id: string): Promise<Approval | null> {
    const { rows } = await this.q.query<ApprovalRow>(`SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE id = $1`, [id]);
    return rows[0] ? approvalOf(rows[0]) : null;
  }

  async decideApproval(id: string, decision: Decision): Promise<Approval | null> {
    const { rows } = await this.q.query<ApprovalRow>(
      `UPDATE approvals SET state = $2, decided_by = $3, decided_at = $4::timestamptz, runner = $5, lease_until = $6::timestamptz
       WHERE id = $1 AND state = 'pending' AND expires_at > $4::timestamptz
       RETURNING ${APPROVAL_COLUMNS}`,
      [id, decision.state, decision.by, ts(decision.at), decision.runner ?? null, decision.leaseUntil === undefined ? null : ts(decision.leaseUntil)],
    );
    return rows[0] ? approvalOf(rows[0]) : null;
  }

  async renewApprovalLease(id: string, runner: string, until: number): Promise<boolean> {
    const { rowCount } = await this.q.query(`UPDATE approvals SET lease_until = $3::timestamptz WHERE id = $1 AND state = 'approved' AND runner = $2`, [id, runner, ts(until)]);
    return rowCount === 1;
  }

  async interruptApprovals(now: number, id?: string): Promise<Approval[]> {
    const { rows } = await this.q.query<ApprovalRow>(
      `UPDATE approvals SET state = 'interrupted', finished_at = $1::timestamptz
       WHERE state = 'approved' AND ($2::text IS NULL OR id = $2)
         AND (lease_until <= $1::timestamptz
              -- approved by a version without leases: no run takes this long
              OR (lease_until IS NULL AND decided_at <= $1::timestamptz - interval '15 minutes'))
       RETURNING ${APPROVAL_COLUMNS}`,
      [ts(now), id ?? null],
    );
    return rows.map(approvalOf);
  }

  async setApprovalMessage(id: string, message: ApprovalMessage): Promise<void> {
    await this.q.query(`UPDATE approvals SET message = $2::jsonb WHERE id = $1`, [id, json(message)]);
  }

  async expireApproval(id: string, now: number): Promise<Approval | null> {
    const { rows } = await this.q.query<ApprovalRow>(
      `UPDATE approvals SET state = 'expired', decided_at = expires_at
       WHERE id = $1 AND state = 'pending' AND expires_at <= $2::timestamptz
       RETURNING ${APPROVAL_COLUMNS}`,
      [id, ts(now)],
    );
    return rows[0] ? approvalOf(rows[0]) : null;
  }

  async expireApprovals(now: number): Promise<Approval[]> {
    const { rows } = await this.q.query<ApprovalRow>(
      `UPDATE approvals SET state = 'expired', decided_at = expires_at
       WHERE state = 'pending' AND expires_at <= $1::timestamptz
       RETURNING ${APPROVAL_COLUMNS}`,
      [ts(now)],
    );
    return rows.map(approvalOf);
  }

  async finishApproval(id: string, result: { state: FinishedState; at: number; outcome: Record<string, unknown>; runner?: string }): Promise<boolean> {
    const { rowCount } = await this.q.query(
      `UPDATE approvals SET state = $2, finished_at = $3::timestamptz, outcome = $4::jsonb, lease_until = NULL
       WHERE id = $1 AND (state = 'approved' OR (state = 'interrupted' AND runner = $5))`,
      [id, result.state, ts(result.at), json(result.outcome), result.runner ?? null],
    );
    return rowCount === 1;
  }

  async listApprovals(filter: { state?: ApprovalState; host?: string; limit?: number } = {}): Promise<Approval[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.state) where.push(`state = $${params.push(filter.state)}`);
    if (filter.host) where.push(`host = $${params.push(filter.host)}`);
    const limit = `$${params.push(clampLimit(filter.limit, 100))}`;
    const { rows } = await this.q.query<ApprovalRow>(
      `SELECT ${APPROVAL_COLUMNS} FROM approvals ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY requested_at DESC, id LIMIT ${limit}`,
      params,
    );
    return rows.map(approvalOf);
  }

  // -- audit ------------------------------------------------------------------------------------------

  async appendAudit(e: NewAuditEntry): Promise<AuditEntry> {
    const { rows } = await this.q.query<AuditRow>(
      `INSERT INTO audit_log (at, kind, event, host, actor, surface, approval_id, approver, command_id, argv, exit_code, duration_ms, output, detail)
       VALUES ($1::timestamptz, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14::jsonb)
       RETURNING ${AUDIT_COLUMNS}`,
      [
        ts(e.at),
        e.kind,
        e.event,
        e.host,
        e.actor,
        e.surface,
        e.approvalId ?? null,
        e.approver ?? null,
        e.commandId ?? null,
        json(e.argv ?? null),
        e.exitCode ?? null,
        e.durationMs === null || e.durationMs === undefined ? null : Math.round(e.durationMs),
        e.output ?? null,
        json(e.detail ?? null),
      ],
    );
    return auditOf(rows[0]!);
  }

  async listAudit(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.since !== undefined) where.push(`at >= $${params.push(ts(filter.since))}::timestamptz`);
    if (filter.host) where.push(`host = $${params.push(filter.host)}`);
    if (filter.approvalId) where.push(`approval_id = $${params.push(filter.approvalId)}`);
    if (filter.kind) where.push(`kind = $${params.push(filter.kind)}`);
    const limit = `$${params.push(clampLimit(filter.limit, 1000))}`;
    const { rows } = await this.q.query<AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT ${limit}`, params);
    return rows.map(auditOf);
  }

  // -- runbook sessions -------------------------------------------------------------------------------

  async createRunbookSession(s: NewRunbookSession): Promise<RunbookSession> {
    const { rows } = await this.q.query<RunbookRow>(
      `INSERT INTO runbook_sessions (id, runbook, host, channel, thread_ts, started_by, state, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::timestamptz, $8::timestamptz)
       RETURNING ${RUNBOOK_COLUMNS}`,
      [s.id, s.runbook, s.host, s.channel, s.threadTs, s.startedBy, json(s.state), ts(s.at)],
    );
    return runbookOf(rows[0]!);
  }

  async getRunbookSession(id: string): Promise<RunbookSession | null> {
    const { rows } = await this.q.query<RunbookRow>(`SELECT ${RUNBOOK_COLUMNS} FROM runbook_sessions WHERE id = $1`, [id]);
    return rows[0] ? runbookOf(rows[0]) : null;
  }

  async updateRunbookSession(id: string, expectedVersion: number, change: { state?: Record<string, unknown>; status?: RunbookStatus; at: number }): Promise<RunbookSession | null> {
    const { rows } = await this.q.query<RunbookRow>(
      `UPDATE runbook_sessions
       SET state = COALESCE($3::jsonb, state), status = COALESCE($4, status), version = version + 1, updated_at = $5::timestamptz
       WHERE id = $1 AND version = $2
       RETURNING ${RUNBOOK_COLUMNS}`,
      [id, expectedVersion, json(change.state ?? null), change.status ?? null, ts(change.at)],
    );
    return rows[0] ? runbookOf(rows[0]) : null;
  }

  async listRunbookSessions(filter: { status?: RunbookStatus; host?: string; limit?: number } = {}): Promise<RunbookSession[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.status) where.push(`status = $${params.push(filter.status)}`);
    if (filter.host) where.push(`host = $${params.push(filter.host)}`);
    const limit = `$${params.push(clampLimit(filter.limit, 100))}`;
    const { rows } = await this.q.query<RunbookRow>(
      `SELECT ${RUNBOOK_COLUMNS} FROM runbook_sessions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY updated_at DESC, id LIMIT ${limit}`,
      params,
    );
    return rows.map(runbookOf);
  }

  // -- digest runs ---------------------------------------------------------------------------------------

  async claimDigestRun(run: { schedule: string; fireTime: number; owner: string; at: number }): Promise<boolean> {
    const { rows } = await this.q.query(
      `INSERT INTO digest_runs (schedule, fire_time, owner, claimed_at) VALUES ($1, $2::timestamptz, $3, $4::timestamptz)
       ON CONFLICT (schedule, fire_time) DO NOTHING
       RETURNING schedule`,
      [run.schedule, ts(run.fireTime), run.owner, ts(run.at)],
    );
    return rows.length === 1;
  }

  async finishDigestRun(schedule: string, fireTime: number, result: { status: 'posted' | 'failed'; at: number; detail?: Record<string, unknown> }): Promise<boolean> {
    const { rowCount } = await this.q.query(
      `UPDATE digest_runs SET status = $3, finished_at = $4::timestamptz, detail = $5::jsonb
       WHERE schedule = $1 AND fire_time = $2::timestamptz AND status = 'running'`,
      [schedule, ts(fireTime), result.status, ts(result.at), json(result.detail ?? null)],
    );
    return rowCount === 1;
  }

  async reclaimDigestRun(run: { schedule: string; fireTime: number; owner: string; at: number }): Promise<boolean> {
    const { rows } = await this.q.query(
      `UPDATE digest_runs SET status = 'running', owner = $3, claimed_at = $4::timestamptz, finished_at = NULL, detail = NULL
       WHERE schedule = $1 AND fire_time = $2::timestamptz AND status = 'failed' AND detail->>'cancelled' = 'stopping'
       RETURNING schedule`,
      [run.schedule, ts(run.fireTime), run.owner, ts(run.at)],
    );
    return rows.length === 1;
  }

  async listDigestRuns(filter: { schedule?: string; limit?: number } = {}): Promise<DigestRun[]> {
    const params: unknown[] = [];
    const where = filter.schedule ? `WHERE schedule = $${params.push(filter.schedule)}` : '';
    const limit = `$${params.push(clampLimit(filter.limit, 100))}`;
    const { rows } = await this.q.query<DigestRow>(`SELECT ${DIGEST_COLUMNS} FROM digest_runs ${where} ORDER BY fire_time DESC, schedule LIMIT ${limit}`, params);
    return rows.map(digestOf);
  }

  // -- host generations ------------------------------------------------------------------------------

  async touchHost(host: string, at: number): Promise<number> {
    const { rows } = await this.q.query<{ generation: string }>(
      `INSERT INTO host_generations (host, generation, changed_at) VALUES ($1, 1, $2::timestamptz)
       ON CONFLICT (host) DO UPDATE SET generation = host_generations.generation + 1, changed_at = EXCLUDED.changed_at
       RETURNING generation::text AS generation`,
      [host, ts(at)],
    );
    return Number(rows[0]!.generation);
  }

  async hostGeneration(host: string): Promise<number> {
    const { rows } = await this.q.query<{ generation: string }>(`SELECT generation::text AS generation FROM host_generations WHERE host = $1`, [host]);
    return rows[0] ? Number(rows[0].generation) : 0;
  }

  async migrations(): Promise<Array<{ version: number; name: string }>> {
    const { rows } = await this.q.query<{ version: number; name: string }>(`SELECT version, name FROM ${MIGRATIONS_TABLE} ORDER BY version`);
    return rows.map((r) => ({ version: Number(r.version), name: r.name }));
  }

  private closing: Promise<void> | undefined;

  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.db.close();
      } finally {
        await this.onClose();
      }
    })();
    return this.closing;
  }
}

function clampLimit(limit: number | undefined, fallback: number): number {
  if (limit === undefined || !Number.isFinite(limit)) return fallback;
  return Math.max(1, Math.min(100_000, Math.floor(limit)));
}
