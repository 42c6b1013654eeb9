/**
 * The `--inspect` relay (visualizer/stately.ts): loopback-only like the visualizer server (Host
 * and Origin checked), a maximum message size, and bounded memory for what it retains for late
 * joiners. Everything on 127.0.0.1.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, type ClientOptions } from 'ws';
import { startHarness } from '../integration/helpers.js';
import { isAllowedOrigin, isLoopbackHost } from '../../visualizer/local-origin.js';
import {
  MAX_MESSAGE_BYTES,
  RETAINED_ACTORS,
  RETAINED_RECENT,
  startStatelyBridge,
  startStatelyInspection,
  type StatelyBridge,
} from '../../visualizer/stately.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function bridge(): Promise<StatelyBridge> {
  const b = await startStatelyBridge();
  open.push(b);
  return b;
}

/** Connects; resolves with the socket once open, or with the HTTP status of a refused handshake. */
function connect(url: string, options: ClientOptions = {}): Promise<{ ws: WebSocket; status: 101 } | { ws: null; status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => {
      open.push({ close: () => new Promise<void>((r) => (ws.readyState === WebSocket.CLOSED ? r() : (ws.once('close', () => r()), ws.terminate()))) });
      resolve({ ws, status: 101 });
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve({ ws: null, status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.on('error', reject); // no-op once settled
  });
}

async function mustConnect(url: string, options: ClientOptions = {}): Promise<WebSocket> {
  const r = await connect(url, options);
  if (r.ws === null) throw new Error(`refused with ${r.status}`);
  return r.ws;
}

/** Collects what a socket receives. */
function collect(ws: WebSocket): Buffer[] {
  const got: Buffer[] = [];
  ws.on('message', (data: Buffer) => got.push(data));
  return got;
}

const settle = (ms = 150) => new Promise((r) => setTimeout(r, ms));

/** A text message of about `bytes` bytes that looks like an inspection event. */
function event(type: '@xstate.actor' | '@xstate.snapshot', bytes: number, n: number): string {
  const head = `{"type":"${type}","sessionId":"x:${n}","pad":"`;
  return `${head}${'p'.repeat(Math.max(0, bytes - head.length - 2))}"}`;
}

describe('loopback checks (visualizer/local-origin.ts)', () => {
  it('accepts only the loopback address of this port, and Origins of pages it serves', () => {
    expect(isLoopbackHost('127.0.0.1:8420', 8420)).toBe(true);
    expect(isLoopbackHost('LOCALHOST:8420', 8420)).toBe(true);
    expect(isLoopbackHost('[::1]:8420', 8420)).toBe(true);
    for (const h of [undefined, '', '127.0.0.1', '127.0.0.1:8421', 'evil.example:8420', '127.0.0.1.evil.example:8420', '0.0.0.0:8420'])
      expect(isLoopbackHost(h, 8420)).toBe(false);
    expect(isAllowedOrigin(undefined, 8420)).toBe(true);
    expect(isAllowedOrigin('http://127.0.0.1:8420', 8420)).toBe(true);
    expect(isAllowedOrigin('http://localhost:8420', 8420)).toBe(true);
    for (const o of ['null', 'https://evil.example', 'http://127.0.0.1:3000', 'http://127.0.0.1:8420.evil.example', 'file://', 'http://127.0.0.1:8420/x'])
      expect(isAllowedOrigin(o, 8420)).toBe(false);
  });
});

describe('Stately inspector relay (--inspect)', () => {
  it('refuses WebSocket handshakes from a foreign Origin or with a foreign Host, and HTTP requests with a foreign Host', async () => {
    const b = await bridge();
    const receiver = await mustConnect(b.wsUrl); // a program: no Origin
    const got = collect(receiver);
    await mustConnect(b.wsUrl, { origin: `http://127.0.0.1:${b.port}` }); // the bridge page itself
    await mustConnect(b.wsUrl, { origin: `http://localhost:${b.port}` });

    expect((await connect(b.wsUrl, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await connect(b.wsUrl, { origin: 'http://127.0.0.1:1' })).status).toBe(403);
    expect((await connect(b.wsUrl, { origin: 'null' })).status).toBe(403);
    expect((await connect(b.wsUrl, { headers: { host: 'evil.example' } })).status).toBe(403);
    expect((await connect(b.wsUrl, { headers: { host: `rebound.example:${b.port}` } })).status).toBe(403);
    expect(b.stats().refusedConnections).toBe(5);

    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(b.pageUrl, { headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await status('evil.example')).toBe(403);
    expect(await status(`127.0.0.1:${b.port}`)).toBe(200);

    // Nothing reached the receiver from the refused ones; the accepted sender still relays.
    const sender = await mustConnect(b.wsUrl);
    sender.send(event('@xstate.snapshot', 100, 1));
    await settle();
    expect(got.map(String)).toEqual([event('@xstate.snapshot', 100, 1)]);
  });

  it('refuses a message over the size limit (closes the sender with 1009) and relays nothing of it', async () => {
    const b = await bridge();
    expect(MAX_MESSAGE_BYTES).toBeLessThanOrEqual(1 << 20);
    const receiver = await mustConnect(b.wsUrl);
    const got = collect(receiver);
    const sender = await mustConnect(b.wsUrl);
    const closed = new Promise<number | string>((resolve) => sender.once('close', (code) => resolve(code)));
    sender.on('error', () => {});
    sender.send(event('@xstate.snapshot', MAX_MESSAGE_BYTES + 1, 1));
    expect(await Promise.race([closed, settle(3000).then(() => 'still open')])).toBe(1009);
    await settle();
    expect(got).toEqual([]);
    expect(b.stats().retainedBytes).toBe(0);

    // The relay itself carries on: a message at the limit still goes through.
    const next = await mustConnect(b.wsUrl);
    next.send(event('@xstate.snapshot', MAX_MESSAGE_BYTES, 2));
    await settle(300);
    expect(got.map((m) => m.length)).toEqual([MAX_MESSAGE_BYTES]);
  });

  it('keeps what it retains for late joiners bounded in bytes, however many messages pass through', async () => {
    const b = await bridge();
    const sender = await mustConnect(b.wsUrl);
    const size = 900 << 10;
    // 40 actor registrations and 40 other events of 900 KiB each: 70 MiB through the relay.
    for (let i = 0; i < 40; i++) {
      sender.send(event('@xstate.actor', size, i));
      sender.send(event('@xstate.snapshot', size, i));
    }
    await expect.poll(() => b.stats().messages, { timeout: 10_000 }).toBe(80);
    const cap = RETAINED_ACTORS.bytes + RETAINED_RECENT.bytes;
    expect(cap).toBeLessThanOrEqual(16 << 20);
    expect(b.stats().retainedBytes).toBeLessThanOrEqual(cap);

    // A late joiner gets the newest of each kind, no more than the cap.
    const late = await mustConnect(b.wsUrl);
    const got = collect(late);
    await settle(500);
    const bytes = got.reduce((s, m) => s + m.length, 0);
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(cap);
    const names = got.map((m) => /"sessionId":"x:(\d+)"/.exec(String(m))?.[1]);
    expect(names.at(-1)).toBe('39'); // the newest event is among them

    // Many small actor registrations: the count bound holds too.
    for (let i = 0; i < RETAINED_ACTORS.count + 500; i++) sender.send(event('@xstate.actor', 200, 1000 + i));
    await expect.poll(() => b.stats().messages, { timeout: 10_000 }).toBe(80 + RETAINED_ACTORS.count + 500);
    expect(b.stats().retainedMessages).toBeLessThanOrEqual(RETAINED_ACTORS.count + RETAINED_RECENT.count);
  });

  it("the registry's real inspection events are far below the limit and reach a receiver", async () => {
    const inspection = await startStatelyInspection({});
    open.push(inspection);
    const receiver = await mustConnect(inspection.wsUrl);
    const got = collect(receiver);
    const h = await startHarness({ markets: 300, seed: 7 }, { inspect: inspection.inspect }, { collect: false });
    open.push(h);
    h.registry.start();
    await h.registry.synced;
    await expect.poll(() => got.some((m) => String(m).includes('"type":"@xstate.snapshot"')), { timeout: 10_000 }).toBe(true);
    expect(got.some((m) => String(m).includes('"type":"@xstate.actor"'))).toBe(true);
    expect(Math.max(...got.map((m) => m.length))).toBeLessThan(MAX_MESSAGE_BYTES / 16);
  });
});

describe('inspect relay on a taken port', () => {
  it('rejects with EADDRINUSE instead of crashing the process with an unhandled error event', async () => {
    const { createServer } = await import('node:http');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as import('node:net').AddressInfo).port;
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      await expect(startStatelyBridge({ port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
      await new Promise((r) => setTimeout(r, 20));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });
});
