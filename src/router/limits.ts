/**
 * What the router holds to when a command asks for a job: the cap on jobs at once, a cap per user
 * (one person's burst cannot take every slot), and one run of identical work (the same triage of the
 * same hosts over the same window in the same channel is joined, not started twice). A refusal says
 * when to try again, from how long recent jobs took.
 */

export interface JobMeta {
  /** `slack:U123`, `console:alice`; null for work nobody typed (alerts, clicks). */
  owner: string | null;
  /** Identical work has the same key (command, channel, hosts, window); null: never joined. */
  key: string | null;
  /** What it is, in words: "triage of web-03". */
  label: string;
  /** mrkdwn: who asked. */
  requestedBy: string;
  started: number;
}

/** A slot held from a command's plan until its job runs (claim) or 30 s pass. */
export interface Reservation {
  claim(): object;
}

export interface LimitSettings {
  maxJobs: number;
  maxJobsPerUser: number;
}

const RECENT = 50;

export class JobBook {
  private readonly running = new Map<object, JobMeta>();
  private readonly durations: number[] = [];

  constructor(
    readonly settings: LimitSettings,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.running.size;
  }

  add(token: object, meta: Omit<JobMeta, 'started'>): object {
    this.running.set(token, { ...meta, started: this.now() });
    return token;
  }

  /** The job ended (`ran`: its duration informs retry estimates; a reservation never run does not). */
  finish(token: object, ran = true): void {
    const meta = this.running.get(token);
    if (!meta) return;
    this.running.delete(token);
    if (!ran) return;
    this.durations.push(this.now() - meta.started);
    if (this.durations.length > RECENT) this.durations.shift();
  }

  /** The running job doing exactly this, if any. */
  identical(key: string): JobMeta | undefined {
    for (const meta of this.running.values()) if (meta.key === key) return meta;
    return undefined;
  }

  ownedBy(owner: string): JobMeta[] {
    return [...this.running.values()].filter((m) => m.owner === owner);
  }

  /** Why a new job for `owner` may not start now (with when to retry), or null. */
  refusal(owner: string | null): { why: string; retryAfterSeconds: number } | null {
    if (this.running.size >= this.settings.maxJobs) {
      return { why: `I am running ${this.running.size} jobs already`, retryAfterSeconds: this.retryAfter([...this.running.values()]) };
    }
    if (owner !== null) {
      const mine = this.ownedBy(owner);
      if (mine.length >= this.settings.maxJobsPerUser) {
        const what = mine
          .slice(0, 3)
          .map((m) => m.label)
          .join(', ');
        return {
          why: `you have ${mine.length} commands running already (${what}${mine.length > 3 ? ', …' : ''}); each person may run ${this.settings.maxJobsPerUser} at once`,
          retryAfterSeconds: this.retryAfter(mine),
        };
      }
    }
    return null;
  }

  /**
   * Seconds until one of `jobs` has likely ended: the median of recent job durations less the age of
   * the oldest of them, between 5 s and 5 min (30 s before any job has finished).
   */
  retryAfter(jobs: readonly JobMeta[] = [...this.running.values()]): number {
    const sorted = [...this.durations].sort((a, b) => a - b);
    const typical = sorted.length ? sorted[Math.floor(sorted.length / 2)]! : 30_000;
    const oldest = Math.min(...jobs.map((j) => j.started), this.now());
    const left = typical - (this.now() - oldest);
    return Math.min(300, Math.max(5, Math.ceil(left / 5000) * 5));
  }
}

export function retryWords(seconds: number): string {
  return seconds >= 90 ? `about ${Math.round(seconds / 60)} minutes` : `about ${seconds} seconds`;
}
