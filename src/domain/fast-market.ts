/**
 * The hot path of a REST market record (1M per full sync): validate and map in one pass over
 * the fields the registry reads, straight from the parsed JSON to a `Market`, with none of the
 * stripped copy, regexes and second parse of the zod route (KalshiMarketCoreSchema, then
 * marketFromRecord).
 *
 * It certifies, or it declines. `fastMarketFromRecord` returns a Market only when the record is
 * one the zod route accepts AND the Market is the one that route maps it to, field for field;
 * for anything else — a bad record, but also a merely unusual one (a date with an offset, a
 * 16-digit price) — it returns undefined and `parseMarketRecord` asks zod, which accepts it or
 * explains the refusal. The rules it mirrors (tolerance of the real Kalshi, see schemas.ts):
 *  - only ticker, event_ticker, status, open_time and close_time are required;
 *  - every other field may be absent or null (read as absent);
 *  - a present field of the wrong type or form is refused (zod names it), mapped or not;
 *  - result and market_type are open strings, kept as sent (null/absent: '' and 'binary');
 *  - expirationTs is expected_expiration_time, else latest_expiration_time, else
 *    expiration_time, else the close time;
 *  - `*_dollars` / `volume_fp` win over the legacy integer fields, which are still validated;
 *  - strings within the limits of limits.ts (tickers, title and subtitle, result and type words).
 * test/perf-equivalence/market-record.test.ts holds it to exactly that route (property tests
 * and every recorded real Kalshi record).
 */
import { fastIsoMicros, fastScaled } from './fast-scalars.js';
import { STATUS_BY_CODE, TRADING_BY_CODE, statusCode } from './fast-status.js';
import { MAX_TEXT_LENGTH, MAX_TICKER_LENGTH, MAX_WORD_LENGTH } from './limits.js';
import { asCountE2, asPriceE4 } from './units.js';
import type { CountE2, Market, Micros } from './types.js';

/** A nullish string field of at most `max` characters: the string, null for absent/null, or false for a wrong type or length. */
function optString(v: unknown, max: number): string | null | false {
  if (v === undefined || v === null) return null;
  return typeof v === 'string' && v.length <= max ? v : false;
}

/** A required ticker (TickerSchema): a non-empty string within MAX_TICKER_LENGTH. */
function isTicker(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_TICKER_LENGTH;
}

/** A nullish legacy integer field: true when absent/null or a safe integer. */
function okLegacyInt(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'number' && Number.isSafeInteger(v));
}

/**
 * A price in units of $0.0001 from a nullish `*_dollars` string and its nullish legacy cents,
 * as `price()` of mapping.ts; NaN when not certified.
 */
function fastPrice(dollars: unknown, cents: unknown): number {
  if (!okLegacyInt(cents)) return Number.NaN;
  if (dollars !== undefined && dollars !== null) return typeof dollars === 'string' ? fastScaled(dollars, 4) : Number.NaN;
  if (cents !== undefined && cents !== null) {
    const v = (cents as number) * 100;
    return Number.isSafeInteger(v) ? v : Number.NaN;
  }
  return 0;
}

/** An optional date-time field: its micros, null when absent/null, NaN when not certified. */
function optIso(v: unknown): Micros | null {
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? fastIsoMicros(v) : Number.NaN;
}

/** Common values as the module's own (internalized) strings, so a million records share them. */
function internType(v: string): string {
  return v === 'binary' ? 'binary' : v === 'scalar' ? 'scalar' : v;
}
function internResult(v: string): string {
  return v === '' ? '' : v === 'yes' ? 'yes' : v === 'no' ? 'no' : v === 'scalar' ? 'scalar' : v;
}

/**
 * The Market `parseMarketRecord` gives for `raw`, when this path can vouch for it; undefined
 * when the record must go through zod (refused, or just not in the common form).
 */
export function fastMarketFromRecord(raw: unknown, now: Micros): Market | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  const ticker = r.ticker;
  const eventTicker = r.event_ticker;
  if (!isTicker(ticker) || !isTicker(eventTicker)) return undefined;
  const status = statusCode(r.status);
  if (status < 0) return undefined;
  const openTime = r.open_time;
  const closeTime = r.close_time;
  if (typeof openTime !== 'string' || typeof closeTime !== 'string') return undefined;
  const openTs = fastIsoMicros(openTime);
  const closeTs = fastIsoMicros(closeTime);
  if (Number.isNaN(openTs) || Number.isNaN(closeTs)) return undefined;

  const marketType = optString(r.market_type, MAX_WORD_LENGTH);
  const title = optString(r.title, MAX_TEXT_LENGTH);
  const yesSubTitle = optString(r.yes_sub_title, MAX_TEXT_LENGTH);
  const result = optString(r.result, MAX_WORD_LENGTH);
  if (marketType === false || title === false || yesSubTitle === false || result === false) return undefined;

  // Every present expiration field must be well-formed, used or not (the schema checks all three).
  const expected = optIso(r.expected_expiration_time);
  const latest = optIso(r.latest_expiration_time);
  const deprecated = optIso(r.expiration_time);
  if (Number.isNaN(expected) || Number.isNaN(latest) || Number.isNaN(deprecated)) return undefined;
  const expirationTs = expected ?? latest ?? deprecated ?? closeTs;

  const yesBid = fastPrice(r.yes_bid_dollars, r.yes_bid);
  const yesAsk = fastPrice(r.yes_ask_dollars, r.yes_ask);
  const lastPrice = fastPrice(r.last_price_dollars, r.last_price);
  if (Number.isNaN(yesBid) || Number.isNaN(yesAsk) || Number.isNaN(lastPrice)) return undefined;
  const volumeFp = r.volume_fp;
  const legacyVolume = r.volume;
  if (!okLegacyInt(legacyVolume)) return undefined;
  let volume: CountE2;
  if (volumeFp !== undefined && volumeFp !== null) {
    if (typeof volumeFp !== 'string') return undefined;
    volume = asCountE2(fastScaled(volumeFp, 2));
    if (Number.isNaN(volume)) return undefined;
  } else {
    volume = asCountE2(((legacyVolume as number | null | undefined) ?? 0) * 100);
    if (!Number.isSafeInteger(volume)) return undefined;
  }

  return {
    ticker,
    eventTicker,
    title: title ?? yesSubTitle ?? '',
    marketStatus: STATUS_BY_CODE[status] as Market['marketStatus'],
    tradingStatus: TRADING_BY_CODE[status] as Market['tradingStatus'],
    marketType: marketType === null ? 'binary' : internType(marketType),
    result: result === null ? '' : internResult(result),
    // The values dollarsToE4 / countToE2 / centsToE4 give (test/perf-equivalence/), in their units.
    yesBid: asPriceE4(yesBid),
    yesAsk: asPriceE4(yesAsk),
    lastPrice: asPriceE4(lastPrice),
    volume,
    openTs,
    closeTs,
    expirationTs,
    updatedAt: now,
  };
}
