/**
 * The load filter's REST side (loadFilteredRest: which requests a pass becomes) and its
 * admission (LoadAdmission: which unknown markets and tickers may enter), on fakes.
 */
import { describe, expect, it } from 'vitest';
import { LoadAdmission, loadFilteredRest, type RestApi } from '../../src/registry/rest-tasks.js';
import type { MarketsQuery, EventsQuery, MultivariateEventsQuery, RawPage } from '../../src/kalshi/rest-client.js';
import { MarketStore } from '../../src/store/market-store.js';
import { testMarket as market } from '../fixtures/markets.js';
import type { Micros } from '../../src/domain/types.js';

function fakeRest() {
  const calls: { path: string; query: object }[] = [];
  async function* pages(path: string, query: object): AsyncGenerator<RawPage, void, undefined> {
    calls.push({ path, query });
    await Promise.resolve();
    yield { records: [path], cursor: null, bytes: 1, decodedBytes: 1 };
  }
  const rest: RestApi = {
    marketPages: (q: MarketsQuery) => pages('/markets', q),
    eventPages: (q: EventsQuery) => pages('/events', q),
    multivariateEventPages: (q: MultivariateEventsQuery) => pages('/events/multivariate', q),
    getExchangeStatus: () => Promise.resolve({ httpStatus: 200, body: null }),
    getMarket: () => Promise.resolve(null),
  };
  return { rest, calls };
}

async function drain(it: AsyncIterable<RawPage>): Promise<number> {
  let n = 0;
  for await (const _ of it) n++;
  return n;
}

const us = (n: number): Micros => n;

describe('loadFilteredRest', () => {
  it('splits a full pass into one per series × status, a delta pass into one per series, and leaves targeted reads alone', async () => {
    const { rest, calls } = fakeRest();
    const filtered = loadFilteredRest(rest, { seriesTickers: ['KXA', 'KXMVEX'], statuses: ['open', 'unopened'] });
    expect(await drain(filtered.marketPages({ limit: 1000 }))).toBe(4);
    expect(calls.map((c) => c.query)).toEqual([
      { limit: 1000, seriesTicker: 'KXA', status: 'open' },
      { limit: 1000, seriesTicker: 'KXA', status: 'unopened' },
      { limit: 1000, seriesTicker: 'KXMVEX', status: 'open' },
      { limit: 1000, seriesTicker: 'KXMVEX', status: 'unopened' },
    ]);
    calls.length = 0;
    await drain(filtered.marketPages({ limit: 1000, minUpdatedTs: 5, mveFilter: 'exclude' }));
    // Kalshi takes no status beside min_updated_ts, and wants mve_filter=exclude with a series.
    expect(calls.map((c) => c.query)).toEqual([
      { limit: 1000, minUpdatedTs: 5, mveFilter: 'exclude', seriesTicker: 'KXA' },
      { limit: 1000, minUpdatedTs: 5, mveFilter: 'exclude', seriesTicker: 'KXMVEX' },
    ]);
    calls.length = 0;
    await drain(filtered.marketPages({ limit: 100, tickers: ['KXA-1-X'] }));
    expect(calls.map((c) => c.query)).toEqual([{ limit: 100, tickers: ['KXA-1-X'] }]);
    calls.length = 0;
    await drain(filtered.eventPages({ limit: 200 }));
    await drain((filtered.multivariateEventPages as NonNullable<RestApi['multivariateEventPages']>)({ limit: 200 }));
    expect(calls).toEqual([
      { path: '/events', query: { limit: 200, seriesTicker: 'KXA' } },
      { path: '/events', query: { limit: 200, seriesTicker: 'KXMVEX' } },
      // Combo events only for the combo series.
      { path: '/events/multivariate', query: { limit: 200, seriesTicker: 'KXMVEX' } },
    ]);
  });

  it('with statuses only: one pass per status over every series; events unfiltered', async () => {
    const { rest, calls } = fakeRest();
    const filtered = loadFilteredRest(rest, { statuses: ['closed'] });
    await drain(filtered.marketPages({ limit: 1000, mveFilter: 'exclude' }));
    await drain(filtered.eventPages({ limit: 200 }));
    expect(calls.map((c) => c.query)).toEqual([{ limit: 1000, mveFilter: 'exclude', status: 'closed' }, { limit: 200 }]);
  });
});

describe('LoadAdmission', () => {
  it("admits REST records by status, frames by status and series (the event's, or its ticker's), unknown tickers by series prefix", () => {
    const store = new MarketStore();
    const admit = new LoadAdmission({ seriesTickers: ['KXJOBLESS', 'KXA'], statuses: ['open'] }, store);
    // REST passes were narrowed by series on the server: only the status is judged.
    expect(admit.market(market('OTHER-1-X', 'OTHER-1', 'active'), 'sync')).toBe(true);
    expect(admit.market(market('KXA-1-X', 'KXA-1', 'closed'), 'reconcile')).toBe(false);
    // A created frame: series from the event ticker until the event is known.
    expect(admit.market(market('KXA-2-X', 'KXA-2', 'active'), 'websocket')).toBe(true);
    expect(admit.market(market('JOBLESS-21AUG28-T1', 'JOBLESS-21AUG28', 'active'), 'websocket')).toBe(false);
    store.setEvent({ eventTicker: 'JOBLESS-21AUG28', seriesTicker: 'KXJOBLESS', title: '', subTitle: '', mutuallyExclusive: false, updatedAt: us(0) });
    expect(admit.market(market('JOBLESS-21AUG28-T1', 'JOBLESS-21AUG28', 'active'), 'websocket')).toBe(true);
    expect(admit.ticker('KXA-3-Y')).toBe(true);
    expect(admit.ticker('KXB-3-Y')).toBe(false);
    expect(admit.stats()).toEqual({ framesIgnored: 2, recordsIgnored: 1 });
    // Without a series filter an unknown ticker cannot be judged without fetching it: ignored.
    expect(new LoadAdmission({ statuses: ['open'] }, store).ticker('KXA-3-Y')).toBe(false);
  });
});
