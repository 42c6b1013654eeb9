/**
 * The Stately inspector route (`--inspect`): every XState inspection event of the registry's
 * actor system goes through @statelyai/inspect's `createWebSocketInspector` to a WebSocket
 * relay, where the Stately inspector UI (https://stately.ai/inspect) or any
 * `createWebSocketReceiver` can watch it.
 *
 * By default this module runs the relay itself on 127.0.0.1 (like @statelyai/inspect/server's
 * `createInspectorServer`, which listens on every interface and opens a browser): GET / is a
 * bridge page that embeds the Stately inspector and forwards the relayed events into it with
 * postMessage (the page needs internet access for the inspector UI itself; the registry does
 * not). With `url` it connects to an existing relay instead, e.g. one started with
 * `createInspectorServer()` on ws://localhost:8080.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebSocketInspector } from '@statelyai/inspect';
import type { InspectionEvent, Observer } from 'xstate';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { LOOPBACK_HOSTS, isAllowedOrigin, isLoopbackHost, type LoopbackHost } from './local-origin.js';

const STATELY_INSPECTOR_URL = 'https://stately.ai/inspect';

export interface StatelyBridge {
  /** The bridge page: open it in a browser to see the Stately inspector. */
  readonly pageUrl: string;
  /** Where inspectors send and receivers listen. */
  readonly wsUrl: string;
  readonly port: number;
  /** What the relay has done and holds (see startStatelyBridge). */
  stats(): StatelyBridgeStats;
  close(): Promise<void>;
}

function bridgeHtml(inspectorUrl: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Stately inspector · kalshi-market-registry</title>
<style>html,body{margin:0;height:100%}iframe{border:0;width:100%;height:100%}</style></head>
<body><iframe id="inspector" src="${inspectorUrl}"></iframe>
<script>
  // Relayed inspection events are buffered until the inspector says it is ready.
  const iframe = document.getElementById('inspector');
  const buffer = [];
  let connected = false;
  window.addEventListener('message', (e) => {
    if (e.data && e.data.type === '@statelyai.connected') {
      connected = true;
      for (const ev of buffer.splice(0)) iframe.contentWindow.postMessage(ev, '*');
    }
  });
  const ws = new WebSocket('ws://' + location.host + '/');
  ws.onmessage = (m) => {
    const data = JSON.parse(m.data);
    if (connected) iframe.contentWindow.postMessage(data, '*');
    else buffer.push(data);
  };
</script></body></html>`;
}

/** Largest message the relay accepts (real inspection events are a few KiB; see README). */
export const MAX_MESSAGE_BYTES = 1 << 20;
/** What the relay keeps for late joiners: actor registrations, and the newest other events. */
export const RETAINED_ACTORS = { count: 1000, bytes: 4 << 20 } as const;
export const RETAINED_RECENT = { count: 200, bytes: 4 << 20 } as const;
/** A receiver with more than this unsent is skipped (messages dropped for it) until it drains. */
const MAX_BUFFERED_BYTES = 4 << 20;
const MAX_CLIENTS = 64;

/** The newest messages, at most `count` of them and `bytes` in total (oldest dropped first). */
class BoundedLog {
  readonly #items: Buffer[] = [];
  #bytes = 0;
  constructor(
    readonly count: number,
    readonly bytes: number,
  ) {}
  get size(): number {
    return this.#items.length;
  }
  get totalBytes(): number {
    return this.#bytes;
  }
  get items(): readonly Buffer[] {
    return this.#items;
  }
  push(msg: Buffer): void {
    this.#items.push(msg);
    this.#bytes += msg.length;
    while (this.#items.length > this.count || this.#bytes > this.bytes) this.#bytes -= (this.#items.shift() as Buffer).length;
  }
}

interface StatelyBridgeStats {
  /** Messages relayed, and refused (binary frames). */
  readonly messages: number;
  readonly refusedMessages: number;
  /** Connections and HTTP requests refused by the Host / Origin check (or the client limit). */
  readonly refusedConnections: number;
  readonly refusedRequests: number;
  /** Messages not sent to a receiver that had fallen behind. */
  readonly dropped: number;
  /** Retained for late joiners. */
  readonly retainedMessages: number;
  readonly retainedBytes: number;
  readonly clients: number;
}

/**
 * A WebSocket relay on loopback: every message a client sends goes to every other client.
 * Actor registrations are kept and replayed to late joiners with the newest other events, so
 * a viewer opened after start-up still sees the whole actor tree; both are bounded in count and
 * bytes (RETAINED_ACTORS, RETAINED_RECENT), and a message over MAX_MESSAGE_BYTES closes the
 * sender's connection (1009) before it is buffered. Like the visualizer server, it answers only
 * requests whose Host is the loopback address it serves, and WebSocket handshakes without an
 * Origin (programs) or from its own bridge page: another web page cannot read the events.
 */
export async function startStatelyBridge(options: { port?: number; host?: LoopbackHost; inspectorUrl?: string } = {}): Promise<StatelyBridge> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.includes(host)) throw new Error(`the inspector relay only listens on loopback (127.0.0.1), not ${host}`);
  const html = bridgeHtml(options.inspectorUrl ?? STATELY_INSPECTOR_URL);
  let port = 0;
  const counters = { messages: 0, refusedMessages: 0, refusedConnections: 0, refusedRequests: 0, dropped: 0 };
  const server = createServer((req, res) => {
    if (!isLoopbackHost(req.headers.host, port)) {
      counters.refusedRequests++;
      res.writeHead(403, { 'content-type': 'text/plain' });
      return void res.end('forbidden host\n');
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(html);
  });
  const wss = new WebSocketServer({
    server,
    maxPayload: MAX_MESSAGE_BYTES,
    verifyClient: ({ req, origin }: { req: IncomingMessage; origin: string }, done: (ok: boolean, code?: number, message?: string) => void) => {
      if (!isLoopbackHost(req.headers.host, port) || !isAllowedOrigin(origin, port)) {
        counters.refusedConnections++;
        return done(false, 403, 'forbidden origin');
      }
      if (wss.clients.size >= MAX_CLIENTS) {
        counters.refusedConnections++;
        return done(false, 503, 'too many clients');
      }
      done(true);
    },
  });
  // ws re-emits the HTTP server's errors (EADDRINUSE on listen) on itself: without a listener
  // that is an uncaught 'error'. The server's own listen callback reports them.
  wss.on('error', () => {});
  const actors = new BoundedLog(RETAINED_ACTORS.count, RETAINED_ACTORS.bytes);
  const recent = new BoundedLog(RETAINED_RECENT.count, RETAINED_RECENT.bytes);
  const sendText = (ws: WebSocket, msg: Buffer) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      counters.dropped++;
      return;
    }
    ws.send(msg, { binary: false });
  };
  wss.on('connection', (ws: WebSocket) => {
    ws.on('error', () => ws.terminate()); // e.g. 1009 (message too big): the socket is closed
    for (const msg of [...actors.items, ...recent.items]) sendText(ws, msg);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      // Inspection events are JSON text; ws hands a text message over as one Buffer.
      if (isBinary || !Buffer.isBuffer(data)) {
        counters.refusedMessages++;
        return;
      }
      counters.messages++;
      (data.includes('"type":"@xstate.actor"') ? actors : recent).push(data);
      for (const client of wss.clients) if (client !== ws) sendText(client, data);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const hostPart = host === '::1' ? '[::1]' : host;
  return {
    pageUrl: `http://${hostPart}:${port}/`,
    wsUrl: `ws://${hostPart}:${port}/`,
    port,
    stats: () => ({
      ...counters,
      retainedMessages: actors.size + recent.size,
      retainedBytes: actors.totalBytes + recent.totalBytes,
      clients: wss.clients.size,
    }),
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface StatelyInspection {
  /** Pass to createRegistry's `inspect` option (or combine it with others). */
  readonly inspect: Observer<InspectionEvent>;
  /** The bridge page, when this module runs the relay. */
  readonly pageUrl: string | null;
  readonly wsUrl: string;
  /** Human instructions: how to connect. */
  readonly instructions: string;
  close(): Promise<void>;
}

/** Starts a relay on 127.0.0.1 (or uses `url`) and a WebSocket inspector sending to it. */
export async function startStatelyInspection(options: { port?: number; url?: string } = {}): Promise<StatelyInspection> {
  let bridge: StatelyBridge | null = null;
  let wsUrl: string;
  if (options.url === undefined) {
    bridge = await startStatelyBridge({ ...(options.port !== undefined ? { port: options.port } : {}) });
    wsUrl = bridge.wsUrl;
  } else wsUrl = options.url;
  const inspector = createWebSocketInspector({ url: wsUrl });
  const instructions = bridge
    ? `Stately inspector: open ${bridge.pageUrl} (embeds ${STATELY_INSPECTOR_URL}; the browser needs internet for it), ` +
      `or subscribe with createWebSocketReceiver({ server: '${wsUrl}' })`
    : `Stately inspector: sending inspection events to ${wsUrl}`;
  return {
    inspect: inspector.inspect,
    pageUrl: bridge?.pageUrl ?? null,
    wsUrl,
    instructions,
    async close() {
      inspector.stop();
      await bridge?.close();
    },
  };
}
