/**
 * kalshi-market-registry — public API.
 *
 * ```ts
 * import { createRegistry } from 'kalshi-market-registry';
 * const registry = createRegistry({ env: 'prod', credentials });
 * registry.start();
 * await registry.synced;
 * for await (const change of registry.subscribeChanges()) console.log(change);
 * ```
 */
export { createRegistry, RegistryOptionsSchema } from './registry/create-registry.js';
export type { MarketRegistry, RegistryOptions, RegistryStats, ConnectionStats, SyncSummary, RegistrySummary } from './registry/create-registry.js';
export type { ChangeSubscription, ChangeListener } from './registry/change-stream.js';
export type { RejectedTransition, QuarantinedInput, RegistryCounters, DataSource } from './registry/core.js';
export type { SummaryStore, SyncProgress, LifecycleConnection, RegistryDecisions } from './registry/summary-store.js';
export type { StatusCounts } from './store/market-store.js';

export { ChangeBufferSize, MARKET_STATUSES } from './domain/types.js';
export type {
  Market,
  MarketChange,
  MarketChangeType,
  MarketEvent,
  MarketStatus,
  MarketType,
  MarketResult,
  TradingStatus,
  ExchangeStatus,
  PriceE4,
  CountE2,
  Micros,
} from './domain/types.js';
export { dollarsToE4, e4ToDollars, countToE2, e2ToCount, isoToMicros, microsToIso } from './domain/units.js';

export { marketLifecycleMachine } from '../machines/market-lifecycle.js';
export type { MarketLifecycleEvent } from '../machines/market-lifecycle.js';
export { registryMachine } from '../machines/registry.js';
export { periodicTaskMachine } from '../machines/periodic-task.js';
export { reconcileMachine } from '../machines/reconcile.js';
export { lifecycleConnectionMachine } from '../machines/lifecycle-connection.js';
export { MARKET_TRANSITIONS, applyTransition, type TransitionKey, type TransitionOutcome } from './lifecycle/transition-table.js';

export { loadCredentials, credentialsFromPem, type KalshiCredentials } from './kalshi/auth.js';
export { KALSHI_HOSTS } from './kalshi/hosts.js';
export { KalshiRestClient } from './kalshi/rest-client.js';
export { connectLifecycle, type LifecycleConnectOptions, type LifecycleConnectionHandle } from './kalshi/lifecycle-connect.js';
export { FrameQueue } from './kalshi/frame-queue.js';
export { MARKET_LIFECYCLE_CHANNEL, COMBO_LIFECYCLE_CHANNEL } from './kalshi/lifecycle-channels.js';
export { RegistryError, ValidationError, OptionsError, ERROR_CODES, hasErrorCode, type RegistryErrorCode } from './errors.js';
export {
  KalshiRequestError,
  HttpError,
  NetworkError,
  TimeoutError,
  ResponseParseError,
  ResponseDecodeError,
  ResponseTooLargeError,
  PaginationLoopError,
  ClientClosedError,
} from './kalshi/http-errors.js';
export * as schemas from './kalshi/schemas.js';

export * from './metrics/index.js';
