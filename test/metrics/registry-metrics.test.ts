/**
 * registryMetrics and the health functions against a hand-built source: every figure's origin in
 * stats()/summary, absent figures, listener counters, one stats() per scrape, close().
 */
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { MARKET_STATUSES, type MarketChange } from '../../src/domain/types.js';
import { OptionsError } from '../../src/errors.js';
import type { RegistryStats } from '../../src/registry/create-registry.js';
import type { RejectedTransition } from '../../src/registry/core.js';
import type { RestRequestListener, RestRequestObservation } from '../../src/kalshi/rest-client.js';
import { createSummaryStore, type RegistrySummary } from '../../src/registry/summary-store.js';
import { emptyStatusCounts } from '../../src/store/market-store.js';
import { livenessOf, readinessOf, registryMetrics, REGISTRY_PHASES, type MetricsSource } from '../../src/metrics/index.js';

/** Samples of a Prometheus text exposition: `name{a="x",b="y"}` → value. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`unparsable exposition line: ${line}`);
    out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

function baseStats(): Mutable<RegistryStats> {
  return {
    markets: 0,
    active: 0,
    events: 0,
    statusCounts: emptyStatusCounts(),
    counters: {
      changes: 0,
      rejected: 0,
      ignoredAfterFinal: 0,
      quarantined: 0,
      duplicateCreates: 0,
      staleObservations: 0,
      unknownTickerEvents: 0,
      staleFrames: 0,
    },
    lifecycle: {
      frames: 0,
      lifecycleMessages: 0,
      eventMessages: 0,
      feeUpdates: 0,
      duplicates: 0,
      gaps: 0,
      subscriptions: 0,
      errors: 0,
      invalid: 0,
      comboMessages: 0,
      combosIgnored: 0,
      lastSendingTsMs: null,
    },
    socket: null,
    rest: null,
    changeStream: { published: 0, subscribers: 0, blockedPublishes: 0, backlog: 0, blockedForMs: 0 },
    deadlines: { queued: 0, fired: 0 },
    reconciles: 0,
    listenerErrors: 0,
    loadFilter: null,
  } as Mutable<RegistryStats>;
}

function fakeSource() {
  const stats = baseStats();
  let statsCalls = 0;
  const summary = createSummaryStore('websocket');
  const changeListeners = new Set<(c: MarketChange) => void>();
  const rejectedListeners = new Set<(r: RejectedTransition) => void>();
  const restListeners = new Set<RestRequestListener>();
  const source: MetricsSource = {
    stats: () => {
      statsCalls++;
      return structuredClone(stats);
    },
    summary,
    onChange: (fn) => {
      changeListeners.add(fn);
      return () => changeListeners.delete(fn);
    },
    onRejected: (fn) => {
      rejectedListeners.add(fn);
      return () => rejectedListeners.delete(fn);
    },
    onRestRequest: (fn) => {
      restListeners.add(fn);
      return () => restListeners.delete(fn);
    },
  };
  return {
    source,
    stats,
    summary,
    patch: (p: Partial<RegistrySummary>) => summary.trigger.derived({ patch: p }),
    change: (eventType: MarketChange['eventType']) => {
      for (const fn of changeListeners) fn({ ticker: 'T', eventType } as MarketChange);
    },
    reject: (r: Partial<RejectedTransition>) => {
      for (const fn of rejectedListeners) fn({ ticker: 'T', status: 'active', event: 'settled', source: 'websocket', at: 0, ...r });
    },
    rest: (o: Partial<RestRequestObservation>) => {
      for (const fn of restListeners) fn({ method: 'GET', endpoint: '/markets', status: 200, durationMs: 10, attempt: 1, retry: false, ...o });
    },
    listeners: () => changeListeners.size + rejectedListeners.size + restListeners.size,
    statsCalls: () => statsCalls,
  };
}

const P = 'kalshi_registry_';

describe('registryMetrics', () => {
  it('reads markets per status, events, phase, problems and sync progress on each scrape', async () => {
    const f = fakeSource();
    const m = registryMetrics(f.source);
    let s = parse(await m.metrics());
    for (const status of MARKET_STATUSES) expect(s.get(`${P}markets{status="${status}"}`)).toBe(0);
    expect(s.get(`${P}phase{phase="idle"}`)).toBe(1);
    for (const phase of REGISTRY_PHASES) if (phase !== 'idle') expect(s.get(`${P}phase{phase="${phase}"}`)).toBe(0);
    expect(s.get(`${P}sync_state{state="pending"}`)).toBe(1);

    f.stats.statusCounts.active = 7;
    f.stats.statusCounts.finalized = 3;
    f.stats.events = 4;
    f.patch({
      phase: 'running.degraded',
      problems: { exchange: 'the exchange is under maintenance' },
      sync: {
        state: 'done',
        pages: 5,
        markets: 10,
        quarantined: 1,
        startedAt: 1_000_000,
        finishedAt: 3_500_000,
        attempts: 1,
        lastError: null,
        lastErrorPermanent: false,
      },
    });
    s = parse(await m.metrics());
    expect(s.get(`${P}markets{status="active"}`)).toBe(7);
    expect(s.get(`${P}markets{status="finalized"}`)).toBe(3);
    expect(s.get(`${P}events`)).toBe(4);
    expect(s.get(`${P}phase{phase="running.degraded"}`)).toBe(1);
    expect(s.get(`${P}phase{phase="idle"}`)).toBe(0);
    expect(s.get(`${P}problems`)).toBe(1);
    expect(s.get(`${P}problem{name="exchange"}`)).toBe(1);
    expect(s.get(`${P}sync_state{state="done"}`)).toBe(1);
    expect(s.get(`${P}sync_pages`)).toBe(5);
    expect(s.get(`${P}sync_markets`)).toBe(10);
    expect(s.get(`${P}sync_quarantined`)).toBe(1);
    expect(s.get(`${P}sync_duration_seconds`)).toBe(2.5);

    // A phase the list does not know is still reported.
    f.patch({ phase: 'somethingNew', problems: {} });
    s = parse(await m.metrics());
    expect(s.get(`${P}phase{phase="somethingNew"}`)).toBe(1);
    expect(s.get(`${P}problems`)).toBe(0);
    expect([...s.keys()].some((k) => k.startsWith(`${P}problem{`))).toBe(false);
    m.close();
  });

  it('counts changes per event type and rejections per source and event through the listeners', async () => {
    const f = fakeSource();
    const m = registryMetrics(f.source);
    let s = parse(await m.metrics());
    for (const t of ['created', 'status_change', 'settled']) expect(s.get(`${P}changes_total{event_type="${t}"}`)).toBe(0);
    f.change('created');
    f.change('created');
    f.change('settled');
    f.reject({});
    f.reject({});
    f.reject({ source: 'reconcile', event: 'observed:active' });
    s = parse(await m.metrics());
    expect(s.get(`${P}changes_total{event_type="created"}`)).toBe(2);
    expect(s.get(`${P}changes_total{event_type="status_change"}`)).toBe(0);
    expect(s.get(`${P}changes_total{event_type="settled"}`)).toBe(1);
    expect(s.get(`${P}rejected_transitions_total{source="websocket",event="settled"}`)).toBe(2);
    expect(s.get(`${P}rejected_transitions_total{source="reconcile",event="observed:active"}`)).toBe(1);
    m.close();
  });

  it('copies the counters of stats(): frames, gaps, duplicates, quarantines, backpressure, socket, REST', async () => {
    const f = fakeSource();
    const m = registryMetrics(f.source);
    Object.assign(f.stats.counters, { quarantined: 2, ignoredAfterFinal: 1, unknownTickerEvents: 4, staleFrames: 5 });
    Object.assign(f.stats.lifecycle, {
      frames: 100,
      lifecycleMessages: 60,
      comboMessages: 10,
      combosIgnored: 0,
      eventMessages: 7,
      feeUpdates: 3,
      gaps: 2,
      duplicates: 6,
      invalid: 1,
      errors: 1,
      subscriptions: 2,
    });
    Object.assign(f.stats.changeStream, { blockedPublishes: 9, blockedForMs: 1500, subscribers: 2, backlog: 12 });
    f.stats.socket = { state: 'active.connection.subscribed', connects: 3, reconnects: 2, resubscribes: 1, framesReceived: 101, queued: 4, pauses: 1 };
    f.stats.rest = {
      requests: 40,
      retries: 5,
      notFoundRetries: 1,
      rateLimited: 3,
      serverErrors: 2,
      networkErrors: 1,
      timeouts: 0,
      bytesReceived: 1000,
      bytesDecoded: 4000,
    };
    f.stats.deadlines = { queued: 11, fired: 8 };
    f.stats.reconciles = 2;
    const s = parse(await m.metrics());
    expect(s.get(`${P}quarantined_total`)).toBe(2);
    expect(s.get(`${P}ignored_after_final_total`)).toBe(1);
    expect(s.get(`${P}unknown_ticker_events_total`)).toBe(4);
    expect(s.get(`${P}stale_frames_total`)).toBe(5);
    expect(s.get(`${P}lifecycle_frames_total`)).toBe(100);
    expect(s.get(`${P}lifecycle_messages_total{kind="market"}`)).toBe(50);
    expect(s.get(`${P}lifecycle_messages_total{kind="combo"}`)).toBe(10);
    expect(s.get(`${P}lifecycle_messages_total{kind="event"}`)).toBe(7);
    expect(s.get(`${P}lifecycle_messages_total{kind="fee_update"}`)).toBe(3);
    expect(s.get(`${P}seq_gaps_total`)).toBe(2);
    expect(s.get(`${P}duplicate_frames_total`)).toBe(6);
    expect(s.get(`${P}lifecycle_invalid_frames_total`)).toBe(1);
    expect(s.get(`${P}backpressure_waits_total`)).toBe(9);
    expect(s.get(`${P}backpressure_blocked_seconds`)).toBe(1.5);
    expect(s.get(`${P}change_subscribers`)).toBe(2);
    expect(s.get(`${P}change_backlog`)).toBe(12);
    expect(s.get(`${P}ws_connects_total`)).toBe(3);
    expect(s.get(`${P}ws_reconnects_total`)).toBe(2);
    expect(s.get(`${P}ws_queued_frames`)).toBe(4);
    expect(s.get(`${P}rest_requests_total`)).toBe(40);
    expect(s.get(`${P}rest_retries_total`)).toBe(5);
    expect(s.get(`${P}rest_rate_limited_total`)).toBe(3);
    expect(s.get(`${P}rest_errors_total{kind="server"}`)).toBe(2);
    expect(s.get(`${P}rest_errors_total{kind="network"}`)).toBe(1);
    expect(s.get(`${P}rest_received_bytes_total`)).toBe(1000);
    expect(s.get(`${P}deadlines_queued`)).toBe(11);
    expect(s.get(`${P}deadlines_fired_total`)).toBe(8);
    expect(s.get(`${P}reconciles_total`)).toBe(2);
    m.close();
  });

  it('leaves absent what the registry does not have: REST, socket, exchange, lifecycle lag, REST latency', async () => {
    const f = fakeSource();
    const m = registryMetrics(f.source, { now: () => 10_000 });
    const text = await m.metrics();
    const s = parse(text);
    for (const name of [
      'rest_requests_total',
      'rest_rate_limited_total',
      'ws_connects_total',
      'ws_queued_frames',
      'exchange_active',
      'exchange_maintenance',
      'lifecycle_lag_seconds',
      'sync_duration_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${P}${name} `); // declared…
      expect(s.has(`${P}${name}`)).toBe(false); // …with no sample
    }
    expect([...s.keys()].some((k) => k.startsWith(`${P}rest_errors_total`) || k.startsWith(`${P}rest_request_duration_seconds`))).toBe(false);

    // Once they exist they appear.
    f.patch({ exchange: { exchangeActive: false, tradingActive: false, estimatedResumeTs: null, observedAt: 0, maintenance: true } });
    (f.stats.lifecycle as Record<string, unknown>)['lastSendingTsMs'] = 7_500;
    const s2 = parse(await m.metrics());
    expect(s2.get(`${P}exchange_active`)).toBe(0);
    expect(s2.get(`${P}trading_active`)).toBe(0);
    expect(s2.get(`${P}exchange_maintenance`)).toBe(1);
    expect(s2.get(`${P}lifecycle_lag_seconds`)).toBe(2.5);
    m.close();
  });

  it('feeds the REST latency histogram from observeRestRequest, per method, endpoint template and outcome', async () => {
    const m = registryMetrics(fakeSource().source);
    const at = (o: Pick<RestRequestObservation, 'status' | 'durationMs'> & Partial<RestRequestObservation>): RestRequestObservation => ({
      method: 'GET',
      endpoint: '/markets',
      attempt: 1,
      retry: false,
      ...o,
    });
    m.observeRestRequest(at({ method: 'get', status: 200, durationMs: 20 }));
    m.observeRestRequest(at({ status: 200, durationMs: 300 }));
    m.observeRestRequest(at({ status: 429, durationMs: 5, attempt: 2, retry: true }));
    m.observeRestRequest(at({ status: 'timeout', durationMs: 10_000 }));
    m.observeRestRequest(at({ endpoint: '/markets/{ticker}', status: 404, durationMs: 3 }));
    m.observeRestRequest(at({ status: 'aborted', durationMs: 1 }));
    m.observeRestRequest(at({ status: 200, durationMs: Number.NaN })); // ignored
    const s = parse(await m.metrics());
    const H = `${P}rest_request_duration_seconds`;
    expect(s.get(`${H}_count{method="GET",endpoint="/markets",outcome="2xx"}`)).toBe(2);
    expect(s.get(`${H}_sum{method="GET",endpoint="/markets",outcome="2xx"}`)).toBeCloseTo(0.32);
    expect(s.get(`${H}_bucket{le="0.025",method="GET",endpoint="/markets",outcome="2xx"}`)).toBe(1);
    expect(s.get(`${H}_count{method="GET",endpoint="/markets",outcome="429"}`)).toBe(1);
    expect(s.get(`${H}_count{method="GET",endpoint="/markets",outcome="timeout"}`)).toBe(1);
    expect(s.get(`${H}_count{method="GET",endpoint="/markets/{ticker}",outcome="4xx"}`)).toBe(1);
    expect(s.get(`${H}_count{method="GET",endpoint="/markets",outcome="aborted"}`)).toBe(1);
    m.close();
  });

  it("subscribes to the source's REST attempts (onRestRequest) and lets go of them on close", async () => {
    const f = fakeSource();
    const m = registryMetrics(f.source);
    f.rest({ status: 200, durationMs: 40 });
    f.rest({ status: 429, durationMs: 2, endpoint: '/events' });
    const s = parse(await m.metrics());
    expect(s.get(`${P}rest_request_duration_seconds_count{method="GET",endpoint="/markets",outcome="2xx"}`)).toBe(1);
    expect(s.get(`${P}rest_request_duration_seconds_count{method="GET",endpoint="/events",outcome="429"}`)).toBe(1);
    m.close();
    expect(f.listeners()).toBe(0);
  });

  it('counts what a load filter kept out, per source, and has no sample without a load filter', async () => {
    const f = fakeSource();
    const m = registryMetrics(f.source);
    let s = parse(await m.metrics());
    expect([...s.keys()].some((k) => k.startsWith(`${P}load_filter_ignored_total`))).toBe(false);
    f.stats.loadFilter = { framesIgnored: 7, recordsIgnored: 3 };
    s = parse(await m.metrics());
    expect(s.get(`${P}load_filter_ignored_total{source="lifecycle"}`)).toBe(7);
    expect(s.get(`${P}load_filter_ignored_total{source="rest"}`)).toBe(3);
  });

  it('takes one stats() snapshot per scrape, however many metrics read it', async () => {
    const f = fakeSource();
    const m = registryMetrics(f.source);
    await m.metrics();
    expect(f.statsCalls()).toBe(1);
    await m.metrics();
    expect(f.statsCalls()).toBe(2);
    m.close();
  });

  it('registers in a given prom-client Registry under a prefix; close() detaches and unregisters', async () => {
    const shared = new Registry();
    const a = fakeSource();
    const b = fakeSource();
    const ma = registryMetrics(a.source, { registry: shared, prefix: 'prod_' });
    const mb = registryMetrics(b.source, { registry: shared, prefix: 'demo_' });
    a.stats.statusCounts.active = 1;
    b.stats.statusCounts.active = 2;
    let s = parse(await shared.metrics());
    expect(s.get('prod_markets{status="active"}')).toBe(1);
    expect(s.get('demo_markets{status="active"}')).toBe(2);
    expect(ma.registry).toBe(shared);
    ma.close();
    ma.close();
    expect(a.listeners()).toBe(0);
    s = parse(await shared.metrics());
    expect([...s.keys()].some((k) => k.startsWith('prod_'))).toBe(false);
    expect(s.get('demo_markets{status="active"}')).toBe(2);
    mb.close();
    expect(shared.getMetricsAsArray()).toHaveLength(0);
  });

  it('adds the process metrics on request and removes them on close', async () => {
    const m = registryMetrics(fakeSource().source, { processMetrics: true });
    const text = await m.metrics();
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);
    m.close();
    expect(m.registry.getMetricsAsArray()).toHaveLength(0);
  });

  it('refuses a prefix that is no Prometheus name', () => {
    expect(() => registryMetrics(fakeSource().source, { prefix: 'bad-prefix' })).toThrow(OptionsError);
  });
});

describe('livenessOf / readinessOf', () => {
  const summary = (p: Partial<RegistrySummary>): RegistrySummary => ({ ...createSummaryStore('websocket').getSnapshot().context, ...p });
  const done = {
    state: 'done',
    pages: 3,
    markets: 2500,
    quarantined: 0,
    startedAt: 1,
    finishedAt: 2,
    attempts: 1,
    lastError: null,
    lastErrorPermanent: false,
  } as const;

  it('is live until the registry stops', () => {
    expect(livenessOf(summary({ phase: 'idle' })).live).toBe(true);
    expect(livenessOf(summary({ phase: 'syncing' })).live).toBe(true);
    expect(livenessOf(summary({ phase: 'running.degraded' })).live).toBe(true);
    expect(livenessOf(summary({ phase: 'stopping' })).live).toBe(false);
    expect(livenessOf(summary({ phase: 'stopped' })).live).toBe(false);
  });

  it('is ready only when the sync is done and the supervisor is running.healthy, and says why not', () => {
    expect(readinessOf(summary({ phase: 'running.healthy', sync: done }))).toMatchObject({ ready: true, reasons: [] });
    const idle = readinessOf(summary({ phase: 'idle' }));
    expect(idle.ready).toBe(false);
    expect(idle.reasons).toEqual(['the registry has not been started', 'the initial sync is not done (pending, 0 pages, 0 markets so far)']);
    const backoff = readinessOf(summary({ phase: 'syncBackoff', sync: { ...done, state: 'running', finishedAt: null, lastError: 'HTTP 503' } }));
    expect(backoff.reasons).toEqual(['the initial sync is not done (running, 3 pages, 2500 markets so far; last attempt failed: HTTP 503)']);
    const degraded = readinessOf(summary({ phase: 'running.degraded', sync: done, problems: { exchange: 'maintenance' } }));
    expect(degraded).toMatchObject({ ready: false, reasons: ['the registry is degraded (exchange: maintenance)'], problems: { exchange: 'maintenance' } });
    expect(readinessOf(summary({ phase: 'stopped', sync: done })).reasons).toEqual(['the registry is stopped']);
  });
});
