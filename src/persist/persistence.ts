/**
 * Persistence: the registry's embedded store under a state directory (createRegistry's
 * `stateDir`). It owns the state file (state-file.ts), the batched writer (writer.ts), the REST
 * tap that keeps full records (rest-tap.ts) and the warm initial sync (warm-sync.ts).
 *
 * What a warm start emits — nothing for loading itself: the stored markets are what the last
 * run's subscribers already saw. From there on, only real differences between the stored and
 * the true state, each a legal step from the stored status through the statechart:
 *   - `status_change` for each market that time alone has moved on (open or close time passed
 *     while down), then
 *   - `created` for each market new since, and `status_change` / `settled` for each stored market
 *     whose status the exchange now reports differently (the delta pass before `synced`, the full
 *     verification pass right after it, and the live WebSocket).
 * Data-only differences (prices, titles) update the store and the state file without a change,
 * as always. A consumer that kept what it saw (a follower, the NATS KV bucket) therefore learns
 * exactly what changed; one starting fresh reads its baseline with getActiveMarkets()/markets().
 *
 * Stored state lags the live registry by at most one batch (`flushMs`); a change is durable
 * once its batch committed. After a `kill -9` the next start loads the last committed batch
 * (always a consistent state) and re-derives whatever came after it.
 */
import type { Market, Micros } from '../domain/types.js';
import type { Logger } from '../log.js';
import type { RegistryCore } from '../registry/core.js';
import type { RestApi } from '../registry/rest-tasks.js';
import type { MarketStore } from '../store/market-store.js';
import { tapRest } from './rest-tap.js';
import type { MarketRecord, SyncWatermarks } from './schema.js';
import { openStateDir, type OpenedState } from './state-file.js';
import { warmInitialSync, type WarmSyncSummary } from './warm-sync.js';
import type { WriteTracker } from './write-tracker.js';
import { StateWriter, type WriterStats } from './writer.js';

export interface PersistenceOptions {
  readonly dir: string;
  /** Which exchange the state belongs to: "prod", "demo" or "custom" (any other URL). */
  readonly exchange: string;
  readonly store: MarketStore;
  readonly core: RegistryCore;
  readonly tracker: WriteTracker;
  readonly logger: Logger;
  readonly flushMs: number;
}

export interface PersistenceStats {
  readonly file: string;
  /** Markets loaded at start (0: a cold start). */
  readonly loaded: number;
  readonly loadMs: number;
  readonly watermarks: SyncWatermarks;
  readonly writer: WriterStats;
}

/** What the supervisor's snapshot says about completed passes (polled for the watermarks). */
export interface PassSnapshot {
  /** The initial sync, once done. */
  readonly initial: { readonly startedAt: number | null; readonly finishedAt: number | null } | null;
  /** The reconcile chart's last completed pass. */
  readonly lastReconcile: { readonly mode: 'full' | 'delta'; readonly startedAt: number } | null;
}

/** A WebSocket-created market's record: the fields its `created` frame carried, in the frame's words. */
function createdFrameRecord(m: Market): Record<string, unknown> {
  const seconds = (us: Micros) => Math.floor(us / 1e6);
  return {
    market_ticker: m.ticker,
    event_type: 'created',
    open_ts: seconds(m.openTs),
    close_ts: seconds(m.closeTs),
    additional_metadata: { event_ticker: m.eventTicker, title: m.title, expected_expiration_ts: seconds(m.expirationTs) },
  };
}

export class Persistence {
  readonly #state: OpenedState;
  readonly #writer: StateWriter;
  readonly #options: PersistenceOptions;
  #watermarks: SyncWatermarks;
  #timer: NodeJS.Timeout | null = null;
  #passes: (() => PassSnapshot) | null = null;
  #closed = false;

  private constructor(state: OpenedState, options: PersistenceOptions) {
    this.#state = state;
    this.#options = options;
    this.#watermarks = state.watermarks;
    this.#writer = new StateWriter({ file: state.file, store: options.store, logger: options.logger, flushMs: options.flushMs });
    options.tracker.listen((ticker, change) => {
      // A new market is written whole. Any other write outside a REST read touches only the
      // lifecycle columns (status, close time, result, updatedAt); the tap marks the markets a
      // REST page wrote whole once the page is done.
      this.#writer.markMarket(ticker, change?.market ?? null, change?.eventType === 'created');
      // What a `created` frame gave, until a REST record replaces it (the tap keeps a REST page's
      // records once the page is done; the writer never lets this one replace a REST record).
      if (change?.eventType === 'created') this.#writer.putWebSocketRecord(ticker, change.market.updatedAt, createdFrameRecord(change.market));
    });
  }

  /** Opens the state directory and loads it into the (empty) store. Throws StateDirError. */
  static open(options: PersistenceOptions): Persistence {
    const state = openStateDir(options.dir, { store: options.store, exchange: options.exchange });
    options.logger.info(
      { file: state.file, markets: state.loaded, events: state.events, ms: Math.round(state.loadMs) },
      state.loaded > 0 ? 'state loaded: warm start' : 'state directory ready: cold start',
    );
    return new Persistence(state, options);
  }

  get loaded(): number {
    return this.#state.loaded;
  }

  /** True when markets were loaded: the initial sync is the warm one. */
  get warm(): boolean {
    return this.#state.loaded > 0;
  }

  get watermarks(): SyncWatermarks {
    return this.#watermarks;
  }

  /** The registry's REST client, seen through the tap that keeps full records. */
  tapRest<T extends RestApi>(rest: T): T {
    return tapRest(rest, this.#options.core, this.#writer);
  }

  /** The warm initial-sync actor (to provide as the supervisor's `initialSync`). */
  warmInitialSync(deps: { rest: RestApi; pageLimit: number; combos: 'include' | 'exclude'; onSynced: (s: WarmSyncSummary) => void }) {
    return warmInitialSync({
      core: this.#options.core,
      logger: this.#options.logger,
      loaded: this.loaded,
      watermarks: () => this.#watermarks,
      onPass: (mode, startedAt) => {
        this.#options.tracker.sweep();
        this.notePass(mode, startedAt);
      },
      ...deps,
    });
  }

  /** A full or delta pass that started at `startedAt` (µs) completed. */
  notePass(mode: 'full' | 'delta', startedAt: number): void {
    const w = this.#watermarks;
    const next: SyncWatermarks =
      mode === 'full'
        ? { ...w, lastFullPassStartedAt: Math.max(w.lastFullPassStartedAt ?? startedAt, startedAt) }
        : { ...w, lastDeltaStartedAt: Math.max(w.lastDeltaStartedAt ?? startedAt, startedAt) };
    if (next.lastFullPassStartedAt === w.lastFullPassStartedAt && next.lastDeltaStartedAt === w.lastDeltaStartedAt) return;
    this.#watermarks = next;
    // Written with the batch that holds the pass's last writes, or a later one: never before them.
    this.#writer.putMeta('watermarks', JSON.stringify(next));
  }

  /** Where to read completed passes from (the supervisor); polled every second. */
  watchPasses(read: () => PassSnapshot): void {
    this.#passes = read;
  }

  start(): void {
    if (this.#timer !== null || this.#closed) return;
    this.#timer = setInterval(() => this.#pollPasses(), 1000);
    this.#timer.unref();
  }

  readRecord(ticker: string): MarketRecord | undefined {
    return this.#writer.pendingRecord(ticker) ?? this.#state.readRecord(ticker);
  }

  whenDurable(): Promise<void> {
    return this.#writer.whenDurable();
  }

  stats(): PersistenceStats {
    return {
      file: this.#state.file,
      loaded: this.#state.loaded,
      loadMs: Math.round(this.#state.loadMs),
      watermarks: this.#watermarks,
      writer: this.#writer.stats(),
    };
  }

  /** Writes what is pending (the final batch), closes the writer thread and the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#pollPasses();
    try {
      await this.#writer.close();
    } finally {
      this.#state.close();
    }
  }

  #pollPasses(): void {
    const snapshot = this.#passes?.();
    if (snapshot === undefined) return;
    const passes: ['full' | 'delta', number][] = [];
    // A warm initial sync reports its own pass (it may be a delta); a cold one is a full pass.
    if (!this.warm && snapshot.initial?.finishedAt != null && snapshot.initial.startedAt != null) passes.push(['full', snapshot.initial.startedAt]);
    if (snapshot.lastReconcile !== null) passes.push([snapshot.lastReconcile.mode, snapshot.lastReconcile.startedAt]);
    const w = this.#watermarks;
    const advances = passes.some(([mode, at]) => at > ((mode === 'full' ? w.lastFullPassStartedAt : w.lastDeltaStartedAt) ?? -1));
    if (!advances) return;
    // Every write of the pass is handed to the writer before the watermark that says it is done.
    this.#options.tracker.sweep();
    for (const [mode, at] of passes) this.notePass(mode, at);
  }
}
