import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MarketStore } from '../../src/store/market-store.js';
import { withStatus } from '../../src/domain/mapping.js';
import { MARKET_STATUSES, type MarketStatus } from '../../src/domain/vocabulary.js';
import type { Market } from '../../src/domain/types.js';

function market(ticker: string, status: MarketStatus): Market {
  return withStatus(
    {
      ticker, eventTicker: 'EV', title: '', marketStatus: 'initialized', tradingStatus: 'unopened', marketType: 'binary', result: '',
      yesBid: 0, yesAsk: 0, lastPrice: 0, volume: 0, openTs: 0, closeTs: 0, expirationTs: 0, updatedAt: 0,
    },
    status,
    1,
  );
}

describe('MarketStore', () => {
  it('indexes active markets and keeps counts as statuses change', () => {
    const store = new MarketStore();
    store.set(market('A', 'active'));
    store.set(market('B', 'initialized'));
    store.set(market('C', 'active'));
    expect(store.activeMarkets().map((m) => m.ticker).sort()).toEqual(['A', 'C']);
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
          const active = [...model].filter(([, s]) => s === 'active').map(([t]) => t).sort();
          expect(store.activeMarkets().map((m) => m.ticker).sort()).toEqual(active);
          expect(store.size).toBe(model.size);
          const counts = store.statusCounts();
          for (const s of MARKET_STATUSES) expect(counts[s]).toBe([...model.values()].filter((v) => v === s).length);
        }
      }),
    );
  });
});
