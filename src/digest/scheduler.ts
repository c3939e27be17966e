/**
 * Scheduled digests, exactly once across replicas. Each fire time of a schedule is claimed in the
 * store's digest_runs table first (unique (schedule, fire_time): the first INSERT wins, every other
 * replica gets false and posts nothing), then collected, posted (message + chart), and recorded with
 * the digest's summary as history. A fire that comes while the previous run of the same schedule is
 * still going is skipped with a log line. On start, a schedule whose previous fire time has no run
 * while older ones do (every instance was down at that time) is posted once, late, with a note; so is
 * one whose run at that time was cancelled because its instance was stopping.
 *
 * A run whose reads were cancelled (a shutdown, or the run timeout) posts nothing: a digest built from
 * cancelled reads would say the hosts were unreachable and the traffic gone, and become the history the
 * next one is compared with. The run is recorded failed with why (`cancelled: stopping | timeout`).
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Schedule } from '../config/index.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/index.js';
import type { Message } from '../report/message.js';
import type { FileUpload, MessageHandle } from '../chat/types.js';
import { toStored } from './build.js';
import type { Digests } from './digests.js';
import { cancelledByStop, previousDigest } from './history.js';
import { digestSummary } from './render.js';
import { dayClock, previousFireTime } from './time.js';
import { cronTrigger, type ScheduleTrigger } from './trigger.js';
import type { TriageResult } from '../triage/types.js';
import type { Digest } from './types.js';

/** Where a schedule's digest goes: a channel (Slack) or the terminal (console). */
export interface DigestPoster {
  /** Slack needs a channel per schedule; the console does not. */
  readonly needsChannel: boolean;
  post(channel: string | null, message: Message): Promise<MessageHandle>;
}

/** The chart as a file upload: binary `data` (the PNG), posted in the channel under the message. */
export type ChartUpload = FileUpload & Required<Pick<FileUpload, 'data' | 'inChannel'>>;

export type RunStatus = 'posted' | 'overlap' | 'claimed-elsewhere' | 'failed' | 'no-channel' | 'stopping';

export interface RunOutcome {
  schedule: string;
  fireTime: number;
  status: RunStatus;
  late: boolean;
  /** Late because its run was cut off by a restart (not missed while no instance ran). */
  retried?: boolean;
  digest?: Digest;
  /** The triage the digest was built from (its per-host reports). */
  result?: TriageResult;
  error?: string;
}

export interface DigestSchedulerOptions {
  schedules: Schedule[];
  digests: Digests;
  poster: DigestPoster;
  logger: Logger;
  /** Fires the schedules (default: node-cron). */
  trigger?: ScheduleTrigger;
  /** The clock (epoch ms); tests move it. */
  now?: () => number;
  /** This instance's name in the claims (default host:pid:random). */
  owner?: string;
  /** Channel for schedules that name none (Slack's first allowed channel, say). */
  defaultChannel?: string | null;
  /** Longest window a digest reads (default 7 days). */
  maxWindowMs?: number;
  /** How long one run may take before its collection is cancelled (default 10 minutes). */
  runTimeoutMs?: number;
  /** Called after each digest is posted (metrics). */
  onPosted?: (schedule: Schedule, digest: Digest) => void;
}

const DAY_MS = 86_400_000;

export class DigestScheduler {
  private readonly running = new Map<string, Promise<RunOutcome>>();
  private readonly disarm: Array<() => void> = [];
  private readonly controllers = new Set<AbortController>();
  private readonly now: () => number;
  /** drain(): no new runs. */
  private draining = false;
  /** stop(): runs still going are cancelled because the instance is stopping (not timed out). */
  private stopping = false;
  private catchingUp: Promise<unknown> | null = null;
  readonly owner: string;

  constructor(private readonly options: DigestSchedulerOptions) {
    this.now = options.now ?? Date.now;
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  }

  get schedules(): Schedule[] {
    return this.options.schedules;
  }

  /** Arms every schedule, then posts any digest missed while no instance ran (returns those runs). */
  async start(): Promise<RunOutcome[]> {
    const trigger = this.options.trigger ?? cronTrigger(this.options.logger);
    for (const schedule of this.options.schedules) {
      this.disarm.push(trigger.arm(schedule, (fireTime) => this.run(schedule, fireTime)));
    }
    this.options.logger.info({ schedules: this.options.schedules.map((s) => `${s.name} (${s.cron}${s.timezone ? ` ${s.timezone}` : ''})`), owner: this.owner }, 'digest schedules armed');
    const caughtUp = this.catchUp();
    this.catchingUp = caughtUp;
    return caughtUp;
  }

  /** Stops firing; runs in progress go on (idle() says when they are done). */
  drain(): void {
    this.draining = true;
    for (const off of this.disarm.splice(0)) off();
  }

  /** Resolves when no run is in progress (the start's catch-up included). */
  async idle(): Promise<void> {
    await this.catchingUp;
    while (this.running.size) await Promise.allSettled([...this.running.values()]);
  }

  /** Stops firing and cancels runs in progress: they post nothing and are recorded failed, to be posted by the next start. */
  async stop(): Promise<void> {
    this.drain();
    this.stopping = true;
    for (const c of this.controllers) c.abort();
    await this.idle();
  }

  /** Runs in progress, by schedule. */
  busy(): string[] {
    return [...this.running.keys()];
  }

  /**
   * For each schedule: if its previous fire time has no run in the store while an older one does,
   * every instance was down then: post that digest now, once (the claim still decides who), late.
   */
  async catchUp(): Promise<RunOutcome[]> {
    const store = this.options.digests.store;
    if (!store) return [];
    const outcomes: RunOutcome[] = [];
    await Promise.all(
      this.options.schedules.map(async (schedule) => {
        try {
          const [last] = await store.listDigestRuns({ schedule: schedule.name, limit: 1 });
          if (!last) return;
          const due = previousFireTime(schedule.cron, schedule.timezone, this.now());
          if (due === null || last.fireTime > due || (last.fireTime === due && !cancelledByStop(last))) {
            this.options.logger.info({ schedule: schedule.name }, 'digest catch-up: nothing missed');
            return;
          }
          if (last.fireTime === due) {
            this.options.logger.info({ schedule: schedule.name, due: new Date(due).toISOString() }, 'digest cut off by a restart: posting it late');
            outcomes.push(await this.run(schedule, due, { late: true, retry: true }));
            return;
          }
          this.options.logger.info({ schedule: schedule.name, due: new Date(due).toISOString(), lastRun: new Date(last.fireTime).toISOString() }, 'digest missed while down: posting it late');
          outcomes.push(await this.run(schedule, due, { late: true }));
        } catch (err) {
          this.options.logger.error({ schedule: schedule.name, err: errorMessage(err) }, 'digest catch-up failed');
        }
      }),
    );
    return outcomes;
  }

  /** One fire of a schedule: overlap guard, claim, collect, post, record. */
  run(schedule: Schedule, fireTime: number, options: { late?: boolean; retry?: boolean } = {}): Promise<RunOutcome> {
    const log = this.options.logger.child({ schedule: schedule.name, fireTime: new Date(fireTime).toISOString() });
    if (this.draining) {
      log.info('digest not started: this instance is stopping');
      return Promise.resolve({ schedule: schedule.name, fireTime, status: 'stopping', late: options.late ?? false });
    }
    const inFlight = this.running.get(schedule.name);
    if (inFlight) {
      log.info('digest skipped: the previous run of this schedule is still going');
      return Promise.resolve({ schedule: schedule.name, fireTime, status: 'overlap', late: options.late ?? false });
    }
    const promise = this.runClaimed(schedule, fireTime, options.late ?? false, options.retry ?? false, log).finally(() => {
      if (this.running.get(schedule.name) === promise) this.running.delete(schedule.name);
    });
    this.running.set(schedule.name, promise);
    return promise;
  }

  private async runClaimed(schedule: Schedule, fireTime: number, late: boolean, retry: boolean, log: Logger): Promise<RunOutcome> {
    const { digests, poster } = this.options;
    const store = digests.store;
    const base = { schedule: schedule.name, fireTime, late, ...(retry ? { retried: true } : {}) };
    const channel = schedule.channel ?? this.options.defaultChannel ?? null;
    if (!channel && poster.needsChannel) {
      log.error('digest not posted: the schedule names no channel (set schedules[].channel)');
      return { ...base, status: 'no-channel', error: 'no channel' };
    }
    if (store) {
      const claim = { schedule: schedule.name, fireTime, owner: this.owner, at: this.now() };
      const claimed = retry ? await store.reclaimDigestRun(claim) : await store.claimDigestRun(claim);
      if (!claimed) {
        log.info({ owner: this.owner }, 'digest claimed by another instance; not posting');
        return { ...base, status: 'claimed-elsewhere' };
      }
    }
    const controller = new AbortController();
    this.controllers.add(controller);
    const timer = setTimeout(() => controller.abort(), this.options.runTimeoutMs ?? 10 * 60_000);
    timer.unref();
    try {
      const previous = await previousDigest(store, { schedule: schedule.name });
      const now = this.now();
      const zone = schedule.timezone ?? 'UTC';
      // Default window: since the previous digest; without one, since the schedule's fire before this one.
      const from = schedule.window !== undefined ? now - schedule.window : (previous?.window.to ?? previousFireTime(schedule.cron, schedule.timezone, fireTime) ?? now - DAY_MS);
      const sinceMs = Math.max(1000, Math.min(this.options.maxWindowMs ?? 7 * DAY_MS, now - from));
      const why = retry ? 'was cut off when badgateway restarted' : 'was missed while no badgateway instance was running';
      const lateNote = late
        ? `Posted late: the digest due ${dayClock(fireTime, zone)} (${zone}) ${why}; it covers everything since ${previous ? `the previous digest (${dayClock(previous.window.to, zone)})` : 'then'}.`
        : null;
      const composed = await digests.compose({
        target: schedule.targets.join(','),
        sinceMs,
        schedule: schedule.name,
        timeZone: zone,
        fireTime,
        lateNote,
        previous,
        signal: controller.signal,
      });
      const { digest } = composed;
      const handle = await poster.post(channel, composed.message);
      if (composed.chart) {
        const upload: ChartUpload = { ...composed.chart, inChannel: true };
        await handle.upload(upload).catch((err) => log.warn({ err: errorMessage(err) }, 'digest chart upload failed (the message is posted)'));
      }
      const postedAt = this.now();
      if (store) {
        await store.finishDigestRun(schedule.name, fireTime, {
          status: 'posted',
          at: postedAt,
          detail: { late, channel, summary: digestSummary(digest), digest: toStored(digest, postedAt, previous) },
        });
      }
      log.info({ channel, late, quiet: digest.quiet, hosts: digest.fleet.hosts, unreachable: digest.unreachable.length, ms: postedAt - now, bytes: digest.collection.bytesFetched }, 'digest posted');
      try {
        this.options.onPosted?.(schedule, digest);
      } catch {
        /* a counter must not fail the run */
      }
      return { ...base, status: 'posted', digest, result: composed.result };
    } catch (err) {
      const error = errorMessage(err);
      // Cancelled: nothing was posted. Stopping: the next start posts it; a timeout is not retried.
      const cancelled = controller.signal.aborted ? (this.stopping ? 'stopping' : 'timeout') : null;
      log.error({ err: error, ...(cancelled ? { cancelled } : {}) }, cancelled ? 'digest cancelled: nothing posted' : 'digest failed');
      if (store) {
        await store
          .finishDigestRun(schedule.name, fireTime, { status: 'failed', at: this.now(), detail: { error, ...(cancelled ? { cancelled } : {}) } })
          .catch((e) => log.error({ err: errorMessage(e) }, 'could not record the failed digest run'));
      }
      return { ...base, status: 'failed', error };
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
    }
  }
}
