/**
 * In-place updates of a progress message, throttled: at most one update in flight and one per
 * interval, the latest state winning. `finish` always lands last, so a slow interim update can
 * never overwrite the final answer.
 */
import type { Message } from '../report/message.js';
import type { MessageHandle } from './types.js';

/**
 * The app-wide allowance of interim updates: chat.update is rate limited per workspace (Tier 3,
 * about 50 a minute), so many triages at once share it. A token bucket; final answers never wait on it.
 */
export class UpdateBudget {
  private tokens: number;
  private last = Date.now();

  constructor(
    private readonly perMinute = 40,
    private readonly burst = 10,
  ) {
    this.tokens = burst;
  }

  tryTake(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 60_000) * this.perMinute);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class ThrottledUpdates {
  private pending: Message | null = null;
  private inflight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private last = 0;
  private finished = false;
  /** Interim updates actually sent (for tests and logs). */
  sent = 0;

  constructor(
    private readonly handle: MessageHandle,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
    private readonly budget: UpdateBudget | null = null,
  ) {}

  push(message: Message): void {
    if (this.finished) return;
    this.pending = message;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.inflight || this.finished || !this.pending) return;
    const delay = Math.max(0, this.last + this.intervalMs - Date.now());
    this.timer = setTimeout(() => this.flush(), delay);
  }

  private flush(): void {
    this.timer = null;
    const message = this.pending;
    if (!message || this.finished) return;
    if (this.budget && !this.budget.tryTake()) {
      // Over the app-wide allowance: keep the latest state and try again an interval later.
      this.last = Date.now();
      this.schedule();
      return;
    }
    this.pending = null;
    this.last = Date.now();
    this.sent++;
    this.inflight = this.handle
      .update(message)
      .catch(this.onError)
      .finally(() => {
        this.inflight = null;
        this.schedule();
      });
  }

  /** Sends the final message after any update in flight; later pushes are ignored. */
  async finish(message: Message): Promise<void> {
    this.finished = true;
    this.pending = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.inflight) await this.inflight;
    await this.handle.update(message);
  }
}
