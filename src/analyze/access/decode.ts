/**
 * Byte-level decoders over (buffer, start, end) ranges. They run millions of times per analysis, so they allocate
 * nothing except the few strings explicitly asked for (paths, methods).
 */

export const OK = 0;
export const ERR_SHAPE = 1;
export const ERR_TIME = 2;
export const ERR_STATUS = 3;
export const ERR_NUMBER = 4;
export const ERR_UPSTREAM = 5;
export const ERR_UTF8 = 6;
export const ERR_TOO_LONG = 7;
export const REASONS = ['ok', 'shape', 'time', 'status', 'number', 'upstream', 'utf8', 'too_long'] as const;

/** Decoded number is absent (`-`, or empty under escape=json/none). */
export const MISSING = -1;
/** Decoded number is malformed. */
export const INVALID = -2;

/** `$status`: exactly three digits, or -1. */
export function decodeStatus(buf: Buffer, s: number, e: number): number {
  if (e - s !== 3) return -1;
  const a = (buf[s] as number) - 48;
  const b = (buf[s + 1] as number) - 48;
  const c = (buf[s + 2] as number) - 48;
  if (a >>> 0 > 9 || b >>> 0 > 9 || c >>> 0 > 9) return -1;
  return a * 100 + b * 10 + c;
}

/** Seconds with optional fraction (`%T.%03M`, `$msec`) as integer milliseconds; MISSING for `-`/empty; INVALID. */
export function decodeMillis(buf: Buffer, s: number, e: number): number {
  if (s >= e) return MISSING;
  if (e - s === 1 && buf[s] === 0x2d) return MISSING;
  let v = 0;
  let i = s;
  for (; i < e; i++) {
    const d = (buf[i] as number) - 48;
    if (d >>> 0 > 9) break;
    v = v * 10 + d;
  }
  if (i === s || i - s > 15) return INVALID;
  v *= 1000;
  if (i < e) {
    if (buf[i] !== 0x2e || i + 1 === e) return INVALID;
    i++;
    let scale = 100;
    for (; i < e; i++) {
      const d = (buf[i] as number) - 48;
      if (d >>> 0 > 9) return INVALID;
      v += d * scale;
      scale = scale === 1 ? 0 : scale / 10;
    }
  }
  return v;
}

/** Non-negative integer (`$connection`), or -1. */
export function decodeInt(buf: Buffer, s: number, e: number): number {
  if (s >= e || e - s > 15) return -1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const d = (buf[i] as number) - 48;
    if (d >>> 0 > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function monthIndex(a: number, b: number, c: number): number {
  switch ((a << 16) | (b << 8) | c) {
    case 0x4a616e:
      return 0; // Jan
    case 0x466562:
      return 1; // Feb
    case 0x4d6172:
      return 2; // Mar
    case 0x417072:
      return 3; // Apr
    case 0x4d6179:
      return 4; // May
    case 0x4a756e:
      return 5; // Jun
    case 0x4a756c:
      return 6; // Jul
    case 0x417567:
      return 7; // Aug
    case 0x536570:
      return 8; // Sep
    case 0x4f6374:
      return 9; // Oct
    case 0x4e6f76:
      return 10; // Nov
    case 0x446563:
      return 11; // Dec
    default:
      return -1;
  }
}

function two(buf: Buffer, i: number): number {
  const a = (buf[i] as number) - 48;
  const b = (buf[i + 1] as number) - 48;
  return a >>> 0 > 9 || b >>> 0 > 9 ? -1 : a * 10 + b;
}

/** Parses log time stamps to epoch ms; caches the last calendar day since consecutive lines share it. */
export class TimeDecoder {
  private dayKey = -1;
  private dayBase = 0;

  private day(y: number, mon: number, d: number): number {
    const key = y * 512 + mon * 32 + d;
    if (key === this.dayKey) return this.dayBase;
    if (mon < 0 || y < 1970 || y > 9999 || d < 1) return NaN;
    const leap = mon === 1 && ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0) ? 1 : 0;
    if (d > (DAYS_IN_MONTH[mon] as number) + leap) return NaN;
    this.dayKey = key;
    this.dayBase = Date.UTC(y, mon, d);
    return this.dayBase;
  }

  /** `28/Sep/1970:12:00:00 +0600`. NaN when malformed. Flat on purpose: it runs once per line. */
  timeLocal(buf: Buffer, s: number, e: number): number {
    if (e - s !== 26) return NaN;
    if (buf[s + 2] !== 0x2f || buf[s + 6] !== 0x2f || buf[s + 11] !== 0x3a || buf[s + 14] !== 0x3a) return NaN;
    if (buf[s + 17] !== 0x3a || buf[s + 20] !== 0x20) return NaN;
    const d0 = (buf[s] as number) - 48;
    const d1 = (buf[s + 1] as number) - 48;
    const y0 = (buf[s + 7] as number) - 48;
    const y1 = (buf[s + 8] as number) - 48;
    const y2 = (buf[s + 9] as number) - 48;
    const y3 = (buf[s + 10] as number) - 48;
    const h0 = (buf[s + 12] as number) - 48;
    const h1 = (buf[s + 13] as number) - 48;
    const m0 = (buf[s + 15] as number) - 48;
    const m1 = (buf[s + 16] as number) - 48;
    const s0 = (buf[s + 18] as number) - 48;
    const s1 = (buf[s + 19] as number) - 48;
    const z0 = (buf[s + 22] as number) - 48;
    const z1 = (buf[s + 23] as number) - 48;
    const z2 = (buf[s + 24] as number) - 48;
    const z3 = (buf[s + 25] as number) - 48;
    if (
      d0 >>> 0 > 9 ||
      d1 >>> 0 > 9 ||
      y0 >>> 0 > 9 ||
      y1 >>> 0 > 9 ||
      y2 >>> 0 > 9 ||
      y3 >>> 0 > 9 ||
      h0 >>> 0 > 2 ||
      h1 >>> 0 > 9 ||
      m0 >>> 0 > 5 ||
      m1 >>> 0 > 9 ||
      s0 >>> 0 > 5 ||
      s1 >>> 0 > 9 ||
      z0 >>> 0 > 2 ||
      z1 >>> 0 > 9 ||
      z2 >>> 0 > 5 ||
      z3 >>> 0 > 9
    ) {
      return NaN;
    }
    const h = h0 * 10 + h1;
    if (h > 23) return NaN;
    const mon = monthIndex(buf[s + 3] as number, buf[s + 4] as number, buf[s + 5] as number);
    const base = this.day(y0 * 1000 + y1 * 100 + y2 * 10 + y3, mon, d0 * 10 + d1);
    const sign = buf[s + 21];
    if (sign !== 0x2b && sign !== 0x2d) return NaN;
    const off = ((z0 * 10 + z1) * 60 + z2 * 10 + z3) * 60_000;
    return base + ((h * 60 + m0 * 10 + m1) * 60 + s0 * 10 + s1) * 1000 - (sign === 0x2d ? -off : off);
  }

  /** `1970-09-28T12:00:00+06:00` (or with `Z`). NaN when malformed. */
  timeIso(buf: Buffer, s: number, e: number): number {
    const len = e - s;
    if (len !== 25 && !(len === 20 && buf[s + 19] === 0x5a)) return NaN;
    if (buf[s + 4] !== 0x2d || buf[s + 7] !== 0x2d || buf[s + 10] !== 0x54 || buf[s + 13] !== 0x3a) return NaN;
    if (buf[s + 16] !== 0x3a) return NaN;
    const y1 = two(buf, s);
    const y2 = two(buf, s + 2);
    const mo = two(buf, s + 5);
    const d = two(buf, s + 8);
    if (y1 < 0 || y2 < 0 || mo < 1 || mo > 12 || d < 0) return NaN;
    const base = this.day(y1 * 100 + y2, mo - 1, d);
    if (len === 20) return this.clock(base, buf, s + 11, s + 14, s + 17, -1, true);
    if (buf[s + 22] !== 0x3a) return NaN;
    return this.clock(base, buf, s + 11, s + 14, s + 17, s + 19, true);
  }

  private clock(base: number, buf: Buffer, hi: number, mi: number, si: number, zi: number, colon: boolean): number {
    const h = two(buf, hi);
    const m = two(buf, mi);
    const sec = two(buf, si);
    if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59) return NaN;
    let off = 0;
    if (zi >= 0) {
      const sign = buf[zi];
      const zh = two(buf, zi + 1);
      const zm = two(buf, zi + (colon ? 4 : 3));
      if ((sign !== 0x2b && sign !== 0x2d) || zh < 0 || zh > 23 || zm < 0 || zm > 59) return NaN;
      off = (zh * 60 + zm) * 60_000;
      if (sign === 0x2d) off = -off;
    }
    return base + ((h * 60 + m) * 60 + sec) * 1000 - off;
  }
}

/** Start of the URI in a `$request` line (`GET /x?y HTTP/1.1` -> index of `/`), or -1 when there is none. */
export function requestUriStart(buf: Buffer, s: number, e: number): number {
  let i = s;
  while (i < e && buf[i] !== 0x20) i++;
  return i >= e - 1 ? -1 : i + 1;
}

/** End of the path starting at s: the first `?` or space, or e. */
export function pathEnd(buf: Buffer, s: number, e: number): number {
  let j = s;
  while (j < e) {
    const c = buf[j];
    if (c === 0x3f || c === 0x20) break;
    j++;
  }
  return j;
}

/** True when buf[s, e) is empty or `-`. */
export function isDash(buf: Buffer, s: number, e: number): boolean {
  return e <= s || (e - s === 1 && buf[s] === 0x2d);
}

/** Path of a `$request` line (`GET /x?y HTTP/1.1` -> `/x`), or null when the request line has no URI. */
export function requestPath(buf: Buffer, s: number, e: number): string | null {
  const us = requestUriStart(buf, s, e);
  return us < 0 ? null : uriPath(buf, us, e);
}

/** Method of a `$request` line, or null. */
export function requestMethod(buf: Buffer, s: number, e: number): string | null {
  let i = s;
  while (i < e && buf[i] !== 0x20) i++;
  return i >= e || i === s ? null : buf.toString('utf8', s, i);
}

/** `/x?y HTTP/1.1` or `/x?y` -> `/x`; null for empty or `-`. */
export function uriPath(buf: Buffer, s: number, e: number): string | null {
  const j = pathEnd(buf, s, e);
  return isDash(buf, s, j) ? null : buf.toString('utf8', s, j);
}

/** Upper bound on attempts kept per request; nginx's default `*_next_upstream_tries` is unlimited but real chains are short. */
export const MAX_ATTEMPTS = 32;

/**
 * Decodes a multi-value upstream time list (`0.001, 0.050 : 0.002`) into ms values (MISSING for `-`).
 * Returns the number of items (capped at MAX_ATTEMPTS), 0 for an empty value, or -1 when malformed.
 */
export function decodeTimeList(buf: Buffer, s: number, e: number, out: Float64Array): number {
  if (s >= e) return 0;
  let k = 0;
  let i = s;
  for (;;) {
    let v: number;
    let d = (buf[i] as number) - 48;
    if (d === 0x2d - 48) {
      v = MISSING;
      i++;
    } else {
      // Inline `%T.%03M` parse: this runs for three lists on every upstream line.
      if (d >>> 0 > 9) return -1;
      v = d;
      const intStart = i;
      for (i++; i < e; i++) {
        d = (buf[i] as number) - 48;
        if (d >>> 0 > 9) break;
        v = v * 10 + d;
      }
      if (i - intStart > 15) return -1;
      v *= 1000;
      if (i < e && buf[i] === 0x2e) {
        const fracStart = ++i;
        let scale = 100;
        for (; i < e; i++) {
          d = (buf[i] as number) - 48;
          if (d >>> 0 > 9) break;
          v += d * scale;
          scale = (scale / 10) | 0;
        }
        if (i === fracStart) return -1;
      }
    }
    if (k < MAX_ATTEMPTS) out[k] = v;
    k++;
    if (i >= e) break;
    i = skipSeparator(buf, i, e);
    if (i < 0) return -1;
  }
  return k < MAX_ATTEMPTS ? k : MAX_ATTEMPTS;
}

/** Like decodeTimeList for `$upstream_status` (`502, 200`; `-` -> MISSING). */
export function decodeStatusList(buf: Buffer, s: number, e: number, out: Int32Array): number {
  if (s >= e) return 0;
  let k = 0;
  let i = s;
  for (;;) {
    let v: number;
    if (buf[i] === 0x2d) {
      v = MISSING;
      i++;
    } else {
      v = i + 3 <= e ? decodeStatus(buf, i, i + 3) : -1;
      if (v < 0) return -1;
      i += 3;
    }
    if (k < MAX_ATTEMPTS) out[k] = v;
    k++;
    if (i >= e) break;
    i = skipSeparator(buf, i, e);
    if (i < 0) return -1;
  }
  return k < MAX_ATTEMPTS ? k : MAX_ATTEMPTS;
}

/**
 * Splits `$upstream_addr` (`10.0.0.1:9000, 10.0.0.2:9000 : unix:/s.sock`) into item ranges written to starts/ends,
 * with an FNV-1a hash of each item (so peers can be interned without decoding a string per line).
 * Returns the item count (capped), 0 for `-`/empty (no upstream involved), or -1 when malformed.
 */
export function decodeAddrList(buf: Buffer, s: number, e: number, starts: Int32Array, ends: Int32Array, hashes: Int32Array): number {
  if (s >= e || (e - s === 1 && buf[s] === 0x2d)) return 0;
  let k = 0;
  let i = s;
  for (;;) {
    const start = i;
    let h = 0x811c9dc5;
    while (i < e) {
      const c = buf[i] as number;
      if (c === 0x2c || c === 0x20) break;
      h = Math.imul(h ^ c, 0x01000193);
      i++;
    }
    if (i === start) return -1;
    if (k < MAX_ATTEMPTS) {
      starts[k] = start;
      ends[k] = i;
      hashes[k] = h;
    }
    k++;
    if (i >= e) break;
    i = skipSeparator(buf, i, e);
    if (i < 0) return -1;
  }
  return k < MAX_ATTEMPTS ? k : MAX_ATTEMPTS;
}

/** Group separators count toward attempt alignment only; `, ` and ` : ` both advance to the next attempt. */
function skipSeparator(buf: Buffer, i: number, e: number): number {
  if (buf[i] === 0x2c && buf[i + 1] === 0x20 && i + 2 < e) return i + 2;
  if (buf[i] === 0x20 && buf[i + 1] === 0x3a && buf[i + 2] === 0x20 && i + 3 < e) return i + 3;
  return -1;
}

export function bytesEqual(a: Uint8Array, buf: Buffer, s: number, e: number): boolean {
  if (a.length !== e - s) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== buf[s + k]) return false;
  return true;
}
