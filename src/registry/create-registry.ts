/**
 * createRegistry: wiring. It builds the data plane (store, core with its validated transitions,
 * change stream, lifecycle handler, deadline scheduler, REST client), hands the supervisor
 * statechart (machines/registry.ts) the implementations of its actors (./actors.ts), and exposes
 * the public MarketRegistry. Every decision lives in the charts' context; nothing here holds state
 * beyond the objects it built.
 */
import { setMaxListeners } from 'node:events';
import { createActor, waitFor, type Actor, type InspectionEvent, type Observer } from 'xstate';
import type { LifecycleConnectionContext } from '../../machines/lifecycle-connection.js';
import { externalSource, registryMachine } from '../../machines/registry.js';
import { ChangeBufferSize, type ExchangeStatus, type Market, type MarketEvent } from '../domain/types.js';
import { msToMicros } from '../domain/units.js';
import { OptionsError, formatIssues } from '../errors.js';
import { KALSHI_HOSTS } from '../kalshi/hosts.js';
import { COMBO_LIFECYCLE_CHANNEL, MARKET_LIFECYCLE_CHANNEL } from '../kalshi/lifecycle-channels.js';
import { publicWsUrl } from '../kalshi/ws-connection.js';
import { KalshiRestClient, type KalshiRestStats, type RestRequestListener } from '../kalshi/rest-client.js';
import { createLogger } from '../log.js';
import { createDurable } from '../persist/durable.js';
import type { PersistenceStats } from '../persist/persistence.js';
import type { MarketRecord } from '../persist/schema.js';
import type { PublisherStats } from '../publish/publisher.js';
import type { StatusCounts } from '../store/market-store.js';
import { MarketStore } from '../store/market-store.js';
import type { MarketQuery } from '../store/market-query.js';
import { registryActors } from './actors.js';
import { ChangeStream, type ChangeListener, type ChangeSubscription, type SubscribeOptions } from './change-stream.js';
import { RegistryCore, type QuarantinedInput, type RegistryCounters, type RejectedTransition } from './core.js';
import { DeadlineScheduler } from './deadline-scheduler.js';
import { LifecycleHandler, type LifecycleHandlerStats } from './lifecycle-handler.js';
import { RegistryOptionsSchema, type RegistryOptions } from './options.js';
import { LoadAdmission, loadFilteredRest, type LoadFilterStats, type RestApi } from './rest-tasks.js';
import { createSummaryStore, summaryObserver, type RegistrySummary, type SummaryStore } from './summary-store.js';

export { RegistryOptionsSchema, type RegistryOptions, type RegistryLoadFilter, type RegistryPublishOptions } from './options.js';
export type { MarketQuery } from '../store/market-query.js';
export type { LoadFilterStats } from './rest-tasks.js';

export interface RegistryStats {
  readonly markets: number;
  readonly active: number;
  readonly events: number;
  readonly statusCounts: StatusCounts;
  readonly counters: Readonly<RegistryCounters>;
  readonly lifecycle: Readonly<LifecycleHandlerStats>;
  /** The registry's own lifecycle WebSocket (null with an external source or none). */
  readonly socket: Readonly<ConnectionStats> | null;
  readonly rest: Readonly<KalshiRestStats> | null;
  readonly changeStream: {
    readonly published: number;
    readonly subscribers: number;
    readonly blockedPublishes: number;
    readonly backlog: number;
    /** How long ingestion has been waiting for a slow `block` subscriber right now (0: it is not). */
    readonly blockedForMs: number;
  };
  readonly deadlines: { readonly queued: number; readonly fired: number };
  readonly reconciles: number;
  /** Embedder callbacks (onChange, onRejected) that threw; each was isolated and ingestion went on. */
  readonly listenerErrors: number;
  /** The state directory (null without `stateDir`). */
  readonly persistence: PersistenceStats | null;
  /** The NATS fan-out (null without `publish`). */
  readonly publish: PublisherStats | null;
  /** What the `load` filter kept out (null without `load`). */
  readonly loadFilter: LoadFilterStats | null;
}

/** The lifecycle connection's counters (from the lifecycle-connection chart and its frame queue). */
export interface ConnectionStats {
  readonly state: string;
  /** Successful handshakes. */
  readonly connects: number;
  /** Connections that ended (each followed by a reconnect, or by giving up). */
  readonly reconnects: number;
  /** Subscribe commands re-sent after a terminal channel error (10/25). */
  readonly resubscribes: number;
  readonly framesReceived: number;
  /** Frames received and not yet applied. */
  readonly queued: number;
  /** Times the socket was paused because ingestion fell behind. */
  readonly pauses: number;
}

export interface SyncSummary {
  /** Markets in the registry when the initial sync finished. */
  readonly markets: number;
  readonly pages: number;
  readonly ms: number;
  /**
   * Events in the registry: `synced` waits for the first event sync too (so getEvent works right
   * after it), unless that pass fails, in which case `synced` does not wait for its retries.
   */
  readonly events: number;
  /**
   * True when the registry started from a state directory's stored markets: `markets` were then
   * caught up by a `min_updated_ts` delta (a full pass when the last run died during its initial
   * sync) instead of a full pass, and a full verification pass follows in the background.
   */
  readonly warm: boolean;
  /** Markets loaded from the state directory (0 on a cold start). */
  readonly loaded: number;
}

/** The market registry. Every method is safe to call at any time; reads are synchronous. */
export interface MarketRegistry {
  /** Starts discovery in the background and returns at once. Aborting `signal` stops the registry. */
  start(signal?: AbortSignal): void;
  /** Resolves when the initial sync is complete; rejects if the registry stops first. */
  readonly synced: Promise<SyncSummary>;
  /** Stops every actor, closes sockets and ends every change subscription. */
  stop(): Promise<void>;
  /** Every market currently `active`. A shared, frozen array: rebuilt only when the active set changes. */
  getActiveMarkets(): readonly Market[];
  getMarket(ticker: string): Market | undefined;
  /**
   * The held markets matching `query` (status, event, series, combos, close-time range, limit;
   * README "Querying markets"), as the same frozen objects getMarket returns, in no particular
   * order. Answered from indexes: the cost follows the most selective field's candidate set, not
   * the number of markets. A bad query throws a ValidationError (code `E_VALIDATION`).
   */
  getMarkets(query?: MarketQuery): readonly Market[];
  /** The held markets of one event (empty for an unknown event). */
  getMarketsByEvent(eventTicker: string): readonly Market[];
  getEvent(eventTicker: string): MarketEvent | undefined;
  /**
   * The last full Kalshi record of a market (every field of the REST record as validated, or
   * what a WebSocket `created` gave): from the state directory, so undefined without `stateDir`.
   */
  getMarketRecord(ticker: string): MarketRecord | undefined;
  /** Last exchange status seen (null before the first poll or while unreachable). */
  getExchangeStatus(): ExchangeStatus | null;
  /** Every known market (for snapshots). */
  markets(): IterableIterator<Market>;
  statusCounts(): StatusCounts;
  /**
   * A bounded (ChangeBufferSize) stream of validated changes from now on. A subscriber that
   * does not keep up slows the registry down; it never misses a change. Close it (break out of
   * the loop, call close(), or abort `signal`) when done.
   */
  subscribeChanges(options?: SubscribeOptions): ChangeSubscription;
  /** Synchronous callback for each change; returns the unsubscribe function. */
  onChange(listener: ChangeListener): () => void;
  /** Callback for each transition the statechart rejected (never applied, never emitted). */
  onRejected(listener: (rejected: RejectedTransition) => void): () => void;
  /** Callback for each HTTP attempt of the registry's own REST client (none with `rest` given); returns the unsubscribe function. */
  onRestRequest(listener: RestRequestListener): () => void;
  /**
   * Hands the registry a source of raw `market_lifecycle_v2` / `multivariate_market_lifecycle`
   * frames, replacing any current one (the registry's own socket included). No frame of the
   * replaced source is applied after this call; a full reconcile follows.
   */
  setLifecycleSource(source: AsyncIterable<string | Uint8Array>): void;
  /** Runs a full REST reconcile as soon as possible. */
  reconcileNow(): void;
  stats(): RegistryStats;
  /** Recently quarantined inputs (bounded), newest last. */
  quarantined(): readonly QuarantinedInput[];
  /** Observable low-frequency state: phase, sync progress, exchange status, connection. */
  readonly summary: SummaryStore;
  /** The supervisor actor, for inspection (null before start). */
  readonly actor: Actor<typeof registryMachine> | null;
}

function observerFn(inspect: Observer<InspectionEvent> | ((e: InspectionEvent) => void)): (e: InspectionEvent) => void {
  return typeof inspect === 'function' ? inspect : (e) => inspect.next?.(e);
}

export function createRegistry(input: RegistryOptions): MarketRegistry {
  const parsed = RegistryOptionsSchema.safeParse(input);
  if (!parsed.success) throw new OptionsError(`Invalid registry options: ${formatIssues(parsed.error.issues)}`);
  const options = parsed.data;
  const logger = options.logger ?? createLogger(options.logLevel);
  const clockMs = options.clock ?? Date.now;
  const now = () => msToMicros(clockMs());
  const restUrl = options.restUrl ?? (options.env ? KALSHI_HOSTS[options.env].rest : undefined);
  const socketUrl = options.wsUrl ?? (options.env ? KALSHI_HOSTS[options.env].ws : undefined);
  const ownRest = options.rest === undefined;
  const restClient = ownRest
    ? new KalshiRestClient({
        baseUrl: restUrl as string,
        logger,
        ...(options.credentials ? { credentials: options.credentials } : {}),
        ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
      })
    : null;
  const rest: RestApi & { close?: () => Promise<void> } = options.rest ?? (restClient as KalshiRestClient);

  const store = new MarketStore();
  const changes = new ChangeStream(ChangeBufferSize, logger);
  const admission = options.load === undefined ? null : new LoadAdmission(options.load, store);
  const core = new RegistryCore({ store, changes, now, logger, ...(admission === null ? {} : { admit: admission }) });
  const handler = new LifecycleHandler({ core, logger, combos: options.combos });
  const scheduler = new DeadlineScheduler({
    now,
    horizonMs: options.deadlineHorizonMs,
    collect: (until) => core.deadlinesBefore(until),
    onDue: (id, at) => core.applyDeadlinesAt(id, at),
    onError: (err) => logger.error({ err }, 'deadline scheduler failed'),
  });
  core.attachScheduler(scheduler);
  // State directory (loaded into the store now, so reads work at once) and NATS fan-out.
  const durable = createDurable(
    { stateDir: options.stateDir, stateFlushMs: options.stateFlushMs, publish: options.publish, exchange: options.env ?? 'custom' },
    { store, changes, core, logger, now },
  );
  // A load filter narrows every pass (sync, reconcile, warm start, events) on the way to Kalshi.
  const actorRest = durable.tapRest(options.load === undefined ? rest : loadFilteredRest(rest, options.load));
  const summary = createSummaryStore(options.lifecycle);
  const lifetime = new AbortController();
  setMaxListeners(0, lifetime.signal);

  let resolveSynced!: (s: SyncSummary) => void;
  let rejectSynced!: (e: Error) => void;
  const synced = new Promise<SyncSummary>((resolve, reject) => {
    resolveSynced = resolve;
    rejectSynced = reject;
  });
  synced.catch(() => {}); // an embedder that never awaits `synced` must not see an unhandled rejection
  // Followers on NATS count as synced only once the publisher has announced this (src/publish/publisher.ts).
  void synced.then(
    (s) => durable.registrySynced(s),
    () => {},
  );

  // `synced` waits for the markets and for the first event pass (whatever its outcome).
  let marketsSynced: Omit<SyncSummary, 'events'> | null = null;
  let eventsTried = false;
  const onMarketsSynced = (s: Omit<SyncSummary, 'events'>) => {
    marketsSynced = s;
    if (eventsTried) resolveSynced({ ...s, events: store.eventCount });
  };

  const ownSocket = options.lifecycle === 'websocket' && socketUrl !== undefined;
  const machine = registryMachine.provide({
    actors: durable.provideActors(
      registryActors({
        core,
        rest: actorRest,
        handler,
        scheduler,
        logger,
        pageLimit: options.pageLimit,
        combos: options.combos,
        unknownTickerRetryMs: options.unknownTickerRetryMs,
        socket: ownSocket
          ? { url: socketUrl, idleTimeoutMs: options.wsIdleTimeoutMs, ...(options.credentials ? { credentials: options.credentials } : {}) }
          : null,
        changes,
        stuckSubscriberMs: options.stuckSubscriberMs,
        onSynced: (s) => onMarketsSynced({ ...s, warm: false, loaded: 0 }),
        onFirstEventPass: () => {
          eventsTried = true;
          if (marketsSynced !== null) resolveSynced({ ...marketsSynced, events: store.eventCount });
        },
        shutdown: async () => {
          lifetime.abort();
          await durable.beforeShutdown();
          changes.close();
          await durable.close();
          if (ownRest) await rest.close?.();
        },
      }),
      {
        rest: actorRest,
        pageLimit: options.pageLimit,
        combos: options.combos,
        onSynced: (s) => onMarketsSynced({ markets: s.markets, pages: s.pages, ms: s.ms, warm: true, loaded: s.loaded }),
      },
    ),
  });

  let actor: Actor<typeof registryMachine> | null = null;
  /** A source handed in before start(): the supervisor starts on it. */
  let sourceBeforeStart: AsyncIterable<string | Uint8Array> | null = null;
  let sourceGeneration = 0;

  const connectionContext = (): LifecycleConnectionContext | null => {
    const child = actor?.getSnapshot().children['lifecycle' as never] as { getSnapshot(): { context?: unknown; value?: unknown } } | undefined;
    const context = child?.getSnapshot().context as Partial<LifecycleConnectionContext> | undefined;
    return context?.frames === undefined ? null : (context as LifecycleConnectionContext);
  };

  const registry: MarketRegistry = {
    synced,
    summary,
    get actor() {
      return actor;
    },
    start(signal) {
      if (actor !== null) throw new OptionsError('start() was already called on this registry');
      if (signal?.aborted) {
        rejectSynced(new Error('the registry was not started: its abort signal had already fired'));
        return;
      }
      signal?.addEventListener('abort', () => void registry.stop(), { once: true });
      const observeSummary = summaryObserver(summary);
      const embedderInspect = options.inspect ? observerFn(options.inspect) : null;
      const source = sourceBeforeStart !== null ? 'external' : ownSocket ? 'websocket' : options.lifecycle === 'websocket' ? 'none' : options.lifecycle;
      actor = createActor(machine, {
        input: {
          reconcileIntervalMs: options.reconcileIntervalMs ?? (options.lifecycle === 'none' ? 30_000 : 300_000),
          reconcileFullEvery: options.reconcileFullEvery,
          statusIntervalMs: options.statusIntervalMs,
          eventSyncIntervalMs: options.eventSyncIntervalMs,
          backoff: options.backoff,
          lifecycle: source,
          externalSource: sourceBeforeStart === null ? null : externalSource(sourceBeforeStart, ++sourceGeneration),
          connection: ownSocket
            ? {
                url: publicWsUrl(socketUrl),
                channels: options.combos === 'include' ? [MARKET_LIFECYCLE_CHANNEL, COMBO_LIFECYCLE_CHANNEL] : [MARKET_LIFECYCLE_CHANNEL],
                reconnect: { ...options.backoff, baseMs: Math.min(options.backoff.baseMs, 250), maxAttempts: Number.POSITIVE_INFINITY, resetAfterMs: 10_000 },
                highWaterMark: options.wsHighWaterMark,
              }
            : null,
          maxPendingFetches: options.maxPendingFetches,
        },
        inspect: (event) => {
          observeSummary(event);
          embedderInspect?.(event);
        },
      });
      actor.subscribe({ error: (err) => logger.error({ err }, 'registry supervisor failed') });
      durable.start(() => actor);
      actor.start();
    },
    async stop() {
      if (actor === null) {
        changes.close();
        await durable.close();
        if (ownRest) await rest.close?.();
        rejectSynced(new Error('the registry was stopped before it was started'));
        return;
      }
      if (actor.getSnapshot().status === 'active') actor.send({ type: 'STOP' });
      await waitFor(actor, (s) => s.status !== 'active', { timeout: 30_000 });
      rejectSynced(new Error('the registry stopped before the initial sync finished'));
    },
    getActiveMarkets: () => store.activeMarkets(),
    getMarket: (ticker) => store.get(ticker),
    getMarkets: (query) => store.getMarkets(query),
    getMarketsByEvent: (eventTicker) => store.marketsOfEvent(eventTicker),
    getEvent: (eventTicker) => store.getEvent(eventTicker),
    getMarketRecord: (ticker) => durable.getMarketRecord(ticker),
    getExchangeStatus: () => summary.getSnapshot().context.exchange,
    markets: () => store.values(),
    statusCounts: () => store.statusCounts(),
    subscribeChanges: (opts) => changes.subscribe(opts),
    onChange: (listener) => changes.onChange(listener),
    onRejected: (listener) => core.onRejected(listener),
    onRestRequest: (listener) => restClient?.onRequest(listener) ?? (() => {}),
    setLifecycleSource(source) {
      if (actor === null) {
        sourceBeforeStart = source;
        return;
      }
      actor.send({ type: 'SOURCE.SET', source: externalSource(source, ++sourceGeneration) });
    },
    reconcileNow() {
      actor?.send({ type: 'RECONCILE_NOW' });
    },
    stats: () => {
      const connection = connectionContext();
      const reconcile = actor?.getSnapshot().children['reconcile' as never] as { getSnapshot(): { context: { runs: number } } } | undefined;
      return {
        markets: store.size,
        active: store.activeCount,
        events: store.eventCount,
        statusCounts: store.statusCounts(),
        counters: { ...core.counters },
        lifecycle: { ...handler.stats },
        socket:
          connection === null
            ? null
            : {
                state: summary.getSnapshot().context.lifecycle.state,
                connects: connection.connects,
                reconnects: connection.disconnects,
                resubscribes: connection.resubscribes,
                framesReceived: connection.frames.framesReceived,
                queued: connection.frames.queued,
                pauses: connection.frames.pauses,
              },
        rest: restClient?.stats() ?? null,
        changeStream: {
          published: changes.published,
          subscribers: changes.subscriberCount,
          blockedPublishes: changes.blockedPublishes,
          backlog: changes.backlog,
          blockedForMs: Math.round(changes.blockedForMs()),
        },
        deadlines: { queued: scheduler.size, fired: scheduler.fired },
        reconciles: reconcile?.getSnapshot().context.runs ?? 0,
        listenerErrors: changes.listenerErrors + core.listenerErrors,
        persistence: durable.persistenceStats(),
        publish: durable.publishStats(),
        loadFilter: admission?.stats() ?? null,
      };
    },
    quarantined: () => core.quarantined(),
  };
  return registry;
}

export type { RegistrySummary };
