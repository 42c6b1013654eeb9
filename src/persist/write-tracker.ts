/**
 * WriteTracker: tells its listeners which markets the store has written, from the outside.
 *
 * RegistryCore publishes a MarketChange for every status change, but some writes change data
 * without a status change (a REST read bringing new prices, `close_date_updated` on an active
 * market), and those are not published. The tracker reports
 *   - every changed market at once, from the change stream (`onChange`), and
 *   - every other write within `scanMs`, by a sweep of the store's cells for records newer than
 *     the last sweep (`updatedAt`, which the core sets to its clock on every write) that do not
 *     hold what a change already reported. The sweep is skipped when the store's version has not
 *     moved; when it has, it reads one number per market (no Market is built).
 *
 * A write-ahead hook in the core (a callback on every stored change) would make the sweep
 * unnecessary; until there is one, this is the exact substitute.
 */
import type { Market, MarketChange, Micros } from '../domain/types.js';
import type { ChangeStream } from '../registry/change-stream.js';
import { statusCode } from '../domain/fast-status.js';
import type { MarketStore } from '../store/market-store.js';

/** A market as the store holds it now, without caching a materialized copy in the store. */
export function currentMarket(store: MarketStore, ticker: string): Market | undefined {
  const id = store.idOf(ticker);
  return id < 0 ? undefined : store.snapshot(id);
}

export type WrittenListener = (ticker: string, change: MarketChange | null) => void;

export interface WriteTrackerOptions {
  readonly store: MarketStore;
  readonly changes: ChangeStream;
  readonly now: () => Micros;
  readonly scanMs: number;
  readonly onError?: (err: unknown) => void;
}

export class WriteTracker {
  readonly #options: WriteTrackerOptions;
  readonly #listeners: WrittenListener[] = [];
  /** The changes since the last sweep (the sweep skips markets still as their last change left them). */
  #reported: MarketChange[] = [];
  #cursor: Micros;
  #version: number;
  #timer: NodeJS.Timeout | null = null;
  #unsubscribe: (() => void) | null = null;
  #sweeps = 0;
  #swept = 0;

  constructor(options: WriteTrackerOptions) {
    this.#options = options;
    this.#cursor = options.now();
    this.#version = options.store.version;
    this.#unsubscribe = options.changes.onChange((change) => this.#onChange(change));
  }

  /** Sweeps run and markets they reported. */
  get stats(): { readonly sweeps: number; readonly swept: number } {
    return { sweeps: this.#sweeps, swept: this.#swept };
  }

  listen(listener: WrittenListener): void {
    this.#listeners.push(listener);
  }

  start(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => {
      try {
        this.sweep();
      } catch (err) {
        this.#options.onError?.(err);
      }
    }, this.#options.scanMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  /** Reports every write since the last sweep that no change reported. */
  sweep(): number {
    const { store } = this.#options;
    const version = store.version;
    const now = this.#options.now();
    if (version === this.#version) {
      this.#reported.length = 0;
      this.#cursor = now;
      return 0;
    }
    const cursor = this.#cursor;
    const changes = this.#reported;
    const writes = version - this.#version;
    this.#reported = [];
    this.#cursor = now;
    this.#version = version;
    // Every store write of the core is one version step, and every change one write: as many
    // steps as changes means no write went unreported (a pure lifecycle stream). Skip the pass.
    if (writes === changes.length) return 0;
    // The last change of each market (a settled one carries no record: it is reported again).
    const reported = new Map<string, Market | undefined>();
    for (const c of changes) reported.set(c.ticker, c.market);
    this.#sweeps++;
    let found = 0;
    // Over the store's cells: no Market is built for a market that did not change.
    for (let id = 0, top = store.idLimit; id < top; id++) {
      if (!store.isLive(id) || store.updatedAtOf(id) < cursor) continue;
      const ticker = store.tickerOf(id);
      const seen = reported.get(ticker);
      // What the last change reported is what the store holds: nothing more to report.
      if (seen !== undefined && seen.updatedAt === store.updatedAtOf(id) && store.statusOf(id) === statusCode(seen.marketStatus) && store.sameData(id, seen))
        continue;
      found++;
      for (const l of this.#listeners) l(ticker, null);
    }
    this.#swept += found;
    return found;
  }

  #onChange(change: MarketChange): void {
    // Kept in order (cheap); a sweep that has to look turns it into the last change per market.
    this.#reported.push(change);
    for (const l of this.#listeners) l(change.ticker, change);
  }
}
