import { constants, generateKeyPairSync, verify } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket, type ServerOptions } from 'ws';
import { OptionsError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import {
  LifecycleSocket,
  LifecycleSocketError,
  type LifecycleSocketOptions,
  type LifecycleSocketStatus,
} from '../../src/kalshi/lifecycle-socket.js';

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

async function startServer(
  onConnection: (ws: WebSocket, index: number, req: IncomingMessage) => void,
  options: ServerOptions = {},
): Promise<TestServer> {
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
  cleanups.push(server.close);
  return server;
}

function makeSocket(opts: LifecycleSocketOptions): LifecycleSocket {
  const s = new LifecycleSocket(opts);
  cleanups.push(() => s.stop());
  return s;
}

/** Server helper: answer every subscribe with `subscribed` (sid from `sidFor`) and run `after`. */
function onSubscribe(ws: WebSocket, handler: (cmd: { id: number; cmd: string; params: { channels: string[] } }) => void): void {
  ws.on('message', (data) => handler(JSON.parse(String(data)) as { id: number; cmd: string; params: { channels: string[] } }));
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

describe('LifecycleSocket', () => {
  it('sends the subscribe command and yields every frame in order (binary decoded as UTF-8)', async () => {
    const commands: string[] = [];
    const server = await startServer((ws) => {
      ws.on('message', (data) => {
        commands.push(String(data));
        const cmd = JSON.parse(String(data)) as { id: number };
        ws.send(subscribedFrame(cmd.id, 1));
        for (let seq = 1; seq <= 4; seq++) ws.send(lifecycleFrame(1, seq));
        ws.send(Buffer.from(lifecycleFrame(1, 5, 'BIN-Ü')), { binary: true });
        ws.send(JSON.stringify({ id: 9, type: 'ok', msg: [] }));
      });
    });
    const statuses: LifecycleSocketStatus[] = [];
    const socket = makeSocket({ url: server.url });
    socket.onStatus((s) => statuses.push(s));
    socket.start();
    const it = socket[Symbol.asyncIterator]();
    const frames = await take(it, 7);

    expect(commands).toEqual(['{"id":1,"cmd":"subscribe","params":{"channels":["market_lifecycle_v2"]}}']);
    expect(frames[0]).toBe(subscribedFrame(1, 1));
    expect(frames.slice(1, 6).map((f) => (JSON.parse(f) as { seq: number }).seq)).toEqual([1, 2, 3, 4, 5]);
    expect(frames[5]).toContain('BIN-Ü');
    expect(typeOf(frames[6] ?? '')).toBe('ok');
    expect(statuses.map((s) => s.state)).toEqual(['connecting', 'open', 'subscribed']);
    expect(statuses.every((s) => s.url === server.url && s.attempt === 0)).toBe(true);
    const stats = socket.stats();
    expect(stats.connects).toBe(1);
    expect(stats.framesReceived).toBe(7);
    expect(stats.bytesReceived).toBe(frames.reduce((n, f) => n + Buffer.byteLength(f), 0));
    expect(stats.lastFrameAt).not.toBeNull();

    await socket.stop();
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(statuses.at(-1)?.state).toBe('stopped');
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
    const socket = makeSocket({
      url: server.url,
      credentials: { keyId: 'key-id-123', privateKey },
      logger,
      reconnect: { baseMs: 5 },
    });
    socket.start();
    const it = socket[Symbol.asyncIterator]();
    await take(it, 2);
    expect(server.requests).toHaveLength(2);

    const signatures: string[] = [];
    for (const req of server.requests) {
      const key = req.headers['kalshi-access-key'];
      const ts = req.headers['kalshi-access-timestamp'];
      const sig = req.headers['kalshi-access-signature'];
      expect(key).toBe('key-id-123');
      expect(typeof ts).toBe('string');
      expect(typeof sig).toBe('string');
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

    await socket.stop();
    const logText = lines.join('');
    expect(logText.length).toBeGreaterThan(0);
    for (const sig of signatures) expect(logText).not.toContain(sig);
    expect(logText).not.toContain('PRIVATE KEY');
  });

  it('reconnects after the server drops the connection, resubscribes, yields the new subscribed frame', async () => {
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
    const statuses: LifecycleSocketStatus[] = [];
    const socket = makeSocket({ url: server.url, reconnect: { baseMs: 10, maxMs: 50 } });
    socket.onStatus((s) => statuses.push(s));
    socket.start();
    const it = socket[Symbol.asyncIterator]();
    const frames = await take(it, 4);

    expect(frames.map(typeOf)).toEqual(['subscribed', 'market_lifecycle_v2', 'subscribed', 'market_lifecycle_v2']);
    expect(frames[0]).toBe(subscribedFrame(1, 1));
    expect(frames[1]).toContain('CONN-0');
    expect(frames[2]).toBe(subscribedFrame(1, 2));
    expect(frames[3]).toContain('CONN-1');
    // Command ids restart at 1 on the new connection.
    expect(commandsPerConnection).toEqual([
      ['{"id":1,"cmd":"subscribe","params":{"channels":["market_lifecycle_v2"]}}'],
      ['{"id":1,"cmd":"subscribe","params":{"channels":["market_lifecycle_v2"]}}'],
    ]);
    const reconnecting = statuses.find((s) => s.state === 'reconnecting');
    expect(reconnecting).toMatchObject({ state: 'reconnecting', attempt: 1 });
    expect(reconnecting?.error).toMatch(/closed|1006/);
    expect(statuses.at(-1)).toMatchObject({ state: 'subscribed', attempt: 1 });
    expect(socket.stats()).toMatchObject({ connects: 2, reconnects: 1 });
  });

  it('terminates and reconnects after idleTimeoutMs without frames or pongs (after a client ping)', async () => {
    let pingsSeen = 0;
    const server = await startServer(
      (ws, index) => {
        ws.on('ping', () => pingsSeen++);
        onSubscribe(ws, (cmd) => ws.send(subscribedFrame(cmd.id, index + 1)));
      },
      { autoPong: false },
    );
    const socket = makeSocket({ url: server.url, idleTimeoutMs: 100, reconnect: { baseMs: 5 } });
    const statuses: LifecycleSocketStatus[] = [];
    socket.onStatus((s) => statuses.push(s));
    socket.start();
    const it = socket[Symbol.asyncIterator]();
    const frames = await take(it, 2);
    expect(frames).toEqual([subscribedFrame(1, 1), subscribedFrame(1, 2)]);
    expect(pingsSeen).toBeGreaterThanOrEqual(1);
    expect(statuses.find((s) => s.state === 'reconnecting')?.error).toMatch(/idle timeout/);
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
    // The client pings too; the server's automatic pongs would also keep it alive, so check pongs
    // the client sent in reply to the server's heartbeat pings.
    const socket = makeSocket({ url: server.url, idleTimeoutMs: 100 });
    socket.start();
    const it = socket[Symbol.asyncIterator]();
    await take(it, 1);
    await waitFor(() => pongs >= 10);
    expect(server.connections).toHaveLength(1);
    expect(socket.stats().connects).toBe(1);
  });

  it('re-sends subscribe on the same connection after error code 10, and yields the error frame', async () => {
    const commands: { id: number }[] = [];
    const server = await startServer((ws) => {
      onSubscribe(ws, (cmd) => {
        commands.push(cmd);
        if (cmd.id === 1) {
          ws.send(subscribedFrame(1, 7));
          ws.send(JSON.stringify({ id: 3, type: 'error', msg: { code: 8, msg: 'Unknown channel name' } }));
          ws.send(JSON.stringify({ type: 'error', sid: 7, msg: { code: 10, msg: 'Channel error' } }));
        } else {
          ws.send(subscribedFrame(cmd.id, 8));
        }
      });
    });
    const socket = makeSocket({ url: server.url });
    socket.start();
    const it = socket[Symbol.asyncIterator]();
    const frames = await take(it, 4);
    expect(frames.map(typeOf)).toEqual(['subscribed', 'error', 'error', 'subscribed']);
    expect(frames[2]).toContain('"code":10');
    expect(frames[3]).toBe(subscribedFrame(2, 8));
    expect(commands).toEqual([
      { id: 1, cmd: 'subscribe', params: { channels: ['market_lifecycle_v2'] } },
      { id: 2, cmd: 'subscribe', params: { channels: ['market_lifecycle_v2'] } },
    ]);
    expect(server.connections).toHaveLength(1);
    expect(socket.stats().resubscribes).toBe(1);
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
    const socket = makeSocket({ url: server.url, highWaterMark: HWM });
    socket.start();
    let expected = 1;
    let maxQueued = 0;
    let count = 0;
    for await (const frame of socket) {
      count++;
      if (count === 1) {
        expect(typeOf(frame)).toBe('subscribed');
        continue;
      }
      const seq = (JSON.parse(frame) as { seq: number }).seq;
      expect(seq).toBe(expected);
      expected++;
      maxQueued = Math.max(maxQueued, socket.stats().queued);
      if (count % 250 === 0) await new Promise((r) => setTimeout(r, 1));
      if (seq === TOTAL) break;
    }
    expect(expected - 1).toBe(TOTAL);
    const stats = socket.stats();
    expect(stats.pauses).toBeGreaterThanOrEqual(1);
    expect(stats.framesReceived).toBe(TOTAL + 1);
    // Frames already parsed when the pause happens are kept, so allow a few TCP reads of overshoot.
    expect(maxQueued).toBeLessThan(HWM * 10);
  });

  it('stop(): ends the iterator, closes with 1000, leaves no sockets or timers behind', async () => {
    const activeBefore = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const closeCodes: number[] = [];
    const server = await startServer((ws) => {
      ws.on('close', (code) => closeCodes.push(code));
      onSubscribe(ws, (cmd) => ws.send(subscribedFrame(cmd.id, 1)));
    });
    const statuses: LifecycleSocketStatus[] = [];
    const socket = makeSocket({ url: server.url });
    socket.onStatus((s) => statuses.push(s));
    socket.start();
    const it = socket[Symbol.asyncIterator]();
    await take(it, 1);
    const pending = it.next(); // waiting for a frame that never comes
    await socket.stop();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(await it.next()).toEqual({ done: true, value: undefined });
    await waitFor(() => closeCodes.length === 1);
    expect(closeCodes).toEqual([1000]);
    expect(statuses.at(-1)?.state).toBe('stopped');
    await socket.stop(); // idempotent
    expect(() => socket.start()).toThrow(LifecycleSocketError);

    await server.close();
    await waitFor(
      () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length <= activeBefore,
    );
  });

  it('allows one consumer at a time; break (return) stops the socket', async () => {
    const closeCodes: number[] = [];
    const server = await startServer((ws) => {
      ws.on('close', (code) => closeCodes.push(code));
      onSubscribe(ws, (cmd) => {
        ws.send(subscribedFrame(cmd.id, 1));
        ws.send(lifecycleFrame(1, 1));
      });
    });
    const socket = makeSocket({ url: server.url });
    // No start(): iterating starts it.
    const it = socket[Symbol.asyncIterator]();
    expect(() => socket[Symbol.asyncIterator]()).toThrow(/one consumer/);
    await take(it, 1);
    await it.return?.();
    await waitFor(() => closeCodes.length === 1);
    expect(closeCodes).toEqual([1000]);
    expect(socket.currentStatus().state).toBe('stopped');
  });

  it('abort signal stops the socket; an already-aborted signal never connects', async () => {
    const closeCodes: number[] = [];
    const server = await startServer((ws) => {
      ws.on('close', (code) => closeCodes.push(code));
      onSubscribe(ws, (cmd) => ws.send(subscribedFrame(cmd.id, 1)));
    });
    const ac = new AbortController();
    const socket = makeSocket({ url: server.url });
    socket.start(ac.signal);
    const it = socket[Symbol.asyncIterator]();
    await take(it, 1);
    const pending = it.next();
    ac.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
    await waitFor(() => closeCodes.length === 1);
    expect(closeCodes).toEqual([1000]);

    const socket2 = makeSocket({ url: server.url });
    socket2.start(AbortSignal.abort());
    expect(await socket2[Symbol.asyncIterator]().next()).toEqual({ done: true, value: undefined });
    expect(server.connections).toHaveLength(1);
  });

  it('401 handshake: status says to check the credentials; gives up after maxAttempts with a typed error', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const server = await startServer(() => undefined, {
      verifyClient: (_info, cb) => cb(false, 401, 'Unauthorized'),
    });
    const { logger, lines } = memoryLogger();
    const statuses: LifecycleSocketStatus[] = [];
    const socket = makeSocket({
      url: server.url,
      credentials: { keyId: 'bad-key', privateKey },
      logger,
      reconnect: { baseMs: 5, maxAttempts: 2 },
    });
    socket.onStatus((s) => statuses.push(s));
    socket.start();
    const it = socket[Symbol.asyncIterator]();
    const err = await it.next().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LifecycleSocketError);
    expect(err).toMatchObject({ code: 'GAVE_UP', httpStatus: 401 });
    expect((err as Error).message).toMatch(/401.*check the credentials/);
    expect(await it.next()).toEqual({ done: true, value: undefined });

    const reconnecting = statuses.filter((s) => s.state === 'reconnecting');
    expect(reconnecting.map((s) => s.attempt)).toEqual([1, 2]);
    for (const s of reconnecting) expect(s.error).toMatch(/HTTP 401: check the credentials/);
    expect(statuses.at(-1)).toMatchObject({ state: 'stopped', attempt: 3 });
    expect(socket.stats().connects).toBe(0);
    expect(lines.join('')).not.toContain('PRIVATE KEY');
  });

  it('rejects invalid options with an OptionsError', () => {
    expect(() => new LifecycleSocket({ url: 'https://example.com/trade-api/ws/v2' })).toThrow(OptionsError);
    expect(() => new LifecycleSocket({ url: 'ws://127.0.0.1:1/x', reconnect: { baseMs: 1000, maxMs: 10 } })).toThrow(
      /baseMs/,
    );
    expect(() => new LifecycleSocket({ url: 'ws://127.0.0.1:1/x', channels: [] })).toThrow(OptionsError);
    expect(
      () => new LifecycleSocket({ url: 'ws://u:p@127.0.0.1:1/x' }).currentStatus().url,
    ).not.toThrow();
    expect(new LifecycleSocket({ url: 'ws://u:p@127.0.0.1:1/x' }).currentStatus().url).toBe('ws://127.0.0.1:1/x');
  });
});
