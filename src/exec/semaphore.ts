/** A counting semaphore: at most `limit` tasks run at once; the rest wait in order. */
export class Semaphore {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  /** Runs `task` in a slot; a `signal` that aborts while it waits for one takes it out of the line (rejects). */
  async use<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.running < this.limit) {
      this.running++;
    } else {
      // The finishing task hands its slot straight to us, so `running` never overshoots.
      await this.wait(signal);
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  private wait(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new Error('cancelled'));
      const onAbort = () => {
        const at = this.waiting.indexOf(turn);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(new Error('cancelled'));
      };
      const turn = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(turn);
    });
  }
}

/** Maps over items with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const semaphore = new Semaphore(Math.max(1, limit));
  return Promise.all(items.map((item, index) => semaphore.use(() => fn(item, index))));
}
