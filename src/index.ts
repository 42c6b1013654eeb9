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
 *
 * Durable and shared: `createRegistry({ ..., stateDir, publish: { url } })` keeps the registry in
 * an SQLite state directory (warm restarts) and fans it out on NATS JetStream, where
 * `followRegistry({ nats: { url } })` rebuilds the same read API in any other process.
 */
export { createRegistry, RegistryOptionsSchema } from './registry/create-registry.js';
export type { MarketRegistry, RegistryOptions, RegistryStats, ConnectionStats, SyncSummary, RegistrySummary } from './registry/create-registry.js';
export type { MarketQuery, RegistryLoadFilter, RegistryPublishOptions, LoadFilterStats } from './registry/create-registry.js';
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
export { dollarsToE4, e4ToDollars, countToE2, e2ToCount, isoToMicros, microsToIso, asPriceE4, asCountE2, asMicros } from './domain/units.js';

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

// Durable: the state directory (createRegistry's `stateDir`). A problem with one of its files
// (corrupt, foreign, locked, written for another exchange) is a StateDirError naming the file.
export { StateDirError, type StateDirProblem } from './persist/errors.js';
export type { MarketRecord, MarketRecordSource, SyncWatermarks } from './persist/schema.js';
export type { PersistenceStats } from './persist/persistence.js';
export type { WriterStats } from './persist/writer.js';

// Shared: the NATS JetStream fan-out (createRegistry's `publish`) and its follower.
export { followRegistry, FollowerOptionsSchema } from './follow/follower.js';
export type { FollowerOptions, FollowerRegistry, FollowerSyncSummary, FollowerLag, FollowerStats } from './follow/follower.js';
export type { PublisherStats } from './publish/publisher.js';
// The layout on NATS, for embedders that read the stream or the KV bucket without a follower.
export { encodeTicker, decodeTicker, TickerCodecError } from './publish/ticker-codec.js';
export {
  changeSubject,
  parseChangeSubject,
  kvKey,
  tickerOfKvKey,
  DEFAULT_STREAM,
  DEFAULT_SUBJECT_PREFIX,
  DEFAULT_BUCKET,
  type NatsLayout,
  REGISTRY_KEY,
  parseAnnouncement,
  type RegistryAnnouncement,
} from './publish/layout.js';

export * from './metrics/index.js';
