/** The REST client's options: their type, their schema and defaults, and what they resolve to. */
import { z } from 'zod';
import { OptionsError, ValidationError } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { redactUrl } from '../../util/redact-url.js';
import type { KalshiCredentials } from '../auth.js';
import { DEFAULT_REQUEST_COST, RATE_LIMIT_TIERS, RATE_LIMIT_TIER_NAMES, UNAUTHENTICATED_LIMIT, type RateLimitSpec } from '../rate-limiter.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy.js';
import type { RestRequestListener } from './stats.js';

export interface BackoffOptions {
  /** First retry waits up to this many ms (full jitter: uniform in [0, cap]). Default 250. */
  readonly baseMs?: number;
  /** Upper bound of the exponential cap. Default 15 000. */
  readonly maxMs?: number;
}

export interface KalshiRestClientOptions {
  /** e.g. `https://external-api.kalshi.com/trade-api/v2` or `http://127.0.0.1:PORT/trade-api/v2`. */
  readonly baseUrl: string;
  /** When given, every request carries KALSHI-ACCESS-* headers. */
  readonly credentials?: KalshiCredentials;
  /** Tier name, explicit bucket, or 'unlimited' (simulator). Default: 'basic' with credentials, ~20 req/s without. */
  readonly rateLimit?: RateLimitSpec;
  /** Tokens per request. Default 10. */
  readonly requestCost?: number;
  /** Per attempt, headers + body (real time). Default 30 000. */
  readonly timeoutMs?: number;
  /** Retries after the first attempt. Default 5. */
  readonly maxRetries?: number;
  readonly backoff?: BackoffOptions;
  /** Cap on a server-provided Retry-After. Default 60 000. */
  readonly maxRetryAfterMs?: number;
  /** Pool connections. Default 4. */
  readonly connections?: number;
  /** Limit on the body size, on the wire (undici's maxResponseSize) and decompressed. Default 256 MiB. */
  readonly maxResponseBytes?: number;
  readonly logger?: Logger;
  /** Default `kalshi-market-registry/0.1.0`. */
  readonly userAgent?: string;
  /**
   * Time source of every wait the client takes (retry backoff, the 404-retry window, rate-limiter
   * refills) and of its timestamps. Default: the system clock. An xstate `SimulatedClock` fits.
   */
  readonly clock?: Clock;
  /** Random source in [0, 1) for the backoff jitter (tests). Default Math.random. */
  readonly random?: () => number;
  /**
   * Told of every HTTP attempt (endpoint template, status, duration, retry): see
   * `KalshiRestClient.onRequest`, which adds more listeners after construction.
   */
  readonly onRequest?: RestRequestListener;
}

const BucketParamsSchema = z.strictObject({
  refillPerSec: z.number().positive(),
  capacity: z.number().positive(),
});

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

const OptionsSchema = z.strictObject({
  baseUrl: z.string().refine(
    (s) => {
      try {
        const u = new URL(s);
        return (u.protocol === 'http:' || u.protocol === 'https:') && !u.search && !u.hash;
      } catch {
        return false;
      }
    },
    { error: 'expected an http(s) URL without query, e.g. https://external-api.kalshi.com/trade-api/v2' },
  ),
  credentials: z
    .custom<KalshiCredentials>((v) => isObject(v) && typeof v.keyId === 'string' && typeof v.privateKey === 'object', {
      error: 'expected KalshiCredentials { keyId, privateKey: KeyObject } (see loadCredentials)',
    })
    .optional(),
  rateLimit: z.union([z.enum(RATE_LIMIT_TIER_NAMES), z.literal('unlimited'), BucketParamsSchema]).optional(),
  requestCost: z.number().positive().default(DEFAULT_REQUEST_COST),
  timeoutMs: z.number().int().positive().default(30_000),
  maxRetries: z.number().int().min(0).max(1000).default(DEFAULT_RETRY_POLICY.maxRetries),
  backoff: z
    .strictObject({
      baseMs: z.number().nonnegative().default(DEFAULT_RETRY_POLICY.backoff.baseMs),
      maxMs: z.number().nonnegative().default(DEFAULT_RETRY_POLICY.backoff.maxMs),
    })
    .default({ ...DEFAULT_RETRY_POLICY.backoff }),
  maxRetryAfterMs: z.number().nonnegative().default(DEFAULT_RETRY_POLICY.retryAfter.maxMs),
  connections: z.number().int().positive().max(256).default(4),
  maxResponseBytes: z
    .number()
    .int()
    .positive()
    .default(256 * 1024 * 1024),
  logger: z.custom<Logger>((v) => isObject(v) && typeof v.warn === 'function', { error: 'expected a pino Logger' }).optional(),
  userAgent: z.string().min(1).default('kalshi-market-registry/0.1.0'),
  clock: z
    .custom<Clock>((v) => isObject(v) && typeof v.now === 'function' && typeof v.setTimeout === 'function' && typeof v.clearTimeout === 'function', {
      error: 'expected a Clock { now(), setTimeout(fn, ms), clearTimeout(handle) }',
    })
    .optional(),
  random: z.custom<() => number>((v) => typeof v === 'function', { error: 'expected a function' }).optional(),
  onRequest: z.custom<RestRequestListener>((v) => typeof v === 'function', { error: 'expected a function' }).optional(),
});

/** Options with defaults applied, checked for consistency, and split by the module that uses them. */
export interface ResolvedOptions {
  readonly origin: string;
  readonly basePath: string;
  /** The base URL without credentials or trailing slash. */
  readonly baseUrl: string;
  readonly credentials: KalshiCredentials | undefined;
  readonly rateLimit: RateLimitSpec;
  readonly requestCost: number;
  readonly timeoutMs: number;
  readonly connections: number;
  readonly maxResponseBytes: number;
  readonly userAgent: string;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: () => number;
  readonly policy: RetryPolicy;
  readonly onRequest: RestRequestListener | undefined;
}

/** Throws ValidationError for malformed options, OptionsError for ones that cannot work together. */
export function resolveOptions(options: KalshiRestClientOptions): ResolvedOptions {
  const parsed = OptionsSchema.safeParse(options);
  if (!parsed.success) throw new ValidationError('KalshiRestClient options', parsed.error.issues);
  const o = parsed.data;
  const url = new URL(o.baseUrl);
  const basePath = url.pathname.replace(/\/+$/, '');

  const rateLimit: RateLimitSpec = o.rateLimit ?? (o.credentials ? 'basic' : UNAUTHENTICATED_LIMIT);
  if (rateLimit !== 'unlimited') {
    const { capacity } = typeof rateLimit === 'string' ? RATE_LIMIT_TIERS[rateLimit] : rateLimit;
    if (o.requestCost > capacity) {
      throw new OptionsError(`requestCost ${o.requestCost} exceeds the rate-limit bucket capacity ${capacity}: no request could ever be sent.`);
    }
  }

  const policy: RetryPolicy = Object.freeze({
    ...DEFAULT_RETRY_POLICY,
    maxRetries: o.maxRetries,
    backoff: Object.freeze({ baseMs: o.backoff.baseMs, maxMs: Math.max(o.backoff.baseMs, o.backoff.maxMs) }),
    retryAfter: Object.freeze({ ...DEFAULT_RETRY_POLICY.retryAfter, maxMs: o.maxRetryAfterMs }),
  });

  return {
    origin: url.origin,
    basePath,
    baseUrl: redactUrl(`${url.origin}${basePath}`),
    credentials: o.credentials,
    rateLimit,
    requestCost: o.requestCost,
    timeoutMs: o.timeoutMs,
    connections: o.connections,
    maxResponseBytes: o.maxResponseBytes,
    userAgent: o.userAgent,
    logger: o.logger ?? silentLogger,
    clock: o.clock ?? systemClock,
    random: o.random ?? Math.random,
    policy,
    onRequest: o.onRequest,
  };
}
