/**
 * The in-memory market cache: every known market by ticker, an index of active markets, and
 * per-status counts, built to hold 1M markets in a few hundred bytes each and to change one
 * without allocating.
 *
 * Layout: each market is a small integer id (a Map from ticker to id) and a cell spread over
 * columns — its strings in plain arrays, its status in a Uint8Array, its eight numbers (prices,
 * volume, times) side by side in one Float64Array. A lifecycle transition writes a byte and two
 * numbers in place: no object is created, none is left for the collector.
 *
 * Immutability towards embedders: every `Market` handed out is a frozen object materialized from
 * the cell. Reads (`get`, `activeMarkets`) cache it in the cell until the market changes, so
 * repeated reads return the same object and a change never alters one already handed out.
 * `snapshot(id)` (what a MarketChange carries) gives the cached object when there is one and a
 * fresh one otherwise, without caching it (a change's snapshot usually dies young; caching it
 * would keep it alive until the market's next change).
 *
 * `activeMarkets()` is one frozen array shared by every caller until the active set (or a member)
 * changes; the next call patches a private copy at the positions that changed (the active index
 * is a dense id array with swap-removal), or rebuilds it after many changes, and hands out a
 * frozen block copy of it.
 *
 * Only the registry writes (single-threaded JS, so no locks); reads are synchronous and safe at
 * any time. The store does not judge transitions: callers pass only what the lifecycle table
 * accepted.
 */
import { MARKET_STATUSES, type MarketStatus } from '../domain/vocabulary.js';
import { STATUS_BY_CODE, STATUS_COUNT, S_ACTIVE, S_FINALIZED, TRADING_BY_CODE, statusCode } from '../domain/fast-status.js';
import type { Market, MarketEvent, Micros } from '../domain/types.js';

export type StatusCounts = Record<MarketStatus, number>;

export function emptyStatusCounts(): StatusCounts {
  return Object.fromEntries(MARKET_STATUSES.map((s) => [s, 0])) as StatusCounts;
}

/** Numbers per cell, in this order. */
const NUMS = 8;
const F_YES_BID = 0;
const F_YES_ASK = 1;
const F_LAST = 2;
const F_VOLUME = 3;
const F_OPEN = 4;
const F_CLOSE = 5;
const F_EXPIRATION = 6;
const F_UPDATED = 7;

/** Status byte of a free cell (a deleted market's id, kept for reuse). */
const FREE = 255;
/** Above this many changed positions, activeMarkets() rebuilds instead of patching. */
const PATCH_MAX = 4096;

/** Common strings as this module's own, so that a million cells share them. */
function internType(v: string): string {
  return v === 'binary' ? 'binary' : v === 'scalar' ? 'scalar' : v;
}
function internResult(v: string): string {
  return v === '' ? '' : v === 'yes' ? 'yes' : v === 'no' ? 'no' : v === 'scalar' ? 'scalar' : v;
}

/**
 * Ticker → cell id: an open-addressing hash table (linear probing, backward-shift deletion) over
 * two Int32Arrays — slot → id + 1 (0: empty) and slot → the ticker's FNV-1a hash — kept at most
 * half full. It replaces a Map of a million string keys: a lookup of a freshly parsed ticker
 * string is a hash over its characters, one slot read and one string comparison (measured about
 * three times faster than Map.get at 1M entries), and the table is outside the V8 heap, so the
 * collector never walks it.
 */
export class TickerIndex {
  #ids: Int32Array;
  #hashes: Int32Array;
  #mask: number;
  #size = 0;

  constructor(
    /** The ticker of each id (the store's column). */
    private readonly tickers: readonly string[],
    capacity = 1024,
  ) {
    let cap = 8;
    while (cap < capacity * 2) cap *= 2;
    this.#ids = new Int32Array(cap);
    this.#hashes = new Int32Array(cap);
    this.#mask = cap - 1;
  }

  get size(): number {
    return this.#size;
  }

  /** FNV-1a over the UTF-16 code units. */
  static hash(s: string): number {
    let h = 0x811c9dc5 | 0;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return h;
  }

  /** The id of `ticker`, or -1. */
  get(ticker: string): number {
    const h = TickerIndex.hash(ticker);
    const ids = this.#ids;
    const hashes = this.#hashes;
    const mask = this.#mask;
    for (let p = h & mask; ; p = (p + 1) & mask) {
      const slot = ids[p] as number;
      if (slot === 0) return -1;
      if (hashes[p] === h && this.tickers[slot - 1] === ticker) return slot - 1;
    }
  }

  /** Adds `ticker` (not present) → `id`. */
  add(ticker: string, id: number): void {
    if ((this.#size + 1) * 2 > this.#ids.length) this.#resize(this.#ids.length * 2);
    this.#place(TickerIndex.hash(ticker), id);
    this.#size++;
  }

  /** Removes `ticker`; false when it was not there. */
  delete(ticker: string): boolean {
    const h = TickerIndex.hash(ticker);
    const ids = this.#ids;
    const hashes = this.#hashes;
    const mask = this.#mask;
    let p = h & mask;
    for (; ; p = (p + 1) & mask) {
      const slot = ids[p] as number;
      if (slot === 0) return false;
      if (hashes[p] === h && this.tickers[slot - 1] === ticker) break;
    }
    // Backward-shift deletion: move later members of the probe run into the hole, so that no
    // lookup ever stops early at it.
    let hole = p;
    for (let q = (p + 1) & mask; ids[q] !== 0; q = (q + 1) & mask) {
      const home = (hashes[q] as number) & mask;
      // q may move to the hole unless its home lies cyclically in (hole, q].
      const between = hole <= q ? home > hole && home <= q : home > hole || home <= q;
      if (!between) {
        ids[hole] = ids[q] as number;
        hashes[hole] = hashes[q] as number;
        hole = q;
      }
    }
    ids[hole] = 0;
    hashes[hole] = 0;
    this.#size--;
    return true;
  }

  #place(h: number, id: number): void {
    const ids = this.#ids;
    const mask = this.#mask;
    let p = h & mask;
    while (ids[p] !== 0) p = (p + 1) & mask;
    ids[p] = id + 1;
    this.#hashes[p] = h;
  }

  #resize(capacity: number): void {
    const oldIds = this.#ids;
    const oldHashes = this.#hashes;
    this.#ids = new Int32Array(capacity);
    this.#hashes = new Int32Array(capacity);
    this.#mask = capacity - 1;
    for (let p = 0; p < oldIds.length; p++) {
      const slot = oldIds[p] as number;
      if (slot !== 0) this.#place(oldHashes[p] as number, slot - 1);
    }
  }
}

export class MarketStore {
  readonly #tickers: string[] = [];
  readonly #ids: TickerIndex;
  /** Cells in use or freed: ids are < #top. */
  #top = 0;
  #capacity = 0;
  readonly #free: number[] = [];
  readonly #eventTickers: string[] = [];
  readonly #titles: string[] = [];
  readonly #types: string[] = [];
  readonly #results: string[] = [];
  readonly #cache: (Market | undefined)[] = [];
  #status = new Uint8Array(0);
  #nums = new Float64Array(0);
  /** Position of each id in #activeIds, or -1. */
  #activePos = new Int32Array(0);
  #activeIds = new Int32Array(0);
  #activeCount = 0;
  /** Pass stamp per id (see beginPass). */
  #seen = new Uint32Array(0);
  #pass = 0;
  readonly #counts = new Int32Array(STATUS_COUNT);
  /** The shared result of activeMarkets(); null once the active set or a member changed. */
  #activeSnapshot: readonly Market[] | null = null;
  /**
   * The active markets in active-index order as of the last activeMarkets() call (private and
   * mutable, patched in place), and the positions that changed since (null: rebuild).
   */
  #master: Market[] | null = null;
  #dirty: number[] | null = [];
  /** Consecutive records of one event share their strings (see #share). */
  #lastEventTicker = '';
  #lastTitle = '';
  readonly #events = new Map<string, MarketEvent>();
  /** Bumped on every write, so readers can tell cheaply whether anything changed. */
  #version = 0;

  /** `capacity`: markets to make room for up front (the store grows as needed anyway). */
  constructor(options: { capacity?: number } = {}) {
    this.#ids = new TickerIndex(this.#tickers, options.capacity ?? 1024);
  }

  get size(): number {
    return this.#ids.size;
  }

  get activeCount(): number {
    return this.#activeCount;
  }

  get version(): number {
    return this.#version;
  }

  // Reads (materialized, frozen Markets) -------------------------------------------------------

  get(ticker: string): Market | undefined {
    const id = this.#ids.get(ticker);
    return id < 0 ? undefined : this.market(id);
  }

  has(ticker: string): boolean {
    return this.#ids.get(ticker) >= 0;
  }

  /** The market of cell `id`, materialized once and cached until it changes. */
  market(id: number): Market {
    const cached = this.#cache[id];
    if (cached !== undefined) return cached;
    const m = this.#build(id);
    this.#cache[id] = m;
    return m;
  }

  /** The market of cell `id` as it is now, for a change: the cached object if any, else a fresh one (not cached). */
  snapshot(id: number): Market {
    return this.#cache[id] ?? this.#build(id);
  }

  /**
   * Every active market. The array is shared between callers until the active set or one of its
   * members changes, which is why it is frozen; order is unspecified.
   */
  activeMarkets(): readonly Market[] {
    if (this.#activeSnapshot !== null) return this.#activeSnapshot;
    const n = this.#activeCount;
    const ids = this.#activeIds;
    let master = this.#master;
    const dirty = this.#dirty;
    if (master !== null && dirty !== null) {
      // Patch the private copy where the active index changed since the last call.
      if (master.length > n) master.length = n;
      const kept = master.length;
      for (let k = 0; k < dirty.length; k++) {
        const p = dirty[k] as number;
        if (p < kept) master[p] = this.market(ids[p] as number);
      }
      for (let p = kept; p < n; p++) master.push(this.market(ids[p] as number));
    } else {
      master = new Array<Market>(n);
      for (let p = 0; p < n; p++) master[p] = this.market(ids[p] as number);
      this.#master = master;
    }
    // A copy of a plain array is a block copy (slicing a frozen one is ten times slower).
    const frozen = Object.freeze(master.slice());
    this.#activeSnapshot = frozen;
    this.#dirty = [];
    return frozen;
  }

  statusCounts(): StatusCounts {
    const out = emptyStatusCounts();
    for (let s = 0; s < STATUS_COUNT; s++) out[STATUS_BY_CODE[s] as MarketStatus] = this.#counts[s] as number;
    return out;
  }

  /** Every market (cached objects where there are, fresh ones otherwise: a 1M snapshot caches nothing). */
  *values(): IterableIterator<Market> {
    for (let id = 0; id < this.#top; id++) if (this.#status[id] !== FREE) yield this.snapshot(id);
  }

  *tickers(): IterableIterator<string> {
    for (let id = 0; id < this.#top; id++) if (this.#status[id] !== FREE) yield this.#tickers[id] as string;
  }

  // Writes by Market (tests, tools) -----------------------------------------------------------

  /** Inserts or replaces a market; returns the previous value. */
  set(market: Market): Market | undefined {
    const id = this.#ids.get(market.ticker);
    const code = this.#code(market);
    if (id < 0) {
      this.insert(market, code, market.updatedAt);
      return undefined;
    }
    const previous = this.market(id);
    this.overwrite(id, market, code, market.updatedAt);
    return previous;
  }

  /** Replaces `previous` (read with `get`) by `market`. */
  replace(market: Market, _previous: Market): void {
    this.set(market);
  }

  delete(ticker: string): Market | undefined {
    const id = this.#ids.get(ticker);
    if (id < 0) return undefined;
    const previous = this.market(id);
    this.#ids.delete(ticker);
    this.#statusChange(id, this.#status[id] as number, FREE);
    this.#status[id] = FREE;
    this.#tickers[id] = '';
    this.#eventTickers[id] = '';
    this.#titles[id] = '';
    this.#types[id] = '';
    this.#results[id] = '';
    this.#cache[id] = undefined;
    this.#seen[id] = 0;
    this.#free.push(id);
    this.#version++;
    return previous;
  }

  // Cells (the registry core) -------------------------------------------------------------------

  /** The id of a known ticker, or -1. */
  idOf(ticker: string): number {
    return this.#ids.get(ticker);
  }

  tickerOf(id: number): string {
    return this.#tickers[id] as string;
  }
  statusOf(id: number): number {
    return this.#status[id] as number;
  }
  openTsOf(id: number): Micros {
    return this.#nums[id * NUMS + F_OPEN] as number;
  }
  closeTsOf(id: number): Micros {
    return this.#nums[id * NUMS + F_CLOSE] as number;
  }
  updatedAtOf(id: number): Micros {
    return this.#nums[id * NUMS + F_UPDATED] as number;
  }
  resultOf(id: number): string {
    return this.#results[id] as string;
  }
  /** Ids are below this (some may be free: see isLive). */
  get idLimit(): number {
    return this.#top;
  }
  isLive(id: number): boolean {
    return id < this.#top && this.#status[id] !== FREE;
  }

  /** A new market (its ticker must be unknown) with status code `status`; returns its id. */
  insert(m: Market, status: number, updatedAt: Micros): number {
    let id = this.#free.pop();
    if (id === undefined) {
      id = this.#top++;
      if (id >= this.#capacity) this.#grow(id + 1);
      this.#tickers.push(m.ticker);
      this.#eventTickers.push('');
      this.#titles.push('');
      this.#types.push('');
      this.#results.push('');
      this.#cache.push(undefined);
    } else {
      this.#tickers[id] = m.ticker;
      this.#seen[id] = 0;
    }
    this.#ids.add(m.ticker, id);
    this.#status[id] = FREE;
    this.#writeData(id, m);
    this.#nums[id * NUMS + F_UPDATED] = updatedAt;
    this.#status[id] = status;
    this.#statusChange(id, FREE, status);
    this.#version++;
    return id;
  }

  /** Every field of cell `id` from `m` (a REST read), with status code `status`. */
  overwrite(id: number, m: Market, status: number, updatedAt: Micros): void {
    const from = this.#status[id] as number;
    this.#writeData(id, m);
    this.#nums[id * NUMS + F_UPDATED] = updatedAt;
    this.#cache[id] = undefined;
    if (from !== status) {
      this.#status[id] = status;
      this.#statusChange(id, from, status);
    } else if (from === S_ACTIVE) this.#memberChanged(id);
    this.#version++;
  }

  /** A lifecycle transition, in place: status, close time, result, updatedAt. */
  setLifecycle(id: number, status: number, closeTs: Micros, result: string, updatedAt: Micros): void {
    const o = id * NUMS;
    const from = this.#status[id] as number;
    this.#nums[o + F_CLOSE] = closeTs;
    this.#nums[o + F_UPDATED] = updatedAt;
    if (this.#results[id] !== result) this.#results[id] = internResult(result);
    this.#cache[id] = undefined;
    if (from !== status) {
      this.#status[id] = status;
      this.#statusChange(id, from, status);
    } else if (from === S_ACTIVE) this.#memberChanged(id);
    this.#version++;
  }

  /** True when cell `id` holds the data of `m`: every field but the status, tradingStatus and updatedAt. */
  sameData(id: number, m: Market): boolean {
    const n = this.#nums;
    const o = id * NUMS;
    return (
      this.#titles[id] === m.title &&
      this.#eventTickers[id] === m.eventTicker &&
      this.#types[id] === m.marketType &&
      this.#results[id] === m.result &&
      n[o + F_YES_BID] === m.yesBid &&
      n[o + F_YES_ASK] === m.yesAsk &&
      n[o + F_LAST] === m.lastPrice &&
      n[o + F_VOLUME] === m.volume &&
      n[o + F_OPEN] === m.openTs &&
      n[o + F_CLOSE] === m.closeTs &&
      n[o + F_EXPIRATION] === m.expirationTs
    );
  }

  // Passes (a full REST read: which known markets it saw) --------------------------------------

  /** Starts a pass; its number stamps the cells it sees (one stamp per cell: the latest pass wins). */
  beginPass(): number {
    if (this.#pass >= 0xffff_fffe) {
      this.#seen.fill(0);
      this.#pass = 0;
    }
    return ++this.#pass;
  }

  /** Stamps cell `id` for `pass`; false when it already was. */
  markSeen(id: number, pass: number): boolean {
    if (this.#seen[id] === pass) return false;
    this.#seen[id] = pass;
    return true;
  }

  seenIn(id: number, pass: number): boolean {
    return this.#seen[id] === pass;
  }

  /** Known markets, not finalized, that `pass` did not stamp. */
  countUnseen(pass: number): number {
    let n = 0;
    const st = this.#status;
    const seen = this.#seen;
    for (let id = 0; id < this.#top; id++) {
      const s = st[id] as number;
      if (s !== FREE && s !== S_FINALIZED && seen[id] !== pass) n++;
    }
    return n;
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

  // Internals ---------------------------------------------------------------------------------

  #code(m: Market): number {
    const code = statusCode(m.marketStatus);
    if (code < 0) throw new Error(`MarketStore: unknown status ${String(m.marketStatus)}`);
    return code;
  }

  #build(id: number): Market {
    const n = this.#nums;
    const o = id * NUMS;
    const s = this.#status[id] as number;
    return Object.freeze({
      ticker: this.#tickers[id] as string,
      eventTicker: this.#eventTickers[id] as string,
      title: this.#titles[id] as string,
      marketStatus: STATUS_BY_CODE[s] as MarketStatus,
      tradingStatus: TRADING_BY_CODE[s] as Market['tradingStatus'],
      marketType: this.#types[id] as string,
      result: this.#results[id] as string,
      yesBid: n[o + F_YES_BID] as number,
      yesAsk: n[o + F_YES_ASK] as number,
      lastPrice: n[o + F_LAST] as number,
      volume: n[o + F_VOLUME] as number,
      openTs: n[o + F_OPEN] as number,
      closeTs: n[o + F_CLOSE] as number,
      expirationTs: n[o + F_EXPIRATION] as number,
      updatedAt: n[o + F_UPDATED] as number,
    });
  }

  /** Every data field but status and updatedAt. */
  #writeData(id: number, m: Market): void {
    const n = this.#nums;
    const o = id * NUMS;
    // Markets of one event usually come one after another and share their event ticker (and
    // often their title): keep one string for the run instead of one per record.
    const et = m.eventTicker;
    if (et === this.#lastEventTicker) this.#eventTickers[id] = this.#lastEventTicker;
    else this.#eventTickers[id] = this.#lastEventTicker = et;
    const title = m.title;
    if (title === this.#lastTitle) this.#titles[id] = this.#lastTitle;
    else this.#titles[id] = this.#lastTitle = title;
    this.#types[id] = internType(m.marketType);
    this.#results[id] = internResult(m.result);
    n[o + F_YES_BID] = m.yesBid;
    n[o + F_YES_ASK] = m.yesAsk;
    n[o + F_LAST] = m.lastPrice;
    n[o + F_VOLUME] = m.volume;
    n[o + F_OPEN] = m.openTs;
    n[o + F_CLOSE] = m.closeTs;
    n[o + F_EXPIRATION] = m.expirationTs;
  }

  /** Counts and the active index follow a status change of cell `id` (FREE for insert/delete). */
  #statusChange(id: number, from: number, to: number): void {
    if (from !== FREE) this.#counts[from] = (this.#counts[from] as number) - 1;
    if (to !== FREE) this.#counts[to] = (this.#counts[to] as number) + 1;
    if (from === S_ACTIVE) this.#removeActive(id);
    else if (to === S_ACTIVE) this.#addActive(id);
  }

  #addActive(id: number): void {
    const p = this.#activeCount++;
    this.#activeIds[p] = id;
    this.#activePos[id] = p;
    this.#activeChanged(p);
  }

  #removeActive(id: number): void {
    const p = this.#activePos[id] as number;
    const last = --this.#activeCount;
    if (p !== last) {
      const moved = this.#activeIds[last] as number;
      this.#activeIds[p] = moved;
      this.#activePos[moved] = p;
    }
    this.#activePos[id] = -1;
    this.#activeChanged(p);
  }

  #memberChanged(id: number): void {
    this.#activeChanged(this.#activePos[id] as number);
  }

  #activeChanged(position: number): void {
    this.#activeSnapshot = null;
    const dirty = this.#dirty;
    if (dirty === null) return;
    if (dirty.length >= PATCH_MAX) this.#dirty = null;
    else dirty.push(position);
  }

  #grow(min: number): void {
    const capacity = Math.max(min, 1024, Math.ceil(this.#capacity * 1.5));
    const status = new Uint8Array(capacity).fill(FREE);
    status.set(this.#status);
    this.#status = status;
    const nums = new Float64Array(capacity * NUMS);
    nums.set(this.#nums);
    this.#nums = nums;
    const pos = new Int32Array(capacity).fill(-1);
    pos.set(this.#activePos);
    this.#activePos = pos;
    const ids = new Int32Array(capacity);
    ids.set(this.#activeIds);
    this.#activeIds = ids;
    const seen = new Uint32Array(capacity);
    seen.set(this.#seen);
    this.#seen = seen;
    this.#capacity = capacity;
  }
}
