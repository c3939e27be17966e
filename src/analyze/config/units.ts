/**
 * Unit parsers mirroring the programs' own rules, so "60", "1m" and "1m30s" compare as the same numbers
 * the daemons use. All return undefined for text the daemon would reject.
 */

const MS: Record<string, number> = {
  y: 365 * 86400_000,
  M: 30 * 86400_000,
  w: 7 * 86400_000,
  d: 86400_000,
  h: 3600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  ' ': 1000,
};
// Order of ngx_parse_time's `step` states; a unit may only follow a larger one.
const STEP: Record<string, number> = { y: 1, M: 2, w: 3, d: 4, h: 5, m: 6, s: 7, ms: 8, ' ': 9 };

/**
 * nginx time, ported from ngx_parse_time: `60`, `60s`, `1m30s`, `1m30`, `1h 30m`, `500ms` → seconds.
 * Timeouts (fastcgi_read_timeout...) are msec slots, where `y`/`M` are rejected; `seconds: true` is the
 * seconds-slot variant (upstream fail_timeout), where `ms` is rejected. A trailing bare number counts as seconds.
 */
export function parseNginxDuration(text: string, opts: { seconds?: boolean } = {}): number | undefined {
  const isSec = opts.seconds ?? false;
  let step = isSec ? 0 : STEP.M!;
  let value = 0;
  let totalMs = 0;
  let valid = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c >= '0' && c <= '9') {
      value = value * 10 + (c.charCodeAt(0) - 48);
      valid = true;
      i++;
      continue;
    }
    i++;
    let unit = c;
    if (c === 'm' && text[i] === 's') {
      if (isSec || step >= STEP.ms!) return undefined;
      unit = 'ms';
      i++;
    } else if (c === 'y') {
      if (step > 0) return undefined;
    } else if (c in STEP && c !== 'ms') {
      if (step >= (c === ' ' ? STEP.s! : STEP[c]!)) return undefined;
    } else {
      return undefined;
    }
    step = STEP[unit]!;
    totalMs += value * MS[unit]!;
    value = 0;
    while (text[i] === ' ') i++;
  }
  if (!valid) return undefined;
  return (totalMs + value * 1000) / 1000;
}

/** nginx size (ngx_parse_size): `4096`, `4k`, `16K`, `1m`, `1g` → bytes. */
export function parseNginxSize(text: string): number | undefined {
  const m = /^(\d+)([kKmMgG]?)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  const mult = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  return n * mult;
}

/** FPM time (fpm_conf_set_time): `0`, `30`, `30s`, `1m`, `1h`, `1d` → seconds. */
export function parseFpmDuration(text: string): number | undefined {
  const m = /^(-?\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const mult = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] ?? ''] ?? 1;
  return n * mult;
}

/** php.ini size (zend_atol): `128M`, `1G`, `512K`, `-1` (unlimited) → bytes (-1 kept). */
export function parsePhpSize(text: string): number | undefined {
  const m = /^(-?\d+)\s*([kKmMgG]?)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (n < 0) return -1;
  const unit = (m[2] ?? '').toLowerCase();
  return n * (unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1);
}

/** Renders seconds the way a responder would type them into a config. */
export function formatSeconds(s: number): string {
  if (s === 0) return '0s';
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  return `${Math.round(s * 1000) / 1000}s`;
}

/** Renders bytes as nginx size syntax (`16k`) when it divides evenly. */
export function formatSize(bytes: number): string {
  if (bytes > 0 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}m`;
  if (bytes > 0 && bytes % 1024 === 0) return `${bytes / 1024}k`;
  return String(bytes);
}

/** Garbage input must not turn into a megabyte of warnings in a chat reply. */
export function capWarnings(warnings: string[], max = 50): string[] {
  if (warnings.length <= max) return warnings;
  return [...warnings.slice(0, max), `... ${warnings.length - max} more warnings`];
}
