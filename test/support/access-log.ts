/** Generated nginx access logs for benchmarks and tests (seeded: the same file every time). */
import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { BUILTIN_FORMATS } from '../../src/analyze/access/format.js';
import { seededRandom } from './random.js';

/** The `upstream` format plus the connection number (keep-alive: a few requests per connection). */
export const UPSTREAM_WITH_CONNECTION = `${BUILTIN_FORMATS.upstream} cn=$connection`;

const mulberry32 = seededRandom;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;

/** `$time_local` in a fixed +0200 zone. */
function timeLocal(epochMs: number): string {
  const d = new Date(epochMs + 2 * 3600_000);
  return `${pad2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0200`;
}

const secs = (ms: number): string => (ms / 1000).toFixed(3);

/**
 * Writes `lines` lines in nginx's `upstream` format (with `options.connection`, plus ` cn=$connection`: see
 * UPSTREAM_WITH_CONNECTION): 2 hours of a shop, end-time order with a little disorder, ~1% 502, 504s, retries,
 * internal redirects, static files without an upstream.
 */
export function generateUpstreamLog(path: string, lines: number, seed = 42, options: { connection?: boolean } = {}): void {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const ips = Array.from({ length: 5000 }, () => [10 + Math.floor(rnd() * 200), Math.floor(rnd() * 256), Math.floor(rnd() * 256), 1 + Math.floor(rnd() * 254)].join('.'));
  const browsers = ['Chrome', 'Firefox', 'Safari', 'Edg', 'OPR'];
  const oses = ['Windows NT 10.0; Win64; x64', 'Macintosh; Intel Mac OS X 10_15_7', 'X11; Linux x86_64', 'iPhone; CPU iPhone OS 17_4 like Mac OS X', 'Linux; Android 14; Pixel 8'];
  const uas = Array.from({ length: 80 }, () => {
    const v = `${100 + Math.floor(rnd() * 30)}.0.${Math.floor(rnd() * 6000)}.${Math.floor(rnd() * 200)}`;
    return `Mozilla/5.0 (${pick(oses)}) AppleWebKit/537.36 (KHTML, like Gecko) ${pick(browsers)}/${v} Safari/537.36`;
  });
  uas.push('curl/8.5.0', 'Googlebot/2.1 (+http://www.google.com/bot.html)', 'kube-probe/1.29');
  const referers = ['-', '-', '-', 'https://shop.example.com/', 'https://www.google.com/', 'https://shop.example.com/cart?step=2'];
  const servers = ['10.0.0.11:9000', '10.0.0.12:9000', '10.0.0.13:9000', '10.0.0.14:9000'];
  const staticPaths = ['/static/app.3f2a9c.js', '/static/app.3f2a9c.css', '/favicon.ico', '/img/logo.png', '/robots.txt'];
  const phpPaths = ['/index.php', '/checkout', '/api/v1/cart', '/api/v1/search', '/wp-admin/admin-ajax.php', '/login'];

  const start = Date.UTC(2024, 4, 14, 10, 0, 0);
  const span = 2 * 3600_000;
  const fd = openSync(`${path}.tmp`, 'w');
  let batch: string[] = [];
  for (let i = 0; i < lines; i++) {
    // Log order is end-time order with a little disorder between workers.
    const end = start + Math.floor((i / lines) * span) - (rnd() < 0.05 ? Math.floor(rnd() * 1500) : 0);
    const ip = pick(ips);
    const r = rnd();
    const isStatic = r < 0.15;
    const method = isStatic ? 'GET' : rnd() < 0.85 ? 'GET' : rnd() < 0.9 ? 'POST' : 'HEAD';
    let uri: string;
    if (isStatic) uri = pick(staticPaths);
    else {
      const base = pick(phpPaths);
      const q = rnd();
      uri =
        base === '/api/v1/search'
          ? `${base}?q=item${Math.floor(rnd() * 50000)}&page=${1 + Math.floor(rnd() * 9)}`
          : base === '/api/v1/cart' && q < 0.5
            ? `/api/v1/cart/${Math.floor(rnd() * 100000)}`
            : base;
    }
    let status: number;
    let body: number;
    let rt: number;
    let ua = 'uct="-" uht="-" urt="-" uaddr="-" ustatus="-"';
    if (isStatic) {
      status = rnd() < 0.8 ? 200 : rnd() < 0.7 ? 304 : 404;
      body = status === 200 ? 500 + Math.floor(rnd() * 200000) : 0;
      rt = Math.floor(rnd() * 20);
    } else {
      const s = rnd();
      const server = pick(servers);
      const connect = Math.floor(rnd() * 3);
      if (s < 0.011) {
        // Child killed before headers, or pool full on connect: 502 (sometimes retried successfully).
        if (rnd() < 0.3) {
          const other = pick(servers);
          const ok = 20 + Math.floor(rnd() * 300);
          status = 200;
          rt = ok + 2;
          ua = `uct="-, 0.00${connect}" uht="-, ${secs(ok - 5)}" urt="0.001, ${secs(ok)}" uaddr="${server}, ${other}" ustatus="502, 200"`;
        } else if (rnd() < 0.1) {
          status = 502;
          rt = 0;
          ua = 'uct="-" uht="-" urt="0.000" uaddr="php_backend" ustatus="502"';
        } else {
          status = 502;
          rt = rnd() < 0.5 ? Math.floor(rnd() * 5) : 30000 + Math.floor(rnd() * 400);
          ua = `uct="0.00${connect}" uht="-" urt="${secs(rt)}" uaddr="${server}" ustatus="502"`;
        }
        body = 157;
      } else if (s < 0.019) {
        status = 504;
        rt = 60000 + Math.floor(rnd() * 10);
        ua = `uct="0.00${connect}" uht="-" urt="${secs(rt)}" uaddr="${server}" ustatus="504"`;
        body = 167;
      } else if (s < 0.022) {
        status = 500;
        rt = 50 + Math.floor(rnd() * 3000);
        ua = `uct="0.00${connect}" uht="${secs(rt - 1)}" urt="${secs(rt)}" uaddr="${server}" ustatus="500"`;
        body = 0;
      } else if (s < 0.027) {
        status = 499;
        rt = 1000 + Math.floor(rnd() * 20000);
        ua = `uct="0.00${connect}" uht="-" urt="${secs(rt)}" uaddr="${server}" ustatus="-"`;
        body = 0;
      } else {
        const u = rnd();
        status = u < 0.9 ? 200 : u < 0.95 ? 302 : u < 0.98 ? 404 : 403;
        const slow = rnd() < 0.02;
        const up = slow ? 1000 + Math.floor(rnd() * 15000) : 5 + Math.floor(rnd() * rnd() * 800);
        rt = up + Math.floor(rnd() * 3);
        body = status === 200 ? 1000 + Math.floor(rnd() * 60000) : 150;
        if (rnd() < 0.003) {
          // X-Accel-Redirect style internal redirect into a second upstream group.
          ua = `uct="0.00${connect} : 0.000" uht="${secs(up - 2)} : 0.001" urt="${secs(up - 1)} : 0.001" uaddr="${server} : unix:/run/php/php8.2-fpm.sock" ustatus="200 : ${status}"`;
        } else {
          ua = `uct="0.00${connect}" uht="${secs(up - 1)}" urt="${secs(up)}" uaddr="${server}" ustatus="${status}"`;
        }
      }
    }
    const cn = options.connection ? ` cn=${1000 + Math.floor(i / 3) + Math.floor(rnd() * 50)}` : '';
    batch.push(`${ip} - - [${timeLocal(end)}] "${method} ${uri} HTTP/1.1" ${status} ${body} "${pick(referers)}" "${pick(uas)}" rt=${secs(rt)} ${ua}${cn}\n`);
    if (batch.length === 10000) {
      writeSync(fd, batch.join(''));
      batch = [];
    }
  }
  if (batch.length) writeSync(fd, batch.join(''));
  closeSync(fd);
  renameSync(`${path}.tmp`, path);
}
