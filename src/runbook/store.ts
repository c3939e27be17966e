/**
 * Where sessions live. The runbook code needs only the four runbook-session methods of the bot's
 * Store (src/store: PGlite embedded by default, PostgreSQL with DATABASE_URL; table
 * `runbook_sessions`, `state` jsonb, optimistic `version`), so it depends on exactly that slice.
 * `MemoryRunbookSessionStore` implements the same slice in memory, for unit tests.
 */
import type { NewRunbookSession, RunbookSession, RunbookStatus, Store } from '../store/types.js';

export type RunbookSessionStore = Pick<Store, 'createRunbookSession' | 'getRunbookSession' | 'updateRunbookSession' | 'listRunbookSessions'>;

export class MemoryRunbookSessionStore implements RunbookSessionStore {
  private readonly rows = new Map<string, RunbookSession>();

  async createRunbookSession(session: NewRunbookSession): Promise<RunbookSession> {
    if (this.rows.has(session.id)) throw new Error(`runbook session ${session.id} exists already`);
    const { at, ...rest } = session;
    const row: RunbookSession = { ...rest, state: structuredClone(session.state), status: 'active', version: 1, createdAt: at, updatedAt: at };
    this.rows.set(row.id, row);
    return structuredClone(row);
  }

  async getRunbookSession(id: string): Promise<RunbookSession | null> {
    const row = this.rows.get(id);
    return row ? structuredClone(row) : null;
  }

  async updateRunbookSession(id: string, expectedVersion: number, change: { state?: Record<string, unknown>; status?: RunbookStatus; at: number }): Promise<RunbookSession | null> {
    const row = this.rows.get(id);
    if (!row || row.version !== expectedVersion) return null;
    if (change.state) row.state = structuredClone(change.state);
    if (change.status) row.status = change.status;
    row.version++;
    row.updatedAt = change.at;
    return structuredClone(row);
  }

  async listRunbookSessions(filter: { status?: RunbookStatus; host?: string; limit?: number } = {}): Promise<RunbookSession[]> {
    return [...this.rows.values()]
      .filter((r) => (!filter.status || r.status === filter.status) && (!filter.host || r.host === filter.host))
      .sort((a, b) => b.updatedAt - a.updatedAt)
      .slice(0, filter.limit ?? 100)
      .map((r) => structuredClone(r));
  }
}
