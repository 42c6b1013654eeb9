/**
 * The REST work of the registry's child actors, as plain async functions: a market pass (used by
 * the initial sync and by reconcile), the event sync, and one exchange-status poll. The actors in
 * machines/ decide when these run; these decide what a run does.
 */
import { parseEventRecord, parseExchangeStatus, parseMarketRecord } from '../domain/mapping.js';
import type { ExchangeStatus, Micros } from '../domain/types.js';
import type { KalshiRestClient, MarketsQuery } from '../kalshi/rest-client.js';
import type { RegistryCore } from './core.js';

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
