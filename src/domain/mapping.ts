/**
 * Pure mapping from Kalshi's wire shapes to the registry's domain (types.ts). No I/O, no clock:
 * callers pass `now` where a default time is needed, so every function is directly testable.
 */
import { z } from 'zod';
import { ValidationError } from '../errors.js';
import {
  KalshiEventCoreSchema,
  KalshiExchangeStatusCoreSchema,
  KalshiMarketCoreSchema,
  LifecycleSocketFrameSchema,
  type KalshiEventCore,
  type KalshiExchangeStatus,
  type KalshiMarketCore,
  type LifecycleMsg,
  type LifecycleSocketFrame,
} from '../kalshi/schemas.js';
import type { MarketStatus } from './vocabulary.js';
import type { TransitionKey } from '../lifecycle/transition-table.js';
import { fastEventFromRecord } from './fast-event.js';
import { fastMarketFromRecord } from './fast-market.js';
import { truncateForLog } from './limits.js';
import { asCountE2, asPriceE4, centsToE4, contractsToE2, countToE2, dollarsToE4, isoToMicros, secondsToMicros } from './units.js';
import type { CountE2, ExchangeStatus, Market, MarketEvent, Micros, PriceE4, TradingStatus } from './types.js';

/** Kalshi's REST filter word for each status (shared/kalshi-api.md §2.2). */
export const TRADING_STATUS_BY_MARKET_STATUS: Readonly<Record<MarketStatus, TradingStatus>> = {
  initialized: 'unopened',
  active: 'open',
  inactive: 'paused',
  closed: 'closed',
  determined: 'closed',
  disputed: 'closed',
  amended: 'closed',
  finalized: 'settled',
};

export type ParseResult<T> = { readonly ok: true; readonly value: T } | ParseFailure;

export interface ParseFailure {
  readonly ok: false;
  readonly error: ValidationError;
  /**
   * The record's ticker, when one could be read, for logs and the quarantine: cut by
   * `truncateForLog` (a refused record's ticker may be the over-long input itself).
   */
  readonly ticker?: string;
}

function failure(source: string, issues: z.core.$ZodIssue[], raw: unknown, key = 'ticker'): ParseResult<never> {
  const ticker =
    typeof raw === 'object' && raw !== null && typeof (raw as Record<string, unknown>)[key] === 'string'
      ? truncateForLog((raw as Record<string, unknown>)[key] as string)
      : undefined;
  const error = new ValidationError(source, issues);
  return ticker === undefined ? { ok: false, error } : { ok: false, error, ticker };
}

/**
 * A price in units of $0.0001: the dollar string when present (exact, sub-cent digits kept),
 * else the legacy integer cents × 100, else 0. Null counts as absent.
 */
function price(dollars: string | null | undefined, legacyCents: number | null | undefined): PriceE4 {
  if (dollars != null) return dollarsToE4(dollars);
  if (legacyCents != null) return centsToE4(legacyCents);
  return NO_PRICE;
}

/** A market's price and volume before anything has traded (a `created` frame carries none). */
const NO_PRICE = asPriceE4(0);
const NO_VOLUME = asCountE2(0);

/** True for multivariate ("combo") market tickers, which Kalshi prefixes with KXMVE. */
export function isComboTicker(ticker: string): boolean {
  return ticker.startsWith('KXMVE');
}

/**
 * Which REST field `Market.expirationTs` comes from: Kalshi's EXPECTED expiration
 * (`expected_expiration_time`, the same instant the WebSocket's `created` carries as
 * `additional_metadata.expected_expiration_ts`), falling back — only when it is absent or null —
 * to `latest_expiration_time`, then the deprecated `expiration_time`, then the close time.
 */
function expirationField(rec: KalshiMarketCore): 'expected_expiration_time' | 'latest_expiration_time' | 'expiration_time' | null {
  if (rec.expected_expiration_time != null) return 'expected_expiration_time';
  if (rec.latest_expiration_time != null) return 'latest_expiration_time';
  if (rec.expiration_time != null) return 'expiration_time';
  return null;
}

/** Maps a validated REST market record to a `Market`. Returns issues for values that cannot be represented. */
export function marketFromRecord(rec: KalshiMarketCore, now: Micros): ParseResult<Market> {
  const yesBid = price(rec.yes_bid_dollars, rec.yes_bid);
  const yesAsk = price(rec.yes_ask_dollars, rec.yes_ask);
  const lastPrice = price(rec.last_price_dollars, rec.last_price);
  const volume: CountE2 = rec.volume_fp != null ? countToE2(rec.volume_fp) : contractsToE2(rec.volume ?? 0);
  const openTs = isoToMicros(rec.open_time);
  const closeTs = isoToMicros(rec.close_time);
  const expiration = rec.expected_expiration_time ?? rec.latest_expiration_time ?? rec.expiration_time;
  const expirationTs = expiration == null ? closeTs : isoToMicros(expiration);
  if (
    !Number.isSafeInteger(yesBid) ||
    !Number.isSafeInteger(yesAsk) ||
    !Number.isSafeInteger(lastPrice) ||
    !Number.isSafeInteger(volume) ||
    Number.isNaN(openTs) ||
    Number.isNaN(closeTs) ||
    Number.isNaN(expirationTs)
  ) {
    const issues: z.core.$ZodIssue[] = [];
    const bad = (path: keyof KalshiMarketCore, message: string) => issues.push({ code: 'custom', path: [path], message, input: rec[path] });
    if (!Number.isSafeInteger(yesBid)) bad(rec.yes_bid_dollars != null ? 'yes_bid_dollars' : 'yes_bid', 'price out of range');
    if (!Number.isSafeInteger(yesAsk)) bad(rec.yes_ask_dollars != null ? 'yes_ask_dollars' : 'yes_ask', 'price out of range');
    if (!Number.isSafeInteger(lastPrice)) bad(rec.last_price_dollars != null ? 'last_price_dollars' : 'last_price', 'price out of range');
    if (!Number.isSafeInteger(volume)) bad(rec.volume_fp != null ? 'volume_fp' : 'volume', 'count out of range');
    if (Number.isNaN(openTs)) bad('open_time', 'not a valid date');
    if (Number.isNaN(closeTs)) bad('close_time', 'not a valid date');
    const expField = expirationField(rec);
    if (Number.isNaN(expirationTs) && expField !== null) bad(expField, 'not a valid date');
    return failure('GET /markets record', issues, rec);
  }

  return {
    ok: true,
    value: {
      ticker: rec.ticker,
      eventTicker: rec.event_ticker,
      title: rec.title ?? rec.yes_sub_title ?? '',
      marketStatus: rec.status,
      tradingStatus: TRADING_STATUS_BY_MARKET_STATUS[rec.status],
      // Open enumerations, kept as Kalshi sent them; null/absent read as the documented default.
      marketType: rec.market_type ?? 'binary',
      result: rec.result ?? '',
      yesBid,
      yesAsk,
      lastPrice,
      volume,
      openTs,
      closeTs,
      expirationTs,
      updatedAt: now,
    },
  };
}

/**
 * Validates and maps one raw REST market record (from a page or GET /markets/{ticker}).
 *
 * The common record takes the one-pass fast path (fast-market.ts); a record it does not vouch
 * for goes through zod (`parseMarketRecordWithZod`), the schema of record, which accepts it —
 * its result is then the answer — or says what is wrong with it. Both routes give the same
 * value for every record the fast path accepts (test/perf-equivalence/).
 */
export function parseMarketRecord(raw: unknown, now: Micros): ParseResult<Market> {
  const fast = fastMarketFromRecord(raw, now);
  if (fast !== undefined) return { ok: true, value: fast };
  return parseMarketRecordWithZod(raw, now);
}

/** The reference route of parseMarketRecord: KalshiMarketCoreSchema, then marketFromRecord. */
export function parseMarketRecordWithZod(raw: unknown, now: Micros): ParseResult<Market> {
  const parsed = KalshiMarketCoreSchema.safeParse(raw);
  if (!parsed.success) return failure('GET /markets record', parsed.error.issues, raw);
  return marketFromRecord(parsed.data, now);
}

/** A copy of a market with a new status (and optionally close time and result); keeps `tradingStatus` consistent. */
export function withStatus(m: Market, status: MarketStatus, updatedAt: Micros, closeTs: Micros = m.closeTs, result: Market['result'] = m.result): Market {
  // Spelled out rather than spread: every Market then has one hidden class, and the copy on the
  // hot path (each lifecycle message) is a plain allocation.
  return {
    ticker: m.ticker,
    eventTicker: m.eventTicker,
    title: m.title,
    marketStatus: status,
    tradingStatus: TRADING_STATUS_BY_MARKET_STATUS[status],
    marketType: m.marketType,
    result,
    yesBid: m.yesBid,
    yesAsk: m.yesAsk,
    lastPrice: m.lastPrice,
    volume: m.volume,
    openTs: m.openTs,
    closeTs,
    expirationTs: m.expirationTs,
    updatedAt,
  };
}

/**
 * True when two records of one market carry the same data (every field but `updatedAt`), so
 * that a reconcile pass can skip unchanged markets without allocating.
 */
export function sameMarketData(a: Market, b: Market): boolean {
  return (
    a.marketStatus === b.marketStatus &&
    a.title === b.title &&
    a.eventTicker === b.eventTicker &&
    a.marketType === b.marketType &&
    a.result === b.result &&
    a.yesBid === b.yesBid &&
    a.yesAsk === b.yesAsk &&
    a.lastPrice === b.lastPrice &&
    a.volume === b.volume &&
    a.openTs === b.openTs &&
    a.closeTs === b.closeTs &&
    a.expirationTs === b.expirationTs
  );
}

/**
 * Validates and maps one raw REST event record (from GET /events or GET /events/{ticker}). Only
 * `event_ticker` is required; nested `markets` are not looked at (validate each with
 * `parseMarketRecord`, as on a markets page).
 */
export function parseEventRecord(raw: unknown): ParseResult<MarketEvent> {
  const fast = fastEventFromRecord(raw);
  if (fast !== undefined) return { ok: true, value: fast };
  return parseEventRecordWithZod(raw);
}

/** The reference route of parseEventRecord: KalshiEventCoreSchema, then eventFromRecord. */
export function parseEventRecordWithZod(raw: unknown): ParseResult<MarketEvent> {
  const parsed = KalshiEventCoreSchema.safeParse(raw);
  if (!parsed.success) return failure('GET /events record', parsed.error.issues, raw, 'event_ticker');
  return { ok: true, value: eventFromRecord(parsed.data) };
}

export function eventFromRecord(rec: KalshiEventCore): MarketEvent {
  const updatedAt = rec.last_updated_ts == null ? 0 : isoToMicros(rec.last_updated_ts);
  return {
    eventTicker: rec.event_ticker,
    seriesTicker: rec.series_ticker ?? '',
    title: rec.title ?? '',
    subTitle: rec.sub_title ?? '',
    mutuallyExclusive: rec.mutually_exclusive ?? false,
    // An impossible date (well-formed, month 13) is not worth losing the event over.
    updatedAt: Number.isNaN(updatedAt) ? 0 : updatedAt,
  };
}

/** Validates and maps a GET /exchange/status body (a 200, or a 5xx maintenance answer). */
export function parseExchangeStatus(raw: unknown, observedAt: Micros, maintenance: boolean): ParseResult<ExchangeStatus> {
  const parsed = KalshiExchangeStatusCoreSchema.safeParse(raw);
  if (!parsed.success) return failure('GET /exchange/status body', parsed.error.issues, raw);
  return { ok: true, value: exchangeStatusFromBody(parsed.data, observedAt, maintenance) };
}

export function exchangeStatusFromBody(
  body: Pick<KalshiExchangeStatus, 'exchange_active' | 'trading_active' | 'exchange_estimated_resume_time'>,
  observedAt: Micros,
  maintenance: boolean,
): ExchangeStatus {
  const resume = body.exchange_estimated_resume_time;
  return {
    exchangeActive: body.exchange_active,
    tradingActive: body.trading_active,
    estimatedResumeTs: resume == null || Number.isNaN(isoToMicros(resume)) ? null : isoToMicros(resume),
    observedAt,
    maintenance,
  };
}

// ---------------------------------------------------------------------------------------------
// WebSocket

const textDecoder = new TextDecoder();

/**
 * Parses one raw WebSocket frame (text or bytes) into a validated frame — any frame of the
 * `market_lifecycle_v2` and `multivariate_market_lifecycle` channels (the latter's lifecycle
 * messages have `type: 'multivariate_market_lifecycle'` and the same `msg`). Never throws.
 */
export function parseLifecycleFrame(raw: string | Uint8Array): ParseResult<LifecycleSocketFrame> {
  const text = typeof raw === 'string' ? raw : textDecoder.decode(raw);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return notJson(text, err);
  }
  return parseLifecycleJson(json);
}

/** The failure of a frame that is not JSON (`err` from JSON.parse). */
export function notJson(text: string, err: unknown): ParseFailure {
  // V8's JSON.parse messages quote a bounded snippet of the text; the input is cut as in logs.
  const issue = { code: 'custom', path: [], message: `not JSON (${(err as Error).message})`, input: truncateForLog(text) };
  return { ok: false, error: new ValidationError('WebSocket frame', [issue as z.core.$ZodIssue]) };
}

/** Validates an already parsed frame with zod (the schema of record; see fast-frame.ts for the hot path). */
export function parseLifecycleJson(json: unknown): ParseResult<LifecycleSocketFrame> {
  const parsed = LifecycleSocketFrameSchema.safeParse(json);
  if (!parsed.success) {
    const msg = typeof json === 'object' && json !== null ? (json as { msg?: unknown }).msg : undefined;
    return failure('WebSocket frame', parsed.error.issues, msg, 'market_ticker');
  }
  return { ok: true, value: parsed.data };
}

/** What one `market_lifecycle_v2` (or `multivariate_market_lifecycle`) message means for the registry. */
export type LifecycleUpdate =
  | { readonly kind: 'created'; readonly ticker: string; readonly market: Market }
  | {
      readonly kind: 'transition';
      readonly ticker: string;
      readonly key: TransitionKey;
      /** Fields the message sets on the market alongside the transition. */
      readonly patch: Partial<Pick<Market, 'closeTs' | 'result'>>;
    }
  /** Tick-structure or strike changes: no status effect and no field the registry holds. */
  | { readonly kind: 'metadata'; readonly ticker: string; readonly eventType: 'price_level_structure_updated' | 'metadata_updated' };

/**
 * Maps a lifecycle message to a registry update. `created` builds a complete `Market` from the
 * message alone (Kalshi may answer 404 on GET /markets/{ticker} right after it).
 */
export function lifecycleUpdateFromMsg(msg: LifecycleMsg, now: Micros): LifecycleUpdate {
  const ticker = msg.market_ticker;
  switch (msg.event_type) {
    case 'created': {
      const meta = msg.additional_metadata;
      const closeTs = secondsToMicros(msg.close_ts);
      const market: Market = {
        ticker,
        eventTicker: meta?.event_ticker ?? '',
        title: meta?.title ?? meta?.name ?? '',
        marketStatus: 'initialized',
        tradingStatus: TRADING_STATUS_BY_MARKET_STATUS.initialized,
        marketType: 'binary',
        result: '',
        yesBid: NO_PRICE,
        yesAsk: NO_PRICE,
        lastPrice: NO_PRICE,
        volume: NO_VOLUME,
        openTs: secondsToMicros(msg.open_ts),
        closeTs,
        // Kalshi's expected expiration, as REST's expected_expiration_time (see marketFromRecord).
        expirationTs: meta?.expected_expiration_ts == null ? closeTs : secondsToMicros(meta.expected_expiration_ts),
        updatedAt: now,
      };
      return { kind: 'created', ticker, market };
    }
    case 'activated':
    case 'deactivated':
      // `is_deactivated` restates the event type; the event type is authoritative.
      return { kind: 'transition', ticker, key: msg.event_type, patch: {} };
    case 'close_date_updated':
      return { kind: 'transition', ticker, key: 'close_date_updated', patch: { closeTs: secondsToMicros(msg.close_ts) } };
    case 'determined':
      // An unknown result string is kept as-is; null/absent leaves the market's result as it was.
      return { kind: 'transition', ticker, key: 'determined', patch: msg.result == null ? {} : { result: msg.result } };
    case 'settled':
      return { kind: 'transition', ticker, key: 'settled', patch: {} };
    case 'price_level_structure_updated':
    case 'metadata_updated':
      return { kind: 'metadata', ticker, eventType: msg.event_type };
  }
}
