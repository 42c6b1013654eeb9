import { constants, generateKeyPairSync, verify } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket, type ServerOptions } from 'ws';
import { OptionsError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { connectLifecycle, type LifecycleConnectOptions, type LifecycleConnectionHandle } from '../../src/kalshi/lifecycle-connect.js';
import { rawDataToString } from '../../src/util/ws-data.js';

const WS_PATH = '/trade-api/ws/v2';

interface TestServer {
  wss: WebSocketServer;
  url: string;
  connections: WebSocket[];
  requests: IncomingMessage[];
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startServer(onConnection: (ws: WebSocket, index: number, req: IncomingMessage) => void, options: ServerOptions = {}): Promise<TestServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const { port } = wss.address() as AddressInfo;
  const connections: WebSocket[] = [];
  const requests: IncomingMessage[] = [];
  wss.on('connection', (ws, req) => {
    connections.push(ws);
    requests.push(req);
    onConnection(ws, connections.length - 1, req);
  });
  const server: TestServer = {
    wss,
    url: `ws://127.0.0.1:${port}${WS_PATH}`,
    connections,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
  cleanups.push(() => server.close());
  return server;
}

/** A connection with its chart's states recorded (a state path per change, with its context). */
function connect(opts: LifecycleConnectOptions): LifecycleConnectionHandle & { states: { state: string; failures: number; lastError: string | null }[] } {
  const conn = connectLifecycle({ channels: ['market_lifecycle_v2'], ...opts });
  const states: { state: string; failures: number; lastError: string | null }[] = [];
  const record = () => {
    const s = conn.actor.getSnapshot();
    const path = (v: unknown): string => (typeof v === 'string' ? v : Object.entries(v as object).map(([k, c]) => `${k}.${path(c)}`)[0]!);
    const value = path(s.value);
    if (states.at(-1)?.state !== value) states.push({ state: value, failures: s.context.failures, lastError: s.context.lastError });
  };
  record();
  conn.actor.subscribe(record);
  cleanups.push(() => conn.stop());
  return { ...conn, states };
}

/** Server helper: answer every subscribe with `subscribed` (sid from `sidFor`) and run `after`. */
function onSubscribe(ws: WebSocket, handler: (cmd: { id: number; cmd: string; params: { channels: string[] } }) => void): void {
  ws.on('message', (data) => handler(JSON.parse(rawDataToString(data)) as { id: number; cmd: string; params: { channels: string[] } }));
}

function subscribedFrame(id: number, sid: number, channel = 'market_lifecycle_v2'): string {
  return JSON.stringify({ id, type: 'subscribed', msg: { channel, sid } });
}

function lifecycleFrame(sid: number, seq: number, ticker = `MKT-${seq}`): string {
  return JSON.stringify({
    type: 'market_lifecycle_v2',
    sid,
    seq,
    msg: { market_ticker: ticker, event_type: 'activated', is_deactivated: false },
  });
}

/** next() with a safety net so a broken implementation fails instead of hanging the run. */
async function nextFrame(it: AsyncIterator<string>, ms = 5_000): Promise<IteratorResult<string>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no frame within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([it.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function take(it: AsyncIterator<string>, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await nextFrame(it);
    if (r.done) throw new Error(`iterator ended after ${i} frames`);
    out.push(r.value);
  }
  return out;
}

function typeOf(frame: string): string {
  return (JSON.parse(frame) as { type: string }).type;
}

function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger: Logger = pino({ level: 'trace' }, { write: (s: string) => void lines.push(s) });
  return { logger, lines };
}

async function waitFor(cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * The lifecycle connection (machines/lifecycle-connection.ts + the `ws` socket actor of
 * src/kalshi/ws-connection.ts) against real WebSocket servers on 127.0.0.1.
 */
describe('lifecycle connection over a real socket', () => {
  it('sends one subscribe for every channel and yields every frame in order (binary decoded as UTF-8)', async () => {
    const commands: string[] = [];
    const server = await startServer((ws) => {
      ws.on('message', (data) => {
        commands.push(rawDataToString(data));
        const cmd = JSON.parse(rawDataToString(data)) as { id: number };
        ws.send(subscribedFrame(cmd.id, 1));
        ws.send(subscribedFrame(cmd.id, 2, 'multivariate_market_lifecycle'));
        for (let seq = 1; seq <= 4; seq++) ws.send(lifecycleFrame(1, seq));
        ws.send(Buffer.from(lifecycleFrame(1, 5, 'BIN-Ü')), { binary: true });
        ws.send(JSON.stringify({ id: 9, type: 'ok', msg: [] }));
      });
    });
    const conn = connect({ url: server.url, channels: ['market_lifecycle_v2', 'multivariate_market_lifecycle'] });
    const it = conn.frames[Symbol.asyncIterator]();
    const frames = await take(it, 8);

    expect(commands).toEqual(['{"id":1,"cmd":"subscribe","params":{"channels":["market_lifecycle_v2","multivariate_market_lifecycle"]}}']);
    expect(frames.slice(0, 2).map(typeOf)).toEqual(['subscribed', 'subscribed']);
    expect(frames.slice(2, 7).map((f) => (JSON.parse(f) as { seq: number }).seq)).toEqual([1, 2, 3, 4, 5]);
    expect(frames[6]).toContain('BIN-Ü');
    expect(typeOf(frames[7] ?? '')).toBe('ok');
    expect(conn.states.map((s) => s.state)).toEqual(['active.connection.connecting', 'active.connection.subscribing', 'active.connection.subscribed']);
    const context = conn.actor.getSnapshot().context;
    expect(context).toMatchObject({ connects: 1, failures: 0, subscriptions: { market_lifecycle_v2: 1, multivariate_market_lifecycle: 2 } });
    expect(conn.frames.framesReceived).toBe(8);

    await conn.stop();
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(conn.states.at(-1)?.state).toBe('stopped');
  });

  it('signs the upgrade with KALSHI-ACCESS-* headers, re-signed on every reconnect, never logged', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const server = await startServer((ws, index) => {
      onSubscribe(ws, (cmd) => {
        ws.send(subscribedFrame(cmd.id, index + 1));
        if (index === 0) setImmediate(() => ws.terminate());
      });
    });
    const { logger, lines } = memoryLogger();
    const conn = connect({ url: server.url, credentials: { keyId: 'key-id-123', privateKey }, logger, reconnect: { baseMs: 5 } });
    await take(conn.frames[Symbol.asyncIterator](), 2);
    expect(server.requests).toHaveLength(2);

    const signatures: string[] = [];
    for (const req of server.requests) {
      const ts = req.headers['kalshi-access-timestamp'];
      const sig = req.headers['kalshi-access-signature'];
      expect(req.headers['kalshi-access-key']).toBe('key-id-123');
      const ok = verify(
        'sha256',
        Buffer.from(`${String(ts)}GET${WS_PATH}`),
        { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        Buffer.from(String(sig), 'base64'),
      );
      expect(ok).toBe(true);
      signatures.push(String(sig));
    }
    expect(signatures[0]).not.toBe(signatures[1]);
    await conn.stop();
    const logText = lines.join('');
    expect(logText.length).toBeGreaterThan(0);
    for (const sig of signatures) expect(logText).not.toContain(sig);
    expect(logText).not.toContain('PRIVATE KEY');
    // The credentials are the socket actor's, never the chart's context (inspection shows context).
    expect(JSON.stringify(conn.actor.getSnapshot().context)).not.toContain('key-id-123');
  });

  it('reconnects after the server drops the connection and subscribes again (command ids restart)', async () => {
    const commandsPerConnection: string[][] = [];
    const server = await startServer((ws, index) => {
      const cmds: string[] = [];
      commandsPerConnection.push(cmds);
      onSubscribe(ws, (cmd) => {
        cmds.push(JSON.stringify(cmd));
        ws.send(subscribedFrame(cmd.id, index + 1));
        ws.send(lifecycleFrame(index + 1, 1, `CONN-${index}`));
        if (index === 0) ws.terminate();
      });
    });
    const conn = connect({ url: server.url, reconnect: { baseMs: 10, maxMs: 50 } });
    const frames = await take(conn.frames[Symbol.asyncIterator](), 4);
    expect(frames.map(typeOf)).toEqual(['subscribed', 'market_lifecycle_v2', 'subscribed', 'market_lifecycle_v2']);
    expect(frames[1]).toContain('CONN-0');
    expect(frames[3]).toContain('CONN-1');
    expect(commandsPerConnection).toEqual([
      ['{"id":1,"cmd":"subscribe","params":{"channels":["market_lifecycle_v2"]}}'],
      ['{"id":1,"cmd":"subscribe","params":{"channels":["market_lifecycle_v2"]}}'],
    ]);
    const reconnecting = conn.states.find((s) => s.state === 'active.reconnecting');
    expect(reconnecting).toMatchObject({ failures: 1 });
    expect(reconnecting?.lastError).toMatch(/closed|1006/);
    await waitFor(() => conn.actor.getSnapshot().context.connects === 2);
    expect(conn.states.at(-1)?.state).toBe('active.connection.subscribed');
    expect(conn.actor.getSnapshot().context.disconnects).toBe(1);
  });

  it('reconnects after idleTimeoutMs without frames or pongs (after a client ping)', async () => {
    let pingsSeen = 0;
    const server = await startServer(
      (ws, index) => {
        ws.on('ping', () => pingsSeen++);
        onSubscribe(ws, (cmd) => ws.send(subscribedFrame(cmd.id, index + 1)));
      },
      { autoPong: false },
    );
    const conn = connect({ url: server.url, idleTimeoutMs: 100, reconnect: { baseMs: 5 } });
    const frames = await take(conn.frames[Symbol.asyncIterator](), 2);
    expect(frames).toEqual([subscribedFrame(1, 1), subscribedFrame(1, 2)]);
    expect(pingsSeen).toBeGreaterThanOrEqual(1);
    expect(conn.states.find((s) => s.state === 'active.reconnecting')?.lastError).toMatch(/idle timeout/);
  });

  it('counts server pings as liveness (ws answers them itself)', async () => {
    let pongs = 0;
    const server = await startServer((ws) => {
      ws.on('pong', () => pongs++);
      onSubscribe(ws, (cmd) => {
        ws.send(subscribedFrame(cmd.id, 1));
        const timer = setInterval(() => ws.ping('heartbeat'), 20);
        ws.on('close', () => clearInterval(timer));
      });
    });
    const conn = connect({ url: server.url, idleTimeoutMs: 100 });
    await take(conn.frames[Symbol.asyncIterator](), 1);
    await waitFor(() => pongs >= 10);
    expect(server.connections).toHaveLength(1);
    expect(conn.actor.getSnapshot().context.connects).toBe(1);
  });

  it('after error code 10 subscribes that channel again on the same connection, and yields the error frame', async () => {
    const commands: unknown[] = [];
    const server = await startServer((ws) => {
      onSubscribe(ws, (cmd) => {
        commands.push(cmd);
        if (cmd.id === 1) {
          ws.send(subscribedFrame(1, 7));
          ws.send(subscribedFrame(1, 8, 'multivariate_market_lifecycle'));
          ws.send(JSON.stringify({ id: 3, type: 'error', msg: { code: 8, msg: 'Unknown channel name' } }));
          ws.send(JSON.stringify({ type: 'error', sid: 7, msg: { code: 10, msg: 'Channel error' } }));
        } else {
          ws.send(subscribedFrame(cmd.id, 9));
        }
      });
    });
    const conn = connect({ url: server.url, channels: ['market_lifecycle_v2', 'multivariate_market_lifecycle'] });
    const frames = await take(conn.frames[Symbol.asyncIterator](), 5);
    expect(frames.map(typeOf)).toEqual(['subscribed', 'subscribed', 'error', 'error', 'subscribed']);
    expect(frames[3]).toContain('"code":10');
    expect(commands).toEqual([
      { id: 1, cmd: 'subscribe', params: { channels: ['market_lifecycle_v2', 'multivariate_market_lifecycle'] } },
      { id: 2, cmd: 'subscribe', params: { channels: ['market_lifecycle_v2'] } },
    ]);
    expect(server.connections).toHaveLength(1);
    expect(conn.actor.getSnapshot().context).toMatchObject({ resubscribes: 1, subscriptions: { market_lifecycle_v2: 9, multivariate_market_lifecycle: 8 } });
  });

  it('backpressure: a slow consumer gets all 50k frames in order, the socket pauses, the queue stays bounded', async () => {
    const TOTAL = 50_000;
    const HWM = 500;
    const server = await startServer((ws) => {
      onSubscribe(ws, (cmd) => {
        ws.send(subscribedFrame(cmd.id, 1));
        for (let seq = 1; seq <= TOTAL; seq++) ws.send(lifecycleFrame(1, seq));
      });
    });
    const conn = connect({ url: server.url, highWaterMark: HWM });
    let expected = 1;
    let maxQueued = 0;
    let count = 0;
    for await (const frame of conn.frames) {
      count++;
      if (count === 1) {
        expect(typeOf(frame)).toBe('subscribed');
        continue;
      }
      const seq = (JSON.parse(frame) as { seq: number }).seq;
      expect(seq).toBe(expected);
      expected++;
      maxQueued = Math.max(maxQueued, conn.frames.queued);
      if (count % 250 === 0) await new Promise((r) => setTimeout(r, 1));
      if (seq === TOTAL) break;
    }
    expect(expected - 1).toBe(TOTAL);
    expect(conn.frames.pauses).toBeGreaterThanOrEqual(1);
    expect(conn.frames.framesReceived).toBe(TOTAL + 1);
    // Frames already parsed when the pause happens are kept, so allow a few TCP reads of overshoot.
    expect(maxQueued).toBeLessThan(HWM * 10);
  });

  it('stop(): ends the frames, closes with 1000, leaves no sockets behind', async () => {
    const activeBefore = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const closeCodes: number[] = [];
    const server = await startServer((ws) => {
      ws.on('close', (code) => closeCodes.push(code));
      onSubscribe(ws, (cmd) => ws.send(subscribedFrame(cmd.id, 1)));
    });
    const conn = connect({ url: server.url });
    const it = conn.frames[Symbol.asyncIterator]();
    await take(it, 1);
    const pending = it.next(); // waiting for a frame that never comes
    await conn.stop();
    expect(await pending).toEqual({ done: true, value: undefined });
    await waitFor(() => closeCodes.length === 1);
    expect(closeCodes).toEqual([1000]);
    expect(conn.states.at(-1)?.state).toBe('stopped');
    await conn.stop(); // idempotent
    await server.close();
    await waitFor(() => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length <= activeBefore);
  });

  it('401 handshake: the error says to check the credentials; after maxAttempts the chart is failed', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const server = await startServer(() => undefined, { verifyClient: (_info, cb) => cb(false, 401, 'Unauthorized') });
    const { logger, lines } = memoryLogger();
    const conn = connect({ url: server.url, credentials: { keyId: 'bad-key', privateKey }, logger, reconnect: { baseMs: 5, maxAttempts: 2 } });
    await waitFor(() => conn.actor.getSnapshot().status === 'done');
    expect(conn.actor.getSnapshot().value).toBe('failed');
    expect(conn.actor.getSnapshot().output).toMatchObject({ httpStatus: 401, error: expect.stringMatching(/401.*check the credentials/) });
    // Two retries, then the third failure goes straight to failed (the guard, in the same step).
    expect(conn.states.filter((s) => s.state === 'active.reconnecting').map((s) => s.failures)).toEqual([1, 2]);
    expect(conn.actor.getSnapshot().context.failures).toBe(3);
    expect(await conn.frames[Symbol.asyncIterator]().next()).toEqual({ done: true, value: undefined });
    expect(conn.actor.getSnapshot().context.connects).toBe(0);
    expect(lines.join('')).not.toContain('PRIVATE KEY');
  });

  it('rejects invalid options with an OptionsError; the URL in context has no user-info', async () => {
    expect(() => connectLifecycle({ url: 'https://example.com/trade-api/ws/v2' })).toThrow(OptionsError);
    expect(() => connectLifecycle({ url: 'ws://127.0.0.1:1/x', reconnect: { baseMs: 1000, maxMs: 10 } })).toThrow(/baseMs/);
    expect(() => connectLifecycle({ url: 'ws://127.0.0.1:1/x', channels: [] })).toThrow(OptionsError);
    const conn = connect({ url: 'ws://u:p@127.0.0.1:1/x', reconnect: { maxAttempts: 0 } });
    expect(conn.actor.getSnapshot().context.url).toBe('ws://***@127.0.0.1:1/x');
    await conn.stop();
  });
});
