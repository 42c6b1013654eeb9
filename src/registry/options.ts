/**
 * The options of createRegistry: a hand-written interface (so that an editor's hover shows each
 * option's meaning, unit and default) and the zod schema that validates them at the boundary (a
 * bad option throws an OptionsError saying which and why). The schema is checked against the
 * interface at compile time, both ways, so the two cannot drift apart.
 */
import type { InspectionEvent, Observer } from 'xstate';
import { z } from 'zod';
import { MARKET_STATUS_FILTERS, type MarketStatusFilter } from '../domain/vocabulary.js';
import type { KalshiCredentials } from '../kalshi/auth.js';
import { RATE_LIMIT_TIER_NAMES, type BucketParams, type RateLimitTier } from '../kalshi/rate-limiter.js';
import type { Logger, LogLevel } from '../log.js';
import type { RestApi } from './rest-tasks.js';
import { BUCKET_NAME, DEFAULT_BUCKET, DEFAULT_STREAM, DEFAULT_SUBJECT_PREFIX, STREAM_NAME, SUBJECT_PREFIX } from '../publish/layout.js';
import type { SameType } from '../util/same-type.js';

const httpUrl = z.string().regex(/^https?:\/\/[^\s]+$/, 'expected an http(s) URL');
const wsUrl = z.string().regex(/^wss?:\/\/[^\s]+$/, 'expected a ws(s) URL');
const positiveMs = z.number().int().positive();

export const RegistryOptionsSchema = z
  .object({
    /** Kalshi environment whose hosts to use when restUrl/wsUrl are not given. */
    env: z.enum(['prod', 'demo']).optional(),
    restUrl: httpUrl.optional(),
    wsUrl: wsUrl.optional(),
    credentials: z.custom<KalshiCredentials>((v) => typeof v === 'object' && v !== null && 'keyId' in v && 'privateKey' in v).optional(),
    /**
     * Where lifecycle messages come from: the registry's own WebSocket (default), a source the
     * embedder hands in with setLifecycleSource ("external"), or nowhere (REST only: reconcile
     * often).
     */
    lifecycle: z.enum(['websocket', 'external', 'none']).default('websocket'),
    /**
     * Multivariate ("combo", KXMVE*) markets: "include" (default: the registry knows every
     * market; its socket also subscribes to `multivariate_market_lifecycle`) or "exclude"
     * (`mve_filter=exclude` on every pass, combo frames ignored).
     */
    combos: z.enum(['include', 'exclude']).default('include'),
    rateLimit: z
      .union([z.enum(RATE_LIMIT_TIER_NAMES), z.literal('unlimited'), z.object({ refillPerSec: z.number().positive(), capacity: z.number().positive() })])
      .optional(),
    /** Period of the REST reconcile. Default 5 min, or 30 s when lifecycle is "none". */
    reconcileIntervalMs: positiveMs.optional(),
    /** Every Nth reconcile is a full pass; the others are `min_updated_ts` deltas. Default 6. */
    reconcileFullEvery: z.number().int().min(1).default(6),
    statusIntervalMs: positiveMs.default(10_000),
    eventSyncIntervalMs: positiveMs.default(300_000),
    /** How long to retry a 404 on GET /markets/{ticker} for a market a lifecycle event named first. */
    unknownTickerRetryMs: z.number().int().min(0).default(10_000),
    /** Deadlines further out than this wait for the scheduler's sweep. */
    deadlineHorizonMs: positiveMs.default(600_000),
    pageLimit: z.number().int().min(1).max(1000).default(1000),
    backoff: z.object({ baseMs: positiveMs, maxMs: positiveMs }).default({ baseMs: 500, maxMs: 30_000 }),
    /**
     * A `block` change subscriber that holds ingestion still longer than this makes the registry
     * `degraded` (stats, summary, logged once) until it reads again.
     */
    stuckSubscriberMs: positiveMs.default(30_000),
    /** Unknown-ticker fetches (GET /markets/{ticker}) in flight at once; more at once means a full reconcile instead. */
    maxPendingFetches: z.number().int().min(1).max(10_000).default(64),
    /** Lifecycle WebSocket: silence (no frame, ping or pong) after which it reconnects. */
    wsIdleTimeoutMs: positiveMs.default(30_000),
    /** Lifecycle WebSocket: queued frames above which the socket is paused (backpressure). */
    wsHighWaterMark: z.number().int().min(1).default(10_000),
    logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null && typeof (v as Logger).info === 'function').optional(),
    /**
     * Level of the registry's own pino logger (JSON on stderr) when no `logger` is given. Default
     * "silent": a library says nothing unless asked. Pass your pino logger (any level) to hear
     * warnings and errors, or set this to e.g. "warn".
     */
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('silent'),
    /** XState inspection observer (e.g. @statelyai/inspect's `inspector.inspect`) for every actor. */
    inspect: z
      .custom<Observer<InspectionEvent> | ((e: InspectionEvent) => void)>((v) => typeof v === 'function' || (typeof v === 'object' && v !== null))
      .optional(),
    /** Clock in epoch milliseconds (tests). */
    clock: z.custom<() => number>((v) => typeof v === 'function').optional(),
    /** A REST client to use instead of building one (tests, shared pools). */
    rest: z.custom<RestApi & { close?: () => Promise<void> }>((v) => typeof v === 'object' && v !== null).optional(),
    /**
     * Embedded store (SQLite, WAL) in this directory, created when missing: every market's full
     * Kalshi record, the events and the sync watermarks. A start on a stored state is warm (see
     * src/persist/persistence.ts). Off by default.
     */
    stateDir: z.string().min(1).optional(),
    /** Longest a change waits before it is written to the state directory (one batch per flush). */
    stateFlushMs: positiveMs.default(100),
    /** Fan-out on NATS JetStream: every change to a stream, every market's record to a KV bucket (src/publish/layout.ts). */
    /** Load only part of the exchange (see RegistryLoadFilter). */
    load: z
      .object({
        seriesTickers: z
          .array(
            z
              .string()
              .min(1)
              .regex(/^[^,]+$/, 'a series ticker cannot contain a comma'),
          )
          .min(1, 'give at least one series ticker, or leave seriesTickers out')
          .readonly()
          .optional(),
        statuses: z.array(z.enum(MARKET_STATUS_FILTERS)).min(1, 'give at least one status, or leave statuses out').readonly().optional(),
      })
      .strict()
      .optional(),
    publish: z
      .object({
        url: z.string().regex(/^(nats|tls):\/\/[^\s,]+(,(nats|tls):\/\/[^\s,]+)*$/, 'expected nats://host:port'),
        stream: z.string().regex(STREAM_NAME, 'a stream name: letters, digits, - and _').default(DEFAULT_STREAM),
        subjectPrefix: z.string().regex(SUBJECT_PREFIX, 'dot-separated tokens of letters, digits, - and _').default(DEFAULT_SUBJECT_PREFIX),
        bucket: z.string().regex(BUCKET_NAME, 'a bucket name: letters, digits, - and _').default(DEFAULT_BUCKET),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((o) => o.restUrl !== undefined || o.env !== undefined || o.rest !== undefined, {
    error: 'give restUrl (e.g. the simulator URL) or env ("prod" | "demo")',
    path: ['restUrl'],
  })
  .refine((o) => o.lifecycle !== 'websocket' || o.wsUrl !== undefined || o.env !== undefined, {
    error: 'lifecycle "websocket" needs wsUrl or env; use lifecycle "external" or "none" otherwise',
    path: ['wsUrl'],
  });

/**
 * Load only part of the exchange, for an embedder that does not want every market: completeness
 * traded for size (README "Load filters" says what is missed). Each field narrows what the REST
 * passes read (one GET /markets pass per series × status, as Kalshi takes one `series_ticker`
 * and one `status` per request); a market that entered is followed for its whole life, and
 * lifecycle frames for markets the registry does not hold are ignored and counted
 * (`stats().loadFilter`) instead of fetched, so a market that moves into the filter is learned at
 * the next reconcile.
 */
export interface RegistryLoadFilter {
  /** Only the markets (and events) of these series, e.g. `['KXBTCD', 'KXHIGHNY']`. Default: every series. */
  readonly seriesTickers?: readonly string[];
  /**
   * Only markets with these statuses when first read, in Kalshi's REST filter words
   * (`unopened` = initialized, `open` = active, `paused` = inactive, `closed` = closed …
   * amended, `settled` = finalized). Default: every status.
   */
  readonly statuses?: readonly MarketStatusFilter[];
}

/** NATS JetStream fan-out (see src/publish/layout.ts for the subjects and keys). */
export interface RegistryPublishOptions {
  /** Server URL(s): `nats://host:port` or `tls://host:port`, comma-separated for a cluster. */
  readonly url: string;
  /**
   * JetStream stream that carries every change.
   * @default 'KALSHI_MARKETS'
   */
  readonly stream?: string;
  /**
   * First tokens of every change subject (`<prefix>.<eventType>.<ticker token>`).
   * @default 'kalshi.markets'
   */
  readonly subjectPrefix?: string;
  /**
   * KV bucket holding every market's current record, keyed by ticker.
   * @default 'kalshi-markets'
   */
  readonly bucket?: string;
}

/** The options of `createRegistry`. Give `restUrl` (e.g. the simulator's) or `env`. */
export interface RegistryOptions {
  /** Kalshi environment whose hosts to use when `restUrl`/`wsUrl` are not given. */
  readonly env?: 'prod' | 'demo';
  /** Base URL of Kalshi's REST API, e.g. `https://api.elections.kalshi.com/trade-api/v2` or the simulator's. Default: `env`'s host. */
  readonly restUrl?: string;
  /** URL of the lifecycle WebSocket (`ws://` or `wss://`). Default: `env`'s host. */
  readonly wsUrl?: string;
  /** API key (id and private key) that signs requests; without it the registry reads unauthenticated. */
  readonly credentials?: KalshiCredentials;
  /**
   * Where lifecycle messages come from: the registry's own WebSocket, a source the embedder hands
   * in with `setLifecycleSource` (`'external'`), or nowhere (`'none'`: REST only, reconcile often).
   * @default 'websocket'
   */
  readonly lifecycle?: 'websocket' | 'external' | 'none';
  /**
   * Multivariate ("combo", KXMVE*) markets: `'include'` (the registry knows every market; its
   * socket also subscribes to `multivariate_market_lifecycle`) or `'exclude'`
   * (`mve_filter=exclude` on every pass, combo frames ignored).
   * @default 'include'
   */
  readonly combos?: 'include' | 'exclude';
  /**
   * REST budget: a Kalshi usage tier, explicit token-bucket parameters (tokens per second and
   * burst, a request costing 10), or `'unlimited'`. Default: the `basic` tier with credentials,
   * about 20 requests/s without.
   */
  readonly rateLimit?: RateLimitTier | 'unlimited' | BucketParams;
  /** Period of the REST reconcile, in milliseconds. Default 300 000 (5 min), or 30 000 when `lifecycle` is `'none'`. */
  readonly reconcileIntervalMs?: number;
  /**
   * Every Nth reconcile is a full pass; the others are `min_updated_ts` deltas.
   * @default 6
   */
  readonly reconcileFullEvery?: number;
  /**
   * Period of the GET /exchange/status poll, in milliseconds.
   * @default 10000
   */
  readonly statusIntervalMs?: number;
  /**
   * Period of the event sync (GET /events), in milliseconds.
   * @default 300000
   */
  readonly eventSyncIntervalMs?: number;
  /**
   * How long to retry a 404 on GET /markets/{ticker} for a market a lifecycle frame named first, in milliseconds.
   * @default 10000
   */
  readonly unknownTickerRetryMs?: number;
  /**
   * Deadlines (open and close times) further out than this, in milliseconds, wait for the scheduler's sweep instead of a timer.
   * @default 600000
   */
  readonly deadlineHorizonMs?: number;
  /**
   * Markets per GET /markets page (1–1000).
   * @default 1000
   */
  readonly pageLimit?: number;
  /**
   * Retry backoff of the REST passes, in milliseconds: first delay and cap (exponential with jitter).
   * @default { baseMs: 500, maxMs: 30000 }
   */
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
  /**
   * A `block` change subscriber that holds ingestion still longer than this, in milliseconds,
   * makes the registry `degraded` (stats, summary, logged once) until it reads again.
   * @default 30000
   */
  readonly stuckSubscriberMs?: number;
  /**
   * Unknown-ticker fetches (GET /markets/{ticker}) in flight at once (1–10 000); more at once means a full reconcile instead.
   * @default 64
   */
  readonly maxPendingFetches?: number;
  /**
   * Lifecycle WebSocket: silence (no frame, ping or pong), in milliseconds, after which it reconnects.
   * @default 30000
   */
  readonly wsIdleTimeoutMs?: number;
  /**
   * Lifecycle WebSocket: frames queued and not yet applied above which the socket is paused (backpressure).
   * @default 10000
   */
  readonly wsHighWaterMark?: number;
  /** A pino logger for the registry's warnings and errors (any level). Default: its own, at `logLevel`. */
  readonly logger?: Logger;
  /**
   * Level of the registry's own pino logger (JSON on stderr) when no `logger` is given: a library
   * says nothing unless asked. Set e.g. `'warn'`, or pass your own `logger`.
   * @default 'silent'
   */
  readonly logLevel?: LogLevel;
  /** XState inspection observer (e.g. @statelyai/inspect's `inspector.inspect`) for every actor. */
  readonly inspect?: Observer<InspectionEvent> | ((e: InspectionEvent) => void);
  /** Clock in epoch milliseconds (tests). Default `Date.now`. */
  readonly clock?: () => number;
  /** A REST client to use instead of building one (tests, shared pools). */
  readonly rest?: RestApi & { close?: () => Promise<void> };
  /**
   * Embedded store (SQLite, WAL) in this directory, created when missing: every market's full
   * Kalshi record, the events and the sync watermarks; a start on a stored state is warm (see
   * src/persist/persistence.ts). Off by default.
   */
  readonly stateDir?: string;
  /**
   * Longest a change waits before it is written to the state directory (one batch per flush), in milliseconds.
   * @default 100
   */
  readonly stateFlushMs?: number;
  /** Fan-out on NATS JetStream: every change to a stream, every market's record to a KV bucket. Off by default. */
  readonly publish?: RegistryPublishOptions;
  /** Load only part of the exchange (series, statuses). Default: every market. */
  readonly load?: RegistryLoadFilter;
}

// The schema and the interface must accept the same options: each is assignable to the other,
// or this does not compile.
true satisfies SameType<z.input<typeof RegistryOptionsSchema>, RegistryOptions>;
