/**
 * The addresses nginx and PHP-FPM write in their config, and whether nginx's target reaches an FPM
 * pool's listen socket. One reading for discovery (which pool serves PHP) and the config findings.
 */
import { posix } from 'node:path';

export type Endpoint = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** Hosts an FPM pool listens on that accept any address. */
export const ANY_HOSTS: ReadonlySet<string> = new Set(['', '*', '0.0.0.0', '::']);

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '::1';
}

function socketPath(path: string): string {
  const normal = posix.normalize(path);
  return normal.length > 1 ? normal.replace(/\/$/, '') : normal;
}

/** `host:port` or `[v6]:port`, else undefined. */
function hostPort(address: string): { kind: 'tcp'; host: string; port: number } | undefined {
  const v6 = /^\[([^\]]*)\]:(\d+)$/.exec(address);
  if (v6) return { kind: 'tcp', host: v6[1]!, port: Number(v6[2]) };
  const m = /^([^:]*):(\d+)$/.exec(address);
  if (m) return { kind: 'tcp', host: m[1]!, port: Number(m[2]) };
  return undefined;
}

/** nginx's fastcgi_pass/upstream server: `unix:/run/php.sock`, `127.0.0.1:9000`, `[::1]:9000`; undefined with variables. */
export function nginxTarget(address: string): Endpoint | undefined {
  const a = address.trim();
  if (a.startsWith('unix:')) return { kind: 'unix', path: socketPath(a.slice(5)) };
  if (a.includes('$')) return undefined;
  return hostPort(a);
}

/** An FPM pool's `listen`: `/run/php.sock`, `9000` (every address), `127.0.0.1:9000`, `[::]:9000`. */
export function fpmListen(listen: string): Endpoint | undefined {
  const l = listen.trim();
  if (l.startsWith('unix:')) return { kind: 'unix', path: socketPath(l.slice(5)) };
  if (l.startsWith('/')) return { kind: 'unix', path: socketPath(l) };
  if (/^\d+$/.test(l)) return { kind: 'tcp', host: '', port: Number(l) };
  return hostPort(l);
}

/** Whether nginx's target reaches the pool: the same socket, or the same port on a matching (any, loopback) host. */
export function reaches(nginx: Endpoint, fpm: Endpoint): boolean {
  if (nginx.kind === 'unix' || fpm.kind === 'unix') return nginx.kind === 'unix' && fpm.kind === 'unix' && nginx.path === fpm.path;
  if (nginx.port !== fpm.port) return false;
  return nginx.host === fpm.host || ANY_HOSTS.has(fpm.host) || (isLoopback(nginx.host) && isLoopback(fpm.host));
}

/** `reaches` on the addresses as written; false when either cannot be read. */
export function targetReachesListen(nginxAddress: string, fpmAddress: string): boolean {
  const n = nginxTarget(nginxAddress);
  const f = fpmListen(fpmAddress);
  return n !== undefined && f !== undefined && reaches(n, f);
}

/** An nginx `listen`: `80`, `127.0.0.1:8080`, `127.0.0.1` (port 80), `*:80`, `[::]:80`; not unix sockets. */
export function nginxListen(listen: string): { host: string; port: number } | undefined {
  const l = listen.trim();
  if (l.startsWith('unix:')) return undefined;
  if (/^\d+$/.test(l)) return { host: '*', port: Number(l) };
  const v6 = /^\[([^\]]*)\](?::(\d+))?$/.exec(l);
  if (v6) return { host: v6[1]!, port: v6[2] !== undefined ? Number(v6[2]) : 80 };
  const m = /^([^:]+)(?::(\d+))?$/.exec(l);
  if (m) return { host: m[1]!, port: m[2] !== undefined ? Number(m[2]) : 80 };
  return undefined;
}
