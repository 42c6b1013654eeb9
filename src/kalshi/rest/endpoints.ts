/**
 * The endpoints the registry reads (shared/kalshi-api.md §2–§4): a page of markets, events or
 * multivariate events (envelope validated, records left raw for per-record quarantine by the
 * caller), one market by ticker (with the 404-retry window), and the exchange status.
 */
import type { z } from 'zod';
import { OptionsError, ValidationError } from '../../errors.js';
import { backoffDelay } from '../../util/backoff.js';
import {
  EventsPageEnvelopeSchema,
  KalshiExchangeStatusSchema,
  MarketsPageEnvelopeSchema,
  SingleMarketResponseSchema,
  type KalshiExchangeStatus,
} from '../schemas.js';
import type { RawPage } from './pagination.js';
import {
  TickerSchema,
  eventsQuery,
  marketsQuery,
  multivariateEventsQuery,
  type EventsQuery,
  type MarketsQuery,
  type MultivariateEventsQuery,
} from './query.js';
import { pause, sendRequest, type RestContext } from './request.js';

type OnBody = ((text: string) => boolean) | undefined;

export async function marketsPage(ctx: RestContext, query: MarketsQuery, signal?: AbortSignal, onBody?: OnBody): Promise<RawPage> {
  return page(ctx, '/markets', marketsQuery.encode(query), marketsEnvelope, signal, onBody);
}

export async function eventsPage(ctx: RestContext, query: EventsQuery, signal?: AbortSignal, onBody?: OnBody): Promise<RawPage> {
  return page(ctx, '/events', eventsQuery.encode(query), eventsEnvelope, signal, onBody);
}

export async function multivariateEventsPage(ctx: RestContext, query: MultivariateEventsQuery, signal?: AbortSignal, onBody?: OnBody): Promise<RawPage> {
  return page(ctx, '/events/multivariate', multivariateEventsQuery.encode(query), eventsEnvelope, signal, onBody);
}

type Envelope = { records: unknown[]; cursor?: string | null | undefined } | z.ZodError;

function marketsEnvelope(json: unknown): Envelope {
  const env = MarketsPageEnvelopeSchema.safeParse(json);
  return env.success ? { records: env.data.markets, cursor: env.data.cursor } : env.error;
}

function eventsEnvelope(json: unknown): Envelope {
  const env = EventsPageEnvelopeSchema.safeParse(json);
  return env.success ? { records: env.data.events, cursor: env.data.cursor } : env.error;
}

/** One page of a paginated endpoint: the envelope validated, the records left raw. */
async function page(
  ctx: RestContext,
  path: string,
  query: string,
  envelope: (json: unknown) => Envelope,
  signal: AbortSignal | undefined,
  onBody: OnBody,
): Promise<RawPage> {
  const res = await sendRequest(ctx, { path, query, ...(onBody ? { onBody } : {}) }, signal);
  const env = envelope(res.json);
  if (!('records' in env)) throw new ValidationError(`GET ${path} page`, env.issues);
  return { records: env.records, cursor: env.cursor || null, bytes: res.wireBytes, decodedBytes: res.decodedBytes };
}

export interface GetMarketOptions {
  /**
   * Keep retrying a 404 (with backoff) for up to this many ms: Kalshi may answer 404 just after a
   * WS `created` event (§3.1). Default 0 (a 404 returns null at once).
   */
  readonly retryNotFoundMs?: number;
}

/**
 * GET /markets/{ticker} → the raw `market` record, or null on 404. With `retryNotFoundMs`, a 404
 * is retried with backoff (at least `backoff.baseMs` apart) until that window, measured on the
 * client's clock, has passed.
 */
export async function getMarket(ctx: RestContext, ticker: string, options: GetMarketOptions, signal: AbortSignal | undefined): Promise<unknown> {
  const t = TickerSchema.safeParse(ticker);
  if (!t.success) throw new ValidationError('getMarket ticker', t.error.issues);
  const windowMs = options.retryNotFoundMs ?? 0;
  if (!(Number.isFinite(windowMs) && windowMs >= 0)) throw new OptionsError(`retryNotFoundMs must be a non-negative number, got ${windowMs}`);
  const path = `/markets/${encodeURIComponent(ticker)}`;
  const { backoff } = ctx.policy;
  const started = ctx.clock.now();
  for (let notFound = 0; ;) {
    const res = await sendRequest(ctx, { path, passStatuses: [404] }, signal);
    if (res.status === 404) {
      const remaining = windowMs - (ctx.clock.now() - started);
      if (remaining <= 0) return null;
      notFound++;
      const delay = Math.min(remaining, Math.max(backoff.baseMs, backoffDelay(notFound, backoff, ctx.random)));
      ctx.stats.notFoundRetries++;
      ctx.logger.debug({ ticker, attempt: notFound, delayMs: Math.round(delay), remainingMs: Math.round(remaining) }, 'Kalshi market not found yet; retrying');
      await pause(ctx, delay, signal);
      continue;
    }
    const env = SingleMarketResponseSchema.safeParse(res.json);
    if (!env.success || env.data.market === undefined || env.data.market === null) {
      throw new ValidationError(
        `GET /markets/${ticker} response`,
        env.success ? [{ code: 'custom', path: ['market'], message: 'missing market', input: res.json }] : env.error.issues,
      );
    }
    return env.data.market;
  }
}

export interface ExchangeStatusResult {
  readonly httpStatus: number;
  /**
   * The parsed status. Also returned for a 500/503/504 that carries a valid status body (maintenance
   * is a state). `null` when the server still answered 500/503/504 without a status body after all
   * retries: "possibly down".
   */
  readonly body: KalshiExchangeStatus | null;
}

const MAINTENANCE_STATUSES: readonly number[] = [500, 503, 504];

/**
 * GET /exchange/status. A 500/503/504 carrying a valid status body is returned as a value without
 * retry (maintenance is a state, not a failure); other 5xx are retried, and if the last attempt
 * is still 500/503/504 the result is `{ httpStatus, body: null }`.
 */
export async function getExchangeStatus(ctx: RestContext, signal: AbortSignal | undefined): Promise<ExchangeStatusResult> {
  const res = await sendRequest(
    ctx,
    {
      path: '/exchange/status',
      acceptServerError: (status, json) => MAINTENANCE_STATUSES.includes(status) && KalshiExchangeStatusSchema.safeParse(json).success,
      returnExhausted: MAINTENANCE_STATUSES,
    },
    signal,
  );
  const parsed = KalshiExchangeStatusSchema.safeParse(res.json);
  if (res.status >= 200 && res.status < 300) {
    if (!parsed.success) throw new ValidationError('GET /exchange/status response', parsed.error.issues);
    return { httpStatus: res.status, body: parsed.data };
  }
  return { httpStatus: res.status, body: parsed.success ? parsed.data : null };
}
