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

export const STATELY_INSPECTOR_URL = 'https://stately.ai/inspect';

export interface StatelyBridge {
  /** The bridge page: open it in a browser to see the Stately inspector. */
  readonly pageUrl: string;
  /** Where inspectors send and receivers listen. */
  readonly wsUrl: string;
  readonly port: number;
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

/**
 * A WebSocket relay on loopback: every message a client sends goes to every other client.
 * Actor registrations are kept (bounded) and replayed to late joiners with the last 200 other
 * events, so a viewer opened after start-up still sees the whole actor tree.
 */
export async function startStatelyBridge(options: { port?: number; host?: '127.0.0.1' | 'localhost' | '::1'; inspectorUrl?: string } = {}): Promise<StatelyBridge> {
  const host = options.host ?? '127.0.0.1';
  const html = bridgeHtml(options.inspectorUrl ?? STATELY_INSPECTOR_URL);
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
  });
  const wss = new WebSocketServer({ server, maxPayload: 16 << 20 });
  const actors: string[] = [];
  const recent: string[] = [];
  wss.on('connection', (ws: WebSocket, _req: IncomingMessage) => {
    for (const msg of [...actors, ...recent]) ws.send(msg);
    ws.on('message', (data: RawData) => {
      const msg = data.toString();
      if (msg.includes('"type":"@xstate.actor"')) {
        actors.push(msg);
        if (actors.length > 1000) actors.shift();
      } else {
        recent.push(msg);
        if (recent.length > 200) recent.shift();
      }
      for (const client of wss.clients) if (client !== ws && client.readyState === WebSocket.OPEN) client.send(msg);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostPart = host === '::1' ? '[::1]' : host;
  return {
    pageUrl: `http://${hostPart}:${port}/`,
    wsUrl: `ws://${hostPart}:${port}/`,
    port,
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
  const bridge = options.url === undefined ? await startStatelyBridge({ ...(options.port !== undefined ? { port: options.port } : {}) }) : null;
  const wsUrl = bridge?.wsUrl ?? (options.url as string);
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
