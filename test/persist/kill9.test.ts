/**
 * kill -9, for real: a registry in a child process (fixtures/registry-child.ts) on the simulator
 * this test runs, killed with SIGKILL during its cold initial sync, during lifecycle writes, and
 * during a warm start's catch-up. After each kill the state directory must load, every stored
 * status must be one that process emitted (nothing invalid was written), and the changes each
 * process emitted must be legal steps from what it loaded. At the end a registry in this process
 * converges with the exchange's truth with zero lost and zero rejected changes.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { MarketChange, MarketStatus } from '../../src/domain/types.js';
import { silentLogger } from '../../src/log.js';
import { STATE_FILE } from '../../src/persist/schema.js';
import { openStateDir } from '../../src/persist/state-file.js';
import { createRegistry } from '../../src/registry/create-registry.js';
import { startSimExchange, type SimExchange } from '../../src/sim/index.js';
import { MarketStore } from '../../src/store/market-store.js';
import { differences, waitUntil } from '../integration/helpers.js';
import { replayFrom, spawnRegistryChild, tempDir, type ChildLine, type RegistryChild } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Markets committed to the state file so far (read-only, beside the process writing it). */
function storedRows(dir: string): number {
  const file = path.join(dir, STATE_FILE);
  if (!existsSync(file)) return 0;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const markets = (db.prepare('SELECT count(*) AS n FROM markets').get() as { n: number }).n;
    const journaled = (db.prepare('SELECT coalesce(sum(count), 0) AS n FROM journal').get() as { n: number }).n;
    return markets + journaled;
  } catch {
    return 0;
  } finally {
    db.close();
  }
}

/** What the state directory holds now (the lock of a killed process is stale and taken over). */
function stored(dir: string): Map<string, MarketStatus> {
  const store = new MarketStore();
  openStateDir(dir, { store, exchange: 'custom' }).close();
  return new Map([...store.values()].map((m) => [m.ticker, m.marketStatus]));
}

type Step = Pick<MarketChange, 'ticker' | 'eventType' | 'oldStatus' | 'newStatus'>;
const steps = (lines: readonly ChildLine[]): Step[] => lines.filter((l) => l.kind === 'change') as Step[];

/**
 * The process that started from `before` emitted `emitted` and was killed; the directory now
 * holds `after`. Every stored status must be one that market passed through.
 */
function checkKill(before: ReadonlyMap<string, MarketStatus>, emitted: readonly Step[], after: ReadonlyMap<string, MarketStatus>): void {
  replayFrom(before, emitted);
  const seen = new Map<string, Set<MarketStatus>>();
  for (const [t, s] of before) seen.set(t, new Set([s]));
  for (const c of emitted) {
    const set = seen.get(c.ticker) ?? new Set<MarketStatus>();
    set.add(c.newStatus);
    seen.set(c.ticker, set);
  }
  const invalid: string[] = [];
  for (const [t, s] of after) if (!seen.get(t)?.has(s)) invalid.push(`${t}: stored ${s}, passed through ${[...(seen.get(t) ?? [])].join(',') || 'nothing'}`);
  expect(invalid).toEqual([]);
}

/** Random legal operations on the exchange, every few ms, until stopped. */
function churn(sim: SimExchange): () => void {
  const timer = setInterval(() => {
    for (let i = 0; i < 8; i++) sim.randomOp();
  }, 5);
  return () => clearInterval(timer);
}

describe('state directory: kill -9', () => {
  it('loads a consistent store after each kill and converges with zero lost and zero invalid changes', async () => {
    // 1500 markets: every sync (three children and this process) reads them all, so the universe
    // sets most of this test's CPU; the cold sync's REST budget below keeps its length as it was.
    const sim = await startSimExchange({ markets: 1500, seed: 23, logger: silentLogger });
    cleanups.push(() => sim.close());
    const state = tempDir('registry-kill9-');
    cleanups.push(() => state.remove());
    const children: RegistryChild[] = [];
    cleanups.push(async () => {
      for (const c of children) await c.kill9();
    });
    const run = (pageLimit: number, requestsPerSec?: number) => {
      const child = spawnRegistryChild([
        sim.restUrl,
        sim.wsUrl,
        state.dir,
        String(pageLimit),
        ...(requestsPerSec === undefined ? [] : [String(requestsPerSec)]),
      ]);
      children.push(child);
      return child;
    };
    const waitFor = (child: RegistryChild, what: string, cond: () => boolean) =>
      waitUntil(
        what,
        () => {
          if (child.child.exitCode !== null) throw new Error(`the child exited: ${child.stderr.join('')}`);
          return cond();
        },
        20_000,
        10,
      );

    // 1. Killed during its cold initial sync (small pages at 20 requests/s, 1.5 s for the whole
    //    sync: the kill lands mid-sync, once some of it is stored).
    let before = new Map<string, MarketStatus>();
    const first = run(50, 20);
    await waitFor(first, 'part of the sync stored', () => first.lines.length >= 600 && storedRows(state.dir) >= 300);
    await first.kill9();
    expect(first.lines.some((l) => l.kind === 'synced')).toBe(false);
    let after = stored(state.dir);
    checkKill(before, steps(first.lines), after);
    expect(after.size).toBeGreaterThan(0);
    expect(after.size).toBeLessThan(1500);

    // 2. Warm (no watermark yet: a full pass), then killed while lifecycle changes stream in.
    before = after;
    const second = run(1000);
    await waitFor(second, 'synced', () => second.lines.some((l) => l.kind === 'synced'));
    const stopChurn = churn(sim);
    const changesAtSync = second.lines.length;
    await waitFor(second, 'lifecycle changes', () => second.lines.length >= changesAtSync + 150);
    await second.kill9();
    await new Promise((r) => setTimeout(r, 100)); // the exchange goes on while it is down
    after = stored(state.dir);
    checkKill(before, steps(second.lines), after);
    expect(steps(second.lines).filter((c) => c.eventType === 'created' && before.has(c.ticker))).toEqual([]);

    // 3. Warm with a watermark (delta, then the full verification pass): killed during the catch-up.
    before = after;
    const third = run(1000);
    await waitFor(third, 'synced', () => third.lines.some((l) => l.kind === 'synced'));
    await third.kill9();
    stopChurn();
    after = stored(state.dir);
    checkKill(before, steps(third.lines), after);

    // 4. The last start, in this process: it converges with the exchange, every change legal.
    const registry = createRegistry({
      restUrl: sim.restUrl,
      wsUrl: sim.wsUrl,
      rateLimit: 'unlimited',
      logger: silentLogger,
      stateDir: state.dir,
      reconcileIntervalMs: 3_600_000,
      eventSyncIntervalMs: 3_600_000,
      statusIntervalMs: 60_000,
    });
    cleanups.push(() => registry.stop());
    const loaded = new Map([...registry.markets()].map((m) => [m.ticker, m.marketStatus]));
    expect(loaded).toEqual(after);
    const changes: MarketChange[] = [];
    registry.onChange((c) => changes.push(c));
    const rejected: unknown[] = [];
    registry.onRejected((r) => rejected.push(r));
    registry.start();
    expect(await registry.synced).toMatchObject({ warm: true, loaded: after.size });
    await waitUntil('registry to equal the exchange', () => differences(sim, registry).length === 0, 20_000, 50).catch((err) => {
      throw new Error(`${(err as Error).message}:\n${differences(sim, registry).slice(0, 10).join('\n')}`);
    });
    // What was loaded plus what was emitted is what the registry holds (which equals the exchange):
    // a consumer that kept the stored state and applied the changes lost nothing.
    const final = replayFrom(loaded, changes);
    for (const m of registry.markets()) expect(final.get(m.ticker), m.ticker).toBe(m.marketStatus);
    expect(final.size).toBe(registry.stats().markets);
    expect(rejected).toEqual([]);
  });
});
