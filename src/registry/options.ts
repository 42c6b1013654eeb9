/**
 * The options of createRegistry, validated with zod at the boundary: a bad option throws an
 * OptionsError saying which and why.
 */
import type { InspectionEvent, Observer } from 'xstate';
import { z } from 'zod';
import type { KalshiCredentials } from '../kalshi/auth.js';
import { RATE_LIMIT_TIER_NAMES } from '../kalshi/rate-limiter.js';
import type { Logger } from '../log.js';
import type { RestApi } from './rest-tasks.js';
import { BUCKET_NAME, DEFAULT_BUCKET, DEFAULT_STREAM, DEFAULT_SUBJECT_PREFIX, STREAM_NAME, SUBJECT_PREFIX } from '../publish/layout.js';

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

export type RegistryOptions = z.input<typeof RegistryOptionsSchema>;
