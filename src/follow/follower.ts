/**
 * followRegistry: the registry's read API in another process, built from what a registry
 * publishes on NATS (createRegistry's `publish` option), with no connection to Kalshi.
 *
 *   - State: the KV bucket (every market's current record), read whole at start and then
 *     followed live; plus each change's own record. A record replaces the held one only if it is
 *     at least as new (`updatedAt`), so the two sources never move a market backwards.
 *   - Changes: the stream, through a durable JetStream consumer. Each change is acknowledged once
 *     it is in every subscription's buffer, so a follower started again under the same `name`
 *     resumes right after the last change it delivered: no gap, at most the last few again
 *     (at least once). Without a `name`, each start is a new consumer from "now".
 *
 * Backpressure as in the registry: a subscriber that does not read holds the follower still,
 * and JetStream keeps the rest (the follower never buffers more than one pull batch).
 *
 * `synced` means "equals a synced registry": the publisher announces its registry on the
 * reserved KV key `_registry` (layout.ts), `synced: true` only once everything before the
 * registry's own `synced` is acknowledged. The follower resolves `synced` once it has (a) the
 * bucket's latest announcement saying synced, (b) read the bucket past it (the last value of
 * every key up to the bucket's end, or, live, every update before it: KV entries are ordered),
 * and (c) applied the stream up to its last sequence as it was after (b). A follower started
 * before the registry, or during its initial sync (`synced: false` announced), waits. On a bucket
 * whose registry is gone, `synced` is "as of" that registry's announcement (`registry` in the
 * summary, `registrySyncedAt` in stats). A registry that restarts later announces again; the
 * follower stays synced and follows it.
 */
import { setMaxListeners } from 'node:events';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type Consumer, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { nanos, nuid, type NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { statusCode } from '../domain/fast-status.js';
import { withStatus } from '../domain/mapping.js';
import { ChangeBufferSize, type Market, type MarketChange } from '../domain/types.js';
import { OptionsError, formatIssues } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { ChangeStream, type ChangeListener, type ChangeSubscription, type SubscribeOptions } from '../registry/change-stream.js';
import { MarketStore, type StatusCounts } from '../store/market-store.js';
import type { MarketQuery } from '../store/market-query.js';
import { connectNats } from '../publish/nats-connect.js';
import { retryUntilStopped, sleep } from '../publish/retry.js';
import {
  BUCKET_NAME,
  DEFAULT_BUCKET,
  DEFAULT_STREAM,
  DEFAULT_SUBJECT_PREFIX,
  STREAM_NAME,
  SUBJECT_PREFIX,
  REGISTRY_KEY,
  parseAnnouncement,
  parseChangeSubject,
  tickerOfKvKey,
  type RegistryAnnouncement,
} from '../publish/layout.js';

const natsUrl = z.string().regex(/^(nats|tls):\/\/[^\s,]+(,(nats|tls):\/\/[^\s,]+)*$/, 'expected nats://host:port');

/** The options of followRegistry (zod): the NATS server, the registry's layout names, the consumer. */
export const FollowerOptionsSchema = z
  .object({
    nats: z.object({ url: natsUrl }).strict(),
    stream: z.string().regex(STREAM_NAME, 'a stream name: letters, digits, - and _').default(DEFAULT_STREAM),
    subjectPrefix: z.string().regex(SUBJECT_PREFIX, 'dot-separated tokens of letters, digits, - and _').default(DEFAULT_SUBJECT_PREFIX),
    bucket: z.string().regex(BUCKET_NAME, 'a bucket name: letters, digits, - and _').default(DEFAULT_BUCKET),
    /** Durable consumer name: a follower started again with the same name resumes where it stopped. */
    name: z.string().regex(STREAM_NAME, 'a consumer name: letters, digits, - and _').optional(),
    /** How long the server keeps the consumer of a follower that is gone. Default 7 days (named), 10 min (unnamed). */
    inactiveThresholdMs: z.number().int().positive().optional(),
    /** Changes pulled per request. */
    batch: z.number().int().min(1).max(10_000).default(500),
    logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null && typeof (v as Logger).info === 'function').optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('silent'),
  })
  .strict();

/** followRegistry's options: `nats.url` is required; stream, subjectPrefix and bucket must match the registry's `publish`. */
export type FollowerOptions = z.input<typeof FollowerOptionsSchema>;

/** What `synced` resolves to: a synced registry's announcement seen, the KV bucket read past it, the stream caught up. */
export interface FollowerSyncSummary {
  /** Markets held once the KV bucket was read and the stream caught up (the registry's then, plus any created since). */
  readonly markets: number;
  /**
   * The announcement of the registry the follower synced to: its `markets` and `syncedAt` are the
   * registry's `synced`. On a bucket whose registry is gone, the follower's state is as of then.
   */
  readonly registry: RegistryAnnouncement;
  readonly ms: number;
  /** The stream sequence the follower continued from (its consumer's first undelivered change). */
  readonly resumedFrom: number;
  /** True when an existing consumer (same `name`) was resumed. */
  readonly resumed: boolean;
}

/** How far the follower is behind the stream (see `lag()`). */
export interface FollowerLag {
  readonly connected: boolean;
  /** Stream sequence of the last change applied (0: none yet). */
  readonly sequence: number;
  /** Changes in the stream not yet applied (as of the last one received). */
  readonly pending: number;
  /** When the last change applied was published (epoch ms; null: none yet). */
  readonly lastPublishedAt: number | null;
  /** How far behind the registry the follower is: 0 when caught up, else the age of the last change applied. */
  readonly behindMs: number;
}

/** The registry's read API, rebuilt from NATS; reads are synchronous, as on the registry. */
export interface FollowerRegistry {
  start(signal?: AbortSignal): void;
  readonly synced: Promise<FollowerSyncSummary>;
  stop(): Promise<void>;
  getActiveMarkets(): readonly Market[];
  getMarket(ticker: string): Market | undefined;
  /**
   * As the registry's getMarkets. The follower reads no events, so a series is always the one
   * the event ticker names (its part before the first '-'), which older Kalshi events do not follow.
   */
  getMarkets(query?: MarketQuery): readonly Market[];
  getMarketsByEvent(eventTicker: string): readonly Market[];
  markets(): IterableIterator<Market>;
  statusCounts(): StatusCounts;
  subscribeChanges(options?: SubscribeOptions): ChangeSubscription;
  onChange(listener: ChangeListener): () => void;
  lag(): FollowerLag;
  stats(): FollowerStats;
}

/** The follower's counters (`stats()`). */
export interface FollowerStats {
  readonly markets: number;
  readonly active: number;
  readonly changes: number;
  readonly kvUpdates: number;
  /** Records older than the held one (the other source was ahead): ignored. */
  readonly staleRecords: number;
  readonly consumer: string;
  readonly lag: FollowerLag;
  /** The latest registry announcement read from the bucket (null: none yet, e.g. no registry has started). */
  readonly registry: RegistryAnnouncement | null;
  /** When the registry the follower follows said it was synced (epoch ms; null: not synced, or none yet). */
  readonly registrySyncedAt: number | null;
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; message?: string; code?: number | string; api_error?: { code?: number } };
  return /not ?found/i.test(e.name ?? '') || /not found/i.test(e.message ?? '') || e.api_error?.code === 404;
}

/**
 * A follower of a registry published on NATS (createRegistry's `publish`): call `start()`, await
 * `synced`, then read and subscribe as on a registry. Throws OptionsError for bad options.
 */
export function followRegistry(input: FollowerOptions): FollowerRegistry {
  const parsed = FollowerOptionsSchema.safeParse(input);
  if (!parsed.success) throw new OptionsError(`Invalid follower options: ${formatIssues(parsed.error.issues)}`);
  const options = parsed.data;
  const logger = options.logger ?? createLogger(options.logLevel, 'market-follower');
  const named = options.name !== undefined;
  const consumerName = options.name ?? `follower-${nuid.next()}`;
  const store = new MarketStore();
  const changes = new ChangeStream(ChangeBufferSize, logger);
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  const counters = { changes: 0, kvUpdates: 0, staleRecords: 0 };
  const lagState = { connected: false, sequence: 0, pending: 0, lastPublishedAt: null as number | null };
  let nc: NatsConnection | null = null;
  let running: Promise<void> | null = null;
  /** The latest announcement under `_registry` (the KV consumer's view). */
  let announcement: RegistryAnnouncement | null = null;

  let resolveSynced!: (s: FollowerSyncSummary) => void;
  let rejectSynced!: (e: Error) => void;
  const synced = new Promise<FollowerSyncSummary>((resolve, reject) => {
    resolveSynced = resolve;
    rejectSynced = reject;
  });
  synced.catch(() => {});

  /** Takes `record` unless the held one is newer. */
  const take = (record: Market): void => {
    const id = store.idOf(record.ticker);
    if (id >= 0 && store.updatedAtOf(id) > record.updatedAt) {
      counters.staleRecords++;
      return;
    }
    store.set(record);
  };

  const applyChange = (change: MarketChange): void => {
    if (change.eventType !== 'settled') return take(change.market);
    // A settled change carries no record: the KV bucket brings the final one.
    const id = store.idOf(change.ticker);
    if (id >= 0 && store.statusOf(id) !== statusCode('finalized')) store.set(withStatus(store.snapshot(id), 'finalized', store.updatedAtOf(id)));
  };

  /** Retries `fn` (with a jittered backoff) until it succeeds or the follower stops. */
  const retry = <T>(what: string, fn: () => Promise<T>): Promise<T | null> =>
    retryUntilStopped(fn, stop.signal, (attempt, err) => {
      if (attempt <= 3 || attempt % 50 === 0) logger.warn({ attempt, err: (err as Error)?.message ?? String(err) }, `follower could not ${what}; retrying`);
    });

  /** The change consumer: resumed when it exists (same name), else created at the stream's end. */
  const openConsumer = async (jsm: JetStreamManager): Promise<{ resumedFrom: number; resumed: boolean }> => {
    try {
      const info = await jsm.consumers.info(options.stream, consumerName);
      // Nothing acknowledged yet: the ack floor is 0, and the first undelivered change is the start.
      return { resumedFrom: Math.max(info.ack_floor.stream_seq + 1, info.config.opt_start_seq ?? 1), resumed: true };
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const stream = await jsm.streams.info(options.stream);
    const start = stream.state.last_seq + 1;
    await jsm.consumers.add(options.stream, {
      durable_name: consumerName,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: start,
      filter_subject: `${options.subjectPrefix}.>`,
      max_ack_pending: Math.max(1000, options.batch * 2),
      inactive_threshold: nanos(options.inactiveThresholdMs ?? (named ? 7 * 86_400_000 : 600_000)),
    });
    return { resumedFrom: start, resumed: false };
  };

  /**
   * Follows the KV bucket: its last value per key, then every update. Calls `onRead` once the
   * bucket was read past a synced announcement: read whole (its end as of the consumer's start)
   * with the latest announcement synced, or, later, when a synced announcement arrives live.
   */
  const followKv = async (js: JetStreamClient, onRead: (a: RegistryAnnouncement) => void): Promise<void> => {
    const prefix = `$KV.${options.bucket}.`;
    let snapshotDone = false;
    let read = false;
    const check = () => {
      if (read || !snapshotDone || announcement?.synced !== true) return;
      read = true;
      onRead(announcement);
    };
    const done = () => {
      if (snapshotDone) return;
      snapshotDone = true;
      check();
    };
    const announced = (a: RegistryAnnouncement | null, subject: string) => {
      if (a === null) {
        logger.warn({ subject }, 'follower: unreadable registry announcement ignored');
        return;
      }
      if (announcement?.instance !== a.instance)
        logger.info({ instance: a.instance, startedAt: a.startedAt, synced: a.synced }, 'follower: a registry announced itself');
      else if (a.synced && !announcement.synced) logger.info({ instance: a.instance, markets: a.markets }, 'follower: the registry is synced');
      announcement = a;
      // Live: every update before this one was delivered first (one ordered consumer).
      check();
    };
    while (!stop.signal.aborted) {
      const kvConsumer = await retry('open the KV bucket', () => js.consumers.get(`KV_${options.bucket}`, { deliver_policy: DeliverPolicy.LastPerSubject }));
      if (kvConsumer === null) return;
      if (!snapshotDone && (await kvConsumer.info(true)).num_pending === 0) done();
      const messages = await kvConsumer.consume({ max_messages: 1000 });
      const onAbort = () => void messages.close();
      stop.signal.addEventListener('abort', onAbort, { once: true });
      try {
        for await (const msg of messages) {
          const op = msg.headers?.get('KV-Operation');
          const key = msg.subject.slice(prefix.length);
          if (key === REGISTRY_KEY && msg.subject.startsWith(prefix)) {
            if (op !== 'DEL' && op !== 'PURGE') {
              let value: unknown = null;
              try {
                value = msg.json<unknown>();
              } catch {
                value = null;
              }
              announced(parseAnnouncement(value), msg.subject);
            }
          } else if (msg.subject.startsWith(prefix) && op !== 'DEL' && op !== 'PURGE') {
            try {
              const record = msg.json<Market>();
              if (typeof record?.ticker === 'string' && record.ticker === tickerOfKvKey(key)) {
                counters.kvUpdates++;
                take(record);
              }
            } catch (err) {
              logger.warn({ subject: msg.subject, err: (err as Error).message }, 'follower: unreadable KV record ignored');
            }
          }
          if (!snapshotDone && msg.info.pending === 0) done();
        }
      } finally {
        stop.signal.removeEventListener('abort', onAbort);
      }
      // An ordered consumer ends only when stopped or when it could not recover: open it again.
      if (!stop.signal.aborted) await sleep(250, stop.signal);
    }
  };

  /**
   * Reads the change stream into the change stream of this process, acknowledging each change
   * once delivered. Calls `onCaughtUp` once a change at or past `target()` is applied (null: no
   * target yet); a consumer with nothing left to deliver is checked where the target is set.
   */
  const followChanges = async (js: JetStreamClient, target: () => number | null, onCaughtUp: () => void): Promise<void> => {
    const reached = (seq: number) => {
      const t = target();
      if (t !== null && seq >= t) onCaughtUp();
    };
    while (!stop.signal.aborted) {
      const consumer: Consumer | null = await retry('open the change consumer', () => js.consumers.get(options.stream, consumerName));
      if (consumer === null) return;
      const messages = await retry('consume changes', () => consumer.consume({ max_messages: options.batch }));
      if (messages === null) return;
      const onAbort = () => void messages.close();
      stop.signal.addEventListener('abort', onAbort, { once: true });
      void (async () => {
        for await (const s of messages.status()) {
          // The client recovers from most interruptions itself; if heartbeats keep missing, start over.
          if (s.type === 'heartbeats_missed' && s.count >= 3) void messages.close();
        }
      })().catch(() => {});
      try {
        for await (const msg of messages) {
          const where = parseChangeSubject(options, msg.subject);
          let change: MarketChange | null = null;
          try {
            change = msg.json<MarketChange>();
          } catch {
            change = null;
          }
          if (where === null || change === null || change.ticker !== where.ticker || change.eventType !== where.eventType) {
            logger.warn({ subject: msg.subject, seq: msg.seq }, 'follower: not a registry change; acknowledged and skipped');
            msg.ack();
            reached(msg.info.streamSequence);
            continue;
          }
          applyChange(change);
          counters.changes++;
          const pending = changes.publish(change);
          if (pending) await pending;
          msg.ack();
          lagState.sequence = msg.info.streamSequence;
          lagState.pending = msg.info.pending;
          lagState.lastPublishedAt = Math.floor(msg.info.timestampNanos / 1e6);
          // Caught up: at the stream's end as it was once the KV was read (a busy stream may never show 0 pending).
          reached(msg.info.streamSequence);
        }
      } finally {
        stop.signal.removeEventListener('abort', onAbort);
      }
      if (!stop.signal.aborted) await sleep(250, stop.signal);
    }
  };

  const main = async (): Promise<void> => {
    const started = performance.now();
    nc = await retry('connect to NATS', () => connectNats(options.nats.url, `market-follower ${consumerName}`, stop.signal));
    if (nc === null) return;
    const conn = nc;
    lagState.connected = true;
    void (async () => {
      for await (const s of conn.status()) {
        if (s.type === 'disconnect') lagState.connected = false;
        else if (s.type === 'reconnect') lagState.connected = true;
      }
    })().catch(() => {});
    const jsm = await retry('reach JetStream', () => jetstreamManager(conn));
    if (jsm === null) return;
    const js = jetstream(conn);
    // The registry creates the stream; a follower started first waits for it.
    const position = await retry(`find the stream ${options.stream}`, () => openConsumer(jsm));
    if (position === null) return;
    // (c) The stream's last sequence once the KV was read past a synced announcement: every change
    // the registry published before its announcement is at or before it.
    let target: number | null = null;
    let syncedTo: RegistryAnnouncement | null = null;
    let done = false;
    const caughtUp = () => {
      if (done || syncedTo === null) return;
      done = true;
      resolveSynced({ markets: store.size, registry: syncedTo, ms: Math.round(performance.now() - started), ...position });
    };
    const onKvRead = async (a: RegistryAnnouncement): Promise<void> => {
      const last = await retry('read the stream', async () => (await jsm.streams.info(options.stream)).state.last_seq);
      if (last === null) return;
      syncedTo = a;
      target = last;
      if (lagState.sequence >= last) return caughtUp();
      // Nothing left to deliver and all of it applied (acknowledged after applying): caught up,
      // even if no change at or past the target ever comes (e.g. it was before the consumer's start).
      const info = await retry('read the change consumer', () => jsm.consumers.info(options.stream, consumerName));
      if (info !== null && info.num_pending === 0 && info.num_ack_pending === 0) caughtUp();
    };
    await Promise.all([
      followKv(js, (a) => void onKvRead(a)),
      followChanges(
        js,
        () => target,
        () => caughtUp(),
      ),
    ]);
  };

  const follower: FollowerRegistry = {
    synced,
    start(signal) {
      if (running !== null) throw new OptionsError('start() was already called on this follower');
      signal?.addEventListener('abort', () => void follower.stop(), { once: true });
      running = main().catch((err: unknown) => {
        if (!stop.signal.aborted) {
          logger.error({ err }, 'follower failed');
          rejectSynced(err instanceof Error ? err : new Error(String(err)));
        }
      });
    },
    async stop() {
      stop.abort();
      rejectSynced(new Error('the follower stopped before it was synced'));
      await running;
      changes.close();
      const conn = nc;
      nc = null;
      if (conn !== null && !conn.isClosed()) {
        if (!named) {
          try {
            await (await jetstreamManager(conn)).consumers.delete(options.stream, consumerName);
          } catch {
            // The server removes it after inactive_threshold anyway.
          }
        }
        await conn.drain().catch(() => conn.close());
      }
    },
    getActiveMarkets: () => store.activeMarkets(),
    getMarket: (ticker) => store.get(ticker),
    getMarkets: (query) => store.getMarkets(query),
    getMarketsByEvent: (eventTicker) => store.marketsOfEvent(eventTicker),
    markets: () => store.values(),
    statusCounts: () => store.statusCounts(),
    subscribeChanges: (opts) => changes.subscribe(opts),
    onChange: (listener) => changes.onChange(listener),
    lag: () => ({
      ...lagState,
      behindMs: lagState.pending > 0 && lagState.lastPublishedAt !== null ? Math.max(0, Date.now() - lagState.lastPublishedAt) : 0,
    }),
    stats: () => ({
      markets: store.size,
      active: store.activeCount,
      ...counters,
      consumer: consumerName,
      lag: follower.lag(),
      registry: announcement,
      registrySyncedAt: announcement?.syncedAt ?? null,
    }),
  };
  return follower;
}
