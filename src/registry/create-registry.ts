/**
 * createRegistry: wires the core (cache + validated transitions + change stream), the Kalshi
 * clients and the supervisor statechart (machines/registry.ts) into the public MarketRegistry.
 */
import { setMaxListeners } from 'node:events';
import { createActor, fromCallback, fromPromise, waitFor, type Actor, type InspectionEvent, type Observer } from 'xstate';
import { z } from 'zod';
import { registryMachine, type InitialSyncOutput, type LifecycleChildInbound } from '../../machines/registry.js';
import { periodicTaskMachine } from '../../machines/periodic-task.js';
import { ChangeBufferSize, type ExchangeStatus, type Market, type MarketEvent } from '../domain/types.js';
import { msToMicros } from '../domain/units.js';
import { OptionsError, formatIssues } from '../errors.js';
import type { KalshiCredentials } from '../kalshi/auth.js';
import { KALSHI_HOSTS } from '../kalshi/hosts.js';
import { LifecycleSocket, type LifecycleSocketStats } from '../kalshi/lifecycle-socket.js';
import { RATE_LIMIT_TIER_NAMES, type RateLimitSpec } from '../kalshi/rate-limiter.js';
import { KalshiRestClient, type KalshiRestStats } from '../kalshi/rest-client.js';
import { createLogger, type LogLevel, type Logger } from '../log.js';
import type { StatusCounts } from '../store/market-store.js';
import { MarketStore } from '../store/market-store.js';
import { ChangeStream, type ChangeListener, type ChangeSubscription } from './change-stream.js';
import { RegistryCore, type QuarantinedInput, type RegistryCounters, type RejectedTransition } from './core.js';
import { DeadlineScheduler } from './deadline-scheduler.js';
import { LifecycleHandler, type LifecycleHandlerStats, type LossReason } from './lifecycle-handler.js';
import { fetchUnknownMarket, pollExchangeStatus, rereadStaleMarkets, runEventPass, runMarketPass, type RestApi } from './rest-tasks.js';
import { createSummaryStore, type RegistrySummary, type SummaryStore } from './summary-store.js';

const httpUrl = z.string().regex(/^https?:\/\/[^\s]+$/, 'expected an http(s) URL');
const wsUrl = z.string().regex(/^wss?:\/\/[^\s]+$/, 'expected a ws(s) URL');
const positiveMs = z.number().int().positive();

export const RegistryOptionsSchema = z
  .object({
    /** Kalshi environment whose hosts to use when restUrl/wsUrl are not given. */
    env: z.enum(['prod', 'demo']).optional(),
    restUrl: httpUrl.optional(),
    wsUrl: wsUrl.optional(),
    credentials: z.custom<KalshiCredentials>((v) => typeof v === 'object' && v !== null && 'keyId' in v && 'privateKey' in v).optional(),
    /**
     * Where lifecycle messages come from: the registry's own WebSocket (default), a source the
     * embedder hands in with setLifecycleSource ("external"), or nowhere (REST only: reconcile
     * often).
     */
    lifecycle: z.enum(['websocket', 'external', 'none']).default('websocket'),
    rateLimit: z.union([z.enum(RATE_LIMIT_TIER_NAMES), z.literal('unlimited'), z.object({ refillPerSec: z.number().positive(), capacity: z.number().positive() })]).optional(),
    /** Period of the REST reconcile. Default 5 min, or 30 s when lifecycle is "none". */
    reconcileIntervalMs: positiveMs.optional(),
    /** Every Nth reconcile is a full pass; the others are `min_updated_ts` deltas. Default 6. */
    reconcileFullEvery: z.number().int().min(1).default(6),
    statusIntervalMs: positiveMs.default(10_000),
    eventSyncIntervalMs: positiveMs.default(300_000),
    /** How long to retry a 404 on GET /markets/{ticker} for a market a lifecycle event named first. */
    unknownTickerRetryMs: z.number().int().min(0).default(10_000),
    /** Deadlines further out than this wait for the scheduler's sweep. */
    deadlineHorizonMs: positiveMs.default(600_000),
    pageLimit: z.number().int().min(1).max(1000).default(1000),
    backoff: z.object({ baseMs: positiveMs, maxMs: positiveMs }).default({ baseMs: 500, maxMs: 30_000 }),
    logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null && typeof (v as Logger).info === 'function').optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** XState inspection observer (e.g. @statelyai/inspect's `inspector.inspect`) for every actor. */
    inspect: z.custom<Observer<InspectionEvent> | ((e: InspectionEvent) => void)>((v) => typeof v === 'function' || (typeof v === 'object' && v !== null)).optional(),
    /** Clock in epoch milliseconds (tests). */
    clock: z.custom<() => number>((v) => typeof v === 'function').optional(),
    /** A REST client to use instead of building one (tests, shared pools). */
    rest: z.custom<RestApi & { close?: () => Promise<void> }>((v) => typeof v === 'object' && v !== null).optional(),
  })
  .strict()
  .refine((o) => o.restUrl !== undefined || o.env !== undefined || o.rest !== undefined, {
    message: 'give restUrl (e.g. the simulator URL) or env ("prod" | "demo")',
    path: ['restUrl'],
  })
  .refine((o) => o.lifecycle !== 'websocket' || o.wsUrl !== undefined || o.env !== undefined, {
    message: 'lifecycle "websocket" needs wsUrl or env; use lifecycle "external" or "none" otherwise',
    path: ['wsUrl'],
  });

export type RegistryOptions = z.input<typeof RegistryOptionsSchema>;

export interface RegistryStats {
  readonly markets: number;
  readonly active: number;
  readonly events: number;
  readonly statusCounts: StatusCounts;
  readonly counters: Readonly<RegistryCounters>;
  readonly lifecycle: Readonly<LifecycleHandlerStats>;
  readonly socket: Readonly<LifecycleSocketStats> | null;
  readonly rest: Readonly<KalshiRestStats> | null;
  readonly changeStream: { readonly published: number; readonly subscribers: number; readonly blockedPublishes: number; readonly backlog: number };
  readonly deadlines: { readonly queued: number; readonly fired: number };
  readonly reconciles: number;
}

export interface SyncSummary {
  readonly markets: number;
  readonly pages: number;
  readonly ms: number;
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
  getEvent(eventTicker: string): MarketEvent | undefined;
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
  subscribeChanges(options?: { signal?: AbortSignal }): ChangeSubscription;
  /** Synchronous callback for each change; returns the unsubscribe function. */
  onChange(listener: ChangeListener): () => void;
  /** Callback for each transition the statechart rejected (never applied, never emitted). */
  onRejected(listener: (rejected: RejectedTransition) => void): () => void;
  /** Hands the registry a source of raw `market_lifecycle_v2` frames, replacing any current one. */
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

function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    const [key, child] = Object.entries(value)[0] ?? ['?', ''];
    return `${key}.${stateName(child)}`;
  }
  return String(value);
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
        ...(options.rateLimit ? { rateLimit: options.rateLimit as RateLimitSpec } : {}),
      })
    : null;
  const rest: RestApi & { close?: () => Promise<void> } = options.rest ?? (restClient as KalshiRestClient);
  const reconcileIntervalMs = options.reconcileIntervalMs ?? (options.lifecycle === 'none' ? 30_000 : 300_000);

  const store = new MarketStore();
  const changes = new ChangeStream(ChangeBufferSize, (err) => logger.error({ err }, 'onChange listener threw'));
  const core = new RegistryCore({ store, changes, now, logger });
  const summary = createSummaryStore(options.lifecycle);
  const lifetime = new AbortController();
  setMaxListeners(0, lifetime.signal);

  let actor: Actor<typeof registryMachine> | null = null;
  let socket: LifecycleSocket | null = null;
  let currentSource: AsyncIterable<string | Uint8Array> | null = null;
  let lossSuspected = false;
  let reconcileRuns = 0;
  let lastPassStartedAt: number | null = null;
  let lastEventSyncAt: number | null = null;
  const pendingFetches = new Set<string>();
  const MAX_PENDING_FETCHES = 64;

  let resolveSynced!: (s: SyncSummary) => void;
  let rejectSynced!: (e: Error) => void;
  const synced = new Promise<SyncSummary>((resolve, reject) => {
    resolveSynced = resolve;
    rejectSynced = reject;
  });
  synced.catch(() => {}); // an embedder that never awaits `synced` must not see an unhandled rejection

  const suspectLoss = (reason: LossReason | 'unknown_ticker_flood', detail: string) => {
    lossSuspected = true;
    logger.info({ reason, detail }, 'lifecycle events may have been lost; reconciling over REST');
    actor?.send({ type: 'LIFECYCLE.LOSS_SUSPECTED', reason });
  };

  const handler = new LifecycleHandler({ core, logger, onLossSuspected: suspectLoss });

  const scheduler = new DeadlineScheduler({
    now,
    horizonMs: options.deadlineHorizonMs,
    collect: (until) => core.deadlinesBefore(until),
    onDue: (ticker) => core.applyDeadlines(ticker),
    onError: (err) => logger.error({ err }, 'deadline scheduler failed'),
  });
  core.attachScheduler(scheduler);

  core.onUnknownTicker((ticker) => {
    if (pendingFetches.has(ticker)) return;
    if (pendingFetches.size >= MAX_PENDING_FETCHES) {
      suspectLoss('unknown_ticker_flood', `${pendingFetches.size} market fetches already pending`);
      return;
    }
    pendingFetches.add(ticker);
    fetchUnknownMarket(core, rest, ticker, { retryNotFoundMs: options.unknownTickerRetryMs, signal: lifetime.signal })
      .then((outcome) => {
        if (outcome !== 'added') logger.warn({ ticker, outcome }, 'lifecycle event for a market REST does not know');
      })
      .catch((err: unknown) => {
        if (!lifetime.signal.aborted) logger.warn({ ticker, err }, 'could not fetch unknown market; the next reconcile will');
      })
      .finally(() => pendingFetches.delete(ticker));
  });

  const lifecycleActor = fromCallback<LifecycleChildInbound>(({ sendBack, receive }) => {
    let controller: AbortController | null = null;
    const consume = () => {
      controller?.abort();
      const source = currentSource;
      if (source === null) return;
      const mine = new AbortController();
      controller = mine;
      handler.consume(source, mine.signal).then(
        () => {
          if (!mine.signal.aborted) sendBack({ type: 'LIFECYCLE.ENDED', reason: 'the lifecycle source ended; call setLifecycleSource to hand in a new one' });
        },
        (err: unknown) => {
          if (mine.signal.aborted) return;
          logger.error({ err }, 'lifecycle source failed');
          sendBack({ type: 'LIFECYCLE.ENDED', reason: err instanceof Error ? err.message : String(err) });
        },
      );
    };
    receive((event) => {
      if (event.type === 'SOURCE.CHANGED') consume();
    });
    consume();
    return () => controller?.abort();
  });

  const deadlinesActor = fromCallback(() => {
    scheduler.start();
    return () => scheduler.stop();
  });

  const initialSync = fromPromise<InitialSyncOutput>(async ({ signal }) => {
    summary.trigger.syncStarted({ at: now() });
    const result = await runMarketPass({
      core,
      rest,
      source: 'sync',
      pageLimit: options.pageLimit,
      signal,
      onPage: (p) => summary.trigger.syncProgress({ pages: p.pages, markets: p.markets, quarantined: p.quarantined }),
    });
    lastPassStartedAt = result.startedAt;
    summary.trigger.synced({ at: result.finishedAt, markets: result.markets, pages: result.pages });
    const ms = Math.round((result.finishedAt - result.startedAt) / 1000);
    logger.info({ markets: result.markets, pages: result.pages, quarantined: result.quarantined, ms }, 'initial sync complete');
    resolveSynced({ markets: store.size, pages: result.pages, ms });
    return { markets: result.markets, pages: result.pages };
  });

  const reconcileTask = fromPromise<unknown, { name: string }>(async ({ signal }) => {
    reconcileRuns++;
    const full = lossSuspected || lastPassStartedAt === null || reconcileRuns % options.reconcileFullEvery === 0;
    if (full) lossSuspected = false; // a loss reported during this pass sets it again
    // Kalshi's min_updated_ts is in seconds and compares its own clock: keep a safety margin.
    const minUpdatedTs = full ? undefined : Math.floor((lastPassStartedAt as number) / 1e6) - 60;
    const result = await runMarketPass({ core, rest, source: 'reconcile', pageLimit: options.pageLimit, signal, ...(minUpdatedTs === undefined ? {} : { minUpdatedTs }) });
    lastPassStartedAt = result.startedAt;
    const reread = await rereadStaleMarkets(core, rest, signal);
    summary.trigger.reconciled({ mode: result.mode, markets: result.markets, changes: result.changes, at: result.finishedAt });
    logger.info({ mode: result.mode, markets: result.markets, changes: result.changes, missing: result.missing, pages: result.pages, reread }, 'reconcile complete');
    return { mode: result.mode, markets: result.markets, changes: result.changes };
  });

  const exchangeStatusTask = fromPromise<unknown, { name: string }>(async ({ signal }) => {
    const status = await pollExchangeStatus(core, rest, signal);
    summary.trigger.exchange({ status });
    const problem =
      status === null ? 'exchange status unreachable' : status.maintenance || !status.exchangeActive ? 'exchange under maintenance' : null;
    actor?.send({ type: 'EXCHANGE.STATUS', problem });
    return status;
  });

  const eventSyncTask = fromPromise<unknown, { name: string }>(async ({ signal }) => {
    const startedAt = now();
    const minUpdatedTs = lastEventSyncAt === null ? undefined : Math.floor(lastEventSyncAt / 1e6) - 60;
    const result = await runEventPass(core, rest, { signal, ...(minUpdatedTs === undefined ? {} : { minUpdatedTs }) });
    lastEventSyncAt = startedAt;
    return result;
  });

  const shutdown = fromPromise(async () => {
    lifetime.abort();
    await socket?.stop();
    changes.close();
    if (ownRest) await rest.close?.();
  });

  const machine = registryMachine.provide({
    actors: {
      lifecycle: lifecycleActor,
      deadlines: deadlinesActor,
      initialSync,
      shutdown,
      reconcile: periodicTaskMachine.provide({ actors: { task: reconcileTask } }),
      exchangeStatus: periodicTaskMachine.provide({ actors: { task: exchangeStatusTask } }),
      eventSync: periodicTaskMachine.provide({ actors: { task: eventSyncTask } }),
    },
  });

  function useSocket(): void {
    // A source the embedder handed in before start() wins over our own connection.
    if (options.lifecycle !== 'websocket' || socketUrl === undefined || currentSource !== null) return;
    socket = new LifecycleSocket({ url: socketUrl, logger, ...(options.credentials ? { credentials: options.credentials } : {}) });
    socket.onStatus((s) => {
      summary.trigger.lifecycle({ state: s.state, attempt: s.attempt, error: s.error ?? null });
      if (s.state === 'subscribed') actor?.send({ type: 'LIFECYCLE.CONNECTED' });
    });
    currentSource = socket;
  }

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
      useSocket();
      actor = createActor(machine, {
        input: {
          reconcileIntervalMs,
          statusIntervalMs: options.statusIntervalMs,
          eventSyncIntervalMs: options.eventSyncIntervalMs,
          backoff: options.backoff,
        },
        ...(options.inspect ? { inspect: options.inspect } : {}),
      });
      actor.subscribe({
        next: (snapshot) => summary.trigger.phase({ phase: stateName(snapshot.value), problems: snapshot.context.problems }),
        error: (err) => logger.error({ err }, 'registry supervisor failed'),
      });
      actor.start();
    },
    async stop() {
      if (actor === null) {
        changes.close();
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
    getEvent: (eventTicker) => store.getEvent(eventTicker),
    getExchangeStatus: () => summary.getSnapshot().context.exchange,
    markets: () => store.values(),
    statusCounts: () => store.statusCounts(),
    subscribeChanges: (opts) => changes.subscribe(opts?.signal),
    onChange: (listener) => changes.onChange(listener),
    onRejected: (listener) => core.onRejected(listener),
    setLifecycleSource(source) {
      if (socket !== null) {
        // The embedder's connection takes over from ours.
        void socket.stop();
        socket = null;
      }
      currentSource = source;
      handler.resetSequences();
      summary.trigger.lifecycle({ state: 'external', attempt: 0, error: null, source: 'external' });
      lossSuspected = true;
      actor?.send({ type: 'SOURCE.CHANGED' });
      actor?.send({ type: 'RECONCILE_NOW' });
    },
    reconcileNow() {
      lossSuspected = true;
      actor?.send({ type: 'RECONCILE_NOW' });
    },
    stats: () => ({
      markets: store.size,
      active: store.activeCount,
      events: store.eventCount,
      statusCounts: store.statusCounts(),
      counters: { ...core.counters },
      lifecycle: { ...handler.stats },
      socket: socket?.stats() ?? null,
      rest: restClient?.stats() ?? null,
      changeStream: { published: changes.published, subscribers: changes.subscriberCount, blockedPublishes: changes.blockedPublishes, backlog: changes.backlog },
      deadlines: { queued: scheduler.size, fired: scheduler.fired },
      reconciles: reconcileRuns,
    }),
    quarantined: () => core.quarantined(),
  };
  return registry;
}

export type { RegistrySummary };
