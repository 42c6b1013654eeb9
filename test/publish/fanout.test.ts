/**
 * The registry on the simulator → a real nats-server (JetStream) → two followers in this process,
 * with no connection to the exchange, equal to the registry after a scripted lifecycle; across
 * an absent server at start, a NATS restart (same store directory) and a follower restart.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { MarketChange } from '../../src/domain/types.js';
import { followRegistry, type FollowerRegistry } from '../../src/follow/follower.js';
import { silentLogger } from '../../src/log.js';
import { DEFAULT_BUCKET, DEFAULT_STREAM } from '../../src/publish/layout.js';
import { encodeTicker } from '../../src/publish/ticker-codec.js';
import { createRegistry, type MarketRegistry, type RegistryOptions } from '../../src/registry/create-registry.js';
import { startSimExchange, type SimExchange } from '../../src/sim/index.js';
import { firstTickerWithStatus, testRegistryOptions, waitUntil } from '../integration/helpers.js';
import { tempDir } from '../persist/helpers.js';
import { mismatches } from './follower-diff.js';
import { freePort, natsServer, type NatsServer } from './nats-server.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const nowS = () => Math.floor(Date.now() / 1000);

function registryOn(sim: SimExchange, extra: Partial<RegistryOptions>): MarketRegistry {
  const registry = createRegistry({ ...testRegistryOptions(sim), ...extra });
  cleanups.push(() => registry.stop());
  return registry;
}

function follower(nats: NatsServer, name?: string): FollowerRegistry {
  const f = followRegistry({ nats: { url: nats.url }, ...(name === undefined ? {} : { name }) });
  cleanups.push(() => f.stop());
  return f;
}

async function equal(registry: MarketRegistry, ...followers: FollowerRegistry[]): Promise<void> {
  for (const f of followers) {
    await waitUntil('follower to equal the registry', () => mismatches(registry, f).length === 0, 20_000, 50).catch((err) => {
      throw new Error(`${(err as Error).message}:\n${mismatches(registry, f).slice(0, 10).join('\n')}`);
    });
    expect(f.statusCounts()).toEqual(registry.statusCounts());
    expect(f.getActiveMarkets().length).toBe(registry.getActiveMarkets().length);
  }
}

describe('NATS fan-out and followers', () => {
  it('two followers equal the registry across an absent server, a NATS restart and a follower restart', async () => {
    const nats = await natsServer();
    cleanups.push(() => nats.close());
    const sim = await startSimExchange({ markets: 1500, seed: 5, logger: silentLogger });
    cleanups.push(() => sim.close());
    const registry = registryOn(sim, { publish: { url: nats.url } });

    // No server yet: the sync fills the publisher's bounded buffer and waits, losing nothing.
    let synced = false;
    void registry.synced.then(() => (synced = true));
    registry.start();
    await waitUntil('the publisher buffer to fill', () => registry.stats().publish?.buffered === 1000);
    await new Promise((r) => setTimeout(r, 200));
    expect(synced).toBe(false);
    expect(registry.stats().publish?.buffered).toBe(1000);
    expect(registry.stats().markets).toBeLessThan(1500);
    await nats.start();
    await registry.synced;

    const f1 = follower(nats, 'f1');
    const f2 = follower(nats, 'f2');
    f1.start();
    f2.start();
    await Promise.all([f1.synced, f2.synced]);
    await equal(registry, f1, f2);
    await waitUntil('lifecycle subscription', () => registry.stats().lifecycle.subscriptions >= 1);

    // A scripted lifecycle, with tickers that contain '.'.
    const seen1: MarketChange[] = [];
    f1.onChange((c) => seen1.push(c));
    const dotted = sim.createMarket({ ticker: 'KXTEST-26JUN01-T0.7', openTs: nowS() + 3600, closeTs: nowS() + 7200 }).ticker as string;
    const active = firstTickerWithStatus(sim, 'active');
    sim.deactivate(active);
    sim.activate(active);
    sim.updateCloseTime(active, nowS() + 86_400); // a data-only change: KV only
    const closed = firstTickerWithStatus(sim, 'closed');
    sim.determine(closed, 'no');
    sim.settle(closed);
    const determined = firstTickerWithStatus(sim, 'determined');
    sim.dispute(determined);
    registry.reconcileNow();
    await waitUntil(
      'the registry to see it all',
      () =>
        registry.getMarket(determined)?.marketStatus === 'disputed' &&
        registry.getMarket(closed)?.marketStatus === 'finalized' &&
        registry.getMarket(dotted) !== undefined,
    );
    await equal(registry, f1, f2);
    expect(seen1.filter((c) => c.ticker === active).map((c) => c.newStatus)).toEqual(['inactive', 'active']);
    expect(seen1.find((c) => c.ticker === closed && c.eventType === 'settled')).toBeDefined();

    // The layout: one subject per change type and market, the KV key per ticker, '.' encoded.
    const nc = await connect({ servers: nats.url });
    cleanups.push(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const stored = await jsm.streams.getMessage(DEFAULT_STREAM, { last_by_subj: `kalshi.markets.created.${encodeTicker(dotted)}` });
    expect(stored?.json<MarketChange>()).toMatchObject({ ticker: dotted, eventType: 'created', oldStatus: null, newStatus: 'initialized' });
    expect(stored?.header.get('Nats-Msg-Id')).toMatch(new RegExp(`^${dotted.replace('.', '\\.')}\\|created\\|initialized\\|\\d+$`));
    const kv = await new Kvm(nc).open(DEFAULT_BUCKET);
    expect((await kv.get('KXTEST-26JUN01-T0_2E7'))?.json()).toEqual(registry.getMarket(dotted));

    // NATS goes away mid-run and comes back on the same store: nothing is lost.
    await nats.stop();
    const goesInactive = firstTickerWithStatus(sim, 'active');
    sim.deactivate(goesInactive);
    for (let i = 0; i < 30; i++) sim.randomOp();
    await waitUntil('the registry to apply it', () => registry.getMarket(goesInactive)?.marketStatus === 'inactive');
    await new Promise((r) => setTimeout(r, 300));
    await nats.start();
    await equal(registry, f1, f2);
    expect(seen1.some((c) => c.ticker === goesInactive && c.newStatus === 'inactive')).toBe(true);

    // A follower restarts under the same name: it resumes after its last change, with no gap.
    await f1.stop();
    const whileDown = firstTickerWithStatus(sim, 'active');
    sim.deactivate(whileDown);
    for (let i = 0; i < 30; i++) sim.randomOp();
    await waitUntil('the registry to apply it', () => registry.getMarket(whileDown)?.marketStatus === 'inactive');
    await waitUntil('f2 to see it', () => f2.getMarket(whileDown)?.marketStatus === 'inactive');
    const again = follower(nats, 'f1');
    const seenAgain: MarketChange[] = [];
    again.onChange((c) => seenAgain.push(c));
    again.start();
    expect(await again.synced).toMatchObject({ resumed: true });
    await equal(registry, again, f2);
    expect(seenAgain.filter((c) => c.ticker === whileDown).map((c) => c.newStatus)).toContain('inactive');
    expect(again.lag()).toMatchObject({ connected: true, pending: 0, behindMs: 0 });
    expect(again.lag().sequence).toBeGreaterThan(1500);
    expect(registry.stats().publish).toMatchObject({ connected: true, buffered: 0 });
  });

  it('a warm start on an empty NATS server brings the KV bucket and the stream up to the stored state', async () => {
    const nats = await natsServer();
    cleanups.push(() => nats.close());
    await nats.start();
    const sim = await startSimExchange({ markets: 400, seed: 9, logger: silentLogger });
    cleanups.push(() => sim.close());
    const state = tempDir('registry-resync-');
    cleanups.push(() => state.remove());
    const first = registryOn(sim, { stateDir: state.dir, stateFlushMs: 20 });
    first.start();
    await first.synced;
    await first.stop();

    const second = registryOn(sim, { stateDir: state.dir, stateFlushMs: 20, publish: { url: nats.url } });
    second.start();
    expect(await second.synced).toMatchObject({ warm: true, loaded: 400 });
    await waitUntil('the resync', () => second.stats().publish?.stage === 'publishing');
    expect(second.stats().publish?.resynced).toBe(400);
    const f = follower(nats);
    f.start();
    await f.synced;
    await equal(second, f);
  });

  it('stops promptly while the server is absent (registry and follower)', async () => {
    const port = await freePort();
    const sim = await startSimExchange({ markets: 50, seed: 3, logger: silentLogger });
    cleanups.push(() => sim.close());
    const registry = registryOn(sim, { publish: { url: `nats://127.0.0.1:${port}` } });
    registry.start();
    await registry.synced;
    const f = followRegistry({ nats: { url: `nats://127.0.0.1:${port}` }, name: 'nobody' });
    f.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(registry.stats().publish).toMatchObject({ connected: false, stage: 'connecting', buffered: 50 });
    const started = Date.now();
    await Promise.all([registry.stop(), f.stop()]);
    expect(Date.now() - started).toBeLessThan(3_000);
    await expect(f.synced).rejects.toThrow(/stopped/);
  });
});
