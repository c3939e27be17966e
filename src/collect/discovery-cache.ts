/** Discoveries reused per host while the same masters run and nothing changed the host (src/collect/discover.ts). */
import { untilAborted } from '../exec/abort.js';
import { ExecError } from '../errors.js';
import { parsePs } from './host-parse.js';
import type { Discovery, DiscoveryContext } from './discover-types.js';
import { discoverHost, masterIdentities, runCommand, sameMasters } from './discover.js';

export interface DiscoveryCacheOptions {
  /** How long a discovery is reused; default 5 minutes. */
  ttlMs?: number;
  /** Clock (ms) for tests. */
  now?: () => number;
  /** Whether a cached discovery still holds; default: the same masters still run (one ps). */
  stillValid?: (ctx: DiscoveryContext, cached: Discovery) => Promise<boolean>;
  /**
   * The host's generation in the shared store (bumped by every change made on the host, by any
   * replica): a cached discovery taken at another generation is stale. Absent: the TTL alone.
   */
  generation?: (host: string) => Promise<number>;
}

/** One ps: the masters a cached discovery saw, and no others, still run (unknown counts as no). */
async function mastersStillRun(ctx: DiscoveryContext, cached: Discovery): Promise<boolean> {
  const masters = cached.masters;
  if (!masters) return false;
  const ps = await runCommand(ctx, 'host.processes');
  if (!ps.ok) return false;
  const rows = parsePs(ps.stdout);
  const now = Date.now();
  const read = masterIdentities(rows, now, new Set(masters.read.map((m) => m.pid)));
  return sameMasters(masters.read, read) && (!masters.all || sameMasters(masters.all, masterIdentities(rows, now)));
}

interface CacheEntry {
  at: number;
  discovery: Discovery;
  /** The host's generation read before the discovery started (null: not known). */
  generation: number | null;
}

/**
 * Discoveries per host name, reused for a few minutes; concurrent requests for one host share one run.
 * With a `generation`, a change made on the host by any replica makes the entry stale at once.
 */
export class DiscoveryCache {
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly generation: ((host: string) => Promise<number>) | undefined;
  private readonly entries = new Map<string, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<Discovery>>();
  private readonly stillValid: (ctx: DiscoveryContext, cached: Discovery) => Promise<boolean>;

  constructor(options: DiscoveryCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
    this.stillValid = options.stillValid ?? mastersStillRun;
    this.generation = options.generation;
  }

  /** The entry while its TTL runs (the generation is not checked here: see discover). */
  get(host: string): Discovery | undefined {
    return this.entry(host)?.discovery;
  }

  private entry(host: string): CacheEntry | undefined {
    const entry = this.entries.get(host);
    if (!entry) return undefined;
    if (this.now() - entry.at >= this.ttlMs) {
      this.entries.delete(host);
      return undefined;
    }
    return entry;
  }

  set(host: string, discovery: Discovery, generation: number | null = null): void {
    this.entries.set(host, { at: this.now(), discovery, generation });
  }

  invalidate(host?: string): void {
    if (host === undefined) this.entries.clear();
    else this.entries.delete(host);
  }

  /** The store's generation of the host; null when it cannot be read (then nothing cached is trusted). */
  private async currentGeneration(host: string): Promise<number | null> {
    if (!this.generation) return null;
    // Handled: an unreadable generation distrusts the cache (a fresh discovery); /readyz reports the store itself.
    return this.generation(host).catch(() => null);
  }

  /**
   * The cached discovery of ctx.host while it is current (same store generation, and the masters it read
   * still run: same pids, same start times), or a fresh one (failures are not cached). A process is never
   * presented as running from cache. `fresh`: always a new discovery, never the cache nor one already
   * running (what an action renders into a command must be read now). A caller's signal ends its wait.
   */
  async discover(ctx: DiscoveryContext, run: (ctx: DiscoveryContext) => Promise<Discovery> = discoverHost, options: { fresh?: boolean } = {}): Promise<Discovery> {
    const name = ctx.host.name;
    const generation = await this.currentGeneration(name);
    const cached = options.fresh ? undefined : this.entry(name);
    const current = cached && (!this.generation || (generation !== null && cached.generation === generation));
    if (cached && current && (await this.stillValid(ctx, cached.discovery))) return cached.discovery;
    if (cached) this.entries.delete(name);
    const pending = options.fresh ? undefined : this.inFlight.get(name);
    if (pending) return untilAborted(pending, ctx.signal, () => new ExecError(name, 'cancelled', 'discovery was cancelled.'));
    const started = run(ctx).then((discovery) => {
      this.set(name, discovery, generation);
      return discovery;
    });
    if (!options.fresh) {
      this.inFlight.set(name, started);
      void started.then(
        () => this.inFlight.get(name) === started && this.inFlight.delete(name),
        () => this.inFlight.get(name) === started && this.inFlight.delete(name),
      );
    }
    return started;
  }
}
