/**
 * RegistryCore: the one place where market data enters the cache. Every status change, from
 * whatever source (initial sync, reconcile, WebSocket, deadline timer), goes through the table
 * derived from the market-lifecycle statechart (as codes: src/domain/fast-status.ts); accepted
 * changes are written to the store and published as MarketChange, rejected ones are counted and
 * reported, never applied, never emitted.
 *
 * It works on the store's cells by id: a transition reads and writes a few typed-array slots in
 * place, and the only objects it creates are the MarketChange it publishes and the frozen
 * Market snapshot that change carries — and not even those when the change stream has no
 * audience (no listener, no subscription).
 *
 * Methods return `undefined` when they finished synchronously, or a promise when the change
 * stream applied backpressure; callers await it before feeding more (that is how a slow
 * consumer slows ingestion without losing changes).
 */
import type { Logger } from '../log.js';
import type { LifecycleUpdate } from '../domain/mapping.js';
import {
  K_CLOSE_TIME,
  K_OBSERVED,
  K_OPEN_TIME,
  KEY_BY_CODE,
  REJECTED,
  STATUS_BY_CODE,
  S_FINALIZED,
  closeDue,
  keyCode,
  nextDeadlineCode,
  nextStatus,
  openDue,
  statusCode,
  timeAdjustedCode,
  timeEventsDue,
} from '../domain/fast-status.js';
import type { Market, MarketChange, Micros } from '../domain/types.js';
import type { MarketStatus } from '../domain/vocabulary.js';
import type { TransitionKey } from '../lifecycle/transition-table.js';
import { MarketStore } from '../store/market-store.js';
import type { ChangeStream } from './change-stream.js';
import type { DeadlineScheduler } from './deadline-scheduler.js';
import { ListenerSet } from './listener-set.js';

/** Where a piece of market data came from. */
export type DataSource = 'sync' | 'reconcile' | 'websocket' | 'fetch' | 'deadline';

/** A transition the statechart refused. Reported to `onRejected` listeners and counted. */
export interface RejectedTransition {
  readonly ticker: string;
  readonly status: MarketStatus;
  readonly event: TransitionKey;
  readonly source: DataSource;
  readonly at: Micros;
}

/** A record or frame that failed validation and was set aside. */
export interface QuarantinedInput {
  readonly source: string;
  readonly reason: string;
  readonly ticker?: string;
  readonly at: Micros;
}

export interface RegistryCounters {
  /** MarketChanges published. */
  changes: number;
  /** Transitions the statechart rejected (never applied). */
  rejected: number;
  /** Events for markets already finalized (terminal): ignored, not counted as rejected. */
  ignoredAfterFinal: number;
  /** Records/frames that failed validation. */
  quarantined: number;
  /** `created` for a market the registry already knew. */
  duplicateCreates: number;
  /** REST reads older than the local record (a WebSocket event won the race): status left alone. */
  staleObservations: number;
  /** Lifecycle events for tickers the registry did not know (each triggers GET /markets/{ticker}). */
  unknownTickerEvents: number;
  /** WebSocket frames older than a REST read already applied to their market: skipped. */
  staleFrames: number;
}

/**
 * Where the lifecycle stream stands: frames the transport has received, and frames the handler
 * has applied. Both count the same stream from the same start, so a frame's position tells
 * whether it had already arrived when a REST request went out.
 */
export interface FrameCounters {
  readonly received: () => number;
  readonly consumed: () => number;
}

/** Which markets the registry does not hold may enter it (createRegistry's `load`); without one, every market. */
export interface MarketAdmission {
  /** May this market, unknown so far, read from `source`, enter the store? */
  market(market: Market, source: DataSource): boolean;
  /** A lifecycle frame names a ticker the registry does not hold: fetch it (true), or ignore the frame? */
  ticker(ticker: string): boolean;
}

export interface RegistryCoreOptions {
  readonly store: MarketStore;
  readonly admit?: MarketAdmission;
  readonly changes: ChangeStream;
  readonly now: () => Micros;
  readonly logger: Logger;
  /** How many quarantined inputs to keep for inspection. */
  readonly quarantineKeep?: number;
}

type Pending = Promise<void> | undefined;

/** Waits for `a`, then `b` (both already published, in order: only the waiting is chained). */
function chain(a: Pending, b: Pending): Pending {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a.then(() => b);
}

const MAX_STALE_TICKERS = 10_000;

/**
 * One REST pass over the markets (a sync or reconcile), replacing a Set of every ticker seen:
 * the store stamps each cell with the pass number instead.
 */
export interface MarketPass {
  /**
   * Notes that this pass read `ticker`, after `observe` took its record; false when the pass
   * had already read it (a record moving between pages).
   */
  see(ticker: string): boolean;
  /** Distinct markets this pass read. */
  readonly size: number;
  /** Known markets, not finalized, this pass did not read (what a full pass no longer lists). */
  missing(): number;
}

export class RegistryCore {
  readonly store: MarketStore;
  readonly changes: ChangeStream;
  readonly counters: RegistryCounters = {
    changes: 0,
    rejected: 0,
    ignoredAfterFinal: 0,
    quarantined: 0,
    duplicateCreates: 0,
    staleObservations: 0,
    unknownTickerEvents: 0,
    staleFrames: 0,
  };
  readonly #now: () => Micros;
  readonly #log: Logger;
  readonly #admit: MarketAdmission | undefined;
  readonly #quarantine: QuarantinedInput[] = [];
  readonly #quarantineKeep: number;
  readonly #rejectedListeners: ListenerSet<RejectedTransition>;
  readonly #unknownTickerListeners: ListenerSet<string>;
  #scheduler: DeadlineScheduler | null = null;
  #frames: FrameCounters | null = null;
  /**
   * Ticker → position of the last frame received before a REST read that was applied to the
   * market. Frames up to there, still waiting in the queue, are older than what REST showed.
   * Only markets with such frames pending have an entry; it goes once the handler is past it.
   */
  readonly #restWatermarks = new Map<string, number>();
  /** Markets whose REST read lost the race to a newer local change; reconcile reads them again. */
  readonly #staleTickers = new Set<string>();
  /** The cell the last observe wrote (saves the pass a second lookup). */
  #lastObserved = -1;

  constructor(options: RegistryCoreOptions) {
    this.store = options.store;
    this.changes = options.changes;
    this.#now = options.now;
    this.#log = options.logger;
    this.#admit = options.admit;
    this.#quarantineKeep = options.quarantineKeep ?? 100;
    this.#rejectedListeners = new ListenerSet('onRejected listener', options.logger);
    this.#unknownTickerListeners = new ListenerSet('unknown-ticker listener', options.logger);
  }

  /** Listener calls (onRejected, unknown ticker) that threw and were isolated. */
  get listenerErrors(): number {
    return this.#rejectedListeners.errors + this.#unknownTickerListeners.errors;
  }

  now(): Micros {
    return this.#now();
  }

  attachScheduler(scheduler: DeadlineScheduler): void {
    this.#scheduler = scheduler;
  }

  /** Set by the lifecycle handler for the source it is reading (null: no ordering known). */
  attachFrameCounters(frames: FrameCounters | null): void {
    this.#frames = frames;
    this.#restWatermarks.clear();
  }

  /** Detaches `frames` if they are still the attached counters (a newer source may have replaced them). */
  detachFrameCounters(frames: FrameCounters): void {
    if (this.#frames === frames) this.attachFrameCounters(null);
  }

  /** Takes the markets whose REST read was older than their local record (see observe). */
  takeStaleTickers(): string[] {
    const tickers = [...this.#staleTickers];
    this.#staleTickers.clear();
    return tickers;
  }

  /** Position of the lifecycle stream's received frames now (-1 when unknown), for REST stamps. */
  framesReceived(): number {
    return this.#frames?.received() ?? -1;
  }

  onRejected(listener: (r: RejectedTransition) => void): () => void {
    return this.#rejectedListeners.add(listener);
  }

  /** Called when a lifecycle event names a market the registry does not know. */
  onUnknownTicker(listener: (ticker: string) => void): () => void {
    return this.#unknownTickerListeners.add(listener);
  }

  quarantined(): readonly QuarantinedInput[] {
    return this.#quarantine;
  }

  quarantine(source: string, reason: string, ticker?: string): void {
    this.counters.quarantined++;
    const item: QuarantinedInput = ticker === undefined ? { source, reason, at: this.#now() } : { source, reason, ticker, at: this.#now() };
    this.#quarantine.push(item);
    if (this.#quarantine.length > this.#quarantineKeep) this.#quarantine.shift();
    // Warn for the first few, then only at debug: a flood of bad records must not flood the log.
    if (this.counters.quarantined <= 20) this.#log.warn({ source, ticker, reason }, 'quarantined invalid input');
    else this.#log.debug({ source, ticker, reason }, 'quarantined invalid input');
  }

  /**
   * A market as REST reports it (a sync/reconcile page or GET /markets/{ticker}).
   * `observedAt` is when the request was sent: a local record changed after that is newer than
   * this read and keeps its status. `framesAtRequest` is `framesReceived()` at that moment: frames
   * received before it and not yet applied are older than this read and will be skipped.
   */
  observe(incoming: Market, observedAt: Micros, source: DataSource, framesAtRequest = -1): Pending {
    const store = this.store;
    const id = store.idOf(incoming.ticker);
    const now = this.#now();
    if (id < 0) {
      if (this.#admit !== undefined && !this.#admit.market(incoming, source)) return undefined;
      this.#markRestRead(incoming.ticker, framesAtRequest);
      // Kalshi's REST view may lag its own clock: #insert applies the time rules.
      return this.#insert(incoming, now);
    }
    this.#lastObserved = id;
    if (store.updatedAtOf(id) > observedAt) {
      this.counters.staleObservations++;
      // Read it again later, or a market changed only by REST (a dispute) could wait a whole
      // reconcile interval to be seen.
      if (this.#staleTickers.size < MAX_STALE_TICKERS) this.#staleTickers.add(incoming.ticker);
      return undefined;
    }
    // This read is now the freshest word on the market: frames that arrived before it are older.
    this.#markRestRead(incoming.ticker, framesAtRequest);
    // Transitions time alone has already caused come first, so the observation is judged
    // against the status the market really has now, not one a timer has yet to move on.
    const caughtUp = this.#catchUpTime(id, now);
    const current = store.statusOf(id);
    // Kalshi's REST view may lag its own clock; apply the time rules to what it reports.
    const target = timeAdjustedCode(this.#code(incoming), incoming.openTs, incoming.closeTs, now);
    const to = target === current ? current : nextStatus(current, K_OBSERVED[target] as number);
    if (to === current || to === REJECTED) {
      if (to === REJECTED) this.#reject(id, K_OBSERVED[target] as number, source, now);
      // Keep our status, but take the rest of the data (prices, times) from the exchange.
      if (!store.sameData(id, incoming)) this.#overwrite(id, incoming, current, now);
      return chain(caughtUp, this.#catchUpTime(id, now));
    }
    this.#overwrite(id, incoming, to, now);
    return chain(caughtUp, this.#publishTransition(current, id));
  }

  /**
   * One `market_lifecycle_v2` message, already validated and mapped. `frame` is its position in
   * the stream (see FrameCounters); -1 when unknown.
   */
  applyLifecycle(update: LifecycleUpdate, frame = -1): Pending {
    switch (update.kind) {
      case 'created':
        return this.applyCreated(update.market, frame);
      case 'metadata':
        return this.applyMetadata(update.ticker, frame);
      case 'transition':
        return this.applyTransitionCode(update.ticker, keyCode(update.key), update.patch.closeTs ?? Number.NaN, update.patch.result, frame);
    }
  }

  /** A `created` message (the hot path's form of applyLifecycle). */
  applyCreated(market: Market, frame = -1): Pending {
    if (this.#staleFrame(market.ticker, frame)) return undefined;
    if (this.store.idOf(market.ticker) >= 0) {
      this.counters.duplicateCreates++;
      return undefined;
    }
    if (this.#admit !== undefined && !this.#admit.market(market, 'websocket')) return undefined;
    // A market announced after its open time (or even its close time) is born in the status
    // its times give it, so the frames that follow are judged against that status.
    return this.#insert(market, this.#now());
  }

  /** A message with no status effect (metadata_updated, price_level_structure_updated). */
  applyMetadata(ticker: string, frame = -1): Pending {
    if (this.#staleFrame(ticker, frame)) return undefined;
    if (this.store.idOf(ticker) < 0) this.#unknownTicker(ticker);
    return undefined;
  }

  /**
   * A transition message (the hot path's form of applyLifecycle): event `key` (a key code of
   * fast-status.ts), with the close time it sets (NaN: none) and the result (undefined: none).
   */
  applyTransitionCode(ticker: string, key: number, closeTs: Micros, result: string | undefined, frame = -1): Pending {
    if (this.#staleFrame(ticker, frame)) return undefined;
    const id = this.store.idOf(ticker);
    if (id < 0) {
      this.#unknownTicker(ticker);
      return undefined;
    }
    const now = this.#now();
    // Time first: a close the deadline timer has not reached yet (say a close_date_updated
    // into the past just before this determined) must not make a legal frame illegal.
    const before = this.#catchUpTime(id, now);
    const applied = this.#transition(id, key, closeTs, result, 'websocket', now);
    // And time after: the frame may itself have made a deadline due (an early close).
    const after = this.#catchUpTime(id, now);
    return chain(chain(before, applied), after);
  }

  /** Applies whatever open/close transitions are due for `ticker`. */
  applyDeadlines(ticker: string): Pending {
    const id = this.store.idOf(ticker);
    return id < 0 ? undefined : this.applyDeadlinesAt(id, this.#now());
  }

  /**
   * Applies whatever open/close transitions are due at `now` for cell `id` (the deadline
   * scheduler's onDue: a batch shares one clock reading). A freed cell is skipped; a cell reused
   * by another market, or one whose deadline moved, is judged by what it holds now.
   */
  applyDeadlinesAt(id: number, now: Micros): Pending {
    const store = this.store;
    if (!store.isLive(id)) return undefined;
    if (!timeEventsDue(store.statusOf(id), store.openTsOf(id), store.closeTsOf(id), now)) {
      this.#arm(id);
      return undefined;
    }
    return this.#catchUpTime(id, now);
  }

  /** Starts a REST pass over the markets (see MarketPass). One pass at a time counts exactly. */
  beginPass(): MarketPass {
    const store = this.store;
    const pass = store.beginPass();
    let size = 0;
    /** Tickers seen while not in the store (see() called ahead of observe): counted by name. */
    let early: Set<string> | null = null;
    const idFor = (ticker: string): number => {
      const last = this.#lastObserved;
      return last >= 0 && store.isLive(last) && store.tickerOf(last) === ticker ? last : store.idOf(ticker);
    };
    return {
      see(ticker: string): boolean {
        const id = early?.has(ticker) === true ? -1 : idFor(ticker);
        if (id < 0) {
          early ??= new Set();
          if (early.has(ticker)) return false;
          early.add(ticker);
          size++;
          return true;
        }
        if (!store.markSeen(id, pass)) return false;
        size++;
        return true;
      },
      get size() {
        return size;
      },
      missing(): number {
        let n = store.countUnseen(pass);
        if (early !== null) {
          for (const t of early) {
            const id = store.idOf(t);
            if (id >= 0 && !store.seenIn(id, pass) && store.statusOf(id) !== S_FINALIZED) n--;
          }
        }
        return n;
      },
    };
  }

  /**
   * Applies the open/close transitions already due for cell `id` (through the derived table,
   * as the deadline scheduler would), publishing their changes.
   */
  #catchUpTime(id: number, now: Micros): Pending {
    const store = this.store;
    const openTs = store.openTsOf(id);
    const closeTs = store.closeTsOf(id);
    let pending: Pending;
    let s = store.statusOf(id);
    if (openDue(s, openTs, now)) {
      pending = this.#transition(id, K_OPEN_TIME, Number.NaN, undefined, 'deadline', now);
      s = store.statusOf(id);
    }
    if (closeDue(s, closeTs, now)) pending = chain(pending, this.#transition(id, K_CLOSE_TIME, Number.NaN, undefined, 'deadline', now));
    return pending;
  }

  /** Every (cell id, deadline) before `until`, for the scheduler's sweep. */
  *deadlinesBefore(until: Micros): Iterable<readonly [number, Micros]> {
    const store = this.store;
    for (let id = 0; id < store.idLimit; id++) {
      if (!store.isLive(id)) continue;
      const d = nextDeadlineCode(store.statusOf(id), store.openTsOf(id), store.closeTsOf(id));
      if (d < until) yield [id, d];
    }
  }

  #staleFrame(ticker: string, frame: number): boolean {
    if (this.#restWatermarks.size > 0 && this.#olderThanRestRead(ticker, frame)) {
      this.counters.staleFrames++;
      return true;
    }
    return false;
  }

  #markRestRead(ticker: string, framesAtRequest: number): void {
    // Only when frames that arrived before the request are still waiting to be applied.
    if (framesAtRequest < 0 || this.#frames === null || framesAtRequest <= this.#frames.consumed()) return;
    const previous = this.#restWatermarks.get(ticker);
    if (previous === undefined || previous < framesAtRequest) this.#restWatermarks.set(ticker, framesAtRequest);
  }

  #olderThanRestRead(ticker: string, frame: number): boolean {
    const mark = this.#restWatermarks.get(ticker);
    if (mark === undefined || frame < 0) return false;
    if (frame <= mark) return true;
    this.#restWatermarks.delete(ticker);
    return false;
  }

  /** Event `key` on cell `id`; `closeTs` NaN and `result` undefined leave those fields alone. */
  #transition(id: number, key: number, closeTs: Micros, result: string | undefined, source: DataSource, now: Micros): Pending {
    const store = this.store;
    const current = store.statusOf(id);
    const to = nextStatus(current, key);
    if (to === REJECTED) {
      this.#reject(id, key, source, now);
      return undefined;
    }
    const currentClose = store.closeTsOf(id);
    const close = Number.isNaN(closeTs) ? currentClose : closeTs;
    const currentResult = store.resultOf(id);
    const res = result ?? currentResult;
    // A redelivered duplicate changes nothing, not even updatedAt (which orders REST reads).
    if (to === current && close === currentClose && res === currentResult) return undefined;
    store.setLifecycle(id, to, close, res, now);
    if (to !== current || close !== currentClose) this.#arm(id);
    return to !== current ? this.#publishTransition(current, id) : undefined;
  }

  #insert(market: Market, now: Micros): Pending {
    const status = timeAdjustedCode(this.#code(market), market.openTs, market.closeTs, now);
    const id = this.store.insert(market, status, now);
    this.#lastObserved = id;
    this.#arm(id);
    if (!this.#counted()) return undefined;
    const newStatus = STATUS_BY_CODE[status] as MarketStatus;
    return this.changes.publish({ ticker: market.ticker, eventType: 'created', oldStatus: null, newStatus, market: this.store.snapshot(id) });
  }

  /** Every field of cell `id` from a REST read, with status code `status`. */
  #overwrite(id: number, incoming: Market, status: number, now: Micros): void {
    const store = this.store;
    const rearm = store.statusOf(id) !== status || store.openTsOf(id) !== incoming.openTs || store.closeTsOf(id) !== incoming.closeTs;
    store.overwrite(id, incoming, status, now);
    if (rearm) this.#arm(id);
  }

  #arm(id: number): void {
    if (this.#scheduler === null) return;
    const store = this.store;
    const deadline = nextDeadlineCode(store.statusOf(id), store.openTsOf(id), store.closeTsOf(id));
    if (!Number.isNaN(deadline)) this.#scheduler.arm(id, deadline);
  }

  /**
   * Counts one accepted change; false when nobody would hear it (an embedded sync with no
   * listener yet): then it is only counted, and no change or snapshot is built.
   */
  #counted(): boolean {
    this.counters.changes++;
    if (this.changes.hasAudience) return true;
    this.changes.countUnheard();
    return false;
  }

  #publishTransition(from: number, id: number): Pending {
    if (!this.#counted()) return undefined;
    const store = this.store;
    const to = store.statusOf(id);
    const ticker = store.tickerOf(id);
    const oldStatus = STATUS_BY_CODE[from] as MarketStatus;
    const change: MarketChange =
      to === S_FINALIZED
        ? { ticker, eventType: 'settled', oldStatus, newStatus: 'finalized' }
        : { ticker, eventType: 'status_change', oldStatus, newStatus: STATUS_BY_CODE[to] as MarketStatus, market: store.snapshot(id) };
    return this.changes.publish(change);
  }

  #code(m: Market): number {
    const code = statusCode(m.marketStatus);
    if (code < 0) throw new Error(`RegistryCore: unknown market status ${String(m.marketStatus)}`);
    return code;
  }

  #reject(id: number, key: number, source: DataSource, now: Micros): void {
    const status = this.store.statusOf(id);
    if (status === S_FINALIZED) {
      this.counters.ignoredAfterFinal++;
      return;
    }
    this.counters.rejected++;
    const rejected: RejectedTransition = {
      ticker: this.store.tickerOf(id),
      status: STATUS_BY_CODE[status] as MarketStatus,
      event: KEY_BY_CODE[key] as TransitionKey,
      source,
      at: now,
    };
    this.#log.warn(rejected, 'rejected illegal transition');
    this.#rejectedListeners.emit(rejected);
  }

  #unknownTicker(ticker: string): void {
    if (this.#admit !== undefined && !this.#admit.ticker(ticker)) return;
    this.counters.unknownTickerEvents++;
    this.#unknownTickerListeners.emit(ticker);
  }
}
