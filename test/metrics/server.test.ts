/**
 * serveMetrics over real sockets on 127.0.0.1, with a registry running on the simulator:
 * /metrics figures equal stats() and move with the exchange, /healthz and /readyz through sync,
 * degradation and stop, a taken port, a foreign Host.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MARKET_STATUSES } from '../../src/domain/types.js';
import { OptionsError } from '../../src/errors.js';
import { MetricsServerError, serveMetrics, type MetricsServer } from '../../src/metrics/index.js';
import { firstTickerWithStatus, startHarness, waitUntil, type Harness } from '../integration/helpers.js';

const P = 'kalshi_registry_';
const CHANNELS = 2; // market_lifecycle_v2 + multivariate_market_lifecycle
const nowS = () => Math.floor(Date.now() / 1000);

interface Reply {
  status: number;
  type: string | undefined;
  body: string;
}

/** A GET (or `method`) to 127.0.0.1:port with an explicit Host header. */
function get(port: number, path: string, { host = `127.0.0.1:${port}`, method = 'GET' }: { host?: string; method?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`unparsable exposition line: ${line}`);
    out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

async function scrape(server: MetricsServer): Promise<Map<string, number>> {
  const r = await get(server.port, '/metrics');
  expect(r.status).toBe(200);
  expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(r.body);
}

async function json(server: MetricsServer, path: '/healthz' | '/readyz'): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await get(server.port, path);
  expect(r.type).toMatch(/^application\/json/);
  return { status: r.status, body: JSON.parse(r.body) as Record<string, unknown> };
}

let h: Harness | undefined;
let server: MetricsServer | undefined;
let blocker: Server | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  await h?.close();
  h = undefined;
  await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
  blocker = undefined;
});

describe('serveMetrics on a live registry', () => {
  it('serves live figures: markets per status equal stats(), changes grow with the exchange, phase, sync, traffic', async () => {
    h = await startHarness({ markets: 400 }, { statusIntervalMs: 50 });
    server = await serveMetrics(h.registry, { port: 0 });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    h.registry.start();
    await h.registry.synced;
    await waitUntil('lifecycle subscription', () => h!.registry.stats().lifecycle.subscriptions === CHANNELS);
    await waitUntil('healthy', () => h!.registry.summary.getSnapshot().context.phase === 'running.healthy');
    await waitUntil('exchange status', () => h!.registry.getExchangeStatus() !== null);

    const stats = h.registry.stats(); // before the scrape: its counters can only have grown since
    let s = await scrape(server);
    for (const status of MARKET_STATUSES) expect(s.get(`${P}markets{status="${status}"}`), status).toBe(stats.statusCounts[status]);
    const created = h.changes.filter((c) => c.eventType === 'created').length;
    expect(created).toBe(stats.markets);
    expect(s.get(`${P}changes_total{event_type="created"}`)).toBe(created);
    expect(s.get(`${P}phase{phase="running.healthy"}`)).toBe(1);
    expect(s.get(`${P}phase{phase="syncing"}`)).toBe(0);
    expect(s.get(`${P}problems`)).toBe(0);
    expect(s.get(`${P}sync_state{state="done"}`)).toBe(1);
    expect(s.get(`${P}sync_markets`)).toBe(h.registry.summary.getSnapshot().context.sync.markets);
    expect(s.get(`${P}sync_pages`)).toBeGreaterThanOrEqual(1);
    expect(s.get(`${P}ws_connects_total`)).toBe(1);
    expect(s.get(`${P}ws_reconnects_total`)).toBe(0);
    expect(s.get(`${P}lifecycle_subscriptions_total`)).toBe(CHANNELS);
    expect(s.get(`${P}rest_requests_total`)).toBeGreaterThanOrEqual(stats.rest?.requests ?? Infinity);
    expect(s.get(`${P}exchange_active`)).toBe(1);
    expect(s.get(`${P}exchange_maintenance`)).toBe(0);
    expect(s.get(`${P}lifecycle_connection{source="websocket",state="active.connection.subscribed"}`)).toBe(1);
    expect(s.get(`${P}change_subscribers`)).toBe(0);
    expect(s.get(`${P}backpressure_blocked_seconds`)).toBe(0);
    // process metrics come with the server's own metrics
    expect([...s.keys()].some((k) => k.startsWith('process_cpu_user_seconds_total'))).toBe(true);

    // A change on the exchange: the status_change counter and the per-status gauge move.
    const t = firstTickerWithStatus(h.sim, 'active');
    const inactiveBefore = s.get(`${P}markets{status="inactive"}`) ?? NaN;
    h.sim.deactivate(t);
    await waitUntil('deactivated', () => h!.registry.getMarket(t)?.marketStatus === 'inactive');
    s = await scrape(server);
    expect(s.get(`${P}changes_total{event_type="status_change"}`)).toBe(h.changes.filter((c) => c.eventType === 'status_change').length);
    expect(s.get(`${P}changes_total{event_type="status_change"}`)).toBeGreaterThanOrEqual(1);
    expect(s.get(`${P}markets{status="inactive"}`)).toBe(inactiveBefore + 1);
    expect(s.get(`${P}markets{status="inactive"}`)).toBe(h.registry.stats().statusCounts.inactive);

    // A seq gap and a redelivered frame.
    h.sim.skipSeq(1);
    h.sim.activate(t); // not delivered: seq advances
    h.sim.duplicateNext(1);
    h.sim.deactivate(firstTickerWithStatus(h.sim, 'active')); // delivered twice
    await waitUntil('gap and duplicate', () => h!.registry.stats().lifecycle.gaps >= 1 && h!.registry.stats().lifecycle.duplicates >= 1);
    s = await scrape(server);
    expect(s.get(`${P}seq_gaps_total`)).toBe(h.registry.stats().lifecycle.gaps);
    expect(s.get(`${P}duplicate_frames_total`)).toBe(h.registry.stats().lifecycle.duplicates);

    // An illegal transition and a broken frame.
    const active = firstTickerWithStatus(h.sim, 'active');
    h.sim.sendRaw(JSON.stringify({ type: 'market_lifecycle_v2', sid: 1, msg: { market_ticker: active, event_type: 'settled', settled_ts: nowS() } }));
    h.sim.sendRaw('{"type":"market_lifecycle_v2","sid":1,"msg":{"market_ticker":');
    await waitUntil('rejected and quarantined', () => h!.registry.stats().counters.rejected >= 1 && h!.registry.stats().counters.quarantined >= 1);
    s = await scrape(server);
    expect(s.get(`${P}rejected_transitions_total{source="websocket",event="settled"}`)).toBe(h.registry.stats().counters.rejected);
    expect(s.get(`${P}quarantined_total`)).toBe(h.registry.stats().counters.quarantined);

    // 429s from the exchange, counted by the REST client.
    h.sim.rest429(2);
    await waitUntil('rate limited', () => (h!.registry.stats().rest?.rateLimited ?? 0) >= 2);
    s = await scrape(server);
    expect(s.get(`${P}rest_rate_limited_total`)).toBe(h.registry.stats().rest?.rateLimited);
    expect(s.get(`${P}rest_retries_total`)).toBeGreaterThanOrEqual(2);

    // Lifecycle frames were handled, each stamped with sending_ts_ms by the simulator: a lag exists.
    expect(h.registry.stats().lifecycle.lastSendingTsMs).toEqual(expect.any(Number));
    expect(s.get(`${P}lifecycle_lag_seconds`)).toBeGreaterThanOrEqual(0);
    // …and REST latency, 429s included (every attempt of the registry's client is observed).
    expect([...s.keys()].some((k) => k.startsWith(`${P}rest_request_duration_seconds_count{`) && k.includes('outcome="429"'))).toBe(true);
  });

  it('/healthz and /readyz: not ready before and during the sync, ready after, degraded in maintenance, not live once stopped', async () => {
    h = await startHarness({ markets: 1500 }, { statusIntervalMs: 50 }); // more changes than one subscription buffer holds
    server = await serveMetrics(h.registry, { port: 0 });

    let health = await json(server, '/healthz');
    expect(health).toEqual({ status: 200, body: { live: true, phase: 'idle' } });
    let ready = await json(server, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ ready: false, phase: 'idle' });
    expect(ready.body['reasons']).toContain('the registry has not been started');

    // A subscriber that does not read holds the sync at 1000 changes: the sync is running.
    const held = h.registry.subscribeChanges();
    h.registry.start();
    await waitUntil('sync held', () => h!.registry.stats().changeStream.backlog > 0);
    ready = await json(server, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body['sync']).toMatchObject({ state: 'running' });
    expect((ready.body['reasons'] as string[]).join('\n')).toMatch(/the initial sync is not done \(running, \d+ pages, \d+ markets so far\)/);
    expect((await json(server, '/healthz')).status).toBe(200);
    let s = await scrape(server);
    expect(s.get(`${P}sync_state{state="running"}`)).toBe(1);
    expect(s.get(`${P}phase{phase="syncing"}`)).toBe(1);
    expect(s.get(`${P}change_backlog`)).toBeGreaterThan(0);
    expect(s.get(`${P}backpressure_waits_total`)).toBeGreaterThanOrEqual(1);
    held.close();

    await h.registry.synced;
    await waitUntil('healthy', () => h!.registry.summary.getSnapshot().context.phase === 'running.healthy');
    ready = await json(server, '/readyz');
    expect(ready).toMatchObject({ status: 200, body: { ready: true, phase: 'running.healthy', reasons: [] } });

    // Maintenance: the registry is degraded, so not ready; still live.
    h.sim.maintenance(true);
    await waitUntil('degraded', () => h!.registry.summary.getSnapshot().context.phase === 'running.degraded');
    ready = await json(server, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ ready: false, phase: 'running.degraded' });
    expect((ready.body['reasons'] as string[]).join('\n')).toMatch(/^the registry is degraded \(exchange/);
    expect(ready.body['problems']).toHaveProperty('exchange');
    expect((await json(server, '/healthz')).status).toBe(200);
    s = await scrape(server);
    expect(s.get(`${P}phase{phase="running.degraded"}`)).toBe(1);
    expect(s.get(`${P}problems`)).toBeGreaterThanOrEqual(1);
    expect(s.get(`${P}problem{name="exchange"}`)).toBe(1);
    expect(s.get(`${P}exchange_maintenance`)).toBe(1);

    h.sim.maintenance(false);
    await waitUntil('healthy again', () => h!.registry.summary.getSnapshot().context.phase === 'running.healthy');
    expect((await json(server, '/readyz')).status).toBe(200);

    // Stopped: neither live nor ready; the server still answers.
    await h.registry.stop();
    health = await json(server, '/healthz');
    expect(health).toEqual({ status: 503, body: { live: false, phase: 'stopped' } });
    ready = await json(server, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body['reasons']).toContain('the registry is stopped');
    expect((await scrape(server)).get(`${P}phase{phase="stopped"}`)).toBe(1);
  });
});

describe('serveMetrics: the server itself', () => {
  it('rejects a taken port with a MetricsServerError of code EADDRINUSE, and no unhandled error', async () => {
    h = await startHarness();
    blocker = createServer();
    await new Promise<void>((resolve) => blocker!.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as AddressInfo).port;
    const err = await serveMetrics(h.registry, { port: taken }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MetricsServerError);
    expect(err).toMatchObject({ code: 'EADDRINUSE', port: taken, host: '127.0.0.1' });
    expect((err as Error).message).toMatch(new RegExp(`127\\.0\\.0\\.1:${taken} is already in use`));
    // A later try on a free port works (nothing was left registered or listening).
    server = await serveMetrics(h.registry, { port: 0 });
    expect((await get(server.port, '/healthz')).status).toBe(200);
  });

  it('refuses a Host that is not the loopback server (DNS rebinding), other methods and paths', async () => {
    h = await startHarness();
    server = await serveMetrics(h.registry, { port: 0 });
    const port = server.port;
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1:${port + 1}`, `127.0.0.1.nip.io:${port}`]) {
      for (const path of ['/metrics', '/healthz', '/readyz']) {
        const r = await get(port, path, { host });
        expect(r.status, `${host} ${path}`).toBe(403);
        expect(r.body).not.toContain(P);
      }
    }
    expect((await get(port, '/metrics', { host: `localhost:${port}` })).status).toBe(200);
    expect((await get(port, '/healthz', { host: `LOCALHOST:${port}` })).status).toBe(200);
    expect((await get(port, '/metrics', { method: 'POST' })).status).toBe(405);
    expect((await get(port, '/metrics', { method: 'HEAD' })).status).toBe(200);
    expect((await get(port, '/nope')).status).toBe(404);
    expect((await get(port, '/metrics?x=1')).status).toBe(200);
  });

  it('listens on loopback only, validates the port, and close() frees the port', async () => {
    h = await startHarness();
    await expect(serveMetrics(h.registry, { port: 0, host: '0.0.0.0' as never })).rejects.toThrow(OptionsError);
    await expect(serveMetrics(h.registry, { port: 70_000 })).rejects.toThrow(OptionsError);
    const first = await serveMetrics(h.registry, { port: 0 });
    const port = first.port;
    await Promise.all([first.close(), first.close()]);
    server = await serveMetrics(h.registry, { port });
    expect(server.port).toBe(port);
    expect((await get(port, '/healthz')).status).toBe(200);
  });

  it('serves metrics it was given, and leaves them registered when it closes', async () => {
    h = await startHarness();
    const { registryMetrics } = await import('../../src/metrics/index.js');
    const metrics = registryMetrics(h.registry, { prefix: 'mine_' });
    server = await serveMetrics(h.registry, { port: 0, metrics });
    const s = parse((await get(server.port, '/metrics')).body);
    expect(s.get('mine_phase{phase="idle"}')).toBe(1);
    expect([...s.keys()].some((k) => k.startsWith('process_'))).toBe(false);
    await server.close();
    server = undefined;
    expect(await metrics.metrics()).toContain('mine_phase');
    metrics.close();
  });
});
