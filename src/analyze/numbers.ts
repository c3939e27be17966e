/** Numbers as every message shows them (pure, so the diagnosis and every renderer share it): one precision for a rate wherever it appears (triage, digest, alerts, actions). */

/**
 * A rate (0..1) as a percentage with one decimal, `2.5%`; a rate under 0.1% that is not zero keeps three
 * (`0.050%`), so one failure among thousands of requests never reads as `0.0%`.
 */
export function percent(rate: number): string {
  return `${(rate * 100).toFixed(rate > 0 && rate < 0.001 ? 3 : 1)}%`;
}

/** A count with thousands separators: `12,345`. */
export function num(n: number): string {
  return n.toLocaleString('en-US');
}

/** Seconds for a message: `12s`, `0.25s`, `-` when unknown. */
export function secs(v: number | null): string {
  return v === null ? '-' : v >= 10 ? `${v.toFixed(0)}s` : `${v.toFixed(2)}s`;
}
