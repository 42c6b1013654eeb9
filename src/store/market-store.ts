/**
 * The in-memory market cache: every known market by ticker, an index of active markets, and
 * per-status counts. A plain class rather than @xstate/store because it must hold 1M markets
 * within ~600 bytes each and answer `getActiveMarkets()` at the cost of a plain Map: it keeps
 * exactly one object per market plus one Map entry per active market, and nothing per read.
 *
 * Markets are immutable values; an update replaces the object, so a `Market` handed to an
 * embedder (in a MarketChange, say) never changes under its feet.
 *
 * Only the registry writes (single-threaded JS, so no locks); reads are synchronous and safe at
 * any time. The store does not judge transitions: callers pass only what the lifecycle table
 * accepted.
 */
import { MARKET_STATUSES, type MarketStatus } from '../domain/vocabulary.js';
import type { Market, MarketEvent } from '../domain/types.js';

export type StatusCounts = Record<MarketStatus, number>;

export function emptyStatusCounts(): StatusCounts {
  return Object.fromEntries(MARKET_STATUSES.map((s) => [s, 0])) as StatusCounts;
}

export class MarketStore {
  readonly #markets = new Map<string, Market>();
  readonly #active = new Map<string, Market>();
  readonly #counts: StatusCounts = emptyStatusCounts();
  /** Cached result of activeMarkets(); dropped whenever the active set changes. */
  #activeSnapshot: readonly Market[] | null = null;
  readonly #events = new Map<string, MarketEvent>();
  /** Bumped on every write, so readers can tell cheaply whether anything changed. */
  #version = 0;

  get size(): number {
    return this.#markets.size;
  }

  get activeCount(): number {
    return this.#active.size;
  }

  get version(): number {
    return this.#version;
  }

  get(ticker: string): Market | undefined {
    return this.#markets.get(ticker);
  }

  has(ticker: string): boolean {
    return this.#markets.has(ticker);
  }

  /** Inserts or replaces a market; returns the previous value. */
  set(market: Market): Market | undefined {
    const previous = this.#markets.get(market.ticker);
    this.#put(market, previous);
    return previous;
  }

  /**
   * Replaces `previous` (which the caller just read with `get`) by `market`: saves the second
   * lookup in a 1M-entry Map on every lifecycle message.
   */
  replace(market: Market, previous: Market): void {
    this.#put(market, previous);
  }

  #put(market: Market, previous: Market | undefined): void {
    this.#markets.set(market.ticker, market);
    if (previous !== undefined) this.#counts[previous.marketStatus]--;
    this.#counts[market.marketStatus]++;
    if (market.marketStatus === 'active') {
      this.#active.set(market.ticker, market);
      this.#activeSnapshot = null;
    } else if (previous?.marketStatus === 'active') {
      this.#active.delete(market.ticker);
      this.#activeSnapshot = null;
    }
    this.#version++;
  }

  delete(ticker: string): Market | undefined {
    const previous = this.#markets.get(ticker);
    if (previous === undefined) return undefined;
    this.#markets.delete(ticker);
    this.#counts[previous.marketStatus]--;
    if (this.#active.delete(ticker)) this.#activeSnapshot = null;
    this.#version++;
    return previous;
  }

  /**
   * Every active market. The array is built once per change of the active set and shared
   * between callers until the next change, which is why it is read-only.
   */
  activeMarkets(): readonly Market[] {
    this.#activeSnapshot ??= Object.freeze(Array.from(this.#active.values()));
    return this.#activeSnapshot;
  }

  statusCounts(): StatusCounts {
    return { ...this.#counts };
  }

  values(): IterableIterator<Market> {
    return this.#markets.values();
  }

  tickers(): IterableIterator<string> {
    return this.#markets.keys();
  }

  // Events ------------------------------------------------------------------------------------

  getEvent(eventTicker: string): MarketEvent | undefined {
    return this.#events.get(eventTicker);
  }

  setEvent(event: MarketEvent): void {
    this.#events.set(event.eventTicker, event);
  }

  get eventCount(): number {
    return this.#events.size;
  }

  events(): IterableIterator<MarketEvent> {
    return this.#events.values();
  }
}
