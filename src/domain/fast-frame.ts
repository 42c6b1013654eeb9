/**
 * The hot path of a lifecycle frame (200k+ per second): validate the parsed JSON of a
 * `market_lifecycle_v2` / `multivariate_market_lifecycle` frame and read what the registry needs
 * from it in one pass, into a reused scratch record — no zod copy of the frame, no
 * LifecycleUpdate, no patch object.
 *
 * Like fast-market.ts it certifies or declines: `fastLifecycleFrame` returns true only for a
 * frame that LifecycleSocketFrameSchema accepts and whose values are exactly those of the zod
 * route (`parseLifecycleFrame`, then `lifecycleUpdateFromMsg`); anything else — control frames
 * (subscribed, error, ok, …), event frames, malformed or merely unusual frames — returns false
 * and goes through zod, which accepts it or explains why not. The tolerance rules it mirrors:
 * optional fields may be absent or null; a present one must have its documented type, used or
 * not; `result` is an open string (null/absent leaves the market's result alone); a created
 * market's expirationTs is `additional_metadata.expected_expiration_ts`, else its close time;
 * strings within the limits of limits.ts (tickers, titles, rules, enumeration words).
 * test/perf-equivalence/lifecycle-frame.test.ts holds it to exactly that route.
 */
import { isDecimalText } from './fast-scalars.js';
import { K_ACTIVATED, K_CLOSE_DATE_UPDATED, K_DEACTIVATED, K_DETERMINED, K_SETTLED, KEY_BY_CODE, S_INITIALIZED, TRADING_BY_CODE } from './fast-status.js';
import { MAX_RULES_LENGTH, MAX_TEXT_LENGTH, MAX_TICKER_LENGTH, MAX_WORD_LENGTH } from './limits.js';
import { asCountE2, asPriceE4, secondsToMicros } from './units.js';
import type { LifecycleUpdate } from './mapping.js';
import type { Market, Micros } from './types.js';

export type FastFrameKind = 'created' | 'transition' | 'metadata';

/** What a certified frame says. One scratch is reused for every frame (the consumer is synchronous). */
export interface FastFrame {
  type: 'market_lifecycle_v2' | 'multivariate_market_lifecycle';
  sid: number;
  /** undefined when absent or null. */
  seq: number | undefined;
  kind: FastFrameKind;
  /** The msg's event_type. */
  eventType: string;
  ticker: string;
  /** transition: the key code (fast-status.ts). */
  key: number;
  /** transition: the new close time, NaN when the frame sets none; created: the close time. */
  closeTs: Micros;
  /** transition (determined): the result to set, undefined to leave it. */
  result: string | undefined;
  /** created only. */
  openTs: Micros;
  expirationTs: Micros;
  eventTicker: string;
  title: string;
}

export function newFastFrame(): FastFrame {
  return {
    type: 'market_lifecycle_v2',
    sid: 0,
    seq: undefined,
    kind: 'transition',
    eventType: '',
    ticker: '',
    key: 0,
    closeTs: Number.NaN,
    result: undefined,
    openTs: 0,
    expirationTs: 0,
    eventTicker: '',
    title: '',
  };
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isNullish(v: unknown): v is null | undefined {
  return v === undefined || v === null;
}
function okInt(v: unknown): boolean {
  return isNullish(v) || (typeof v === 'number' && Number.isSafeInteger(v));
}
function isSeconds(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
function okSeconds(v: unknown): boolean {
  return isNullish(v) || isSeconds(v);
}
/** A nullish string of at most `max` characters (`z.string().max(max).nullish()`). */
function okString(v: unknown, max: number): boolean {
  return isNullish(v) || (typeof v === 'string' && v.length <= max);
}
function okText(v: unknown): boolean {
  return okString(v, MAX_TEXT_LENGTH);
}
function okWord(v: unknown): boolean {
  return okString(v, MAX_WORD_LENGTH);
}
function okBool(v: unknown): boolean {
  return isNullish(v) || typeof v === 'boolean';
}
function okNumber(v: unknown): boolean {
  return isNullish(v) || (typeof v === 'number' && Number.isFinite(v));
}
function okDecimal(v: unknown): boolean {
  return isNullish(v) || (typeof v === 'string' && isDecimalText(v));
}
/** A record zod's z.record(z.string(), z.unknown()) surely accepts: a plain JSON object. */
function okRecord(v: unknown): boolean {
  if (isNullish(v)) return true;
  if (!isObj(v) || Object.getPrototypeOf(v) !== Object.prototype || Object.prototype.hasOwnProperty.call(v, 'constructor')) return false;
  return Object.getOwnPropertySymbols(v).length === 0;
}
/** price_ranges: null/absent, or an array of objects with decimal start, end and step. */
function okPriceRanges(v: unknown): boolean {
  if (isNullish(v)) return true;
  if (!Array.isArray(v)) return false;
  for (const r of v) {
    if (!isObj(r)) return false;
    if (typeof r.start !== 'string' || typeof r.end !== 'string' || typeof r.step !== 'string') return false;
    if (!isDecimalText(r.start) || !isDecimalText(r.end) || !isDecimalText(r.step)) return false;
  }
  return true;
}
function okStrikes(m: Record<string, unknown>): boolean {
  return okWord(m.strike_type) && okNumber(m.floor_strike) && okNumber(m.cap_strike) && okRecord(m.custom_strike);
}

/**
 * Certifies `json` (a parsed frame) and fills `out`; false when the frame must go through zod.
 */
export function fastLifecycleFrame(json: unknown, out: FastFrame): boolean {
  if (!isObj(json)) return false;
  const type = json.type;
  if (type !== 'market_lifecycle_v2' && type !== 'multivariate_market_lifecycle') return false;
  const sid = json.sid;
  if (typeof sid !== 'number' || !Number.isSafeInteger(sid) || sid <= 0) return false;
  const seq = json.seq;
  if (!isNullish(seq) && (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq <= 0)) return false;
  if (!okInt(json.sending_ts_ms)) return false;
  const msg = json.msg;
  if (!isObj(msg)) return false;
  const ticker = msg.market_ticker;
  if (typeof ticker !== 'string' || ticker.length === 0 || ticker.length > MAX_TICKER_LENGTH || !okInt(msg.exchange_index)) return false;
  const eventType = msg.event_type;
  let kind: FastFrameKind = 'transition';
  let key = 0;
  let closeTs = Number.NaN;
  let result: string | undefined;
  switch (eventType) {
    case 'activated':
    case 'deactivated':
      if (!okBool(msg.is_deactivated)) return false;
      key = eventType === 'activated' ? K_ACTIVATED : K_DEACTIVATED;
      break;
    case 'close_date_updated': {
      const close = msg.close_ts;
      if (!isSeconds(close)) return false;
      key = K_CLOSE_DATE_UPDATED;
      closeTs = secondsToMicros(close);
      break;
    }
    case 'determined': {
      const r = msg.result;
      if (!okWord(r) || !okSeconds(msg.determination_ts) || !okDecimal(msg.settlement_value)) return false;
      key = K_DETERMINED;
      result = isNullish(r) ? undefined : (r as string);
      break;
    }
    case 'settled':
      if (!okSeconds(msg.settled_ts)) return false;
      key = K_SETTLED;
      break;
    case 'created': {
      const open = msg.open_ts;
      const close = msg.close_ts;
      if (!isSeconds(open) || !isSeconds(close) || !okWord(msg.price_level_structure) || !okPriceRanges(msg.price_ranges)) return false;
      const meta = msg.additional_metadata;
      let eventTicker = '';
      let title = '';
      closeTs = secondsToMicros(close);
      let expirationTs = closeTs;
      if (!isNullish(meta)) {
        if (!isObj(meta)) return false;
        const et = meta.event_ticker;
        const t = meta.title;
        const name = meta.name;
        const exp = meta.expected_expiration_ts;
        if (!okString(et, MAX_TICKER_LENGTH) || !okText(t) || !okText(name) || !okSeconds(exp)) return false;
        if (
          !okText(meta.yes_sub_title) ||
          !okText(meta.no_sub_title) ||
          !okString(meta.rules_primary, MAX_RULES_LENGTH) ||
          !okString(meta.rules_secondary, MAX_RULES_LENGTH)
        ) {
          return false;
        }
        if (!okBool(meta.can_close_early) || !okStrikes(meta)) return false;
        eventTicker = (et as string | null | undefined) ?? '';
        title = (t as string | null | undefined) ?? (name as string | null | undefined) ?? '';
        if (!isNullish(exp)) expirationTs = secondsToMicros(exp as number);
      }
      kind = 'created';
      out.openTs = secondsToMicros(open);
      out.expirationTs = expirationTs;
      out.eventTicker = eventTicker;
      out.title = title;
      break;
    }
    case 'price_level_structure_updated':
      if (!okWord(msg.price_level_structure) || !okPriceRanges(msg.price_ranges)) return false;
      kind = 'metadata';
      break;
    case 'metadata_updated':
      if (!okStrikes(msg) || !okText(msg.yes_sub_title)) return false;
      kind = 'metadata';
      break;
    default:
      return false;
  }
  out.type = type;
  out.sid = sid;
  out.seq = isNullish(seq) ? undefined : seq;
  out.kind = kind;
  out.eventType = eventType;
  out.ticker = ticker;
  out.key = key;
  out.closeTs = closeTs;
  out.result = result;
  return true;
}

/** A created market's price and volume: nothing has traded yet. */
const NO_PRICE = asPriceE4(0);
const NO_VOLUME = asCountE2(0);

/** The market a certified `created` frame announces (as lifecycleUpdateFromMsg builds it). */
export function createdMarket(f: FastFrame, now: Micros): Market {
  return {
    ticker: f.ticker,
    eventTicker: f.eventTicker,
    title: f.title,
    marketStatus: 'initialized',
    tradingStatus: TRADING_BY_CODE[S_INITIALIZED] as Market['tradingStatus'],
    marketType: 'binary',
    result: '',
    yesBid: NO_PRICE,
    yesAsk: NO_PRICE,
    lastPrice: NO_PRICE,
    volume: NO_VOLUME,
    openTs: f.openTs,
    closeTs: f.closeTs,
    expirationTs: f.expirationTs,
    updatedAt: now,
  };
}

/** The LifecycleUpdate the zod route gives for the same frame (tests; the registry reads the scratch). */
export function fastFrameUpdate(f: FastFrame, now: Micros): LifecycleUpdate {
  switch (f.kind) {
    case 'created':
      return { kind: 'created', ticker: f.ticker, market: createdMarket(f, now) };
    case 'metadata':
      return { kind: 'metadata', ticker: f.ticker, eventType: f.eventType as 'price_level_structure_updated' | 'metadata_updated' };
    case 'transition': {
      const patch: { closeTs?: Micros; result?: string } = {};
      if (!Number.isNaN(f.closeTs)) patch.closeTs = f.closeTs;
      if (f.result !== undefined) patch.result = f.result;
      return { kind: 'transition', ticker: f.ticker, key: KEY_BY_CODE[f.key] as never, patch };
    }
  }
}
