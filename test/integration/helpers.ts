/** Shared set-up for integration tests: a simulator and a registry on it, over 127.0.0.1. */
import { startSimExchange, type SimExchange, type SimExchangeOptions } from '../../src/sim/index.js';
import { createRegistry, type MarketRegistry, type RegistryOptions } from '../../src/registry/create-registry.js';
import { silentLogger } from '../../src/log.js';
import type { MarketChange } from '../../src/domain/types.js';
import type { MarketStatus } from '../../src/domain/vocabulary.js';

export interface Harness {
  sim: SimExchange;
  registry: MarketRegistry;
  changes: MarketChange[];
  close(): Promise<void>;
}

/**
 * Options of a registry on `sim` for tests: no rate limit, silent, periodic work pushed out of the
 * way (a test asks for a reconcile when it wants one), quick retries.
 */
export function testRegistryOptions(sim: SimExchange) {
  return {
    restUrl: sim.restUrl,
    wsUrl: sim.wsUrl,
    rateLimit: 'unlimited',
    logger: silentLogger,
    reconcileIntervalMs: 3_600_000,
    eventSyncIntervalMs: 3_600_000,
    statusIntervalMs: 60_000,
    backoff: { baseMs: 20, maxMs: 200 },
  } as const satisfies RegistryOptions;
}

export async function startHarness(
  simOptions: SimExchangeOptions = {},
  registryOptions: Partial<RegistryOptions> = {},
  { collect = true }: { collect?: boolean } = {},
): Promise<Harness> {
  const sim = await startSimExchange({ markets: 300, seed: 7, logger: silentLogger, ...simOptions });
  const registry = createRegistry({ ...testRegistryOptions(sim), ...registryOptions });
  const changes: MarketChange[] = [];
  if (collect) registry.onChange((c) => changes.push(c));
  return {
    sim,
    registry,
    changes,
    async close() {
      await registry.stop();
      await sim.close();
    },
  };
}

export async function waitUntil(what: string, cond: () => boolean, timeoutMs = 10_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Tickers whose status differs between the registry and the exchange's truth. */
export function differences(sim: SimExchange, registry: MarketRegistry): string[] {
  const diffs: string[] = [];
  const truth = sim.snapshot();
  for (const [ticker, market] of truth) {
    const mine = registry.getMarket(ticker);
    if (mine === undefined) diffs.push(`${ticker}: missing (exchange: ${market.status})`);
    else if (mine.marketStatus !== market.status) diffs.push(`${ticker}: registry ${mine.marketStatus}, exchange ${market.status}`);
  }
  if (registry.stats().markets !== truth.size) diffs.push(`count: registry ${registry.stats().markets}, exchange ${truth.size}`);
  return diffs;
}

export async function converge(h: Harness, timeoutMs = 15_000): Promise<void> {
  await waitUntil('registry to equal the exchange', () => differences(h.sim, h.registry).length === 0, timeoutMs, 50).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}:\n${differences(h.sim, h.registry).slice(0, 10).join('\n')}`);
  });
}

/** Checks that a change sequence is a chain of legal steps per ticker; returns the final status per ticker. */
export function replayChanges(changes: readonly MarketChange[]): Map<string, MarketStatus> {
  const status = new Map<string, MarketStatus>();
  for (const c of changes) {
    if (c.eventType === 'created') {
      if (status.has(c.ticker)) throw new Error(`${c.ticker} created twice`);
    } else if (status.get(c.ticker) !== c.oldStatus) {
      throw new Error(`${c.ticker}: change from ${c.oldStatus} but last known ${status.get(c.ticker)}`);
    }
    status.set(c.ticker, c.newStatus);
  }
  return status;
}

export function firstTickerWithStatus(sim: SimExchange, status: MarketStatus): string {
  for (const [ticker, m] of sim.snapshot()) if (m.status === status) return ticker;
  throw new Error(`no ${status} market in the simulator`);
}
