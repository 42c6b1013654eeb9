/**
 * The state directory end to end, in one process: a registry syncs the simulator cold, stops;
 * the exchange moves on while it is down; a second registry on the same directory serves the
 * stored state at once and emits exactly the differences, each a legal step from what was stored.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MarketChange, MarketStatus } from '../../src/domain/types.js';
import { silentLogger } from '../../src/log.js';
import { createRegistry, type MarketRegistry, type RegistryOptions } from '../../src/registry/create-registry.js';
import { startSimExchange, type SimExchange } from '../../src/sim/index.js';
import { differences, firstTickerWithStatus, testRegistryOptions, waitUntil } from '../integration/helpers.js';
import { replayFrom, tempDir } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const nowS = () => Math.floor(Date.now() / 1000);

function registryOn(sim: SimExchange, stateDir: string, extra: Partial<RegistryOptions> = {}): MarketRegistry {
  const registry = createRegistry({ ...testRegistryOptions(sim), stateDir, stateFlushMs: 20, ...extra });
  cleanups.push(() => registry.stop());
  return registry;
}

async function converged(sim: SimExchange, registry: MarketRegistry): Promise<void> {
  await waitUntil('registry to equal the exchange', () => differences(sim, registry).length === 0, 15_000, 50).catch((err) => {
    throw new Error(`${(err as Error).message}:\n${differences(sim, registry).slice(0, 10).join('\n')}`);
  });
}

describe('state directory: warm restart', () => {
  it('serves the stored state at once, then emits only the real differences, each legal', async () => {
    const sim = await startSimExchange({ markets: 400, seed: 11, logger: silentLogger });
    cleanups.push(() => sim.close());
    const state = tempDir('registry-warm-');
    cleanups.push(() => state.remove());

    const first = registryOn(sim, state.dir);
    first.start();
    const cold = await first.synced;
    expect(cold).toMatchObject({ warm: false, loaded: 0, markets: 400 });
    await waitUntil('the reconcile after the sync', () => first.stats().reconciles >= 1);
    await waitUntil('lifecycle subscription', () => first.stats().lifecycle.subscriptions >= 1);

    // The full record is the REST record as served, every field, key order kept.
    const someTicker = sim.tickers()[3] as string;
    const served = ((await (await fetch(`${sim.restUrl}/markets/${someTicker}`)).json()) as { market: Record<string, unknown> }).market;
    const record = first.getMarketRecord(someTicker);
    expect(record?.source).toBe('rest');
    expect(Object.keys(record?.record ?? {})).toEqual(Object.keys(served));
    expect(record?.record).toEqual(served);

    // A market only the WebSocket announced: its record is what the `created` frame gave.
    const fromFrame = sim.createMarket({ openTs: nowS() + 3600, closeTs: nowS() + 7200 }).ticker as string;
    await waitUntil('created', () => first.getMarket(fromFrame) !== undefined);
    expect(first.getMarketRecord(fromFrame)).toMatchObject({ source: 'websocket', record: { market_ticker: fromFrame, event_type: 'created' } });
    // A market that will close while the registry is down.
    const closeAt = nowS() + 1;
    const closesWhileDown = sim.createMarket({ openTs: nowS() - 5, closeTs: closeAt }).ticker as string;
    await waitUntil('created', () => first.getMarket(closesWhileDown)?.marketStatus === 'active');
    await first.stop();

    // While it is down, the exchange moves on (no one hears its frames).
    const deactivated = firstTickerWithStatus(sim, 'active');
    sim.deactivate(deactivated);
    const settled = firstTickerWithStatus(sim, 'closed');
    sim.determine(settled, 'yes');
    sim.settle(settled);
    const disputed = firstTickerWithStatus(sim, 'determined');
    sim.dispute(disputed);
    const createdWhileDown = sim.createMarket({ openTs: nowS() - 10, closeTs: nowS() + 3600 }).ticker as string;
    await waitUntil('the close time to pass', () => Date.now() > closeAt * 1000 + 100, 5_000);

    const second = registryOn(sim, state.dir);
    // Loaded at once, before start: the stored statuses, no created emitted.
    const stored = new Map<string, MarketStatus>([...second.markets()].map((m) => [m.ticker, m.marketStatus]));
    expect(stored.size).toBe(402);
    expect(second.getMarket(deactivated)?.marketStatus).toBe('active');
    expect(second.getActiveMarkets().length).toBeGreaterThan(0);
    expect(second.getMarketRecord(someTicker)?.record).toEqual(served);
    const changes: MarketChange[] = [];
    second.onChange((c) => changes.push(c));
    second.start();
    const warm = await second.synced;
    expect(warm).toMatchObject({ warm: true, loaded: 402 });
    await converged(sim, second);

    expect(changes.filter((c) => c.eventType === 'created').map((c) => c.ticker)).toEqual([createdWhileDown]);
    replayFrom(stored, changes);
    const of = (t: string) => changes.filter((c) => c.ticker === t).map((c) => [c.eventType, c.oldStatus, c.newStatus]);
    expect(of(deactivated)).toEqual([['status_change', 'active', 'inactive']]);
    expect(of(settled)).toEqual([['settled', 'closed', 'finalized']]);
    expect(of(disputed)).toEqual([['status_change', 'determined', 'disputed']]);
    expect(of(closesWhileDown)).toEqual([['status_change', 'active', 'closed']]);
    // Nothing else changed, so nothing else was emitted.
    expect(changes).toHaveLength(5);
    expect(second.stats().counters.rejected).toBe(0);
    expect(second.getMarketRecord(fromFrame)?.source).toBe('rest'); // the full verification pass read it since
  });
});
