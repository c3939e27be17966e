/**
 * The bot's own HTTP endpoints: `GET /healthz`, `GET /readyz`, `GET /metrics`, plus whatever other
 * modules add (the Alertmanager webhook). One route table serves both ways the bot listens: as Bolt
 * custom routes on the HTTP receiver in HTTP mode (same PORT as /slack/events), and from a small
 * node:http server on METRICS_PORT in Socket Mode and console mode.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError, errorMessage } from '../errors.js';
import type { Logger } from '../log/index.js';
import type { Health } from './health.js';
import type { Metrics } from './metrics.js';

export const DEFAULT_METRICS_PORT = 9464;

export interface Route {
  path: string;
  method: 'GET' | 'POST';
  handler(req: IncomingMessage, res: ServerResponse): void | Promise<void>;
}

/** Bolt's custom route shape (a subset of @slack/bolt's CustomRoute). */
export interface BoltRoute {
  path: string;
  method: string | string[];
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** Reads a request body up to `limit` bytes; past it the promise rejects with a 413-worthy error. */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(Object.assign(new Error(`request body larger than ${limit} bytes`), { status: 413 }));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', (err) => {
      if (!failed) reject(err);
    });
  });
}

export interface ObservabilityOptions {
  metrics: Metrics;
  health: Health;
  /** Extra text for /healthz (e.g. "2 running"). */
  status?: () => string;
}

/** `/healthz`, `/readyz` and `/metrics`. */
export function observabilityRoutes(options: ObservabilityOptions): Route[] {
  const { metrics, health } = options;
  return [
    {
      path: '/healthz',
      method: 'GET',
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
        res.end(`ok${options.status ? ` ${options.status()}` : ''}\n`);
      },
    },
    {
      path: '/readyz',
      method: 'GET',
      handler: async (_req, res) => {
        const readiness = await health.readiness();
        sendJson(res, readiness.ready ? 200 : 503, { status: readiness.ready ? 'ready' : 'not ready', uptimeSeconds: health.uptimeSeconds(), checks: readiness.checks });
      },
    },
    {
      path: '/metrics',
      method: 'GET',
      handler: async (_req, res) => {
        const { contentType, body } = await metrics.scrape();
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
        res.end(body);
      },
    },
  ];
}

/** A handler that never throws: an error becomes a 500 with one log line. */
function guarded(route: Route, logger: Logger | undefined): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    Promise.resolve()
      .then(() => route.handler(req, res))
      .catch((err) => {
        logger?.error({ path: route.path, err: errorMessage(err) }, 'http endpoint failed');
        sendJson(res, 500, { error: 'internal', reason: 'the endpoint failed; see the bot log' });
      });
  };
}

/** The routes as Bolt custom routes (HTTP mode: served by the HTTPReceiver on PORT). */
export function toBoltRoutes(routes: Route[], logger?: Logger): BoltRoute[] {
  return routes.map((route) => ({ path: route.path, method: [route.method], handler: guarded(route, logger) }));
}

export interface EndpointServer {
  port: number;
  close(): Promise<void>;
}

/** Reads METRICS_PORT (default 9464; 0 picks a free port). */
export function metricsPort(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.METRICS_PORT?.trim() || String(DEFAULT_METRICS_PORT);
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new UsageError(`METRICS_PORT "${text.slice(0, 20)}" is not a port number.`);
  return port;
}

/**
 * Where the endpoint server listens: METRICS_HOST, else every interface in Socket Mode (Prometheus and
 * Alertmanager run elsewhere) and loopback in console mode (a terminal session, often a laptop).
 */
export function metricsHost(env: NodeJS.ProcessEnv, mode: 'socket' | 'console'): string {
  const host = env.METRICS_HOST?.trim();
  if (host) {
    if (!/^[A-Za-z0-9.:-]{1,253}$/.test(host)) throw new UsageError(`METRICS_HOST "${host.slice(0, 40)}" is not an address to listen on.`);
    return host;
  }
  return mode === 'console' ? '127.0.0.1' : '0.0.0.0';
}

/** A small node:http server for the routes (Socket Mode and console mode, where Bolt listens on nothing). */
export async function startEndpointServer(options: { routes: Route[]; port: number; host?: string; logger?: Logger }): Promise<EndpointServer> {
  const table = new Map<string, Map<string, (req: IncomingMessage, res: ServerResponse) => void>>();
  for (const route of options.routes) {
    const methods = table.get(route.path) ?? new Map();
    methods.set(route.method, guarded(route, options.logger));
    table.set(route.path, methods);
  }
  const server: Server = createServer((req, res) => {
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      sendJson(res, 400, { error: 'bad_request', reason: 'unreadable request URL' });
      return;
    }
    const methods = table.get(path);
    if (!methods) {
      req.resume();
      sendJson(res, 404, { error: 'not_found', reason: `no endpoint ${path.slice(0, 100)}; try ${[...table.keys()].join(', ')}` });
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const handler = methods.get(method) ?? (method === 'HEAD' ? methods.get('GET') : undefined);
    if (!handler) {
      req.resume();
      sendJson(res, 405, { error: 'method_not_allowed', reason: `${path} takes ${[...methods.keys()].join(', ')}` }, { allow: [...methods.keys()].join(', ') });
      return;
    }
    handler(req, res);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => options.logger?.error({ err: errorMessage(err) }, 'metrics server error'));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
