/**
 * Durations and sizes as people write them in config and chat: `15m`, `90s`, `500ms`, `2h`, `7d`;
 * `64KiB`, `10MB`, `512k`. Bare numbers are seconds and bytes.
 */

const DURATION_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;

/** Parses `15m`, `1h30m`, `500ms`, `45` (seconds) into milliseconds; null when malformed. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === '') return null;
  // Compound forms like 1h30m: consume unit groups left to right.
  const parts = trimmed.match(/\d+(?:\.\d+)?(?:ms|s|m|h|d)?/g);
  if (!parts || parts.join('') !== trimmed) return null;
  if (parts.length > 1 && parts.some((p) => !/[a-z]$/.test(p))) return null;
  let total = 0;
  for (const part of parts) {
    const match = DURATION_RE.exec(part);
    if (!match) return null;
    total += Number(match[1]) * DURATION_UNITS_MS[match[2] ?? 's']!;
  }
  return Number.isFinite(total) ? Math.round(total) : null;
}

export function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** Parses `64KiB`, `10MB`, `512k`, `1048576` into bytes; null when malformed. */
export function parseSize(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  if (!match) return null;
  const unit = SIZE_UNITS[match[2]!.toLowerCase()];
  if (unit === undefined) return null;
  return Math.round(Number(match[1]) * unit);
}
