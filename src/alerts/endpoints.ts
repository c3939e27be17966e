/**
 * The bot's HTTP endpoints in one table, built once by `badgateway start`: `/healthz`, `/readyz`,
 * `/metrics` and, when `alerts:` is configured, `POST /alerts/alertmanager`. HTTP mode serves them
 * on the Bolt receiver (PORT), Socket Mode and console mode on a small server (METRICS_PORT).
 */
import type { Services } from '../app/services.js';
import type { Config } from '../config/index.js';
import { UsageError } from '../errors.js';
import type { Logger } from '../log/index.js';
import type { Health } from '../metrics/health.js';
import { observabilityRoutes, type Route } from '../metrics/http.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Router } from '../router/router.js';
import type { Responder } from '../chat/types.js';
import { AlertReceiver, alertToken } from './receiver.js';

export interface EndpointsOptions {
  config: Pick<Config, 'alerts'>;
  services: Pick<Services, 'inventory' | 'triage'>;
  router: Pick<Router, 'triage' | 'running' | 'background' | 'retryAfterSeconds'>;
  logger: Logger;
  metrics: Metrics;
  health: Health;
  /** Posting in a channel on the bot's own initiative; null while there is no Slack connection. */
  responderFor: (channel: string) => Responder | null;
  env?: NodeJS.ProcessEnv;
}

export interface Endpoints {
  routes: Route[];
  /** The Alertmanager receiver, or null without `alerts:` in badgateway.yaml. */
  alerts: AlertReceiver | null;
  /** The bot is stopping: alerts get 503 from now on (Alertmanager retries them). */
  drain(): void;
  /** Resolves when what the alerts started (notes, resolved reads) is done. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Throws a UsageError (exit 2 at start) when `alerts:` is configured but its token is not usable. */
export function createEndpoints(options: EndpointsOptions): Endpoints {
  const { config, services, router, logger, metrics, health } = options;
  let alerts: AlertReceiver | null = null;
  if (config.alerts) {
    const auth = alertToken(config.alerts, options.env ?? process.env);
    if ('problem' in auth) throw new UsageError(auth.problem);
    alerts = new AlertReceiver({
      settings: config.alerts,
      token: auth.token,
      inventory: services.inventory,
      router,
      triage: (request) => services.triage(request),
      responderFor: options.responderFor,
      logger,
      metrics,
    });
  }
  const routes = [...observabilityRoutes({ metrics, health, status: () => `${router.running()} running` }), ...(alerts ? [alerts.route()] : [])];
  return {
    routes,
    alerts,
    drain: () => alerts?.drain(),
    idle: async () => {
      await alerts?.idle();
    },
    close: async () => {
      await alerts?.close();
    },
  };
}
