/**
 * Over-long tickers over a real socket, against the simulator (issue #10 item 7: six frames with
 * 1 MiB tickers produced 56.6 MB of stderr and 36 requests to `/markets/<1 MiB>`).
 *
 *  - A frame whose ticker is past the ticker limit but which fits the frame limit is quarantined
 *    by the schema: counted, never an unknown market to fetch, logged cut; the socket stays up.
 *  - A message past the frame limit (1 MiB of ticker) is never read: ws closes with 1009, the
 *    socket reconnects, the message is counted as quarantined, and the registry goes on.
 * REST traffic goes through a recording proxy on 127.0.0.1 that accepts URLs of any length, so
 * that a GET /markets/<huge> would be seen (Node's default 16 KiB header limit would hide it).
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_FRAME_BYTES, MAX_TICKER_LENGTH } from '../../src/domain/limits.js';
import { createRegistry, type MarketRegistry } from '../../src/registry/create-registry.js';
import { startSimExchange, type SimExchange } from '../../src/sim/index.js';
import { silentLogger } from '../../src/log.js';
import { firstTickerWithStatus, testRegistryOptions, waitUntil } from '../integration/helpers.js';

interface Proxy {
  readonly url: string;
  /** Request paths seen, in order. */
  readonly paths: string[];
  close(): Promise<void>;
}

/** Forwards every REST request to `target` and records its path (any length). */
async function recordingProxy(target: string): Promise<Proxy> {
  const t = new URL(target);
  const paths: string[] = [];
  const server: Server = createServer({ maxHeaderSize: 8 << 20 }, (req, res) => {
    paths.push(req.url ?? '');
    const up = httpRequest({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${t.pathname}`,
    paths,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let sim: SimExchange | null = null;
let proxy: Proxy | null = null;
let registry: MarketRegistry | null = null;
afterEach(async () => {
  await registry?.stop();
  await proxy?.close();
  await sim?.close();
  registry = null;
  proxy = null;
  sim = null;
});

async function start() {
  sim = await startSimExchange({ markets: 200, seed: 11, logger: silentLogger });
  proxy = await recordingProxy(sim.restUrl);
  const lines: string[] = [];
  // Everything, down to trace: the bound must hold for every level an operator may turn on.
  const logger = pino({ level: 'trace' }, { write: (l: string) => void lines.push(l) });
  registry = createRegistry({ ...testRegistryOptions(sim), restUrl: proxy.url, logger });
  registry.start();
  await registry.synced;
  await waitUntil('both lifecycle subscriptions', () => (registry?.stats().lifecycle.subscriptions ?? 0) >= 2);
  return { sim, proxy, registry, lines, linesBefore: lines.length, pathsBefore: proxy.paths.length };
}

/** The registry still follows the exchange: a deactivation made now arrives. */
async function stillFollows(s: SimExchange, r: MarketRegistry): Promise<void> {
  const ticker = firstTickerWithStatus(s, 'active');
  s.deactivate(ticker);
  await waitUntil(`${ticker} deactivated in the registry`, () => r.getMarket(ticker)?.marketStatus === 'inactive');
}

function expectBoundedLog(lines: readonly string[]): void {
  for (const l of lines) expect(l.length, l.slice(0, 200)).toBeLessThan(4096);
  // No run of the hostile input longer than the quoted head survives anywhere.
  expect(lines.join('')).not.toMatch(/K{65}/);
}

describe('over-long tickers over a real socket', () => {
  it('six frames with tickers past the ticker limit: quarantined and counted, never fetched, logged cut; the socket stays up', async () => {
    const h = await start();
    const connects = h.registry.stats().socket?.connects;
    const length = 300_000; // past MAX_TICKER_LENGTH, inside MAX_FRAME_BYTES
    expect(length).toBeGreaterThan(MAX_TICKER_LENGTH);
    expect(length + 200).toBeLessThan(MAX_FRAME_BYTES);
    for (let i = 0; i < 6; i++) {
      h.sim.sendRaw(JSON.stringify({ type: 'market_lifecycle_v2', sid: 1, msg: { market_ticker: 'K'.repeat(length) + String(i), event_type: 'activated' } }));
    }
    await waitUntil('six invalid frames', () => h.registry.stats().lifecycle.invalid >= 6);
    await stillFollows(h.sim, h.registry);

    const stats = h.registry.stats();
    expect(stats.lifecycle.invalid).toBe(6);
    expect(stats.counters.quarantined).toBe(6);
    expect(stats.counters.unknownTickerEvents).toBe(0);
    expect(stats.socket?.connects).toBe(connects);
    const quarantined = h.registry.quarantined().filter((q) => q.source === 'lifecycle frame');
    expect(quarantined).toHaveLength(6);
    for (const q of quarantined) expect(q.ticker).toMatch(/^K{64}…\(300001 chars\)$/);
    const longest = Math.max(0, ...h.proxy.paths.slice(h.pathsBefore).map((p) => p.length));
    expect(longest, 'no request carries the hostile ticker').toBeLessThan(MAX_TICKER_LENGTH + 200);
    expect(h.proxy.paths.slice(h.pathsBefore).filter((p) => p.includes('KKKK'))).toEqual([]);
    expectBoundedLog(h.lines.slice(h.linesBefore));
  });

  it('a frame with a 1 MiB ticker (past the frame limit): not read, the socket reconnects, counted once, logged cut', async () => {
    const h = await start();
    const connects = h.registry.stats().socket?.connects ?? 0;
    for (let i = 0; i < 6; i++) {
      h.sim.sendRaw(JSON.stringify({ type: 'market_lifecycle_v2', sid: 1, msg: { market_ticker: 'K'.repeat(1 << 20) + String(i), event_type: 'activated' } }));
    }
    await waitUntil('a reconnect', () => (h.registry.stats().socket?.connects ?? 0) > connects);
    await waitUntil('resubscribed', () => h.registry.stats().lifecycle.subscriptions >= 4);
    await stillFollows(h.sim, h.registry);

    const stats = h.registry.stats();
    // The first message closes the connection (1009); the rest were sent to a socket being closed.
    const oversized = h.registry.quarantined().filter((q) => q.source === 'lifecycle socket');
    expect(oversized.length).toBeGreaterThanOrEqual(1);
    expect(oversized.length).toBeLessThanOrEqual(6);
    expect(oversized[0]?.reason).toMatch(/larger than 1048576 bytes/);
    expect(stats.counters.quarantined).toBe(oversized.length);
    expect(stats.counters.unknownTickerEvents).toBe(0);
    expect(stats.lifecycle.lifecycleMessages).toBeGreaterThanOrEqual(1); // the deactivation, after the reconnect
    expect(h.proxy.paths.slice(h.pathsBefore).filter((p) => p.includes('KKKK'))).toEqual([]);
    const after = h.lines.slice(h.linesBefore);
    expectBoundedLog(after);
    const disconnects = after.map((l) => JSON.parse(l) as { msg: string; reason?: string }).filter((l) => l.msg === 'lifecycle socket disconnected');
    expect(disconnects.length).toBe(oversized.length);
    expect(disconnects[0]?.reason).toMatch(/frame limit/);
  });
});
