/**
 * The figures that need a hook on the data path: the REST client's per-attempt listener
 * (`onRequest`: endpoint template, status, duration, retry) and what it feeds, the REST latency
 * histogram with its 429s; the lifecycle lag from the frames' `sending_ts_ms`. Over real sockets
 * on 127.0.0.1: a tiny HTTP server for the client, the simulator and /metrics for the registry.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KalshiRestClient, type RestRequestObservation } from '../../src/kalshi/rest-client.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { ChangeStream } from '../../src/registry/change-stream.js';
import { RegistryCore } from '../../src/registry/core.js';
import { LifecycleHandler } from '../../src/registry/lifecycle-handler.js';
import { MarketStore } from '../../src/store/market-store.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireRealDataDir } from '../fixtures/real-kalshi.js';
import { serveMetrics, type MetricsServer } from '../../src/metrics/index.js';
import { firstTickerWithStatus, startHarness, waitUntil, type Harness } from '../integration/helpers.js';
import { TestClock } from '../kalshi/rest-test-clock.js';
import { closeHttpServers } from '../fixtures/http-servers.js';

const P = 'kalshi_registry_';
const H = `${P}rest_request_duration_seconds`;

const servers: Server[] = [];
const clients: KalshiRestClient[] = [];
let h: Harness | undefined;
let metricsServer: MetricsServer | undefined;
afterEach(async () => {
  await metricsServer?.close();
  metricsServer = undefined;
  await h?.close();
  h = undefined;
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await closeHttpServers(servers);
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<{ base: string; hits: () => number }> {
  let n = 0;
  const server = createServer((req, res) => handler(req, res, ++n));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/trade-api/v2`, hits: () => n };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function client(base: string, extra: Partial<ConstructorParameters<typeof KalshiRestClient>[0]> = {}): KalshiRestClient {
  // Simulated time: the retry backoff costs no real time.
  const c = new KalshiRestClient({ baseUrl: base, rateLimit: 'unlimited', maxRetries: 3, timeoutMs: 5_000, clock: new TestClock({ auto: true }), ...extra });
  clients.push(c);
  return c;
}

describe('KalshiRestClient onRequest', () => {
  it('reports every attempt once: templated endpoint (never the ticker), status, retry, duration; removable', async () => {
    const { base, hits } = await serve((req, res, n) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path.endsWith('/markets') && n <= 2) return reply(res, 429, { error: 'slow down' });
      if (path.endsWith('/markets')) return reply(res, 200, { markets: [], cursor: '' });
      if (path.includes('/markets/')) return reply(res, 404, { error: 'not found' });
      if (path.endsWith('/exchange/status')) return reply(res, 503, { error: 'down' });
      return reply(res, 500, {});
    });
    const fromOption: RestRequestObservation[] = [];
    const c = client(base, { onRequest: (o) => fromOption.push(o), maxRetries: 2 });
    const seen: RestRequestObservation[] = [];
    const off = c.onRequest((o) => seen.push(o));

    await c.getMarketsPage({});
    expect(await c.getMarket('KXHIGHNY-26NOV24-T52')).toBeNull();
    const status = await c.getExchangeStatus();
    expect(status.body).toBeNull();

    expect(seen.map(({ endpoint, status: s, attempt, retry }) => ({ endpoint, status: s, attempt, retry }))).toEqual([
      { endpoint: '/markets', status: 429, attempt: 1, retry: false },
      { endpoint: '/markets', status: 429, attempt: 2, retry: true },
      { endpoint: '/markets', status: 200, attempt: 3, retry: true },
      { endpoint: '/markets/{ticker}', status: 404, attempt: 1, retry: false },
      { endpoint: '/exchange/status', status: 503, attempt: 1, retry: false },
      { endpoint: '/exchange/status', status: 503, attempt: 2, retry: true },
      { endpoint: '/exchange/status', status: 503, attempt: 3, retry: true },
    ]);
    expect(seen).toHaveLength(hits());
    expect(seen).toHaveLength(c.stats().requests);
    for (const o of seen) {
      expect(o.method).toBe('GET');
      expect(o.durationMs).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(o.durationMs)).toBe(true);
    }
    expect(fromOption).toEqual(seen);

    off();
    await c.getMarketsPage({});
    expect(seen).toHaveLength(7);
    expect(fromOption).toHaveLength(8);
  });

  it('reports attempts that get no response (network), and a throwing listener fails nothing and is logged once', async () => {
    const { base } = await serve((_req, res) => reply(res, 200, { markets: [], cursor: '' }));
    const warnings: unknown[] = [];
    const logger = { warn: (...args: unknown[]) => warnings.push(args), debug: () => {}, info: () => {}, error: () => {} } as unknown as Logger;
    const c = client(base, { logger });
    c.onRequest(() => {
      throw new Error('listener bug');
    });
    const seen: RestRequestObservation[] = [];
    c.onRequest((o) => seen.push(o));
    await c.getMarketsPage({});
    await c.getMarketsPage({});
    expect(seen.map((o) => o.status)).toEqual([200, 200]); // the second listener still ran
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0])).toContain('onRequest listener threw');

    // Nothing listening on port 9: connection refused on every attempt.
    const refused = client('http://127.0.0.1:9/trade-api/v2', { maxRetries: 1 });
    const failures: RestRequestObservation[] = [];
    refused.onRequest((o) => failures.push(o));
    await expect(refused.getMarketsPage({})).rejects.toMatchObject({ code: 'E_NETWORK' });
    expect(failures.map((o) => [o.endpoint, o.status, o.attempt])).toEqual([
      ['/markets', 'network', 1],
      ['/markets', 'network', 2],
    ]);
  });
});

describe('LifecycleHandler lastSendingTsMs', () => {
  const handler = () => {
    const core = new RegistryCore({ store: new MarketStore(), changes: new ChangeStream(1000), now: () => 1_700_000_000_000_000, logger: silentLogger });
    return new LifecycleHandler({ core, logger: silentLogger });
  };

  it("keeps the last valid frame's sending_ts_ms, on the fast path and through zod; frames without one or invalid ones leave it", () => {
    // Kalshi's documented example frames carry sending_ts_ms (the recorded real ones do not).
    const docs = readFileSync(join(requireRealDataDir(), 'ws', 'docs-example-frames.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => (JSON.parse(l) as { frame: { sending_ts_ms?: number } }).frame)
      .filter((f) => typeof f.sending_ts_ms === 'number');
    expect(docs.length).toBeGreaterThan(0);
    const hd = handler();
    expect(hd.stats.lastSendingTsMs).toBeNull();
    for (const f of docs) {
      void hd.handleFrame(JSON.stringify(f));
      expect(hd.stats.lastSendingTsMs).toBe(f.sending_ts_ms);
    }

    const hf = handler();
    const lifecycle = { type: 'market_lifecycle_v2', sid: 1, msg: { market_ticker: 'KXA-1', event_type: 'deactivated', is_deactivated: true } };
    void hf.handleFrame(JSON.stringify({ ...lifecycle, seq: 1, sending_ts_ms: 1_000 })); // fast path
    expect(hf.stats.lastSendingTsMs).toBe(1_000);
    void hf.handleFrame(JSON.stringify({ ...lifecycle, seq: 2 })); // none: left as it was
    expect(hf.stats.lastSendingTsMs).toBe(1_000);
    const event = { type: 'event_lifecycle', sid: 1, seq: 3, sending_ts_ms: 2_000, msg: { event_ticker: 'KXA', title: 'A', series_ticker: 'KX' } };
    void hf.handleFrame(JSON.stringify(event)); // zod route
    expect(hf.stats.lastSendingTsMs).toBe(2_000);
    void hf.handleFrame(JSON.stringify({ ...lifecycle, seq: 4, sending_ts_ms: 'soon' })); // invalid: quarantined, not recorded
    void hf.handleFrame('{"type":"market_lifecycle_v2","sending_ts_ms":9000,');
    expect(hf.stats.invalid).toBe(2);
    expect(hf.stats.lastSendingTsMs).toBe(2_000);
  });
});

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}` }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** `name{labels}` → value, from a scrape of /metrics over HTTP. */
async function scrape(server: MetricsServer): Promise<Map<string, number>> {
  const r = await get(server.port, '/metrics');
  expect(r.status).toBe(200);
  const out = new Map<string, number>();
  for (const line of r.body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`unparsable exposition line: ${line}`);
    out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

/** Sum of every sample of `name` whose labels contain each of `parts`. */
function sum(s: Map<string, number>, name: string, ...parts: string[]): number {
  let total = 0;
  for (const [key, value] of s) if (key.startsWith(`${name}{`) && parts.every((p) => key.includes(p))) total += value;
  return total;
}

describe('/metrics during a simulator run: REST latency, 429s, lifecycle lag', () => {
  it('histogram counts every attempt of the registry (429s included) by endpoint template; the lag is now minus the last sending_ts_ms', async () => {
    h = await startHarness({ markets: 400 }, { statusIntervalMs: 50, unknownTickerRetryMs: 2_000 });
    metricsServer = await serveMetrics(h.registry, { port: 0 });
    h.registry.start();
    await h.registry.synced;
    await waitUntil('lifecycle subscriptions', () => h!.registry.stats().lifecycle.subscriptions === 2);

    let s = await scrape(metricsServer);
    expect(sum(s, `${H}_count`, 'endpoint="/markets"', 'outcome="2xx"')).toBeGreaterThanOrEqual(h.registry.summary.getSnapshot().context.sync.pages);
    expect(sum(s, `${H}_count`, 'endpoint="/exchange/status"')).toBeGreaterThanOrEqual(1);
    expect(sum(s, `${H}_bucket`, 'le="+Inf"')).toBe(sum(s, `${H}_count`));

    // No lifecycle frame yet in this run: no lag, not a made-up 0.
    expect(h.registry.stats().lifecycle.lastSendingTsMs).toBeNull();
    expect(s.has(`${P}lifecycle_lag_seconds`)).toBe(false);

    // A lifecycle frame: the simulator stamps sending_ts_ms as Kalshi does, the handler keeps it.
    const before = Date.now();
    const t = firstTickerWithStatus(h.sim, 'active');
    h.sim.deactivate(t);
    await waitUntil('deactivated', () => h!.registry.getMarket(t)?.marketStatus === 'inactive');
    const sent = h.registry.stats().lifecycle.lastSendingTsMs;
    expect(sent).not.toBeNull();
    expect(sent).toBeGreaterThanOrEqual(before);
    expect(sent).toBeLessThanOrEqual(Date.now());
    s = await scrape(metricsServer);
    const after = Date.now();
    const lag = s.get(`${P}lifecycle_lag_seconds`);
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThanOrEqual((after - (sent as number)) / 1000);

    // 429s from the exchange: in the histogram (outcome 429) as in the counter.
    h.sim.rest429(3);
    await waitUntil('rate limited', () => (h!.registry.stats().rest?.rateLimited ?? 0) >= 3);
    // A market the registry does not know (its created frame lost), named by an unsequenced frame:
    // fetched by GET /markets/{ticker}, labelled by the template, never by the ticker.
    h.sim.skipSeq(2); // its event_lifecycle and market_lifecycle_v2 frames
    const ticker = h.sim.createMarket().ticker as string;
    h.sim.sendRaw(JSON.stringify({ type: 'market_lifecycle_v2', sid: 1, msg: { market_ticker: ticker, event_type: 'activated', is_deactivated: false } }));
    await waitUntil('unknown market fetched', () => h!.registry.getMarket(ticker) !== undefined && h!.registry.stats().counters.unknownTickerEvents >= 1);

    // Stopped, the client sends nothing more: every attempt it made is in the histogram, once.
    await h.registry.stop();
    s = await scrape(metricsServer);
    const rest = h.registry.stats().rest!;
    expect(sum(s, `${H}_count`, 'outcome="429"')).toBe(rest.rateLimited);
    expect(s.get(`${P}rest_rate_limited_total`)).toBe(rest.rateLimited);
    expect(sum(s, `${H}_count`)).toBe(rest.requests);
    expect(s.get(`${P}rest_requests_total`)).toBe(rest.requests);
    const endpoints = new Set([...s.keys()].filter((k) => k.startsWith(`${H}_count{`)).map((k) => /endpoint="([^"]*)"/.exec(k)?.[1]));
    expect([...endpoints].sort()).toEqual(expect.arrayContaining(['/exchange/status', '/markets', '/markets/{ticker}']));
    for (const e of endpoints) expect(e).toMatch(/^(\/[a-z_]+|\/\{[a-z_]+\})+$/);
  });
});
