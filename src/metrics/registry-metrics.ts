/**
 * Prometheus metrics of one MarketRegistry, through prom-client.
 *
 * Nothing here runs on the ingestion path except two listeners that bump a plain number per
 * change (`onChange`) and per rejected transition (`onRejected`). Every other figure is read
 * when Prometheus scrapes: each metric's `collect()` copies it from `stats()` or from the
 * summary store. One `stats()` snapshot serves a whole scrape (it is taken by the first metric
 * collected and dropped at the next microtask), so every figure of one scrape agrees with the
 * others.
 *
 * A figure the registry does not have is absent (HELP/TYPE, no sample) rather than a made-up 0:
 * REST counters when the embedder supplied its own REST client, socket counters without the
 * registry's own WebSocket, the exchange gauges before the first status poll, the lifecycle lag
 * until a frame carrying `sending_ts_ms` has been handled, REST latency until the first attempt.
 *
 * REST latency is the one figure pushed, not read: a registry's REST client tells every HTTP
 * attempt to `onRestRequest` listeners (one histogram observation each, labelled by endpoint
 * template, never by ticker).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { MARKET_STATUSES, type MarketChange } from '../domain/types.js';
import type { MarketRegistry, RegistryStats } from '../registry/create-registry.js';
import type { RejectedTransition } from '../registry/core.js';
import { OptionsError } from '../errors.js';
import type { RestAttemptStatus, RestRequestObservation } from '../kalshi/rest/stats.js';

// The REST client's per-attempt types, public with the metrics they feed (MarketRegistry.onRestRequest).
export type { RestAttemptStatus, RestRequestListener, RestRequestObservation } from '../kalshi/rest/stats.js';

/**
 * What the metrics read from a registry (a MarketRegistry has all of it). Without
 * `onRestRequest` the REST latency histogram is fed only through `observeRestRequest`.
 */
export type MetricsSource = Pick<MarketRegistry, 'stats' | 'summary' | 'onChange' | 'onRejected'> & Partial<Pick<MarketRegistry, 'onRestRequest'>>;

export interface RegistryMetricsOptions {
  /** The prom-client Registry to register in (default: a new one of its own). */
  readonly registry?: Registry;
  /** Prefix of every metric name (default `kalshi_registry_`). */
  readonly prefix?: string;
  /**
   * Also register prom-client's default process metrics (`process_*`, `nodejs_*`: CPU, heap,
   * event-loop lag, GC), unprefixed as is the convention. Default false. Only one set may be
   * registered per prom-client Registry.
   */
  readonly processMetrics?: boolean;
  /** Wall clock in ms, for the lifecycle lag (default Date.now). */
  readonly now?: () => number;
}

export interface RegistryMetrics {
  /** The prom-client Registry holding the metrics. */
  readonly registry: Registry;
  /** The exposition text of `registry` (what GET /metrics serves). */
  metrics(): Promise<string>;
  /** The content type of that text. */
  readonly contentType: string;
  /**
   * Feeds the REST latency histogram (`rest_request_duration_seconds`). Attached to a registry
   * (`onRestRequest`), its REST client already calls this for every attempt; call it yourself
   * for a REST client of your own (e.g. from its `onRequest` listener).
   */
  observeRestRequest(observation: RestRequestObservation): void;
  /** Detaches the listeners and removes every metric this call registered. Idempotent. */
  close(): void;
}

export const DEFAULT_METRICS_PREFIX = 'kalshi_registry_';

/** Every phase the summary reports (machines/registry.ts phaseOf, plus the store's "idle"). */
export const REGISTRY_PHASES = ['idle', 'starting', 'syncing', 'syncBackoff', 'running.healthy', 'running.degraded', 'stopping', 'stopped'] as const;
const SYNC_STATES = ['pending', 'running', 'done'] as const;
const CHANGE_TYPES: readonly MarketChange['eventType'][] = ['created', 'status_change', 'settled'];
const REST_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

type AnyMetric = Gauge | Counter;
/** Label values → value; `undefined` for an unlabeled metric that has no value now (absent). */
type Samples = number | undefined | ReadonlyArray<readonly [Readonly<Record<string, string>>, number]>;

function restOutcome(status: RestAttemptStatus): string {
  if (typeof status !== 'number') return status;
  if (status === 429) return '429';
  return `${Math.floor(status / 100)}xx`;
}

export function registryMetrics(source: MetricsSource, options: RegistryMetricsOptions = {}): RegistryMetrics {
  const prefix = options.prefix ?? DEFAULT_METRICS_PREFIX;
  if (prefix !== '' && !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix))
    throw new OptionsError(`metrics prefix ${JSON.stringify(prefix)} is not a valid Prometheus name prefix`);
  const registry = options.registry ?? new Registry();
  const now = options.now ?? Date.now;
  const names: string[] = [];

  // One stats() per scrape: the first collect takes it, the next microtask drops it.
  let snapshot: RegistryStats | null = null;
  const stats = (): RegistryStats => {
    if (snapshot === null) {
      snapshot = source.stats();
      queueMicrotask(() => {
        snapshot = null;
      });
    }
    return snapshot;
  };
  const summary = () => source.summary.getSnapshot().context;

  const fill = (metric: AnyMetric, samples: Samples): void => {
    metric.reset();
    if (samples === undefined) {
      metric.remove({});
      return;
    }
    if (typeof samples === 'number') {
      if (metric instanceof Gauge) metric.set(samples);
      else metric.inc(Math.max(0, samples));
      return;
    }
    for (const [labels, value] of samples) {
      if (metric instanceof Gauge) metric.set(labels, value);
      else metric.inc(labels, Math.max(0, value));
    }
  };
  const define = (kind: 'gauge' | 'counter', name: string, help: string, labelNames: readonly string[], read: () => Samples): void => {
    const config = {
      name: prefix + name,
      help,
      labelNames: [...labelNames],
      registers: [registry],
      collect(this: AnyMetric) {
        fill(this, read());
      },
    };
    if (kind === 'gauge') new Gauge(config);
    else new Counter(config);
    names.push(prefix + name);
  };
  const gauge = (name: string, help: string, read: () => number | undefined) => define('gauge', name, help, [], read);
  const counter = (name: string, help: string, read: () => number | undefined) => define('counter', name, help, [], read);
  const seconds = (micros: number) => micros / 1_000_000;

  // ---- markets --------------------------------------------------------------------------
  define('gauge', 'markets', 'Markets known, per lifecycle status.', ['status'], () => {
    const counts = stats().statusCounts;
    return MARKET_STATUSES.map((status) => [{ status }, counts[status]] as const);
  });
  gauge('events', 'Kalshi events (GET /events) known.', () => stats().events);

  // ---- changes and rejections (listeners: a number bumped per event) --------------------
  const changeCounts: Record<string, number> = Object.fromEntries(CHANGE_TYPES.map((t) => [t, 0]));
  const offChange = source.onChange((change) => {
    changeCounts[change.eventType] = (changeCounts[change.eventType] ?? 0) + 1;
  });
  define(
    'counter',
    'changes_total',
    'MarketChanges emitted, per event type (counted from when the metrics were attached: attach before start()).',
    ['event_type'],
    () => Object.entries(changeCounts).map(([event_type, n]) => [{ event_type }, n] as const),
  );
  const rejectedCounts = new Map<string, { labels: { source: string; event: string }; n: number }>();
  const offRejected = source.onRejected((r: RejectedTransition) => {
    const key = `${r.source}\u0000${r.event}`;
    const entry = rejectedCounts.get(key);
    if (entry) entry.n++;
    else rejectedCounts.set(key, { labels: { source: r.source, event: r.event }, n: 1 });
  });
  define(
    'counter',
    'rejected_transitions_total',
    'Transitions the lifecycle statechart refused (never applied, never emitted), per data source and event (counted from when the metrics were attached).',
    ['source', 'event'],
    () => [...rejectedCounts.values()].map((e) => [e.labels, e.n] as const),
  );
  counter('quarantined_total', 'Records and frames that failed validation and were set aside.', () => stats().counters.quarantined);
  counter('ignored_after_final_total', 'Lifecycle events for markets already finalized (ignored).', () => stats().counters.ignoredAfterFinal);
  counter('duplicate_creates_total', '`created` for a market already known.', () => stats().counters.duplicateCreates);
  counter('stale_observations_total', 'REST reads older than the local record (status left alone).', () => stats().counters.staleObservations);
  counter('stale_frames_total', 'WebSocket frames older than a REST read already applied (skipped).', () => stats().counters.staleFrames);
  counter(
    'unknown_ticker_events_total',
    'Lifecycle events naming a market not known yet (each fetched by GET /markets/{ticker}).',
    () => stats().counters.unknownTickerEvents,
  );
  define(
    'counter',
    'load_filter_ignored_total',
    'Markets the load filter kept out (not held, not fetched), per source; absent without a load filter.',
    ['source'],
    () => {
      const f = stats().loadFilter;
      return f === null
        ? []
        : ([
            [{ source: 'lifecycle' }, f.framesIgnored],
            [{ source: 'rest' }, f.recordsIgnored],
          ] as const);
    },
  );
  counter('listener_errors_total', 'onChange/onRejected callbacks that threw (isolated; ingestion went on).', () => stats().listenerErrors);

  // ---- lifecycle frames -----------------------------------------------------------------
  counter('lifecycle_frames_total', 'Lifecycle frames handled (every type).', () => stats().lifecycle.frames);
  define('counter', 'lifecycle_messages_total', 'Lifecycle messages handled, per kind.', ['kind'], () => {
    const l = stats().lifecycle;
    return [
      [{ kind: 'market' }, l.lifecycleMessages - l.comboMessages],
      [{ kind: 'combo' }, l.comboMessages],
      [{ kind: 'combo_ignored' }, l.combosIgnored],
      [{ kind: 'event' }, l.eventMessages],
      [{ kind: 'fee_update' }, l.feeUpdates],
    ] as const;
  });
  counter('lifecycle_invalid_frames_total', 'Lifecycle frames that were not valid JSON or failed their schema.', () => stats().lifecycle.invalid);
  counter('seq_gaps_total', 'Forward jumps of `seq` (frames lost; each triggers a full REST reconcile).', () => stats().lifecycle.gaps);
  counter('duplicate_frames_total', 'Frames redelivered with a `seq` already seen (skipped).', () => stats().lifecycle.duplicates);
  counter('lifecycle_subscriptions_total', '`subscribed` acknowledgements received.', () => stats().lifecycle.subscriptions);
  counter('lifecycle_channel_errors_total', 'Error frames received on the lifecycle connection.', () => stats().lifecycle.errors);
  gauge('lifecycle_lag_seconds', "Now minus the last lifecycle frame's sending_ts_ms (absent until the handler records it).", () => {
    const sent = stats().lifecycle.lastSendingTsMs;
    return typeof sent === 'number' && Number.isFinite(sent) ? Math.max(0, now() - sent) / 1000 : undefined;
  });

  // ---- the registry's own WebSocket (absent with an external source or none) ------------
  counter('ws_connects_total', 'Successful WebSocket handshakes of the current lifecycle connection.', () => stats().socket?.connects);
  counter('ws_reconnects_total', 'WebSocket connections that ended (each followed by a reconnect, or by giving up).', () => stats().socket?.reconnects);
  counter('ws_resubscribes_total', 'Subscribe commands re-sent after a terminal channel error (10/25).', () => stats().socket?.resubscribes);
  counter('ws_frames_received_total', 'Frames received on the WebSocket.', () => stats().socket?.framesReceived);
  counter('ws_pauses_total', 'Times the socket was paused because ingestion fell behind.', () => stats().socket?.pauses);
  gauge('ws_queued_frames', 'Frames received and not yet applied.', () => stats().socket?.queued);
  define('gauge', 'lifecycle_connection', 'The lifecycle source and its connection state (1 for the current one).', ['source', 'state'], () => {
    const l = summary().lifecycle;
    return [[{ source: l.source, state: l.state }, 1]];
  });
  gauge('lifecycle_connection_failures', 'Consecutive failed lifecycle connections.', () => summary().lifecycle.attempt);

  // ---- REST (absent when the embedder supplied its own REST client) ---------------------
  counter('rest_requests_total', 'HTTP attempts sent to the REST API (retries included).', () => stats().rest?.requests);
  counter('rest_retries_total', 'Retries after 429, 5xx, network errors and timeouts.', () => stats().rest?.retries);
  counter('rest_not_found_retries_total', 'Extra attempts of GET /markets/{ticker} inside its 404-retry window.', () => stats().rest?.notFoundRetries);
  counter('rest_rate_limited_total', '429 responses.', () => stats().rest?.rateLimited);
  define('counter', 'rest_errors_total', 'Failed REST attempts, per kind.', ['kind'], () => {
    const r = stats().rest;
    return r === null
      ? []
      : ([
          [{ kind: 'server' }, r.serverErrors],
          [{ kind: 'network' }, r.networkErrors],
          [{ kind: 'timeout' }, r.timeouts],
        ] as const);
  });
  counter('rest_received_bytes_total', 'REST body bytes received on the wire.', () => stats().rest?.bytesReceived);
  counter('rest_decoded_bytes_total', 'REST body bytes after decompression.', () => stats().rest?.bytesDecoded);
  const restLatency = new Histogram({
    name: `${prefix}rest_request_duration_seconds`,
    help: 'REST attempt latency (retries included), per method, endpoint template and outcome (2xx, 4xx, 429, 5xx, timeout, network, aborted, error).',
    labelNames: ['method', 'endpoint', 'outcome'],
    buckets: REST_LATENCY_BUCKETS,
    registers: [registry],
  });
  names.push(`${prefix}rest_request_duration_seconds`);

  // ---- backpressure ---------------------------------------------------------------------
  counter('backpressure_waits_total', 'Publishes that had to wait for a slow `block` subscriber.', () => stats().changeStream.blockedPublishes);
  gauge(
    'backpressure_blocked_seconds',
    'How long ingestion has been waiting for a slow subscriber right now (0: it is not).',
    () => stats().changeStream.blockedForMs / 1000,
  );
  gauge('change_subscribers', 'Open subscribeChanges() subscriptions.', () => stats().changeStream.subscribers);
  gauge('change_backlog', 'Changes waiting for a full subscription to drain.', () => stats().changeStream.backlog);

  // ---- deadlines, reconciles ------------------------------------------------------------
  gauge('deadlines_queued', 'Open/close deadlines scheduled.', () => stats().deadlines.queued);
  counter('deadlines_fired_total', 'Deadlines that fired (implicit open/close).', () => stats().deadlines.fired);
  counter('reconciles_total', 'REST reconcile passes run.', () => stats().reconciles);
  define('gauge', 'last_reconcile_timestamp_seconds', 'When the last reconcile pass finished (Unix seconds), per mode.', ['mode'], () => {
    const last = summary().lastReconcile;
    return last === null ? [] : [[{ mode: last.mode }, seconds(last.at)]];
  });
  gauge('last_reconcile_changes', 'Changes the last reconcile pass made.', () => summary().lastReconcile?.changes);

  // ---- initial sync ---------------------------------------------------------------------
  define('gauge', 'sync_state', 'Initial sync state (1 for the current one).', ['state'], () => {
    const state = summary().sync.state;
    return SYNC_STATES.map((s) => [{ state: s }, s === state ? 1 : 0] as const);
  });
  gauge('sync_pages', 'GET /markets pages read by the initial sync.', () => summary().sync.pages);
  gauge('sync_markets', 'Markets read by the initial sync.', () => summary().sync.markets);
  gauge('sync_quarantined', 'Records the initial sync quarantined.', () => summary().sync.quarantined);
  gauge('sync_attempts', 'Initial sync attempts (failed ones retried with backoff).', () => summary().sync.attempts);
  gauge('sync_duration_seconds', 'How long the initial sync took (absent until it is done).', () => {
    const s = summary().sync;
    return s.startedAt !== null && s.finishedAt !== null ? seconds(s.finishedAt - s.startedAt) : undefined;
  });

  // ---- supervisor -----------------------------------------------------------------------
  define('gauge', 'phase', 'Supervisor phase (1 for the current one).', ['phase'], () => {
    const phase = summary().phase;
    const all: string[] = [...REGISTRY_PHASES];
    if (!all.includes(phase)) all.push(phase);
    return all.map((p) => [{ phase: p }, p === phase ? 1 : 0] as const);
  });
  gauge('problems', 'Problems the supervisor reports (the registry is degraded while there is one).', () => Object.keys(summary().problems).length);
  define(
    'gauge',
    'problem',
    'Each current problem (1), by name: exchange, exchangeStatus, lifecycle, changeStream, initialSync, reconcile, eventSync.',
    ['name'],
    () => Object.keys(summary().problems).map((name) => [{ name }, 1] as const),
  );
  gauge('pending_fetches', 'GET /markets/{ticker} fetches in flight.', () => summary().decisions.pendingFetches);
  gauge('held_tickers', 'Unknown tickers held during the initial sync.', () => summary().decisions.heldTickers);
  gauge('loss_suspected', '1 while a full reconcile is owed because events may have been lost.', () => (summary().decisions.lossSuspected === null ? 0 : 1));

  // ---- exchange (absent until the first status poll answers) ----------------------------
  gauge('exchange_active', '1 while the exchange is active (GET /exchange/status).', () => {
    const e = summary().exchange;
    return e === null ? undefined : e.exchangeActive ? 1 : 0;
  });
  gauge('trading_active', '1 while trading is active.', () => {
    const e = summary().exchange;
    return e === null ? undefined : e.tradingActive ? 1 : 0;
  });
  gauge('exchange_maintenance', '1 while the exchange is under maintenance.', () => {
    const e = summary().exchange;
    return e === null ? undefined : e.maintenance ? 1 : 0;
  });

  if (options.processMetrics) {
    // prom-client's own collectors; close() unregisters them (its event-loop-delay monitor and GC
    // observer stay enabled: one set per process is the intended use).
    const before = new Set(registry.getMetricsAsArray().map((m) => m.name));
    collectDefaultMetrics({ register: registry });
    for (const m of registry.getMetricsAsArray()) if (!before.has(m.name)) names.push(m.name);
  }

  let closed = false;
  // Every attempt of the registry's own REST client (absent with an embedder's client).
  const offRest = source.onRestRequest?.((o) => handle.observeRestRequest(o)) ?? null;
  const handle: RegistryMetrics = {
    registry,
    metrics: () => registry.metrics(),
    get contentType() {
      return registry.contentType;
    },
    observeRestRequest(o) {
      if (closed || !(o.durationMs >= 0)) return;
      restLatency.observe({ method: o.method.toUpperCase(), endpoint: o.endpoint, outcome: restOutcome(o.status) }, o.durationMs / 1000);
    },
    close() {
      if (closed) return;
      closed = true;
      offChange();
      offRejected();
      offRest?.();
      for (const name of names) registry.removeSingleMetric(name);
    },
  };
  return handle;
}
