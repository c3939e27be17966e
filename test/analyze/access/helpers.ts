/** Shared test helpers: seeded randomness and line builders for the `upstream` format. */

export { seededRandom as rng } from '../../support/random.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number): string => String(n).padStart(2, '0');

/** `$time_local` for epoch ms, in a fixed offset given in minutes east of UTC. */
export function timeLocal(ms: number, offsetMin = 0): string {
  const d = new Date(ms + offsetMin * 60_000);
  const sign = offsetMin < 0 ? '-' : '+';
  const a = Math.abs(offsetMin);
  return (
    `${p2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` + `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} ${sign}${p2(Math.floor(a / 60))}${p2(a % 60)}`
  );
}

export function timeIso(ms: number, offsetMin = 0): string {
  const d = new Date(ms + offsetMin * 60_000);
  const sign = offsetMin < 0 ? '-' : '+';
  const a = Math.abs(offsetMin);
  return (
    `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}T` + `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}${sign}${p2(Math.floor(a / 60))}:${p2(a % 60)}`
  );
}

export const secs = (ms: number): string => (ms / 1000).toFixed(3);

export interface UpstreamLine {
  time: number;
  status?: number;
  request?: string;
  rt?: number;
  uct?: string;
  uht?: string;
  urt?: string;
  uaddr?: string;
  ustatus?: string;
  ua?: string;
  referer?: string;
}

/** One line in the built-in `upstream` format; upstream fields default to `-` (a static file). */
export function upstreamLine(l: UpstreamLine): string {
  return (
    `10.1.2.3 - - [${timeLocal(l.time)}] "${l.request ?? 'GET /index.php HTTP/1.1'}" ${l.status ?? 200} 512 ` +
    `"${l.referer ?? '-'}" "${l.ua ?? 'Mozilla/5.0 (X11; Linux x86_64)'}" rt=${secs(l.rt ?? 5)} ` +
    `uct="${l.uct ?? '-'}" uht="${l.uht ?? '-'}" urt="${l.urt ?? '-'}" uaddr="${l.uaddr ?? '-'}" ustatus="${l.ustatus ?? '-'}"`
  );
}

/** A PHP request served by one peer in `ms` milliseconds. */
export function phpLine(time: number, status: number, ms: number, addr = '10.0.0.1:9000', uri = '/index.php'): string {
  return upstreamLine({
    time,
    status,
    request: `GET ${uri} HTTP/1.1`,
    rt: ms,
    uct: '0.001',
    uht: status >= 502 ? '-' : secs(ms),
    urt: secs(ms),
    uaddr: addr,
    ustatus: String(status),
  });
}

/** Exact nearest-rank percentile of a sample. */
export function exactPercentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[rank - 1] as number;
}
