/**
 * A follower's `synced` means "equals a synced registry" (the `_registry` announcement, layout.ts):
 * a follower started before any registry resolves it only once the registry is synced and its
 * whole universe is on NATS; on a bucket whose registry is gone it syncs "as of" that registry's
 * announcement; a restarted registry announces again and the follower stays synced and equal.
 */
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { followRegistry } from '../../src/follow/follower.js';
import { silentLogger } from '../../src/log.js';
import { DEFAULT_BUCKET, REGISTRY_KEY, parseAnnouncement } from '../../src/publish/layout.js';
import { createRegistry } from '../../src/registry/create-registry.js';
import { startSimExchange } from '../../src/sim/index.js';
import { testRegistryOptions, waitUntil } from '../integration/helpers.js';
import { mismatches } from './follower-diff.js';
import { natsServer } from './nats-server.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('follower synced: equal to a synced registry', () => {
  it('a follower started before the registry resolves synced only with the full universe, equal to the registry', async () => {
    const nats = await natsServer();
    cleanups.push(() => nats.close());
    await nats.start();
    // Many pages and publish batches (500 changes each): a follower that synced on a partial bucket misses most of them.
    const sim = await startSimExchange({ markets: 2000, seed: 11, logger: silentLogger });
    cleanups.push(() => sim.close());

    const f = followRegistry({ nats: { url: nats.url } });
    cleanups.push(() => f.stop());
    f.start();
    // Waiting for the stream: no registry has announced itself.
    await waitUntil('the follower to connect', () => f.lag().connected);
    expect(f.stats().registry).toBeNull();

    const registry = createRegistry({ ...testRegistryOptions(sim), publish: { url: nats.url } });
    cleanups.push(() => registry.stop());
    let registrySynced = false;
    void registry.synced.then(() => (registrySynced = true));
    registry.start();

    const summary = await f.synced;
    // Checked in the same tick as synced resolved: nothing could have caught up since.
    const missing = mismatches(registry, f);
    expect(registrySynced).toBe(true);
    expect(missing.slice(0, 10)).toEqual([]);
    const r = await registry.synced;
    expect(summary.markets).toBe(r.markets);
    expect(summary.markets).toBe(2000);
    for (const m of registry.markets()) expect(f.getMarket(m.ticker)).toEqual(m);
    expect(summary.registry).toMatchObject({ synced: true, markets: r.markets, warm: false, instance: registry.stats().publish?.instance });
    expect(f.stats()).toMatchObject({ registry: summary.registry, registrySyncedAt: summary.registry.syncedAt });
    expect(f.statusCounts()).toEqual(registry.statusCounts());
    // The publisher records its announcement when NATS acknowledges the put, which a follower
    // watching the bucket may see first.
    await waitUntil('the publisher to record its acknowledged announcement', () => registry.stats().publish?.announced === 'synced');
  });

  it('on a bucket whose registry is gone, synced is as of its announcement; a restarted registry announces again and the follower stays synced', async () => {
    const nats = await natsServer();
    cleanups.push(() => nats.close());
    await nats.start();
    const sim = await startSimExchange({ markets: 600, seed: 12, logger: silentLogger });
    cleanups.push(() => sim.close());

    const first = createRegistry({ ...testRegistryOptions(sim), publish: { url: nats.url } });
    cleanups.push(() => first.stop());
    first.start();
    const firstSynced = await first.synced;
    const f = followRegistry({ nats: { url: nats.url }, name: 'stays' });
    cleanups.push(() => f.stop());
    f.start();
    const fSummary = await f.synced;
    const firstInstance = first.stats().publish?.instance as string;
    expect(fSummary.registry).toMatchObject({ instance: firstInstance, synced: true, markets: firstSynced.markets });
    await first.stop();

    // The registry is gone; its announcement stays: a new follower syncs to that state, and says as of when.
    const late = followRegistry({ nats: { url: nats.url } });
    cleanups.push(() => late.stop());
    late.start();
    const lateSummary = await late.synced;
    expect(lateSummary.registry).toEqual(fSummary.registry);
    expect(late.stats().registrySyncedAt).toBe(fSummary.registry.syncedAt);
    expect(mismatches(first, late)).toEqual([]);

    // A registry that restarts is a new instance: syncing first (what the bucket holds is no
    // synced state then), synced later; the follower that was synced stays synced and equal.
    sim.createMarket({ ticker: 'KXRESTART-26JUN01-T1.5', openTs: Math.floor(Date.now() / 1000) + 3600, closeTs: Math.floor(Date.now() / 1000) + 7200 });
    const second = createRegistry({ ...testRegistryOptions(sim), publish: { url: nats.url } });
    cleanups.push(() => second.stop());
    second.start();
    await second.synced;
    const secondInstance = second.stats().publish?.instance as string;
    expect(secondInstance).not.toBe(firstInstance);
    await waitUntil(
      'the follower to see the new registry synced',
      () => f.stats().registry?.instance === secondInstance && f.stats().registry?.synced === true,
    );
    await waitUntil('the follower to equal the new registry', () => mismatches(second, f).length === 0, 20_000, 50).catch((err) => {
      throw new Error(`${(err as Error).message}:\n${mismatches(second, f).slice(0, 10).join('\n')}`);
    });
    expect(f.getMarket('KXRESTART-26JUN01-T1.5')).toBeDefined();

    // And what the bucket says is the new registry's announcement, read back raw.
    const nc = await connect({ servers: nats.url });
    cleanups.push(() => nc.close());
    const kv = await new Kvm(nc).open(DEFAULT_BUCKET);
    expect(parseAnnouncement((await kv.get(REGISTRY_KEY))?.json())).toMatchObject({ instance: secondInstance, synced: true, markets: 601 });
  });
});
