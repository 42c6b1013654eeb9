/**
 * Columnar, in-memory truth of the simulated exchange: markets, events and series.
 *
 * Markets live in typed arrays indexed by a stable "market index" (insertion order). New markets
 * are appended, never re-sorted, so a GET /markets cursor is simply the next market index to look
 * at: pagination is O(page) and markets created between pages show up on a later page exactly once.
 * Strings that many markets share (event/series titles, rules) are kept once per event.
 *
 * Implicit (time-driven) status transitions — initialized→active at open_time and
 * active/inactive→closed at close_time — are applied lazily whenever a market's status is read
 * (`effStatus`), and written back, so the truth never drifts from the wall clock.
 */
import { MARKET_STATUSES, type MarketStatus, type MarketStatusFilter } from '../kalshi/schemas.js';
import { createRng, hashUnit, type Rng } from './prng.js';

// Status codes are indexes into MARKET_STATUSES.
export const ST_INITIALIZED = 0;
export const ST_INACTIVE = 1;
export const ST_ACTIVE = 2;
export const ST_CLOSED = 3;
export const ST_DETERMINED = 4;
export const ST_DISPUTED = 5;
export const ST_AMENDED = 6;
export const ST_FINALIZED = 7;

export function statusCode(s: MarketStatus): number {
  return MARKET_STATUSES.indexOf(s);
}
export function statusName(code: number): MarketStatus {
  return MARKET_STATUSES[code] ?? 'initialized';
}

/** GET /markets `status=` filter → bitmask of status codes (shared/kalshi-api.md §2.2). */
export const FILTER_MASK: Readonly<Record<MarketStatusFilter, number>> = {
  unopened: 1 << ST_INITIALIZED,
  open: 1 << ST_ACTIVE,
  paused: 1 << ST_INACTIVE,
  closed: (1 << ST_CLOSED) | (1 << ST_DETERMINED) | (1 << ST_DISPUTED) | (1 << ST_AMENDED),
  settled: 1 << ST_FINALIZED,
};

export const RESULTS = ['', 'yes', 'no', 'scalar'] as const;
export type SimResult = (typeof RESULTS)[number];
export const STRIKE_TYPES = [
  'greater',
  'between',
  'less',
  'greater_or_equal',
  'less_or_equal',
  'functional',
  'custom',
  'structured',
] as const;
const SETTLE_TIMERS = [60, 300, 600, 1800, 3600] as const;

/** Known price level structures and their price_ranges (JSON, pre-rendered). */
const PLS_RANGES: Record<string, ReadonlyArray<{ start: string; end: string; step: string }>> = {
  linear_cent: [{ start: '0.0000', end: '1.0000', step: '0.0100' }],
  deci_cent: [{ start: '0.0000', end: '1.0000', step: '0.0010' }],
  tapered_deci_cent: [
    { start: '0.0000', end: '0.1000', step: '0.0010' },
    { start: '0.1000', end: '0.9000', step: '0.0100' },
    { start: '0.9000', end: '1.0000', step: '0.0010' },
  ],
  center_whole_edge_half_cent: [
    { start: '0.0000', end: '0.0500', step: '0.0050' },
    { start: '0.0500', end: '0.9500', step: '0.0100' },
    { start: '0.9500', end: '1.0000', step: '0.0050' },
  ],
};
export function priceRangesFor(pls: string): Array<{ start: string; end: string; step: string }> {
  return (PLS_RANGES[pls] ?? PLS_RANGES.linear_cent ?? []).map((r) => ({ ...r }));
}

/** "0.0000" … "1.0000" for every price in units of $0.0001 (no toFixed on the hot path). */
const PRICE: string[] = [];
for (let v = 0; v <= 10_000; v++) PRICE.push((v / 10_000).toFixed(4));
export function priceStr(e4: number): string {
  return PRICE[e4] ?? (e4 / 10_000).toFixed(4);
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY = 86_400_000;
const HOUR = 3_600_000;

/** ISO-8601 without the ".000" when the time is a whole second (Kalshi's usual form). */
const TWO: string[] = Array.from({ length: 60 }, (_, k) => String(k).padStart(2, '0'));
const THREE: string[] = Array.from({ length: 1000 }, (_, k) => String(k).padStart(3, '0'));
const dayPrefix = new Map<number, string>();
export function iso(ms: number): string {
  const day = Math.floor(ms / DAY);
  let prefix = dayPrefix.get(day);
  if (prefix === undefined) {
    if (!Number.isFinite(ms)) return new Date(ms).toISOString(); // throws RangeError like Date would
    prefix = new Date(day * DAY).toISOString().slice(0, 11);
    if (dayPrefix.size < 200_000) dayPrefix.set(day, prefix);
  }
  let r = ms - day * DAY;
  const msPart = r % 1000;
  r = (r - msPart) / 1000;
  const sec = r % 60;
  r = (r - sec) / 60;
  const min = r % 60;
  const hour = (r - min) / 60;
  const base = `${prefix}${TWO[hour]}:${TWO[min]}:${TWO[sec]}`;
  return msPart === 0 ? `${base}Z` : `${base}.${THREE[Math.floor(msPart)]}Z`;
}
function isoOrNull(ms: number): string {
  return Number.isNaN(ms) ? 'null' : `"${iso(ms)}"`;
}
function numOrNull(v: number): string {
  return Number.isNaN(v) ? 'null' : String(v);
}

interface SeriesTemplate {
  base: string;
  what: string;
  unit: string;
  lo: number;
  step: number;
  kind: 'T' | 'B';
  category: string;
}
const TEMPLATES: readonly SeriesTemplate[] = [
  { base: 'HIGHNY', what: 'the high temperature in NYC', unit: '°', lo: 30, step: 2, kind: 'B', category: 'Climate and Weather' },
  { base: 'HIGHCHI', what: 'the high temperature in Chicago', unit: '°', lo: 25, step: 2, kind: 'B', category: 'Climate and Weather' },
  { base: 'HIGHMIA', what: 'the high temperature in Miami', unit: '°', lo: 60, step: 2, kind: 'B', category: 'Climate and Weather' },
  { base: 'RAINNYC', what: 'rainfall in NYC (inches)', unit: '', lo: 1, step: 1, kind: 'T', category: 'Climate and Weather' },
  { base: 'BTCD', what: 'the Bitcoin price at 5pm EDT', unit: '$', lo: 90000, step: 250, kind: 'T', category: 'Crypto' },
  { base: 'ETHD', what: 'the Ethereum price at 5pm EDT', unit: '$', lo: 3000, step: 20, kind: 'T', category: 'Crypto' },
  { base: 'INXD', what: 'the S&P 500 close', unit: '', lo: 5800, step: 25, kind: 'B', category: 'Financials' },
  { base: 'NASDAQ100D', what: 'the Nasdaq-100 close', unit: '', lo: 20000, step: 100, kind: 'B', category: 'Financials' },
  { base: 'FED', what: 'the upper bound of the federal funds rate', unit: '%', lo: 3, step: 0.25, kind: 'T', category: 'Economics' },
  { base: 'CPI', what: 'CPI month-over-month', unit: '%', lo: 0, step: 0.1, kind: 'T', category: 'Economics' },
  { base: 'GASPRICE', what: 'the US average gas price', unit: '$', lo: 3, step: 0.05, kind: 'T', category: 'Economics' },
  { base: 'NBAPTS', what: 'total points scored', unit: '', lo: 200, step: 5, kind: 'T', category: 'Sports' },
  { base: 'NFLSPREAD', what: 'the winning margin', unit: '', lo: 1, step: 3, kind: 'T', category: 'Sports' },
  { base: 'TSAPAX', what: 'TSA checkpoint travel numbers', unit: '', lo: 2_000_000, step: 50_000, kind: 'T', category: 'Transportation' },
];

export interface MarketQuery {
  statusMask?: number;
  tickers?: number[]; // sorted unique market indexes
  event?: number;
  series?: number;
  minCreatedMs?: number;
  maxCreatedMs?: number;
  minCloseMs?: number;
  maxCloseMs?: number;
  minSettledMs?: number;
  maxSettledMs?: number;
  minUpdatedMs?: number;
  mveOnly?: boolean;
  /** The query matches nothing (e.g. unknown event ticker). */
  empty?: boolean;
}

export interface EventQuery {
  statusMask?: number;
  series?: number;
  events?: number[];
  minUpdatedMs?: number;
  minCloseMs?: number;
  empty?: boolean;
}

export interface NewMarketSpec {
  event: number;
  ticker: string;
  status: number;
  openMs: number;
  closeMs: number;
  createdMs: number;
  strikeType: number;
  floor: number;
  cap: number;
  pls: string;
  marketType: 0 | 1;
  canCloseEarly: boolean;
}

function grow<T extends Float64Array | Uint8Array | Uint16Array | Uint32Array | Int32Array>(a: T, cap: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a);
  return b;
}

/**
 * JSON string literal with every non-ASCII character escaped (\u00b0), so that every body the sim
 * renders is pure ASCII and can be written with the (much faster) latin1 encoder.
 */
export function jsonStr(s: string): string {
  const j = JSON.stringify(s);
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\x7e]/.test(j) ? j.replace(/[^\x00-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : j;
}

export class MarketStore {
  count = 0;
  private cap: number;
  // --- market columns
  ticker: string[] = [];
  event: Int32Array;
  status: Uint8Array;
  marketType: Uint8Array;
  created: Float64Array;
  updated: Float64Array;
  open: Float64Array;
  close: Float64Array;
  determination: Float64Array;
  settled: Float64Array;
  result: Uint8Array;
  settlementValue: Uint16Array;
  settleTimer: Int32Array;
  yesBid: Uint16Array;
  yesAsk: Uint16Array;
  lastPrice: Uint16Array;
  prevBid: Uint16Array;
  prevAsk: Uint16Array;
  prevPrice: Uint16Array;
  bidSize: Uint32Array;
  askSize: Uint32Array;
  volume: Uint32Array;
  volume24h: Uint32Array;
  openInterest: Uint32Array;
  strikeType: Uint8Array;
  floor: Float64Array;
  cap_: Float64Array;
  pls: Uint8Array;
  canCloseEarly: Uint8Array;
  plsNames: string[] = ['linear_cent', 'deci_cent', 'tapered_deci_cent', 'center_whole_edge_half_cent'];
  private plsRangesJson: string[] = [];
  subTitleOverride = new Map<number, string>();
  byTicker = new Map<string, number>();
  // --- events
  evTicker: string[] = [];
  evSeries: number[] = [];
  evTitle: string[] = [];
  evSubTitle: string[] = [];
  evCollateral: string[] = [];
  evMutEx: boolean[] = [];
  evStrikeMs: number[] = [];
  evUpdated: number[] = [];
  evFeeType: Array<string | null> = [];
  evFeeMult: Array<number | null> = [];
  evMarkets: number[][] = [];
  /** Pre-rendered JSON fragments shared by every market of the event. */
  private evFrag: string[] = [];
  byEvent = new Map<string, number>();
  // --- series
  srTicker: string[] = [];
  srTemplate: number[] = [];
  srEvents: number[][] = [];
  srMarkets: number[][] = [];
  srNextDay: number[] = [];
  srStartMs: number[] = [];
  bySeries = new Map<string, number>();

  constructor(
    initialCapacity: number,
    private readonly bumpOnImplicit: boolean,
  ) {
    this.cap = Math.max(16, initialCapacity);
    const n = this.cap;
    this.event = new Int32Array(n);
    this.status = new Uint8Array(n);
    this.marketType = new Uint8Array(n);
    this.created = new Float64Array(n);
    this.updated = new Float64Array(n);
    this.open = new Float64Array(n);
    this.close = new Float64Array(n);
    this.determination = new Float64Array(n);
    this.settled = new Float64Array(n);
    this.result = new Uint8Array(n);
    this.settlementValue = new Uint16Array(n);
    this.settleTimer = new Int32Array(n);
    this.yesBid = new Uint16Array(n);
    this.yesAsk = new Uint16Array(n);
    this.lastPrice = new Uint16Array(n);
    this.prevBid = new Uint16Array(n);
    this.prevAsk = new Uint16Array(n);
    this.prevPrice = new Uint16Array(n);
    this.bidSize = new Uint32Array(n);
    this.askSize = new Uint32Array(n);
    this.volume = new Uint32Array(n);
    this.volume24h = new Uint32Array(n);
    this.openInterest = new Uint32Array(n);
    this.strikeType = new Uint8Array(n);
    this.floor = new Float64Array(n);
    this.cap_ = new Float64Array(n);
    this.pls = new Uint8Array(n);
    this.canCloseEarly = new Uint8Array(n);
    this.plsRangesJson = this.plsNames.map((p) => JSON.stringify(priceRangesFor(p)));
  }

  private ensureCapacity(): void {
    if (this.count < this.cap) return;
    const n = this.cap * 2;
    this.cap = n;
    this.event = grow(this.event, n);
    this.status = grow(this.status, n);
    this.marketType = grow(this.marketType, n);
    this.created = grow(this.created, n);
    this.updated = grow(this.updated, n);
    this.open = grow(this.open, n);
    this.close = grow(this.close, n);
    this.determination = grow(this.determination, n);
    this.settled = grow(this.settled, n);
    this.result = grow(this.result, n);
    this.settlementValue = grow(this.settlementValue, n);
    this.settleTimer = grow(this.settleTimer, n);
    this.yesBid = grow(this.yesBid, n);
    this.yesAsk = grow(this.yesAsk, n);
    this.lastPrice = grow(this.lastPrice, n);
    this.prevBid = grow(this.prevBid, n);
    this.prevAsk = grow(this.prevAsk, n);
    this.prevPrice = grow(this.prevPrice, n);
    this.bidSize = grow(this.bidSize, n);
    this.askSize = grow(this.askSize, n);
    this.volume = grow(this.volume, n);
    this.volume24h = grow(this.volume24h, n);
    this.openInterest = grow(this.openInterest, n);
    this.strikeType = grow(this.strikeType, n);
    this.floor = grow(this.floor, n);
    this.cap_ = grow(this.cap_, n);
    this.pls = grow(this.pls, n);
    this.canCloseEarly = grow(this.canCloseEarly, n);
  }

  plsCode(name: string): number {
    let i = this.plsNames.indexOf(name);
    if (i < 0) {
      if (this.plsNames.length >= 255) throw new Error('too many distinct price level structures');
      i = this.plsNames.push(name) - 1;
      this.plsRangesJson.push(JSON.stringify(priceRangesFor(name)));
    }
    return i;
  }

  // ------------------------------------------------------------------------------------------
  // Series / events

  seriesTemplate(s: number): SeriesTemplate {
    return TEMPLATES[this.srTemplate[s] ?? 0] ?? (TEMPLATES[0] as SeriesTemplate);
  }

  addSeries(ticker: string, template: number, startMs: number): number {
    const existing = this.bySeries.get(ticker);
    if (existing !== undefined) return existing;
    const s = this.srTicker.length;
    this.srTicker.push(ticker);
    this.srTemplate.push(template % TEMPLATES.length);
    this.srEvents.push([]);
    this.srMarkets.push([]);
    this.srNextDay.push(0);
    this.srStartMs.push(startMs);
    this.bySeries.set(ticker, s);
    return s;
  }

  /** Creates the series ticker for the n-th series (KXHIGHNY, KXBTCD, …, then KXHIGHNY2, …). */
  static seriesTickerFor(n: number): { ticker: string; template: number } {
    const template = n % TEMPLATES.length;
    const round = Math.floor(n / TEMPLATES.length);
    const t = TEMPLATES[template] as SeriesTemplate;
    return { ticker: `KX${t.base}${round === 0 ? '' : round + 1}`, template };
  }

  /** A fresh event ticker in series s for its next day (KXHIGHNY-26NOV24). */
  nextEventTicker(s: number): { ticker: string; dateMs: number } {
    for (;;) {
      const day = this.srNextDay[s] ?? 0;
      this.srNextDay[s] = day + 1;
      const dateMs = (this.srStartMs[s] ?? 0) + day * DAY;
      const d = new Date(dateMs);
      const yy = String(d.getUTCFullYear() % 100).padStart(2, '0');
      const dd = String(d.getUTCDate()).padStart(2, '0');
      const ticker = `${this.srTicker[s]}-${yy}${MONTHS[d.getUTCMonth()]}${dd}`;
      if (!this.byEvent.has(ticker)) return { ticker, dateMs };
    }
  }

  addEvent(ticker: string, s: number, dateMs: number, nowMs: number, rng: Rng): number {
    const e = this.evTicker.length;
    const t = this.seriesTemplate(s);
    const d = new Date(dateMs);
    const dateLabel = `${MONTHS[d.getUTCMonth()]?.slice(0, 1)}${MONTHS[d.getUTCMonth()]?.slice(1).toLowerCase()} ${d.getUTCDate()}, ${d.getUTCFullYear()}`;
    const title = `What will ${t.what} be on ${dateLabel}?`;
    this.evTicker.push(ticker);
    this.evSeries.push(s);
    this.evTitle.push(title);
    this.evSubTitle.push(`On ${dateLabel}`);
    this.evCollateral.push(t.kind === 'B' ? 'MECNET' : 'DIRECNET');
    this.evMutEx.push(t.kind === 'B');
    this.evStrikeMs.push(dateMs);
    this.evUpdated.push(nowMs);
    this.evFeeType.push(null);
    this.evFeeMult.push(null);
    this.evMarkets.push([]);
    const rulesPrimary = `If ${t.what} on ${dateLabel} is within the range of the market's strike, then the market resolves to Yes.`;
    const rulesSecondary = `Not all ${t.category.toLowerCase()} data is final when first published; the source agency's first release is used.`;
    this.evFrag.push(
      `"event_ticker":${jsonStr(ticker)},"title":${jsonStr(title)},"subtitle":${jsonStr(`On ${dateLabel}`)},` +
        `"rules_primary":${jsonStr(rulesPrimary)},"rules_secondary":${jsonStr(rulesSecondary)}`,
    );
    this.byEvent.set(ticker, e);
    this.srEvents[s]?.push(e);
    void rng;
    return e;
  }

  eventRules(e: number): { rules_primary: string; rules_secondary: string } {
    const o = JSON.parse(`{${this.evFrag[e] ?? ''}}`) as { rules_primary: string; rules_secondary: string };
    return { rules_primary: o.rules_primary, rules_secondary: o.rules_secondary };
  }

  // ------------------------------------------------------------------------------------------
  // Markets

  addMarket(m: NewMarketSpec, rng: Rng): number {
    this.ensureCapacity();
    const i = this.count++;
    this.ticker[i] = m.ticker;
    this.byTicker.set(m.ticker, i);
    this.event[i] = m.event;
    this.status[i] = m.status;
    this.marketType[i] = m.marketType;
    this.created[i] = m.createdMs;
    this.updated[i] = m.createdMs;
    this.open[i] = m.openMs;
    this.close[i] = m.closeMs;
    this.determination[i] = NaN;
    this.settled[i] = NaN;
    this.result[i] = 0;
    this.settleTimer[i] = rng.pick(SETTLE_TIMERS);
    const bid = rng.int(1, 95) * 100;
    const ask = bid + rng.int(1, 4) * 100;
    this.yesBid[i] = m.status === ST_INITIALIZED ? 0 : bid;
    this.yesAsk[i] = m.status === ST_INITIALIZED ? 10_000 : ask;
    this.lastPrice[i] = m.status === ST_INITIALIZED ? 0 : bid + 100;
    this.prevBid[i] = this.yesBid[i] ?? 0;
    this.prevAsk[i] = this.yesAsk[i] ?? 0;
    this.prevPrice[i] = this.lastPrice[i] ?? 0;
    const vol = m.status === ST_INITIALIZED ? 0 : Math.floor(rng.next() * rng.next() * 50_000);
    this.volume[i] = vol;
    this.volume24h[i] = Math.floor(vol * rng.next() * 0.3);
    this.openInterest[i] = Math.floor(vol * 0.4);
    this.bidSize[i] = m.status === ST_INITIALIZED ? 0 : rng.int(1, 2000);
    this.askSize[i] = m.status === ST_INITIALIZED ? 0 : rng.int(1, 2000);
    this.strikeType[i] = m.strikeType;
    this.floor[i] = m.floor;
    this.cap_[i] = m.cap;
    this.pls[i] = this.plsCode(m.pls);
    this.canCloseEarly[i] = m.canCloseEarly ? 1 : 0;
    this.evMarkets[m.event]?.push(i);
    this.srMarkets[this.evSeries[m.event] ?? 0]?.push(i);
    return i;
  }

  /** Sets a determined result (and its settlement value) on market i. */
  setResult(i: number, result: SimResult, atMs: number, scalarValueE4?: number): void {
    this.result[i] = RESULTS.indexOf(result);
    this.determination[i] = atMs;
    this.settlementValue[i] = result === 'yes' ? 10_000 : result === 'no' ? 0 : (scalarValueE4 ?? 5000);
    if (result === 'yes' || result === 'no') {
      this.yesBid[i] = 0;
      this.yesAsk[i] = 0;
      this.lastPrice[i] = result === 'yes' ? 9900 : 100;
      this.bidSize[i] = 0;
      this.askSize[i] = 0;
    }
  }

  /** The market's status with the implicit time transitions applied (and written back). */
  effStatus(i: number, now: number): number {
    let s = this.status[i] ?? 0;
    if (s === ST_INITIALIZED && (this.open[i] ?? 0) <= now) {
      s = ST_ACTIVE;
      this.status[i] = s;
      if (this.bumpOnImplicit) this.updated[i] = Math.max(this.updated[i] ?? 0, this.open[i] ?? 0);
    }
    if ((s === ST_ACTIVE || s === ST_INACTIVE) && (this.close[i] ?? 0) <= now) {
      s = ST_CLOSED;
      this.status[i] = s;
      if (this.bumpOnImplicit) this.updated[i] = Math.max(this.updated[i] ?? 0, this.close[i] ?? 0);
    }
    return s;
  }

  yesSubTitle(i: number): string {
    return this.subTitleOverride.get(i) ?? this.generatedSubTitle(i, false);
  }

  /** The generated yes_sub_title; with `json` its non-ASCII unit is \u-escaped (for JSON bodies). */
  private generatedSubTitle(i: number, json: boolean): string {
    const e = this.event[i] ?? 0;
    const t = this.seriesTemplate(this.evSeries[e] ?? 0);
    const f = this.floor[i] ?? 0;
    const st = this.strikeType[i];
    const unit = json && t.unit === '°' ? '\\u00b0' : t.unit;
    const a = t.unit === '$' ? `$${withCommas(f)}` : `${f}${unit}`;
    if (st === 1) {
      const c = this.cap_[i] ?? f;
      return `${a} to ${t.unit === '$' ? `$${withCommas(c)}` : `${c}${unit}`}`;
    }
    return st === 2 ? `${a} or below` : `${a} or above`;
  }

  /** The wire JSON (GET /markets record) of market i. Call effStatus first. */
  marketJson(i: number): string {
    const e = this.event[i] ?? 0;
    const st = this.status[i] ?? 0;
    const res = this.result[i] ?? 0;
    const closeMs = this.close[i] ?? 0;
    const override = this.subTitleOverride.get(i);
    const subJ = override !== undefined ? jsonStr(override) : `"${this.generatedSubTitle(i, true)}"`;
    const settled = this.settled[i] ?? NaN;
    const plsC = this.pls[i] ?? 0;
    const stype = this.strikeType[i] ?? 0;
    const cap = this.cap_[i] ?? NaN;
    const svDollars = res === 0 ? 'null' : `"${priceStr(this.settlementValue[i] ?? 0)}"`;
    const expValue = res === 0 ? '' : res === 3 ? priceStr(this.settlementValue[i] ?? 0) : String(this.floor[i] ?? 0);
    return (
      `{"ticker":"${this.ticker[i]}",${this.evFrag[e]},"market_type":"${this.marketType[i] === 1 ? 'scalar' : 'binary'}",` +
      `"yes_sub_title":${subJ},"no_sub_title":${subJ},` +
      `"created_time":"${iso(this.created[i] ?? 0)}","updated_time":"${iso(this.updated[i] ?? 0)}",` +
      `"open_time":"${iso(this.open[i] ?? 0)}","close_time":"${iso(closeMs)}",` +
      `"expected_expiration_time":"${iso(closeMs + HOUR)}","expiration_time":"${iso(closeMs + 7 * DAY)}",` +
      `"latest_expiration_time":"${iso(closeMs + 7 * DAY)}","settlement_timer_seconds":${this.settleTimer[i]},` +
      `"status":"${MARKET_STATUSES[st]}",` +
      `"notional_value_dollars":"1.0000",` +
      `"yes_bid_dollars":"${priceStr(this.yesBid[i] ?? 0)}","yes_ask_dollars":"${priceStr(this.yesAsk[i] ?? 0)}",` +
      `"no_bid_dollars":"${priceStr(10_000 - (this.yesAsk[i] ?? 0))}","no_ask_dollars":"${priceStr(10_000 - (this.yesBid[i] ?? 0))}",` +
      `"yes_bid_size_fp":"${this.bidSize[i]}.00","yes_ask_size_fp":"${this.askSize[i]}.00",` +
      `"last_price_dollars":"${priceStr(this.lastPrice[i] ?? 0)}",` +
      `"previous_yes_bid_dollars":"${priceStr(this.prevBid[i] ?? 0)}","previous_yes_ask_dollars":"${priceStr(this.prevAsk[i] ?? 0)}",` +
      `"previous_price_dollars":"${priceStr(this.prevPrice[i] ?? 0)}",` +
      `"volume_fp":"${this.volume[i]}.00","volume_24h_fp":"${this.volume24h[i]}.00","open_interest_fp":"${this.openInterest[i]}.00",` +
      `"liquidity_dollars":"0.0000","result":"${RESULTS[res]}","can_close_early":${this.canCloseEarly[i] === 1},` +
      `"expiration_value":"${expValue}","settlement_value_dollars":${svDollars},"settlement_ts":${isoOrNull(settled)},` +
      `"occurrence_datetime":null,"fee_waiver_expiration_time":null,"early_close_condition":null,` +
      `"strike_type":"${STRIKE_TYPES[stype]}","floor_strike":${numOrNull(this.floor[i] ?? NaN)},"cap_strike":${numOrNull(cap)},` +
      `"functional_strike":null,"custom_strike":null,"primary_participant_key":null,` +
      `"price_level_structure":"${this.plsNames[plsC]}","price_ranges":${this.plsRangesJson[plsC]},` +
      `"is_provisional":false,"exchange_index":0}`
    );
  }

  /** A deliberately broken record (fault injection): kind 0 no ticker, 1 bogus status, 2 bad price. */
  malformedMarketJson(i: number, kind: number): string {
    const o = JSON.parse(this.marketJson(i)) as Record<string, unknown>;
    if (kind % 3 === 0) delete o.ticker;
    else if (kind % 3 === 1) o.status = 'bogus';
    else o.yes_bid_dollars = 'abc';
    return JSON.stringify(o).replace(/[^\x00-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }

  isMalformed(i: number, malformed: ReadonlySet<string>, rate: number, seed: number): boolean {
    if (malformed.size > 0 && malformed.has(this.ticker[i] ?? '')) return true;
    return rate > 0 && hashUnit(i, seed) < rate;
  }

  // ------------------------------------------------------------------------------------------
  // Queries

  private matches(i: number, q: MarketQuery, now: number): boolean {
    const s = this.effStatus(i, now);
    if (q.statusMask !== undefined && ((1 << s) & q.statusMask) === 0) return false;
    if (q.minUpdatedMs !== undefined && (this.updated[i] ?? 0) < q.minUpdatedMs) return false;
    if (q.minCreatedMs !== undefined && (this.created[i] ?? 0) < q.minCreatedMs) return false;
    if (q.maxCreatedMs !== undefined && (this.created[i] ?? 0) > q.maxCreatedMs) return false;
    if (q.minCloseMs !== undefined && (this.close[i] ?? 0) < q.minCloseMs) return false;
    if (q.maxCloseMs !== undefined && (this.close[i] ?? 0) > q.maxCloseMs) return false;
    if (q.minSettledMs !== undefined || q.maxSettledMs !== undefined) {
      const t = this.settled[i] ?? NaN;
      if (Number.isNaN(t)) return false;
      if (q.minSettledMs !== undefined && t < q.minSettledMs) return false;
      if (q.maxSettledMs !== undefined && t > q.maxSettledMs) return false;
    }
    return true;
  }

  /**
   * One page of GET /markets: market indexes ≥ `from` that match, at most `limit`, and the next
   * index to resume from (-1 when the candidates are exhausted).
   */
  queryMarkets(q: MarketQuery, from: number, limit: number, now: number): { indices: number[]; next: number } {
    const out: number[] = [];
    if (q.empty || q.mveOnly) return { indices: out, next: -1 };
    const list: readonly number[] | undefined =
      q.tickers ?? (q.event !== undefined ? this.evMarkets[q.event] : q.series !== undefined ? this.srMarkets[q.series] : undefined);
    if (list) {
      let k = lowerBound(list, from);
      for (; k < list.length && out.length < limit; k++) {
        const i = list[k] as number;
        if (this.matches(i, q, now)) out.push(i);
      }
      return { indices: out, next: k < list.length ? (list[k] as number) : -1 };
    }
    let i = from;
    const n = this.count;
    for (; i < n && out.length < limit; i++) if (this.matches(i, q, now)) out.push(i);
    return { indices: out, next: i < n ? i : -1 };
  }

  private eventMatches(e: number, q: EventQuery, now: number): boolean {
    if (q.minUpdatedMs !== undefined && (this.evUpdated[e] ?? 0) < q.minUpdatedMs) return false;
    const ms = this.evMarkets[e] ?? [];
    if (q.statusMask !== undefined) {
      let any = false;
      for (const i of ms) if (((1 << this.effStatus(i, now)) & q.statusMask) !== 0) { any = true; break; }
      if (!any) return false;
    }
    if (q.minCloseMs !== undefined) {
      const min = q.minCloseMs;
      if (!ms.some((i) => (this.close[i] ?? 0) > min)) return false;
    }
    return true;
  }

  queryEvents(q: EventQuery, from: number, limit: number, now: number): { indices: number[]; next: number } {
    const out: number[] = [];
    if (q.empty) return { indices: out, next: -1 };
    const list: readonly number[] | undefined = q.events ?? (q.series !== undefined ? this.srEvents[q.series] : undefined);
    if (list) {
      let k = lowerBound(list, from);
      for (; k < list.length && out.length < limit; k++) {
        const e = list[k] as number;
        if (this.eventMatches(e, q, now)) out.push(e);
      }
      return { indices: out, next: k < list.length ? (list[k] as number) : -1 };
    }
    let e = from;
    const n = this.evTicker.length;
    for (; e < n && out.length < limit; e++) if (this.eventMatches(e, q, now)) out.push(e);
    return { indices: out, next: e < n ? e : -1 };
  }

  eventJson(e: number, nestedMarkets: string | null): string {
    const s = this.evSeries[e] ?? 0;
    const t = this.seriesTemplate(s);
    const fee = this.evFeeMult[e];
    return (
      `{"event_ticker":"${this.evTicker[e]}","series_ticker":"${this.srTicker[s]}","sub_title":${jsonStr(this.evSubTitle[e] ?? '')},` +
      `"title":${jsonStr(this.evTitle[e] ?? '')},"collateral_return_type":"${this.evCollateral[e]}","mutually_exclusive":${this.evMutEx[e] === true},` +
      `"category":"${t.category}","strike_date":${isoOrNull(this.evStrikeMs[e] ?? NaN)},"strike_period":null,` +
      `"settlement_sources":[{"name":"Simulated source","url":"https://example.invalid/source"}],` +
      `"last_updated_ts":"${iso(this.evUpdated[e] ?? 0)}","fee_type_override":${this.evFeeType[e] == null ? 'null' : jsonStr(this.evFeeType[e] ?? '')},` +
      `"fee_multiplier_override":${fee == null ? 'null' : String(fee)},"product_metadata":null,"exchange_index":0,"available_on_brokers":true` +
      (nestedMarkets === null ? '' : `,"markets":${nestedMarkets}`) +
      '}'
    );
  }
}

function withCommas(v: number): string {
  const [int = '0', frac] = String(v).split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return frac === undefined ? grouped : `${grouped}.${frac}`;
}

export function lowerBound(list: readonly number[], x: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface GenerateOptions {
  markets: number;
  seed: number;
  marketsPerEvent: { min: number; max: number };
  eventsPerSeries: { min: number; max: number };
  statusMix: Readonly<Partial<Record<MarketStatus, number>>>;
  bumpOnImplicit: boolean;
  nowMs: number;
}

/** Exact per-status quotas (largest remainder), shuffled deterministically. */
function statusSequence(n: number, mix: Readonly<Partial<Record<MarketStatus, number>>>, rng: Rng): Uint8Array {
  const total = MARKET_STATUSES.reduce((a, s) => a + (mix[s] ?? 0), 0);
  const quotas = MARKET_STATUSES.map((s) => ((mix[s] ?? 0) / total) * n);
  const counts = quotas.map(Math.floor);
  let rest = n - counts.reduce((a, b) => a + b, 0);
  const order = quotas.map((q, k) => ({ k, frac: q - Math.floor(q) })).sort((a, b) => b.frac - a.frac);
  for (const { k } of order) {
    if (rest <= 0) break;
    counts[k] = (counts[k] ?? 0) + 1;
    rest--;
  }
  const seq = new Uint8Array(n);
  let p = 0;
  counts.forEach((c, k) => {
    seq.fill(k, p, p + c);
    p += c;
  });
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const t = seq[i] as number;
    seq[i] = seq[j] as number;
    seq[j] = t;
  }
  return seq;
}

const SEC = 1000;
const roundSec = (ms: number): number => Math.floor(ms / SEC) * SEC;

/** Open/close/created times consistent with a generated status, relative to now. */
export function timesFor(status: number, now: number, rng: Rng): { open: number; close: number; created: number } {
  const u = (a: number, b: number): number => a + rng.next() * (b - a);
  let open: number;
  let close: number;
  switch (status) {
    case ST_INITIALIZED:
      open = now + u(HOUR, 7 * DAY);
      close = open + u(HOUR, 30 * DAY);
      break;
    case ST_ACTIVE:
    case ST_INACTIVE:
      open = now - u(HOUR, 30 * DAY);
      close = now + u(HOUR, 60 * DAY);
      break;
    case ST_CLOSED:
      close = now - u(60 * SEC, 2 * DAY);
      open = close - u(DAY, 30 * DAY);
      break;
    case ST_FINALIZED:
      close = now - u(DAY, 80 * DAY);
      open = close - u(DAY, 30 * DAY);
      break;
    default:
      close = now - u(3 * HOUR, 3 * DAY);
      open = close - u(DAY, 30 * DAY);
  }
  open = roundSec(open);
  close = roundSec(close);
  const created = roundSec(Math.min(open, now) - u(HOUR, 7 * DAY));
  return { open, close, created };
}

/** Generates the initial exchange. 1M markets take a few seconds. */
export function generateStore(o: GenerateOptions): MarketStore {
  const rng = createRng(o.seed);
  const store = new MarketStore(Math.max(16, o.markets + 1024), o.bumpOnImplicit);
  const statuses = statusSequence(o.markets, o.statusMix, rng);
  let made = 0;
  let seriesN = 0;
  while (made < o.markets) {
    const { ticker: sTicker, template } = MarketStore.seriesTickerFor(seriesN++);
    const startMs = Date.UTC(2026, 0, 1) + rng.int(0, 300) * DAY;
    const s = store.addSeries(sTicker, template, startMs);
    const nEvents = rng.int(o.eventsPerSeries.min, o.eventsPerSeries.max);
    for (let k = 0; k < nEvents && made < o.markets; k++) {
      const { ticker: eTicker, dateMs } = store.nextEventTicker(s);
      const e = store.addEvent(eTicker, s, dateMs, roundSec(o.nowMs - rng.int(1, 90) * DAY), rng);
      const nMarkets = Math.min(o.markets - made, rng.int(o.marketsPerEvent.min, o.marketsPerEvent.max));
      addGeneratedMarkets(store, e, nMarkets, statuses, made, o.nowMs, rng);
      made += nMarkets;
    }
  }
  return store;
}

function addGeneratedMarkets(
  store: MarketStore,
  e: number,
  n: number,
  statuses: Uint8Array,
  offset: number,
  now: number,
  rng: Rng,
): void {
  const t = store.seriesTemplate(store.evSeries[e] ?? 0);
  const eTicker = store.evTicker[e] ?? '';
  const lo = t.lo + rng.int(0, 4) * t.step;
  for (let j = 0; j < n; j++) {
    const status = statuses[offset + j] ?? ST_ACTIVE;
    const floor = Math.round((lo + j * t.step) * 100) / 100;
    const between = t.kind === 'B';
    const ticker = `${eTicker}-${t.kind}${floor}`;
    const { open, close, created } = timesFor(status, now, rng);
    const i = store.addMarket(
      {
        event: e,
        ticker,
        status,
        openMs: open,
        closeMs: close,
        createdMs: created,
        strikeType: between ? 1 : 0,
        floor,
        cap: between ? Math.round((floor + t.step) * 100) / 100 : NaN,
        pls: rng.next() < 0.85 ? 'linear_cent' : rng.next() < 0.5 ? 'deci_cent' : 'tapered_deci_cent',
        marketType: 0,
        canCloseEarly: rng.next() < 0.3,
      },
      rng,
    );
    applyGeneratedHistory(store, i, status, now, rng);
  }
}

/** Result/determination/settlement fields for markets generated past close. */
function applyGeneratedHistory(store: MarketStore, i: number, status: number, now: number, rng: Rng): void {
  const close = store.close[i] ?? 0;
  let updated = store.created[i] ?? 0;
  if (status === ST_INACTIVE) updated = roundSec(now - rng.int(60, 86_400) * SEC);
  if (status >= ST_DETERMINED) {
    const det = roundSec(Math.min(now - SEC, close + rng.int(60, 7200) * SEC));
    store.setResult(i, rng.next() < 0.5 ? 'yes' : 'no', det);
    updated = det;
    if (status === ST_DISPUTED || status === ST_AMENDED) updated = roundSec(Math.min(now, det + 60 * SEC));
    if (status === ST_FINALIZED) {
      const st = roundSec(Math.min(now - SEC, det + (store.settleTimer[i] ?? 60) * SEC));
      store.settled[i] = st;
      updated = st;
    }
  }
  store.updated[i] = Math.max(updated, store.created[i] ?? 0);
}
