/**
 * `$connection` -> last request, for joining error-log `*CID`s. When a format logs `$connection` this runs for every
 * line, so it avoids a JS Map and an object + string per line: two open-addressing tables over typed arrays (a new and
 * an old generation, swapped when the new one is half the cap, which bounds memory without LRU bookkeeping), and URI
 * bytes copied into a ring arena, decoded to strings only when the map is requested.
 */
import type { ConnectionEntry } from './types.js';

const MAX_URI = 512;

class Generation {
  readonly keys: Float64Array; // connection + 1; 0 = empty
  readonly status: Int16Array;
  readonly time: Float64Array;
  readonly uriPos: Float64Array; // absolute arena position; -1 = no uri
  readonly uriLen: Int16Array;
  size = 0;

  constructor(slots: number) {
    this.keys = new Float64Array(slots);
    this.status = new Int16Array(slots);
    this.time = new Float64Array(slots);
    this.uriPos = new Float64Array(slots);
    this.uriLen = new Int16Array(slots);
  }

  clear(): void {
    this.keys.fill(0);
    this.size = 0;
  }
}

export class ConnectionTable {
  private readonly half: number;
  private readonly mask: number;
  private readonly bits: number;
  private young: Generation;
  private old: Generation;
  private readonly arena: Uint8Array;
  private readonly arenaMask: number;
  /** Total bytes ever written to the arena; positions below written - arena.length are overwritten. */
  private written = 0;
  /** Whether a generation was ever dropped (connections forgotten): then only a single pass knows the table. */
  private swapped = false;

  constructor(maxEntries: number) {
    this.half = Math.max(1, Math.floor(maxEntries / 2));
    let bits = 4;
    while (1 << bits < this.half * 2) bits++;
    this.mask = (1 << bits) - 1;
    this.bits = bits;
    this.young = new Generation(1 << bits);
    this.old = new Generation(1 << bits);
    let arenaBits = 16;
    while (1 << arenaBits < maxEntries * 64 && arenaBits < 24) arenaBits++;
    this.arena = new Uint8Array(1 << arenaBits);
    this.arenaMask = (1 << arenaBits) - 1;
  }

  private slot(g: Generation, key: number): number {
    // Connection numbers are a global counter, so the live ones are mostly a dense range: keeping their low bits as
    // the slot keeps neighbours in neighbouring slots (cache-friendly); folding in higher bits breaks up strides.
    const lo = key >>> 0;
    let i = (lo ^ (lo >>> this.bits) ^ ((key / 4294967296) | 0)) & this.mask;
    for (;;) {
      const k = g.keys[i] as number;
      if (k === 0 || k === key) return i;
      i = (i + 1) & this.mask;
    }
  }

  /** Records a request; the URI is buf[us, ue) (us < 0: none). Failures are not overwritten by later successes. */
  record(conn: number, status: number, time: number, buf: Buffer, us: number, ue: number): void {
    const key = conn + 1;
    const y = this.young;
    let i = this.slot(y, key);
    if (y.keys[i] === key) {
      if (isFailure(y.status[i] as number) && !isFailure(status)) return;
    } else {
      const o = this.old;
      const j = this.slot(o, key);
      const keepOld = o.keys[j] === key && isFailure(o.status[j] as number) && !isFailure(status);
      const os = o.status[j] as number;
      const ot = o.time[j] as number;
      const op = o.uriPos[j] as number;
      const ol = o.uriLen[j] as number;
      if (y.size >= this.half) {
        // Swap before inserting a new key, so a table never gets more than half full.
        this.old = y;
        this.young = o;
        o.clear();
        this.swapped = true;
        i = this.slot(o, key);
      }
      if (keepOld) {
        // Keep the failure alive in the young generation.
        this.insert(i, key, os, ot, op, ol);
        return;
      }
    }
    let pos = -1;
    let len = 0;
    if (us >= 0) {
      len = Math.min(ue - us, MAX_URI);
      pos = this.written;
      const arena = this.arena;
      const m = this.arenaMask;
      for (let k = 0; k < len; k++) arena[(pos + k) & m] = buf[us + k] as number;
      this.written += len;
    }
    this.insert(i, key, status, time, pos, len);
  }

  private insert(i: number, key: number, status: number, time: number, pos: number, len: number): void {
    const y = this.young;
    if (y.keys[i] !== key) {
      y.keys[i] = key;
      y.size++;
    }
    y.status[i] = status;
    y.time[i] = time;
    y.uriPos[i] = pos;
    y.uriLen[i] = len;
  }

  toMap(): Map<number, ConnectionEntry> {
    const out = new Map<number, ConnectionEntry>();
    for (const g of [this.old, this.young]) {
      for (let i = 0; i < g.keys.length; i++) {
        const key = g.keys[i] as number;
        if (key === 0) continue;
        out.set(key - 1, {
          status: g.status[i] as number,
          uri: this.uri(g.uriPos[i] as number, g.uriLen[i] as number),
          time: Number.isNaN(g.time[i]) ? null : (g.time[i] as number),
        });
      }
    }
    return out;
  }

  /** The table of one part of a log, for mergeConnections; no entries once connections were forgotten. */
  snapshot(): ConnectionsPart {
    const entries: ConnectionsPart['entries'] = [];
    if (!this.swapped) {
      const g = this.young;
      for (let i = 0; i < g.keys.length; i++) {
        const key = g.keys[i] as number;
        if (key === 0) continue;
        const pos = g.uriPos[i] as number;
        entries.push({ conn: key - 1, status: g.status[i] as number, time: g.time[i] as number, pos, uri: this.uri(pos, g.uriLen[i] as number) });
      }
    }
    return { swapped: this.swapped, half: this.half, arenaLength: this.arena.length, written: this.written, entries };
  }

  private uri(pos: number, len: number): string | null {
    // Overwritten by newer URIs once the ring wrapped past it.
    if (pos < 0 || pos < this.written - this.arena.length) return null;
    const bytes = new Uint8Array(len);
    for (let k = 0; k < len; k++) bytes[k] = this.arena[(pos + k) & this.arenaMask] as number;
    return Buffer.from(bytes.buffer, 0, len).toString('utf8');
  }
}

export function isFailure(status: number): boolean {
  return status >= 500 || status === 499;
}

export interface ConnectionsPart {
  swapped: boolean;
  half: number;
  arenaLength: number;
  written: number;
  /** pos: where the URI was written in this part's arena (-1: none); uri: null once overwritten. */
  entries: Array<{ conn: number; status: number; time: number; pos: number; uri: string | null }>;
}

/**
 * The table of consecutive parts of one log, exactly as one table over the whole log: the last failure of a
 * connection, else its last request, with a URI only if the whole log's arena would still hold it. Null when a single
 * pass would have forgotten connections (more than half the cap in all): only that pass can say which.
 */
export function mergeConnections(parts: readonly ConnectionsPart[]): Map<number, ConnectionEntry> | null {
  if (parts.some((p) => p.swapped)) return null;
  const total = parts.reduce((sum, p) => sum + p.written, 0);
  const merged = new Map<number, { status: number; time: number; uri: string | null }>();
  let offset = 0;
  for (const part of parts) {
    for (const e of part.entries) {
      const before = merged.get(e.conn);
      if (before && isFailure(before.status) && !isFailure(e.status)) continue;
      const kept = e.pos >= 0 && offset + e.pos >= total - part.arenaLength;
      merged.set(e.conn, { status: e.status, time: e.time, uri: kept ? e.uri : null });
    }
    offset += part.written;
    if (merged.size > (parts[0]?.half ?? 0)) return null;
  }
  const out = new Map<number, ConnectionEntry>();
  for (const [conn, e] of merged) out.set(conn, { status: e.status, uri: e.uri, time: Number.isNaN(e.time) ? null : e.time });
  return out;
}
