/**
 * Slow path: decode one line into an object. For tests, debugging a log_format mismatch, and showing a sample line
 * in a report; the analyzer never builds these.
 */
import { compileLogFormat, Kind, planOf, type CompiledFormat } from './format.js';
import { decodeAddrList, decodeInt, decodeMillis, decodeStatus, decodeStatusList, decodeTimeList, MAX_ATTEMPTS, MISSING, OK, requestMethod, requestPath, TimeDecoder, uriPath } from './decode.js';
import { LineScanner } from './scanner.js';
import type { AccessEntry, UpstreamAttempt } from './types.js';

/** Decode one line (no newline); null when it does not match the format or a decoded field is malformed. */
export function parseAccessLine(format: string | CompiledFormat, line: string | Buffer): AccessEntry | null {
  const compiled = typeof format === 'string' ? compileLogFormat(format) : format;
  const plan = planOf(compiled);
  const buf = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
  let e = buf.length;
  if (e > 0 && buf[e - 1] === 13) e--;
  const scanner = new LineScanner(plan);
  if (scanner.scan(buf, 0, e) !== OK) return null;
  const range = (k: Kind): [number, number] | null => {
    const i = plan.index[k] as number;
    return i < 0 ? null : [scanner.starts[i] as number, scanner.ends[i] as number];
  };
  const fields: Record<string, string> = {};
  for (let i = 0; i < plan.count; i++) {
    const name = plan.names[i] as string;
    if (!(name in fields)) fields[name] = buf.toString('utf8', scanner.starts[i], scanner.ends[i]);
  }

  const times = new TimeDecoder();
  let time: number | null = null;
  const tv = compiled.timeVariable;
  if (tv !== null) {
    const [s, t] = range(tv === 'msec' ? Kind.Msec : tv === 'time_iso8601' ? Kind.TimeIso : Kind.TimeLocal) as [number, number];
    const v = tv === 'msec' ? decodeMillis(buf, s, t) : tv === 'time_iso8601' ? times.timeIso(buf, s, t) : times.timeLocal(buf, s, t);
    if (!(v >= 0)) return null;
    time = v;
  }
  let status: number | null = null;
  const rs = range(Kind.Status);
  if (rs) {
    status = decodeStatus(buf, rs[0], rs[1]);
    if (status < 0) return null;
  }
  let requestTime: number | null = null;
  const rr = range(Kind.RequestTime);
  if (rr) {
    const v = decodeMillis(buf, rr[0], rr[1]);
    if (v === -2) return null;
    requestTime = v >= 0 ? v / 1000 : null;
  }
  let connection: number | null = null;
  const rc = range(Kind.Connection);
  if (rc) {
    connection = decodeInt(buf, rc[0], rc[1]);
    if (connection < 0) return null;
  }
  let method: string | null = null;
  let uri: string | null = null;
  const rq = range(Kind.Request);
  const ru = range(Kind.RequestUri) ?? range(Kind.Uri);
  if (rq) {
    method = requestMethod(buf, rq[0], rq[1]);
    uri = requestPath(buf, rq[0], rq[1]);
  } else if (ru) {
    uri = uriPath(buf, ru[0], ru[1]);
  }

  const upstreams: UpstreamAttempt[] = [];
  if (compiled.hasUpstream) {
    const as = new Int32Array(MAX_ATTEMPTS);
    const ae = new Int32Array(MAX_ATTEMPTS);
    const st = new Int32Array(MAX_ATTEMPTS);
    const ct = new Float64Array(MAX_ATTEMPTS);
    const ht = new Float64Array(MAX_ATTEMPTS);
    const rt = new Float64Array(MAX_ATTEMPTS);
    const ra = range(Kind.UpstreamAddr);
    const list = (k: Kind, f: (s: number, e: number) => number): number => {
      const r = range(k);
      return r ? f(r[0], r[1]) : -2;
    };
    const nAddr = ra ? decodeAddrList(buf, ra[0], ra[1], as, ae, new Int32Array(MAX_ATTEMPTS)) : -2;
    const nSt = list(Kind.UpstreamStatus, (s, t) => decodeStatusList(buf, s, t, st));
    const nCt = list(Kind.UpstreamConnectTime, (s, t) => decodeTimeList(buf, s, t, ct));
    const nHt = list(Kind.UpstreamHeaderTime, (s, t) => decodeTimeList(buf, s, t, ht));
    const nRt = list(Kind.UpstreamResponseTime, (s, t) => decodeTimeList(buf, s, t, rt));
    if (nAddr === -1 || nSt === -1 || nCt === -1 || nHt === -1 || nRt === -1) return null;
    const eff = (n: number, first: number): number => (n === 1 && first === MISSING ? 0 : n);
    const attempts = nAddr >= 0 ? nAddr : Math.max(0, eff(nSt, st[0] as number), eff(nCt, ct[0] as number), eff(nHt, ht[0] as number), eff(nRt, rt[0] as number));
    const sec = (n: number, k: number, arr: Float64Array): number | null => (k < n && (arr[k] as number) >= 0 ? (arr[k] as number) / 1000 : null);
    for (let k = 0; k < attempts; k++) {
      upstreams.push({
        addr: k < nAddr ? buf.toString('utf8', as[k], ae[k]) : null,
        status: k < nSt && (st[k] as number) >= 0 ? (st[k] as number) : null,
        connectTime: sec(nCt, k, ct),
        headerTime: sec(nHt, k, ht),
        responseTime: sec(nRt, k, rt),
      });
    }
  }
  return { time, method, uri, status, requestTime, connection, upstreams, fields };
}
