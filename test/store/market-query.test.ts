import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MarketStore } from '../../src/store/market-store.js';
import { seriesOfEventTicker, type MarketQuery } from '../../src/store/market-query.js';
import { testMarket as market } from '../fixtures/markets.js';
import { statusCode } from '../../src/domain/fast-status.js';
import { MARKET_STATUSES } from '../../src/domain/vocabulary.js';
import type { Market, Micros } from '../../src/domain/types.js';
import { hasErrorCode } from '../../src/errors.js';

const HOUR = 3_600_000_000;
/** A number in microseconds, as the unit's type (whether plain or branded). */
const us = (n: number): Micros => n;

function event(eventTicker: string, seriesTicker: string) {
  return { eventTicker, seriesTicker, title: '', subTitle: '', mutuallyExclusive: false, updatedAt: us(0) };
}

/** What getMarkets must return, by a scan over every market. */
function bruteForce(store: MarketStore, q: MarketQuery): Market[] {
  const statuses = q.status === undefined ? null : typeof q.status === 'string' ? [q.status] : q.status;
  const combos = q.combos ?? 'include';
  return [...store.values()].filter((m) => {
    if (statuses !== null && !statuses.includes(m.marketStatus)) return false;
    if (q.eventTicker !== undefined && m.eventTicker !== q.eventTicker) return false;
    if (q.seriesTicker !== undefined && (store.getEvent(m.eventTicker)?.seriesTicker ?? seriesOfEventTicker(m.eventTicker)) !== q.seriesTicker) return false;
    const combo = m.ticker.startsWith('KXMVE');
    if ((combos === 'only' && !combo) || (combos === 'exclude' && combo)) return false;
    const close = q.closesAfter !== undefined || q.closesBefore !== undefined;
    if (close && !Number.isFinite(m.closeTs)) return false;
    if (q.closesAfter !== undefined && m.closeTs < q.closesAfter) return false;
    if (q.closesBefore !== undefined && m.closeTs >= q.closesBefore) return false;
    return true;
  });
}

const byTicker = (ms: readonly Market[]) => ms.map((m) => m.ticker).sort();

describe('MarketStore queries', () => {
  it('answers by event, series, status, close time and combos, with the objects get() hands out', () => {
    const store = new MarketStore();
    store.set(market('KXA-1-X', 'KXA-1', 'active', 10 * HOUR));
    store.set(market('KXA-1-Y', 'KXA-1', 'closed', 10 * HOUR + 5));
    store.set(market('KXA-2-X', 'KXA-2', 'active', 20 * HOUR));
    store.set(market('OLD-9-X', 'OLD-9', 'active', 30 * HOUR));
    store.set(market('KXMVEC-S1-AB', 'KXMVEC-S1', 'active', 11 * HOUR));
    expect(byTicker(store.getMarkets({ eventTicker: 'KXA-1' }))).toEqual(['KXA-1-X', 'KXA-1-Y']);
    expect(byTicker(store.marketsOfEvent('KXA-1'))).toEqual(['KXA-1-X', 'KXA-1-Y']);
    expect(byTicker(store.getMarkets({ seriesTicker: 'KXA', status: 'active' }))).toEqual(['KXA-1-X', 'KXA-2-X']);
    expect(byTicker(store.getMarkets({ status: ['closed', 'determined'] }))).toEqual(['KXA-1-Y']);
    expect(byTicker(store.getMarkets({ closesAfter: us(10 * HOUR + 1), closesBefore: us(20 * HOUR + 1) }))).toEqual(['KXA-1-Y', 'KXA-2-X', 'KXMVEC-S1-AB']);
    expect(byTicker(store.getMarkets({ combos: 'only' }))).toEqual(['KXMVEC-S1-AB']);
    expect(byTicker(store.getMarkets({ combos: 'exclude', status: 'active', closesBefore: us(15 * HOUR) }))).toEqual(['KXA-1-X']);
    expect(store.getMarkets({ eventTicker: 'NOPE' })).toEqual([]);
    expect(store.getMarkets({ status: [] })).toEqual([]);
    expect(store.getMarkets({ limit: 2 })).toHaveLength(2);
    const [first] = store.getMarkets({ eventTicker: 'KXA-2' });
    expect(first).toBe(store.get('KXA-2-X'));
    expect(Object.isFrozen(first)).toBe(true);
  });

  it("files a market under its event's series once the event is known, under its ticker's prefix before", () => {
    const store = new MarketStore();
    // A real legacy event (recorded): JOBLESS-21AUG28 belongs to series KXJOBLESS.
    store.set(market('JOBLESS-21AUG28-T1', 'JOBLESS-21AUG28', 'active', HOUR));
    expect(store.seriesOf('JOBLESS-21AUG28-T1')).toBe('JOBLESS');
    expect(byTicker(store.getMarkets({ seriesTicker: 'JOBLESS' }))).toEqual(['JOBLESS-21AUG28-T1']);
    store.setEvent(event('JOBLESS-21AUG28', 'KXJOBLESS'));
    expect(store.getMarkets({ seriesTicker: 'JOBLESS' })).toEqual([]);
    expect(byTicker(store.getMarkets({ seriesTicker: 'KXJOBLESS' }))).toEqual(['JOBLESS-21AUG28-T1']);
    // A market arriving after its event was read goes straight to the event's series.
    store.set(market('JOBLESS-21AUG28-T2', 'JOBLESS-21AUG28', 'active', HOUR));
    expect(store.seriesOf('JOBLESS-21AUG28-T2')).toBe('KXJOBLESS');
    // A single-event series: the event ticker is the series ticker.
    store.set(market('KXFUSION-Y', 'KXFUSION', 'active', HOUR));
    expect(store.seriesOf('KXFUSION-Y')).toBe('KXFUSION');
  });

  it('follows close-time changes within a bucket and across buckets', () => {
    const store = new MarketStore();
    const tickers = ['A', 'B', 'C', 'D'];
    tickers.forEach((t, i) => store.set(market(t, 'E', 'active', 5 * HOUR + i * 1000)));
    expect(byTicker(store.getMarkets({ closesBefore: us(5 * HOUR + 2000) }))).toEqual(['A', 'B']);
    // D moves before A inside the same hour: the bucket is no longer in order.
    store.setLifecycle(store.idOf('D'), statusCode('active'), us(5 * HOUR + 100), '', us(2));
    expect(byTicker(store.getMarkets({ closesBefore: us(5 * HOUR + 500) }))).toEqual(['A', 'D']);
    // C moves to another hour.
    store.setLifecycle(store.idOf('C'), statusCode('closed'), us(2 * HOUR), '', us(3));
    expect(byTicker(store.getMarkets({ closesBefore: us(3 * HOUR) }))).toEqual(['C']);
    expect(byTicker(store.getMarkets({ closesAfter: us(5 * HOUR + 50) }))).toEqual(['B', 'D']);
    store.delete('A');
    expect(byTicker(store.getMarkets({ closesAfter: us(5 * HOUR) }))).toEqual(['B', 'D']);
  });

  it('rejects a bad query with a ValidationError (E_VALIDATION) naming the field', () => {
    const store = new MarketStore();
    const bad: unknown[] = [
      { status: 'open' },
      { limit: 0 },
      { limit: 1.5 },
      { closesBefore: Number.NaN },
      { closesAfter: '2026-01-01' },
      { eventTicker: '' },
      { combos: 'all' },
      { tickers: ['A'] },
    ];
    for (const q of bad) {
      let thrown: unknown;
      try {
        store.getMarkets(q as MarketQuery);
      } catch (err) {
        thrown = err;
      }
      expect(hasErrorCode(thrown, 'E_VALIDATION'), JSON.stringify(q)).toBe(true);
      expect(String((thrown as Error).message)).toContain('getMarkets query');
    }
  });

  it('equals a brute-force filter over every market after any sequence of writes (property)', () => {
    const base = ['KXA-1-P', 'KXA-1-Q', 'KXA-2-P', 'KXB-7-P', 'OLD-3-P', 'OLD-3-Q', 'KXMVEX-S1-A', 'KXMVEX-S2-B', 'KXSOLO-P'];
    // Enough markets per hour that a bucket out of order shows in a binary search.
    const tickers = [...base, ...base.map((t) => `${t}2`), ...base.map((t) => `${t}3`)];
    const events = ['KXA-1', 'KXA-2', 'KXB-7', 'OLD-3', 'KXMVEX-S1', 'KXMVEX-S2', 'KXSOLO'];
    const series = ['KXA', 'KXB', 'KXOLD', 'OLD', 'KXMVEX', 'KXSOLO'];
    // Close times around a few hour boundaries, so that bounds fall inside and between buckets.
    const close = fc.oneof(
      fc.integer({ min: -1, max: 1 }).chain((h) => fc.integer({ min: -20, max: 20 }).map((d) => (100 + h) * HOUR + d * 1000)),
      fc.constant(Number.NaN),
    );
    const status = fc.constantFrom(...MARKET_STATUSES);
    const bound = fc.option(
      fc.integer({ min: -2, max: 2 }).chain((h) => fc.integer({ min: -21, max: 21 }).map((d) => us((100 + h) * HOUR + d * 1000))),
      { nil: undefined },
    );
    const combos = fc.constantFrom('include' as const, 'exclude' as const, 'only' as const);
    const query = fc.oneof(
      fc.record(
        {
          status: fc.oneof(status, fc.uniqueArray(status, { maxLength: 3 })),
          eventTicker: fc.constantFrom(...events, 'NONE-1'),
          seriesTicker: fc.constantFrom(...series, 'NONE'),
          combos,
          closesBefore: bound,
          closesAfter: bound,
        },
        { requiredKeys: [] },
      ),
      // Close-time bounds alone (or with combos), so that the close-time index is the set walked.
      fc.record({ closesBefore: bound, closesAfter: bound, combos: fc.option(combos, { nil: undefined }) }),
    );
    const op = fc.oneof(
      {
        weight: 2,
        arbitrary: fc.record({ kind: fc.constant('set' as const), ticker: fc.constantFrom(...tickers), event: fc.constantFrom(...events), status, close }),
      },
      // In-place close-time changes, the ones that can break a sorted bucket's order.
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('lifecycle' as const), ticker: fc.constantFrom(...tickers), status, close }) },
      fc.record({ kind: fc.constant('delete' as const), ticker: fc.constantFrom(...tickers) }),
      fc.record({ kind: fc.constant('event' as const), event: fc.constantFrom(...events), series: fc.constantFrom(...series) }),
      // Reads between writes: a read sorts the buckets its bounds cut, which later writes disturb.
      fc.record({ kind: fc.constant('read' as const), query }),
    );
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 120, size: 'max' }),
        fc.array(query, { minLength: 1, maxLength: 8 }),
        fc.nat({ max: 120 }),
        (ops, queries, firstRead) => {
          const store = new MarketStore({ capacity: 4 });
          const check = (q: (typeof queries)[number]) => {
            const clean = Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)) as MarketQuery;
            expect(byTicker(store.getMarkets(clean))).toEqual(byTicker(bruteForce(store, clean)));
            const limited = store.getMarkets({ ...clean, limit: 2 });
            expect(limited.length).toBe(Math.min(2, bruteForce(store, clean).length));
          };
          ops.forEach((o, i) => {
            // A read after every write, cycling through the queries (reads sort the buckets their
            // bounds cut; the writes after must keep that order or flag it broken).
            // No read before `firstRead`: the indexes are built by the first query, from whatever
            // the writes before it left.
            if (i >= firstRead) check(queries[i % queries.length] as (typeof queries)[number]);
            if (o.kind === 'read') {
              if (i >= firstRead) check(o.query);
            } else if (o.kind === 'set') store.set(market(o.ticker, o.event, o.status, o.close));
            else if (o.kind === 'delete') store.delete(o.ticker);
            else if (o.kind === 'event') store.setEvent(event(o.event, o.series));
            else {
              const id = store.idOf(o.ticker);
              if (id >= 0) store.setLifecycle(id, statusCode(o.status), us(o.close), '', us(i));
            }
          });
          queries.forEach(check);
          for (const e of events) expect(byTicker(store.marketsOfEvent(e))).toEqual(byTicker([...store.values()].filter((m) => m.eventTicker === e)));
        },
      ),
      { numRuns: 400 },
    );
  });
});
