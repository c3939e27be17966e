/**
 * Recent triage results, kept in memory so a button clicked later ("Show evidence") can reach the
 * raw lines. Bounded by count and age; a click on an expired result is told to run the triage again.
 */
import { randomBytes } from 'node:crypto';
import type { TriageResult } from '../triage/types.js';

export class ResultCache {
  private readonly entries = new Map<string, { result: TriageResult; at: number }>();

  constructor(
    private readonly max = 200,
    private readonly ttlMs = 24 * 3_600_000,
    private readonly now: () => number = Date.now,
  ) {}

  put(result: TriageResult): string {
    const id = randomBytes(6).toString('hex');
    this.entries.set(id, { result, at: this.now() });
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    return id;
  }

  get(id: string): TriageResult | null {
    const entry = this.entries.get(id);
    if (!entry) return null;
    if (this.now() - entry.at > this.ttlMs) {
      this.entries.delete(id);
      return null;
    }
    return entry.result;
  }
}
