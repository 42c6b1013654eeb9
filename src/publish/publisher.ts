/**
 * NatsPublisher: the registry's fan-out on NATS JetStream (createRegistry's `publish` option).
 *
 * Every MarketChange goes to the stream on its own subject (layout.ts), the market's current
 * record to the KV bucket. The publisher reads the registry through an ordinary bounded
 * `subscribeChanges()` subscription (policy `block`), so a slow or absent NATS server slows the
 * registry down exactly like a slow subscriber: no change is dropped and memory stays bounded
 * (1000 buffered changes, plus at most one set of data-only tickers per market).
 *
 * Delivery is at least once: a batch (up to `maxBatch` changes and their KV records) is
 * published, every ack awaited, and on any failure the whole batch again with the same
 * Nats-Msg-Id, which JetStream de-duplicates (2 min window). The client reconnects forever; a
 * NATS restart only delays the batch.
 *
 * With a state directory, a batch is published only once it is durable there, so NATS never gets
 * ahead of the stored state; after a crash the next start re-derives the rest, and (warm) first
 * brings the KV bucket and the stream up to the loaded state ("resync": each market whose KV
 * record differs gets the change from the KV's status to the stored one, and its record).
 *
 * The registry's sync state goes to the reserved KV key `_registry` (layout.ts): `synced: false`
 * once the bucket exists (a new instance is syncing: what the bucket holds is no registry's synced
 * state any more), `synced: true` once `markSynced` was called AND every change published on the
 * change stream before that call, and every data-only record dirty then, has been acknowledged.
 * A follower's `synced` waits for that announcement (src/follow/follower.ts).
 */
import { DeliverPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { nanos, nuid, type NatsConnection } from '@nats-io/transport-node';
import type { Market, MarketChange } from '../domain/types.js';
import { MARKET_TRANSITIONS } from '../lifecycle/transition-table.js';
import type { Logger } from '../log.js';
import type { ChangeStream, ChangeSubscription } from '../registry/change-stream.js';
import type { MarketStore } from '../store/market-store.js';
import { currentMarket, type WriteTracker } from '../persist/write-tracker.js';
import { connectNats } from './nats-connect.js';
import { retryUntilStopped } from './retry.js';
import { DUPLICATE_WINDOW_MS, REGISTRY_KEY, changeMsgId, changeSubject, kvKey, tickerOfKvKey, type NatsLayout, type RegistryAnnouncement } from './layout.js';

/** Where a registry publishes and how (createRegistry's `publish` option, with the layout names filled in). */
export interface PublisherOptions extends NatsLayout {
  /** nats://host:port (a comma-separated list for a cluster). */
  readonly url: string;
  /** Changes per batch (each batch's acks are awaited together). */
  readonly maxBatch?: number;
  /** How long the stream keeps changes (a follower can resume after downtimes up to this). */
  readonly streamMaxAgeMs?: number;
  readonly publishTimeoutMs?: number;
}

/** What the publisher reads: the registry's store and change stream, and the state directory's hooks. */
export interface PublisherDeps {
  readonly store: MarketStore;
  readonly changes: ChangeStream;
  /** Reports data-only writes (prices, close times) for the KV bucket; null: changes only. */
  readonly tracker: WriteTracker | null;
  readonly logger: Logger;
  /** Resolves when everything written so far is durable (state directory); null without one. */
  readonly whenDurable: (() => Promise<void>) | null;
}

/** The publisher's counters (the registry's `stats().publish`). */
export interface PublisherStats {
  readonly stage: 'idle' | 'connecting' | 'preparing' | 'resyncing' | 'publishing' | 'closed';
  readonly connected: boolean;
  /** Changes stored in the stream (acked). */
  readonly published: number;
  /** Acks that said "duplicate" (a retry of something already stored). */
  readonly duplicates: number;
  readonly kvPuts: number;
  /** Failed batch attempts (each retried). */
  readonly failures: number;
  /** Changes waiting in the publisher's subscription. */
  readonly buffered: number;
  /** Data-only KV updates waiting. */
  readonly dataPending: number;
  /** Changes the warm-start resync published (KV behind the stored state). */
  readonly resynced: number;
  readonly lastError: string | null;
  /** This publisher's registry instance id (the `_registry` announcement's `instance`). */
  readonly instance: string;
  /** What `_registry` says about this instance so far: nothing yet, syncing, or synced. */
  readonly announced: 'none' | 'syncing' | 'synced';
}

/** What the registry's `synced` said (the part the announcement carries). */
export interface SyncedAnnouncement {
  readonly markets: number;
  readonly warm: boolean;
}

/** The synced announcement waiting for its changes and records to be acknowledged. */
interface PendingAnnouncement extends SyncedAnnouncement {
  readonly syncedAt: number;
  /** Changes published since the publisher subscribed, at `markSynced`: the publisher must have taken that many. */
  readonly changes: number;
  /** Data-only records dirty at `markSynced`, not yet taken into a batch. */
  readonly dirty: Set<string>;
}

interface Batch {
  readonly changes: MarketChange[];
  /** KV value per ticker, taken when the batch was (so it is covered by the durability wait). */
  readonly records: Map<string, Market>;
}

const KV_OPERATION = 'KV-Operation';

export class NatsPublisher {
  readonly #options: PublisherOptions;
  readonly #deps: PublisherDeps;
  readonly #sub: ChangeSubscription;
  readonly #dataDirty = new Set<string>();
  #dataSignal: (() => void) | null = null;
  #nextChange: Promise<IteratorResult<MarketChange>> | null = null;
  readonly #stop = new AbortController();
  #nc: NatsConnection | null = null;
  #js: JetStreamClient | null = null;
  #kv: KV | null = null;
  #running: Promise<void> | null = null;
  #busy = false;
  readonly #idleWaiters: (() => void)[] = [];
  readonly #instance = nuid.next();
  readonly #startedAt = Date.now();
  /** Changes taken from the subscription (every change the registry published since the publisher subscribed). */
  #received = 0;
  /** The change stream's `published` count when the publisher subscribed (changes before it never reach it). */
  readonly #publishedBefore: number;
  #pendingSynced: PendingAnnouncement | null = null;
  #stats = {
    announced: 'none' as PublisherStats['announced'],
    stage: 'idle' as PublisherStats['stage'],
    connected: false,
    published: 0,
    duplicates: 0,
    kvPuts: 0,
    failures: 0,
    resynced: 0,
    lastError: null as string | null,
  };

  constructor(options: PublisherOptions, deps: PublisherDeps) {
    this.#options = options;
    this.#deps = deps;
    // Subscribed at once, before the registry starts: the publisher sees every change.
    this.#publishedBefore = deps.changes.published;
    this.#sub = deps.changes.subscribe({ overflow: 'block' });
    deps.tracker?.listen((ticker, change) => {
      if (change !== null) return;
      this.#dataDirty.add(ticker);
      this.#dataSignal?.();
    });
  }

  stats(): PublisherStats {
    return { ...this.#stats, buffered: this.#sub.buffered, dataPending: this.#dataDirty.size, instance: this.#instance };
  }

  /**
   * The registry's `synced` resolved: announce it on `_registry` once everything the registry
   * published before now is acknowledged (so a follower that reads past the announcement holds
   * the registry's synced state). Called once; later calls are ignored.
   */
  markSynced(summary: SyncedAnnouncement): void {
    if (this.#pendingSynced !== null || this.#stats.announced === 'synced' || this.#stop.signal.aborted) return;
    // Every change published so far reaches this subscription (subscribed before the registry started, policy block).
    this.#pendingSynced = {
      markets: summary.markets,
      warm: summary.warm,
      syncedAt: Date.now(),
      changes: this.#deps.changes.published - this.#publishedBefore,
      dirty: new Set(this.#dataDirty),
    };
    this.#dataSignal?.();
  }

  /** Connects and publishes in the background. `resync`: bring NATS up to a loaded (warm) store first. */
  start({ resync }: { resync: boolean }): void {
    if (this.#running !== null) return;
    this.#running = this.#main(resync).catch((err: unknown) => {
      if (!this.#stop.signal.aborted) this.#deps.logger.error({ err }, 'NATS publisher stopped');
    });
  }

  /** Waits (up to `timeoutMs`) until every change read so far is published. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#sub.buffered > 0 || this.#busy || this.#dataDirty.size > 0 || this.#pendingSynced !== null) {
      // No server to drain to: waiting would only delay the stop.
      if (Date.now() >= deadline || this.#running === null || this.#stop.signal.aborted || !this.#stats.connected) return false;
      await new Promise<void>((resolve) => {
        this.#idleWaiters.push(resolve);
        setTimeout(resolve, 50).unref();
      });
    }
    return true;
  }

  async close(): Promise<void> {
    if (this.#stats.stage === 'closed') return;
    this.#stop.abort();
    this.#sub.close();
    this.#dataSignal?.();
    await this.#running;
    this.#stats.stage = 'closed';
    const nc = this.#nc;
    this.#nc = null;
    if (nc !== null && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }

  // -------------------------------------------------------------------------------------------

  get #signal(): AbortSignal {
    return this.#stop.signal;
  }

  async #main(resync: boolean): Promise<void> {
    this.#stats.stage = 'connecting';
    const nc = await this.#retry('connect to NATS', () => connectNats(this.#options.url, 'kalshi-market-registry', this.#signal));
    if (nc === null) return;
    this.#nc = nc;
    this.#stats.connected = true;
    void this.#watchStatus(nc);
    this.#stats.stage = 'preparing';
    const ready = await this.#retry('create the stream and KV bucket', () => this.#prepare(nc));
    if (ready === null) return;
    // Before any record of this instance: from now on the bucket is no registry's synced state.
    if ((await this.#retry('announce the registry', () => this.#announce(null))) === null) return;
    if (resync) {
      this.#stats.stage = 'resyncing';
      if ((await this.#retry('resync the KV bucket with the stored state', () => this.#resync())) === null) return;
    }
    this.#stats.stage = 'publishing';
    for (;;) {
      const batch = await this.#take();
      if (batch === null) return;
      this.#busy = true;
      try {
        if (batch.changes.length > 0 || batch.records.size > 0) {
          if (this.#deps.whenDurable !== null) await this.#deps.whenDurable();
          if ((await this.#retry('publish', () => this.#send(batch))) === null) return;
        }
        // After the batch's acks: every change and record before the registry's `synced` is stored.
        const pending = this.#pendingSynced;
        if (pending !== null && this.#syncedDue(pending)) {
          if ((await this.#retry('announce the synced registry', () => this.#announce(pending))) === null) return;
          this.#pendingSynced = null;
        }
      } finally {
        this.#busy = false;
        for (const w of this.#idleWaiters.splice(0)) w();
      }
    }
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.#stats.connected = false;
        this.#deps.logger.warn({ server: this.#options.url }, 'NATS connection lost; reconnecting (changes wait, none is dropped)');
      } else if (s.type === 'reconnect') {
        this.#stats.connected = true;
        this.#deps.logger.info({ server: this.#options.url }, 'NATS reconnected');
      }
    }
  }

  /** Runs `fn` until it succeeds or the publisher closes (null). */
  #retry<T>(what: string, fn: () => Promise<T>): Promise<T | null> {
    return retryUntilStopped(fn, this.#signal, (attempt, err) => {
      this.#stats.failures++;
      this.#stats.lastError = (err as Error)?.message ?? String(err);
      if (attempt <= 3 || attempt % 50 === 0) this.#deps.logger.warn({ attempt, err: this.#stats.lastError }, `NATS publisher could not ${what}; retrying`);
    });
  }

  async #prepare(nc: NatsConnection): Promise<void> {
    const { stream, subjectPrefix, bucket } = this.#options;
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.info(stream);
    } catch (err) {
      if ((err as { name?: string }).name !== 'StreamNotFoundError' && !/not found/i.test((err as Error).message)) throw err;
      await jsm.streams.add({
        name: stream,
        subjects: [`${subjectPrefix}.>`],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        duplicate_window: nanos(DUPLICATE_WINDOW_MS),
        max_age: nanos(this.#options.streamMaxAgeMs ?? 7 * 86_400_000),
      });
    }
    this.#js = jetstream(nc, { timeout: this.#options.publishTimeoutMs ?? 2_000 });
    this.#kv = await new Kvm(this.#js).create(bucket, { history: 1, storage: StorageType.File });
  }

  /** Whether everything before `markSynced` has been taken into batches (so, once they are sent, acknowledged). */
  #syncedDue(pending: PendingAnnouncement): boolean {
    return this.#received >= pending.changes && pending.dirty.size === 0;
  }

  /** Writes `_registry`: this instance syncing (null), or synced. */
  async #announce(synced: PendingAnnouncement | null): Promise<void> {
    const value: RegistryAnnouncement = {
      version: 1,
      instance: this.#instance,
      startedAt: this.#startedAt,
      synced: synced !== null,
      syncedAt: synced?.syncedAt ?? null,
      markets: synced?.markets ?? null,
      warm: synced?.warm ?? null,
      at: Date.now(),
    };
    await (this.#kv as KV).put(REGISTRY_KEY, JSON.stringify(value));
    this.#stats.announced = synced === null ? 'syncing' : 'synced';
    if (synced !== null) this.#deps.logger.info({ instance: this.#instance, markets: synced.markets }, 'announced the synced registry on NATS');
  }

  /**
   * The next batch: at least one change or data-only update, then whatever else is already
   * waiting; or an empty one when only the synced announcement is due.
   */
  async #take(): Promise<Batch | null> {
    const max = this.#options.maxBatch ?? 500;
    const changes: MarketChange[] = [];
    while (changes.length === 0 && this.#dataDirty.size === 0 && !(this.#pendingSynced !== null && this.#syncedDue(this.#pendingSynced))) {
      const next = (this.#nextChange ??= this.#sub.next());
      const data = new Promise<null>((resolve) => (this.#dataSignal = () => resolve(null)));
      const result = await Promise.race([next, data]);
      this.#dataSignal = null;
      if (this.#signal.aborted) return null;
      if (result === null) continue;
      this.#nextChange = null;
      if (result.done) return null;
      changes.push(result.value);
      this.#received++;
    }
    while (changes.length < max && this.#sub.buffered > 0) {
      const r = await this.#sub.next();
      if (r.done) break;
      changes.push(r.value);
      this.#received++;
    }
    const { store } = this.#deps;
    const records = new Map<string, Market>();
    for (const c of changes) {
      const record = c.market ?? currentMarket(store, c.ticker);
      if (record !== undefined) records.set(c.ticker, record);
    }
    for (const ticker of this.#dataDirty) {
      if (records.size >= 2 * max) break;
      this.#dataDirty.delete(ticker);
      this.#pendingSynced?.dirty.delete(ticker);
      const record = currentMarket(store, ticker);
      if (record !== undefined && !records.has(ticker)) records.set(ticker, record);
    }
    return { changes, records };
  }

  async #send(batch: Batch): Promise<void> {
    const js = this.#js as JetStreamClient;
    const kv = this.#kv as KV;
    const ops: Promise<unknown>[] = [];
    let duplicates = 0;
    for (const c of batch.changes) {
      ops.push(
        js.publish(changeSubject(this.#options, c), JSON.stringify(c), { msgID: changeMsgId(c, batch.records.get(c.ticker)) }).then((ack) => {
          if (ack.duplicate) duplicates++;
        }),
      );
    }
    for (const [ticker, record] of batch.records) ops.push(kv.put(kvKey(ticker), JSON.stringify(record)));
    const results = await Promise.allSettled(ops);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    this.#stats.published += batch.changes.length;
    this.#stats.duplicates += duplicates;
    this.#stats.kvPuts += batch.records.size;
  }

  /**
   * Warm start: the KV bucket may be behind the loaded store (this process's predecessor died
   * after a batch was durable and before it was published). Every market whose KV record
   * differs gets its record, and, if its status differs, the change from the KV's status to the
   * stored one (legal by construction: NATS never gets ahead of the store).
   */
  async #resync(): Promise<void> {
    const js = this.#js as JetStreamClient;
    const { store, logger } = this.#deps;
    const { bucket } = this.#options;
    const prefix = `$KV.${bucket}.`;
    const consumer = await js.consumers.get(`KV_${bucket}`, { deliver_policy: DeliverPolicy.LastPerSubject });
    const pending = (await consumer.info()).num_pending;
    const seen = new Set<string>();
    let batch: Batch = { changes: [], records: new Map() };
    let resynced = 0;
    const flush = async () => {
      if (batch.changes.length === 0 && batch.records.size === 0) return;
      const b = batch;
      batch = { changes: [], records: new Map() };
      if ((await this.#retry('publish the resync', () => this.#send(b))) === null) throw new Error('the publisher closed during the resync');
    };
    const compare = async (ticker: string, known: Market | null) => {
      const m = currentMarket(store, ticker);
      if (m === undefined) return;
      if (known !== null && known.updatedAt === m.updatedAt && known.marketStatus === m.marketStatus) return;
      batch.records.set(ticker, m);
      if (known === null) batch.changes.push({ ticker, eventType: 'created', oldStatus: null, newStatus: m.marketStatus, market: m });
      else if (known.marketStatus !== m.marketStatus) {
        if (MARKET_TRANSITIONS[known.marketStatus]?.[`observed:${m.marketStatus}`] !== m.marketStatus) {
          logger.warn(
            { ticker, kv: known.marketStatus, stored: m.marketStatus },
            'NATS KV is ahead of the stored state; its record is replaced, no change published',
          );
        } else if (m.marketStatus === 'finalized') batch.changes.push({ ticker, eventType: 'settled', oldStatus: known.marketStatus, newStatus: 'finalized' });
        else batch.changes.push({ ticker, eventType: 'status_change', oldStatus: known.marketStatus, newStatus: m.marketStatus, market: m });
      }
      resynced += known === null || known.marketStatus !== m.marketStatus ? 1 : 0;
      if (batch.records.size >= 500) await flush();
    };
    if (pending > 0) {
      const messages = await consumer.consume({ max_messages: 1000 });
      for await (const msg of messages) {
        const op = msg.headers?.get(KV_OPERATION);
        const key = msg.subject.slice(prefix.length);
        if (msg.subject.startsWith(prefix) && op !== 'DEL' && op !== 'PURGE' && key !== REGISTRY_KEY) {
          const ticker = tickerOfKvKey(key);
          seen.add(ticker);
          let known: Market | null = null;
          try {
            known = msg.json<Market>();
          } catch {
            known = null;
          }
          await compare(ticker, known);
        }
        if (msg.info.pending === 0) break;
      }
    }
    for (const m of store.values()) if (!seen.has(m.ticker)) await compare(m.ticker, null);
    await flush();
    this.#stats.resynced += resynced;
    logger.info({ kvRecords: seen.size, markets: store.size, resynced }, 'NATS KV resynced with the stored state');
  }
}
