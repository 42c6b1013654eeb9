/**
 * `KalshiRestClient`: discovery of markets/events and exchange status over `/trade-api/v2`
 * (shared/kalshi-api.md §2–§5, §9, §10). It only wires the modules of this folder together:
 *
 *   options.ts       options, defaults, consistency checks
 *   query.ts         one zod schema + wire-name map per endpoint → validator, encoder and TS type
 *   retry-policy.ts  which statuses/errors retry, Retry-After, attempts: data + pure functions
 *   transport.ts     one attempt: signing, the undici Pool, timeout, body size limit, decoding
 *   decode.ts        Content-Encoding and the body's text
 *   request.ts       the retry loop: rate-limit tokens, attempt, policy verdict, backoff
 *   pagination.ts    cursor loop, repeated-cursor guard, prefetch with the cursor peek
 *   endpoints.ts     markets, market by ticker (404 retry), events, multivariate events, status
 *   stats.ts         the counters, and what a per-request listener is told
 *
 * AbortSignals are honoured while waiting for tokens, during the request and during backoff:
 * the call rejects promptly with `signal.reason` (an `AbortError` DOMException by default).
 * `close()` cancels every queued or in-flight call with `ClientClosedError`.
 */
import { setMaxListeners } from 'node:events';
import { ClientClosedError } from '../http-errors.js';
import { createRateLimiter } from '../rate-limiter.js';
import {
  eventsPage,
  getExchangeStatus,
  getMarket,
  marketsPage,
  multivariateEventsPage,
  type ExchangeStatusResult,
  type GetMarketOptions,
} from './endpoints.js';
import { resolveOptions, type KalshiRestClientOptions } from './options.js';
import { paginate, type PageOptions, type RawPage } from './pagination.js';
import type { EventsQuery, MarketsQuery, MultivariateEventsQuery } from './query.js';
import type { RestContext } from './request.js';
import type { RetryPolicy } from './retry-policy.js';
import { createStats, type KalshiRestStats, type RestRequestListener, type RestRequestObservation } from './stats.js';
import { Transport } from './transport.js';

export class KalshiRestClient {
  /** The base URL without credentials or trailing slash. */
  readonly baseUrl: string;
  /** The retry policy in force (frozen). */
  readonly retryPolicy: RetryPolicy;
  readonly #ctx: RestContext;
  readonly #closed = new AbortController();
  readonly #stats: KalshiRestStats = createStats();
  readonly #listeners = new Set<RestRequestListener>();
  /** Listeners that threw once (logged once each, then isolated silently). */
  readonly #failedListeners = new WeakSet<RestRequestListener>();
  #closePromise: Promise<void> | null = null;

  constructor(options: KalshiRestClientOptions) {
    const o = resolveOptions(options);
    this.baseUrl = o.baseUrl;
    this.retryPolicy = o.policy;
    // Every in-flight call listens on the close signal; many concurrent calls are normal.
    setMaxListeners(0, this.#closed.signal);
    if (o.onRequest) this.#listeners.add(o.onRequest);
    const logger = o.logger;
    const observe = (observation: RestRequestObservation): void => {
      for (const listener of this.#listeners) {
        try {
          listener(observation);
        } catch (err) {
          // A listener's bug must not fail the request it watches.
          if (this.#failedListeners.has(listener)) continue;
          this.#failedListeners.add(listener);
          logger.warn({ err }, 'a REST onRequest listener threw (isolated; further throws of it are not logged)');
        }
      }
    };
    this.#ctx = {
      origin: o.origin,
      basePath: o.basePath,
      transport: new Transport({
        origin: o.origin,
        connections: o.connections,
        timeoutMs: o.timeoutMs,
        maxResponseBytes: o.maxResponseBytes,
        userAgent: o.userAgent,
        credentials: o.credentials,
        policy: o.policy,
        stats: this.#stats,
      }),
      limiter: createRateLimiter(o.rateLimit, o.clock),
      requestCost: o.requestCost,
      timeoutMs: o.timeoutMs,
      policy: o.policy,
      clock: o.clock,
      random: o.random,
      logger: o.logger,
      stats: this.#stats,
      closed: this.#closed.signal,
      observe: () => (this.#listeners.size === 0 ? null : observe),
    };
  }

  /**
   * Calls `listener` once per HTTP attempt (retries included), after the attempt ended, with its
   * templated endpoint, status or failure, and duration: what a latency histogram or a 429 counter
   * needs. Synchronous and on the request path: keep it cheap. A listener that throws is isolated.
   * Returns the function that removes it.
   */
  onRequest(listener: RestRequestListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** A snapshot of the counters. */
  stats(): KalshiRestStats {
    return { ...this.#stats };
  }

  // ---- markets ------------------------------------------------------------------------------

  /** One GET /markets page; the envelope is validated, the records are returned raw. */
  getMarketsPage(query: MarketsQuery = {}, signal?: AbortSignal): Promise<RawPage> {
    return marketsPage(this.#ctx, query, signal);
  }

  /**
   * Every GET /markets page for `query` (limit default 1000), following the cursor until it is
   * empty/null/absent. Throws PaginationLoopError if a cursor comes back twice.
   */
  marketPages(query: MarketsQuery = {}, signal?: AbortSignal, options: PageOptions = {}): AsyncGenerator<RawPage, void, undefined> {
    const limit = query.limit ?? 1000;
    return paginate('/markets', query.cursor, (cursor, onBody) => marketsPage(this.#ctx, { ...query, limit, cursor }, signal, onBody), options);
  }

  /**
   * GET /markets/{ticker} → the raw `market` record, or null on 404. With `retryNotFoundMs`, a 404
   * is retried with backoff until that window has passed.
   */
  getMarket(ticker: string, options: GetMarketOptions = {}, signal?: AbortSignal): Promise<unknown> {
    return getMarket(this.#ctx, ticker, options, signal);
  }

  // ---- events -------------------------------------------------------------------------------

  /** One GET /events page (limit ≤ 200); records raw. */
  getEventsPage(query: EventsQuery = {}, signal?: AbortSignal): Promise<RawPage> {
    return eventsPage(this.#ctx, query, signal);
  }

  /** Every GET /events page (limit default 200), with the same cursor-loop guard as marketPages. */
  eventPages(query: EventsQuery = {}, signal?: AbortSignal, options: PageOptions = {}): AsyncGenerator<RawPage, void, undefined> {
    const limit = query.limit ?? 200;
    return paginate('/events', query.cursor, (cursor, onBody) => eventsPage(this.#ctx, { ...query, limit, cursor }, signal, onBody), options);
  }

  /**
   * Every GET /events/multivariate page (combo events, which GET /events leaves out; limit
   * default 200, Kalshi's maximum), with the same cursor-loop guard.
   */
  multivariateEventPages(query: MultivariateEventsQuery = {}, signal?: AbortSignal, options: PageOptions = {}): AsyncGenerator<RawPage, void, undefined> {
    const limit = query.limit ?? 200;
    return paginate(
      '/events/multivariate',
      query.cursor,
      (cursor, onBody) => multivariateEventsPage(this.#ctx, { ...query, limit, cursor }, signal, onBody),
      options,
    );
  }

  // ---- exchange status ----------------------------------------------------------------------

  /**
   * GET /exchange/status. A 500/503/504 carrying a valid status body is returned as a value without
   * retry (maintenance is a state, not a failure); other 5xx are retried, and if the last attempt
   * is still 500/503/504 the result is `{ httpStatus, body: null }`.
   */
  getExchangeStatus(signal?: AbortSignal): Promise<ExchangeStatusResult> {
    return getExchangeStatus(this.#ctx, signal);
  }

  /** Cancels queued/in-flight calls (they reject with ClientClosedError) and closes the pool. */
  close(): Promise<void> {
    if (!this.#closePromise) {
      this.#closed.abort(new ClientClosedError());
      this.#closePromise = this.#ctx.transport.close();
    }
    return this.#closePromise;
  }
}
