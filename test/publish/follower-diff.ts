/** Comparing a follower with the registry it follows, for the NATS tests. */
import type { FollowerRegistry } from '../../src/follow/follower.js';
import type { MarketRegistry } from '../../src/registry/create-registry.js';

/** Tickers whose record differs between the registry and the follower, and a count mismatch. */
export function mismatches(registry: MarketRegistry, f: FollowerRegistry): string[] {
  const out: string[] = [];
  let n = 0;
  for (const m of registry.markets()) {
    n++;
    const theirs = f.getMarket(m.ticker);
    if (theirs === undefined) out.push(`${m.ticker}: missing`);
    else if (JSON.stringify(theirs) !== JSON.stringify(m))
      out.push(`${m.ticker}: ${theirs.marketStatus}@${theirs.updatedAt}, registry ${m.marketStatus}@${m.updatedAt}`);
  }
  const theirCount = [...f.markets()].length;
  if (theirCount !== n) out.push(`count: follower ${theirCount}, registry ${n}`);
  return out;
}
