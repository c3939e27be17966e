/**
 * Splits a line into field ranges according to a ScanPlan.
 *
 * Two implementations with one contract: a generated straight-line scanner for the common case (terminators and
 * literals inlined as constants, single-value upstream fields decoded while scanning), and a generic interpreter
 * that handles everything else (escaped terminators, values containing the terminator byte, escape=none) and has
 * the final word on what is malformed.
 */
import { ERR_SHAPE, MAX_ATTEMPTS, MISSING, OK } from './decode.js';
import { Kind, type ScanPlan } from './format.js';

/** A multi-value field the fast scanner left for the full decoder. */
export const NEEDS_DECODE = -3;

/** Slots of LineScanner.counts. */
export const C_ADDR = 0;
export const C_STATUS = 1;
export const C_CONNECT = 2;
export const C_HEADER = 3;
export const C_RESPONSE = 4;
export const C_REQUEST_TIME = 5;

const BACKSLASH = 0x5c;
const NONE_FOUND = 0x7fffffff;
const FALLBACK = -1;

export class LineScanner {
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /**
   * Pre-decoded upstream fields (C_* slots): item count when the fast scanner decoded a single value into the arrays
   * below, NEEDS_DECODE otherwise. Slot C_REQUEST_TIME holds `$request_time` in ms (or NEEDS_DECODE).
   */
  readonly counts = new Float64Array(6).fill(NEEDS_DECODE);
  readonly addrStarts = new Int32Array(MAX_ATTEMPTS);
  readonly addrEnds = new Int32Array(MAX_ATTEMPTS);
  readonly addrHashes = new Int32Array(MAX_ATTEMPTS);
  readonly ustatus = new Int32Array(MAX_ATTEMPTS);
  readonly uct = new Float64Array(MAX_ATTEMPTS);
  readonly uht = new Float64Array(MAX_ATTEMPTS);
  readonly urt = new Float64Array(MAX_ATTEMPTS);
  /**
   * Per byte value: no occurrence in [memoFrom, memo), and one at memo (or none at all: NONE_FOUND). Searches that
   * start inside that range reuse it, which keeps Buffer.indexOf from rescanning the rest of a chunk for every line
   * when a byte is missing. See resetMemo.
   */
  readonly memo = new Int32Array(256).fill(-1);
  readonly memoFrom = new Int32Array(256);
  private readonly plan: ScanPlan;
  private readonly escaped: boolean;
  private readonly anchorLast: boolean;
  private readonly fast: FastScan | null;

  /** `fast: false` forces the generic scanner (tests compare both). */
  constructor(plan: ScanPlan, fast = true) {
    this.plan = plan;
    this.starts = new Int32Array(plan.count);
    this.ends = new Int32Array(plan.count);
    this.escaped = plan.escape !== 'none';
    // Raw values (escape=none) may contain the closing quote, so the last field is anchored at end of line instead.
    this.anchorLast = plan.escape === 'none' && (plan.literals[plan.count - 1] as Uint8Array).length > 0;
    this.fast = fast ? fastScanFor(plan) : null;
  }

  /**
   * Forget cached search positions. Must be called whenever the bytes under the positions change (a new chunk, or a
   * reused read buffer), since the cache is what keeps Buffer.indexOf from rescanning the rest of a chunk per line.
   */
  resetMemo(): void {
    this.memo.fill(-1);
    this.memoFrom.fill(0);
  }

  /** Fills starts/ends (and counts) for buf[s, e). Returns OK or ERR_SHAPE. */
  scan(buf: Buffer, s: number, e: number): number {
    if (this.fast !== null && this.fast(buf, s, e, this) === OK) return OK;
    this.counts.fill(NEEDS_DECODE);
    return this.scanGeneric(buf, s, e);
  }

  /** Next index of byte `b` in [from, end), or -1. Amortised linear over a chunk: results are reused while ahead. */
  private find(buf: Buffer, b: number, from: number, end: number): number {
    let m = this.memo[b] as number;
    if (m < from || (this.memoFrom[b] as number) > from) {
      m = buf.indexOf(b, from);
      if (m < 0) m = NONE_FOUND;
      this.memo[b] = m;
      this.memoFrom[b] = from;
    }
    return m < end ? m : -1;
  }

  private scanGeneric(buf: Buffer, s: number, e: number): number {
    const plan = this.plan;
    const starts = this.starts;
    const ends = this.ends;
    let p = s;
    const pre = plan.prefix;
    const preLen = pre.length;
    if (preLen > 0) {
      if (e - p < preLen) return ERR_SHAPE;
      for (let k = 0; k < preLen; k++) if (buf[p + k] !== pre[k]) return ERR_SHAPE;
      p += preLen;
    }
    const count = plan.count;
    for (let i = 0; i < count; i++) {
      starts[i] = p;
      const t = plan.term[i] as number;
      if (t < 0) {
        // Last field with nothing after it: runs to end of line.
        ends[i] = e;
        return OK;
      }
      const lit = plan.literals[i] as Uint8Array;
      const litLen = lit.length;
      let q = -1;
      if (i === count - 1 && this.anchorLast) {
        q = e - litLen;
        if (q < p || !litAt(lit, buf, q, e)) return ERR_SHAPE;
      } else {
        let from = p;
        for (;;) {
          if (plan.short[i] === 1) {
            q = from;
            while (q < e && buf[q] !== t) q++;
            if (q >= e) return ERR_SHAPE;
          } else {
            q = this.find(buf, t, from, e);
            if (q < 0) return ERR_SHAPE;
          }
          // A `\"` (json) or any backslash-escaped byte inside the value is not its end.
          if (this.escaped && q > p && buf[q - 1] === BACKSLASH && oddBackslashesBefore(buf, p, q)) {
            from = q + 1;
            continue;
          }
          // The first byte matched but not the whole literal: that byte belongs to the value.
          if (litLen > 1 && !litAt(lit, buf, q, e)) {
            from = q + 1;
            continue;
          }
          break;
        }
      }
      ends[i] = q;
      p = q + litLen;
    }
    return p === e ? OK : ERR_SHAPE;
  }
}

function oddBackslashesBefore(buf: Buffer, start: number, q: number): boolean {
  let n = 0;
  for (let k = q - 1; k >= start && buf[k] === BACKSLASH; k--) n++;
  return (n & 1) === 1;
}

function litAt(lit: Uint8Array, buf: Buffer, q: number, e: number): boolean {
  const n = lit.length;
  if (q + n > e) return false;
  for (let k = 0; k < n; k++) if (buf[q + k] !== lit[k]) return false;
  return true;
}

type FastScan = (buf: Buffer, s: number, e: number, o: LineScanner) => number;

// One generated function per compiled format, shared by every analyzer using it (and its JIT feedback with it).
const fastScans = new WeakMap<ScanPlan, FastScan | null>();

function fastScanFor(plan: ScanPlan): FastScan | null {
  let f = fastScans.get(plan);
  if (f === undefined) {
    f = compileFastScan(plan);
    fastScans.set(plan, f);
  }
  return f;
}

/**
 * Generates the straight-line scanner. It returns FALLBACK on anything unusual and the generic scanner then decides,
 * so it only has to be right on the common shape. Only numbers taken from the plan are interpolated into the source.
 */
function compileFastScan(plan: ScanPlan): FastScan | null {
  if (plan.escape === 'none') return null;
  const out: string[] = [
    "'use strict';",
    'const starts = o.starts, ends = o.ends, memo = o.memo, memoFrom = o.memoFrom, counts = o.counts;',
    'let p = s, q = 0, m = 0, c = 0, d = 0, v = 0, sc = 0, h = 0, multi = false;',
  ];
  const used = new Set<Kind>();
  const pre = plan.prefix;
  if (pre.length > 0) {
    out.push(`if (e - p < ${pre.length}) return ${FALLBACK};`);
    pre.forEach((b, k) => out.push(`if (buf[p + ${k}] !== ${b}) return ${FALLBACK};`));
    out.push(`p += ${pre.length};`);
  }
  let done = false;
  for (let i = 0; i < plan.count && !done; i++) {
    out.push(`starts[${i}] = p;`);
    const t = plan.term[i] as number;
    if (t < 0) {
      out.push(`ends[${i}] = e; return ${OK};`);
      done = true;
      break;
    }
    const lit = plan.literals[i] as Uint8Array;
    const kind = plan.kinds[i] as Kind;
    // Only the first occurrence of a kind is the one the analyzer reads.
    const first = (plan.index[kind] as number) === i;
    const scanTo = `q = p; while (q < e && buf[q] !== ${t}) q++; if (q >= e) return ${FALLBACK};`;
    if (first && kind === Kind.RequestTime) {
      used.add(kind);
      out.push(number(`counts[${C_REQUEST_TIME}] = v;`, `counts[${C_REQUEST_TIME}] = ${NEEDS_DECODE}; ${scanTo}`, t));
    } else if (first && (kind === Kind.UpstreamConnectTime || kind === Kind.UpstreamHeaderTime || kind === Kind.UpstreamResponseTime)) {
      used.add(kind);
      const [slot, arr] = kind === Kind.UpstreamConnectTime ? [C_CONNECT, 'o.uct'] : kind === Kind.UpstreamHeaderTime ? [C_HEADER, 'o.uht'] : [C_RESPONSE, 'o.urt'];
      out.push(number(`${arr}[0] = v; counts[${slot}] = 1;`, `counts[${slot}] = ${NEEDS_DECODE}; ${scanTo}`, t));
    } else if (first && kind === Kind.UpstreamStatus) {
      used.add(kind);
      out.push(
        `q = p; c = buf[q];`,
        `if (c === 45 && q + 1 < e && buf[q + 1] === ${t}) { o.ustatus[0] = ${MISSING}; counts[${C_STATUS}] = 1; q++; }`,
        `else if (q + 3 < e && buf[q + 3] === ${t} && (c - 48) >>> 0 <= 9 && (buf[q + 1] - 48) >>> 0 <= 9 && (buf[q + 2] - 48) >>> 0 <= 9) {`,
        `  o.ustatus[0] = (c - 48) * 100 + (buf[q + 1] - 48) * 10 + (buf[q + 2] - 48); counts[${C_STATUS}] = 1; q += 3; }`,
        `else { counts[${C_STATUS}] = ${NEEDS_DECODE}; ${scanTo} }`,
      );
    } else if (first && kind === Kind.UpstreamAddr) {
      used.add(kind);
      // Hash while looking for the terminator; a `,` or ` ` means a retry list, left to decodeAddrList.
      out.push(
        `q = p; h = ${0x811c9dc5 | 0}; multi = false;`,
        `while (q < e) { c = buf[q]; if (c === ${t}) break; if (c === 44 || c === 32) multi = true; h = Math.imul(h ^ c, ${0x01000193}); q++; }`,
        `if (q >= e) return ${FALLBACK};`,
        `if (multi || q === p) counts[${C_ADDR}] = ${NEEDS_DECODE};`,
        `else if (q - p === 1 && buf[p] === 45) counts[${C_ADDR}] = 0;`,
        `else { o.addrStarts[0] = p; o.addrEnds[0] = q; o.addrHashes[0] = h; counts[${C_ADDR}] = 1; }`,
      );
    } else if ((plan.fixed[i] as number) > 0) {
      out.push(`q = p + ${plan.fixed[i]}; if (q >= e || buf[q] !== ${t}) return ${FALLBACK};`);
    } else if (plan.short[i] === 1) {
      out.push(scanTo);
    } else {
      // Long fields are often just `-`: look two bytes ahead before paying for a Buffer.indexOf call.
      out.push(
        `if (buf[p] === ${t}) q = p; else if (buf[p + 1] === ${t}) q = p + 1; else {`,
        `  m = memo[${t}];`,
        `  if (m < p || memoFrom[${t}] > p) { m = buf.indexOf(${t}, p); if (m < 0) m = ${NONE_FOUND}; memo[${t}] = m; memoFrom[${t}] = p; }`,
        `  q = m; }`,
        `if (q >= e) return ${FALLBACK};`,
      );
    }
    out.push(`if (buf[q - 1] === ${BACKSLASH}) return ${FALLBACK};`);
    const checks: string[] = [];
    for (let k = 1; k < lit.length; k++) checks.push(`buf[q + ${k}] !== ${lit[k]}`);
    if (checks.length > 0) out.push(`if (q + ${lit.length} > e || ${checks.join(' || ')}) return ${FALLBACK};`);
    out.push(`ends[${i}] = q; p = q + ${lit.length};`);
  }
  if (!done) out.push(`return p === e ? ${OK} : ${FALLBACK};`);
  // Fields the scan never reached stay "needs decode" so a stale value from a previous line is never read.
  const reset: string[] = [];
  const slotOf: [Kind, number][] = [
    [Kind.RequestTime, C_REQUEST_TIME],
    [Kind.UpstreamConnectTime, C_CONNECT],
    [Kind.UpstreamHeaderTime, C_HEADER],
    [Kind.UpstreamResponseTime, C_RESPONSE],
    [Kind.UpstreamStatus, C_STATUS],
    [Kind.UpstreamAddr, C_ADDR],
  ];
  for (const [kind, slot] of slotOf) if (!used.has(kind)) reset.push(`counts[${slot}] = ${NEEDS_DECODE};`);
  out.splice(3, 0, ...reset);
  try {
    return new Function('buf', 's', 'e', 'o', out.join('\n')) as FastScan;
  } catch {
    // Code generation disabled (--disallow-code-generation-from-strings): the generic scanner still works.
    return null;
  }
}

/**
 * Inline decode of a single `%T.%03M` value (or `-`) directly followed by terminator t. `ok` runs with the value in
 * `v` (ms, or MISSING) and q on the terminator; `other` runs for anything else (a list, empty, malformed; v < -1)
 * and must leave q on the terminator.
 */
function number(ok: string, other: string, t: number): string {
  return [
    `q = p; c = buf[q]; v = -9;`,
    `if (c === 45) { q++; v = ${MISSING}; }`,
    `else if ((c - 48) >>> 0 <= 9) {`,
    `  v = c - 48; q++;`,
    `  while (q < e && (d = buf[q] - 48) >>> 0 <= 9) { v = v * 10 + d; q++; }`,
    `  if (q - p > 15) v = -9;`,
    `  v *= 1000;`,
    `  if (q < e && buf[q] === 46) { q++; sc = 100; d = q;`,
    `    while (q < e && (c = buf[q] - 48) >>> 0 <= 9) { v += c * sc; sc = (sc / 10) | 0; q++; }`,
    `    if (q === d) v = -9; }`,
    `}`,
    `if (v >= ${MISSING} && q < e && buf[q] === ${t}) { ${ok} } else { ${other} }`,
  ].join('\n');
}
