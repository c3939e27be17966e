/**
 * Liveness and readiness. `/healthz` says the process is up and serving; `/readyz` runs the named
 * readiness checks (Slack connected, the store reachable, ...), each with a time limit, and is ready
 * only when all pass. Modules register their own check: `health.setCheck('store', () => store.migrations())`.
 */

/** A check resolves (any value) when ready; it throws, or returns a string saying why not. */
export type ReadinessCheck = () => unknown;

export interface CheckResult {
  ok: boolean;
  /** Why not, when not ok. */
  detail?: string;
  ms: number;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, CheckResult>;
}

export class Health {
  private readonly checks = new Map<string, ReadinessCheck>();
  private readonly started = Date.now();

  setCheck(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  removeCheck(name: string): void {
    this.checks.delete(name);
  }

  names(): string[] {
    return [...this.checks.keys()];
  }

  uptimeSeconds(): number {
    return Math.round((Date.now() - this.started) / 1000);
  }

  async readiness(timeoutMs = 2000): Promise<Readiness> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]): Promise<[string, CheckResult]> => {
        const started = Date.now();
        let timer: NodeJS.Timeout | undefined;
        try {
          const outcome = await Promise.race([
            Promise.resolve().then(check),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
            }),
          ]);
          if (typeof outcome === 'string') return [name, { ok: false, detail: outcome, ms: Date.now() - started }];
          return [name, { ok: true, ms: Date.now() - started }];
        } catch (err) {
          return [name, { ok: false, detail: err instanceof Error ? err.message : String(err), ms: Date.now() - started }];
        } finally {
          if (timer) clearTimeout(timer);
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    return { ready: entries.every(([, r]) => r.ok), checks };
  }
}

/** The process's health checks, served at /healthz and /readyz by `badgateway start`. */
export const health = new Health();
