/**
 * @module metrics: the bot's own Prometheus metrics (`metrics`, on its own registry), health checks
 * (`health`), and the HTTP endpoints serving them. Other modules count through `metrics`:
 * `metrics.approvalDecided('approved')`, `metrics.digestPosted('morning')`.
 */
export { Metrics, metrics, label, failureReason, type CommandOutcome, type CommandSource } from './metrics.js';
export { Health, health, type ReadinessCheck, type Readiness, type CheckResult } from './health.js';
export {
  DEFAULT_METRICS_PORT,
  metricsHost,
  metricsPort,
  observabilityRoutes,
  readBody,
  sendJson,
  startEndpointServer,
  toBoltRoutes,
  type BoltRoute,
  type EndpointServer,
  type Route,
} from './http.js';
