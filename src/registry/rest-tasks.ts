/**
 * The REST work of the registry's child actors, as plain async functions: a market pass (used by
 * the initial sync and by reconcile), the event sync, and one exchange-status poll. The actors in
 * machines/ decide when these run; these decide what a run does.
 */
import { isComboTicker, parseEventRecord, parseExchangeStatus, parseMarketRecord } from '../domain/mapping.js';
import type { ExchangeStatus, Market, Micros } from '../domain/types.js';
import type { MarketStatusFilter } from '../domain/vocabulary.js';
import type { EventsQuery, KalshiRestClient, MarketsQuery, MultivariateEventsQuery, PageOptions, RawPage } from '../kalshi/rest-client.js';
import type { MarketStore } from '../store/market-store.js';
import { seriesOfEventTicker } from '../store/market-query.js';
import type { DataSource, MarketAdmission, RegistryCore } from './core.js';

/** The part of KalshiRestClient the registry uses (so tests can hand in a fake). */
export type RestApi = Pick<KalshiRestClient, 'marketPages' | 'eventPages' | 'getExchangeStatus' | 'getMarket'> &
  Partial<Pick<KalshiRestClient, 'multivariateEventPages'>>;

interface MarketPassProgress {
  readonly pages: number;
  readonly markets: number;
  readonly quarantined: number;
  readonly duplicates: number;
  readonly bytes: number;
}

export interface MarketPassResult extends MarketPassProgress {
  readonly mode: 'full' | 'delta';
  readonly changes: number;
  readonly startedAt: Micros;
  readonly finishedAt: Micros;
  /** Known, not-yet-finalized markets a full pass did not return (historical cutoff or deletion). */
  readonly missing: number;
}

export interface MarketPassOptions {
  readonly core: RegistryCore;
  readonly rest: RestApi;
  readonly source: 'sync' | 'reconcile';
  /** Delta pass: only markets whose metadata changed since this Unix second (Kalshi's `min_updated_ts`). */
  readonly minUpdatedTs?: number;
  /** Targeted pass: only these markets (Kalshi's `tickers` filter). */
  readonly tickers?: readonly string[];
  readonly pageLimit?: number;
  readonly signal?: AbortSignal;
  readonly onPage?: (progress: MarketPassProgress) => void;
  /** `exclude`: `mve_filter=exclude` on every pass, so combo markets never enter (default include). */
  readonly combos?: 'include' | 'exclude';
}

/**
 * Pages through GET /markets and feeds every record to the core. Bad records are quarantined,
 * the rest of their page is kept; tickers seen twice in one pass (data moving between pages)
 * are applied once more only if the later copy differs, which `observe` handles.
 */
export async function runMarketPass(options: MarketPassOptions): Promise<MarketPassResult> {
  const { core, rest, source, signal } = options;
  // Anything but a full pass cannot tell which known markets the exchange no longer lists.
  const partial = options.minUpdatedTs !== undefined || options.tickers !== undefined;
  const limit = options.pageLimit ?? 1000;
  // Kalshi takes min_updated_ts only with mve_filter=exclude: a delta pass never sees combos
  // (their live status comes from the multivariate lifecycle channel and full passes).
  const mve = options.combos === 'exclude' ? ({ mveFilter: 'exclude' } as const) : {};
  const query: MarketsQuery =
    options.tickers !== undefined
      ? { limit, tickers: options.tickers }
      : options.minUpdatedTs !== undefined
        ? { limit, minUpdatedTs: options.minUpdatedTs, mveFilter: 'exclude' }
        : { limit, ...mve };
  const startedAt = core.now();
  const changesBefore = core.counters.changes;
  const seen = core.beginPass();
  let pages = 0;
  let markets = 0;
  let quarantined = 0;
  let duplicates = 0;
  let bytes = 0;

  // A record is as old as the request that fetched it: anything the registry changed after that
  // instant (a WebSocket event racing the page) is newer and wins. Pages are prefetched, so the
  // client stamps each request as it sends it; the stamp also notes how far the WebSocket stream
  // had got (see RegistryCore.observe). Pages come back in request order, so a FIFO pairs them.
  const framesAt: number[] = [];
  const stamp = () => {
    framesAt.push(core.framesReceived());
    return core.now();
  };
  for await (const page of rest.marketPages(query, signal, { stamp })) {
    const requestedAt = page.requestedAt ?? startedAt;
    const framesAtRequest = framesAt.shift() ?? -1;
    pages++;
    bytes += page.bytes;
    const now = core.now();
    for (const raw of page.records) {
      const parsed = parseMarketRecord(raw, now);
      if (!parsed.ok) {
        quarantined++;
        core.quarantine('GET /markets record', parsed.error.message, parsed.ticker);
        continue;
      }
      const ticker = parsed.value.ticker;
      markets++;
      const pending = core.observe(parsed.value, requestedAt, source, framesAtRequest);
      if (!seen.see(ticker)) duplicates++;
      if (pending) await pending;
    }
    options.onPage?.({ pages, markets, quarantined, duplicates, bytes });
  }

  let missing = 0;
  if (!partial) {
    missing = seen.missing();
  }
  return {
    mode: partial ? 'delta' : 'full',
    pages,
    markets: seen.size,
    quarantined,
    duplicates,
    bytes,
    changes: core.counters.changes - changesBefore,
    startedAt,
    finishedAt: core.now(),
    missing,
  };
}

/** Tickers per targeted request (GET /markets?tickers=…): keeps URLs a sane length. */
const TICKERS_PER_REQUEST = 100;

/**
 * Re-reads the markets whose REST data lost a race to a newer WebSocket change during the last
 * pass, until none is left (each round is newer than the changes that beat the previous one).
 */
export async function rereadStaleMarkets(core: RegistryCore, rest: RestApi, signal?: AbortSignal, maxRounds = 3): Promise<number> {
  let reread = 0;
  for (let round = 0; round < maxRounds; round++) {
    const stale = core.takeStaleTickers();
    if (stale.length === 0) break;
    for (let i = 0; i < stale.length; i += TICKERS_PER_REQUEST) {
      const result = await runMarketPass({ core, rest, source: 'reconcile', tickers: stale.slice(i, i + TICKERS_PER_REQUEST), ...(signal ? { signal } : {}) });
      reread += result.markets;
    }
  }
  return reread;
}

export interface EventPassResult {
  readonly pages: number;
  readonly events: number;
  readonly quarantined: number;
}

/** Pages through GET /events (limit 200, Kalshi's maximum) into the event table. */
export async function runEventPass(
  core: RegistryCore,
  rest: RestApi,
  options: { minUpdatedTs?: number; signal?: AbortSignal; combos?: 'include' | 'exclude' } = {},
): Promise<EventPassResult> {
  let pages = 0;
  let events = 0;
  let quarantined = 0;
  const take = (records: readonly unknown[], source: string) => {
    pages++;
    for (const raw of records) {
      const parsed = parseEventRecord(raw);
      if (!parsed.ok) {
        quarantined++;
        core.quarantine(source, parsed.error.message, parsed.ticker);
        continue;
      }
      core.store.setEvent(parsed.value);
      events++;
    }
  };
  const query = options.minUpdatedTs === undefined ? { limit: 200 } : { limit: 200, minUpdatedTs: options.minUpdatedTs };
  for await (const page of rest.eventPages(query, options.signal)) take(page.records, 'GET /events record');
  // GET /events leaves combo events out (since Dec 2025); they have an endpoint of their own,
  // without a min_updated_ts filter, so every event pass reads it whole.
  if (options.combos !== 'exclude' && rest.multivariateEventPages !== undefined) {
    for await (const page of rest.multivariateEventPages({ limit: 200 }, options.signal)) take(page.records, 'GET /events/multivariate record');
  }
  return { pages, events, quarantined };
}

/**
 * One GET /exchange/status. A 5xx carrying a status body is maintenance, a state like any
 * other; a 5xx without one (after the client's retries) means "unreachable" and returns null.
 */
export async function pollExchangeStatus(core: RegistryCore, rest: RestApi, signal?: AbortSignal): Promise<ExchangeStatus | null> {
  const result = await rest.getExchangeStatus(signal);
  if (result.body === null) return null;
  const parsed = parseExchangeStatus(result.body, core.now(), result.httpStatus >= 500);
  if (!parsed.ok) {
    core.quarantine('GET /exchange/status body', parsed.error.message);
    return null;
  }
  return parsed.value;
}

/**
 * GET /markets/{ticker} for a market a lifecycle event named before the registry knew it,
 * retrying 404s for a while (Kalshi answers 404 just after `created`).
 */
export async function fetchUnknownMarket(
  core: RegistryCore,
  rest: RestApi,
  ticker: string,
  options: { retryNotFoundMs: number; signal?: AbortSignal },
): Promise<'added' | 'not_found' | 'invalid'> {
  const requestedAt = core.now();
  const framesAtRequest = core.framesReceived();
  const raw = await rest.getMarket(ticker, { retryNotFoundMs: options.retryNotFoundMs }, options.signal);
  if (raw === null) return 'not_found';
  const parsed = parseMarketRecord(raw, core.now());
  if (!parsed.ok) {
    core.quarantine('GET /markets/{ticker} record', parsed.error.message, ticker);
    return 'invalid';
  }
  const pending = core.observe(parsed.value, requestedAt, 'fetch', framesAtRequest);
  if (pending) await pending;
  return 'added';
}

// Load filters (createRegistry's `load`) ----------------------------------------------------------

/** Which part of the exchange to load: series tickers and REST status words (see RegistryLoadFilter). */
export interface LoadFilter {
  readonly seriesTickers?: readonly string[] | undefined;
  readonly statuses?: readonly MarketStatusFilter[] | undefined;
}

type Pages = AsyncGenerator<RawPage, void, undefined>;

/** The pages of each query in turn, as one pass. */
async function* concatPages(queries: readonly unknown[], pages: (query: never) => Pages): Pages {
  for (const q of queries) yield* pages(q as never);
}

/**
 * The REST API as a load filter sees it: every market pass becomes one pass per series × status
 * (Kalshi takes one `series_ticker` and one `status` per request), read one after another as a
 * single pass. A delta pass (`min_updated_ts`) can be narrowed by series only (Kalshi allows no
 * status beside it, and wants `mve_filter=exclude` with a series), so the admission below drops
 * the new markets of other statuses it returns. Targeted reads (`tickers`) are of held markets
 * and pass unchanged. Event passes read the listed series only (combo events, on their own
 * endpoint, only for KXMVE* series).
 */
export function loadFilteredRest(rest: RestApi, filter: LoadFilter): RestApi {
  const series: readonly (string | undefined)[] = filter.seriesTickers ?? [undefined];
  const statuses: readonly (MarketStatusFilter | undefined)[] = filter.statuses ?? [undefined];
  const withSeries = <Q extends object>(q: Q, s: string | undefined): Q => (s === undefined ? q : { ...q, seriesTicker: s });
  const marketQueries = (query: MarketsQuery): MarketsQuery[] => {
    if (query.tickers !== undefined) return [query];
    if (query.minUpdatedTs !== undefined) return series.map((s) => withSeries(s === undefined ? query : { ...query, mveFilter: 'exclude' as const }, s));
    return series.flatMap((s) => statuses.map((st) => withSeries(st === undefined ? query : { ...query, status: st }, s)));
  };
  const filtered: RestApi = {
    marketPages: (query: MarketsQuery, signal?: AbortSignal, options?: PageOptions) =>
      concatPages(marketQueries(query), (q: MarketsQuery) => rest.marketPages(q, signal, options)),
    eventPages: (query: EventsQuery, signal?: AbortSignal, options?: PageOptions) =>
      concatPages(
        series.map((s) => withSeries(query, s)),
        (q: EventsQuery) => rest.eventPages(q, signal, options),
      ),
    getExchangeStatus: (signal?: AbortSignal) => rest.getExchangeStatus(signal),
    getMarket: (ticker, options, signal) => rest.getMarket(ticker, options, signal),
  };
  const multivariate = rest.multivariateEventPages;
  if (multivariate !== undefined) {
    const comboSeries = filter.seriesTickers?.filter((s) => isComboTicker(s));
    filtered.multivariateEventPages = (query: MultivariateEventsQuery = {}, signal?: AbortSignal, options?: PageOptions) =>
      concatPages(comboSeries === undefined ? [query] : comboSeries.map((s) => ({ ...query, seriesTicker: s })), (q: MultivariateEventsQuery) =>
        multivariate.call(rest, q, signal, options),
      );
  }
  return filtered;
}

/** What a load filter kept out. */
export interface LoadFilterStats {
  /** Lifecycle frames about markets the registry does not hold and the filter kept out (not fetched, not applied). */
  readonly framesIgnored: number;
  /** REST records of markets the registry does not hold and whose status the filter leaves out (delta passes). */
  readonly recordsIgnored: number;
}

/**
 * The core's admission for a load filter. A market the registry holds is always followed; one
 * it does not hold enters only if the filter takes it:
 *  - REST records (passes, fetches): by status (the passes were already narrowed by series on the
 *    server, which knows each market's series; a record carries none);
 *  - a `created` frame: by status and by series, the series being the event's (GET /events) or,
 *    for an event not read yet, its ticker's (see seriesOfEventTicker);
 *  - a frame naming an unknown ticker: fetched only when a series filter is set and the ticker's
 *    prefix is one of its series; otherwise ignored (a status-only filter cannot tell without
 *    fetching, and fetching every outsider would load what the filter is there to leave out).
 */
export class LoadAdmission implements MarketAdmission {
  readonly #series: ReadonlySet<string> | null;
  readonly #statuses: ReadonlySet<string> | null;
  readonly #store: MarketStore;
  framesIgnored = 0;
  recordsIgnored = 0;

  constructor(filter: LoadFilter, store: MarketStore) {
    this.#series = filter.seriesTickers === undefined ? null : new Set(filter.seriesTickers);
    this.#statuses = filter.statuses === undefined ? null : new Set(filter.statuses);
    this.#store = store;
  }

  market(market: Market, source: DataSource): boolean {
    const rest = source === 'sync' || source === 'reconcile';
    const ok =
      (this.#statuses === null || this.#statuses.has(market.tradingStatus)) &&
      (rest || this.#series === null || this.#series.has(this.#store.seriesOfEvent(market.eventTicker)));
    if (!ok) {
      if (source === 'websocket') this.framesIgnored++;
      else this.recordsIgnored++;
    }
    return ok;
  }

  ticker(ticker: string): boolean {
    const ok = this.#series !== null && this.#series.has(seriesOfEventTicker(ticker));
    if (!ok) this.framesIgnored++;
    return ok;
  }

  stats(): LoadFilterStats {
    return { framesIgnored: this.framesIgnored, recordsIgnored: this.recordsIgnored };
  }
}
