/**
 * RegistryCore: every status change goes through the derived transition table; accepted changes
 * are written to the store and published, rejected ones are counted and reported, never applied.
 *
 * The clock is always injected (a variable in µs); the one scheduler integration test runs the
 * real DeadlineScheduler under fake timers with the faked Date as clock.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { RegistryCore, type RejectedTransition } from '../../src/registry/core.js';
import { ChangeStream } from '../../src/registry/change-stream.js';
import { DeadlineScheduler } from '../../src/registry/deadline-scheduler.js';
import { MarketStore } from '../../src/store/market-store.js';
import { silentLogger } from '../../src/log.js';
import { lifecycleUpdateFromMsg, parseMarketRecord, TRADING_STATUS_BY_MARKET_STATUS, withStatus, type LifecycleUpdate } from '../../src/domain/mapping.js';
import { LifecycleMsgSchema } from '../../src/kalshi/schemas.js';
import { MARKET_STATUSES, type MarketStatus } from '../../src/domain/vocabulary.js';
import { MARKET_TRANSITIONS, TRANSITION_KEYS, observedKey, type TransitionKey } from '../../src/lifecycle/transition-table.js';
import { dueTimeEvents, timeAdjustedStatus } from '../../src/lifecycle/time-rules.js';
import type { Market, MarketChange, Micros } from '../../src/domain/types.js';
import { lifecycleFrames, marketRecord } from '../fixtures/kalshi.js';
import { asPriceE4 } from '../../src/domain/units.js';

const SEC = 1_000_000;
/** REST fixture: open 2026-11-23T15:00Z, close 2026-11-25T04:59Z. */
const REST_CLOSE = Date.UTC(2026, 10, 25, 4, 59) * 1000;
/** Between open and close of the REST fixture. */
const NOW0 = Date.UTC(2026, 10, 24, 12) * 1000;
const T = marketRecord.ticker;
/** The WS fixtures use the same ticker; their times are in 2025 (open_ts 1763910000, close_ts 1764046740). */
const WS_NOW = 1_764_000_000 * SEC;
/** Before the WS fixture's open_ts. */
const WS_BEFORE_OPEN = 1_763_900_000 * SEC;
/** A close_ts (Unix seconds) after NOW0, for close_date_updated frames that extend. */
const LATER_CLOSE_S = NOW0 / SEC + 3 * 86_400;

function restMarket(overrides: Record<string, unknown> = {}, now: Micros = NOW0): Market {
  const r = parseMarketRecord({ ...marketRecord, ...overrides }, now);
  if (!r.ok) throw r.error;
  return r.value;
}

type FrameName =
  'created' | 'activated' | 'deactivated' | 'close_date_updated' | 'determined' | 'settled' | 'metadata_updated' | 'price_level_structure_updated';
function update(name: FrameName, now: Micros, msgOverrides: Record<string, unknown> = {}): LifecycleUpdate {
  return lifecycleUpdateFromMsg(LifecycleMsgSchema.parse({ ...lifecycleFrames[name].msg, ...msgOverrides }), now);
}

function setup(options: { capacity?: number; quarantineKeep?: number; now?: Micros } = {}) {
  let now = options.now ?? NOW0;
  const store = new MarketStore();
  const changes = new ChangeStream(options.capacity ?? 3);
  const core = new RegistryCore({
    store,
    changes,
    now: () => now,
    logger: silentLogger,
    ...(options.quarantineKeep === undefined ? {} : { quarantineKeep: options.quarantineKeep }),
  });
  const emitted: MarketChange[] = [];
  changes.onChange((c) => emitted.push(c));
  const rejected: RejectedTransition[] = [];
  core.onRejected((r) => rejected.push(r));
  /** Puts a market in the store directly (no change emitted), updated just before `now`. */
  const seed = (status: MarketStatus, overrides: Partial<Market> = {}): Market => {
    // An initialized market has not reached its open time (or the time rules would open it).
    const times: Partial<Market> = status === 'initialized' ? { openTs: now + 3600 * SEC, closeTs: now + 7200 * SEC } : {};
    const m = withStatus({ ...restMarket({}, now - 1), ...times, ...overrides }, status, now - 1);
    store.set(m);
    return m;
  };
  return {
    core,
    store,
    changes,
    emitted,
    rejected,
    seed,
    now: () => now,
    setNow: (us: Micros) => void (now = us),
    advance: (us: Micros) => void (now += us),
  };
}

describe('RegistryCore.observe (REST reads)', () => {
  it('inserts an unknown market and publishes `created` with oldStatus null', () => {
    const h = setup();
    const incoming = restMarket({}, NOW0 - 5 * SEC);
    expect(h.core.observe(incoming, NOW0 - 5 * SEC, 'sync')).toBeUndefined();
    const stored = h.store.get(T);
    expect(stored).toBeDefined();
    expect(stored!.marketStatus).toBe('active');
    expect(stored!.updatedAt).toBe(NOW0);
    expect(stored!.yesBid).toBe(5600);
    expect(h.emitted).toEqual([{ ticker: T, eventType: 'created', oldStatus: null, newStatus: 'active', market: stored }]);
    // The change carries a frozen snapshot of the stored market (equal to what get() returns).
    expect(h.emitted[0]!.market).toEqual(stored);
    expect(Object.isFrozen(h.emitted[0]!.market)).toBe(true);
    expect(h.core.counters.changes).toBe(1);
  });

  it('a legal forward status publishes status_change with old/new status and the new market object', () => {
    const h = setup();
    void h.core.observe(restMarket(), NOW0, 'sync');
    h.advance(10 * SEC);
    void h.core.observe(restMarket({ status: 'closed', last_price_dollars: '0.9000' }), h.now(), 'reconcile');
    const stored = h.store.get(T)!;
    expect(stored.marketStatus).toBe('closed');
    expect(stored.tradingStatus).toBe('closed');
    expect(stored.lastPrice).toBe(9000);
    expect(stored.updatedAt).toBe(h.now());
    expect(h.emitted).toHaveLength(2);
    expect(h.emitted[1]).toEqual({ ticker: T, eventType: 'status_change', oldStatus: 'active', newStatus: 'closed', market: stored });
    expect(h.emitted[1]!.market).toEqual(stored);
    expect(Object.isFrozen(h.emitted[1]!.market)).toBe(true);
    expect(h.core.counters.changes).toBe(2);
  });

  it('REST may skip states the registry never saw (active → determined in one step)', () => {
    const h = setup();
    void h.core.observe(restMarket(), NOW0, 'sync');
    h.advance(1);
    void h.core.observe(restMarket({ status: 'determined', result: 'no' }), h.now(), 'reconcile');
    expect(h.emitted.at(-1)).toMatchObject({ eventType: 'status_change', oldStatus: 'active', newStatus: 'determined' });
    expect(h.store.get(T)!.result).toBe('no');
  });

  it('observing finalized publishes `settled` without a market', () => {
    const h = setup();
    h.seed('determined');
    void h.core.observe(restMarket({ status: 'finalized', result: 'yes' }), h.now(), 'fetch');
    expect(h.emitted).toEqual([{ ticker: T, eventType: 'settled', oldStatus: 'determined', newStatus: 'finalized' }]);
    expect('market' in h.emitted[0]!).toBe(false);
    expect(h.store.get(T)!.marketStatus).toBe('finalized');
    expect(h.store.get(T)!.tradingStatus).toBe('settled');
  });

  it('an illegal (backwards) status is rejected: counted, reported, status kept, other data taken', () => {
    const h = setup();
    h.seed('determined', { result: 'yes' });
    const before = h.store.get(T)!;
    expect(h.core.observe(restMarket({ status: 'active', yes_bid_dollars: '0.6100' }), h.now(), 'reconcile')).toBeUndefined();
    expect(h.core.counters.rejected).toBe(1);
    expect(h.rejected).toEqual([{ ticker: T, status: 'determined', event: 'observed:active', source: 'reconcile', at: h.now() }]);
    const after = h.store.get(T)!;
    expect(after.marketStatus).toBe('determined');
    expect(after.tradingStatus).toBe('closed');
    expect(after.yesBid).toBe(6100);
    expect(after).not.toBe(before);
    expect(h.emitted).toEqual([]);
    expect(h.core.counters.changes).toBe(0);
  });

  it('a rejected observation of a finalized market counts as ignoredAfterFinal, not rejected', () => {
    const h = setup();
    h.seed('finalized');
    void h.core.observe(restMarket({ status: 'active' }), h.now(), 'reconcile');
    expect(h.core.counters.ignoredAfterFinal).toBe(1);
    expect(h.core.counters.rejected).toBe(0);
    expect(h.rejected).toEqual([]);
    expect(h.store.get(T)!.marketStatus).toBe('finalized');
    expect(h.emitted).toEqual([]);
  });

  it('the same status with new data updates the record silently; identical data writes nothing', () => {
    const h = setup();
    void h.core.observe(restMarket(), NOW0, 'sync');
    h.advance(SEC);
    void h.core.observe(restMarket({ yes_ask_dollars: '0.5900' }), h.now(), 'reconcile');
    expect(h.store.get(T)!.yesAsk).toBe(5900);
    expect(h.store.get(T)!.updatedAt).toBe(h.now());
    expect(h.emitted).toHaveLength(1);
    const version = h.store.version;
    const record = h.store.get(T);
    h.advance(SEC);
    void h.core.observe(restMarket({ yes_ask_dollars: '0.5900' }), h.now(), 'reconcile');
    expect(h.store.version).toBe(version);
    expect(h.store.get(T)).toBe(record);
  });

  it('a stale observation (record updated locally after observedAt) is skipped and counted', () => {
    const h = setup();
    void h.core.observe(restMarket(), NOW0, 'sync'); // updatedAt = NOW0
    const record = h.store.get(T);
    const version = h.store.version;
    h.advance(SEC);
    void h.core.observe(restMarket({ status: 'closed', yes_bid_dollars: '0.1000' }), NOW0 - 1, 'reconcile');
    expect(h.core.counters.staleObservations).toBe(1);
    expect(h.store.get(T)).toBe(record);
    expect(h.store.version).toBe(version);
    expect(h.emitted).toHaveLength(1);

    // A read sent at the very instant of the local write is not older than it: applied.
    void h.core.observe(restMarket({ status: 'closed' }), NOW0, 'reconcile');
    expect(h.core.counters.staleObservations).toBe(1);
    expect(h.store.get(T)!.marketStatus).toBe('closed');
  });

  it('REST says active but close_time has passed: treated as closed (time rules)', () => {
    const h = setup();
    void h.core.observe(restMarket(), NOW0, 'sync');
    h.setNow(REST_CLOSE + SEC);
    void h.core.observe(restMarket({ status: 'active' }), h.now(), 'reconcile');
    expect(h.store.get(T)!.marketStatus).toBe('closed');
    expect(h.emitted.at(-1)).toMatchObject({ eventType: 'status_change', oldStatus: 'active', newStatus: 'closed' });
    expect(h.core.counters.rejected).toBe(0);
  });

  it('REST says initialized but open_time has passed: treated as active; both passed: closed', () => {
    const h = setup();
    h.seed('initialized');
    void h.core.observe(restMarket({ status: 'initialized' }), h.now(), 'reconcile');
    expect(h.emitted).toEqual([expect.objectContaining({ oldStatus: 'initialized', newStatus: 'active' })]);

    const h2 = setup({ now: REST_CLOSE });
    h2.seed('initialized');
    void h2.core.observe(restMarket({ status: 'initialized' }), h2.now(), 'reconcile');
    expect(h2.emitted).toEqual([expect.objectContaining({ oldStatus: 'initialized', newStatus: 'closed' })]);
  });

  it('returns a promise when the change stream applies backpressure, resolved once the consumer reads', async () => {
    const h = setup({ capacity: 1 });
    const sub = h.changes.subscribe();
    expect(h.core.observe(restMarket(), NOW0, 'sync')).toBeUndefined();
    const pending = h.core.observe(restMarket({ ticker: 'OTHER-1' }), NOW0, 'sync');
    expect(pending).toBeInstanceOf(Promise);
    // The store is updated at once; only delivery waits.
    expect(h.store.get('OTHER-1')).toBeDefined();
    let done = false;
    void pending!.then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    expect((await sub.next()).value).toMatchObject({ ticker: T });
    await pending;
    expect((await sub.next()).value).toMatchObject({ ticker: 'OTHER-1' });
  });
});

describe('RegistryCore.applyLifecycle (market_lifecycle_v2)', () => {
  it('created inserts an initialized market from the message alone; a duplicate created is counted', () => {
    const h = setup({ now: WS_BEFORE_OPEN });
    expect(h.core.applyLifecycle(update('created', WS_BEFORE_OPEN))).toBeUndefined();
    const m = h.store.get(T)!;
    expect(m).toMatchObject({
      ticker: T,
      eventTicker: 'KXHIGHNY-26NOV24',
      marketStatus: 'initialized',
      tradingStatus: 'unopened',
      openTs: 1_763_910_000 * SEC,
      closeTs: 1_764_046_740 * SEC,
      expirationTs: 1_764_082_800 * SEC,
      updatedAt: WS_BEFORE_OPEN,
    });
    expect(h.emitted).toEqual([{ ticker: T, eventType: 'created', oldStatus: null, newStatus: 'initialized', market: m }]);

    h.advance(SEC);
    void h.core.applyLifecycle(update('created', h.now()));
    expect(h.core.counters.duplicateCreates).toBe(1);
    expect(h.store.get(T)).toBe(m);
    expect(h.emitted).toHaveLength(1);
  });

  // Issue: a settlement was lost after an early close, because the implicit close waited for the
  // deadline timer while the frames were checked against the stale status.
  it('early close then determined + settled back to back: closed, determined, finalized, no rejection', () => {
    const h = setup();
    h.seed('active');
    const nowS = h.now() / SEC;
    void h.core.applyLifecycle(update('close_date_updated', h.now(), { close_ts: nowS - 1 }));
    void h.core.applyLifecycle(update('determined', h.now(), { result: 'no' }));
    expect(h.store.get(T)).toMatchObject({ marketStatus: 'determined', result: 'no' });
    void h.core.applyLifecycle(update('settled', h.now()));
    expect(h.emitted.map((c) => [c.oldStatus, c.newStatus])).toEqual([
      ['active', 'closed'],
      ['closed', 'determined'],
      ['determined', 'finalized'],
    ]);
    expect(h.rejected).toEqual([]);
    expect(h.store.get(T)).toMatchObject({ marketStatus: 'finalized', result: 'no', closeTs: (nowS - 1) * SEC });
  });

  it('a frame for a market whose close time passed unnoticed is judged after the implicit close', () => {
    const h = setup();
    h.seed('active', { closeTs: h.now() - SEC });
    void h.core.applyLifecycle(update('determined', h.now()));
    expect(h.emitted.map((c) => [c.oldStatus, c.newStatus])).toEqual([
      ['active', 'closed'],
      ['closed', 'determined'],
    ]);
    expect(h.rejected).toEqual([]);
  });

  it('created with open_ts in the past is born active; a deactivated right after is legal', () => {
    const h = setup({ now: WS_NOW });
    void h.core.applyLifecycle(update('created', WS_NOW));
    void h.core.applyLifecycle(update('deactivated', WS_NOW));
    expect(h.emitted.map((c) => [c.eventType, c.oldStatus, c.newStatus])).toEqual([
      ['created', null, 'active'],
      ['status_change', 'active', 'inactive'],
    ]);
    expect(h.rejected).toEqual([]);
  });

  it('a REST observation is judged after the due time transitions of the local record', () => {
    const h = setup();
    h.seed('active', { closeTs: h.now() - SEC });
    void h.core.observe(restMarket({ status: 'determined', result: 'yes', close_time: new Date((h.now() - SEC) / 1000).toISOString() }), h.now(), 'reconcile');
    expect(h.emitted.map((c) => [c.oldStatus, c.newStatus])).toEqual([
      ['active', 'closed'],
      ['closed', 'determined'],
    ]);
    expect(h.rejected).toEqual([]);
  });

  // §8.2 rows (the exhaustive table-driven test below covers every other pair).
  const legal: [FrameName, MarketStatus, MarketStatus][] = [
    ['activated', 'inactive', 'active'],
    ['activated', 'closed', 'active'],
    ['deactivated', 'active', 'inactive'],
    ['determined', 'closed', 'determined'],
  ];
  it.each(legal)('%s moves %s → %s and publishes status_change', (name, from, to) => {
    const h = setup();
    h.seed(from);
    void h.core.applyLifecycle(update(name, h.now()));
    const m = h.store.get(T)!;
    expect(m.marketStatus).toBe(to);
    expect(m.tradingStatus).toBe(TRADING_STATUS_BY_MARKET_STATUS[to]);
    expect(m.updatedAt).toBe(h.now());
    expect(h.emitted).toEqual([{ ticker: T, eventType: 'status_change', oldStatus: from, newStatus: to, market: m }]);
    expect(h.core.counters.rejected).toBe(0);
  });

  it('determined patches the result', () => {
    const h = setup();
    h.seed('closed');
    void h.core.applyLifecycle(update('determined', h.now()));
    expect(h.store.get(T)!.result).toBe('yes');
    // Without a result field the result is left alone.
    const h2 = setup();
    h2.seed('closed', { result: '' });
    void h2.core.applyLifecycle(update('determined', h2.now(), { result: undefined }));
    expect(h2.store.get(T)!).toMatchObject({ marketStatus: 'determined', result: '' });
  });

  it.each(['determined', 'amended'] as const)('settled moves %s → finalized and publishes `settled` without a market', (from) => {
    const h = setup();
    h.seed(from);
    void h.core.applyLifecycle(update('settled', h.now()));
    expect(h.store.get(T)!.marketStatus).toBe('finalized');
    expect(h.emitted).toEqual([{ ticker: T, eventType: 'settled', oldStatus: from, newStatus: 'finalized' }]);
  });

  it.each(['initialized', 'active', 'inactive', 'closed'] as const)('close_date_updated on %s patches closeTs without a status change', (status) => {
    const h = setup();
    h.seed(status);
    const version = h.store.version;
    expect(h.core.applyLifecycle(update('close_date_updated', h.now(), { close_ts: LATER_CLOSE_S }))).toBeUndefined();
    expect(h.store.get(T)!).toMatchObject({ marketStatus: status, closeTs: LATER_CLOSE_S * SEC, updatedAt: h.now() });
    expect(h.store.version).toBe(version + 1);
    expect(h.emitted).toEqual([]);
    expect(h.core.counters.rejected).toBe(0);
  });

  const duplicates: [FrameName, MarketStatus][] = [
    ['activated', 'active'],
    ['deactivated', 'inactive'],
    ['determined', 'determined'],
    ['determined', 'amended'],
  ];
  it.each(duplicates)('a redelivered %s in %s is accepted without a change', (name, status) => {
    const h = setup();
    h.seed(status);
    void h.core.applyLifecycle(update(name, h.now()));
    expect(h.store.get(T)!.marketStatus).toBe(status);
    expect(h.emitted).toEqual([]);
    expect(h.core.counters.rejected).toBe(0);
    expect(h.core.counters.changes).toBe(0);
  });

  const illegal: [FrameName, MarketStatus][] = [
    ['deactivated', 'initialized'],
    ['determined', 'active'],
    ['determined', 'inactive'],
    ['settled', 'closed'],
    ['settled', 'active'],
    ['activated', 'determined'],
  ];
  it.each(illegal)('an illegal %s in %s is rejected, reported, never applied or emitted', (name, status) => {
    const h = setup();
    const seeded = h.seed(status);
    const version = h.store.version;
    expect(h.core.applyLifecycle(update(name, h.now()))).toBeUndefined();
    expect(h.store.get(T)).toEqual(seeded); // not even the patch is written
    expect(h.store.version).toBe(version);
    expect(h.emitted).toEqual([]);
    expect(h.core.counters.rejected).toBe(1);
    expect(h.rejected).toEqual([{ ticker: T, status, event: name, source: 'websocket', at: h.now() }]);
  });

  // Exhaustive: for every status and every WS transition kind the core does what the derived table
  // says (the table itself is checked against §8.2 in test/machines).
  const WS_KINDS = ['activated', 'deactivated', 'close_date_updated', 'determined', 'settled'] as const;
  const pairs = MARKET_STATUSES.flatMap((status) => WS_KINDS.map((kind) => [status, kind] as const));
  it.each(pairs)('table-driven: %s + %s', (status, kind) => {
    const h = setup();
    const seeded = h.seed(status, { closeTs: NOW0 + 100 * SEC });
    void h.core.applyLifecycle(update(kind, h.now(), kind === 'close_date_updated' ? { close_ts: LATER_CLOSE_S } : {}));
    const to = MARKET_TRANSITIONS[status][kind];
    const after = h.store.get(T)!;
    if (to === null) {
      expect(after).toEqual(seeded);
      expect(h.emitted).toEqual([]);
      expect(h.core.counters.rejected + h.core.counters.ignoredAfterFinal).toBe(1);
      expect(h.core.counters.ignoredAfterFinal).toBe(status === 'finalized' ? 1 : 0);
      return;
    }
    expect(after.marketStatus).toBe(to);
    expect(h.core.counters.rejected).toBe(0);
    if (kind === 'close_date_updated') expect(after.closeTs).toBe(LATER_CLOSE_S * SEC);
    if (to === status) {
      expect(h.emitted).toEqual([]);
    } else {
      expect(h.emitted).toEqual([
        to === 'finalized'
          ? { ticker: T, eventType: 'settled', oldStatus: status, newStatus: to }
          : { ticker: T, eventType: 'status_change', oldStatus: status, newStatus: to, market: after },
      ]);
    }
  });

  it('events for a finalized market are ignoredAfterFinal, not rejected nor reported', () => {
    const h = setup();
    const seeded = h.seed('finalized');
    for (const name of ['activated', 'deactivated', 'close_date_updated', 'determined', 'settled'] as const) {
      void h.core.applyLifecycle(update(name, h.now()));
    }
    expect(h.core.counters.ignoredAfterFinal).toBe(5);
    expect(h.core.counters.rejected).toBe(0);
    expect(h.rejected).toEqual([]);
    expect(h.store.get(T)).toEqual(seeded);
    expect(h.emitted).toEqual([]);
  });

  it('an event for an unknown ticker calls onUnknownTicker listeners and changes nothing', () => {
    const h = setup();
    const unknown: string[] = [];
    const off = h.core.onUnknownTicker((t) => unknown.push(t));
    void h.core.applyLifecycle(update('activated', h.now()));
    void h.core.applyLifecycle(update('metadata_updated', h.now()));
    expect(unknown).toEqual([T, T]);
    expect(h.core.counters.unknownTickerEvents).toBe(2);
    expect(h.store.size).toBe(0);
    expect(h.emitted).toEqual([]);
    off();
    void h.core.applyLifecycle(update('settled', h.now()));
    expect(unknown).toEqual([T, T]);
    expect(h.core.counters.unknownTickerEvents).toBe(3);
  });

  it('metadata events for a known market change nothing', () => {
    const h = setup();
    const seeded = h.seed('active');
    const unknown = vi.fn();
    h.core.onUnknownTicker(unknown);
    void h.core.applyLifecycle(update('metadata_updated', h.now()));
    void h.core.applyLifecycle(update('price_level_structure_updated', h.now()));
    expect(unknown).not.toHaveBeenCalled();
    expect(h.store.get(T)).toEqual(seeded);
    expect(h.emitted).toEqual([]);
  });

  it('onRejected returns an unsubscribe function', () => {
    const h = setup();
    const extra = vi.fn();
    const off = h.core.onRejected(extra);
    h.seed('initialized');
    void h.core.applyLifecycle(update('settled', h.now()));
    off();
    void h.core.applyLifecycle(update('settled', h.now()));
    expect(extra).toHaveBeenCalledTimes(1);
    expect(h.core.counters.rejected).toBe(2);
  });
});

describe('RegistryCore.applyDeadlines', () => {
  it('initialized with open and close passed: → active then → closed, both emitted in order', () => {
    const h = setup();
    h.seed('initialized', { openTs: NOW0 - 20 * SEC, closeTs: NOW0 - 10 * SEC });
    expect(h.core.applyDeadlines(T)).toBeUndefined();
    expect(h.emitted.map((c) => [c.eventType, c.oldStatus, c.newStatus])).toEqual([
      ['status_change', 'initialized', 'active'],
      ['status_change', 'active', 'closed'],
    ]);
    expect(h.emitted[0]!.market!.marketStatus).toBe('active');
    expect(h.emitted[1]!.market).toEqual(h.store.get(T));
    expect(h.store.get(T)!.marketStatus).toBe('closed');
  });

  it('applies only what is due, the rest when its time comes', () => {
    const h = setup();
    h.seed('initialized', { openTs: NOW0 - SEC, closeTs: NOW0 + 10 * SEC });
    void h.core.applyDeadlines(T);
    expect(h.store.get(T)!.marketStatus).toBe('active');
    void h.core.applyDeadlines(T);
    expect(h.emitted).toHaveLength(1);
    h.setNow(NOW0 + 10 * SEC); // close_time reached exactly
    void h.core.applyDeadlines(T);
    expect(h.store.get(T)!.marketStatus).toBe('closed');
    expect(h.emitted.map((c) => c.newStatus)).toEqual(['active', 'closed']);
  });

  it('inactive past close_time closes; statuses with no time rule are untouched; unknown tickers are ignored', () => {
    const h = setup();
    h.seed('inactive', { closeTs: NOW0 - SEC });
    void h.core.applyDeadlines(T);
    expect(h.emitted).toEqual([expect.objectContaining({ oldStatus: 'inactive', newStatus: 'closed' })]);
    for (const status of ['closed', 'determined', 'disputed', 'amended', 'finalized'] as const) {
      const h2 = setup();
      const seeded = h2.seed(status, { openTs: 0, closeTs: 0 });
      void h2.core.applyDeadlines(T);
      expect(h2.store.get(T)).toEqual(seeded);
      expect(h2.emitted).toEqual([]);
    }
    expect(h.core.applyDeadlines('NOPE')).toBeUndefined();
  });

  it('applyDeadlinesAt judges the cell by what it holds at the batch time: a freed cell is skipped, a reused one is its new market', () => {
    const h = setup();
    h.seed('active', { ticker: 'OLD', closeTs: NOW0 - SEC });
    const id = h.store.idOf('OLD');
    h.store.delete('OLD');
    expect(h.core.applyDeadlinesAt(id, NOW0)).toBeUndefined();
    expect(h.emitted).toEqual([]);
    // The freed cell goes to the next market; its own close time decides.
    h.seed('active', { ticker: 'NEW', closeTs: NOW0 + 10 * SEC });
    expect(h.store.idOf('NEW')).toBe(id);
    void h.core.applyDeadlinesAt(id, NOW0);
    expect(h.store.get('NEW')!.marketStatus).toBe('active');
    // The batch's clock reading is the one used, not the core's clock (still NOW0).
    void h.core.applyDeadlinesAt(id, NOW0 + 10 * SEC);
    expect(h.emitted.map((c) => [c.ticker, c.newStatus, c.market?.updatedAt])).toEqual([['NEW', 'closed', NOW0 + 10 * SEC]]);
  });

  it('under backpressure returns one promise that settles after both changes are delivered, in order', async () => {
    const h = setup({ capacity: 1 });
    const sub = h.changes.subscribe();
    void h.core.observe(restMarket({ ticker: 'FILLER' }), NOW0, 'sync'); // fills the buffer
    h.seed('initialized', { openTs: NOW0 - 2 * SEC, closeTs: NOW0 - SEC });
    const pending = h.core.applyDeadlines(T);
    expect(pending).toBeInstanceOf(Promise);
    let settled = false;
    void pending!.then(() => (settled = true));
    // Reading the filler delivers the first deadline change only: the second is still queued.
    expect((await sub.next()).value).toMatchObject({ ticker: 'FILLER' });
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    const got: string[] = ['FILLER:active'];
    const reader = (async () => {
      for await (const c of sub) {
        got.push(`${c.ticker}:${c.newStatus}`);
        if (got.length === 3) break;
      }
    })();
    await pending;
    await reader;
    expect(got).toEqual(['FILLER:active', `${T}:active`, `${T}:closed`]);
  });

  it('deadlinesBefore yields each market’s next time-rule deadline before `until`', () => {
    const h = setup();
    h.seed('initialized', { ticker: 'I', openTs: 100, closeTs: 900 });
    h.seed('active', { ticker: 'A', openTs: 50, closeTs: 300 });
    h.seed('inactive', { ticker: 'P', openTs: 50, closeTs: 700 });
    h.seed('closed', { ticker: 'C', openTs: 50, closeTs: 60 });
    h.seed('finalized', { ticker: 'F', openTs: 1, closeTs: 2 });
    const byTicker = (until: number) => new Map([...h.core.deadlinesBefore(until)].map(([id, d]) => [h.store.tickerOf(id), d]));
    const all = byTicker(10_000);
    expect(all).toEqual(
      new Map([
        ['I', 100],
        ['A', 300],
        ['P', 700],
      ]),
    );
    expect(byTicker(300)).toEqual(new Map([['I', 100]]));
  });
});

describe('RegistryCore with a DeadlineScheduler (fake timers)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function withScheduler() {
    vi.useFakeTimers();
    vi.setSystemTime(NOW0 / 1000);
    const store = new MarketStore();
    const changes = new ChangeStream(3);
    const now = () => Date.now() * 1000;
    const core = new RegistryCore({ store, changes, now, logger: silentLogger });
    const scheduler = new DeadlineScheduler({
      now,
      collect: (until) => core.deadlinesBefore(until),
      onDue: (id, at) => core.applyDeadlinesAt(id, at),
    });
    core.attachScheduler(scheduler);
    const emitted: MarketChange[] = [];
    changes.onChange((c) => emitted.push(c));
    return { core, store, scheduler, emitted, now };
  }

  it('opens and closes a created market at its times; a moved close date is honoured', async () => {
    const { core, scheduler, emitted, now, store } = withScheduler();
    scheduler.start();
    const openS = Math.floor(now() / SEC) + 1;
    void core.applyLifecycle(update('created', now(), { open_ts: openS, close_ts: openS + 2 }));
    expect(scheduler.size).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(emitted.map((c) => c.newStatus)).toEqual(['initialized', 'active']);
    // The close date moves 3 s later: nothing happens at the old time.
    void core.applyLifecycle(update('close_date_updated', now(), { close_ts: openS + 5 }));
    await vi.advanceTimersByTimeAsync(2000);
    expect(store.get(T)!.marketStatus).toBe('active');
    await vi.advanceTimersByTimeAsync(3000);
    expect(store.get(T)!.marketStatus).toBe('closed');
    expect(emitted.map((c) => c.newStatus)).toEqual(['initialized', 'active', 'closed']);
    scheduler.stop();
  });

  it('a close date moved earlier re-arms the scheduler for the new, earlier time', async () => {
    const { core, scheduler, emitted, now, store } = withScheduler();
    scheduler.start();
    const openS = Math.floor(now() / SEC) + 1;
    void core.applyLifecycle(update('created', now(), { open_ts: openS, close_ts: openS + 60 }));
    await vi.advanceTimersByTimeAsync(1000);
    expect(store.get(T)!.marketStatus).toBe('active');
    void core.applyLifecycle(update('close_date_updated', now(), { close_ts: openS + 2 }));
    await vi.advanceTimersByTimeAsync(1999);
    expect(store.get(T)!.marketStatus).toBe('active');
    await vi.advanceTimersByTimeAsync(1);
    expect(store.get(T)!.marketStatus).toBe('closed');
    expect(emitted.map((c) => c.newStatus)).toEqual(['initialized', 'active', 'closed']);
    scheduler.stop();
  });

  it('a market synced as active after its close time is stored closed (REST lags the clock)', async () => {
    const { core, scheduler, emitted, store } = withScheduler();
    // Initial sync before start(): REST lags and still says active.
    void core.observe(restMarket({ close_time: new Date(NOW0 / 1000 - 60_000).toISOString() }), NOW0, 'sync');
    scheduler.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(store.get(T)!.marketStatus).toBe('closed');
    expect(emitted.map((c) => [c.oldStatus, c.newStatus])).toEqual([[null, 'closed']]);
    scheduler.stop();
  });
});

describe('RegistryCore with nobody listening (ChangeStream.hasAudience false)', () => {
  it('builds no change and no snapshot, yet counts the change; a listener added later gets full changes', () => {
    const store = new MarketStore();
    const changes = new ChangeStream(3);
    const now = NOW0;
    const core = new RegistryCore({ store, changes, now: () => now, logger: silentLogger });
    const snapshot = vi.spyOn(store, 'snapshot');
    const publish = vi.spyOn(changes, 'publish');
    expect(changes.hasAudience).toBe(false);
    void core.observe(restMarket({ ticker: 'A' }, now - 1), now, 'sync');
    void core.applyLifecycle(update('deactivated', now, { market_ticker: 'A' }));
    expect(snapshot).not.toHaveBeenCalled();
    expect(publish).not.toHaveBeenCalled();
    expect(core.counters.changes).toBe(2);
    expect(changes.published).toBe(2);

    const seen: MarketChange[] = [];
    const off = changes.onChange((c) => seen.push(c));
    expect(changes.hasAudience).toBe(true);
    void core.applyLifecycle(update('activated', now, { market_ticker: 'A' }));
    expect(seen).toEqual([expect.objectContaining({ ticker: 'A', oldStatus: 'inactive', newStatus: 'active', market: store.get('A') })]);
    off();
    // A subscription is an audience too (persistence and NATS publishing read one).
    const sub = changes.subscribe();
    expect(changes.hasAudience).toBe(true);
    void core.applyLifecycle(update('deactivated', now, { market_ticker: 'A' }));
    expect(sub.buffered).toBe(1);
    sub.close();
    expect(changes.hasAudience).toBe(false);
    expect(changes.published).toBe(4);
  });
});

describe('RegistryCore.quarantine', () => {
  it('keeps a bounded list of the most recent inputs and counts them all', () => {
    const h = setup({ quarantineKeep: 3 });
    for (let i = 1; i <= 5; i++) {
      h.advance(1);
      h.core.quarantine('src', `reason ${i}`, i % 2 === 0 ? `TICK-${i}` : undefined);
    }
    expect(h.core.counters.quarantined).toBe(5);
    const kept = h.core.quarantined();
    expect(kept).toEqual([
      { source: 'src', reason: 'reason 3', at: NOW0 + 3 },
      { source: 'src', reason: 'reason 4', ticker: 'TICK-4', at: NOW0 + 4 },
      { source: 'src', reason: 'reason 5', at: NOW0 + 5 },
    ]);
    expect('ticker' in kept[0]!).toBe(false);
  });

  it('keeps 100 by default, also under a flood', () => {
    const h = setup();
    for (let i = 0; i < 250; i++) h.core.quarantine('flood', `r${i}`);
    expect(h.core.quarantined()).toHaveLength(100);
    expect(h.core.quarantined()[0]!.reason).toBe('r150');
    expect(h.core.counters.quarantined).toBe(250);
  });
});

describe('RegistryCore property: only legal, consistent changes are ever emitted', () => {
  const TICKERS = ['MKT-A', 'MKT-B', 'MKT-C'] as const;
  const LIFECYCLE = ['created', 'activated', 'deactivated', 'close_date_updated', 'determined', 'settled', 'metadata_updated'] as const;
  type Cmd =
    | { readonly k: 'advance'; readonly us: number }
    | {
        readonly k: 'observe';
        readonly t: number;
        readonly status: MarketStatus;
        readonly openOff: number;
        readonly closeOff: number;
        readonly stale: boolean;
        readonly price: number;
      }
    | { readonly k: 'lifecycle'; readonly t: number; readonly ev: (typeof LIFECYCLE)[number]; readonly openOff: number; readonly closeOff: number }
    | { readonly k: 'deadline'; readonly t: number };

  const off = fc.integer({ min: -200, max: 200 }).map((s) => s * SEC);
  const tIdx = fc.integer({ min: 0, max: TICKERS.length - 1 });
  const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
    fc.record({ k: fc.constant('advance' as const), us: fc.integer({ min: 0, max: 120 }).map((s) => s * SEC) }),
    fc.record({
      k: fc.constant('observe' as const),
      t: tIdx,
      status: fc.constantFrom(...MARKET_STATUSES),
      openOff: off,
      closeOff: off,
      stale: fc.boolean(),
      price: fc.integer({ min: 0, max: 10_000 }),
    }),
    fc.record({ k: fc.constant('lifecycle' as const), t: tIdx, ev: fc.constantFrom(...LIFECYCLE), openOff: off, closeOff: off }),
    fc.record({ k: fc.constant('deadline' as const), t: tIdx }),
  );

  function isLegalStep(from: MarketStatus, to: MarketStatus): boolean {
    return from !== to && TRANSITION_KEYS.some((key) => MARKET_TRANSITIONS[from][key] === to);
  }

  function baseMarket(ticker: string, status: MarketStatus, openTs: Micros, closeTs: Micros, price: number, now: Micros): Market {
    return {
      ...withStatus(restMarket({ ticker }, now), status, now),
      openTs,
      closeTs,
      expirationTs: closeTs,
      yesBid: asPriceE4(price),
    };
  }

  it('holds for random sequences of lifecycle updates, observations and deadline firings', () => {
    fc.assert(
      fc.property(fc.array(cmdArb, { maxLength: 80 }), (cmds) => {
        const h = setup();
        const last = new Map<string, MarketStatus>();
        let expectRejected = 0;
        let expectIgnored = 0;

        const checkStep = (c: MarketChange, viaKey?: TransitionKey) => {
          const prev = last.get(c.ticker);
          if (c.eventType === 'created') {
            expect(prev).toBeUndefined();
            expect(c.oldStatus).toBeNull();
          } else {
            expect(c.oldStatus).toBe(prev);
            expect(isLegalStep(c.oldStatus, c.newStatus)).toBe(true);
            // Each step is the frame's/observation's own transition or one that time made due.
            const viaTime = (['open_time_reached', 'close_time_reached'] as const).some((k) => MARKET_TRANSITIONS[c.oldStatus][k] === c.newStatus);
            if (viaKey !== undefined && !viaTime) expect(MARKET_TRANSITIONS[c.oldStatus][viaKey]).toBe(c.newStatus);
            expect(c.eventType === 'settled').toBe(c.newStatus === 'finalized');
          }
          if (c.eventType === 'settled') expect(c.market).toBeUndefined();
          else {
            expect(c.market.ticker).toBe(c.ticker);
            expect(c.market.marketStatus).toBe(c.newStatus);
            expect(c.market.tradingStatus).toBe(TRADING_STATUS_BY_MARKET_STATUS[c.newStatus]);
          }
          last.set(c.ticker, c.newStatus);
        };

        /** What the table says must happen to a known market's status on `key`. */
        const expectFromTable = (before: MarketStatus, key: TransitionKey): MarketStatus => {
          const to = MARKET_TRANSITIONS[before][key];
          if (to === null) {
            if (before === 'finalized') expectIgnored++;
            else expectRejected++;
            return before;
          }
          return to;
        };

        for (const cmd of cmds) {
          const start = h.emitted.length;
          const now = h.now();
          let expectedStatus: MarketStatus | undefined;
          let ticker: string | undefined;
          let key: TransitionKey | undefined;
          let insertAllowed: MarketStatus[] | undefined;

          switch (cmd.k) {
            case 'advance':
              h.advance(cmd.us);
              break;
            case 'observe': {
              ticker = TICKERS[cmd.t]!;
              const incoming = baseMarket(ticker, cmd.status, now + cmd.openOff, now + cmd.closeOff, cmd.price, now);
              const current = h.store.get(ticker);
              const observedAt = cmd.stale ? now - 1 : now;
              if (current === undefined) {
                // Inserted as reported (the time rules may or may not be applied on insert; either way
                // the created change must carry what is stored, which checkStep verifies).
                const adjusted = timeAdjustedStatus(cmd.status, incoming.openTs, incoming.closeTs, now);
                insertAllowed = [cmd.status, adjusted];
              } else if (current.updatedAt > observedAt) expectedStatus = current.marketStatus;
              else {
                // Time-due transitions of the local record come first, then the observation is
                // judged against that status; the record then has REST's times (and their rules).
                const before = timeAdjustedStatus(current.marketStatus, current.openTs, current.closeTs, now);
                const target = timeAdjustedStatus(cmd.status, incoming.openTs, incoming.closeTs, now);
                key = observedKey(target);
                const judged = target === before ? target : expectFromTable(before, key);
                expectedStatus = timeAdjustedStatus(judged, incoming.openTs, incoming.closeTs, now);
              }
              void h.core.observe(incoming, observedAt, 'reconcile');
              break;
            }
            case 'lifecycle': {
              ticker = TICKERS[cmd.t]!;
              const current = h.store.get(ticker);
              let u: LifecycleUpdate;
              if (cmd.ev === 'created') {
                u = { kind: 'created', ticker, market: baseMarket(ticker, 'initialized', now + cmd.openOff, now + cmd.closeOff, 0, now) };
                // A market announced after its open (or close) time is born in the status its times give it.
                expectedStatus = current?.marketStatus ?? timeAdjustedStatus('initialized', now + cmd.openOff, now + cmd.closeOff, now);
              } else if (cmd.ev === 'metadata_updated') {
                u = { kind: 'metadata', ticker, eventType: 'metadata_updated' };
                expectedStatus = current?.marketStatus;
              } else {
                key = cmd.ev;
                const patch = cmd.ev === 'close_date_updated' ? { closeTs: now + cmd.closeOff } : cmd.ev === 'determined' ? { result: 'yes' as const } : {};
                u = { kind: 'transition', ticker, key: cmd.ev, patch };
                if (current !== undefined) {
                  // Due time transitions first; the frame is judged against the status they leave;
                  // an accepted frame's new close time may make another one due at once.
                  const before = timeAdjustedStatus(current.marketStatus, current.openTs, current.closeTs, now);
                  const to = expectFromTable(before, key);
                  const accepted = MARKET_TRANSITIONS[before][key] !== null;
                  const closeTs = accepted && 'closeTs' in patch ? (patch.closeTs as Micros) : current.closeTs;
                  expectedStatus = timeAdjustedStatus(to, current.openTs, closeTs, now);
                }
              }
              void h.core.applyLifecycle(u);
              break;
            }
            case 'deadline': {
              ticker = TICKERS[cmd.t]!;
              void h.core.applyDeadlines(ticker);
              const m = h.store.get(ticker);
              // Nothing is left due after a deadline pass.
              if (m) expect(dueTimeEvents(m.marketStatus, m.openTs, m.closeTs, now)).toEqual([]);
              expectedStatus = m?.marketStatus;
              break;
            }
          }

          const produced = h.emitted.slice(start);
          // At most: due open and close, the change itself, and a close the change made due.
          if (cmd.k === 'lifecycle' || cmd.k === 'observe') expect(produced.length).toBeLessThanOrEqual(4);
          if (cmd.k === 'advance') expect(produced).toEqual([]);
          for (const c of produced) {
            expect(c.ticker).toBe(ticker);
            checkStep(c, cmd.k === 'deadline' ? undefined : key);
            if (cmd.k === 'deadline') {
              const viaTime = (['open_time_reached', 'close_time_reached'] as const).some(
                (k) => MARKET_TRANSITIONS[c.oldStatus as MarketStatus][k] === c.newStatus,
              );
              expect(viaTime).toBe(true);
            }
          }
          if (insertAllowed !== undefined) expect(insertAllowed).toContain(h.store.get(ticker!)?.marketStatus);
          else if (ticker !== undefined) expect(h.store.get(ticker)?.marketStatus).toBe(expectedStatus);
          expect(h.core.counters.rejected).toBe(expectRejected);
          expect(h.core.counters.ignoredAfterFinal).toBe(expectIgnored);
          expect(h.core.counters.changes).toBe(h.emitted.length);
        }

        for (const t of TICKERS) expect(h.store.get(t)?.marketStatus).toBe(last.get(t));
        const counts = h.store.statusCounts();
        for (const s of MARKET_STATUSES) expect(counts[s]).toBe([...last.values()].filter((v) => v === s).length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('RegistryCore: WebSocket frames older than an applied REST read', () => {
  it('skips frames that had arrived before the REST request and applies later ones', () => {
    const h = setup();
    let received = 0;
    let consumed = 0;
    h.core.attachFrameCounters({ received: () => received, consumed: () => consumed });
    void h.core.observe(restMarket({ status: 'active' }), NOW0, 'sync');
    // Frames 1 (deactivated) and 2 (activated) arrive but wait behind a slow consumer…
    received = 2;
    // …while a reconcile, sent after they arrived, already sees the market inactive → active → inactive.
    h.advance(1);
    void h.core.observe(restMarket({ status: 'inactive' }), h.now(), 'reconcile', h.core.framesReceived());
    expect(h.store.get(T)?.marketStatus).toBe('inactive');
    // Now the queued frames are applied: both are older than the REST read and must not flip it.
    consumed = 1;
    expect(h.core.applyLifecycle(update('activated', h.now()), 1)).toBeUndefined();
    consumed = 2;
    void h.core.applyLifecycle(update('activated', h.now()), 2);
    expect(h.store.get(T)?.marketStatus).toBe('inactive');
    expect(h.core.counters.staleFrames).toBe(2);
    // Frame 3 arrived after the read: it applies.
    received = 3;
    consumed = 3;
    void h.core.applyLifecycle(update('activated', h.now()), 3);
    expect(h.store.get(T)?.marketStatus).toBe('active');
    expect(h.emitted.map((c) => [c.oldStatus, c.newStatus])).toEqual([
      [null, 'active'],
      ['active', 'inactive'],
      ['inactive', 'active'],
    ]);
  });

  it('marks nothing when no frame is pending, or when the source cannot count frames', () => {
    const h = setup();
    void h.core.observe(restMarket({ status: 'active' }), NOW0, 'sync');
    h.core.attachFrameCounters({ received: () => 5, consumed: () => 5 });
    h.advance(1);
    void h.core.observe(restMarket({ status: 'inactive' }), h.now(), 'reconcile', 5);
    void h.core.applyLifecycle(update('activated', h.now()), 6);
    expect(h.store.get(T)?.marketStatus).toBe('active');
    h.core.attachFrameCounters(null);
    expect(h.core.framesReceived()).toBe(-1);
    h.advance(1);
    void h.core.observe(restMarket({ status: 'inactive' }), h.now(), 'reconcile', -1);
    void h.core.applyLifecycle(update('activated', h.now()), 7);
    expect(h.store.get(T)?.marketStatus).toBe('active');
    expect(h.core.counters.staleFrames).toBe(0);
  });
});

describe('RegistryCore: ordering REST reads against local changes', () => {
  it('a redelivered duplicate leaves the record, updatedAt included, untouched', () => {
    const h = setup();
    void h.core.observe(restMarket({ status: 'active' }), NOW0, 'sync');
    const before = h.store.get(T);
    h.advance(5);
    void h.core.applyLifecycle(update('activated', h.now()));
    expect(h.store.get(T)).toBe(before);
  });

  it('remembers markets whose REST read lost the race, once each, for a re-read', () => {
    const h = setup();
    void h.core.observe(restMarket({ status: 'active' }), NOW0, 'sync');
    h.advance(10);
    void h.core.applyLifecycle(update('deactivated', h.now()));
    // A read sent before that change arrives later: it is stale and must be read again.
    void h.core.observe(restMarket({ status: 'active' }), NOW0 + 5, 'reconcile');
    void h.core.observe(restMarket({ status: 'active' }), NOW0 + 6, 'reconcile');
    expect(h.store.get(T)?.marketStatus).toBe('inactive');
    expect(h.core.counters.staleObservations).toBe(2);
    expect(h.core.takeStaleTickers()).toEqual([T]);
    expect(h.core.takeStaleTickers()).toEqual([]);
  });
});

describe('RegistryCore.beginPass (what runMarketPass counts instead of a Set of every ticker)', () => {
  it('counts distinct markets, duplicates and the known unfinalized markets a pass did not read', () => {
    const h = setup();
    const a = restMarket({ ticker: 'A' });
    const b = restMarket({ ticker: 'B' });
    const fin = restMarket({ ticker: 'F', status: 'finalized', result: 'yes' });
    for (const m of [a, b, fin, restMarket({ ticker: 'GONE' })]) void h.core.observe(m, NOW0, 'sync');
    const pass = h.core.beginPass();
    void h.core.observe(a, NOW0, 'reconcile');
    expect(pass.see('A')).toBe(true);
    void h.core.observe(restMarket({ ticker: 'NEW' }), NOW0, 'reconcile');
    expect(pass.see('NEW')).toBe(true);
    void h.core.observe(a, NOW0, 'reconcile');
    expect(pass.see('A')).toBe(false); // moved between pages: seen twice
    expect(pass.size).toBe(2);
    // B and GONE were not read (F is finalized: not missing).
    expect(pass.missing()).toBe(2);
    // A later pass starts clean.
    const next = h.core.beginPass();
    expect(next.see('A')).toBe(true);
    expect(next.missing()).toBe(3); // B, GONE, NEW
  });

  it('is exact even when see() is called before observe() wrote the market', () => {
    const h = setup();
    void h.core.observe(restMarket({ ticker: 'OLD' }), NOW0, 'sync');
    const pass = h.core.beginPass();
    expect(pass.see('X')).toBe(true);
    expect(pass.see('X')).toBe(false);
    void h.core.observe(restMarket({ ticker: 'X' }), NOW0, 'reconcile');
    expect(pass.see('X')).toBe(false);
    expect(pass.size).toBe(1);
    expect(pass.missing()).toBe(1); // OLD, not X
  });
});
