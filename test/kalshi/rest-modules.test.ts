/**
 * The REST client's modules on their own: query codecs, the retry policy (data + verdicts), error
 * classification, error codes and messages, and the one Clock (xstate's SimulatedClock drives
 * the client as is).
 */
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SimulatedClock } from 'xstate';
import { ERROR_CODES, OptionsError, RegistryError, ValidationError, hasErrorCode } from '../../src/errors.js';
import type { EventStatusFilter, MarketStatusFilter, MveFilter } from '../../src/domain/vocabulary.js';
import {
  ClientClosedError,
  DEFAULT_RETRY_POLICY,
  HttpError,
  KalshiRestClient,
  NetworkError,
  PaginationLoopError,
  ResponseDecodeError,
  ResponseParseError,
  ResponseTooLargeError,
  TimeoutError,
  classifyError,
  retryDelay,
  statusIn,
  type MarketsQuery,
  type EventsQuery,
} from '../../src/kalshi/rest-client.js';
import { eventsQuery, marketsQuery, multivariateEventsQuery } from '../../src/kalshi/rest/query.js';
import { backoffDelay } from '../../src/util/backoff.js';
import { sleep, systemClock, type Clock } from '../../src/util/clock.js';
import { flush } from './rest-test-clock.js';

describe('query codecs (one zod schema + wire-name map per endpoint)', () => {
  it('encodes every field under its wire name, in map order, leaving out what is absent or empty', () => {
    expect(
      marketsQuery.encode({
        limit: 1000,
        cursor: '',
        status: 'open',
        tickers: ['A', 'B.C'],
        eventTicker: 'EV',
        seriesTicker: 'SER',
        mveFilter: 'exclude',
        minCreatedTs: 1,
        maxCreatedTs: 2,
        minCloseTs: 3,
        maxCloseTs: 4,
        minSettledTs: 5,
        maxSettledTs: 6,
        minUpdatedTs: 7,
      }),
    ).toBe(
      '?limit=1000&status=open&tickers=A,B.C&event_ticker=EV&series_ticker=SER&min_updated_ts=7&mve_filter=exclude&min_created_ts=1&max_created_ts=2&min_close_ts=3&max_close_ts=4&min_settled_ts=5&max_settled_ts=6',
    );
    expect(marketsQuery.encode({})).toBe('');
    expect(eventsQuery.encode({ withNestedMarkets: false, tickers: [], status: 'settled', minCloseTs: 9 })).toBe(
      '?status=settled&with_nested_markets=false&min_close_ts=9',
    );
    expect(multivariateEventsQuery.encode({ collectionTicker: 'KXMVE', cursor: 'c/1' })).toBe('?cursor=c%2F1&collection_ticker=KXMVE');
  });

  it('validates with the same schema, naming the endpoint', () => {
    expect(() => marketsQuery.encode({ status: 'active' as never })).toThrow(ValidationError);
    expect(() => marketsQuery.encode({ limit: 1001 })).toThrow(/GET \/markets query failed validation: limit/);
    expect(() => eventsQuery.encode({ status: 'paused' as never })).toThrow(/GET \/events query/);
    expect(() => multivariateEventsQuery.encode({ seriesTicker: 'S', collectionTicker: 'C' })).toThrow(/collectionTicker cannot be combined with seriesTicker/);
    expect(() => marketsQuery.encode({ eventTicker: 'A,B' })).toThrow(/cannot contain a comma/);
  });

  it('derives the TypeScript types from the schemas (and the filter words from the vocabulary)', () => {
    expectTypeOf<NonNullable<MarketsQuery['status']>>().toEqualTypeOf<MarketStatusFilter>();
    expectTypeOf<NonNullable<MarketsQuery['mveFilter']>>().toEqualTypeOf<MveFilter>();
    expectTypeOf<NonNullable<EventsQuery['status']>>().toEqualTypeOf<EventStatusFilter>();
    expectTypeOf<MarketsQuery['tickers']>().toEqualTypeOf<readonly string[] | undefined>();
  });
});

describe('retry policy (data)', () => {
  const random = (): number => 0.5;

  it('retries 429 and 5xx except 501/505, never other 4xx, up to maxRetries', () => {
    const p = DEFAULT_RETRY_POLICY;
    for (const status of [429, 500, 502, 503, 504, 520, 599]) expect(statusIn(p.retryStatuses, status), String(status)).toBe(true);
    for (const status of [400, 401, 403, 404, 409, 501, 505]) expect(statusIn(p.retryStatuses, status), String(status)).toBe(false);
    expect(retryDelay(p, { kind: 'status', status: 404 }, 1, random)).toBeNull();
    expect(retryDelay(p, { kind: 'status', status: 503 }, p.maxRetries, random)).not.toBeNull();
    expect(retryDelay(p, { kind: 'status', status: 503 }, p.maxRetries + 1, random)).toBeNull();
    expect(retryDelay(p, { kind: 'timeout' }, p.maxRetries + 1, random)).toBeNull();
    expect(Object.isFrozen(p) && Object.isFrozen(p.backoff) && Object.isFrozen(p.retryStatuses)).toBe(true);
  });

  it('waits the shared full-jitter backoff (util/backoff), or Retry-After capped at retryAfter.maxMs', () => {
    const p = DEFAULT_RETRY_POLICY;
    for (let attempt = 1; attempt <= p.maxRetries; attempt++) {
      expect(retryDelay(p, { kind: 'network', code: 'ECONNRESET' }, attempt, random)?.delayMs).toBe(backoffDelay(attempt, p.backoff, random));
    }
    expect(retryDelay(p, { kind: 'status', status: 429, retryAfter: '3' }, 1, random)).toEqual({ delayMs: 3_000, retryAfter: true });
    expect(retryDelay(p, { kind: 'status', status: 503, retryAfter: '3600' }, 1, random)).toEqual({ delayMs: p.retryAfter.maxMs, retryAfter: true });
    const wall = Date.parse('2026-01-01T00:00:00Z');
    expect(retryDelay(p, { kind: 'status', status: 503, retryAfter: 'Thu, 01 Jan 2026 00:00:02 GMT' }, 1, random, wall)).toEqual({
      delayMs: 2_000,
      retryAfter: true,
    });
    expect(retryDelay({ ...p, retryAfter: { honour: false, maxMs: 0 } }, { kind: 'status', status: 429, retryAfter: '3' }, 1, random)).toEqual({
      delayMs: 125,
      retryAfter: false,
    });
  });

  it('classifies thrown errors by code (or a cause code) into timeouts, connection failures, or neither', () => {
    const p = DEFAULT_RETRY_POLICY;
    const withCode = (code: string): Error => Object.assign(new Error(code), { code });
    expect(classifyError(p, withCode('UND_ERR_HEADERS_TIMEOUT'))).toEqual({ kind: 'timeout' });
    expect(classifyError(p, withCode('ECONNREFUSED'))).toEqual({ kind: 'network', code: 'ECONNREFUSED' });
    expect(classifyError(p, new Error('fetch failed', { cause: withCode('UND_ERR_SOCKET') }))).toEqual({ kind: 'network', code: 'UND_ERR_SOCKET' });
    expect(classifyError(p, withCode('ERR_TLS_CERT_ALTNAME_INVALID'))).toEqual({ kind: 'network', code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(classifyError(p, new Error('socket hang up'))).toEqual({ kind: 'network', code: 'ECONNRESET' });
    expect(classifyError(p, withCode('UND_ERR_INVALID_ARG'))).toBeNull();
    expect(classifyError(p, new TypeError('bug'))).toBeNull();
  });

  it('is what the client runs with, built from its options', () => {
    const c = new KalshiRestClient({ baseUrl: 'http://127.0.0.1:1/trade-api/v2', maxRetries: 2, backoff: { baseMs: 10, maxMs: 5 }, maxRetryAfterMs: 7 });
    expect(c.retryPolicy).toMatchObject({
      maxRetries: 2,
      backoff: { baseMs: 10, maxMs: 10 },
      retryAfter: { honour: true, maxMs: 7 },
      retryStatuses: DEFAULT_RETRY_POLICY.retryStatuses,
    });
    void c.close();
  });
});

describe('errors: a stable code each, messages without CLI flags', () => {
  const errors: RegistryError[] = [
    new HttpError('GET', 'http://h/x', 3, 429, '{"error":"slow"}'),
    new HttpError('GET', 'http://h/x', 1, 401, ''),
    new HttpError('GET', 'http://h/x', 1, 404, ''),
    new HttpError('GET', 'http://h/x', 1, 400, ''),
    new HttpError('GET', 'http://h/x', 1, 418, ''),
    new NetworkError('GET', 'http://h/x', 2, 'ECONNREFUSED', null),
    new NetworkError('GET', 'http://h/x', 2, 'ENOTFOUND', null),
    new NetworkError('GET', 'http://h/x', 2, 'UND_ERR_CONNECT_TIMEOUT', null),
    new NetworkError('GET', 'http://h/x', 2, 'ERR_TLS_CERT_ALTNAME_INVALID', null),
    new NetworkError('GET', 'http://h/x', 2, 'EWHATEVER', null),
    new TimeoutError('GET', 'http://h/x', 6, 30_000),
    new ResponseParseError('GET', 'http://h/x', 1, 200, '<html>', 'Unexpected token <'),
    new ResponseDecodeError('GET', 'http://h/x', 1, 200, 'incorrect header check'),
    new ResponseTooLargeError('GET', 'http://h/x', 1, 200, 100),
    new PaginationLoopError('/markets', 'c1', 2),
    new ClientClosedError(),
    new ValidationError('GET /markets page', []),
    new OptionsError('requestCost 11 exceeds the rate-limit bucket capacity 10'),
  ];

  it('has one documented code per class', () => {
    expect(errors.map((e) => [e.name, e.code])).toEqual([
      ['HttpError', 'E_HTTP_STATUS'],
      ['HttpError', 'E_HTTP_STATUS'],
      ['HttpError', 'E_HTTP_STATUS'],
      ['HttpError', 'E_HTTP_STATUS'],
      ['HttpError', 'E_HTTP_STATUS'],
      ['NetworkError', 'E_NETWORK'],
      ['NetworkError', 'E_NETWORK'],
      ['NetworkError', 'E_NETWORK'],
      ['NetworkError', 'E_NETWORK'],
      ['NetworkError', 'E_NETWORK'],
      ['TimeoutError', 'E_TIMEOUT'],
      ['ResponseParseError', 'E_NOT_JSON'],
      ['ResponseDecodeError', 'E_BAD_ENCODING'],
      ['ResponseTooLargeError', 'E_RESPONSE_TOO_LARGE'],
      ['PaginationLoopError', 'E_PAGINATION_LOOP'],
      ['ClientClosedError', 'E_CLIENT_CLOSED'],
      ['ValidationError', 'E_VALIDATION'],
      ['OptionsError', 'E_OPTIONS'],
    ]);
    for (const e of errors) {
      expect(ERROR_CODES).toContain(e.code);
      expect(hasErrorCode(e, e.code)).toBe(true);
      expect(e).toBeInstanceOf(RegistryError);
    }
    expect(new RegistryError('x').code).toBe('E_REGISTRY');
    expect(hasErrorCode(new Error('x'), 'E_REGISTRY')).toBe(false);
  });

  it('says what is wrong, and names no command-line flag', () => {
    for (const e of errors) {
      expect(e.message.length, e.name).toBeGreaterThan(20);
      expect(e.message, e.message).not.toMatch(/(^|\s)--[a-z]/);
      expect(e.message, e.message).not.toMatch(/shared\/kalshi-api|KALSHI_[A-Z_]+/);
    }
    expect(errors[0]?.message).toBe('GET http://h/x failed with HTTP 429 after 3 attempts: {"error":"slow"}. Kalshi rate-limited every attempt.');
    expect(errors[5]?.message).toBe('GET http://h/x failed: network error ECONNREFUSED after 2 attempts. Nothing is listening at that address.');
  });
});

describe('one clock', () => {
  it("xstate's SimulatedClock is a Clock; sleep() runs on it and an abort clears its timer", async () => {
    const sim = new SimulatedClock();
    const clock: Clock = sim;
    let done = false;
    const p = sleep(clock, 1_000).then(() => (done = true));
    sim.increment(999);
    await flush();
    expect(done).toBe(false);
    sim.increment(1);
    await p;
    expect(done).toBe(true);

    const ctrl = new AbortController();
    const q = sleep(clock, 1_000, ctrl.signal);
    ctrl.abort(new Error('stop'));
    await expect(q).rejects.toThrow('stop');
    expect((sim as unknown as { timeouts: Map<unknown, unknown> }).timeouts.size).toBe(0);
    await expect(sleep(systemClock, 1, AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
  });

  describe('the REST client on a SimulatedClock', () => {
    let server: Server | undefined;
    afterEach(async () => {
      server?.closeAllConnections();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      server = undefined;
    });

    it("waits its backoff and its 404 window on the clock's time only", async () => {
      let n = 0;
      server = createServer((_req, res) => {
        n++;
        res.writeHead(n <= 2 ? 503 : n <= 4 ? 404 : 200, { 'content-type': 'application/json' });
        res.end(n <= 4 ? '{}' : JSON.stringify({ market: { ticker: 'NEW' } }));
      });
      await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trade-api/v2`;
      const clock = new SimulatedClock();
      const c = new KalshiRestClient({ baseUrl: base, rateLimit: 'unlimited', clock, random: () => 1, backoff: { baseMs: 1_000, maxMs: 60_000 } });
      try {
        const p = c.getMarket('NEW', { retryNotFoundMs: 60_000 });
        const expected = [1_000, 2_000, 1_000, 2_000]; // two 503 backoffs, then two 404 waits
        for (const ms of expected) {
          while ((clock as unknown as { timeouts: Map<unknown, unknown> }).timeouts.size === 0) await flush();
          clock.increment(ms - 1);
          await flush();
          expect((clock as unknown as { timeouts: Map<unknown, unknown> }).timeouts.size).toBe(1); // not yet
          clock.increment(1);
        }
        expect(await p).toEqual({ ticker: 'NEW' });
        expect(clock.now()).toBe(6_000);
        expect(c.stats()).toMatchObject({ requests: 5, retries: 2, notFoundRetries: 2 });
      } finally {
        await c.close();
      }
    });
  });
});
