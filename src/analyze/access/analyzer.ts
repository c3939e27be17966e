/**
 * Streaming access-log aggregation. One instance per analysis; feed it whole lines (push) or raw read chunks
 * (pushChunk), then read result(). Memory is bounded by the number of distinct minutes, upstream peers and failing
 * URIs (all capped), never by the number of lines.
 *
 * Why over 500 lines: the per-line hot path (decode, window check, every aggregate) lives in one class so
 * V8 keeps its fields monomorphic and each line costs no calls across modules (bench/access.bench.ts);
 * what can live apart already does (format.ts, scanner.ts, decode.ts, parts.ts, concurrency.ts).
 */
import { isUtf8 } from 'node:buffer';
import { inWindow, type Window } from '../window.js';
import { ConcurrencyEstimator } from './concurrency.js';
import { compileLogFormat, Kind, planOf, type CompiledFormat } from './format.js';
import { LatencyHistogram } from './histogram.js';
import {
  bytesEqual,
  decodeAddrList,
  decodeInt,
  decodeMillis,
  decodeStatus,
  decodeStatusList,
  decodeTimeList,
  ERR_NUMBER,
  ERR_STATUS,
  ERR_TIME,
  ERR_TOO_LONG,
  ERR_UPSTREAM,
  ERR_UTF8,
  INVALID,
  MISSING,
  OK,
  REASONS,
  isDash,
  pathEnd,
  requestUriStart,
  TimeDecoder,
} from './decode.js';
import { ConnectionTable } from './connections.js';
import { MAX_SAMPLES, MAX_UPSTREAMS, MAX_URIS, statsOf, type AccessPart, type AccessTotals, type StatsContext } from './parts.js';
import { C_ADDR, C_CONNECT, C_HEADER, C_REQUEST_TIME, C_RESPONSE, C_STATUS, LineScanner, NEEDS_DECODE } from './scanner.js';
import type { AccessStats, ConnectionEntry, TimelineBucket } from './types.js';

export interface AccessAnalyzerOptions {
  /** A log_format spec (see compileLogFormat) or an already compiled format. */
  format: string | CompiledFormat;
  window?: Window;
  /** Length of topFailingUris; default 10. */
  topN?: number;
  /** Cap of statusByConnection(); default 100 000. */
  maxConnections?: number;
  /** 'generic' disables the generated fast scanner: for tests, and to rule it out when a result looks wrong. */
  scanner?: 'fast' | 'generic';
}

export interface AccessAnalyzer {
  /** One line, without its newline. */
  push(line: Buffer | string): void;
  /** Raw bytes as read; lines may span chunks. The chunk may be reused by the caller after the call returns. */
  pushChunk(chunk: Buffer): void;
  /** Treats a pending partial line (no final newline) as complete. result() calls it. */
  end(): void;
  result(): AccessStats;
  /** The state so far as a mergeable part (parts.ts); ends a pending partial line like result(). */
  snapshot(): AccessPart;
  /** What result() needs besides the state: for merging parts into the same result. */
  statsContext(): StatsContext;
  /**
   * Last request seen per `$connection` number, for joining error-log `*CID`s. Empty unless the format has
   * `$connection`. A 5xx/499 entry is not replaced by a later success on the same keep-alive connection, because the
   * join exists to explain failures. Holds between maxConnections/2 and maxConnections of the most recently active
   * connections.
   */
  statusByConnection(): Map<number, ConnectionEntry>;
}

const SAMPLE_CHARS = 300;
const MAX_LINE = 16 << 20;
const OTHER_UPSTREAMS = '(other)';
const UNKNOWN = -3;
const UP_TABLE_SIZE = 4096;
const UP_TABLE_MASK = UP_TABLE_SIZE - 1;

interface UpstreamAcc {
  addr: string;
  bytes: Uint8Array;
  requests: number;
  errors: number;
  s502: number;
  s504: number;
  hist: LatencyHistogram | null;
}

interface UriAcc {
  uri: string;
  c5xx: number;
  c502: number;
  c504: number;
}

export function createAccessAnalyzer(opts: AccessAnalyzerOptions): AccessAnalyzer {
  return new Analyzer(opts);
}

/** Convenience: analyse an iterable of lines (strings or Buffers, without newlines). */
export function analyzeAccessLines(lines: Iterable<string | Buffer>, opts: AccessAnalyzerOptions): AccessStats {
  const a = new Analyzer(opts);
  for (const line of lines) a.push(line);
  return a.result();
}

class Analyzer implements AccessAnalyzer {
  private readonly compiled: CompiledFormat;
  private readonly scanner: LineScanner;
  private readonly window: Window;
  private readonly topN: number;
  private readonly times = new TimeDecoder();

  // Field indices, -1 when the format lacks the variable.
  private readonly iTime: number;
  private readonly timeKind: Kind;
  private readonly iStatus: number;
  private readonly iRequestTime: number;
  private readonly iRequest: number;
  private readonly iUri: number;
  private readonly uriIsRequestUri: boolean;
  private readonly iAddr: number;
  private readonly iUStatus: number;
  private readonly iUct: number;
  private readonly iUht: number;
  private readonly iUrt: number;
  private readonly iConn: number;
  private readonly hasUpstream: boolean;

  // Chunk carry-over.
  private carry = Buffer.allocUnsafe(64 * 1024);
  private carryLen = 0;
  private carryTooLong = false;

  // Counters.
  private lines = 0;
  private parsed = 0;
  private unparsed = 0;
  private readonly reasons = new Float64Array(REASONS.length);
  private readonly samples: string[] = [];
  private outsideWindow = 0;
  private firstTime = Infinity;
  private lastTime = -Infinity;
  /** Newest entry of any parsed line, in the window or not: a quiet window says when the log last moved. */
  private newestSeen = -Infinity;
  private requests = 0;
  private readonly statusCounts = new Float64Array(1000);
  private count5xx = 0;
  private count502 = 0;
  private count504 = 0;
  /** Time of the last 502/504 line, and the requests logged after it (file order: nginx logs as requests end). */
  private lastFailure = -Infinity;
  private servedSinceFailure = 0;
  private readonly errBuckets = new Float64Array(5);
  private upstreamRequests = 0;
  private retriedRequests = 0;
  private readonly hRequest = new LatencyHistogram();
  private readonly hConnect = new LatencyHistogram();
  private readonly hHeader = new LatencyHistogram();
  private readonly hResponse = new LatencyHistogram();
  private readonly conc = new ConcurrencyEstimator();
  private readonly halfSecond: number;

  private readonly upTable = new Int32Array(UP_TABLE_SIZE);
  private readonly upSlots: UpstreamAcc[] = [];
  private readonly upSlotHashes: number[] = [];
  private readonly upByName = new Map<string, UpstreamAcc>();
  private readonly uris = new Map<string, UriAcc>();
  private upstreamsFolded = false;
  private urisPruned = false;
  private readonly minutes = new Map<number, TimelineBucket>();
  private lastMinute = NaN;
  private lastBucket: TimelineBucket | null = null;
  private readonly connections: ConnectionTable | null;
  // Range of the current line's URI path, set by uriRange().
  private us = -1;
  private ue = -1;

  constructor(opts: AccessAnalyzerOptions) {
    this.compiled = typeof opts.format === 'string' ? compileLogFormat(opts.format) : opts.format;
    const plan = planOf(this.compiled);
    this.scanner = new LineScanner(plan, opts.scanner !== 'generic');
    this.window = opts.window ?? {};
    this.topN = opts.topN ?? 10;
    const idx = (k: Kind): number => plan.index[k] as number;
    this.timeKind = idx(Kind.Msec) >= 0 ? Kind.Msec : idx(Kind.TimeIso) >= 0 ? Kind.TimeIso : Kind.TimeLocal;
    this.iTime = idx(this.timeKind);
    // Second-resolution stamps: the request really ended somewhere within that second.
    this.halfSecond = this.timeKind === Kind.Msec ? 0 : 500;
    this.iStatus = idx(Kind.Status);
    this.iRequestTime = idx(Kind.RequestTime);
    this.iRequest = idx(Kind.Request);
    this.iUri = idx(Kind.RequestUri) >= 0 ? idx(Kind.RequestUri) : idx(Kind.Uri);
    this.uriIsRequestUri = idx(Kind.RequestUri) >= 0;
    this.iAddr = idx(Kind.UpstreamAddr);
    this.iUStatus = idx(Kind.UpstreamStatus);
    this.iUct = idx(Kind.UpstreamConnectTime);
    this.iUht = idx(Kind.UpstreamHeaderTime);
    this.iUrt = idx(Kind.UpstreamResponseTime);
    this.iConn = idx(Kind.Connection);
    this.hasUpstream = this.compiled.hasUpstream;
    this.connections = this.iConn >= 0 ? new ConnectionTable(opts.maxConnections ?? 100_000) : null;
  }

  push(line: Buffer | string): void {
    this.scanner.resetMemo();
    if (typeof line === 'string') {
      const buf = Buffer.from(line, 'utf8');
      this.line(buf, 0, buf.length, false);
    } else {
      this.line(line, 0, line.length, true);
    }
  }

  pushChunk(chunk: Buffer): void {
    this.scanner.resetMemo();
    const n = chunk.length;
    let s = 0;
    if (this.carryLen > 0 || this.carryTooLong) {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        this.appendCarry(chunk, 0, n);
        return;
      }
      this.appendCarry(chunk, 0, nl);
      this.flushCarry();
      s = nl + 1;
    }
    const last = chunk.lastIndexOf(10);
    if (last >= s) {
      // One SIMD UTF-8 check per chunk; per-line checks only for chunks that fail it.
      const valid = isUtf8(chunk.subarray(s, last + 1));
      let p = s;
      while (p <= last) {
        const nl = chunk.indexOf(10, p);
        this.line(chunk, p, nl, !valid);
        p = nl + 1;
      }
      s = last + 1;
    }
    if (s < n) this.appendCarry(chunk, s, n);
  }

  end(): void {
    if (this.carryLen > 0 || this.carryTooLong) this.flushCarry();
  }

  private appendCarry(src: Buffer, s: number, e: number): void {
    if (this.carryTooLong) return;
    const need = this.carryLen + (e - s);
    if (need > MAX_LINE) {
      this.carryTooLong = true;
      return;
    }
    if (need > this.carry.length) {
      const bigger = Buffer.allocUnsafe(Math.min(MAX_LINE, Math.max(need, this.carry.length * 2)));
      this.carry.copy(bigger, 0, 0, this.carryLen);
      this.carry = bigger;
    }
    src.copy(this.carry, this.carryLen, s, e);
    this.carryLen = need;
  }

  private flushCarry(): void {
    const len = this.carryLen;
    const tooLong = this.carryTooLong;
    this.carryLen = 0;
    this.carryTooLong = false;
    if (tooLong) {
      this.lines++;
      this.reject(ERR_TOO_LONG, this.carry, 0, Math.min(len, 1200));
      return;
    }
    this.scanner.resetMemo();
    this.line(this.carry, 0, len, true);
    this.scanner.resetMemo();
    if (this.carry.length > 1 << 20) this.carry = Buffer.allocUnsafe(64 * 1024);
  }

  private reject(reason: number, buf: Buffer, s: number, e: number): void {
    this.unparsed++;
    inc(this.reasons, reason, 1);
    if (this.samples.length < MAX_SAMPLES) {
      this.samples.push(buf.toString('utf8', s, Math.min(e, s + SAMPLE_CHARS * 4)).slice(0, SAMPLE_CHARS));
    }
  }

  /** The hot path: one line buf[s, e). */
  private line(buf: Buffer, s: number, e: number, checkUtf8: boolean): void {
    if (e > s && buf[e - 1] === 13) e--;
    if (e === s) return;
    this.lines++;
    if (checkUtf8 && !isUtf8(buf.subarray(s, e))) return this.reject(ERR_UTF8, buf, s, e);
    const scanner = this.scanner;
    const r = scanner.scan(buf, s, e);
    if (r !== OK) return this.reject(r, buf, s, e);
    const starts = scanner.starts;
    const ends = scanner.ends;

    let time = NaN;
    const iTime = this.iTime;
    if (iTime >= 0) {
      const ts = starts[iTime] as number;
      const te = ends[iTime] as number;
      if (this.timeKind === Kind.TimeLocal) time = this.times.timeLocal(buf, ts, te);
      else if (this.timeKind === Kind.TimeIso) time = this.times.timeIso(buf, ts, te);
      else {
        time = decodeMillis(buf, ts, te);
        if (time < 0) time = NaN;
      }
      if (time !== time) return this.reject(ERR_TIME, buf, s, e);
      if (time > this.newestSeen) this.newestSeen = time;
      if (!inWindow(this.window, time)) {
        // Outside the window only shape and time are checked; the rest is not worth decoding.
        this.parsed++;
        this.outsideWindow++;
        return;
      }
    }

    let status = 0;
    const iStatus = this.iStatus;
    if (iStatus >= 0) {
      status = decodeStatus(buf, starts[iStatus] as number, ends[iStatus] as number);
      if (status < 0) return this.reject(ERR_STATUS, buf, s, e);
    }
    const counts = scanner.counts;
    let rt = MISSING;
    if (this.iRequestTime >= 0) {
      rt = counts[C_REQUEST_TIME] as number;
      if (rt === NEEDS_DECODE) rt = decodeMillis(buf, starts[this.iRequestTime] as number, ends[this.iRequestTime] as number);
      if (rt === INVALID) return this.reject(ERR_NUMBER, buf, s, e);
    }
    let conn = -1;
    if (this.iConn >= 0) {
      conn = decodeInt(buf, starts[this.iConn] as number, ends[this.iConn] as number);
      if (conn < 0) return this.reject(ERR_NUMBER, buf, s, e);
    }

    // Single values were decoded by the fast scanner; lists (retries, redirects) are decoded here.
    let attempts = 0;
    let nStatus = -2;
    let nUct = -2;
    let nUht = -2;
    let nUrt = -2;
    let nAddr = -2;
    if (this.hasUpstream) {
      if (this.iAddr >= 0) {
        nAddr = counts[C_ADDR] as number;
        if (nAddr === NEEDS_DECODE) {
          const i = this.iAddr;
          nAddr = decodeAddrList(buf, starts[i] as number, ends[i] as number, scanner.addrStarts, scanner.addrEnds, scanner.addrHashes);
        }
        if (nAddr < 0) return this.reject(ERR_UPSTREAM, buf, s, e);
      }
      if (this.iUStatus >= 0) {
        nStatus = counts[C_STATUS] as number;
        if (nStatus === NEEDS_DECODE) {
          nStatus = decodeStatusList(buf, starts[this.iUStatus] as number, ends[this.iUStatus] as number, scanner.ustatus);
        }
        if (nStatus < 0) return this.reject(ERR_UPSTREAM, buf, s, e);
      }
      if (this.iUct >= 0) {
        nUct = counts[C_CONNECT] as number;
        if (nUct === NEEDS_DECODE) nUct = decodeTimeList(buf, starts[this.iUct] as number, ends[this.iUct] as number, scanner.uct);
        if (nUct < 0) return this.reject(ERR_UPSTREAM, buf, s, e);
      }
      if (this.iUht >= 0) {
        nUht = counts[C_HEADER] as number;
        if (nUht === NEEDS_DECODE) nUht = decodeTimeList(buf, starts[this.iUht] as number, ends[this.iUht] as number, scanner.uht);
        if (nUht < 0) return this.reject(ERR_UPSTREAM, buf, s, e);
      }
      if (this.iUrt >= 0) {
        nUrt = counts[C_RESPONSE] as number;
        if (nUrt === NEEDS_DECODE) nUrt = decodeTimeList(buf, starts[this.iUrt] as number, ends[this.iUrt] as number, scanner.urt);
        if (nUrt < 0) return this.reject(ERR_UPSTREAM, buf, s, e);
      }
      if (nAddr >= 0) attempts = nAddr;
      else {
        // No $upstream_addr: a lone `-` in the other lists means "no upstream", not "one attempt without a value".
        attempts = Math.max(
          0,
          effectiveCount(nStatus, scanner.ustatus[0] as number),
          effectiveCount(nUct, scanner.uct[0] as number),
          effectiveCount(nUht, scanner.uht[0] as number),
          effectiveCount(nUrt, scanner.urt[0] as number),
        );
      }
    }

    this.parsed++;
    this.requests++;
    const statusClass5 = status >= 500 && status < 600;
    inc(this.statusCounts, status, 1);
    if (statusClass5) {
      this.count5xx++;
      if (status === 502) this.count502++;
      else if (status === 504) this.count504++;
    }
    if (rt >= 0) this.hRequest.record(rt);

    let urtSum = 0;
    if (attempts > 0) {
      this.upstreamRequests++;
      if (attempts > 1) this.retriedRequests++;
      for (let k = 0; k < attempts; k++) {
        const c = k < nUct ? (scanner.uct[k] as number) : MISSING;
        const h = k < nUht ? (scanner.uht[k] as number) : MISSING;
        const u = k < nUrt ? (scanner.urt[k] as number) : MISSING;
        if (c >= 0) this.hConnect.record(c);
        if (h >= 0) this.hHeader.record(h);
        if (u >= 0) {
          this.hResponse.record(u);
          urtSum += u;
        }
        if (k < nAddr) {
          const acc = this.intern(buf, scanner.addrStarts[k] as number, scanner.addrEnds[k] as number, scanner.addrHashes[k] as number);
          acc.requests++;
          const st = nStatus === -2 ? UNKNOWN : k < nStatus ? (scanner.ustatus[k] as number) : MISSING;
          if (st === MISSING || st >= 500) {
            acc.errors++;
            if (st === 502) acc.s502++;
            else if (st === 504) acc.s504++;
          }
          if (u >= 0) (acc.hist ??= new LatencyHistogram()).record(u);
        }
      }
    }

    if (statusClass5) {
      const d = rt >= 0 ? rt : attempts > 0 && nUrt > 0 ? urtSum : -1;
      if (d >= 0) inc(this.errBuckets, d < 1000 ? 0 : d < 5000 ? 1 : d < 10000 ? 2 : d < 30000 ? 3 : 4, 1);
      if (this.uriRange(buf)) this.countUri(buf.toString('utf8', this.us, this.ue), status);
    }

    if (time === time) {
      if (time < this.firstTime) this.firstTime = time;
      if (time > this.lastTime) this.lastTime = time;
      const minute = Math.floor(time / 60000);
      let b = this.lastBucket;
      if (minute !== this.lastMinute || b === null) {
        b = this.minutes.get(minute) ?? null;
        if (b === null) {
          b = { minute: minute * 60000, requests: 0, count5xx: 0, count502: 0, count504: 0 };
          this.minutes.set(minute, b);
        }
        this.lastMinute = minute;
        this.lastBucket = b;
      }
      b.requests++;
      if (status === 502 || status === 504) {
        this.lastFailure = time;
        this.servedSinceFailure = 0;
      } else this.servedSinceFailure++;
      if (statusClass5) {
        b.count5xx++;
        if (status === 502) b.count502++;
        else if (status === 504) b.count504++;
      }
      if (attempts > 0 || !this.hasUpstream) {
        const d = rt >= 0 ? rt : urtSum;
        const end = time + this.halfSecond;
        this.conc.add(end - d, end);
      }
    }

    if (conn >= 0 && this.connections !== null) {
      if (!this.uriRange(buf)) this.us = -1;
      this.connections.record(conn, status, time, buf, this.us, this.ue);
    }
  }

  /** Sets us/ue to the current line's URI path (no query); false when the line has none. */
  private uriRange(buf: Buffer): boolean {
    const starts = this.scanner.starts;
    const ends = this.scanner.ends;
    let s: number;
    let e: number;
    if (this.iRequest >= 0) {
      e = ends[this.iRequest] as number;
      s = requestUriStart(buf, starts[this.iRequest] as number, e);
      if (s < 0) return false;
      e = pathEnd(buf, s, e);
    } else if (this.iUri >= 0) {
      s = starts[this.iUri] as number;
      e = ends[this.iUri] as number;
      if (this.uriIsRequestUri) e = pathEnd(buf, s, e);
    } else {
      return false;
    }
    if (isDash(buf, s, e)) return false;
    this.us = s;
    this.ue = e;
    return true;
  }

  /** Open-addressing lookup by byte hash; the string is decoded only the first time a peer's bytes are seen. */
  private intern(buf: Buffer, s: number, e: number, h: number): UpstreamAcc {
    const table = this.upTable;
    for (let i = h & UP_TABLE_MASK; ; i = (i + 1) & UP_TABLE_MASK) {
      const slot = table[i] as number;
      if (slot === 0) break;
      const acc = this.upSlots[slot - 1] as UpstreamAcc;
      if (this.upSlotHashes[slot - 1] === h && bytesEqual(acc.bytes, buf, s, e)) return acc;
    }
    return this.internSlow(buf, s, e, h);
  }

  private internSlow(buf: Buffer, s: number, e: number, h: number): UpstreamAcc {
    const addr = buf.toString('utf8', s, e);
    let acc = this.upByName.get(addr);
    if (acc === undefined) {
      const name = this.upByName.size >= MAX_UPSTREAMS ? OTHER_UPSTREAMS : addr;
      if (name !== addr) this.upstreamsFolded = true;
      acc = this.upByName.get(name);
      if (acc === undefined) {
        acc = { addr: name, bytes: Uint8Array.from(buf.subarray(s, e)), requests: 0, errors: 0, s502: 0, s504: 0, hist: null };
        this.upByName.set(name, acc);
      }
      // Peers folded into "(other)" stay on this slow path; they are beyond MAX_UPSTREAMS distinct addresses anyway.
      if (name !== addr) return acc;
    }
    if (this.upSlots.length < UP_TABLE_SIZE / 2) {
      this.upSlots.push(acc);
      this.upSlotHashes.push(h);
      let i = h & UP_TABLE_MASK;
      while (this.upTable[i] !== 0) i = (i + 1) & UP_TABLE_MASK;
      this.upTable[i] = this.upSlots.length;
    }
    return acc;
  }

  private countUri(uri: string, status: number): void {
    let u = this.uris.get(uri);
    if (u === undefined) {
      if (this.uris.size >= MAX_URIS) this.pruneUris();
      u = { uri, c5xx: 0, c502: 0, c504: 0 };
      this.uris.set(uri, u);
    }
    u.c5xx++;
    if (status === 502) u.c502++;
    else if (status === 504) u.c504++;
  }

  /** Lossy-counting style: drop the rarest failing URIs so a URI-spraying scan cannot grow memory. */
  private pruneUris(): void {
    this.urisPruned = true;
    for (let threshold = 1; this.uris.size > MAX_URIS / 2; threshold++) {
      for (const [k, v] of this.uris) if (v.c5xx <= threshold) this.uris.delete(k);
    }
  }

  statusByConnection(): Map<number, ConnectionEntry> {
    return this.connections?.toMap() ?? new Map();
  }

  statsContext(): StatsContext {
    return {
      format: this.compiled.format,
      escape: this.compiled.escape,
      window: { from: this.window.from ?? null, to: this.window.to ?? null },
      topN: this.topN,
      hasTime: this.iTime >= 0,
    };
  }

  snapshot(): AccessPart {
    this.end();
    return { ...this.totals(), concurrency: this.conc.snapshot(), connections: this.connections?.snapshot() ?? null };
  }

  result(): AccessStats {
    this.end();
    return statsOf(this.statsContext(), this.totals(), this.conc.peakMs());
  }

  private totals(): AccessTotals {
    return {
      lines: this.lines,
      parsed: this.parsed,
      unparsed: this.unparsed,
      reasons: this.reasons,
      samples: this.samples,
      outsideWindow: this.outsideWindow,
      firstTime: this.firstTime,
      lastTime: this.lastTime,
      newestSeen: this.newestSeen,
      requests: this.requests,
      statusCounts: this.statusCounts,
      count5xx: this.count5xx,
      count502: this.count502,
      count504: this.count504,
      lastFailure: this.lastFailure,
      servedSinceFailure: this.servedSinceFailure,
      errBuckets: this.errBuckets,
      upstreamRequests: this.upstreamRequests,
      retriedRequests: this.retriedRequests,
      hRequest: this.hRequest.state(),
      hConnect: this.hConnect.state(),
      hHeader: this.hHeader.state(),
      hResponse: this.hResponse.state(),
      upstreams: [...this.upByName.values()].map((a) => ({ addr: a.addr, requests: a.requests, errors: a.errors, s502: a.s502, s504: a.s504, hist: a.hist?.state() ?? null })),
      upstreamsFolded: this.upstreamsFolded,
      uris: [...this.uris.values()],
      urisPruned: this.urisPruned,
      minutes: [...this.minutes.values()],
    };
  }
}

function inc(arr: Float64Array, i: number, by: number): void {
  arr[i] = (arr[i] as number) + by;
}

function effectiveCount(n: number, first: number): number {
  return n === 1 && first === MISSING ? 0 : n;
}
