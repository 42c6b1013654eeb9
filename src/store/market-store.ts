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
 * Query indexes (getMarkets, marketsOfEvent), each updated in place by the write that changes
 * its key, so a query's cost follows its result rather than the number of markets:
 *  - per status: a dense id list with swap-removal (the active index is the list of `active`);
 *  - per event: a dense id list, and per series the events whose series it is (an event's series
 *    comes from GET /events once known, from its ticker until then: see seriesOfEventTicker);
 *  - by close time: one-hour buckets of ids, sorted inside a bucket only when a query's bound
 *    falls in it (and only if it changed since), and the sorted list of non-empty buckets;
 *  - combo (KXMVE*) markets: a dense id list.
 * A query starts from the smallest of the candidate sets its fields name and checks the other
 * fields on each candidate's columns. The status lists are always kept (they are the active
 * index); the others are built by the first query, in one pass over the cells, and kept from
 * then on, so that the initial sync of a registry nobody queries does not pay for them.
 *
 * Only the registry writes (single-threaded JS, so no locks); reads are synchronous and safe at
 * any time. The store does not judge transitions: callers pass only what the lifecycle table
 * accepted.
 */
import { MARKET_STATUSES, type MarketStatus } from '../domain/vocabulary.js';
import { STATUS_BY_CODE, STATUS_COUNT, S_ACTIVE, S_FINALIZED, TRADING_BY_CODE, statusCode } from '../domain/fast-status.js';
import type { CountE2, Market, MarketEvent, Micros, PriceE4 } from '../domain/types.js';
import { isComboTicker } from '../domain/mapping.js';
import { parseMarketQuery, seriesOfEventTicker, type MarketQuery } from './market-query.js';
import { lowerBound } from '../util/lower-bound.js';

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
/** Width of a close-time bucket: one hour, in microseconds. */
const CLOSE_BUCKET = 3_600_000_000;

/** The close-time bucket of a close time (NaN for a non-finite one, which is not indexed). */
function closeBucketOf(closeTs: number): number {
  return Number.isFinite(closeTs) ? Math.floor(closeTs / CLOSE_BUCKET) : Number.NaN;
}

/** The ids whose close time falls in one hour; `sorted`: in close-time order right now. */
interface CloseBucket {
  readonly key: number;
  readonly ids: number[];
  sorted: boolean;
}

/** Appends `id` to a growable Int32Array list; returns the (possibly new) array. */
function pushId(list: Int32Array, length: number, id: number): Int32Array {
  if (length >= list.length) {
    const grown = new Int32Array(Math.max(16, list.length * 2));
    grown.set(list);
    list = grown;
  }
  list[length] = id;
  return list;
}

/**
 * Removes `id` from a dense id list whose positions `pos` keeps (-1: not in it): the last member
 * moves into its hole, so removal is O(1) and the list stays dense. True when a member moved.
 */
function swapRemove(list: number[], pos: Int32Array, id: number): boolean {
  const p = pos[id] as number;
  const moved = list.pop() as number;
  pos[id] = -1;
  if (moved === id) return false;
  list[p] = moved;
  pos[moved] = p;
  return true;
}

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

  /** Makes room for `count` tickers at once (a bulk load), instead of doubling step by step. */
  reserve(count: number): void {
    let cap = this.#ids.length;
    while (cap < count * 2) cap *= 2;
    if (cap > this.#ids.length) this.#resize(cap);
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
  /** Position of each id in its status's list (#byStatus), or -1 for a free cell. */
  #statusPos = new Int32Array(0);
  /** Per status code, the ids with that status (dense, swap-removal), and their numbers. */
  readonly #byStatus: Int32Array[] = Array.from({ length: STATUS_COUNT }, () => new Int32Array(16));
  readonly #byStatusLen = new Int32Array(STATUS_COUNT);
  /** Event index: id → event slot (-1: none) and its position in that event's list. */
  #eventOf = new Int32Array(0);
  #eventPos = new Int32Array(0);
  /** Event ticker → slot; per slot its ticker, market ids, series, and position in the series' list. */
  readonly #eventSlots = new Map<string, number>();
  readonly #slotTicker: string[] = [];
  readonly #slotMembers: number[][] = [];
  readonly #slotSeries: string[] = [];
  readonly #slotSeriesPos: number[] = [];
  /** Series ticker → the event slots of that series (dense, swap-removal). */
  readonly #seriesSlots = new Map<string, number[]>();
  /** Close-time index: id → position in its bucket (-1: not indexed). */
  #closePos = new Int32Array(0);
  readonly #closeBuckets = new Map<number, CloseBucket>();
  /** Keys of the non-empty buckets, ascending; null when a bucket was added or emptied since. */
  #closeKeys: number[] | null = [];
  /** Combo markets: id → position in #comboIds (-1: not a combo). */
  #comboPos = new Int32Array(0);
  readonly #comboIds: number[] = [];
  /**
   * Whether the event, series, close-time and combo indexes exist: they are built by the first
   * query (one pass over the cells) and kept by every write after it, so a registry nobody
   * queries (and the initial sync of one that will be) does not pay for them.
   */
  #indexed = false;
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

  /** Makes room for `count` markets at once (the state directory's warm load), so loading does not grow the cells and the ticker index step by step. */
  reserve(count: number): void {
    if (count > this.#capacity) this.#grow(count);
    this.#ids.reserve(count);
  }

  get activeCount(): number {
    return this.#byStatusLen[S_ACTIVE] as number;
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
    const n = this.#byStatusLen[S_ACTIVE] as number;
    const ids = this.#byStatus[S_ACTIVE] as Int32Array;
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

  // Queries -------------------------------------------------------------------------------------

  /**
   * The held markets that match `query` (see MarketQuery), as the same frozen objects `get`
   * returns. Order unspecified. A bad query throws a ValidationError (`E_VALIDATION`).
   *
   * Cost: the candidate set of the most selective field (an event's markets; a series' events
   * and their markets; the markets of the statuses asked for; the close-time buckets the range
   * touches; the combos), walked once with the other fields checked on the columns — never a
   * scan of every market unless the query names no field at all.
   */
  getMarkets(query?: MarketQuery): readonly Market[] {
    const q = parseMarketQuery(query);
    if (!this.#indexed) this.#buildIndexes();
    const out: Market[] = [];
    const limit = q.limit;
    const { statusMask, eventTicker, seriesTicker, combos, closesAfter, closesBefore } = q;
    const hasClose = closesAfter !== undefined || closesBefore !== undefined;
    let eventSlot = -1;
    if (eventTicker !== undefined) {
      const slot = this.#eventSlots.get(eventTicker);
      if (slot === undefined) return out;
      eventSlot = slot;
    }
    let seriesEvents: number[] | undefined;
    if (seriesTicker !== undefined) {
      seriesEvents = this.#seriesSlots.get(seriesTicker);
      if (seriesEvents === undefined) return out;
    }

    // The size of each candidate set the query names; the smallest is walked.
    const EVENT = 0;
    const SERIES = 1;
    const STATUS = 2;
    const CLOSE = 3;
    const COMBOS = 4;
    const ALL = 5;
    let source = ALL;
    let best = this.size;
    const consider = (which: number, n: number) => {
      if (n < best || source === ALL) {
        source = which;
        best = n;
      }
    };
    if (eventSlot >= 0) consider(EVENT, (this.#slotMembers[eventSlot] as number[]).length);
    if (seriesEvents !== undefined && source !== EVENT) {
      let n = 0;
      for (const slot of seriesEvents) n += (this.#slotMembers[slot] as number[]).length;
      consider(SERIES, n);
    }
    if (statusMask !== 0) {
      let n = 0;
      for (let s = 0; s < STATUS_COUNT; s++) if ((statusMask >> s) & 1) n += this.#byStatusLen[s] as number;
      consider(STATUS, n);
    }
    if (combos === 'only') consider(COMBOS, this.#comboIds.length);
    if (hasClose && best > 0) consider(CLOSE, this.#closeCandidates(closesAfter, closesBefore));

    const status = this.#status;
    const nums = this.#nums;
    const eventOf = this.#eventOf;
    const comboPos = this.#comboPos;
    const slotSeries = this.#slotSeries;
    /** Checks every field but the one whose set is walked; false once the limit is reached. */
    const take = (id: number): boolean => {
      const s = status[id] as number;
      if (s === FREE) return true;
      if (statusMask !== 0 && source !== STATUS && ((statusMask >> s) & 1) === 0) return true;
      if (eventSlot >= 0 && source !== EVENT && eventOf[id] !== eventSlot) return true;
      if (seriesTicker !== undefined && source !== SERIES && slotSeries[eventOf[id] as number] !== seriesTicker) return true;
      if (combos !== 'include' && source !== COMBOS && (comboPos[id] as number) >= 0 !== (combos === 'only')) return true;
      if (hasClose && source !== CLOSE) {
        const c = nums[id * NUMS + F_CLOSE] as number;
        if (!Number.isFinite(c) || (closesAfter !== undefined && c < closesAfter) || (closesBefore !== undefined && c >= closesBefore)) return true;
      }
      out.push(this.market(id));
      return out.length < limit;
    };
    const walk = (ids: ArrayLike<number>, n: number): boolean => {
      for (let i = 0; i < n; i++) if (!take(ids[i] as number)) return false;
      return true;
    };
    switch (source) {
      case EVENT: {
        const members = this.#slotMembers[eventSlot] as number[];
        walk(members, members.length);
        break;
      }
      case SERIES:
        for (const slot of seriesEvents as number[]) {
          const members = this.#slotMembers[slot] as number[];
          if (!walk(members, members.length)) break;
        }
        break;
      case STATUS:
        for (let s = 0; s < STATUS_COUNT; s++) {
          if (((statusMask >> s) & 1) === 0) continue;
          if (!walk(this.#byStatus[s] as Int32Array, this.#byStatusLen[s] as number)) break;
        }
        break;
      case COMBOS:
        walk(this.#comboIds, this.#comboIds.length);
        break;
      case CLOSE:
        this.#walkClose(closesAfter, closesBefore, take);
        break;
      default:
        for (let id = 0; id < this.#top; id++) if (!take(id)) break;
    }
    return out;
  }

  /** The markets of one event (the same frozen objects `get` returns; order unspecified). */
  marketsOfEvent(eventTicker: string): readonly Market[] {
    if (!this.#indexed) this.#buildIndexes();
    const slot = this.#eventSlots.get(eventTicker);
    if (slot === undefined) return [];
    const members = this.#slotMembers[slot] as number[];
    const out = new Array<Market>(members.length);
    for (let i = 0; i < members.length; i++) out[i] = this.market(members[i] as number);
    return out;
  }

  /** The series a held market is filed under (its event's, or its event ticker's: see MarketQuery.seriesTicker). */
  seriesOf(ticker: string): string | undefined {
    if (!this.#indexed) this.#buildIndexes();
    const id = this.#ids.get(ticker);
    return id < 0 ? undefined : this.#slotSeries[this.#eventOf[id] as number];
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
    if (this.#indexed) {
      this.#unindexEvent(id);
      this.#unindexClose(id, this.#nums[id * NUMS + F_CLOSE] as number);
      if ((this.#comboPos[id] as number) >= 0) this.#unindexCombo(id);
    }
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
    if (this.#indexed) this.#indexCell(id);
    this.#version++;
    return id;
  }

  /** Every field of cell `id` from `m` (a REST read), with status code `status`. */
  overwrite(id: number, m: Market, status: number, updatedAt: Micros): void {
    const from = this.#status[id] as number;
    const eventBefore = this.#eventTickers[id] as string;
    const closeBefore = this.#nums[id * NUMS + F_CLOSE] as number;
    this.#writeData(id, m);
    this.#nums[id * NUMS + F_UPDATED] = updatedAt;
    this.#cache[id] = undefined;
    if (!this.#indexed) {
      // The query indexes are built on the first query (see #buildIndexes).
    } else if (m.eventTicker !== eventBefore) {
      this.#unindexEvent(id);
      this.#indexEvent(id, this.#eventTickers[id] as string);
    }
    if (this.#indexed && m.closeTs !== closeBefore) this.#moveClose(id, closeBefore, m.closeTs);
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
    const closeBefore = this.#nums[o + F_CLOSE] as number;
    this.#nums[o + F_CLOSE] = closeTs;
    if (this.#indexed && closeTs !== closeBefore) this.#moveClose(id, closeBefore, closeTs);
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

  /**
   * The series a market of this event is filed under: the event's own (GET /events) once it has
   * been read, until then the one its ticker names (`seriesOfEventTicker`).
   */
  seriesOfEvent(eventTicker: string): string {
    return this.#events.get(eventTicker)?.seriesTicker ?? seriesOfEventTicker(eventTicker);
  }

  setEvent(event: MarketEvent): void {
    this.#events.set(event.eventTicker, event);
    if (!this.#indexed) return;
    // The event's own series replaces the one its ticker suggested.
    const slot = this.#eventSlot(event.eventTicker, event.seriesTicker);
    if (this.#slotSeries[slot] !== event.seriesTicker) {
      this.#removeSeriesSlot(slot);
      this.#addSeriesSlot(slot, event.seriesTicker);
    }
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
      yesBid: n[o + F_YES_BID] as PriceE4,
      yesAsk: n[o + F_YES_ASK] as PriceE4,
      lastPrice: n[o + F_LAST] as PriceE4,
      volume: n[o + F_VOLUME] as CountE2,
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

  /** Counts and the status lists follow a status change of cell `id` (FREE for insert/delete). */
  #statusChange(id: number, from: number, to: number): void {
    if (from !== FREE) {
      this.#counts[from] = (this.#counts[from] as number) - 1;
      this.#removeStatus(id, from);
    }
    if (to !== FREE) {
      this.#counts[to] = (this.#counts[to] as number) + 1;
      this.#addStatus(id, to);
    }
  }

  #addStatus(id: number, status: number): void {
    const p = this.#byStatusLen[status] as number;
    this.#byStatus[status] = pushId(this.#byStatus[status] as Int32Array, p, id);
    this.#byStatusLen[status] = p + 1;
    this.#statusPos[id] = p;
    if (status === S_ACTIVE) this.#activeChanged(p);
  }

  #removeStatus(id: number, status: number): void {
    const list = this.#byStatus[status] as Int32Array;
    const p = this.#statusPos[id] as number;
    const last = (this.#byStatusLen[status] as number) - 1;
    this.#byStatusLen[status] = last;
    if (p !== last) {
      const moved = list[last] as number;
      list[p] = moved;
      this.#statusPos[moved] = p;
    }
    this.#statusPos[id] = -1;
    if (status === S_ACTIVE) this.#activeChanged(p);
  }

  #memberChanged(id: number): void {
    this.#activeChanged(this.#statusPos[id] as number);
  }

  // Event, series, close-time and combo indexes ---------------------------------------------

  /** Builds the query indexes from the cells (the first query; see #indexed). */
  #buildIndexes(): void {
    this.#indexed = true;
    // Two passes: slots and bucket sizes first, then every list allocated at its final length
    // and filled (no list grows push by push: at 1M markets that growth was most of the cost).
    const top = this.#top;
    const status = this.#status;
    const eventOf = this.#eventOf;
    const nums = this.#nums;
    const eventCount: number[] = [];
    const bucketCount = new Map<number, number>();
    let lastTicker = '';
    let lastSlot = -1;
    for (let id = 0; id < top; id++) {
      if (status[id] === FREE) continue;
      const et = this.#eventTickers[id] as string;
      // Consecutive cells usually share their event (and its string): one lookup per run.
      if (et !== lastTicker || lastSlot < 0) {
        lastTicker = et;
        lastSlot = this.#eventSlot(et, this.seriesOfEvent(et));
      }
      eventOf[id] = lastSlot;
      eventCount[lastSlot] = (eventCount[lastSlot] ?? 0) + 1;
      const key = closeBucketOf(nums[id * NUMS + F_CLOSE] as number);
      if (!Number.isNaN(key)) bucketCount.set(key, (bucketCount.get(key) ?? 0) + 1);
      if (isComboTicker(this.#tickers[id] as string)) this.#indexCombo(id);
    }
    const members = this.#slotMembers;
    for (let slot = 0; slot < members.length; slot++) members[slot] = new Array<number>(eventCount[slot] ?? 0);
    const fill = new Int32Array(members.length);
    for (const [key, n] of bucketCount) this.#closeBuckets.set(key, { key, ids: new Array<number>(n), sorted: false });
    const bucketFill = new Map<number, number>();
    this.#closeKeys = null;
    for (let id = 0; id < top; id++) {
      if (status[id] === FREE) continue;
      const slot = eventOf[id] as number;
      const p = fill[slot] as number;
      (members[slot] as number[])[p] = id;
      this.#eventPos[id] = p;
      fill[slot] = p + 1;
      const key = closeBucketOf(nums[id * NUMS + F_CLOSE] as number);
      if (Number.isNaN(key)) {
        this.#closePos[id] = -1;
        continue;
      }
      const q = bucketFill.get(key) ?? 0;
      (this.#closeBuckets.get(key) as CloseBucket).ids[q] = id;
      this.#closePos[id] = q;
      bucketFill.set(key, q + 1);
    }
  }

  #indexCell(id: number): void {
    this.#indexEvent(id, this.#eventTickers[id] as string);
    this.#indexClose(id, this.#nums[id * NUMS + F_CLOSE] as number);
    if (isComboTicker(this.#tickers[id] as string)) this.#indexCombo(id);
  }

  /** The slot of `eventTicker`, created (filed under `series`) when new. */
  #eventSlot(eventTicker: string, series: string): number {
    let slot = this.#eventSlots.get(eventTicker);
    if (slot === undefined) {
      slot = this.#slotTicker.length;
      this.#eventSlots.set(eventTicker, slot);
      this.#slotTicker.push(eventTicker);
      this.#slotMembers.push([]);
      this.#slotSeries.push('');
      this.#slotSeriesPos.push(-1);
      this.#addSeriesSlot(slot, series);
    }
    return slot;
  }

  #addSeriesSlot(slot: number, series: string): void {
    let list = this.#seriesSlots.get(series);
    if (list === undefined) {
      list = [];
      this.#seriesSlots.set(series, list);
    }
    this.#slotSeries[slot] = series;
    this.#slotSeriesPos[slot] = list.length;
    list.push(slot);
  }

  #removeSeriesSlot(slot: number): void {
    const series = this.#slotSeries[slot] as string;
    const list = this.#seriesSlots.get(series);
    if (list === undefined) return;
    const p = this.#slotSeriesPos[slot] as number;
    const moved = list.pop() as number;
    if (moved !== slot) {
      list[p] = moved;
      this.#slotSeriesPos[moved] = p;
    }
    if (list.length === 0) this.#seriesSlots.delete(series);
    this.#slotSeriesPos[slot] = -1;
  }

  #indexEvent(id: number, eventTicker: string): void {
    // An event not (yet) read from GET /events is filed under the series its ticker names.
    const slot = this.#eventSlot(eventTicker, this.seriesOfEvent(eventTicker));
    const members = this.#slotMembers[slot] as number[];
    this.#eventOf[id] = slot;
    this.#eventPos[id] = members.length;
    members.push(id);
  }

  #unindexEvent(id: number): void {
    const slot = this.#eventOf[id] as number;
    if (slot < 0) return;
    swapRemove(this.#slotMembers[slot] as number[], this.#eventPos, id);
    this.#eventOf[id] = -1;
  }

  #indexClose(id: number, closeTs: number): void {
    const key = closeBucketOf(closeTs);
    if (Number.isNaN(key)) {
      this.#closePos[id] = -1;
      return;
    }
    let bucket = this.#closeBuckets.get(key);
    if (bucket === undefined) {
      bucket = { key, ids: [], sorted: true };
      this.#closeBuckets.set(key, bucket);
      this.#closeKeys = null;
    }
    const ids = bucket.ids;
    // Appending a close time no earlier than the last keeps a sorted bucket sorted.
    if (bucket.sorted && ids.length > 0 && closeTs < (this.#nums[(ids[ids.length - 1] as number) * NUMS + F_CLOSE] as number)) bucket.sorted = false;
    this.#closePos[id] = ids.length;
    ids.push(id);
  }

  /** Removes `id`, whose indexed close time was `closeTs`, from its bucket. */
  #unindexClose(id: number, closeTs: number): void {
    if ((this.#closePos[id] as number) < 0) return;
    const bucket = this.#closeBuckets.get(closeBucketOf(closeTs)) as CloseBucket;
    const ids = bucket.ids;
    // The member moved into the hole may break the bucket's order.
    if (swapRemove(ids, this.#closePos, id)) bucket.sorted = false;
    if (ids.length === 0) {
      this.#closeBuckets.delete(bucket.key);
      this.#closeKeys = null;
    }
  }

  #moveClose(id: number, from: number, to: number): void {
    const sameBucket = closeBucketOf(from) === closeBucketOf(to);
    if (sameBucket) {
      // Still in its bucket, whose order it may have broken.
      const bucket = this.#closeBuckets.get(closeBucketOf(to));
      if (bucket !== undefined) bucket.sorted = false;
      return;
    }
    this.#unindexClose(id, from);
    this.#indexClose(id, to);
  }

  #indexCombo(id: number): void {
    this.#comboPos[id] = this.#comboIds.length;
    this.#comboIds.push(id);
  }

  #unindexCombo(id: number): void {
    swapRemove(this.#comboIds, this.#comboPos, id);
  }

  /** The keys of the non-empty close-time buckets, ascending. */
  #sortedCloseKeys(): number[] {
    if (this.#closeKeys === null) this.#closeKeys = [...this.#closeBuckets.keys()].sort((a, b) => a - b);
    return this.#closeKeys;
  }

  /** Puts a bucket in close-time order (ties by id), for a bound that falls inside it. */
  #sortBucket(bucket: CloseBucket): void {
    if (bucket.sorted) return;
    const n = this.#nums;
    const ids = bucket.ids;
    ids.sort((a, b) => (n[a * NUMS + F_CLOSE] as number) - (n[b * NUMS + F_CLOSE] as number) || a - b);
    for (let i = 0; i < ids.length; i++) this.#closePos[ids[i] as number] = i;
    bucket.sorted = true;
  }

  /** First index in a sorted bucket whose close time is >= t. */
  #bucketLowerBound(bucket: CloseBucket, t: number): number {
    const n = this.#nums;
    const ids = bucket.ids;
    let lo = 0;
    let hi = ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((n[(ids[mid] as number) * NUMS + F_CLOSE] as number) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Calls `visit` for every id whose close time is in [after, before) (either bound may be
   * undefined), until it returns false. Buckets wholly inside the range are walked as they are;
   * a bucket a bound falls in is sorted (if it changed since) and cut by binary search.
   */
  #walkClose(after: number | undefined, before: number | undefined, visit: (id: number) => boolean): void {
    const keys = this.#sortedCloseKeys();
    const lo = after === undefined ? 0 : lowerBound(keys, closeBucketOf(after));
    for (let k = lo; k < keys.length; k++) {
      const key = keys[k] as number;
      const start = key * CLOSE_BUCKET;
      if (before !== undefined && start >= before) return;
      const bucket = this.#closeBuckets.get(key) as CloseBucket;
      const ids = bucket.ids;
      let from = 0;
      let to = ids.length;
      const cutLow = after !== undefined && after > start;
      const cutHigh = before !== undefined && before < start + CLOSE_BUCKET;
      if (cutLow || cutHigh) {
        this.#sortBucket(bucket);
        if (cutLow) from = this.#bucketLowerBound(bucket, after);
        if (cutHigh) to = this.#bucketLowerBound(bucket, before);
      }
      for (let i = from; i < to; i++) if (!visit(ids[i] as number)) return;
    }
  }

  /** Markets in the close-time buckets [after, before) touch: an upper bound of the range's size. */
  #closeCandidates(after: number | undefined, before: number | undefined): number {
    const keys = this.#sortedCloseKeys();
    let n = 0;
    for (let k = after === undefined ? 0 : lowerBound(keys, closeBucketOf(after)); k < keys.length; k++) {
      const key = keys[k] as number;
      if (before !== undefined && key * CLOSE_BUCKET >= before) break;
      n += (this.#closeBuckets.get(key) as CloseBucket).ids.length;
    }
    return n;
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
    const column = (old: Int32Array) => {
      const grown = new Int32Array(capacity).fill(-1);
      grown.set(old);
      return grown;
    };
    this.#statusPos = column(this.#statusPos);
    this.#eventOf = column(this.#eventOf);
    this.#eventPos = column(this.#eventPos);
    this.#closePos = column(this.#closePos);
    this.#comboPos = column(this.#comboPos);
    const seen = new Uint32Array(capacity);
    seen.set(this.#seen);
    this.#seen = seen;
    this.#capacity = capacity;
  }
}
