/**
 * StateWriter: batches what changed and hands it to the writer thread, one batch at a time.
 *
 * The ingestion path only marks a ticker dirty (a Set insert). Every `flushMs` (or at once when
 * someone waits for durability) the dirty markets are read from the store as they are then, and
 * sent with the pending records, events and watermarks as one transaction. At most one batch is
 * in flight; meanwhile new changes coalesce per ticker, so memory is bounded by the number of
 * markets, and raw REST records (the only large items) by `maxPendingRecords`: the REST tap waits
 * for room before it hands the next page on.
 *
 * Durability: a change is durable once the batch holding it committed (WAL, synchronous=NORMAL:
 * a killed process loses nothing committed; an OS crash may lose the last batches, never
 * consistency). `whenDurable()` resolves when everything written so far is.
 */
import type { Worker } from 'node:worker_threads';
import { STATUS_BY_CODE, statusCode } from '../domain/fast-status.js';
import type { Market, MarketEvent, Micros } from '../domain/types.js';
import type { Logger } from '../log.js';
import type { MarketStore } from '../store/market-store.js';
import { backoffDelay } from '../util/backoff.js';
import { WRITE_STATEMENTS, eventRow, marketRow, type MarketRecord } from './schema.js';
import { PRAGMAS } from './state-file.js';
import { currentMarket } from './write-tracker.js';
import { startWriterThread, type MarketRows, type WriteOp, type WriterReply, type WriterRequest } from './writer-thread.js';

export interface WriterOptions {
  readonly file: string;
  readonly store: MarketStore;
  readonly logger: Logger;
  /** Longest a change waits before its batch is sent. */
  readonly flushMs: number;
  /** Raw records held for the next batch before the REST tap waits. */
  readonly maxPendingRecords?: number;
  /** Journal rows above which the writer thread folds the journal into the markets table. */
  readonly compactRows?: number;
  readonly compactIdleMs?: number;
}

export interface WriterStats {
  /** Batches committed. */
  readonly batches: number;
  readonly marketsWritten: number;
  readonly recordsWritten: number;
  readonly eventsWritten: number;
  /** Batches that failed (each retried after a backoff; nothing is dropped). */
  readonly failures: number;
  readonly lastCommitMs: number;
  readonly maxCommitMs: number;
  /** Time the ingesting thread spent building batches (the writer thread's time is not in it). */
  readonly encodeMs: number;
  /** Journal folds into the markets table, the last one's duration, and rows waiting in it. */
  readonly compactions: number;
  readonly lastCompactionMs: number;
  readonly journalRows: number;
  /** Markets changed and not yet durable. */
  readonly pendingMarkets: number;
  readonly pendingRecords: number;
  readonly inFlight: boolean;
  /** The last write error, if the last batch failed. */
  readonly lastError: string | null;
}

interface Batch {
  readonly seq: number;
  /** Markets to write whole. Ticker → its record as a change reported it, or null: read it from the store at the flush. */
  readonly dirty: Map<string, Market | null>;
  /**
   * Transitions (status, close time, result, updatedAt only), in order, not coalesced: a push per
   * change. The last entry of a ticker is its latest state; a ticker also marked whole is
   * written whole instead.
   */
  readonly lifecycle: Transitions;
  readonly records: Map<string, PendingRecord>;
  readonly events: Map<string, readonly [MarketEvent, unknown]>;
  readonly meta: Map<string, string>;
}

interface Transitions {
  readonly tickers: string[];
  readonly markets: (Market | null)[];
}

/** Transitions held uncoalesced before they are folded to one per market. */
const MAX_UNCOALESCED = 500_000;

/** Keeps the last transition of each market, in order (the latest states). */
function coalesce(l: Transitions): void {
  const last = new Map<string, number>();
  for (let i = 0; i < l.tickers.length; i++) last.set(l.tickers[i] as string, i);
  let w = 0;
  for (let i = 0; i < l.tickers.length; i++) {
    if (last.get(l.tickers[i] as string) !== i) continue;
    l.tickers[w] = l.tickers[i] as string;
    l.markets[w] = l.markets[i] as Market | null;
    w++;
  }
  l.tickers.length = w;
  l.markets.length = w;
}

interface PendingRecord {
  readonly source: 'rest' | 'websocket';
  readonly at: Micros;
  readonly raw: Readonly<Record<string, unknown>>;
}

function emptyBatchParts() {
  return {
    dirty: new Map<string, Market | null>(),
    lifecycle: { tickers: [] as string[], markets: [] as (Market | null)[] },
    records: new Map<string, PendingRecord>(),
    events: new Map<string, readonly [MarketEvent, unknown]>(),
    meta: new Map<string, string>(),
  };
}

export class StateWriter {
  readonly #options: WriterOptions;
  readonly #maxPendingRecords: number;
  #worker: Worker | null = null;
  #ready: Promise<void> | null = null;
  #pending = emptyBatchParts();
  #inFlight: Batch | null = null;
  #nextSeq = 1;
  #committed = 0;
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Number.POSITIVE_INFINITY;
  #consecutiveFailures = 0;
  #closing = false;
  #closed = false;
  readonly #durableWaiters: { seq: number; resolve: () => void }[] = [];
  readonly #roomWaiters: (() => void)[] = [];
  readonly #stats = {
    batches: 0,
    marketsWritten: 0,
    recordsWritten: 0,
    eventsWritten: 0,
    failures: 0,
    lastCommitMs: 0,
    maxCommitMs: 0,
    encodeMs: 0,
    compactions: 0,
    lastCompactionMs: 0,
    journalRows: 0,
    lastError: null as string | null,
  };
  /** Last value written per meta key (only changes are written). */
  readonly #metaWritten = new Map<string, string>();

  constructor(options: WriterOptions) {
    this.#options = options;
    this.#maxPendingRecords = options.maxPendingRecords ?? 20_000;
  }

  stats(): WriterStats {
    return {
      ...this.#stats,
      pendingMarkets:
        this.#pending.dirty.size +
        this.#pending.lifecycle.tickers.length +
        (this.#inFlight === null ? 0 : this.#inFlight.dirty.size + this.#inFlight.lifecycle.tickers.length),
      pendingRecords: this.#pendingRecordCount(),
      inFlight: this.#inFlight !== null,
    };
  }

  /**
   * A market was written in the store. `market` is what the store holds now, if the caller has
   * it (a change's record); otherwise it is read from the store at the next flush. `whole`:
   * write every column (a new market, a REST read); otherwise only status, close time, result
   * and updatedAt changed (a WebSocket or deadline transition), which is cheaper to hand over.
   */
  markMarket(ticker: string, market: Market | null, whole: boolean): void {
    const p = this.#pending;
    if (whole || (p.dirty.size > 0 && p.dirty.has(ticker))) p.dirty.set(ticker, market);
    else {
      const l = p.lifecycle;
      l.tickers.push(ticker);
      l.markets.push(market);
      // Held back far longer than usual (a stalled disk): keep one entry per market.
      if (l.tickers.length > MAX_UNCOALESCED) coalesce(l);
    }
    if (this.#timer === null && this.#inFlight === null) this.#schedule(this.#options.flushMs);
  }

  /** The REST record a market was last read with, as validated. */
  putRestRecord(ticker: string, at: Micros, raw: Readonly<Record<string, unknown>>): void {
    this.#pending.records.set(ticker, { source: 'rest', at, raw });
    this.#schedule(this.#options.flushMs);
  }

  /** What a WebSocket `created` gave, for a market with no REST record (never replaces one). */
  putWebSocketRecord(ticker: string, at: Micros, raw: Readonly<Record<string, unknown>>): void {
    if (this.#pending.records.get(ticker)?.source === 'rest') return;
    this.#pending.records.set(ticker, { source: 'websocket', at, raw });
    this.#schedule(this.#options.flushMs);
  }

  putEvent(event: MarketEvent, raw: unknown): void {
    this.#pending.events.set(event.eventTicker, [event, raw]);
    this.#schedule(this.#options.flushMs);
  }

  /** A meta entry (watermarks, …); written only when it differs from what was written last. */
  putMeta(key: string, value: string): void {
    if (this.#metaWritten.get(key) === value && !this.#pending.meta.has(key)) return;
    this.#pending.meta.set(key, value);
    this.#schedule(this.#options.flushMs);
  }

  /** A record written but not yet committed (the state file has the rest). */
  pendingRecord(ticker: string): MarketRecord | undefined {
    const r = this.#pending.records.get(ticker) ?? this.#inFlight?.records.get(ticker);
    return r === undefined ? undefined : { ticker, source: r.source, observedAt: r.at, record: r.raw };
  }

  /** Resolves once every change handed to the writer so far is committed. */
  whenDurable(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const target = this.#hasPending() ? this.#nextSeq : this.#inFlight?.seq;
    if (target === undefined || target <= this.#committed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#durableWaiters.push({ seq: target, resolve });
      this.#schedule(0);
    });
  }

  /** Resolves when there is room for more raw records (the REST tap's backpressure). */
  roomForRecords(): Promise<void> | undefined {
    if (this.#pendingRecordCount() < this.#maxPendingRecords || this.#closed) return undefined;
    this.#schedule(0);
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  /** Writes everything pending, then closes the writer thread. */
  async close(timeoutMs = 30_000): Promise<void> {
    if (this.#closed) return;
    this.#closing = true;
    const deadline = performance.now() + timeoutMs;
    while ((this.#hasPending() || this.#inFlight !== null) && performance.now() < deadline) {
      if (this.#consecutiveFailures > 3) {
        this.#options.logger.error(
          { pendingMarkets: this.#pending.dirty.size, error: this.#stats.lastError },
          'state writer: giving up on the last changes at close',
        );
        break;
      }
      await this.whenDurable();
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#closed = true;
    for (const w of this.#durableWaiters.splice(0)) w.resolve();
    for (const w of this.#roomWaiters.splice(0)) w();
    const worker = this.#worker;
    this.#worker = null;
    if (worker === null) return;
    await new Promise<void>((resolve) => {
      const done = () => resolve();
      worker.once('exit', done);
      worker.on('message', (m: WriterReply) => {
        if (m.type === 'closed') void worker.terminate().then(done, done);
      });
      worker.postMessage({ type: 'close' });
      // The thread folds the journal before it closes; a kill in the middle of that is harmless.
      setTimeout(() => void worker.terminate().then(done, done), 60_000).unref();
    });
  }

  // -------------------------------------------------------------------------------------------

  #pendingRecordCount(): number {
    return this.#pending.records.size + (this.#inFlight?.records.size ?? 0);
  }

  #hasPending(): boolean {
    const p = this.#pending;
    return p.dirty.size > 0 || p.lifecycle.tickers.length > 0 || p.records.size > 0 || p.events.size > 0 || p.meta.size > 0;
  }

  #schedule(delayMs: number): void {
    if (this.#closed || this.#inFlight !== null) return;
    const at = performance.now() + delayMs;
    if (this.#timer !== null && this.#timerAt <= at) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#timerAt = Number.POSITIVE_INFINITY;
      this.#flush();
    }, delayMs);
    this.#timer.unref();
  }

  #ensureWorker(): Worker {
    if (this.#worker !== null) return this.#worker;
    const worker = startWriterThread(this.#options.file, PRAGMAS, WRITE_STATEMENTS, {
      compactRows: this.#options.compactRows ?? 1_000_000,
      compactIdleMs: this.#options.compactIdleMs ?? 2_000,
    });
    worker.unref();
    worker.on('message', (m: WriterReply) => this.#onReply(m));
    worker.on('error', (err) => {
      this.#options.logger.error({ err }, 'state writer thread failed; restarting it');
      this.#onWorkerGone(String(err.message));
    });
    worker.on('exit', () => {
      if (this.#worker === worker) this.#onWorkerGone('the writer thread exited');
    });
    this.#worker = worker;
    return worker;
  }

  #onWorkerGone(reason: string): void {
    this.#worker = null;
    if (this.#inFlight !== null) this.#failed(this.#inFlight, reason);
  }

  #flush(): void {
    if (this.#inFlight !== null || this.#closed || !this.#hasPending()) return;
    const parts = this.#pending;
    this.#pending = emptyBatchParts();
    const batch: Batch = { seq: this.#nextSeq++, ...parts };
    const { store } = this.#options;
    const started = performance.now();
    const ops: WriteOp[] = [];
    const full: unknown[][] = [];
    for (const [ticker, known] of parts.dirty) {
      const m: Market | undefined = known ?? currentMarket(store, ticker);
      if (m !== undefined) full.push(marketRow(m));
    }
    let lifecycle: MarketRows['lifecycle'] = null;
    const pending = parts.lifecycle;
    if (pending.tickers.length > 0) {
      const numbers = new Float64Array(pending.tickers.length * 4);
      const tickers: string[] = [];
      const results: string[] = [''];
      const anyWhole = parts.dirty.size > 0;
      let n = 0;
      for (let i = 0; i < pending.tickers.length; i++) {
        const ticker = pending.tickers[i] as string;
        // Written whole in this batch, from its latest state: its transitions are in that row.
        if (anyWhole && parts.dirty.has(ticker)) continue;
        const m: Market | undefined = pending.markets[i] ?? currentMarket(store, ticker);
        if (m === undefined) continue;
        // A ticker the packing cannot carry goes whole.
        if (ticker.includes('\n')) {
          full.push(marketRow(m));
          continue;
        }
        let r = m.result === '' ? 0 : results.indexOf(m.result);
        if (r < 0) r = results.push(m.result) - 1;
        const o = n * 4;
        numbers[o] = statusCode(m.marketStatus);
        numbers[o + 1] = m.closeTs;
        numbers[o + 2] = m.updatedAt;
        numbers[o + 3] = r;
        tickers.push(ticker);
        n++;
      }
      if (n > 0)
        lifecycle = { count: n, tickers: tickers.join('\n'), numbers: numbers.subarray(0, n * 4), words: JSON.stringify({ s: STATUS_BY_CODE, r: results }) };
    }
    const markets: MarketRows = { full: full.length > 0 ? JSON.stringify(full) : null, fullCount: full.length, lifecycle };
    if (parts.records.size > 0) {
      const rest: unknown[][] = [];
      const ws: unknown[][] = [];
      for (const [ticker, r] of parts.records) (r.source === 'rest' ? rest : ws).push([ticker, r.at, JSON.stringify(r.raw)]);
      if (rest.length > 0) ops.push(['restRecords', rest]);
      if (ws.length > 0) ops.push(['wsRecords', ws]);
    }
    if (parts.events.size > 0) ops.push(['events', Array.from(parts.events.values(), ([e, raw]) => eventRow(e, JSON.stringify(raw)))]);
    if (parts.meta.size > 0) ops.push(['meta', [...parts.meta]]);
    this.#stats.encodeMs += performance.now() - started;
    this.#inFlight = batch;
    if (ops.length === 0 && markets.full === null && markets.lifecycle === null) {
      this.#committedBatch(batch, 0);
      return;
    }
    const worker = this.#ensureWorker();
    worker.postMessage({ type: 'write', seq: batch.seq, markets, ops } satisfies WriterRequest);
  }

  #onReply(m: WriterReply): void {
    const batch = this.#inFlight;
    switch (m.type) {
      case 'committed':
        this.#stats.journalRows = m.journalRows;
        if (batch?.seq === m.seq) this.#committedBatch(batch, m.ms);
        return;
      case 'failed':
        if (batch?.seq === m.seq) this.#failed(batch, `${m.code}: ${m.error}`);
        return;
      case 'compacted':
        this.#stats.compactions++;
        this.#stats.lastCompactionMs = m.ms;
        this.#stats.journalRows = 0;
        return;
      case 'compaction_failed':
        this.#options.logger.error(
          { error: m.error, code: m.code, file: this.#options.file },
          'state journal compaction failed (the journal stays; loading applies it)',
        );
        return;
      case 'open_failed':
        this.#options.logger.error({ error: m.error, code: m.code, file: this.#options.file }, 'state writer could not open the state file');
        return;
      default:
        return;
    }
  }

  #committedBatch(batch: Batch, ms: number): void {
    this.#inFlight = null;
    this.#committed = batch.seq;
    this.#consecutiveFailures = 0;
    const s = this.#stats;
    s.batches++;
    s.marketsWritten += batch.dirty.size + batch.lifecycle.tickers.length;
    s.recordsWritten += batch.records.size;
    s.eventsWritten += batch.events.size;
    s.lastCommitMs = ms;
    s.maxCommitMs = Math.max(s.maxCommitMs, ms);
    s.lastError = null;
    for (const [k, v] of batch.meta) this.#metaWritten.set(k, v);
    for (let i = this.#durableWaiters.length - 1; i >= 0; i--) {
      const w = this.#durableWaiters[i] as { seq: number; resolve: () => void };
      if (w.seq <= this.#committed) {
        this.#durableWaiters.splice(i, 1);
        w.resolve();
      }
    }
    if (this.#pendingRecordCount() < this.#maxPendingRecords) for (const w of this.#roomWaiters.splice(0)) w();
    if (this.#hasPending()) {
      const urgent = this.#durableWaiters.length > 0 || this.#roomWaiters.length > 0 || this.#closing;
      this.#schedule(urgent ? 0 : this.#options.flushMs);
    }
  }

  /** A batch that did not commit goes back into the pending set (newer pending values win). */
  #failed(batch: Batch, error: string): void {
    this.#inFlight = null;
    this.#stats.failures++;
    this.#stats.lastError = error;
    this.#consecutiveFailures++;
    if (this.#consecutiveFailures <= 3 || this.#consecutiveFailures % 20 === 0) {
      this.#options.logger.error({ error, failures: this.#consecutiveFailures, file: this.#options.file }, 'state write failed; retrying (nothing is dropped)');
    }
    const p = this.#pending;
    // Read again from the store at the next flush (it may have moved on since).
    for (const t of batch.dirty.keys()) p.dirty.set(t, null);
    // Before the newer pending transitions, so those still come last; read from the store again.
    const failed = batch.lifecycle.tickers;
    this.#pending = {
      ...p,
      lifecycle: { tickers: failed.concat(p.lifecycle.tickers), markets: (failed.map(() => null) as (Market | null)[]).concat(p.lifecycle.markets) },
    };
    for (const [t, r] of batch.records) if (!p.records.has(t)) p.records.set(t, r);
    for (const [t, e] of batch.events) if (!p.events.has(t)) p.events.set(t, e);
    for (const [k, v] of batch.meta) if (!p.meta.has(k)) p.meta.set(k, v);
    this.#schedule(backoffDelay(this.#consecutiveFailures, { baseMs: 100, maxMs: 5_000 }));
  }
}
