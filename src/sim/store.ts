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
 *
 * Records are rendered the way Kalshi sends them in 2026 (see shared/real-kalshi, the Mar–Aug 2026
 * recordings): keys in alphabetical order, `*_dollars` / `*_fp` strings only, optional fields
 * omitted (never `null`) until they have a value, microsecond `created_time`/`updated_time`/
 * `settlement_ts` with Go's trailing-zero trimming, sub-cent prices where the price level
 * structure allows them, fractional contract counts.
 */
import { MARKET_STATUSES, type MarketStatus, type MarketStatusFilter } from '../kalshi/schemas.js';
import { createRng, hashUnit, type Rng } from './prng.js';
import { lowerBound } from '../util/lower-bound.js';

// Status codes are indexes into MARKET_STATUSES.
export const ST_INITIALIZED = 0;
export const ST_INACTIVE = 1;
export const ST_ACTIVE = 2;
export const ST_CLOSED = 3;
export const ST_DETERMINED = 4;
export const ST_DISPUTED = 5;
export const ST_AMENDED = 6;
export const ST_FINALIZED = 7;

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
export const STRIKE_TYPES = ['greater', 'between', 'less', 'greater_or_equal', 'less_or_equal', 'functional', 'custom', 'structured'] as const;
const ST_CUSTOM = 6;
const ST_STRUCTURED = 7;
const SETTLE_TIMERS = [30, 60, 120, 300, 600, 1800, 3600] as const;

// ---------------------------------------------------------------------------------------------
// Price level structures

type Band = readonly [start: number, end: number, step: number]; // in units of $0.0001
/**
 * Price level structures the sim knows and their price bands (shared/kalshi-api.md §7.2 lists the
 * names; the bands of the recorded ones — linear_cent, deci_cent, tapered_deci_cent — are as
 * recorded, the others follow their names: centre tick / edge tick, edges below 0.10 and above 0.90).
 */
const PLS_BANDS: Readonly<Record<string, readonly Band[]>> = {
  linear_cent: [[0, 10_000, 100]],
  deci_cent: [[0, 10_000, 10]],
  tapered_deci_cent: [
    [0, 1000, 10],
    [1000, 9000, 100],
    [9000, 10_000, 10],
  ],
  center_whole_edge_half_cent: [
    [0, 500, 50],
    [500, 9500, 100],
    [9500, 10_000, 50],
  ],
  center_whole_edge_quint_cent: [
    [0, 1000, 20],
    [1000, 9000, 100],
    [9000, 10_000, 20],
  ],
  center_half_edge_half_cent: [[0, 10_000, 50]],
  center_half_edge_quint_cent: [
    [0, 1000, 20],
    [1000, 9000, 50],
    [9000, 10_000, 20],
  ],
  center_half_edge_deci_cent: [
    [0, 1000, 10],
    [1000, 9000, 50],
    [9000, 10_000, 10],
  ],
  center_quint_edge_quint_cent: [[0, 10_000, 20]],
  center_quint_edge_deci_cent: [
    [0, 1000, 10],
    [1000, 9000, 20],
    [9000, 10_000, 10],
  ],
  center_centi_edge_centi_cent: [[0, 10_000, 1]],
  center_deci_edge_centi_cent: [
    [0, 1000, 1],
    [1000, 9000, 10],
    [9000, 10_000, 1],
  ],
  banded_centi_cent: [[0, 10_000, 1]],
};
export const PRICE_LEVEL_STRUCTURES = Object.keys(PLS_BANDS);
export function isKnownPriceLevelStructure(pls: string): boolean {
  return Object.prototype.hasOwnProperty.call(PLS_BANDS, pls);
}

/** price_ranges of a price level structure (keys in the WebSocket's documented order start/end/step). */
export function priceRangesFor(pls: string): Array<{ start: string; end: string; step: string }> {
  return (PLS_BANDS[pls] ?? PLS_BANDS.linear_cent ?? []).map(([s, e, st]) => ({ start: priceStr(s), end: priceStr(e), step: priceStr(st) }));
}
/** REST rendering of price_ranges: keys alphabetical (end, start, step) as recorded. */
function priceRangesRestJson(pls: string): string {
  return `[${(PLS_BANDS[pls] ?? []).map(([s, e, st]) => `{"end":"${priceStr(e)}","start":"${priceStr(s)}","step":"${priceStr(st)}"}`).join(',')}]`;
}
/** The nearest price on the grid of `bands` (prices are in units of $0.0001). */
function snapPrice(e4: number, bands: readonly Band[]): number {
  for (const [s, e, step] of bands) {
    if (e4 <= e || bands[bands.length - 1]?.[1] === e) {
      const k = Math.round((Math.min(Math.max(e4, s), e) - s) / step);
      return Math.min(e, s + k * step);
    }
  }
  return e4;
}
function tickAt(e4: number, bands: readonly Band[]): number {
  for (const [, e, step] of bands) if (e4 < e) return step;
  return bands[bands.length - 1]?.[2] ?? 100;
}

/** "0.0000" … "1.0000" for every price in units of $0.0001 (no toFixed on the hot path). */
const PRICE: string[] = [];
for (let v = 0; v <= 10_000; v++) PRICE.push((v / 10_000).toFixed(4));
export function priceStr(e4: number): string {
  return PRICE[e4] ?? (e4 / 10_000).toFixed(4);
}
/** A FixedPointCount string ("18342.50") of a count kept in hundredths of a contract. */
const HUNDREDTHS: string[] = Array.from({ length: 100 }, (_, k) => String(k).padStart(2, '0'));
function fpCount(centi: number): string {
  if (centi === 0) return '0.00';
  const whole = (centi / 100) | 0;
  return `${whole}.${HUNDREDTHS[centi - whole * 100]}`;
}

// ---------------------------------------------------------------------------------------------
// Times

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY = 86_400_000;
const HOUR = 3_600_000;

const TWO: string[] = Array.from({ length: 60 }, (_, k) => String(k).padStart(2, '0'));
const THREE: string[] = Array.from({ length: 1000 }, (_, k) => String(k).padStart(3, '0'));
/** THREE without trailing zeros ("120" → "12"); only used for k > 0. */
const THREE_TRIM: string[] = THREE.map((s) => s.replace(/0+$/, ''));
/** "2026-02-13T" per day since the epoch (a flat array: one lookup, no Map, no allocation). */
const DAY_PREFIX: Array<string | undefined> = new Array<string | undefined>(80_000);
/** "02:48:32" for a second of the day (small tables: they stay in cache, unlike an 86 400-entry one). */
function hms(sec: number): string {
  const h = (sec / 3600) | 0;
  const rest = sec - h * 3600;
  const m = (rest / 60) | 0;
  return `${TWO[h]}:${TWO[m]}:${TWO[rest - m * 60]}`;
}
/** Second of the day and milliseconds part of the last dayOf() call (module variables: no object per call). */
let lastSec = 0;
let lastMsPart = 0;
function dayOf(ms: number): string {
  const day = Math.floor(ms / DAY);
  let prefix = day >= 0 && day < 80_000 ? DAY_PREFIX[day] : undefined;
  if (prefix === undefined) {
    if (!Number.isFinite(ms)) return new Date(ms).toISOString(); // throws RangeError like Date would
    prefix = new Date(day * DAY).toISOString().slice(0, 11);
    if (day >= 0 && day < 80_000) DAY_PREFIX[day] = prefix;
  }
  const r = ms - day * DAY;
  lastSec = Math.floor(r / 1000);
  lastMsPart = Math.floor(r - lastSec * 1000);
  return prefix;
}
/** ISO-8601 without the ".000" when the time is a whole second (Kalshi's usual form). */
function iso(ms: number): string {
  const day = dayOf(ms);
  return lastMsPart === 0 ? `${day}${hms(lastSec)}Z` : `${day}${hms(lastSec)}.${THREE_TRIM[lastMsPart]}Z`;
}
/**
 * ISO-8601 with microseconds, trailing zeros trimmed the way Go's RFC3339Nano does
 * ("2026-02-13T02:48:32.843378Z", "2026-08-07T00:40:00.24501Z"); `us` is 0–999 µs past `ms`.
 */
function isoMicro(ms: number, us: number): string {
  if (us === 0) return iso(ms);
  const day = dayOf(ms);
  return `${day}${hms(lastSec)}.${THREE[lastMsPart]}${THREE_TRIM[us]}Z`;
}

// ---------------------------------------------------------------------------------------------
// Templates

export interface SeriesTemplate {
  base: string;
  title: string;
  what: string;
  unit: string;
  lo: number;
  step: number;
  /** T: threshold ("X or above"), B: bracket ("X to Y"), S: sports game (one market per outcome), M: combo collection. */
  kind: 'T' | 'B' | 'S' | 'M';
  category: string;
  tags: readonly string[];
  frequency: string;
  /** Markets carry occurrence_datetime (the moment that is measured is known in advance). */
  occurrence: boolean;
  settlement: ReadonlyArray<{ name: string; url: string }>;
  // --- sports (kind S)
  league?: string;
  sport?: string;
  customKey?: string;
  teams?: ReadonlyArray<readonly [code: string, name: string]>;
  tie?: boolean;
  // --- combos (kind M)
  collection?: string;
  /** Combo legs come from sports series only. */
  sportsLegs?: boolean;
}

const NWS = [{ name: 'National Weather Service', url: 'https://www.weather.gov/' }];
const CFB = [{ name: 'CF Benchmarks', url: 'https://www.cfbenchmarks.com/' }];
const BLS = [{ name: 'Bureau of Labor Statistics', url: 'https://www.bls.gov/' }];
const t = (o: Omit<SeriesTemplate, 'occurrence' | 'frequency'> & Partial<Pick<SeriesTemplate, 'occurrence' | 'frequency'>>): SeriesTemplate => ({
  occurrence: false,
  frequency: 'daily',
  ...o,
});
export const TEMPLATES: readonly SeriesTemplate[] = [
  t({
    base: 'HIGHNY',
    title: 'Highest temperature in NYC',
    what: 'the high temperature in NYC',
    unit: '°',
    lo: 30,
    step: 2,
    kind: 'B',
    category: 'Climate and Weather',
    tags: ['Weather'],
    settlement: NWS,
    occurrence: true,
  }),
  t({
    base: 'BTCD',
    title: 'Bitcoin price today at 5pm EDT',
    what: 'the Bitcoin price at 5pm EDT',
    unit: '$',
    lo: 89_999.99,
    step: 250,
    kind: 'T',
    category: 'Crypto',
    tags: ['BTC'],
    settlement: CFB,
    occurrence: true,
  }),
  t({
    base: 'EPLGAME',
    title: 'English Premier League Game',
    what: 'professional EPL soccer game',
    unit: '',
    lo: 0,
    step: 0,
    kind: 'S',
    category: 'Sports',
    tags: ['Soccer'],
    settlement: [{ name: 'Premier League', url: 'https://www.premierleague.com/' }],
    league: 'EPL',
    sport: 'soccer',
    customKey: 'soccer_team',
    tie: true,
    teams: [
      ['TOT', 'Tottenham'],
      ['NFO', 'Nottingham'],
      ['ARS', 'Arsenal'],
      ['CHE', 'Chelsea'],
      ['LIV', 'Liverpool'],
      ['MCI', 'Manchester City'],
      ['MUN', 'Manchester United'],
      ['NEW', 'Newcastle'],
    ],
  }),
  t({
    base: 'INXD',
    title: 'S&P 500 daily range',
    what: 'the S&P 500 close',
    unit: '',
    lo: 5800,
    step: 25,
    kind: 'B',
    category: 'Financials',
    tags: ['S&P'],
    settlement: [{ name: 'S&P Dow Jones Indices', url: 'https://www.spglobal.com/spdji/' }],
    occurrence: true,
  }),
  t({
    base: 'CPI',
    title: 'CPI month-over-month',
    what: 'CPI month-over-month',
    unit: '%',
    lo: 0,
    step: 0.1,
    kind: 'T',
    category: 'Economics',
    tags: ['Inflation'],
    settlement: BLS,
    frequency: 'monthly',
  }),
  t({
    base: 'MLBGAME',
    title: 'Professional Baseball Game',
    what: 'professional baseball game',
    unit: '',
    lo: 0,
    step: 0,
    kind: 'S',
    category: 'Sports',
    tags: ['Baseball'],
    settlement: [{ name: 'MLB', url: 'https://www.mlb.com/' }],
    league: 'MLB',
    sport: 'baseball',
    customKey: 'baseball_team',
    tie: false,
    occurrence: true,
    teams: [
      ['NYY', 'New York Y'],
      ['CIN', 'Cincinnati'],
      ['SF', 'San Francisco'],
      ['MIA', 'Miami'],
      ['HOU', 'Houston'],
      ['SD', 'San Diego'],
      ['ATL', 'Atlanta'],
      ['MIL', 'Milwaukee'],
      ['SEA', 'Seattle'],
      ['STL', 'St. Louis'],
    ],
  }),
  t({
    base: 'HIGHCHI',
    title: 'Highest temperature in Chicago',
    what: 'the high temperature in Chicago',
    unit: '°',
    lo: 25,
    step: 2,
    kind: 'B',
    category: 'Climate and Weather',
    tags: ['Weather'],
    settlement: NWS,
    occurrence: true,
  }),
  t({
    base: 'ETHD',
    title: 'Ethereum price today at 5pm EDT',
    what: 'the Ethereum price at 5pm EDT',
    unit: '$',
    lo: 2999.99,
    step: 20,
    kind: 'T',
    category: 'Crypto',
    tags: ['ETH'],
    settlement: CFB,
    occurrence: true,
  }),
  t({
    base: 'RAINNYC',
    title: 'Rain in NYC',
    what: 'rainfall in NYC (inches)',
    unit: '',
    lo: 1,
    step: 1,
    kind: 'T',
    category: 'Climate and Weather',
    tags: ['Weather'],
    settlement: NWS,
  }),
  t({
    base: 'NASDAQ100D',
    title: 'Nasdaq-100 daily range',
    what: 'the Nasdaq-100 close',
    unit: '',
    lo: 20_000,
    step: 100,
    kind: 'B',
    category: 'Financials',
    tags: ['Nasdaq'],
    settlement: [{ name: 'Nasdaq', url: 'https://www.nasdaq.com/' }],
    occurrence: true,
  }),
  t({
    base: 'FED',
    title: 'Fed funds rate',
    what: 'the upper bound of the federal funds rate',
    unit: '%',
    lo: 3,
    step: 0.25,
    kind: 'T',
    category: 'Economics',
    tags: ['Fed'],
    settlement: [{ name: 'Federal Reserve', url: 'https://www.federalreserve.gov/' }],
    frequency: 'custom',
  }),
  t({
    base: 'GASPRICE',
    title: 'US gas prices',
    what: 'the US average gas price',
    unit: '$',
    lo: 3,
    step: 0.05,
    kind: 'T',
    category: 'Economics',
    tags: ['Gas'],
    settlement: [{ name: 'AAA', url: 'https://gasprices.aaa.com/' }],
    frequency: 'weekly',
  }),
  t({
    base: 'NBAPTS',
    title: 'NBA total points',
    what: 'total points scored',
    unit: '',
    lo: 200,
    step: 5,
    kind: 'T',
    category: 'Sports',
    tags: ['Basketball'],
    settlement: [{ name: 'NBA', url: 'https://www.nba.com/' }],
  }),
  t({
    base: 'HIGHMIA',
    title: 'Highest temperature in Miami',
    what: 'the high temperature in Miami',
    unit: '°',
    lo: 60,
    step: 2,
    kind: 'B',
    category: 'Climate and Weather',
    tags: ['Weather'],
    settlement: NWS,
    occurrence: true,
  }),
  t({
    base: 'NFLSPREAD',
    title: 'NFL spread',
    what: 'the winning margin',
    unit: '',
    lo: 1,
    step: 3,
    kind: 'T',
    category: 'Sports',
    tags: ['Football'],
    settlement: [{ name: 'NFL', url: 'https://www.nfl.com/' }],
  }),
  t({
    base: 'TSAPAX',
    title: 'TSA check-ins',
    what: 'TSA checkpoint travel numbers',
    unit: '',
    lo: 2_000_000,
    step: 50_000,
    kind: 'T',
    category: 'Transportation',
    tags: ['Travel'],
    settlement: [{ name: 'TSA', url: 'https://www.tsa.gov/' }],
  }),
  t({
    base: 'MVESPORTSMULTIGAMEEXTENDED',
    title: 'Sports multi-game combos',
    what: 'combo',
    unit: '',
    lo: 0,
    step: 0,
    kind: 'M',
    category: 'Sports',
    tags: ['Combos'],
    settlement: [],
    collection: 'KXMVESPORTSMULTIGAMEEXTENDED-R',
    sportsLegs: true,
    frequency: 'custom',
  }),
  t({
    base: 'MVECROSSCATEGORY',
    title: 'Cross-category combos',
    what: 'combo',
    unit: '',
    lo: 0,
    step: 0,
    kind: 'M',
    category: 'Sports',
    tags: ['Combos'],
    settlement: [],
    collection: 'KXMVECROSSCATEGORY-R',
    sportsLegs: false,
    frequency: 'custom',
  }),
];
/** Templates of ordinary (non-combo) series, in the order series are generated. */
const NORMAL_TEMPLATES: readonly number[] = TEMPLATES.flatMap((x, k) => (x.kind === 'M' ? [] : [k]));
/** Templates of threshold/bracket series (used for runtime-created series with unknown tickers). */
const SIMPLE_TEMPLATES: readonly number[] = TEMPLATES.flatMap((x, k) => (x.kind === 'T' || x.kind === 'B' ? [k] : []));
export const COMBO_TEMPLATES: readonly number[] = TEMPLATES.flatMap((x, k) => (x.kind === 'M' ? [k] : []));

/** A deterministic UUID-looking string (custom strikes carry Sportradar-style UUIDs). */
function uuidFor(a: number, b: number): string {
  const h = (k: number): string =>
    Math.floor(hashUnit(a * 131 + k, b) * 0x1_0000_0000)
      .toString(16)
      .padStart(8, '0');
  const x = h(1) + h(2) + h(3) + h(4);
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-4${x.slice(13, 16)}-${'89ab'[parseInt(x[16] ?? '0', 16) % 4]}${x.slice(17, 20)}-${x.slice(20, 32)}`;
}
/** `n` uppercase hex digits from (a, b). */
function hexId(a: number, b: number, n: number): string {
  let s = '';
  for (let k = 0; s.length < n; k++)
    s += Math.floor(hashUnit(a + k * 7919, b) * 0x1_0000_0000)
      .toString(16)
      .padStart(8, '0');
  return s.slice(0, n).toUpperCase();
}
/** Team UUIDs per sports template and team (index teams.length is the tie outcome). */
const TEAM_UUID: string[][] = TEMPLATES.map((x, k) => Array.from({ length: (x.teams?.length ?? 0) + 1 }, (_, j) => uuidFor(k + 1, j + 17)));

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
  /** only: combo markets only; exclude: no combo markets; undefined: both. */
  mve?: 'only' | 'exclude';
  /** The query matches nothing (e.g. unknown event ticker). */
  empty?: boolean;
}

export interface EventQuery {
  statusMask?: number;
  series?: number;
  events?: number[];
  minUpdatedMs?: number;
  minCloseMs?: number;
  /** only: combo events only (GET /events/multivariate); exclude: ordinary events (GET /events). */
  mve?: 'only' | 'exclude';
  /** Combo collection ticker (GET /events/multivariate). */
  collection?: string;
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

/**
 * A combo market's legs, fixed at creation (as Kalshi's combo titles and strikes are). Only the
 * leg indexes and the title are kept: custom_strike and mve_selected_legs are rendered from the
 * legs' tickers when served (100k combos at 1M markets would otherwise hold ~150 MB of JSON).
 */
interface ComboInfo {
  legs: readonly number[];
  /** 1 = yes, 0 = no, per leg. */
  sides: readonly number[];
  /** JSON string literal of the title (= yes_sub_title = no_sub_title). */
  titleJson: string;
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
function jsonStr(s: string): string {
  const j = JSON.stringify(s);
  return /[^\x00-\x7e]/.test(j) ? j.replace(/[^\x00-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : j;
}
/** JSON.stringify with non-ASCII characters escaped. */
export function asciiJson(v: unknown): string {
  return JSON.stringify(v).replace(/[^\x00-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Tickers that need no JSON escaping (every generated or validated ticker). */
const SAFE_TICKER = /^[A-Z0-9.-]+$/;
/** Salt of the per-market microsecond digits of created_time/updated_time/settlement_ts. */
const US_SALT = 0x6d1c_0000;
const EARLY_CLOSE_EVENT = '"early_close_condition":"This market will close and expire early if the event occurs.",';
const EARLY_CLOSE_WINNER = '"early_close_condition":"This market will close and expire after a winner is declared.",';

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
  /** Contract counts in hundredths (FixedPointCount has 2 decimals). */
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
  /** Position of the market in its event (sports outcome index). */
  slot: Uint8Array;
  /** 1 for combo (multivariate) markets. */
  mve: Uint8Array;
  combos = new Map<number, ComboInfo>();
  plsNames: string[] = ['linear_cent', 'deci_cent', 'tapered_deci_cent'];
  private plsRangesJson: string[] = [];
  private plsBands: Array<readonly Band[]> = [];
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
  /** Combo (multivariate) events. */
  evMve: boolean[] = [];
  /** Sports events: template team indexes [home, away]. */
  evTeams: Array<readonly number[] | null> = [];
  /** Pre-rendered JSON fragments shared by every market of the event. */
  private evTickerJ: string[] = [];
  private evTitleJ: string[] = [];
  /** `"rules_primary":…,"rules_secondary":…,` per event, or per outcome slot for sports events. */
  private evRulesJ: Array<string | string[]> = [];
  byEvent = new Map<string, number>();
  // --- series
  srTicker: string[] = [];
  srTemplate: number[] = [];
  srEvents: number[][] = [];
  srMarkets: number[][] = [];
  srNextDay: number[] = [];
  srStartMs: number[] = [];
  srUpdated: number[] = [];
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
    this.slot = new Uint8Array(n);
    this.mve = new Uint8Array(n);
    this.plsRangesJson = this.plsNames.map((p) => priceRangesRestJson(p));
    this.plsBands = this.plsNames.map((p) => PLS_BANDS[p] ?? []);
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
    this.slot = grow(this.slot, n);
    this.mve = grow(this.mve, n);
  }

  /** Code of a known price level structure (throws on an unknown name). */
  plsCode(name: string): number {
    let i = this.plsNames.indexOf(name);
    if (i < 0) {
      if (!isKnownPriceLevelStructure(name)) throw new RangeError(`unknown price level structure ${JSON.stringify(name)}`);
      i = this.plsNames.push(name) - 1;
      this.plsRangesJson.push(priceRangesRestJson(name));
      this.plsBands.push(PLS_BANDS[name] ?? []);
    }
    return i;
  }

  /** Moves market i to price level structure `name`, snapping its prices to the new grid. */
  setPriceLevelStructure(i: number, name: string): void {
    const code = this.plsCode(name);
    this.pls[i] = code;
    const b = this.plsBands[code] ?? [];
    const bid = snapPrice(this.yesBid[i] ?? 0, b);
    let ask = snapPrice(this.yesAsk[i] ?? 0, b);
    if (ask < bid) ask = bid;
    this.yesBid[i] = bid;
    this.yesAsk[i] = ask;
    this.lastPrice[i] = snapPrice(this.lastPrice[i] ?? 0, b);
    this.prevBid[i] = snapPrice(this.prevBid[i] ?? 0, b);
    this.prevAsk[i] = snapPrice(this.prevAsk[i] ?? 0, b);
    this.prevPrice[i] = snapPrice(this.prevPrice[i] ?? 0, b);
  }

  /** The price bands (e4 units) of market i's price level structure. */
  bandsOf(i: number): readonly Band[] {
    return this.plsBands[this.pls[i] ?? 0] ?? [];
  }

  // ------------------------------------------------------------------------------------------
  // Series / events

  seriesTemplate(s: number): SeriesTemplate {
    return TEMPLATES[this.srTemplate[s] ?? 0] ?? (TEMPLATES[0] as SeriesTemplate);
  }
  templateOfEvent(e: number): SeriesTemplate {
    return this.seriesTemplate(this.evSeries[e] ?? 0);
  }

  addSeries(ticker: string, template: number, startMs: number, nowMs: number = startMs): number {
    const existing = this.bySeries.get(ticker);
    if (existing !== undefined) return existing;
    const s = this.srTicker.length;
    this.srTicker.push(ticker);
    this.srTemplate.push(template);
    this.srEvents.push([]);
    this.srMarkets.push([]);
    this.srNextDay.push(0);
    this.srStartMs.push(startMs);
    this.srUpdated.push(nowMs);
    this.bySeries.set(ticker, s);
    return s;
  }

  /** Creates the series ticker for the n-th ordinary series (KXHIGHNY, KXBTCD, …, then KXHIGHNY2, …). */
  static seriesTickerFor(n: number): { ticker: string; template: number } {
    const template = NORMAL_TEMPLATES[n % NORMAL_TEMPLATES.length] as number;
    const round = Math.floor(n / NORMAL_TEMPLATES.length);
    const x = TEMPLATES[template] as SeriesTemplate;
    return { ticker: `KX${x.base}${round === 0 ? '' : round + 1}`, template };
  }
  /** A template for a runtime-created series whose ticker the sim did not generate. */
  static simpleTemplate(n: number): number {
    return SIMPLE_TEMPLATES[Math.abs(n) % SIMPLE_TEMPLATES.length] as number;
  }
  /** The series of combo template `k` (created on first use). */
  comboSeries(k: number, nowMs: number): number {
    const template = COMBO_TEMPLATES[k % COMBO_TEMPLATES.length] as number;
    return this.addSeries(`KX${TEMPLATES[template]?.base ?? 'MVE'}`, template, nowMs, nowMs);
  }

  /** A fresh event ticker in series s for its next day (KXHIGHNY-26NOV24, KXEPLGAME-26NOV24TOTNFO). */
  nextEventTicker(s: number): { ticker: string; dateMs: number; teams: number[] | null } {
    const tp = this.seriesTemplate(s);
    for (;;) {
      const day = this.srNextDay[s] ?? 0;
      this.srNextDay[s] = day + 1;
      const dateMs = (this.srStartMs[s] ?? 0) + day * DAY;
      const d = new Date(dateMs);
      const yy = String(d.getUTCFullYear() % 100).padStart(2, '0');
      const dd = String(d.getUTCDate()).padStart(2, '0');
      let ticker = `${this.srTicker[s]}-${yy}${MONTHS[d.getUTCMonth()]}${dd}`;
      const teams = tp.kind === 'S' ? this.pickTeams(tp, s, day) : null;
      if (teams && tp.teams) ticker += `${tp.teams[teams[0] ?? 0]?.[0]}${tp.teams[teams[1] ?? 1]?.[0]}`;
      if (!this.byEvent.has(ticker)) return { ticker, dateMs, teams };
    }
  }

  private pickTeams(tp: SeriesTemplate, s: number, salt: number): number[] {
    const n = tp.teams?.length ?? 2;
    const home = Math.floor(hashUnit(s * 7 + salt, 0xbeef) * n);
    const away = (home + 1 + Math.floor(hashUnit(s * 7 + salt, 0xcafe) * (n - 1))) % n;
    return [home, away];
  }

  /** Number of outcome markets a sports event has (Infinity for other events). */
  eventCapacity(e: number): number {
    const tp = this.templateOfEvent(e);
    if (tp.kind !== 'S') return Infinity;
    return tp.tie ? 3 : 2;
  }

  addEvent(ticker: string, s: number, dateMs: number, nowMs: number, _rng: Rng, teams: readonly number[] | null = null): number {
    const e = this.evTicker.length;
    const tp = this.seriesTemplate(s);
    const d = new Date(dateMs);
    const dateLabel = `${MONTHS[d.getUTCMonth()]?.slice(0, 1)}${MONTHS[d.getUTCMonth()]?.slice(1).toLowerCase()} ${d.getUTCDate()}, ${d.getUTCFullYear()}`;
    const shortDate = `${MONTHS[d.getUTCMonth()]?.slice(0, 1)}${MONTHS[d.getUTCMonth()]?.slice(1).toLowerCase()} ${d.getUTCDate()}`;
    let title: string;
    let subTitle: string;
    let rules: string | string[];
    const sports = tp.kind === 'S' ? (teams ?? this.pickTeams(tp, s, e)) : null;
    if (tp.kind === 'M') {
      title = tp.title;
      subTitle = '';
      rules = '"rules_primary":"","rules_secondary":"",';
    } else if (sports) {
      const home = tp.teams?.[sports[0] ?? 0] ?? ['HOME', 'Home'];
      const away = tp.teams?.[sports[1] ?? 1] ?? ['AWAY', 'Away'];
      title = `${home[1]} vs ${away[1]} Winner?`;
      subTitle = `${home[0]} vs ${away[0]} (${shortDate})`;
      const game = `the ${home[1]} vs ${away[1]} ${tp.what} originally scheduled for ${dateLabel}`;
      const secondary = `The following market refers to ${game}. If this game is postponed or delayed, the market will remain open and close after the rescheduled game has finished (within two weeks).`;
      const outcome = (name: string): string =>
        name === 'Tie' ? `If ${game} ends in a tie, then the market resolves to Yes.` : `If ${name} wins ${game}, then the market resolves to Yes.`;
      const names = [home[1], away[1], ...(tp.tie ? ['Tie'] : [])];
      rules = names.map((n) => `"rules_primary":${jsonStr(outcome(n))},"rules_secondary":${jsonStr(secondary)},`);
    } else {
      title = `What will ${tp.what} be on ${dateLabel}?`;
      subTitle = `On ${dateLabel}`;
      const rulesPrimary = `If ${tp.what} on ${dateLabel} is within the range of the market's strike, then the market resolves to Yes.`;
      const rulesSecondary = `Not all ${tp.category.toLowerCase()} data is final when first published; the source agency's first release is used.`;
      rules = `"rules_primary":${jsonStr(rulesPrimary)},"rules_secondary":${jsonStr(rulesSecondary)},`;
    }
    this.evTicker.push(ticker);
    this.evSeries.push(s);
    this.evTitle.push(title);
    this.evSubTitle.push(subTitle);
    this.evCollateral.push(tp.kind === 'B' ? 'MECNET' : tp.kind === 'T' ? 'DIRECNET' : '');
    this.evMutEx.push(tp.kind === 'B' || tp.kind === 'S');
    this.evStrikeMs.push(tp.kind === 'M' ? NaN : dateMs);
    this.evUpdated.push(nowMs);
    this.evFeeType.push(null);
    this.evFeeMult.push(null);
    this.evMarkets.push([]);
    this.evMve.push(tp.kind === 'M');
    this.evTeams.push(sports);
    this.evTickerJ.push(SAFE_TICKER.test(ticker) ? `"event_ticker":"${ticker}",` : `"event_ticker":${jsonStr(ticker)},`);
    this.evTitleJ.push(`"title":${jsonStr(title)},`);
    this.evRulesJ.push(rules);
    this.byEvent.set(ticker, e);
    this.srEvents[s]?.push(e);
    return e;
  }

  eventRules(e: number, slot = 0): { rules_primary: string; rules_secondary: string } {
    const r = this.evRulesJ[e] ?? '';
    const frag = typeof r === 'string' ? r : (r[slot] ?? r[0] ?? '');
    const o = JSON.parse(`{${frag.slice(0, -1)}}`) as { rules_primary: string; rules_secondary: string };
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
    this.strikeType[i] = m.strikeType;
    this.floor[i] = m.floor;
    this.cap_[i] = m.cap;
    this.pls[i] = this.plsCode(m.pls);
    this.canCloseEarly[i] = m.canCloseEarly ? 1 : 0;
    const pos = this.evMarkets[m.event]?.length ?? 0;
    this.slot[i] = Math.min(255, pos);
    this.mve[i] = this.evMve[m.event] === true ? 1 : 0;
    const unopened = m.status === ST_INITIALIZED;
    // Prices: whole cents from the rng, then sub-cent digits (deterministic per market) where the
    // price level structure has sub-cent ticks, e.g. "0.5120" in a deci_cent market.
    const bands = this.bandsOf(i);
    let bid = rng.int(1, 95) * 100;
    const spread = rng.int(1, 4) * 100;
    if (tickAt(bid, bands) < 100 || bands.length > 1) {
      const h = hashUnit(i, 0x51ce);
      if (bands.length > 1 && h < 0.4)
        bid = 10 + Math.floor(hashUnit(i, 0x51cf) * 98) * 10; // an edge price, 0.001–0.098
      else bid += Math.floor(h * 10) * 10 - 50;
      bid = snapPrice(Math.max(10, bid), bands);
    }
    let ask = snapPrice(bid + spread - (tickAt(bid, bands) < 100 ? Math.floor(hashUnit(i, 0x5ace) * 9) * 10 : 0), bands);
    if (ask <= bid) ask = Math.min(10_000, bid + tickAt(bid, bands));
    this.yesBid[i] = unopened ? 0 : bid;
    this.yesAsk[i] = unopened ? 10_000 : ask;
    this.lastPrice[i] = unopened ? 0 : snapPrice(Math.min(ask, bid + 100), bands);
    this.prevBid[i] = this.yesBid[i] ?? 0;
    this.prevAsk[i] = this.yesAsk[i] ?? 0;
    this.prevPrice[i] = this.lastPrice[i] ?? 0;
    // Counts in hundredths; about half the markets trade fractional contracts ("18342.50").
    // One hash gives the hundredths of all five counts (fractional for about half the markets).
    const h = Math.floor(hashUnit(i, 0xf4ac) * 0x1_0000_0000);
    const frac = (h & 1) === 1;
    const c1 = frac ? (h >>> 1) % 100 : 0;
    const c2 = frac ? (h >>> 8) % 100 : 0;
    const c3 = frac ? (h >>> 15) % 100 : 0;
    const c4 = frac ? (h >>> 22) % 100 : 0;
    const c5 = frac ? (h >>> 25) % 100 : 0;
    const vol = unopened ? 0 : Math.floor(rng.next() * rng.next() * 50_000);
    const vol24 = Math.floor(vol * rng.next() * 0.3);
    this.volume[i] = vol === 0 ? 0 : vol * 100 + c1;
    this.volume24h[i] = vol24 === 0 ? 0 : Math.min(this.volume[i] ?? 0, vol24 * 100 + c2);
    this.openInterest[i] = vol === 0 ? 0 : Math.floor(vol * 0.4) * 100 + c3;
    this.bidSize[i] = unopened ? 0 : rng.int(1, 2000) * 100 + c4;
    this.askSize[i] = unopened ? 0 : rng.int(1, 2000) * 100 + c5;
    if (this.mve[i] === 1) {
      // Combos: placeholder quotes, no trading (the first pages of a real GET /markets look like this).
      this.settleTimer[i] = 5;
      this.yesBid[i] = 0;
      this.yesAsk[i] = unopened || hashUnit(i, 0xc0b0) < 0.85 ? 0 : snapPrice(10 + Math.floor(hashUnit(i, 0xc0b1) * 600) * 10, bands);
      this.lastPrice[i] = 0;
      this.prevBid[i] = 0;
      this.prevAsk[i] = 0;
      this.prevPrice[i] = 0;
      this.volume[i] = 0;
      this.volume24h[i] = 0;
      this.openInterest[i] = 0;
      this.bidSize[i] = 0;
      this.askSize[i] = 0;
    }
    this.evMarkets[m.event]?.push(i);
    this.srMarkets[this.evSeries[m.event] ?? 0]?.push(i);
    return i;
  }

  /** Attaches the legs of combo market i (fixed from now on). */
  setComboLegs(i: number, legs: readonly number[], sides: readonly number[]): void {
    const title = legs.map((l, k) => `${sides[k] === 1 ? 'yes' : 'no'} ${this.yesSubTitle(l)}`).join(',');
    this.combos.set(i, { legs: [...legs], sides: [...sides], titleJson: jsonStr(title) });
  }

  /** The custom_strike of combo market i (keys as recorded: alphabetical). */
  private comboStrike(i: number, cb: ComboInfo): Record<string, string> {
    return {
      'Associated Events': cb.legs.map((l) => this.evTicker[this.event[l] ?? 0] ?? '').join(','),
      'Associated Market Sides': cb.sides.map((x) => (x === 1 ? 'yes' : 'no')).join(','),
      'Associated Markets': cb.legs.map((l) => this.ticker[l] ?? '').join(','),
      'Multivariate Event Ticker': this.evTicker[this.event[i] ?? 0] ?? '',
    };
  }

  /** `"custom_strike":{…},` of combo market i (tickers are [A-Z0-9.-]: no escaping needed). */
  private comboStrikeJson(i: number, cb: ComboInfo): string {
    let ev = '';
    let sd = '';
    let mk = '';
    for (let k = 0; k < cb.legs.length; k++) {
      const l = cb.legs[k] as number;
      const sep = k === 0 ? '' : ',';
      ev += sep + (this.evTicker[this.event[l] ?? 0] ?? '');
      sd += sep + (cb.sides[k] === 1 ? 'yes' : 'no');
      mk += sep + (this.ticker[l] ?? '');
    }
    return (
      `"custom_strike":{"Associated Events":"${ev}","Associated Market Sides":"${sd}","Associated Markets":"${mk}",` +
      `"Multivariate Event Ticker":"${this.evTicker[this.event[i] ?? 0] ?? ''}"},`
    );
  }

  /** `"mve_collection_ticker":"…","mve_selected_legs":[…],` of combo market i. */
  private comboMveJson(i: number, cb: ComboInfo): string {
    let legs = '';
    for (let k = 0; k < cb.legs.length; k++) {
      const l = cb.legs[k] as number;
      legs +=
        (k === 0 ? '' : ',') +
        `{"event_ticker":"${this.evTicker[this.event[l] ?? 0] ?? ''}","market_ticker":"${this.ticker[l] ?? ''}","side":"${cb.sides[k] === 1 ? 'yes' : 'no'}"}`;
    }
    return `"mve_collection_ticker":"${this.templateOfEvent(this.event[i] ?? 0).collection ?? ''}","mve_selected_legs":[${legs}],`;
  }

  isCombo(i: number): boolean {
    return this.mve[i] === 1;
  }

  /** Sets a determined result (and its settlement value) on market i. */
  setResult(i: number, result: SimResult, atMs: number, scalarValueE4?: number): void {
    this.result[i] = RESULTS.indexOf(result);
    this.determination[i] = atMs;
    this.settlementValue[i] = result === 'yes' ? 10_000 : result === 'no' ? 0 : (scalarValueE4 ?? 5000);
    if (result === 'yes' || result === 'no') {
      this.yesBid[i] = 0;
      this.yesAsk[i] = 0;
      if (this.mve[i] !== 1) this.lastPrice[i] = snapPrice(result === 'yes' ? 9900 : 100, this.bandsOf(i));
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
    const o = this.subTitleOverride.get(i);
    if (o !== undefined) return o;
    const cb = this.mve[i] === 1 ? this.combos.get(i) : undefined;
    return cb ? (JSON.parse(cb.titleJson) as string) : this.generatedSubTitle(i, false);
  }

  /** Market title (event title for ordinary markets, the legs for combos). */
  marketTitle(i: number): string {
    const cb = this.mve[i] === 1 ? this.combos.get(i) : undefined;
    return cb ? (JSON.parse(cb.titleJson) as string) : (this.evTitle[this.event[i] ?? 0] ?? '');
  }

  /** custom_strike of market i, or undefined. */
  customStrike(i: number): Record<string, string> | undefined {
    const cb = this.mve[i] === 1 ? this.combos.get(i) : undefined;
    if (cb) return this.comboStrike(i, cb);
    const e = this.event[i] ?? 0;
    const tp = this.templateOfEvent(e);
    if (tp.kind !== 'S' || this.strikeType[i] !== ST_STRUCTURED || tp.customKey === undefined) return undefined;
    return { [tp.customKey]: this.teamUuid(e, this.slot[i] ?? 0) };
  }

  private teamUuid(e: number, slot: number): string {
    const k = this.srTemplate[this.evSeries[e] ?? 0] ?? 0;
    const teams = this.evTeams[e];
    const team = slot < 2 && teams ? (teams[slot] ?? 0) : (TEMPLATES[k]?.teams?.length ?? 0);
    return TEAM_UUID[k]?.[team] ?? '';
  }

  /** Ticker suffix of sports outcome `slot` of event e ("TOT", "TIE"), or undefined. */
  outcomeCode(e: number, slot: number): string | undefined {
    const tp = this.templateOfEvent(e);
    const teams = this.evTeams[e];
    if (tp.kind !== 'S' || !teams || slot >= this.eventCapacity(e)) return undefined;
    return slot < 2 ? tp.teams?.[teams[slot] ?? 0]?.[0] : 'TIE';
  }

  /** The generated yes_sub_title; with `json` its non-ASCII unit is \u-escaped (for JSON bodies). */
  private generatedSubTitle(i: number, json: boolean): string {
    const e = this.event[i] ?? 0;
    const tp = this.templateOfEvent(e);
    if (tp.kind === 'S') {
      const slot = this.slot[i] ?? 0;
      const teams = this.evTeams[e];
      if (slot < 2 && teams) return tp.teams?.[teams[slot] ?? 0]?.[1] ?? 'Team';
      return slot === 2 && tp.tie ? 'Tie' : `Outcome ${slot + 1}`;
    }
    const f = this.floor[i] ?? 0;
    const st = this.strikeType[i];
    const unit = json && tp.unit === '°' ? '\\u00b0' : tp.unit;
    const a = tp.unit === '$' ? `$${withCommas(f)}` : `${f}${unit}`;
    if (st === 1) {
      const c = this.cap_[i] ?? f;
      return `${a} to ${tp.unit === '$' ? `$${withCommas(c)}` : `${c}${unit}`}`;
    }
    return st === 2 ? `${a} or below` : `${a} or above`;
  }

  /**
   * The wire JSON (GET /markets record) of market i. Call effStatus first. Keys are alphabetical
   * and optional fields are absent until they have a value, as in Kalshi's 2026 responses.
   */
  marketJson(i: number): string {
    const e = this.event[i] ?? 0;
    const st = this.status[i] ?? 0;
    const res = this.result[i] ?? 0;
    const closeMs = this.close[i] ?? 0;
    const us = Math.floor(hashUnit(i, US_SALT) * 1000);
    const cb = this.mve[i] === 1 ? this.combos.get(i) : undefined;
    const override = this.subTitleOverride.get(i);
    const subJ = override !== undefined ? jsonStr(override) : cb ? cb.titleJson : `"${this.generatedSubTitle(i, true)}"`;
    const settled = this.settled[i] ?? NaN;
    const plsC = this.pls[i] ?? 0;
    const stype = this.strikeType[i] ?? 0;
    const floor = this.floor[i] ?? NaN;
    const cap = this.cap_[i] ?? NaN;
    const yesBid = this.yesBid[i] ?? 0;
    const yesAsk = this.yesAsk[i] ?? 0;
    const expValue = res === 0 ? '' : res === 3 ? priceStr(this.settlementValue[i] ?? 0) : cb ? '' : String(this.floor[i] ?? 0);
    const expected = iso(closeMs + HOUR);
    const latest = iso(closeMs + 7 * DAY);
    const createdMs = this.created[i] ?? 0;
    const updatedMs = this.updated[i] ?? 0;
    const createdS = isoMicro(createdMs, us);
    const tp = cb ? undefined : this.templateOfEvent(e);
    let custom = '';
    if (cb) custom = this.comboStrikeJson(i, cb);
    else if (stype === ST_STRUCTURED && tp?.kind === 'S' && tp.customKey !== undefined)
      custom = `"custom_strike":{"${tp.customKey}":"${this.teamUuid(e, this.slot[i] ?? 0)}"},`;
    const early = cb || this.canCloseEarly[i] !== 1 ? '' : tp?.kind === 'S' ? EARLY_CLOSE_WINNER : EARLY_CLOSE_EVENT;
    const rulesJ = this.evRulesJ[e] ?? '';
    return (
      `{"can_close_early":${this.canCloseEarly[i] === 1},` +
      (Number.isNaN(cap) ? '' : `"cap_strike":${cap},`) +
      `"close_time":"${iso(closeMs)}","created_time":"${createdS}",` +
      custom +
      early +
      (this.evTickerJ[e] ?? '') +
      `"exchange_index":0,"expected_expiration_time":"${expected}","expiration_time":"${latest}","expiration_value":"${expValue}",` +
      (Number.isNaN(floor) ? '' : `"floor_strike":${floor},`) +
      (cb ? '"is_provisional":true,' : '') +
      `"last_price_dollars":"${priceStr(this.lastPrice[i] ?? 0)}","latest_expiration_time":"${latest}","liquidity_dollars":"0.0000",` +
      `"market_type":"${this.marketType[i] === 1 ? 'scalar' : 'binary'}",` +
      (cb ? this.comboMveJson(i, cb) : '') +
      `"no_ask_dollars":"${priceStr(10_000 - yesBid)}","no_bid_dollars":"${priceStr(10_000 - yesAsk)}","no_sub_title":${subJ},` +
      `"notional_value_dollars":"1.0000",` +
      (tp?.occurrence === true ? `"occurrence_datetime":"${expected}",` : '') +
      `"open_interest_fp":"${fpCount(this.openInterest[i] ?? 0)}","open_time":"${iso(this.open[i] ?? 0)}",` +
      `"previous_price_dollars":"${priceStr(this.prevPrice[i] ?? 0)}","previous_yes_ask_dollars":"${priceStr(this.prevAsk[i] ?? 0)}",` +
      `"previous_yes_bid_dollars":"${priceStr(this.prevBid[i] ?? 0)}",` +
      `"price_level_structure":"${this.plsNames[plsC]}","price_ranges":${this.plsRangesJson[plsC]},` +
      `"result":"${RESULTS[res]}",` +
      (typeof rulesJ === 'string' ? rulesJ : (rulesJ[this.slot[i] ?? 0] ?? rulesJ[0] ?? '')) +
      `"settlement_timer_seconds":${this.settleTimer[i]},` +
      (Number.isNaN(settled) ? '' : `"settlement_ts":"${isoMicro(settled, us)}",`) +
      (res === 0 ? '' : `"settlement_value_dollars":"${priceStr(this.settlementValue[i] ?? 0)}",`) +
      `"status":"${MARKET_STATUSES[st]}","strike_type":"${STRIKE_TYPES[stype]}",` +
      `"ticker":"${this.ticker[i]}",` +
      (cb ? `"title":${cb.titleJson},` : (this.evTitleJ[e] ?? '')) +
      `"updated_time":"${updatedMs === createdMs ? createdS : isoMicro(updatedMs, us)}",` +
      `"volume_24h_fp":"${fpCount(this.volume24h[i] ?? 0)}","volume_fp":"${fpCount(this.volume[i] ?? 0)}",` +
      `"yes_ask_dollars":"${priceStr(yesAsk)}","yes_ask_size_fp":"${fpCount(this.askSize[i] ?? 0)}",` +
      `"yes_bid_dollars":"${priceStr(yesBid)}","yes_bid_size_fp":"${fpCount(this.bidSize[i] ?? 0)}",` +
      `"yes_sub_title":${subJ}}`
    );
  }

  /** A deliberately broken record (fault injection): kind 0 no ticker, 1 bogus status, 2 bad price. */
  malformedMarketJson(i: number, kind: number): string {
    const o = JSON.parse(this.marketJson(i)) as Record<string, unknown>;
    if (kind % 3 === 0) delete o.ticker;
    else if (kind % 3 === 1) o.status = 'bogus';
    else o.yes_bid_dollars = 'abc';
    return asciiJson(o);
  }

  isMalformed(i: number, malformed: ReadonlySet<string>, rate: number, seed: number): boolean {
    if (malformed.size > 0 && malformed.has(this.ticker[i] ?? '')) return true;
    return rate > 0 && hashUnit(i, seed) < rate;
  }

  // ------------------------------------------------------------------------------------------
  // Queries

  private matches(i: number, q: MarketQuery, now: number): boolean {
    if (q.mve !== undefined && (this.mve[i] === 1) !== (q.mve === 'only')) return false;
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
    if (q.empty) return { indices: out, next: -1 };
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
    if (q.mve !== undefined && this.evMve[e] !== (q.mve === 'only')) return false;
    if (q.collection !== undefined && this.templateOfEvent(e).collection !== q.collection) return false;
    if (q.minUpdatedMs !== undefined && (this.evUpdated[e] ?? 0) < q.minUpdatedMs) return false;
    const ms = this.evMarkets[e] ?? [];
    if (q.statusMask !== undefined) {
      let any = false;
      for (const i of ms)
        if (((1 << this.effStatus(i, now)) & q.statusMask) !== 0) {
          any = true;
          break;
        }
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

  /** The wire JSON of event e (keys alphabetical; fee overrides only while set). */
  eventJson(e: number, nestedMarkets: string | null): string {
    const s = this.evSeries[e] ?? 0;
    const tp = this.seriesTemplate(s);
    const fee = this.evFeeMult[e];
    const feeType = this.evFeeType[e];
    const strike = this.evStrikeMs[e] ?? NaN;
    return (
      `{"available_on_brokers":${tp.kind !== 'M'},"category":${jsonStr(tp.category)},"collateral_return_type":"${this.evCollateral[e]}",` +
      `"event_ticker":${jsonStr(this.evTicker[e] ?? '')},"exchange_index":0,` +
      (fee == null ? '' : `"fee_multiplier_override":${fee},`) +
      (feeType == null ? '' : `"fee_type_override":${jsonStr(feeType)},`) +
      `"last_updated_ts":"${isoMicro(this.evUpdated[e] ?? 0, Math.floor(hashUnit(e, US_SALT + 1) * 1000))}",` +
      (nestedMarkets === null ? '' : `"markets":${nestedMarkets},`) +
      `"mutually_exclusive":${this.evMutEx[e] === true},"series_ticker":${jsonStr(this.srTicker[s] ?? '')},` +
      `"settlement_sources":${asciiJson(tp.settlement)},` +
      (Number.isNaN(strike) ? '' : `"strike_date":"${iso(strike)}",`) +
      `"strike_period":"","sub_title":${jsonStr(this.evSubTitle[e] ?? '')},"title":${jsonStr(this.evTitle[e] ?? '')}}`
    );
  }

  /** The wire JSON of series s (GET /series, GET /series/{ticker}; keys alphabetical). */
  seriesJson(s: number, includeVolume: boolean): string {
    const tp = this.seriesTemplate(s);
    const ticker = this.srTicker[s] ?? '';
    const base = ticker.replace(/^KX/, '');
    let volume = '';
    if (includeVolume) {
      let v = 0;
      for (const i of this.srMarkets[s] ?? []) v += this.volume[i] ?? 0;
      volume = `,"volume_fp":"${fpCount(v)}"`;
    }
    return (
      `{"additional_prohibitions":["Persons who are employed by any of the Source Agencies are not permitted to trade on the Contract."],` +
      `"category":${jsonStr(tp.category)},` +
      `"contract_terms_url":"https://kalshi-public-docs.s3.amazonaws.com/contract_terms/${base}.pdf",` +
      `"contract_url":"https://kalshi-public-docs.s3.us-east-1.amazonaws.com/regulatory/product-certifications/${base}.pdf",` +
      `"fee_multiplier":1,"fee_type":"${tp.kind === 'M' ? 'quadratic_with_maker_fees' : 'quadratic'}","frequency":"${tp.frequency}",` +
      `"last_updated_ts":"${isoMicro(this.srUpdated[s] ?? 0, Math.floor(hashUnit(s, US_SALT + 2) * 1000))}",` +
      `"settlement_sources":${asciiJson(tp.settlement)},"tags":${asciiJson(tp.tags)},"ticker":${jsonStr(ticker)},"title":${jsonStr(tp.title)}` +
      `${volume}}`
    );
  }
}

const commaCache = new Map<number, string>();
function withCommas(v: number): string {
  let s = commaCache.get(v);
  if (s !== undefined) return s;
  const [int = '0', frac] = String(v).split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  s = frac === undefined ? grouped : `${grouped}.${frac}`;
  if (commaCache.size < 100_000) commaCache.set(v, s);
  return s;
}

export interface GenerateOptions {
  markets: number;
  seed: number;
  marketsPerEvent: { min: number; max: number };
  /** Default: 1–200, capped so that small exchanges still have one series of every kind. */
  eventsPerSeries?: { min: number; max: number };
  statusMix: Readonly<Partial<Record<MarketStatus, number>>>;
  bumpOnImplicit: boolean;
  nowMs: number;
  /** Fraction of the markets that are combos (multivariate), 0–0.9. */
  comboShare: number;
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
function timesFor(status: number, now: number, rng: Rng): { open: number; close: number; created: number } {
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
  const combos = o.markets < 2 ? 0 : Math.min(o.markets - 2, Math.round(o.markets * o.comboShare));
  const plain = o.markets - combos;
  let made = 0;
  let seriesN = 0;
  const perEvent = (o.marketsPerEvent.min + o.marketsPerEvent.max) / 2;
  const eventsPerSeries = o.eventsPerSeries ?? {
    min: 1,
    max: Math.max(1, Math.min(200, Math.ceil((2 * plain) / (NORMAL_TEMPLATES.length * Math.max(1, perEvent))))),
  };
  while (made < plain) {
    const { ticker: sTicker, template } = MarketStore.seriesTickerFor(seriesN++);
    const startMs = Date.UTC(2026, 0, 1) + rng.int(0, 300) * DAY;
    const s = store.addSeries(sTicker, template, startMs, roundSec(o.nowMs - rng.int(90, 400) * DAY) + Math.floor(hashUnit(seriesN, 0x5e71) * 1000));
    const nEvents = rng.int(eventsPerSeries.min, eventsPerSeries.max);
    for (let k = 0; k < nEvents && made < plain; k++) {
      const { ticker: eTicker, dateMs, teams } = store.nextEventTicker(s);
      const evUpdated = roundSec(o.nowMs - rng.int(1, 90) * DAY) + Math.floor(hashUnit(store.evTicker.length, 0xe7a1) * 1000);
      const e = store.addEvent(eTicker, s, dateMs, evUpdated, rng, teams);
      const nMarkets = Math.min(plain - made, rng.int(o.marketsPerEvent.min, o.marketsPerEvent.max), store.eventCapacity(e));
      addGeneratedMarkets(store, e, nMarkets, statuses, made, o.nowMs, rng);
      made += nMarkets;
    }
  }
  if (combos > 0) addGeneratedCombos(store, combos, statuses, made, o.nowMs, rng);
  return store;
}

function addGeneratedMarkets(store: MarketStore, e: number, n: number, statuses: Uint8Array, offset: number, now: number, rng: Rng): void {
  const tp = store.templateOfEvent(e);
  const eTicker = store.evTicker[e] ?? '';
  const lo = tp.lo + rng.int(0, 4) * tp.step;
  for (let j = 0; j < n; j++) {
    const status = statuses[offset + j] ?? ST_ACTIVE;
    const sports = tp.kind === 'S';
    const floor = sports ? NaN : Math.round((lo + j * tp.step) * 100) / 100;
    const between = tp.kind === 'B';
    const ticker = sports ? `${eTicker}-${store.outcomeCode(e, j) ?? `O${j + 1}`}` : `${eTicker}-${tp.kind}${floor}`;
    const { open, close, created } = timesFor(status, now, rng);
    const plsRoll = rng.next();
    const pls = plsRoll < 0.8 ? 'linear_cent' : rng.next() < 0.5 ? 'deci_cent' : 'tapered_deci_cent';
    const early = rng.next() < 0.3;
    const i = store.addMarket(
      {
        event: e,
        ticker,
        status,
        openMs: open,
        closeMs: close,
        createdMs: created + Math.floor(hashUnit(offset + j, 0x3c7e) * 1000),
        strikeType: sports ? ST_STRUCTURED : between ? 1 : 0,
        floor,
        cap: between ? Math.round((floor + tp.step) * 100) / 100 : NaN,
        pls,
        marketType: 0,
        canCloseEarly: sports || early,
      },
      rng,
    );
    applyGeneratedHistory(store, i, status, now, rng);
  }
}

/** Combo markets (1–3 per combo event) whose legs are ordinary markets of the sim. */
function addGeneratedCombos(store: MarketStore, n: number, statuses: Uint8Array, offset: number, now: number, rng: Rng): void {
  const plain = store.count;
  const sportsMarkets: number[] = [];
  for (let i = 0; i < plain; i++) if (store.templateOfEvent(store.event[i] ?? 0).kind === 'S') sportsMarkets.push(i);
  let made = 0;
  while (made < n) {
    const k = rng.next() < 0.8 ? 0 : 1;
    const s = store.comboSeries(k, roundSec(now - 200 * DAY));
    const tp = store.seriesTemplate(s);
    const pool = tp.sportsLegs === true && sportsMarkets.length >= 4 ? sportsMarkets : null;
    const e = addComboEvent(store, s, now - rng.int(60, 30 * 86_400) * SEC - Math.floor(hashUnit(store.evTicker.length, 0xe7a2) * 1000), rng);
    const nMarkets = Math.min(n - made, rng.next() < 0.85 ? 1 : rng.int(2, 3));
    for (let j = 0; j < nMarkets; j++) {
      const status = statuses[offset + made + j] ?? ST_ACTIVE;
      const { open, close, created } = timesFor(status, now, rng);
      const legs = pickLegs(store, rng, pool, plain);
      const i = store.addMarket(
        {
          event: e,
          ticker: comboTicker(store, e),
          status,
          openMs: open,
          closeMs: close,
          createdMs: created + Math.floor(hashUnit(offset + made + j, 0x3c7e) * 1000),
          strikeType: ST_CUSTOM,
          floor: NaN,
          cap: NaN,
          pls: 'deci_cent',
          marketType: 0,
          canCloseEarly: true,
        },
        rng,
      );
      store.setComboLegs(i, legs.legs, legs.sides);
      applyGeneratedHistory(store, i, status, now, rng);
    }
    made += nMarkets;
  }
}

/** A new combo event in combo series s: KXMVESPORTSMULTIGAMEEXTENDED-S2026A1B2C3D4E5F. */
export function addComboEvent(store: MarketStore, s: number, nowMs: number, rng: Rng): number {
  const year = new Date(nowMs).getUTCFullYear();
  let ticker = '';
  for (let k = 0; ticker === '' || store.byEvent.has(ticker); k++)
    ticker = `${store.srTicker[s]}-S${year}${hexId(store.evTicker.length + k * 1_000_003, 0xe7e7, 11)}`;
  return store.addEvent(ticker, s, nowMs, nowMs, rng, null);
}

/** A fresh combo market ticker in combo event e: <event>-<11 hex>. */
export function comboTicker(store: MarketStore, e: number): string {
  let ticker = '';
  for (let k = 0; ticker === '' || store.byTicker.has(ticker); k++) ticker = `${store.evTicker[e]}-${hexId(store.count + k * 1_000_003, 0x7a7a, 11)}`;
  return ticker;
}

/** 2–6 legs in distinct events, from `pool` (market indexes) or from the first `plain` markets. */
export function pickLegs(store: MarketStore, rng: Rng, pool: readonly number[] | null, plain: number): { legs: number[]; sides: number[] } {
  const want = rng.int(2, 6);
  const legs: number[] = [];
  const sides: number[] = [];
  const events = new Set<number>();
  for (let tries = 0; legs.length < want && tries < want * 20; tries++) {
    const i = pool ? (pool[rng.int(0, pool.length - 1)] as number) : rng.int(0, plain - 1);
    if (store.mve[i] === 1) continue;
    const e = store.event[i] ?? 0;
    if (events.has(e)) continue;
    events.add(e);
    legs.push(i);
    sides.push(rng.next() < 0.9 ? 1 : 0);
  }
  return { legs, sides };
}

/** Result/determination/settlement fields for markets generated past close. */
function applyGeneratedHistory(store: MarketStore, i: number, status: number, now: number, rng: Rng): void {
  const close = store.close[i] ?? 0;
  const jitter = Math.floor(hashUnit(i, 0x7e1a) * 1000);
  let updated = store.created[i] ?? 0;
  if (status === ST_INACTIVE) updated = roundSec(now - rng.int(60, 86_400) * SEC) + jitter;
  if (status >= ST_DETERMINED) {
    const det = roundSec(Math.min(now - SEC, close + rng.int(60, 7200) * SEC));
    store.setResult(i, rng.next() < 0.5 ? 'yes' : 'no', det);
    updated = det + jitter;
    if (status === ST_DISPUTED || status === ST_AMENDED) updated = roundSec(Math.min(now, det + 60 * SEC)) + jitter;
    if (status === ST_FINALIZED) {
      const st = roundSec(Math.min(now - SEC, det + (store.settleTimer[i] ?? 60) * SEC)) + jitter;
      store.settled[i] = st;
      updated = st;
    }
  }
  store.updated[i] = Math.min(now, Math.max(updated, store.created[i] ?? 0));
}
