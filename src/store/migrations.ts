/**
 * The schema, as numbered migrations. Both backends (PGlite and PostgreSQL) run exactly this SQL, in
 * order, once each, recorded in `badgateway_migrations`. Never edit a released migration: add the next
 * number. SQL stays within PostgreSQL 13+ (servers in the wild) and PGlite's Postgres.
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS_TABLE = 'badgateway_migrations';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'approvals, audit log, runbook sessions, digest runs',
    sql: `
CREATE TABLE approvals (
  id            text PRIMARY KEY,
  action        text NOT NULL,
  host          text NOT NULL,
  command_id    text NOT NULL,
  params        jsonb NOT NULL DEFAULT '{}'::jsonb,
  argv          jsonb NOT NULL,
  requested_by  text NOT NULL,
  surface       text NOT NULL,
  channel       text NOT NULL,
  reason        text,
  requested_at  timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL,
  dry_run       boolean NOT NULL DEFAULT false,
  state         text NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'approved', 'denied', 'expired', 'succeeded', 'failed')),
  decided_by    text,
  decided_at    timestamptz,
  finished_at   timestamptz,
  outcome       jsonb
);
CREATE INDEX approvals_pending_expiry ON approvals (expires_at) WHERE state = 'pending';
CREATE INDEX approvals_host ON approvals (host, requested_at);

CREATE TABLE audit_log (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at           timestamptz NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('command', 'decision')),
  event        text NOT NULL,
  host         text,
  actor        text,
  surface      text,
  approval_id  text,
  approver     text,
  command_id   text,
  argv         jsonb,
  exit_code    integer,
  duration_ms  integer,
  output       text,
  detail       jsonb
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_host_at ON audit_log (host, at);
CREATE INDEX audit_log_approval ON audit_log (approval_id) WHERE approval_id IS NOT NULL;

-- Append-only: rows can be added, never changed or removed (DROP of the table is the admin's call).
CREATE FUNCTION badgateway_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP;
END
$fn$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION badgateway_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION badgateway_audit_append_only();

CREATE TABLE runbook_sessions (
  id          text PRIMARY KEY,
  runbook     text NOT NULL,
  host        text,
  channel     text,
  thread_ts   text,
  started_by  text NOT NULL,
  state       jsonb NOT NULL DEFAULT '{}'::jsonb,
  status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'done', 'abandoned')),
  version     integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX runbook_sessions_active ON runbook_sessions (updated_at) WHERE status = 'active';

CREATE TABLE digest_runs (
  schedule     text NOT NULL,
  fire_time    timestamptz NOT NULL,
  owner        text NOT NULL,
  claimed_at   timestamptz NOT NULL,
  finished_at  timestamptz,
  status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'posted', 'failed')),
  detail       jsonb,
  PRIMARY KEY (schedule, fire_time)
);
`,
  },
  {
    version: 2,
    name: 'host generations: a change on a host makes every replica discover it again',
    sql: `
CREATE TABLE host_generations (
  host        text PRIMARY KEY,
  generation  bigint NOT NULL,
  changed_at  timestamptz NOT NULL
);
`,
  },
  {
    version: 3,
    name: "approvals: the runner's lease, the interrupted state, the request message",
    sql: `
ALTER TABLE approvals DROP CONSTRAINT approvals_state_check;
ALTER TABLE approvals ADD CONSTRAINT approvals_state_check
  CHECK (state IN ('pending', 'approved', 'denied', 'expired', 'succeeded', 'failed', 'interrupted'));
ALTER TABLE approvals ADD COLUMN runner text;
ALTER TABLE approvals ADD COLUMN lease_until timestamptz;
ALTER TABLE approvals ADD COLUMN message jsonb;
CREATE INDEX approvals_running_lease ON approvals (lease_until) WHERE state = 'approved';
`,
  },
];
