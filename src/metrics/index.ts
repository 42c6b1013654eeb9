/** Observability: Prometheus metrics, and a loopback HTTP server for /metrics, /healthz, /readyz. */
export {
  registryMetrics,
  DEFAULT_METRICS_PREFIX,
  REGISTRY_PHASES,
  type MetricsSource,
  type RegistryMetrics,
  type RegistryMetricsOptions,
  type RestAttemptStatus,
  type RestRequestListener,
  type RestRequestObservation,
} from './registry-metrics.js';
export { serveMetrics, MetricsServerError, type MetricsServer, type ServeMetricsOptions } from './server.js';
export { livenessOf, readinessOf, registryLiveness, registryReadiness, type Liveness, type Readiness } from './health.js';
