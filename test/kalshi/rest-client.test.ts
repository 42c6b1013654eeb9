import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants, generateKeyPairSync, verify } from 'node:crypto';
import { gzipSync, deflateSync } from 'node:zlib';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import {
  ClientClosedError,
  HttpError,
  KalshiRestClient,
  NetworkError,
  PaginationLoopError,
  ResponseDecodeError,
  ResponseParseError,
  ResponseTooLargeError,
  TimeoutError,
  encodeQuery,
  parseRetryAfter,
  type KalshiRestClientOptions,
} from '../../src/kalshi/rest-client.js';
import { KALSHI_HOSTS } from '../../src/kalshi/hosts.js';
import { OptionsError, ValidationError } from '../../src/errors.js';
import { TestClock, flush } from './rest-test-clock.js';
import type { Logger } from '../../src/log.js';
import { closeHttpServers } from '../fixtures/http-servers.js';

// ---------------------------------------------------------------------------------------------
// A tiny HTTP server per test, on 127.0.0.1 only.

interface Seen {
  url: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
}

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

const servers: Server[] = [];
const clients: KalshiRestClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await closeHttpServers(servers);
});

async function serve(handler: Handler): Promise<{ base: string; seen: Seen[]; port: number }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    seen.push({ url: req.url ?? '', path: u.pathname, query: u.searchParams, headers: req.headers });
    handler(req, res, seen.length);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { base: `http://127.0.0.1:${port}/trade-api/v2`, seen, port };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

/**
 * A client on simulated time: every wait it takes (backoff, 404 window, rate limiter) is on a
 * TestClock that jumps to the next timer whenever the client is idle, so the default backoff
 * (250 ms … 15 s) costs no real time. Pass `clock` for a clock the test drives by hand.
 */
function client(base: string, extra: Partial<KalshiRestClientOptions> = {}): KalshiRestClient {
  const c = new KalshiRestClient({
    baseUrl: base,
    rateLimit: 'unlimited',
    maxRetries: 3,
    timeoutMs: 2_000,
    clock: new TestClock({ auto: true }),
    ...extra,
  });
  clients.push(c);
  return c;
}

const market = (ticker: string): Record<string, unknown> => ({ ticker, event_ticker: 'EV', status: 'active' });

// ---------------------------------------------------------------------------------------------

describe('KalshiRestClient: pagination', () => {
  it('follows the cursor across pages until it is empty, with limit 1000 by default', async () => {
    const pages: Record<string, { markets: unknown[]; cursor?: string | null }> = {
      '': { markets: [market('A'), market('B')], cursor: 'c1' },
      c1: { markets: [market('C')], cursor: 'c2' },
      c2: { markets: [market('D')], cursor: '' },
    };
    const { base, seen } = await serve((req, res) => {
      const q = new URL(req.url ?? '', 'http://x').searchParams;
      json(res, 200, pages[q.get('cursor') ?? ''] ?? { markets: [], cursor: '' });
    });
    const c = client(base);
    const tickers: string[] = [];
    let bytes = 0;
    for await (const page of c.marketPages({ status: 'open', mveFilter: 'exclude' })) {
      for (const r of page.records) tickers.push((r as { ticker: string }).ticker);
      bytes += page.bytes;
    }
    expect(tickers).toEqual(['A', 'B', 'C', 'D']);
    expect(seen.map((s) => s.path)).toEqual(['/trade-api/v2/markets', '/trade-api/v2/markets', '/trade-api/v2/markets']);
    expect(seen.map((s) => s.query.get('cursor'))).toEqual([null, 'c1', 'c2']);
    for (const s of seen) {
      expect(s.query.get('limit')).toBe('1000');
      expect(s.query.get('status')).toBe('open');
      expect(s.query.get('mve_filter')).toBe('exclude');
    }
    expect(bytes).toBeGreaterThan(0);
    expect(c.stats().requests).toBe(3);
  });

  it('treats a null or absent cursor as the end', async () => {
    let n = 0;
    const { base } = await serve((_req, res) => {
      n++;
      json(res, 200, n === 1 ? { markets: [market('A')], cursor: 'x' } : { markets: [market('B')] });
    });
    const pages = [];
    for await (const p of client(base).marketPages()) pages.push(p);
    expect(pages.map((p) => p.cursor)).toEqual(['x', null]);

    const { base: base2 } = await serve((_req, res) => json(res, 200, { markets: [], cursor: null }));
    const only = await client(base2).getMarketsPage({ limit: 5 });
    expect(only).toMatchObject({ records: [], cursor: null });
  });

  it('throws PaginationLoopError when the server repeats a cursor', async () => {
    const next: Record<string, string> = { '': 'c1', c1: 'c2', c2: 'c1' };
    const { base, seen } = await serve((req, res) => {
      const cur = new URL(req.url ?? '', 'http://x').searchParams.get('cursor') ?? '';
      json(res, 200, { markets: [market(cur || 'first')], cursor: next[cur] });
    });
    const got: unknown[] = [];
    const run = async (): Promise<void> => {
      for await (const p of client(base).marketPages()) got.push(...p.records);
    };
    const err = await run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaginationLoopError);
    expect(err).toMatchObject({ endpoint: '/markets', cursor: 'c1', pageIndex: 2 });
    expect(got).toHaveLength(2); // the looping page is not yielded
    expect(seen).toHaveLength(3);
  });

  it('pages events with limit 200 and rejects limit > 200', async () => {
    const { base, seen } = await serve((req, res) => {
      const cur = new URL(req.url ?? '', 'http://x').searchParams.get('cursor');
      json(res, 200, cur ? { events: [{ event_ticker: 'E2' }], cursor: '' } : { events: [{ event_ticker: 'E1' }], cursor: 'n' });
    });
    const c = client(base);
    const evs: unknown[] = [];
    for await (const p of c.eventPages({ withNestedMarkets: true, status: 'open' })) evs.push(...p.records);
    expect(evs).toHaveLength(2);
    expect(seen[0]?.path).toBe('/trade-api/v2/events');
    expect(seen[0]?.query.get('limit')).toBe('200');
    expect(seen[0]?.query.get('with_nested_markets')).toBe('true');
    await expect(c.getEventsPage({ limit: 201 })).rejects.toBeInstanceOf(ValidationError);
    expect(seen).toHaveLength(2);
  });

  it('encodes queries: tickers comma-joined, cursor escaped, unknown keys rejected', async () => {
    const { base, seen } = await serve((_req, res) => json(res, 200, { markets: [], cursor: '' }));
    const c = client(base);
    await c.getMarketsPage({ tickers: ['KX-A', 'FED-23DEC-T3.00'], cursor: 'ab+/=c', seriesTicker: 'KXS', minUpdatedTs: 1700000000 });
    const url = seen[0]?.url ?? '';
    expect(url).toContain('tickers=KX-A,FED-23DEC-T3.00');
    expect(url).toContain('cursor=ab%2B%2F%3Dc');
    expect(seen[0]?.query.get('cursor')).toBe('ab+/=c');
    expect(seen[0]?.query.get('series_ticker')).toBe('KXS');
    expect(seen[0]?.query.get('min_updated_ts')).toBe('1700000000');
    await expect(c.getMarketsPage({ tickers: ['A,B'] })).rejects.toBeInstanceOf(ValidationError);
    await expect(c.getMarketsPage({ limit: 0 })).rejects.toBeInstanceOf(ValidationError);
    await expect(c.getMarketsPage({ bogus: 1 } as never)).rejects.toBeInstanceOf(ValidationError);
    expect(
      encodeQuery([
        ['a', undefined],
        ['b', []],
        ['c', true],
      ]),
    ).toBe('?c=true');
  });
});

describe('KalshiRestClient: retries', () => {
  it('runs many concurrent calls without listener-leak warnings', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const { base } = await serve((_req, res) => setTimeout(() => json(res, 200, { market: market('X') }), 5));
      const c = client(base, { connections: 4 });
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => c.getMarket(`T-${i}`)));
      expect(results).toHaveLength(40);
      await delay(10);
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('retries a 429 burst and then succeeds', async () => {
    const { base, seen } = await serve((_req, res, n) => {
      if (n <= 3) json(res, 429, { error: 'too many requests' });
      else json(res, 200, { markets: [market('A')], cursor: '' });
    });
    const c = client(base, { maxRetries: 5 });
    const page = await c.getMarketsPage();
    expect(page.records).toHaveLength(1);
    expect(seen).toHaveLength(4);
    expect(c.stats()).toMatchObject({ requests: 4, retries: 3, rateLimited: 3, serverErrors: 0 });
  });

  it('retries 5xx and then succeeds, logging every retry with attempt and delay', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) }) as unknown as Logger;
    const { base } = await serve((_req, res, n) => {
      if (n === 1) json(res, 502, '<html>bad gateway</html>');
      else if (n === 2) json(res, 500, { error: 'internal' });
      else json(res, 200, { markets: [], cursor: '' });
    });
    const c = client(base, { logger });
    await c.getMarketsPage();
    expect(c.stats()).toMatchObject({ requests: 3, retries: 2, serverErrors: 2 });
    const retries = lines.filter((l) => typeof l.msg === 'string' && l.msg.includes('retrying'));
    expect(retries.map((l) => [l.attempt, l.status])).toEqual([
      [1, 502],
      [2, 500],
    ]);
    for (const l of retries) expect(typeof l.delayMs).toBe('number');
  });

  it('gives up after maxRetries with an HttpError carrying status, method, url and a body excerpt', async () => {
    const { base, seen } = await serve((_req, res) => json(res, 429, { error: 'too many requests' }));
    const c = client(base, { maxRetries: 2 });
    const err = await c.getMarketsPage({ status: 'open' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    const h = err as HttpError;
    expect(h).toMatchObject({ code: 'E_HTTP_STATUS', status: 429, method: 'GET', attempts: 3 });
    expect(h.url).toBe(`${base}/markets?status=open`);
    expect(h.bodyExcerpt).toContain('too many requests');
    expect(h.message).toMatch(/rate/i);
    expect(seen).toHaveLength(3);
  });

  it('never retries other 4xx', async () => {
    const { base, seen } = await serve((_req, res) => json(res, 400, { error: { code: 'bad_request' } }));
    const c = client(base);
    await expect(c.getMarketsPage()).rejects.toMatchObject({ name: 'HttpError', status: 400, attempts: 1 });
    expect(seen).toHaveLength(1);
    expect(c.stats().retries).toBe(0);
  });

  it('honours Retry-After in seconds and as an HTTP-date', async () => {
    const clock = new TestClock({ auto: true });
    const { base } = await serve((_req, res, n) => {
      if (n === 1) json(res, 503, { error: 'busy' }, { 'retry-after': '2' });
      else if (n === 2) json(res, 429, { error: 'slow down' }, { 'retry-after': new Date(Date.now() + 3_000).toUTCString() });
      else json(res, 200, { markets: [], cursor: '' });
    });
    const c = client(base, { clock, backoff: { baseMs: 1, maxMs: 1 } });
    await c.getMarketsPage();
    expect(clock.delays).toHaveLength(2);
    expect(clock.delays[0]).toBe(2_000);
    expect(clock.delays[1]).toBeGreaterThan(1_000);
    expect(clock.delays[1]).toBeLessThanOrEqual(3_000);
    expect(parseRetryAfter('1.5')).toBe(1500);
    expect(parseRetryAfter('garbage')).toBeUndefined();
    expect(parseRetryAfter(new Date(0).toUTCString(), 5_000)).toBe(0);
  });

  it('uses exponential backoff with full jitter capped at maxMs', async () => {
    const clock = new TestClock({ auto: true });
    const { base } = await serve((_req, res, n) => (n <= 4 ? json(res, 500, {}) : json(res, 200, { markets: [], cursor: '' })));
    const c = client(base, { clock, maxRetries: 4, backoff: { baseMs: 100, maxMs: 300 }, random: () => 1 });
    await c.getMarketsPage();
    expect(clock.delays).toEqual([100, 200, 300, 300]);
    expect(clock.now()).toBe(900); // simulated: the test did not wait 0.9 s
  });

  it('waits the default backoff (250 ms doubling, full jitter) on simulated time', async () => {
    const clock = new TestClock({ auto: true });
    const { base } = await serve((_req, res, n) => (n <= 5 ? json(res, 503, {}) : json(res, 200, { markets: [], cursor: '' })));
    const c = client(base, { clock, maxRetries: 5, random: () => 0.5 });
    const t0 = performance.now();
    await c.getMarketsPage();
    expect(clock.delays).toEqual([125, 250, 500, 1_000, 2_000]);
    expect(clock.now()).toBe(3_875);
    expect(performance.now() - t0).toBeLessThan(2_000);
  });

  it('times out a request whose headers never come, retries, then throws TimeoutError', async () => {
    const { base, seen } = await serve(() => {
      /* never answer */
    });
    const c = client(base, { timeoutMs: 50, maxRetries: 1 });
    const err = await c.getMarketsPage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ code: 'E_TIMEOUT', timeoutMs: 50, attempts: 2 });
    expect(seen).toHaveLength(2);
    expect(c.stats().timeouts).toBe(2);
  });

  it('times out a body that stalls after the headers', async () => {
    const { base } = await serve((_req, res, n) => {
      if (n === 1) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"markets": [');
      } else json(res, 200, { markets: [market('A')], cursor: '' });
    });
    const c = client(base, { timeoutMs: 100 });
    const page = await c.getMarketsPage();
    expect(page.records).toHaveLength(1);
    expect(c.stats()).toMatchObject({ timeouts: 1, retries: 1 });
  });

  it('retries a reset connection and then succeeds', async () => {
    const { base } = await serve((req, res, n) => {
      if (n === 1) req.socket.destroy();
      else json(res, 200, { markets: [], cursor: '' });
    });
    const c = client(base);
    await c.getMarketsPage();
    expect(c.stats()).toMatchObject({ networkErrors: 1, retries: 1 });
  });

  it('reports ECONNREFUSED as a NetworkError that says what is wrong, with no CLI flag in it', async () => {
    const { port } = await serve(() => {});
    await new Promise<void>((resolve) => servers.pop()?.close(() => resolve()));
    const c = client(`http://127.0.0.1:${port}/trade-api/v2`, { maxRetries: 1 });
    const err = await c.getMarketsPage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(err).toMatchObject({ code: 'E_NETWORK', causeCode: 'ECONNREFUSED', attempts: 2 });
    expect((err as Error).message).toContain('Nothing is listening at that address');
    expect((err as Error).message).not.toMatch(/--[a-z]/);
  });
});

describe('KalshiRestClient: abort', () => {
  it('aborts during a backoff sleep promptly, with no further attempts', async () => {
    const ctrl = new AbortController();
    const { base, seen } = await serve((_req, res) => json(res, 503, { error: 'down' }));
    // A clock that never moves: only the abort can end the 10 s backoff wait.
    const clock = new TestClock();
    const c = client(base, { clock, backoff: { baseMs: 10_000, maxMs: 10_000 }, random: () => 1, maxRetries: 5 });
    const p = c.getMarketsPage({}, ctrl.signal);
    p.catch(() => {});
    while (clock.pendingTimers === 0) await flush();
    expect(clock.delays).toEqual([10_000]);
    ctrl.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(clock.pendingTimers).toBe(0); // the backoff timer was cleared
    await clock.advance(20_000);
    expect(seen).toHaveLength(1);
  }, 5_000);

  it('aborts while waiting for a rate-limit token', async () => {
    const { base, seen } = await serve((_req, res) => json(res, 200, { markets: [], cursor: '' }));
    const c = client(base, { clock: new TestClock(), rateLimit: { refillPerSec: 0.001, capacity: 10 } });
    await c.getMarketsPage(); // drains the bucket
    const ctrl = new AbortController();
    const p = c.getMarketsPage({}, ctrl.signal);
    const reason = new Error('user cancelled');
    setImmediate(() => ctrl.abort(reason));
    await expect(p).rejects.toBe(reason);
    expect(seen).toHaveLength(1);
  }, 5_000);

  it('aborts an in-flight request', async () => {
    const ctrl = new AbortController();
    const { base } = await serve(() => setImmediate(() => ctrl.abort()));
    const c = client(base, { timeoutMs: 10_000 });
    await expect(c.getMarketsPage({}, ctrl.signal)).rejects.toMatchObject({ name: 'AbortError' });
    expect(c.stats().retries).toBe(0);
  }, 5_000);

  it('close() cancels calls waiting for tokens with ClientClosedError', async () => {
    const { base } = await serve((_req, res) => json(res, 200, { markets: [], cursor: '' }));
    const c = new KalshiRestClient({ baseUrl: base, rateLimit: { refillPerSec: 0.001, capacity: 10 } });
    await c.getMarketsPage();
    const p = c.getMarketsPage();
    setImmediate(() => void c.close());
    await expect(p).rejects.toBeInstanceOf(ClientClosedError);
    await expect(p).rejects.toMatchObject({ code: 'E_CLIENT_CLOSED' });
    await c.close();
  }, 5_000);
});

describe('KalshiRestClient: bodies', () => {
  it('asks for gzip and decodes gzip and deflate responses', async () => {
    const payload = { markets: Array.from({ length: 200 }, (_, i) => market(`KX-${i}`)), cursor: '' };
    const { base, seen } = await serve((req, res, n) => {
      const raw = Buffer.from(JSON.stringify(payload));
      const enc = n === 1 ? 'gzip' : 'deflate';
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': enc });
      res.end(enc === 'gzip' ? gzipSync(raw) : deflateSync(raw));
      expect(req.headers['accept-encoding']).toContain('gzip');
    });
    const c = client(base);
    const a = await c.getMarketsPage();
    const b = await c.getMarketsPage();
    expect(a.records).toHaveLength(200);
    expect(b.records).toHaveLength(200);
    expect(a.bytes).toBeLessThan(a.decodedBytes);
    const s = c.stats();
    expect(s.bytesReceived).toBeLessThan(s.bytesDecoded);
    expect(seen[0]?.headers['accept-encoding']).toMatch(/gzip/);
  });

  it('throws ResponseParseError (E_NOT_JSON) on a non-JSON 200 (no retry) and ResponseDecodeError (E_BAD_ENCODING) on broken gzip', async () => {
    const { base, seen } = await serve((_req, res, n) => {
      if (n === 1) json(res, 200, '<html>not json</html>');
      else {
        res.writeHead(200, { 'content-encoding': 'gzip' });
        res.end('definitely not gzip');
      }
    });
    const c = client(base);
    const err = await c.getMarketsPage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResponseParseError);
    expect((err as ResponseParseError).bodyExcerpt).toContain('not json');
    expect(err).toMatchObject({ code: 'E_NOT_JSON', status: 200 });
    expect(seen).toHaveLength(1);
    const bad = await c.getMarketsPage().catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ResponseParseError);
    expect(bad).toBeInstanceOf(ResponseDecodeError);
    expect(bad).toMatchObject({ code: 'E_BAD_ENCODING' });
  });

  it("refuses bodies larger than maxResponseBytes on the wire (undici's maxResponseSize)", async () => {
    const { base, seen } = await serve((_req, res) => json(res, 200, { markets: Array.from({ length: 50 }, (_, i) => market(`T${i}`)), cursor: '' }));
    const c = client(base, { maxResponseBytes: 100 });
    const err = await c.getMarketsPage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResponseParseError);
    expect(err).toBeInstanceOf(ResponseTooLargeError);
    expect(err).toMatchObject({ code: 'E_RESPONSE_TOO_LARGE', limitBytes: 100, status: 200 });
    expect((err as Error).message).toContain('larger than 100 bytes');
    expect(((err as Error).cause as { code?: string }).code).toBe('UND_ERR_RES_EXCEEDED_MAX_SIZE');
    expect(seen).toHaveLength(1); // not retried
    expect(c.stats().bytesReceived).toBeLessThanOrEqual(100);
  });

  it('refuses a small gzip body that decompresses past maxResponseBytes', async () => {
    const raw = Buffer.from(JSON.stringify({ markets: Array.from({ length: 500 }, (_, i) => market(`T${i}`)), cursor: '' }));
    const { base } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync(raw));
    });
    const limit = 4_000;
    expect(gzipSync(raw).length).toBeLessThan(limit);
    const err = await client(base, { maxResponseBytes: limit })
      .getMarketsPage()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResponseTooLargeError);
    expect(err).toMatchObject({ code: 'E_RESPONSE_TOO_LARGE', limitBytes: limit });
  });

  it('throws ValidationError when the envelope has no markets array', async () => {
    const { base } = await serve((_req, res) => json(res, 200, { cursor: '' }));
    const err = await client(base)
      .getMarketsPage()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ code: 'E_VALIDATION', source: 'GET /markets page' });
  });

  it('returns records raw so the caller can quarantine bad ones', async () => {
    const { base } = await serve((_req, res) => json(res, 200, { markets: [market('A'), { nonsense: true }, 42], cursor: '' }));
    const page = await client(base).getMarketsPage();
    expect(page.records).toEqual([market('A'), { nonsense: true }, 42]);
  });
});

describe('KalshiRestClient: getMarket', () => {
  it('returns the record, or null on 404 without retrying', async () => {
    const { base, seen } = await serve((req, res) => {
      if (req.url?.endsWith('/FED-23DEC-T3.00')) json(res, 200, { market: market('FED-23DEC-T3.00') });
      else json(res, 404, { error: { code: 'not_found' } });
    });
    const c = client(base);
    expect(await c.getMarket('FED-23DEC-T3.00')).toEqual(market('FED-23DEC-T3.00'));
    expect(await c.getMarket('NOPE')).toBeNull();
    expect(seen.map((s) => s.path)).toEqual(['/trade-api/v2/markets/FED-23DEC-T3.00', '/trade-api/v2/markets/NOPE']);
  });

  it('retries 404 within retryNotFoundMs (Kalshi 404s just after a created event)', async () => {
    const { base, seen } = await serve((_req, res, n) => (n <= 2 ? json(res, 404, { error: 'not found' }) : json(res, 200, { market: market('NEW') })));
    const clock = new TestClock({ auto: true });
    const c = client(base, { clock, random: () => 0 });
    expect(await c.getMarket('NEW', { retryNotFoundMs: 5_000 })).toEqual(market('NEW'));
    expect(seen).toHaveLength(3);
    expect(c.stats().notFoundRetries).toBe(2);
    expect(clock.delays).toEqual([250, 250]); // at least backoff.baseMs apart
  });

  it('gives up with null once the 404 window has passed', async () => {
    const clock = new TestClock({ auto: true });
    const { base, seen } = await serve((_req, res) => json(res, 404, {}));
    const c = client(base, { clock, backoff: { baseMs: 100, maxMs: 1_000 } });
    expect(await c.getMarket('GONE', { retryNotFoundMs: 1_000 })).toBeNull();
    expect(seen.length).toBeGreaterThan(1);
    // The last wait is cut to what is left of the window, which then ends exactly.
    expect(clock.now()).toBe(1_000);
    expect(clock.delays.reduce((a, b) => a + b, 0)).toBe(1_000);
  });
});

describe('KalshiRestClient: exchange status', () => {
  const maintenance = { exchange_active: false, trading_active: false, exchange_estimated_resume_time: '2026-09-03T09:00:00Z' };

  it('returns a 503 with a status body as a value, without retrying', async () => {
    const { base, seen } = await serve((_req, res) => json(res, 503, maintenance));
    const c = client(base);
    expect(await c.getExchangeStatus()).toEqual({ httpStatus: 503, body: maintenance });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.path).toBe('/trade-api/v2/exchange/status');
  });

  it('returns 200 bodies, retries a 503 without a status body, and ends with body null', async () => {
    const { base, seen } = await serve((_req, res, n) => {
      if (n === 1) json(res, 200, { exchange_active: true, trading_active: true });
      else json(res, 503, '<html>maintenance</html>');
    });
    const c = client(base, { maxRetries: 2 });
    expect(await c.getExchangeStatus()).toEqual({ httpStatus: 200, body: { exchange_active: true, trading_active: true } });
    expect(await c.getExchangeStatus()).toEqual({ httpStatus: 503, body: null });
    expect(seen).toHaveLength(4);
  });

  it('rejects an invalid 200 body with ValidationError', async () => {
    const { base } = await serve((_req, res) => json(res, 200, { exchange_active: 'yes' }));
    await expect(client(base).getExchangeStatus()).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('KalshiRestClient: signing and options', () => {
  it('signs every request over timestamp + GET + /trade-api/v2/markets (no query)', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const { base, seen } = await serve((_req, res) => json(res, 200, { markets: [], cursor: '' }));
    const c = client(base, { credentials: { keyId: 'key-123', privateKey }, rateLimit: 'basic' });
    await c.getMarketsPage({ limit: 5, status: 'open' });
    const h = seen[0]?.headers ?? {};
    expect(h['kalshi-access-key']).toBe('key-123');
    const ts = String(h['kalshi-access-timestamp']);
    expect(ts).toMatch(/^\d{13}$/);
    const sig = Buffer.from(String(h['kalshi-access-signature']), 'base64');
    const ok = verify(
      'sha256',
      Buffer.from(`${ts}GET/trade-api/v2/markets`),
      { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
      sig,
    );
    expect(ok).toBe(true);
    expect(h['user-agent']).toMatch(/kalshi-market-registry/);
  });

  it('sends no auth headers without credentials', async () => {
    const { base, seen } = await serve((_req, res) => json(res, 200, { markets: [], cursor: '' }));
    await client(base).getMarketsPage();
    expect(seen[0]?.headers['kalshi-access-key']).toBeUndefined();
    expect(seen[0]?.headers['kalshi-access-signature']).toBeUndefined();
  });

  it('validates options', () => {
    expect(() => new KalshiRestClient({ baseUrl: 'ftp://x' })).toThrow(ValidationError);
    expect(() => new KalshiRestClient({ baseUrl: 'not a url' })).toThrow(ValidationError);
    expect(() => new KalshiRestClient({ baseUrl: KALSHI_HOSTS.prod.rest, maxRetries: -1 })).toThrow(ValidationError);
    expect(() => new KalshiRestClient({ baseUrl: KALSHI_HOSTS.prod.rest, rateLimit: 'gold' as never })).toThrow(ValidationError);
    expect(() => new KalshiRestClient({ baseUrl: KALSHI_HOSTS.prod.rest, rateLimit: { refillPerSec: 1, capacity: 5 } })).toThrow(OptionsError);
    expect(() => new KalshiRestClient({ baseUrl: KALSHI_HOSTS.prod.rest, clock: { now: () => 0 } as never })).toThrow(/expected a Clock/);
    const c = new KalshiRestClient({ baseUrl: `${KALSHI_HOSTS.demo.rest}/` });
    clients.push(c);
    expect(c.baseUrl).toBe('https://external-api.demo.kalshi.co/trade-api/v2');
  });
});

describe('peekCursor (pagination peeks at the cursor before parsing)', () => {
  it('reads a cursor that is the first or the last top-level key, and nothing else', async () => {
    const { peekCursor, trailingCursor } = await import('../../src/kalshi/rest-client.js');
    // Cursor last.
    expect(peekCursor('{"markets":[{"ticker":"A"}],"cursor":"CgwI-x_9="}')).toBe('CgwI-x_9=');
    expect(peekCursor('{"markets":[],"cursor" : "abc" }\n')).toBe('abc');
    // Cursor first: real Kalshi pages (alphabetical keys), compact or pretty-printed, BOM or not.
    expect(peekCursor('{"cursor":"abc","markets":[]}')).toBe('abc');
    expect(peekCursor('{\n  "cursor": "CgYI8PuC-AYSC1NFTkFURUlOLTI4",\n  "events": [')).toBe('CgYI8PuC-AYSC1NFTkFURUlOLTI4');
    expect(peekCursor('\uFEFF{\n    "cursor":  "x1",\n    "events":  [')).toBe('x1');
    expect(peekCursor('{"cursor":"only"}')).toBe('only');
    // No cursor, an empty one (last page) or a null one: the caller just parses.
    expect(peekCursor('{"markets":[],"cursor":""}')).toBeNull();
    expect(peekCursor('{"cursor":"","markets":[]}')).toBeNull();
    expect(peekCursor('{"cursor":null,"markets":[]}')).toBeNull();
    expect(peekCursor('{"markets":[]}')).toBeNull();
    expect(peekCursor('')).toBeNull();
    // A cursor with escapes is not decoded here: null, never a wrong value.
    expect(peekCursor('{"cursor":"ab\\u003d","markets":[]}')).toBeNull();
    // A "cursor" key inside a record is never the page's cursor, wherever the record stands.
    expect(peekCursor('{"markets":[{"cursor":"inner"}],"x":1}')).toBeNull();
    expect(peekCursor('{"markets":[{"cursor":"inner","ticker":"A"}]}')).toBeNull();
    expect(peekCursor('{"markets":[{"ticker":"A","cursor":"inner"}]}')).toBeNull();
    expect(peekCursor('{"markets":[{"ticker":"A","meta":{"cursor":"inner"}}]}')).toBeNull();
    expect(peekCursor('{"markets":[{"cursor":"inner"}],"cursor":"outer"}')).toBe('outer');
    expect(peekCursor('{"cursor":"outer","markets":[{"cursor":"inner"}]}')).toBe('outer');
    expect(peekCursor('[{"cursor":"inner"}]')).toBeNull();
    expect(peekCursor('{"markets":[{"title":"say \\"cursor\\":\\"no\\"}"}]}')).toBeNull();
    // The old name still works.
    expect(trailingCursor).toBe(peekCursor);
  });

  it('on the real cursor-first GET /markets page, the next page is requested before this one is parsed', async () => {
    const { readFileSync } = await import('node:fs');
    const path = await import('node:path');
    const { requireRealDataDir } = await import('../fixtures/real-kalshi.js');
    const page1 = readFileSync(path.join(requireRealDataDir(), 'rest/markets/borat14011-wom.all_markets.json'), 'utf8');
    const realCursor = (JSON.parse(page1) as { cursor: string }).cursor;
    expect(page1.startsWith(`{"cursor":"${realCursor}","markets":[`)).toBe(true);
    const { peekCursor } = await import('../../src/kalshi/rest-client.js');
    expect(peekCursor(page1)).toBe(realCursor);

    const { base, seen } = await serve((req, res) => {
      const cursor = new URL(req.url ?? '', 'http://x').searchParams.get('cursor');
      json(res, 200, cursor === null ? page1 : '{"cursor":"","markets":[]}');
    });
    const run = async (prefetch: boolean): Promise<string[]> => {
      const order: string[] = [];
      const parse = JSON.parse;
      JSON.parse = ((text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
        if (typeof text === 'string' && text.length === page1.length && text === page1) order.push('parse page 1');
        return parse(text, reviver) as unknown;
      }) as typeof JSON.parse;
      let n = 0;
      try {
        const records: number[] = [];
        for await (const p of client(base).marketPages({}, undefined, { prefetch, stamp: () => (order.push(`request ${++n}`), n) }))
          records.push(p.records.length);
        expect(records).toEqual([200, 0]);
      } finally {
        JSON.parse = parse;
      }
      return order;
    };
    expect(await run(true)).toEqual(['request 1', 'request 2', 'parse page 1']);
    expect(seen.map((s) => s.query.get('cursor'))).toEqual([null, realCursor]);
    // Without the peek the second request waits for the parse.
    expect(await run(false)).toEqual(['request 1', 'parse page 1', 'request 2']);
  });

  it('the prefetched request reaches the exchange while this page is still being parsed', async () => {
    // The exchange runs in its own process, so it notes when request 2 arrives whatever this
    // process is doing; page 1's parse is made to take 400 ms. Stamping a request (the test
    // above) is not sending it: before the fix, request 2 left only after the parse.
    const { spawn } = await import('node:child_process');
    const exchange = `
      const http = require('node:http');
      const arrivals = [];
      const page1 = JSON.stringify({ cursor: 'page2', markets: [{ ticker: 'A' }] });
      const server = http.createServer((req, res) => {
        const u = new URL(req.url, 'http://x');
        if (u.pathname === '/arrivals') return res.end(JSON.stringify(arrivals));
        arrivals.push({ cursor: u.searchParams.get('cursor'), at: Date.now() });
        res.setHeader('content-type', 'application/json');
        res.end(u.searchParams.get('cursor') === null ? page1 : '{"cursor":"","markets":[]}');
      });
      server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
    `;
    const child = spawn(process.execPath, ['-e', exchange], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
        child.once('exit', (code) => reject(new Error(`exchange exited ${code}`)));
      });
      const base = `http://127.0.0.1:${port}/trade-api/v2`;
      const parse = JSON.parse;
      let parsedAt = 0;
      JSON.parse = ((text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
        if (typeof text === 'string' && text.includes('"cursor":"page2"')) {
          const until = Date.now() + 400;
          while (Date.now() < until); // a page that takes 400 ms to parse
          parsedAt = Date.now();
        }
        return parse(text, reviver) as unknown;
      }) as typeof JSON.parse;
      try {
        const records: number[] = [];
        for await (const page of client(base).marketPages({})) records.push(page.records.length);
        expect(records).toEqual([1, 0]);
      } finally {
        JSON.parse = parse;
      }
      const arrivals = (await (await fetch(`http://127.0.0.1:${port}/arrivals`)).json()) as { cursor: string | null; at: number }[];
      expect(arrivals.map((a) => a.cursor)).toEqual([null, 'page2']);
      expect(parsedAt).toBeGreaterThan(0);
      // Arrived during the 400 ms parse, not after it.
      expect(arrivals[1]?.at).toBeLessThan(parsedAt - 100);
    } finally {
      child.kill();
    }
  });
});
