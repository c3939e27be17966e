/**
 * What digests need of the store (src/store, issue 6): the digest_runs table, whose unique
 * (schedule, fire_time) key makes claiming a fire time a lease across replicas, and whose `detail`
 * keeps each posted digest's summary as history. `memoryDigestRuns` is the same contract in this
 * process only, for a bot without a store and for tests.
 */
import type { DigestRun, Store } from '../store/index.js';
import type { StoredDigest } from './types.js';

export type DigestRunStore = Pick<Store, 'claimDigestRun' | 'finishDigestRun' | 'reclaimDigestRun' | 'listDigestRuns'>;

/** A run recorded failed because its reads were cancelled when its instance was stopping: the next start posts it. */
export function cancelledByStop(run: DigestRun): boolean {
  return run.status === 'failed' && (run.detail as { cancelled?: unknown } | null)?.cancelled === 'stopping';
}

/** digest_runs in memory: the same first-claim-wins rule, for one process. */
export function memoryDigestRuns(): DigestRunStore {
  const runs = new Map<string, DigestRun>();
  const key = (schedule: string, fireTime: number) => `${schedule}\u0000${fireTime}`;
  return {
    async claimDigestRun(run) {
      const k = key(run.schedule, run.fireTime);
      if (runs.has(k)) return false;
      runs.set(k, { schedule: run.schedule, fireTime: run.fireTime, owner: run.owner, claimedAt: run.at, finishedAt: null, status: 'running', detail: null });
      return true;
    },
    async reclaimDigestRun(run) {
      const found = runs.get(key(run.schedule, run.fireTime));
      if (!found || !cancelledByStop(found)) return false;
      Object.assign(found, { status: 'running', owner: run.owner, claimedAt: run.at, finishedAt: null, detail: null });
      return true;
    },
    async finishDigestRun(schedule, fireTime, result) {
      const run = runs.get(key(schedule, fireTime));
      if (run?.status !== 'running') return false;
      run.status = result.status;
      run.finishedAt = result.at;
      run.detail = result.detail ?? null;
      return true;
    },
    async listDigestRuns(filter = {}) {
      return [...runs.values()]
        .filter((r) => !filter.schedule || r.schedule === filter.schedule)
        .sort((a, b) => b.fireTime - a.fireTime || a.schedule.localeCompare(b.schedule))
        .slice(0, filter.limit ?? 100)
        .map((r) => ({ ...r }));
    },
  };
}

/** The stored digest inside a run's detail, when the run was posted and carries one. */
export function storedDigestOf(run: DigestRun): StoredDigest | null {
  if (run.status !== 'posted') return null;
  const digest = (run.detail as { digest?: unknown } | null)?.digest;
  if (!digest || typeof digest !== 'object') return null;
  const d = digest as Partial<StoredDigest>;
  if (typeof d.fireTime !== 'number' || !d.window || !d.fleet || !d.hosts) return null;
  return d as StoredDigest;
}

/** The latest posted digest of a schedule, or (schedule null) the latest of any schedule over `target`. */
export async function previousDigest(store: DigestRunStore | null, query: { schedule?: string | null; target?: string }): Promise<StoredDigest | null> {
  if (!store) return null;
  const runs = await store.listDigestRuns(query.schedule ? { schedule: query.schedule, limit: 50 } : { limit: 200 });
  for (const run of runs) {
    const stored = storedDigestOf(run);
    if (!stored) continue;
    if (!query.schedule && query.target !== undefined && stored.target !== query.target) continue;
    return stored;
  }
  return null;
}
