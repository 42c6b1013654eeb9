/**
 * The query API and the load filters of a registry on the simulator (127.0.0.1): getMarkets and
 * getMarketsByEvent against a scan of everything the registry holds and of the exchange's truth;
 * a registry loading two series and two statuses against the exchange's truth, before and after
 * a reconcile, with the frames about markets it does not hold ignored and counted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry, type MarketRegistry } from '../../src/registry/create-registry.js';
import { startSimExchange, type SimExchange } from '../../src/sim/index.js';
import { silentLogger } from '../../src/log.js';
import { hasErrorCode } from '../../src/errors.js';
import type { Market, Micros } from '../../src/domain/types.js';
import { TRADING_STATUS_BY_MARKET_STATUS } from '../../src/domain/mapping.js';
import type { MarketQuery } from '../../src/store/market-query.js';
import { testRegistryOptions, waitUntil } from '../integration/helpers.js';

let sim: SimExchange | null = null;
let registry: MarketRegistry | null = null;

afterEach(async () => {
  await registry?.stop();
  await sim?.close();
  registry = null;
  sim = null;
});

const tickers = (ms: Iterable<Market>) => [...ms].map((m) => m.ticker).sort();
const nowS = () => Math.floor(Date.now() / 1000);

/** Event ticker → series ticker, from a registry that read every event. */
function seriesByEvent(r: MarketRegistry): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of r.markets()) {
    const e = r.getEvent(m.eventTicker);
    if (e !== undefined) out.set(m.eventTicker, e.seriesTicker);
  }
  return out;
}

describe('getMarkets / getMarketsByEvent on the simulator', () => {
  it('equal a scan over every market held, for each kind of field', async () => {
    sim = await startSimExchange({ markets: 600, seed: 11, logger: silentLogger });
    registry = createRegistry(testRegistryOptions(sim));
    registry.start();
    await registry.synced;
    const r = registry;
    const all = [...r.markets()];
    const series = seriesByEvent(r);
    expect(series.size).toBeGreaterThan(10);
    const someEvent = all[0]?.eventTicker as string;
    const someSeries = series.get(someEvent) as string;
    const closes = all.map((m) => m.closeTs).sort((a, b) => a - b);
    const mid = closes[Math.floor(closes.length / 2)] as Micros;
    const queries: MarketQuery[] = [
      { eventTicker: someEvent },
      { seriesTicker: someSeries },
      { seriesTicker: someSeries, status: ['active', 'initialized'] },
      { status: 'closed' },
      { combos: 'only' },
      { combos: 'exclude', status: 'active' },
      { closesBefore: mid },
      { closesAfter: mid, status: 'active' },
      { closesAfter: mid, closesBefore: mid + 7 * 86_400_000_000, combos: 'exclude' },
    ];
    for (const q of queries) {
      const statuses = q.status === undefined ? null : typeof q.status === 'string' ? [q.status] : q.status;
      const expected = all.filter(
        (m) =>
          (statuses === null || statuses.includes(m.marketStatus)) &&
          (q.eventTicker === undefined || m.eventTicker === q.eventTicker) &&
          (q.seriesTicker === undefined || series.get(m.eventTicker) === q.seriesTicker) &&
          (q.combos !== 'only' || m.ticker.startsWith('KXMVE')) &&
          (q.combos !== 'exclude' || !m.ticker.startsWith('KXMVE')) &&
          (q.closesAfter === undefined || m.closeTs >= q.closesAfter) &&
          (q.closesBefore === undefined || m.closeTs < q.closesBefore),
      );
      expect(expected.length, JSON.stringify(q)).toBeGreaterThan(0);
      expect(tickers(r.getMarkets(q)), JSON.stringify(q)).toEqual(tickers(expected));
    }
    // The series the exchange itself lists for that series ticker.
    const truth = [...sim.snapshot().values()].filter((m) => series.get(m.event_ticker) === someSeries).map((m) => m.ticker);
    expect(tickers(r.getMarkets({ seriesTicker: someSeries }))).toEqual(truth.sort());
    expect(tickers(r.getMarketsByEvent(someEvent))).toEqual(tickers(all.filter((m) => m.eventTicker === someEvent)));
    expect(r.getMarketsByEvent('NO-SUCH-EVENT')).toEqual([]);
    // The same objects getMarket hands out.
    const [first] = r.getMarkets({ eventTicker: someEvent });
    expect(first).toBe(r.getMarket(first?.ticker as string));

    // A lifecycle change moves the market between the status sets.
    const active = r.getMarkets({ status: 'active', combos: 'exclude', limit: 1 })[0] as Market;
    sim.deactivate(active.ticker);
    await waitUntil('deactivated', () => r.getMarket(active.ticker)?.marketStatus === 'inactive');
    expect(tickers(r.getMarkets({ status: 'inactive' }))).toContain(active.ticker);
    expect(tickers(r.getMarkets({ status: 'active' }))).not.toContain(active.ticker);

    let thrown: unknown;
    try {
      r.getMarkets({ status: 'open' as never });
    } catch (err) {
      thrown = err;
    }
    expect(hasErrorCode(thrown, 'E_VALIDATION')).toBe(true);
  });
});

describe('load filters on the simulator', () => {
  it('hold exactly the series × statuses asked for, through a reconcile; frames about other markets are ignored and counted', async () => {
    sim = await startSimExchange({ markets: 600, seed: 12, logger: silentLogger });
    // Which event belongs to which series, from a registry that loads everything.
    const full = createRegistry(testRegistryOptions(sim));
    full.start();
    await full.synced;
    const series = seriesByEvent(full);
    await full.stop();
    const counts = new Map<string, number>();
    for (const s of series.values()) if (!s.startsWith('KXMVE')) counts.set(s, (counts.get(s) ?? 0) + 1);
    const [s1, s2, outside] = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([s]) => s) as [string, string, string];
    const statuses = ['open', 'unopened'] as const;
    const expected = () =>
      [...(sim as SimExchange).snapshot().values()]
        .filter(
          (m) =>
            (series.get(m.event_ticker) === s1 || series.get(m.event_ticker) === s2) &&
            (statuses as readonly string[]).includes(TRADING_STATUS_BY_MARKET_STATUS[m.status]),
        )
        .map((m) => m.ticker)
        .sort();

    registry = createRegistry({ ...testRegistryOptions(sim), load: { seriesTickers: [s1, s2], statuses: [...statuses] } });
    const r = registry;
    r.start();
    const synced = await r.synced;
    expect(expected().length).toBeGreaterThan(0);
    expect(tickers(r.markets())).toEqual(expected());
    expect(synced.markets).toBe(expected().length);
    // Events: only those of the two series.
    expect(new Set([...r.markets()].map((m) => r.getEvent(m.eventTicker)?.seriesTicker))).toEqual(new Set([s1, s2]));
    await waitUntil('lifecycle subscription', () => r.stats().lifecycle.subscriptions >= 1);

    // A market of another series, and a transition of one the registry does not hold: ignored.
    const before = r.stats().loadFilter?.framesIgnored ?? 0;
    const foreignOp = sim.createMarket({ seriesTicker: outside, openTs: nowS() + 3600, closeTs: nowS() + 7200 });
    const foreign = foreignOp.ticker as string;
    series.set(foreignOp.eventTicker as string, outside);
    const foreignActive = [...sim.snapshot().values()].find((m) => m.status === 'active' && series.get(m.event_ticker) === outside)?.ticker as string;
    sim.deactivate(foreignActive);
    // A market of a loaded series, created unopened: it enters.
    const ownOp = sim.createMarket({ seriesTicker: s1, openTs: nowS() + 3600, closeTs: nowS() + 7200 });
    const own = ownOp.ticker as string;
    series.set(ownOp.eventTicker as string, s1);
    await waitUntil('own market created', () => r.getMarket(own) !== undefined);
    await waitUntil('foreign frames ignored', () => (r.stats().loadFilter?.framesIgnored ?? 0) >= before + 2);
    expect(r.getMarket(foreign)).toBeUndefined();
    expect(r.getMarket(foreignActive)).toBeUndefined();
    expect(r.stats().counters.unknownTickerEvents).toBe(0);

    // A held market that leaves the status filter is still followed.
    const held = r.getMarkets({ status: 'active', seriesTicker: s1, limit: 1 })[0] ?? r.getMarkets({ status: 'active', limit: 1 })[0];
    expect(held).toBeDefined();
    sim.deactivate((held as Market).ticker);
    await waitUntil('held market paused', () => r.getMarket((held as Market).ticker)?.marketStatus === 'inactive');

    // A reconcile reads the same part of the exchange again.
    const reconciles = r.stats().reconciles;
    r.reconcileNow();
    await waitUntil('reconcile', () => r.stats().reconciles > reconciles);
    const held2 = tickers(r.markets());
    for (const t of expected()) expect(held2).toContain(t);
    expect(held2.filter((t) => !expected().includes(t))).toEqual([(held as Market).ticker]);
  });
});
