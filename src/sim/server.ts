/**
 * HTTP (REST + admin) and WebSocket front end of the simulated exchange, and the public
 * `SimExchange` handle returned by `startSimExchange`.
 */
import { constants as cryptoConstants, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { gzip as gzipCb } from 'node:zlib';
import { promisify } from 'node:util';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import { MARKET_STATUS_FILTERS, type KalshiMarket, type MarketStatus } from '../kalshi/schemas.js';
import { silentLogger } from '../log.js';
import { OptionsError, formatIssues } from '../errors.js';
import {
  LIFECYCLE_CHANNELS,
  SimCore,
  SimOperationError,
  type CreateComboMarketInput,
  type CreateMarketInput,
  type LifecycleChannel,
  type FeeOverride,
  type MetadataUpdate,
  type RandomLifecycleOptions,
  type SimConnection,
  type SimOpResult,
  type SimStats,
} from './exchange.js';
import { DEFAULT_STATUS_MIX, SimExchangeOptionsSchema, rangeOf, type ResolvedSimOptions, type SimExchangeOptions } from './options.js';
import { FILTER_MASK, generateStore, type EventQuery, type MarketQuery, type SimResult } from './store.js';
import { adminOp, AdminRequestSchema } from './admin.js';
import { rawDataToString } from '../util/ws-data.js';

const gzip = promisify(gzipCb);
const REST_PREFIX = '/trade-api/v2';
const WS_PATH = '/trade-api/ws/v2';

/** Kalshi's ErrorResponse code for an HTTP status (lowercase snake case, as Kalshi's errors carry). */
function errorCode(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_parameters';
    case 401:
      return 'unauthorized';
    case 404:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 429:
      return 'too_many_requests';
    case 503:
      return 'service_unavailable';
    default:
      return status >= 500 ? 'internal_server_error' : 'bad_request';
  }
}
const ERROR_MESSAGE: Readonly<Record<string, string>> = {
  invalid_parameters: 'invalid parameters',
  unauthorized: 'unauthorized',
  not_found: 'not found',
  method_not_allowed: 'method not allowed',
  too_many_requests: 'too many requests',
  service_unavailable: 'service unavailable',
  internal_server_error: 'internal server error',
  bad_request: 'bad request',
};
/**
 * A REST error body of Kalshi's shape: `{"error":{"code":…,"details":…,"message":…}}` (the
 * OpenAPI ErrorResponse, wrapped in `error` as Kalshi sends it; keys alphabetical, `details`
 * only when there is something to add).
 */
function restErrorBody(status: number, details?: string, message?: string): string {
  const code = errorCode(status);
  const msg = message ?? ERROR_MESSAGE[code] ?? code;
  return JSON.stringify({ error: details === undefined || details === msg ? { code, message: msg } : { code, details, message: msg } });
}

/** A REST error: status, and details for Kalshi's ErrorResponse. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
/** An error of the sim's own admin API (`{"error":"…"}`). */
class AdminError extends HttpError {}

/** Whether an authority ("127.0.0.1:8080", "[::1]:8080", "localhost:8080") is loopback with `port`. */
function isLoopbackAuthority(authority: string | undefined, port: number, anyPort = false): boolean {
  if (authority === undefined) return false;
  const m = /^(\[::1\]|127\.0\.0\.1|localhost)(?::(\d{1,5}))?$/i.exec(authority.trim());
  if (!m) return false;
  if (anyPort) return true;
  return m[2] === undefined ? port === 80 : Number(m[2]) === port;
}

/** Cursor = opaque encoding of the next stable index to examine ("" when done). */
function encodeCursor(kind: 'm' | 'e', next: number): string {
  return next < 0 ? '' : Buffer.from(`${kind}1:${next}`).toString('base64url');
}
function decodeCursor(kind: 'm' | 'e', cursor: string | null): number {
  if (cursor === null || cursor === '') return 0;
  const m = /^([me])1:(\d{1,10})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  if (!m || m[1] !== kind) throw new HttpError(400, 'invalid cursor');
  return Number(m[2]);
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const all = q.getAll(name);
  if (all.length === 0 || all[0] === '') return undefined;
  if (all.length > 1) throw new HttpError(400, `${name} may be given only once`);
  const v = all[0] ?? '';
  if (!/^-?\d{1,15}$/.test(v)) throw new HttpError(400, `${name} must be an integer, got ${JSON.stringify(v)}`);
  return Number(v);
}
function strParam(q: URLSearchParams, name: string): string | undefined {
  const all = q.getAll(name);
  if (all.length === 0 || all[0] === '') return undefined;
  if (all.length > 1) throw new HttpError(400, `${name} may be given only once`);
  return all[0];
}

export class SimExchange {
  readonly restUrl: string;
  readonly wsUrl: string;
  readonly core: SimCore;
  private readonly pingTimer: NodeJS.Timeout;
  private closed = false;
  private readonly publicKey: KeyObject | undefined;

  /** @internal use startSimExchange */
  constructor(
    readonly port: number,
    host: string,
    core: SimCore,
    private readonly opts: ResolvedSimOptions,
    private readonly server: Server,
    private readonly wss: WebSocketServer,
  ) {
    this.core = core;
    const h = host.includes(':') ? `[${host}]` : host;
    this.restUrl = `http://${h}:${port}${REST_PREFIX}`;
    this.wsUrl = `ws://${h}:${port}${WS_PATH}`;
    this.publicKey = opts.publicKey === undefined ? undefined : typeof opts.publicKey === 'string' ? createPublicKey(opts.publicKey) : opts.publicKey;
    this.pingTimer = setInterval(() => {
      for (const c of this.core.connections) if (c.ws.readyState === 1) c.ws.ping('heartbeat');
    }, opts.pingIntervalMs);
    this.pingTimer.unref();
    server.on('request', (req, res) => {
      this.handle(req, res).catch((err: unknown) => this.fail(res, err));
    });
    server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    wss.on('connection', (ws) => this.onConnection(ws));
  }

  // ------------------------------------------------------------------------------------------
  // Truth / ops (delegates)

  get marketCount(): number {
    return this.core.store.count;
  }
  get eventCount(): number {
    return this.core.store.evTicker.length;
  }
  get stats(): SimStats {
    return this.core.stats;
  }
  getMarket(ticker: string): KalshiMarket | undefined {
    return this.core.getMarket(ticker);
  }
  tickers(): string[] {
    return this.core.store.ticker.slice(0, this.core.store.count);
  }
  eventTickers(): string[] {
    return this.core.store.evTicker.slice();
  }
  statusCounts(): Record<MarketStatus, number> {
    return this.core.statusCounts();
  }
  snapshot(): Map<string, KalshiMarket> {
    const out = new Map<string, KalshiMarket>();
    const st = this.core.store;
    const now = Date.now();
    for (let i = 0; i < st.count; i++) {
      st.effStatus(i, now);
      out.set(st.ticker[i] ?? '', JSON.parse(st.marketJson(i)) as KalshiMarket);
    }
    return out;
  }
  createMarket(partial?: CreateMarketInput): SimOpResult {
    return this.core.createMarket(partial);
  }
  /** A combo (multivariate) market; its frames go out on multivariate_market_lifecycle only. */
  createComboMarket(input?: CreateComboMarketInput): SimOpResult {
    return this.core.createComboMarket(input);
  }
  /** Tickers of the combo (multivariate) markets. */
  comboTickers(): string[] {
    const st = this.core.store;
    const out: string[] = [];
    for (let i = 0; i < st.count; i++) if (st.mve[i] === 1) out.push(st.ticker[i] ?? '');
    return out;
  }
  deactivate(ticker: string): SimOpResult {
    return this.core.deactivate(ticker);
  }
  activate(ticker: string): SimOpResult {
    return this.core.activate(ticker);
  }
  updateCloseTime(ticker: string, closeTsSeconds: number): SimOpResult {
    return this.core.updateCloseTime(ticker, closeTsSeconds);
  }
  reopen(ticker: string, newCloseTsSeconds: number): SimOpResult {
    return this.core.reopen(ticker, newCloseTsSeconds);
  }
  determine(ticker: string, result?: SimResult, settlementValue?: string): SimOpResult {
    return this.core.determine(ticker, result, settlementValue);
  }
  dispute(ticker: string): SimOpResult {
    return this.core.dispute(ticker);
  }
  amend(ticker: string, result?: SimResult): SimOpResult {
    return this.core.amend(ticker, result);
  }
  settle(ticker: string): SimOpResult {
    return this.core.settle(ticker);
  }
  updatePriceLevelStructure(ticker: string, priceLevelStructure?: string): SimOpResult {
    return this.core.updatePriceLevelStructure(ticker, priceLevelStructure);
  }
  updateMetadata(ticker: string, update?: MetadataUpdate): SimOpResult {
    return this.core.updateMetadata(ticker, update);
  }
  feeUpdate(eventTicker: string, fee?: FeeOverride): SimOpResult {
    return this.core.feeUpdate(eventTicker, fee);
  }
  startRandomLifecycle(opts?: RandomLifecycleOptions): void {
    this.core.startRandomLifecycle(opts);
  }
  stopRandomLifecycle(): void {
    this.core.stopRandomLifecycle();
  }
  /** One random legal operation right now (what the random stream does on each tick). */
  randomOp(): SimOpResult | undefined {
    return this.core.randomOp();
  }

  // ------------------------------------------------------------------------------------------
  // Faults

  /** The next n REST requests answer 429 {"error":{"code":"too_many_requests",…}} (no Retry-After). */
  rest429(n: number): void {
    this.core.faults.rest429 = n;
  }
  /** The next n REST requests answer `status` (default 500). */
  rest5xx(n: number, status = 500): void {
    if (status < 500 || status > 599) throw new SimOperationError('rest5xx status must be 500..599');
    this.core.faults.rest5xx = n;
    this.core.faults.rest5xxStatus = status;
  }
  /** Maintenance: /exchange/status → 503 with exchange_active:false; other REST → 503; WS upgrades refused. */
  maintenance(on: boolean, estimatedResumeTime?: string): void {
    this.core.faults.maintenance = on;
    this.core.faults.maintenanceResumeTime = on ? (estimatedResumeTime ?? new Date(Date.now() + 2 * 3_600_000).toISOString()) : null;
  }
  /** Breaks these tickers' records (or a fraction `rate` of all records) on GET /markets pages. */
  malformRecords(what: readonly string[] | number): void {
    if (typeof what === 'number') {
      if (!(what >= 0 && what <= 1)) throw new SimOperationError('malform rate must be in [0, 1]');
      this.core.faults.malformRate = what;
    } else for (const t of what) this.core.faults.malformTickers.add(t);
  }
  /** Terminates every WebSocket client. */
  dropConnections(): void {
    for (const c of this.core.connections) c.ws.terminate();
  }
  /** The next n lifecycle frames are not delivered, but seq advances (a gap). */
  skipSeq(n: number): void {
    this.core.faults.skipSeq = n;
  }
  /** The next n lifecycle frames are delivered twice (same seq). */
  duplicateNext(n: number): void {
    this.core.faults.duplicateNext = n;
  }
  /** Sends raw text to every connection holding a lifecycle subscription (either channel). */
  sendRaw(text: string): void {
    for (const c of this.core.connections) if (c.subs.size > 0) this.core.send(c, text);
  }
  /** Sends error `code` (10 or 25) to every lifecycle subscription (both channels) and drops it (Kalshi's terminal errors). */
  wsError(code: 10 | 25 = 10): void {
    for (const c of this.core.connections) this.core.dropSubscription(c, code, code === 25 ? 'Subscription buffer overflow' : 'Channel error');
  }
  /** Clears every fault switch. */
  clearFaults(): void {
    const f = this.core.faults;
    f.rest429 = 0;
    f.rest5xx = 0;
    f.maintenance = false;
    f.maintenanceResumeTime = null;
    f.malformTickers.clear();
    f.malformRate = 0;
    f.skipSeq = 0;
    f.duplicateNext = 0;
  }

  state(): Record<string, unknown> {
    const f = this.core.faults;
    return {
      restUrl: this.restUrl,
      wsUrl: this.wsUrl,
      marketCount: this.marketCount,
      eventCount: this.eventCount,
      statusCounts: this.statusCounts(),
      stats: this.core.stats,
      faults: { ...f, malformTickers: [...f.malformTickers] },
      randomLifecycle: this.core.randomLifecycleRunning,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.core.stopRandomLifecycle();
    clearInterval(this.pingTimer);
    for (const c of this.core.connections) c.ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ------------------------------------------------------------------------------------------
  // HTTP

  /** Without `req` the body goes out as is, synchronously; with it, gzipped when the client accepts that (a promise). */
  private sendJson(res: ServerResponse, status: number, body: string | Buffer): void;
  private sendJson(res: ServerResponse, status: number, body: string | Buffer, req: IncomingMessage): void | Promise<void>;
  private sendJson(res: ServerResponse, status: number, body: string | Buffer, req?: IncomingMessage): void | Promise<void> {
    if (res.headersSent || res.destroyed) return;
    if (this.opts.gzip && req && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
      return gzip(body).then((buf) => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'gzip', 'content-length': buf.length });
        res.end(buf);
      });
    }
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.length,
    });
    res.end(body);
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (err instanceof AdminError) this.sendJson(res, err.status, JSON.stringify({ error: err.message }));
    else if (err instanceof HttpError) this.sendJson(res, err.status, restErrorBody(err.status, err.message));
    else if (err instanceof SimOperationError) this.sendJson(res, 409, JSON.stringify({ error: err.message }));
    else {
      this.core.log.error({ err }, 'sim request failed');
      this.sendJson(res, 500, restErrorBody(500));
    }
  }

  private authorized(req: IncomingMessage, path: string): boolean {
    if (!this.opts.requireAuth) return true;
    const key = req.headers['kalshi-access-key'];
    const ts = req.headers['kalshi-access-timestamp'];
    const sig = req.headers['kalshi-access-signature'];
    if (typeof key !== 'string' || typeof ts !== 'string' || typeof sig !== 'string' || !key || !ts || !sig) return false;
    if (!this.publicKey) return true;
    try {
      return verify(
        'sha256',
        Buffer.from(ts + (req.method ?? 'GET').toUpperCase() + path),
        { key: this.publicKey, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: cryptoConstants.RSA_PSS_SALTLEN_DIGEST },
        Buffer.from(sig, 'base64'),
      );
    } catch {
      return false;
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const qi = url.indexOf('?');
    const path = qi < 0 ? url : url.slice(0, qi);
    const query = new URLSearchParams(qi < 0 ? '' : url.slice(qi + 1));
    if (path.startsWith('/_sim/')) return this.handleAdmin(req, res, path);
    if (!path.startsWith(REST_PREFIX + '/')) throw new HttpError(404, `no route ${path}`);
    const route = path.slice(REST_PREFIX.length);
    const key = routeKey(req.method ?? 'GET', route);
    const stats = this.core.stats;
    stats.rest[key] = (stats.rest[key] ?? 0) + 1;
    if (!this.authorized(req, path)) {
      stats.restUnauthorized++;
      return this.sendJson(res, 401, restErrorBody(401));
    }
    const f = this.core.faults;
    if (f.rest429 > 0) {
      f.rest429--;
      stats.rest429Served++;
      return this.sendJson(res, 429, restErrorBody(429));
    }
    if (f.rest5xx > 0) {
      f.rest5xx--;
      stats.rest5xxServed++;
      return this.sendJson(res, f.rest5xxStatus, restErrorBody(f.rest5xxStatus));
    }
    if (f.maintenance) {
      stats.restMaintenance503++;
      if (route === '/exchange/status') return this.sendJson(res, 503, this.exchangeStatusBody());
      return this.sendJson(res, 503, restErrorBody(503, 'exchange is under maintenance'));
    }
    if (req.method !== 'GET') throw new HttpError(405, `${req.method ?? ''} is not allowed on ${route}`);
    if (route === '/markets') {
      const t0 = performance.now();
      const body = this.marketsPage(query);
      stats.marketsPagesServed++;
      stats.marketsPageBuildMs += performance.now() - t0;
      return this.sendJson(res, 200, body, req);
    }
    if (route === '/events') return this.sendJson(res, 200, this.eventsPage(query, false), req);
    if (route === '/events/multivariate') return this.sendJson(res, 200, this.eventsPage(query, true), req);
    if (route === '/exchange/status') return this.sendJson(res, 200, this.exchangeStatusBody(), req);
    if (route === '/series') return this.sendJson(res, 200, this.seriesList(query), req);
    let m = /^\/markets\/([^/]+)$/.exec(route);
    if (m) return this.sendJson(res, ...this.singleMarket(decodeURIComponent(m[1] ?? '')), req);
    m = /^\/events\/([^/]+)$/.exec(route);
    if (m) return this.sendJson(res, ...this.singleEvent(decodeURIComponent(m[1] ?? ''), query), req);
    m = /^\/series\/([^/]+)$/.exec(route);
    if (m) return this.sendJson(res, ...this.singleSeries(decodeURIComponent(m[1] ?? ''), query), req);
    throw new HttpError(404, `no route ${route}`);
  }

  private exchangeStatusBody(): string {
    const f = this.core.faults;
    const active = !f.maintenance;
    // Keys alphabetical, as in the recorded GET /exchange/status body.
    return JSON.stringify({
      exchange_active: active,
      exchange_estimated_resume_time: f.maintenanceResumeTime,
      exchange_index_statuses: [
        { description: 'Main exchange', exchange_active: active, exchange_index: 0, intra_exchange_transfers_active: active, trading_active: active },
      ],
      intra_exchange_transfers_active: active,
      trading_active: active,
    });
  }

  private singleMarket(ticker: string): [number, string] {
    const st = this.core.store;
    const i = st.byTicker.get(ticker);
    if (i === undefined) return [404, restErrorBody(404, `market ${ticker} not found`)];
    const created = this.core.runtimeCreatedAt.get(i);
    if (created !== undefined && Date.now() - created < this.opts.notFoundAfterCreateMs) return [404, restErrorBody(404, `market ${ticker} not found`)];
    st.effStatus(i, Date.now());
    return [200, `{"market":${st.marketJson(i)}}`];
  }

  private singleEvent(eventTicker: string, q: URLSearchParams): [number, string] {
    const st = this.core.store;
    const e = st.byEvent.get(eventTicker);
    if (e === undefined) return [404, restErrorBody(404, `event ${eventTicker} not found`)];
    const nested = parseBool(q, 'with_nested_markets');
    const now = Date.now();
    const markets = (st.evMarkets[e] ?? []).map((i) => (st.effStatus(i, now), st.marketJson(i))).join(',');
    return [200, `{"event":${st.eventJson(e, nested ? `[${markets}]` : null)},"markets":[${markets}]}`];
  }

  /** GET /markets — filters per shared/kalshi-api.md §2.1, rejection rules per §10.9. */
  private marketsPage(q: URLSearchParams): Buffer {
    const st = this.core.store;
    let limit = intParam(q, 'limit') ?? 100;
    if (limit === 0) limit = 100;
    if (limit < 0 || limit > 1000) throw new HttpError(400, 'limit must be between 1 and 1000');
    const from = decodeCursor('m', strParam(q, 'cursor') ?? null);
    const query: MarketQuery = {};
    const status = strParam(q, 'status');
    if (status !== undefined) {
      if (!(MARKET_STATUS_FILTERS as readonly string[]).includes(status)) {
        throw new HttpError(
          400,
          `invalid status filter ${JSON.stringify(status)}: expected one of ${MARKET_STATUS_FILTERS.join(', ')} (only one value per request)`,
        );
      }
      query.statusMask = FILTER_MASK[status as keyof typeof FILTER_MASK];
    }
    const mve = strParam(q, 'mve_filter');
    if (mve !== undefined && mve !== 'only' && mve !== 'exclude') throw new HttpError(400, 'mve_filter must be "only" or "exclude"');
    if (mve !== undefined) query.mve = mve;
    const tickers = strParam(q, 'tickers');
    if (tickers !== undefined) {
      const idx = new Set<number>();
      for (const t of tickers.split(',')) {
        const i = st.byTicker.get(t.trim());
        if (i !== undefined) idx.add(i);
      }
      query.tickers = [...idx].sort((a, b) => a - b);
    }
    const eventTicker = strParam(q, 'event_ticker');
    if (eventTicker !== undefined) {
      if (eventTicker.includes(',')) throw new HttpError(400, 'event_ticker accepts a single event ticker');
      const e = st.byEvent.get(eventTicker);
      if (e === undefined) query.empty = true;
      else query.event = e;
    }
    const seriesTicker = strParam(q, 'series_ticker');
    if (seriesTicker !== undefined) {
      const s = st.bySeries.get(seriesTicker);
      if (s === undefined) query.empty = true;
      else if (query.event === undefined) query.series = s;
      else if (st.evSeries[query.event] !== s) query.empty = true;
    }
    const sec = (name: string): number | undefined => {
      const v = intParam(q, name);
      return v === undefined ? undefined : v * 1000;
    };
    query.minCreatedMs = sec('min_created_ts');
    query.maxCreatedMs = sec('max_created_ts');
    query.minCloseMs = sec('min_close_ts');
    query.maxCloseMs = sec('max_close_ts');
    query.minSettledMs = sec('min_settled_ts');
    query.maxSettledMs = sec('max_settled_ts');
    query.minUpdatedMs = sec('min_updated_ts');
    const created = query.minCreatedMs !== undefined || query.maxCreatedMs !== undefined;
    const close = query.minCloseMs !== undefined || query.maxCloseMs !== undefined;
    const settled = query.minSettledMs !== undefined || query.maxSettledMs !== undefined;
    if (Number(created) + Number(close) + Number(settled) > 1) {
      throw new HttpError(400, 'created, close and settled timestamp filters cannot be combined');
    }
    if (created && status !== undefined && status !== 'unopened' && status !== 'open') {
      throw new HttpError(400, 'min_created_ts/max_created_ts can only be combined with status unopened or open');
    }
    if (close && status !== undefined && status !== 'closed') throw new HttpError(400, 'min_close_ts/max_close_ts can only be combined with status closed');
    if (settled && status !== undefined && status !== 'settled')
      throw new HttpError(400, 'min_settled_ts/max_settled_ts can only be combined with status settled');
    if (query.minUpdatedMs !== undefined) {
      if (status !== undefined || tickers !== undefined || eventTicker !== undefined || created || close || settled || mve === 'only') {
        throw new HttpError(400, 'min_updated_ts cannot be combined with other filters except mve_filter=exclude and series_ticker');
      }
      if (seriesTicker !== undefined && mve !== 'exclude') throw new HttpError(400, 'min_updated_ts with series_ticker requires mve_filter=exclude');
    }
    const now = Date.now();
    const { indices, next } = st.queryMarkets(query, from, limit, now);
    const f = this.core.faults;
    const malform = f.malformTickers.size > 0 || f.malformRate > 0;
    // Keys alphabetical as Kalshi sends them: the cursor comes first. Each record is written into
    // the page as soon as it is rendered, so its rope dies young instead of surviving (and being
    // copied by) the scavenges that a page of held strings would live through.
    const w = new PageWriter(256 + indices.length * 2048);
    w.str(`{"cursor":"${encodeCursor('m', next)}","markets":[`);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k] as number;
      if (k > 0) w.byte(44); // ','
      w.str(malform && st.isMalformed(i, f.malformTickers, f.malformRate, this.core.seed) ? st.malformedMarketJson(i, i) : st.marketJson(i));
    }
    w.str(']}');
    return w.done();
  }

  /**
   * GET /events (ordinary events only: combo events left out since Dec 2025) and
   * GET /events/multivariate (combo events only; limit default 100, max 200; collection_ticker xor
   * series_ticker). Keys alphabetical: {"cursor","events","milestones"} (multivariate: no milestones).
   */
  private eventsPage(q: URLSearchParams, multivariate: boolean): Buffer {
    const st = this.core.store;
    const dflt = multivariate ? 100 : 200;
    let limit = intParam(q, 'limit') ?? dflt;
    if (limit === 0) limit = dflt;
    if (limit < 0 || limit > 200) throw new HttpError(400, 'limit must be between 1 and 200');
    const from = decodeCursor('e', strParam(q, 'cursor') ?? null);
    const query: EventQuery = { mve: multivariate ? 'only' : 'exclude' };
    const status = multivariate ? undefined : strParam(q, 'status');
    if (status !== undefined) {
      if (!['unopened', 'open', 'closed', 'settled'].includes(status)) {
        throw new HttpError(400, `invalid status filter ${JSON.stringify(status)}: expected one of unopened, open, closed, settled`);
      }
      query.statusMask = FILTER_MASK[status as keyof typeof FILTER_MASK];
    }
    const seriesTicker = strParam(q, 'series_ticker');
    if (multivariate) {
      const collection = strParam(q, 'collection_ticker');
      if (collection !== undefined && seriesTicker !== undefined) throw new HttpError(400, 'collection_ticker cannot be combined with series_ticker');
      if (collection !== undefined) query.collection = collection;
    }
    if (seriesTicker !== undefined) {
      const s = st.bySeries.get(seriesTicker);
      if (s === undefined) query.empty = true;
      else query.series = s;
    }
    const tickers = multivariate ? undefined : strParam(q, 'tickers');
    if (tickers !== undefined) {
      const idx = new Set<number>();
      for (const t of tickers.split(',')) {
        const e = st.byEvent.get(t.trim());
        if (e !== undefined) idx.add(e);
      }
      query.events = [...idx].sort((a, b) => a - b);
      if (query.series !== undefined) {
        const ser = query.series;
        query.events = query.events.filter((e) => st.evSeries[e] === ser);
      }
    }
    if (!multivariate) {
      const mu = intParam(q, 'min_updated_ts');
      if (mu !== undefined) query.minUpdatedMs = mu * 1000;
      const mc = intParam(q, 'min_close_ts');
      if (mc !== undefined) query.minCloseMs = mc * 1000;
      parseBool(q, 'with_milestones');
    }
    const nested = parseBool(q, 'with_nested_markets');
    const now = Date.now();
    const { indices, next } = st.queryEvents(query, from, limit, now);
    const parts = indices.map((e) => {
      let markets: string | null = null;
      if (nested) markets = `[${(st.evMarkets[e] ?? []).map((i) => (st.effStatus(i, now), st.marketJson(i))).join(',')}]`;
      return st.eventJson(e, markets);
    });
    return assemble(`{"cursor":"${encodeCursor('e', next)}","events":[`, parts, multivariate ? ']}' : '],"milestones":[]}');
  }

  /** GET /series: {"series":[…]} without a cursor (§3.5); category, tags, min_updated_ts, include_volume. */
  private seriesList(q: URLSearchParams): Buffer {
    const st = this.core.store;
    const category = strParam(q, 'category');
    const tags = strParam(q, 'tags')
      ?.split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
    const mu = intParam(q, 'min_updated_ts');
    const includeVolume = parseBool(q, 'include_volume');
    parseBool(q, 'include_product_metadata');
    const parts: string[] = [];
    for (let s = 0; s < st.srTicker.length; s++) {
      const tp = st.seriesTemplate(s);
      if (category !== undefined && tp.category !== category) continue;
      if (tags !== undefined && !tags.some((x) => tp.tags.includes(x))) continue;
      if (mu !== undefined && (st.srUpdated[s] ?? 0) < mu * 1000) continue;
      parts.push(st.seriesJson(s, includeVolume));
    }
    return assemble('{"series":[', parts, ']}');
  }

  /** GET /series/{series_ticker}: {"series": Series}. */
  private singleSeries(ticker: string, q: URLSearchParams): [number, string] {
    const st = this.core.store;
    const s = st.bySeries.get(ticker);
    if (s === undefined) return [404, restErrorBody(404, `series ${ticker} not found`)];
    return [200, `{"series":${st.seriesJson(s, parseBool(q, 'include_volume'))}}`];
  }

  // ------------------------------------------------------------------------------------------
  // Admin API

  /**
   * Why an admin request must be refused, or undefined. The admin API changes the exchange, so a
   * web page must not be able to reach it: the Host must be loopback with this port (no DNS
   * rebinding), an Origin, if sent, must be loopback, and a POST must be application/json (a
   * cross-site form or text/plain POST cannot set that without a CORS preflight, which the sim
   * never grants).
   */
  private adminRefusal(req: IncomingMessage): AdminError | undefined {
    if (!isLoopbackAuthority(req.headers.host, this.port)) {
      return new AdminError(
        403,
        `admin API refused: Host ${JSON.stringify(req.headers.host ?? '')} is not 127.0.0.1, localhost or [::1] with port ${this.port}`,
      );
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let ok = false;
      try {
        const u = new URL(origin);
        ok = (u.protocol === 'http:' || u.protocol === 'https:') && isLoopbackAuthority(u.host, this.port, true);
      } catch {
        ok = false;
      }
      if (!ok) return new AdminError(403, `admin API refused: Origin ${JSON.stringify(origin)} is not a loopback origin`);
    }
    if (req.method === 'POST') {
      const type = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase();
      if (type !== 'application/json') {
        return new AdminError(415, `admin API refused: POST needs Content-Type: application/json, got ${JSON.stringify(req.headers['content-type'] ?? '')}`);
      }
    }
    return undefined;
  }

  private async handleAdmin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const refusal = this.adminRefusal(req);
    if (refusal) {
      req.resume();
      throw refusal;
    }
    if (path === '/_sim/state' && req.method === 'GET') return this.sendJson(res, 200, JSON.stringify(this.state()));
    const m = /^\/_sim\/markets\/([^/]+)$/.exec(path);
    if (m && req.method === 'GET') {
      const market = this.getMarket(decodeURIComponent(m[1] ?? ''));
      if (!market) throw new AdminError(404, 'not found');
      return this.sendJson(res, 200, JSON.stringify({ market }));
    }
    if (path === '/_sim/control') {
      if (req.method !== 'POST') throw new AdminError(405, 'POST /_sim/control with {"op": "...", "args": [...]}');
      const raw = await readBody(req, 1 << 20);
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        throw new AdminError(400, 'body must be JSON: {"op": "...", "args": [...]}');
      }
      const parsed = AdminRequestSchema.safeParse(json);
      if (!parsed.success) throw new AdminError(400, `bad control request: ${formatIssues(parsed.error.issues)}`);
      let result: unknown;
      try {
        result = adminOp(this, parsed.data.op, parsed.data.args);
      } catch (err) {
        if (err instanceof z.ZodError) throw new AdminError(400, `bad args for ${parsed.data.op}: ${formatIssues(err.issues)}`);
        throw err;
      }
      return this.sendJson(res, 200, JSON.stringify({ ok: true, result: result ?? null }));
    }
    throw new AdminError(404, 'not found');
  }

  // ------------------------------------------------------------------------------------------
  // WebSocket

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = req.url ?? '/';
    const path = url.split('?', 1)[0] ?? url;
    const reject = (code: number, text: string, details?: string): void => {
      const body = restErrorBody(code, details);
      socket.end(
        `HTTP/1.1 ${code} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    };
    if (path !== WS_PATH) return reject(404, 'Not Found');
    if (!this.authorized(req, path)) return reject(401, 'Unauthorized');
    if (this.core.faults.maintenance) return reject(503, 'Service Unavailable', 'exchange is under maintenance');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  }

  private onConnection(ws: WebSocket): void {
    if (this.closed) {
      ws.terminate();
      return;
    }
    const conn: SimConnection = { ws, nextSid: 1, subs: new Map() };
    this.core.connections.add(conn);
    const stats = this.core.stats;
    stats.wsConnectionsTotal++;
    stats.wsConnectionsOpen++;
    ws.on('message', (data, isBinary) => this.onCommand(conn, isBinary ? '' : rawDataToString(data)));
    ws.on('error', () => undefined);
    ws.on('close', () => {
      this.core.connections.delete(conn);
      stats.wsConnectionsOpen--;
      stats.wsSubscriptions -= conn.subs.size;
      conn.subs.clear();
    });
  }

  private onCommand(conn: SimConnection, text: string): void {
    const reply = (o: Record<string, unknown>): void => this.core.send(conn, JSON.stringify(o));
    let cmd: unknown;
    try {
      cmd = JSON.parse(text);
    } catch {
      return reply({ type: 'error', msg: { code: 1, msg: 'Unable to process message' } });
    }
    if (typeof cmd !== 'object' || cmd === null || Array.isArray(cmd)) return reply({ type: 'error', msg: { code: 1, msg: 'Unable to process message' } });
    const c = cmd as { id?: unknown; cmd?: unknown; params?: unknown };
    const id = typeof c.id === 'number' && Number.isInteger(c.id) && c.id > 0 ? c.id : undefined;
    const withId = (o: Record<string, unknown>): Record<string, unknown> => (id === undefined ? o : { id, ...o });
    const error = (code: number, msg: string): void => reply(withId({ type: 'error', msg: { code, msg } }));
    if (typeof c.cmd !== 'string') return error(1, 'Unable to process message');
    const params = typeof c.params === 'object' && c.params !== null && !Array.isArray(c.params) ? (c.params as Record<string, unknown>) : undefined;
    switch (c.cmd) {
      case 'subscribe': {
        if (!params) return error(2, 'Params required');
        const channels = params.channels;
        if (!Array.isArray(channels) || channels.length === 0) return error(3, 'Channels required');
        // One `subscribed` per channel, each with its own sid; a channel already subscribed is a
        // no-op (its existing sid is confirmed, no error: §6.2).
        for (const ch of channels) {
          if (typeof ch !== 'string' || !(LIFECYCLE_CHANNELS as readonly string[]).includes(ch)) {
            error(8, 'Unknown channel name');
            continue;
          }
          const channel = ch as LifecycleChannel;
          let sub = conn.subs.get(channel);
          if (!sub) {
            sub = { channel, sid: conn.nextSid++, seq: 0 };
            conn.subs.set(channel, sub);
            this.core.stats.wsSubscriptions++;
          }
          reply(withId({ type: 'subscribed', msg: { channel, sid: sub.sid } }));
        }
        return;
      }
      case 'unsubscribe': {
        const sids = params?.sids;
        if (!Array.isArray(sids) || sids.length === 0) return error(4, 'Subscription IDs required');
        for (const sid of sids) {
          const sub = [...conn.subs.values()].find((x) => x.sid === sid);
          if (sub) {
            conn.subs.delete(sub.channel);
            this.core.stats.wsSubscriptions--;
            reply(withId({ sid: sub.sid, seq: sub.seq + 1, type: 'unsubscribed' }));
          } else error(7, 'Unknown subscription ID');
        }
        return;
      }
      case 'list_subscriptions':
        return reply(withId({ type: 'ok', msg: [...conn.subs.values()].sort((a, b) => a.sid - b.sid).map((x) => ({ channel: x.channel, sid: x.sid })) }));
      case 'update_subscription':
        return error(13, 'Unsupported action');
      default:
        return error(5, 'Unknown command');
    }
  }
}

/**
 * Concatenates ASCII JSON fragments straight into one Buffer (latin1 writes walk V8's rope
 * strings without flattening them first): much cheaper than join() + UTF-8 encoding.
 */
function assemble(head: string, parts: readonly string[], tail: string): Buffer {
  let len = head.length + tail.length + Math.max(0, parts.length - 1);
  for (const p of parts) len += p.length;
  const buf = Buffer.allocUnsafe(len);
  let o = buf.write(head, 0, 'latin1');
  for (let k = 0; k < parts.length; k++) {
    if (k > 0) buf[o++] = 44; // ','
    o += buf.write(parts[k] ?? '', o, 'latin1');
  }
  buf.write(tail, o, 'latin1');
  return buf;
}

/** Appends ASCII strings to one growing Buffer (latin1: one byte per char). */
class PageWriter {
  private buf: Buffer;
  private o = 0;
  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }
  str(s: string): void {
    if (this.o + s.length > this.buf.length) this.grow(s.length);
    this.o += this.buf.write(s, this.o, 'latin1');
  }
  byte(b: number): void {
    if (this.o + 1 > this.buf.length) this.grow(1);
    this.buf[this.o++] = b;
  }
  private grow(need: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.o + need + 1024));
    this.buf.copy(next, 0, 0, this.o);
    this.buf = next;
  }
  done(): Buffer {
    return this.buf.subarray(0, this.o);
  }
}

function routeKey(method: string, route: string): string {
  if (route === '/markets' || route === '/events' || route === '/events/multivariate' || route === '/exchange/status' || route === '/series') {
    return `${method} ${route}`;
  }
  if (/^\/markets\/[^/]+$/.test(route)) return `${method} /markets/{ticker}`;
  if (/^\/events\/[^/]+$/.test(route)) return `${method} /events/{event_ticker}`;
  if (/^\/series\/[^/]+$/.test(route)) return `${method} /series/{series_ticker}`;
  return `${method} (other)`;
}

function parseBool(q: URLSearchParams, name: string): boolean {
  const v = strParam(q, name);
  if (v === undefined) return false;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new HttpError(400, `${name} must be true or false`);
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new AdminError(413, 'request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Starts a Kalshi-compatible REST + WebSocket exchange on 127.0.0.1. */
export async function startSimExchange(options: SimExchangeOptions = {}): Promise<SimExchange> {
  const parsed = SimExchangeOptionsSchema.safeParse(options);
  if (!parsed.success) throw new OptionsError(`invalid sim options: ${formatIssues(parsed.error.issues)}`);
  const opts = parsed.data;
  const log = opts.logger ?? silentLogger;
  const t0 = Date.now();
  const store = generateStore({
    markets: opts.markets,
    seed: opts.seed,
    marketsPerEvent: rangeOf(opts.marketsPerEvent),
    eventsPerSeries: opts.eventsPerSeries === undefined ? undefined : rangeOf(opts.eventsPerSeries),
    statusMix: opts.statusMix ?? DEFAULT_STATUS_MIX,
    bumpOnImplicit: opts.implicitTransitionsBumpUpdatedTime,
    nowMs: Date.now(),
    comboShare: opts.comboShare,
  });
  log.info({ markets: store.count, events: store.evTicker.length, ms: Date.now() - t0 }, 'sim exchange generated');
  const core = new SimCore(store, opts.seed, log, opts.wsBufferLimitBytes, opts.comboShare);
  const server = createServer({ keepAlive: true });
  server.keepAliveTimeout = 30_000;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
  const sim = new SimExchange(port, opts.host, core, opts, server, wss);
  log.info({ restUrl: sim.restUrl, wsUrl: sim.wsUrl }, 'sim exchange listening');
  return sim;
}
