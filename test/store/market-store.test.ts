import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MarketStore, TickerIndex } from '../../src/store/market-store.js';
import { withStatus } from '../../src/domain/mapping.js';
import { testMarket } from '../fixtures/markets.js';
import { MARKET_STATUSES, type MarketStatus } from '../../src/domain/vocabulary.js';
import type { Market } from '../../src/domain/types.js';
import { asCountE2, asPriceE4 } from '../../src/domain/units.js';

const market = (ticker: string, status: MarketStatus): Market => testMarket(ticker, 'EV', status);

describe('MarketStore', () => {
  it('indexes active markets and keeps counts as statuses change', () => {
    const store = new MarketStore();
    store.set(market('A', 'active'));
    store.set(market('B', 'initialized'));
    store.set(market('C', 'active'));
    expect(
      store
        .activeMarkets()
        .map((m) => m.ticker)
        .sort(),
    ).toEqual(['A', 'C']);
    expect(store.statusCounts()).toMatchObject({ active: 2, initialized: 1 });
    store.set(market('A', 'closed'));
    expect(store.activeMarkets().map((m) => m.ticker)).toEqual(['C']);
    expect(store.statusCounts()).toMatchObject({ active: 1, initialized: 1, closed: 1 });
    expect(store.get('A')?.marketStatus).toBe('closed');
    expect(store.delete('C')?.ticker).toBe('C');
    expect(store.activeMarkets()).toEqual([]);
    expect(store.size).toBe(2);
  });

  it('shares one active snapshot between reads until the active set changes', () => {
    const store = new MarketStore();
    store.set(market('A', 'active'));
    const first = store.activeMarkets();
    expect(store.activeMarkets()).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    store.set(market('B', 'closed'));
    expect(store.activeMarkets()).toBe(first); // B never was active
    store.set(market('B', 'active'));
    expect(store.activeMarkets()).not.toBe(first);
    expect(first.map((m) => m.ticker)).toEqual(['A']); // old snapshots stay valid
  });

  it('agrees with a naive model under any sequence of writes (property)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), ticker: fc.constantFrom('A', 'B', 'C', 'D', 'E'), status: fc.constantFrom(...MARKET_STATUSES) }),
      fc.record({ kind: fc.constant('delete' as const), ticker: fc.constantFrom('A', 'B', 'C', 'D', 'E') }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const store = new MarketStore();
        const model = new Map<string, MarketStatus>();
        for (const o of ops) {
          if (o.kind === 'set') {
            store.set(market(o.ticker, o.status));
            model.set(o.ticker, o.status);
          } else {
            store.delete(o.ticker);
            model.delete(o.ticker);
          }
          const active = [...model]
            .filter(([, s]) => s === 'active')
            .map(([t]) => t)
            .sort();
          expect(
            store
              .activeMarkets()
              .map((m) => m.ticker)
              .sort(),
          ).toEqual(active);
          expect(store.size).toBe(model.size);
          const counts = store.statusCounts();
          for (const s of MARKET_STATUSES) expect(counts[s]).toBe([...model.values()].filter((v) => v === s).length);
        }
      }),
    );
  });
});

// ---- cells: in-place writes, materialized frozen Markets ----------------------------------

const SEC = 1_000_000;
function full(ticker: string, status: MarketStatus, n: number): Market {
  return withStatus(
    {
      ticker,
      eventTicker: `EV-${n % 3}`,
      title: `T${n % 4}`,
      marketStatus: 'initialized',
      tradingStatus: 'unopened',
      marketType: n % 5 === 0 ? 'scalar' : 'binary',
      result: n % 7 === 0 ? 'yes' : '',
      yesBid: asPriceE4(n),
      yesAsk: asPriceE4(n + 1),
      lastPrice: asPriceE4(-0),
      volume: asCountE2(n * 100),
      openTs: n * SEC,
      closeTs: (n + 10) * SEC,
      expirationTs: (n + 20) * SEC,
      updatedAt: n,
    },
    status,
    n,
  );
}

describe('MarketStore cells', () => {
  it('hands out frozen Markets, the same object until the market changes; changes never alter one handed out', () => {
    const store = new MarketStore();
    const m = full('A', 'active', 3);
    store.set(m);
    const a = store.get('A')!;
    expect(a).toEqual(m);
    expect(Object.is(a.lastPrice, -0)).toBe(true);
    expect(Object.isFrozen(a)).toBe(true);
    expect(store.get('A')).toBe(a);
    const id = store.idOf('A');
    store.setLifecycle(id, 3 /* closed */, 99 * SEC, 'no', 1234);
    const b = store.get('A')!;
    expect(b).not.toBe(a);
    expect(a).toEqual(m); // the old object is untouched
    expect(b).toMatchObject({ marketStatus: 'closed', tradingStatus: 'closed', closeTs: 99 * SEC, result: 'no', updatedAt: 1234 });
    // snapshot() reuses the cached object, or builds one without caching it.
    expect(store.snapshot(id)).toBe(b);
    store.setLifecycle(id, 3, 100 * SEC, 'no', 1235);
    const s1 = store.snapshot(id);
    expect(store.snapshot(id)).not.toBe(s1);
    expect(s1).toEqual(store.get('A'));
  });

  it('reuses the id of a deleted market and forgets everything about it', () => {
    const store = new MarketStore();
    store.set(full('A', 'active', 1));
    store.set(full('B', 'finalized', 2));
    const idA = store.idOf('A');
    store.delete('A');
    expect(store.idOf('A')).toBe(-1);
    expect(store.get('A')).toBeUndefined();
    store.set(full('C', 'closed', 3));
    expect(store.idOf('C')).toBe(idA);
    expect(store.get('C')).toEqual(full('C', 'closed', 3));
    expect([...store.values()].map((m) => m.ticker).sort()).toEqual(['B', 'C']);
    expect(store.activeMarkets()).toEqual([]);
  });

  it('passes: each cell is stamped once per pass; countUnseen counts known unfinalized cells not stamped', () => {
    const store = new MarketStore();
    for (const [t, s] of [
      ['A', 'active'],
      ['B', 'finalized'],
      ['C', 'closed'],
      ['D', 'initialized'],
    ] as const)
      store.set(full(t, s, 1));
    const p1 = store.beginPass();
    expect(store.markSeen(store.idOf('A'), p1)).toBe(true);
    expect(store.markSeen(store.idOf('A'), p1)).toBe(false);
    expect(store.countUnseen(p1)).toBe(2); // C and D (B is finalized)
    const p2 = store.beginPass();
    expect(store.markSeen(store.idOf('A'), p2)).toBe(true);
    expect(store.countUnseen(p2)).toBe(2);
  });

  it('agrees with a plain Map of Markets under any writes, with activeMarkets() read at any point (property)', () => {
    const tickers = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'];
    // Active half the time, so that changes of active members (not only of membership) are common.
    const status = fc.oneof(fc.constant('active' as const), fc.constantFrom(...MARKET_STATUSES));
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), ticker: fc.constantFrom(...tickers), status, n: fc.integer({ min: 0, max: 50 }) }),
      fc.record({
        kind: fc.constant('lifecycle' as const),
        ticker: fc.constantFrom(...tickers),
        status,
        close: fc.integer({ min: 0, max: 9 }),
        result: fc.constantFrom('', 'yes', 'no', 'void'),
      }),
      fc.record({ kind: fc.constant('delete' as const), ticker: fc.constantFrom(...tickers) }),
      fc.record({ kind: fc.constant('read' as const) }),
      fc.record({ kind: fc.constant('get' as const), ticker: fc.constantFrom(...tickers) }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 10, maxLength: 120, size: 'max' }), (ops) => {
        const store = new MarketStore();
        const model = new Map<string, Market>();
        const handedOut: [Market, Market][] = [];
        let version = 0;
        const check = () => {
          const active = store.activeMarkets();
          expect(Object.isFrozen(active)).toBe(true);
          expect([...active].sort((a, b) => a.ticker.localeCompare(b.ticker))).toEqual(
            [...model.values()].filter((m) => m.marketStatus === 'active').sort((a, b) => a.ticker.localeCompare(b.ticker)),
          );
          expect(store.activeMarkets()).toBe(active);
          expect(active.filter((m) => !Object.isFrozen(m) || store.get(m.ticker) !== m)).toEqual([]);
          expect(store.activeCount).toBe(active.length);
        };
        for (const o of ops) {
          if (o.kind === 'set') {
            const m = full(o.ticker, o.status, o.n);
            store.set(m);
            model.set(o.ticker, m);
          } else if (o.kind === 'lifecycle') {
            const id = store.idOf(o.ticker);
            const prev = model.get(o.ticker);
            if (id < 0 || prev === undefined) continue;
            const code = MARKET_STATUSES.indexOf(o.status);
            store.setLifecycle(id, code, o.close * SEC, o.result, ++version);
            model.set(o.ticker, { ...withStatus(prev, o.status, version, o.close * SEC, o.result) });
          } else if (o.kind === 'delete') {
            store.delete(o.ticker);
            model.delete(o.ticker);
          } else if (o.kind === 'get') {
            const got = store.get(o.ticker);
            expect(got).toEqual(model.get(o.ticker));
            if (got !== undefined) handedOut.push([got, { ...got }]);
          } else check();
          // One comparison per op (not one expect per status): the same check, a tenth of the calls.
          const counts = store.statusCounts();
          const modelCounts = MARKET_STATUSES.map((s) => [...model.values()].filter((v) => v.marketStatus === s).length);
          expect([store.size, ...MARKET_STATUSES.map((s) => counts[s])]).toEqual([model.size, ...modelCounts]);
        }
        check();
        for (const t of tickers) expect(store.get(t)).toEqual(model.get(t));
        // Nothing handed out ever changed.
        for (const [obj, copy] of handedOut) expect(obj).toEqual(copy);
      }),
      { numRuns: 300 },
    );
  });

  it('activeMarkets() after thousands of changes (rebuild, not patch) is still exact', () => {
    const store = new MarketStore();
    for (let i = 0; i < 6000; i++) store.set(full(`M${i}`, i % 2 === 0 ? 'active' : 'inactive', i));
    expect(store.activeMarkets()).toHaveLength(3000);
    for (let i = 0; i < 6000; i++) store.setLifecycle(store.idOf(`M${i}`), i % 2 === 0 ? 1 : 2, 0, '', i);
    const active = store.activeMarkets();
    expect(active.map((m) => m.ticker).sort()).toEqual(Array.from({ length: 3000 }, (_, k) => `M${2 * k + 1}`).sort());
    for (const m of active) expect(m).toEqual(store.get(m.ticker));
  });
});

describe("TickerIndex (the store's ticker → id table)", () => {
  /** Two different tickers with the same 32-bit FNV-1a hash (a birthday search, done once). */
  const collision = (() => {
    const seen = new Map<number, string>();
    for (let i = 0; ; i++) {
      const t = `KXC-${i.toString(36)}`;
      const h = TickerIndex.hash(t);
      const other = seen.get(h);
      if (other !== undefined) return [other, t] as const;
      seen.set(h, t);
    }
  })();

  it('finds a real full-hash collision and keeps both apart', () => {
    const [a, b] = collision;
    expect(a).not.toBe(b);
    expect(TickerIndex.hash(a)).toBe(TickerIndex.hash(b));
    const tickers: string[] = [a, b];
    const index = new TickerIndex(tickers, 1);
    index.add(a, 0);
    index.add(b, 1);
    expect([index.get(a), index.get(b)]).toEqual([0, 1]);
    expect(index.delete(a)).toBe(true);
    expect([index.get(a), index.get(b)]).toEqual([-1, 1]);
  });

  it('agrees with a Map under any adds, deletes and lookups, through probe runs, wrap-around and resizes (property)', () => {
    const pool = [...Array.from({ length: 40 }, (_, i) => `T${i}`), ...collision];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), t: fc.constantFrom(...pool) }),
      fc.record({ kind: fc.constant('delete' as const), t: fc.constantFrom(...pool) }),
      fc.record({ kind: fc.constant('get' as const), t: fc.constantFrom(...pool) }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 300, size: 'max' }), fc.integer({ min: 1, max: 8 }), (ops, capacity) => {
        const tickers: string[] = [];
        const index = new TickerIndex(tickers, capacity);
        const model = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'add') {
            if (model.has(o.t)) continue;
            const id = tickers.length;
            tickers.push(o.t);
            index.add(o.t, id);
            model.set(o.t, id);
          } else if (o.kind === 'delete') {
            expect(index.delete(o.t)).toBe(model.delete(o.t));
          }
          for (const t of pool) if (index.get(t) !== (model.get(t) ?? -1)) throw new Error(`${t}: ${index.get(t)} vs ${model.get(t) ?? -1}`);
          if (index.size !== model.size) throw new Error(`size ${index.size} vs ${model.size}`);
        }
      }),
      { numRuns: 200 },
    );
  });
});
