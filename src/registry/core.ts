/**
 * RegistryCore: the one place where market data enters the cache. Every status change, from
 * whatever source (initial sync, reconcile, WebSocket, deadline timer), goes through
 * `applyTransition` (the table derived from the market-lifecycle statechart); accepted changes are
 * written to the store and published as MarketChange, rejected ones are counted and reported,
 * never applied, never emitted.
 *
 * Methods return `undefined` when they finished synchronously, or a promise when the change
 * stream applied backpressure; callers await it before feeding more (that is how a slow
 * consumer slows ingestion without losing changes).
 */
import type { Logger } from '../log.js';
import type { LifecycleUpdate } from '../domain/mapping.js';
import { sameMarketData, withStatus } from '../domain/mapping.js';
import type { Market, MarketChange, Micros } from '../domain/types.js';
import type { MarketStatus } from '../domain/vocabulary.js';
import { applyTransition, observedKey, type TransitionKey } from '../lifecycle/transition-table.js';
import { dueTimeEvents, nextDeadline, timeAdjustedStatus } from '../lifecycle/time-rules.js';
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

export interface RegistryCoreOptions {
  readonly store: MarketStore;
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

  constructor(options: RegistryCoreOptions) {
    this.store = options.store;
    this.changes = options.changes;
    this.#now = options.now;
    this.#log = options.logger;
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
    const current = this.store.get(incoming.ticker);
    const now = this.#now();
    if (current === undefined) {
      this.#markRestRead(incoming.ticker, framesAtRequest);
      // Kalshi's REST view may lag its own clock: #insert applies the time rules.
      return this.#insert(incoming, now);
    }
    if (current.updatedAt > observedAt) {
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
    const caughtUp = this.#catchUpTime(current, now);
    const market = caughtUp.market;
    // Kalshi's REST view may lag its own clock; apply the time rules to what it reports.
    const target = timeAdjustedStatus(incoming.marketStatus, incoming.openTs, incoming.closeTs, now);
    const outcome = target === market.marketStatus ? null : applyTransition(market.marketStatus, observedKey(target));
    if (outcome === null || outcome.kind !== 'changed') {
      if (outcome?.kind === 'rejected') this.#reject(market, outcome.key, source, now);
      // Keep our status, but take the rest of the data (prices, times) from the exchange.
      const merged = withStatus(incoming, market.marketStatus, now);
      if (!sameMarketData(market, merged)) this.#write(merged, market);
      return chain(caughtUp.pending, this.#catchUpTime(this.store.get(market.ticker) ?? merged, now).pending);
    }
    const next = withStatus(incoming, outcome.to, now);
    this.#write(next, market);
    return chain(caughtUp.pending, this.#publishTransition(market.marketStatus, next));
  }

  /**
   * One `market_lifecycle_v2` message, already validated and mapped. `frame` is its position in
   * the stream (see FrameCounters); -1 when unknown.
   */
  applyLifecycle(update: LifecycleUpdate, frame = -1): Pending {
    if (this.#restWatermarks.size > 0 && this.#olderThanRestRead(update.ticker, frame)) {
      this.counters.staleFrames++;
      return undefined;
    }
    const current = this.store.get(update.ticker);
    const now = this.#now();
    switch (update.kind) {
      case 'created':
        if (current !== undefined) {
          this.counters.duplicateCreates++;
          return undefined;
        }
        // A market announced after its open time (or even its close time) is born in the status
        // its times give it, so the frames that follow are judged against that status.
        return this.#insert(update.market, now);
      case 'metadata':
        if (current === undefined) this.#unknownTicker(update.ticker);
        return undefined;
      case 'transition': {
        if (current === undefined) {
          this.#unknownTicker(update.ticker);
          return undefined;
        }
        // Time first: a close the deadline timer has not reached yet (say a close_date_updated
        // into the past just before this determined) must not make a legal frame illegal.
        const before = this.#catchUpTime(current, now);
        const applied = this.#transition(before.market, update.key, update.patch, 'websocket', now);
        // And time after: the frame may itself have made a deadline due (an early close).
        const after = this.#catchUpTime(this.store.get(update.ticker) ?? before.market, now);
        return chain(chain(before.pending, applied), after.pending);
      }
    }
  }

  /** Applies whatever open/close transitions are due for `ticker` (deadline scheduler). */
  applyDeadlines(ticker: string): Pending {
    const current = this.store.get(ticker);
    if (current === undefined) return undefined;
    const now = this.#now();
    const due = dueTimeEvents(current.marketStatus, current.openTs, current.closeTs, now);
    if (due.length === 0) {
      this.#arm(current);
      return undefined;
    }
    return this.#catchUpTime(current, now).pending;
  }

  /**
   * Applies the open/close transitions already due for a market (through the derived table,
   * as the deadline scheduler would), publishing their changes; returns the market as it now is.
   */
  #catchUpTime(current: Market, now: Micros): { market: Market; pending: Pending } {
    const due = dueTimeEvents(current.marketStatus, current.openTs, current.closeTs, now);
    let market = current;
    let pending: Pending;
    for (const key of due) {
      pending = chain(pending, this.#transition(market, key, {}, 'deadline', now));
      market = this.store.get(market.ticker) ?? market;
    }
    return { market, pending };
  }

  /** Every (ticker, deadline) before `until`, for the scheduler's sweep. */
  *deadlinesBefore(until: Micros): Iterable<readonly [string, Micros]> {
    for (const m of this.store.values()) {
      const d = nextDeadline(m.marketStatus, m.openTs, m.closeTs);
      if (d !== null && d < until) yield [m.ticker, d];
    }
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

  #transition(current: Market, key: TransitionKey, patch: Partial<Pick<Market, 'closeTs' | 'result'>>, source: DataSource, now: Micros): Pending {
    const outcome = applyTransition(current.marketStatus, key);
    if (outcome.kind === 'rejected') {
      this.#reject(current, key, source, now);
      return undefined;
    }
    const status = outcome.kind === 'changed' ? outcome.to : current.marketStatus;
    const closeTs = patch.closeTs ?? current.closeTs;
    const result = patch.result ?? current.result;
    // A redelivered duplicate changes nothing, not even updatedAt (which orders REST reads).
    if (status === current.marketStatus && closeTs === current.closeTs && result === current.result) return undefined;
    const next = withStatus(current, status, now, closeTs, result);
    this.#write(next, current);
    return outcome.kind === 'changed' ? this.#publishTransition(current.marketStatus, next) : undefined;
  }

  #insert(market: Market, now: Micros): Pending {
    const status = timeAdjustedStatus(market.marketStatus, market.openTs, market.closeTs, now);
    const stored = market.updatedAt === now && status === market.marketStatus ? market : withStatus(market, status, now);
    this.#write(stored, undefined);
    this.counters.changes++;
    return this.changes.publish({ ticker: stored.ticker, eventType: 'created', oldStatus: null, newStatus: stored.marketStatus, market: stored });
  }

  #write(next: Market, previous: Market | undefined): void {
    if (previous === undefined) this.store.set(next);
    else this.store.replace(next, previous);
    if (previous === undefined || previous.closeTs !== next.closeTs || previous.openTs !== next.openTs || previous.marketStatus !== next.marketStatus) {
      this.#arm(next);
    }
  }

  #arm(market: Market): void {
    if (this.#scheduler === null) return;
    const deadline = nextDeadline(market.marketStatus, market.openTs, market.closeTs);
    if (deadline !== null) this.#scheduler.arm(market.ticker, deadline);
  }

  #publishTransition(from: MarketStatus, market: Market): Pending {
    this.counters.changes++;
    const change: MarketChange =
      market.marketStatus === 'finalized'
        ? { ticker: market.ticker, eventType: 'settled', oldStatus: from, newStatus: 'finalized' }
        : { ticker: market.ticker, eventType: 'status_change', oldStatus: from, newStatus: market.marketStatus, market };
    return this.changes.publish(change);
  }

  #reject(current: Market, key: TransitionKey, source: DataSource, now: Micros): void {
    if (current.marketStatus === 'finalized') {
      this.counters.ignoredAfterFinal++;
      return;
    }
    this.counters.rejected++;
    const rejected: RejectedTransition = { ticker: current.ticker, status: current.marketStatus, event: key, source, at: now };
    this.#log.warn(rejected, 'rejected illegal transition');
    this.#rejectedListeners.emit(rejected);
  }

  #unknownTicker(ticker: string): void {
    this.counters.unknownTickerEvents++;
    this.#unknownTickerListeners.emit(ticker);
  }
}
