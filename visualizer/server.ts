/**
 * The visualizer: a small HTTP + WebSocket server on 127.0.0.1 that serves one static page
 * (visualizer/public/) and feeds it the registry's live state.
 *
 *   GET /                    the page (plain HTML/CSS/JS, no build step, no CDN)
 *   GET /api/graphs          every statechart of machines/, generated from the definitions and
 *                            laid out with elkjs (computed once per server)
 *   GET /api/state           the current live state as one JSON document
 *   GET /machines/           index of the machine definitions
 *   GET /machines/<id>.json  `machine.toJSON()` of each machine (what Stately's tools load)
 *   WS  /ws                  `hello`, then `tick` messages (below)
 *
 * Throttling. Nothing per-market is ever sent: the page gets counts. Every `actorIntervalMs`
 * (100 ms) the server sends each client one `tick` with what changed since that client's last
 * tick: actors whose state changed (coalesced by the ActorTracker, so at most ~10 updates/s per
 * actor however busy it is), MarketChanges and rejected transitions newer than the client's
 * cursor (from 50-entry rings: at 1M created markets during sync the page sees the newest 50 and
 * the totals, never the flood), and every `snapshotIntervalMs` (300 ms) the registry summary
 * (phase, sync progress, exchange status, connection) and `stats()` (counts per status, counters).
 * A client whose socket has more than 1 MiB unsent is skipped until it drains; its cursors make
 * the next tick complete again.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, WebSocket } from 'ws';
import type { MarketChange } from '../src/domain/types.js';
import type { Logger } from '../src/log.js';
import type { MarketRegistry } from '../src/registry/create-registry.js';
import type { RejectedTransition } from '../src/registry/core.js';
import { machineIndexJson, machineJson } from './export.js';
import { MACHINES, machineToGraph, type ChartGraph, type MachineEntry } from './graph.js';
import { statePaths, type ActorRecord, type ActorTracker } from './inspection.js';
import { createElk, layoutChart, type LaidOutChart } from './layout.js';
import { LOOPBACK_HOSTS, isAllowedOrigin, isLoopbackHost } from './local-origin.js';

const PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), 'public');
const STATIC_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};
const RING_SIZE = 50;
const MAX_BUFFERED_BYTES = 1 << 20;

export interface VisualizerOptions {
  readonly registry: MarketRegistry;
  /**
   * The tracker whose `inspect` observer was given to createRegistry (see createActorTracker).
   * Without one the server polls `registry.actor` and its children instead.
   */
  readonly tracker?: ActorTracker;
  /** 0 (default) = any free port. */
  readonly port?: number;
  /** Loopback only. */
  readonly host?: (typeof LOOPBACK_HOSTS)[number];
  readonly logger?: Logger;
  /** Markets the exchange is expected to have (the simulator knows), for the sync progress bar. */
  readonly expectedMarkets?: () => number | null;
  /** Label shown in the page header, e.g. "simulator" or "prod". */
  readonly exchangeLabel?: string;
  readonly actorIntervalMs?: number;
  readonly snapshotIntervalMs?: number;
}

export interface Visualizer {
  /** http://127.0.0.1:PORT/ */
  readonly url: string;
  readonly port: number;
  /** Connected pages. */
  readonly clients: number;
  close(): Promise<void>;
}

/** Compact MarketChange for the page. */
interface ChangeItem {
  readonly seq: number;
  readonly at: number;
  readonly ticker: string;
  readonly eventType: MarketChange['eventType'];
  readonly oldStatus: string | null;
  readonly newStatus: string;
  readonly title: string | null;
}

interface RejectedItem {
  readonly seq: number;
  readonly at: number;
  readonly ticker: string;
  readonly status: string;
  readonly event: string;
  readonly source: string;
}

/** A MACHINES entry (all of it but the machine: whatever the page is told about it) and its chart. */
export interface ChartPayload extends Omit<MachineEntry, 'machine'> {
  readonly graph: ChartGraph;
  /** "compact" hides the REST `status_observed` transitions (lifecycle only); "full" has all. */
  readonly layouts: { readonly full: LaidOutChart; readonly compact: LaidOutChart | null };
}

let chartsCache: Promise<ChartPayload[]> | null = null;

/** Every machine of machines/, extracted and laid out (memoized: the definitions are static). */
export function buildCharts(): Promise<ChartPayload[]> {
  if (chartsCache) return chartsCache;
  const elk = createElk();
  chartsCache = Promise.all(
    MACHINES.map(async ({ machine, ...entry }) => {
      const graph = machineToGraph(machine);
      const observed = graph.edges.some((e) => e.eventType === 'status_observed');
      // Wide enough for the live row: instance chips or a market count.
      const liveRowMinWidth = entry.liveRowMinWidth ?? 170;
      const [full, compact] = await Promise.all([
        layoutChart(graph, { liveRow: true, liveRowMinWidth }, elk),
        observed ? layoutChart(graph, { liveRow: true, liveRowMinWidth, hideEvents: ['status_observed'] }, elk) : Promise.resolve(null),
      ]);
      return { ...entry, graph, layouts: { full, compact } };
    }),
  );
  chartsCache.then(
    () => elk.terminateWorker(),
    () => {
      elk.terminateWorker();
      chartsCache = null;
    },
  );
  return chartsCache;
}

/** A fixed-size ring of the newest items, each with a sequence number. */
class Ring<T> {
  readonly #items: (T | undefined)[];
  #seq = 0;
  constructor(readonly size: number) {
    this.#items = new Array<T | undefined>(size);
  }
  get seq(): number {
    return this.#seq;
  }
  push(item: T): void {
    this.#items[this.#seq % this.size] = item;
    this.#seq++;
  }
  /** Items with sequence number > since (at most `size`), oldest first, with their seq. */
  since(since: number): { seq: number; item: T }[] {
    const out: { seq: number; item: T }[] = [];
    for (let s = Math.max(since, this.#seq - this.size); s < this.#seq; s++) out.push({ seq: s + 1, item: this.#items[s % this.size] as T });
    return out;
  }
}

interface Client {
  readonly ws: WebSocket;
  actorVersion: number;
  changeSeq: number;
  rejectedSeq: number;
  lastSnapshotAt: number;
  skipped: number;
}

/** Polls the supervisor and its children when no inspection tracker was wired in. */
function pollActors(registry: MarketRegistry): ActorRecord[] {
  const out: ActorRecord[] = [];
  const root = registry.actor;
  if (root === null) return out;
  const visit = (ref: { id: string; sessionId: string; getSnapshot(): unknown; src?: unknown; logic?: unknown }, parent: ActorRecord | null) => {
    const snap = ref.getSnapshot() as { status?: string; value?: unknown; children?: Record<string, unknown>; machine?: { id?: string } };
    const machineId = snap.machine?.id ?? null;
    const name = parent === null ? (machineId ?? ref.id) : /^\d+\./.test(ref.id) && typeof ref.src === 'string' ? ref.src : ref.id;
    const record: ActorRecord = {
      sessionId: ref.sessionId,
      name,
      fullName: parent ? `${parent.fullName}/${name}` : name,
      parent: parent?.sessionId ?? null,
      kind: machineId === null ? 'actor' : 'machine',
      machineId,
      src: typeof ref.src === 'string' ? ref.src : null,
      status: snap.status ?? 'active',
      value: machineId === null ? null : (snap.value ?? null),
      paths: machineId === null ? [] : statePaths(snap.value),
      lastEvent: null,
      snapshots: 0,
      updatedAt: Date.now(),
    };
    out.push(record);
    for (const child of Object.values(snap.children ?? {})) if (child) visit(child as Parameters<typeof visit>[0], record);
  };
  visit(root, null);
  return out;
}

export async function startVisualizer(options: VisualizerOptions): Promise<Visualizer> {
  const { registry, tracker } = options;
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.includes(host)) throw new Error(`the visualizer only listens on loopback (127.0.0.1), not ${host}`);
  const actorIntervalMs = options.actorIntervalMs ?? 100;
  const snapshotIntervalMs = options.snapshotIntervalMs ?? 300;
  const logger = options.logger;

  const files = new Map<string, Buffer>();
  for (const { file } of Object.values(STATIC_FILES)) if (!files.has(file)) files.set(file, await readFile(join(PUBLIC_DIR, file)));
  // Laid out on the first page load (in a worker thread), not before: nobody may ever open it.
  const charts = async () =>
    buildCharts().catch((err: unknown) => {
      logger?.error({ err }, 'visualizer: statechart layout failed');
      throw err;
    });

  // Changes and rejections: the listeners only store a reference (O(1), no allocation beyond
  // the ring slot); serialization happens per tick.
  const changes = new Ring<{ change: MarketChange; at: number }>(RING_SIZE);
  const rejected = new Ring<{ r: RejectedTransition; at: number }>(RING_SIZE);
  const offChange = registry.onChange((change) => changes.push({ change, at: Date.now() }));
  const offRejected = registry.onRejected((r) => rejected.push({ r, at: Date.now() }));
  const changeItem = ({ seq, item }: { seq: number; item: { change: MarketChange; at: number } }): ChangeItem => ({
    seq,
    at: item.at,
    ticker: item.change.ticker,
    eventType: item.change.eventType,
    oldStatus: item.change.oldStatus,
    newStatus: item.change.newStatus,
    title: item.change.market?.title ?? null,
  });
  const rejectedItem = ({ seq, item }: { seq: number; item: { r: RejectedTransition; at: number } }): RejectedItem => ({
    seq,
    at: item.at,
    ticker: item.r.ticker,
    status: item.r.status,
    event: item.r.event,
    source: item.r.source,
  });

  let polledVersion = 0;
  let lastPolled = '';
  let polled: ActorRecord[] = [];
  const actorsSince = (since: number): { version: number; actors: ActorRecord[]; removed: string[] } => {
    if (tracker) return tracker.changesSince(since);
    const now = pollActors(registry);
    const key = JSON.stringify(now.map((a) => [a.sessionId, a.status, a.value]));
    if (key !== lastPolled) {
      lastPolled = key;
      polled = now;
      polledVersion++;
    }
    return since >= polledVersion ? { version: polledVersion, actors: [], removed: [] } : { version: polledVersion, actors: polled, removed: [] };
  };
  const liveSnapshot = () => ({
    summary: registry.summary.getSnapshot().context,
    stats: registry.stats(),
    expectedMarkets: options.expectedMarkets?.() ?? null,
  });
  const stateDocument = () => ({
    at: Date.now(),
    ...liveSnapshot(),
    actors: tracker ? tracker.all() : pollActors(registry),
    changes: changes.since(0).map(changeItem),
    changeTotal: changes.seq,
    rejected: rejected.since(0).map(rejectedItem),
    rejectedTotal: rejected.seq,
    inspection: tracker ? { mode: 'events', ...tracker.stats } : { mode: 'polling' },
  });

  let port = 0;
  const allowedHost = (value: string | undefined): boolean => isLoopbackHost(value, port);
  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer) => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(body);
  };
  const json = (res: ServerResponse, body: unknown) =>
    send(res, 200, 'application/json; charset=utf-8', typeof body === 'string' ? body : JSON.stringify(body));

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Loopback only, and a Host check so a DNS-rebinding page cannot read the registry.
    if (!allowedHost(req.headers.host)) return send(res, 403, 'text/plain', 'forbidden host\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n');
    const path = new URL(req.url ?? '/', `http://${req.headers.host}`).pathname;
    const staticFile = STATIC_FILES[path];
    if (staticFile) return send(res, 200, staticFile.type, files.get(staticFile.file) as Buffer);
    if (path === '/api/graphs') return json(res, { machines: await charts() });
    if (path === '/api/state') return json(res, stateDocument());
    if (path === '/healthz') return send(res, 200, 'text/plain', 'ok\n');
    if (path === '/favicon.ico') {
      res.writeHead(204);
      return void res.end();
    }
    if (path === '/machines' || path === '/machines/' || path === '/machines/index.json') return json(res, machineIndexJson());
    const m = /^\/machines\/([A-Za-z0-9_-]+)\.json$/.exec(path);
    const entry = m ? MACHINES.find((e) => e.id === m[1]) : undefined;
    if (entry) return json(res, machineJson(entry));
    return send(res, 404, 'text/plain', 'not found\n');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger?.error({ err }, 'visualizer request failed');
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    });
  });
  const clients = new Set<Client>();
  const wss = new WebSocketServer({
    server,
    path: '/ws',
    maxPayload: 4096,
    verifyClient: ({ req, origin }: { req: IncomingMessage; origin: string }) => {
      if (!allowedHost(req.headers.host)) return false;
      // Browsers always send Origin: only the page itself may connect.
      return isAllowedOrigin(origin, port);
    },
  });
  wss.on('connection', (ws) => {
    const client: Client = { ws, actorVersion: 0, changeSeq: 0, rejectedSeq: 0, lastSnapshotAt: 0, skipped: 0 };
    clients.add(client);
    ws.on('close', () => clients.delete(client));
    ws.on('error', () => clients.delete(client));
    ws.send(
      JSON.stringify({
        type: 'hello',
        version: 1,
        exchange: options.exchangeLabel ?? null,
        inspection: tracker ? 'events' : 'polling',
        actorIntervalMs,
        snapshotIntervalMs,
        ringSize: RING_SIZE,
      }),
    );
    tick(Date.now(), client);
  });

  const tick = (now: number, only?: Client): void => {
    let live: ReturnType<typeof liveSnapshot> | null = null;
    const targets = only ? [only] : clients;
    for (const client of targets) {
      if (client.ws.readyState !== WebSocket.OPEN) continue;
      if (client.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        client.skipped++;
        continue;
      }
      const msg: Record<string, unknown> = { type: 'tick', at: now };
      let any = false;
      const a = actorsSince(client.actorVersion);
      if (a.actors.length > 0 || a.removed.length > 0) {
        msg['actors'] = a.actors;
        msg['removedActors'] = a.removed;
        any = true;
      }
      client.actorVersion = a.version;
      if (changes.seq > client.changeSeq) {
        msg['changes'] = changes.since(client.changeSeq).map(changeItem);
        client.changeSeq = changes.seq;
        any = true;
      }
      if (rejected.seq > client.rejectedSeq) {
        msg['rejected'] = rejected.since(client.rejectedSeq).map(rejectedItem);
        client.rejectedSeq = rejected.seq;
        any = true;
      }
      msg['changeTotal'] = changes.seq;
      msg['rejectedTotal'] = rejected.seq;
      if (now - client.lastSnapshotAt >= snapshotIntervalMs) {
        live ??= liveSnapshot();
        Object.assign(msg, live);
        client.lastSnapshotAt = now;
        any = true;
      }
      if (any) client.ws.send(JSON.stringify(msg));
    }
  };
  const timer = setInterval(() => {
    if (clients.size > 0) tick(Date.now());
    else if (tracker) tracker.changesSince(Number.MAX_SAFE_INTEGER); // prune finished actors
  }, actorIntervalMs);
  timer.unref();

  // The WebSocketServer re-emits every 'error' of the HTTP server (EADDRINUSE included): without
  // a listener of its own that is an uncaught exception, and the caller's fallback to another
  // port never runs. The server's errors are handled here: listen failures reject, later ones
  // are logged.
  let listening = false;
  wss.on('error', () => {});
  server.on('error', (err) => {
    if (listening) logger?.error({ err }, 'visualizer server error');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      listening = true;
      resolve();
    });
  }).catch((err: unknown) => {
    clearInterval(timer);
    offChange();
    offRejected();
    wss.close();
    throw err;
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://${host === '::1' ? '[::1]' : host}:${port}/`;
  logger?.info({ url }, 'visualizer listening');

  let closed: Promise<void> | null = null;
  return {
    url,
    port,
    get clients() {
      return clients.size;
    },
    close() {
      closed ??= (async () => {
        clearInterval(timer);
        offChange();
        offRejected();
        for (const c of clients) c.ws.terminate();
        clients.clear();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closed;
    },
  };
}
