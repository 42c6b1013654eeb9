/**
 * The state file's layout (SQLite, WAL) and the encoding of its rows.
 *
 *   meta(key, value)                       format marker, schema version, exchange, watermarks
 *   markets(ticker, row)                   the registry's record of every market (what getMarket says),
 *                                           as a JSON array in MARKET_COLUMNS order
 *   journal(seq, count, full | packed)     batches of market rows not yet compacted into `markets`:
 *                                           a batch is appended as one row (no random page writes on
 *                                           the lifecycle path); the writer thread folds the journal
 *                                           into `markets` (last row per ticker) when it has grown
 *                                           or is idle, and loading applies what is left in order
 *   records(ticker, source, observed_at, json)
 *                                           the last full Kalshi record: the REST record as validated
 *                                           (every field, key order kept), or for a market only known
 *                                           from a WebSocket `created`, what that frame gave
 *   events(event_ticker, …, record)        the event table, with the raw REST event record
 *
 * The ingesting thread builds one JSON string of whole markets per batch, packs transitions into a
 * Float64Array and serializes the records; the writer thread does all of SQLite's work.
 */
import { MARKET_STATUSES, type MarketStatus } from '../kalshi/schemas.js';
import { TRADING_STATUS_BY_MARKET_STATUS } from '../domain/mapping.js';
import { statusCode } from '../domain/fast-status.js';
import type { CountE2, Market, MarketEvent, Micros, PriceE4 } from '../domain/types.js';
import type { MarketStore } from '../store/market-store.js';

/** `PRAGMA application_id` of our files: "KMRG". */
export const APPLICATION_ID = 0x4b4d5247;
export const SCHEMA_VERSION = 1;
export const FORMAT_NAME = 'kalshi-market-registry';
export const STATE_FILE = 'registry.sqlite';
export const LOCK_FILE = 'registry.lock';

export const CREATE_SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
-- One JSON array per market (the MARKET_COLUMNS order): loading parses one string per market,
-- much cheaper than fourteen columns.
CREATE TABLE IF NOT EXISTS markets (ticker TEXT PRIMARY KEY, row TEXT NOT NULL) WITHOUT ROWID;
-- A rowid table: records are ~1-2 KB, too large for a WITHOUT ROWID b-tree's cells.
CREATE TABLE IF NOT EXISTS records (ticker TEXT PRIMARY KEY, source TEXT NOT NULL, observed_at INTEGER NOT NULL, json TEXT NOT NULL);
-- Market rows not yet compacted into \`markets\`, one row per batch (applied in seq order on load).
-- A batch is either whole markets (full: a JSON array of rows) or transitions, packed as the
-- ingesting thread built them (tickers joined by newlines; numbers: 4 float64 per market, status
-- index, closeTs, updatedAt, result index; words: {"s": statuses, "r": results} they index).
CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, full TEXT, tickers TEXT, numbers BLOB, words TEXT);
CREATE TABLE IF NOT EXISTS events (
  event_ticker TEXT PRIMARY KEY,
  series_ticker TEXT NOT NULL,
  title TEXT NOT NULL,
  sub_title TEXT NOT NULL,
  mutually_exclusive INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  record TEXT NOT NULL
) WITHOUT ROWID;
`;

/** The fields of a stored market row, in order. */
export const MARKET_COLUMNS =
  'ticker, event_ticker, title, status, market_type, result, yes_bid, yes_ask, last_price, volume, open_ts, close_ts, expiration_ts, updated_at';

/** The writer thread's statements, one row each. */
export const WRITE_STATEMENTS = {
  /** A market whole: its ticker and its marketRow as JSON. */
  markets: `INSERT INTO markets (ticker, row) VALUES (?, ?) ON CONFLICT (ticker) DO UPDATE SET row = excluded.row`,
  // A record is rewritten only when its content changed: a full reconcile of unchanged markets writes nothing.
  restRecords: `INSERT INTO records (ticker, source, observed_at, json) VALUES (?, 'rest', ?, ?)
    ON CONFLICT (ticker) DO UPDATE SET source = 'rest', observed_at = excluded.observed_at, json = excluded.json
      WHERE records.source <> 'rest' OR records.json IS NOT excluded.json`,
  // What a WebSocket `created` gave never replaces a REST record.
  wsRecords: `INSERT INTO records (ticker, source, observed_at, json) VALUES (?, 'websocket', ?, ?) ON CONFLICT (ticker) DO NOTHING`,
  events: `INSERT INTO events (event_ticker, series_ticker, title, sub_title, mutually_exclusive, updated_at, record) VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (event_ticker) DO UPDATE SET series_ticker = excluded.series_ticker, title = excluded.title, sub_title = excluded.sub_title,
      mutually_exclusive = excluded.mutually_exclusive, updated_at = excluded.updated_at, record = excluded.record
      WHERE events.record IS NOT excluded.record`,
  meta: `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  /** The lifecycle part of a market whose full row is in the table: status, closeTs, result, updatedAt, ticker. */
  marketsLifecycle: `UPDATE markets SET row = json_set(row, '$[3]', ?, '$[11]', CAST(? AS INTEGER), '$[5]', ?, '$[13]', CAST(? AS INTEGER)) WHERE ticker = ?`,
  /** One batch of whole markets: its row count and the JSON array of rows, as built. */
  journalAppendFull: `INSERT INTO journal (count, full) VALUES (?, ?)`,
  /** One batch of transitions, packed (see the journal table). */
  journalAppendLifecycle: `INSERT INTO journal (count, tickers, numbers, words) VALUES (?, ?, ?, ?)`,
  journalRead: `SELECT seq, full, tickers, numbers, words FROM journal WHERE seq <= ? ORDER BY seq`,
  journalDrop: `DELETE FROM journal WHERE seq <= ?`,
  journalSize: `SELECT coalesce(max(seq), 0) AS last, coalesce(sum(count), 0) AS rows FROM journal`,
} as const;

export type WriteStatement = keyof typeof WRITE_STATEMENTS;

/** One market as a row of the `markets` batch (the column order of MARKET_COLUMNS). */
export function marketRow(m: Market): unknown[] {
  return [
    m.ticker,
    m.eventTicker,
    m.title,
    m.marketStatus,
    m.marketType,
    m.result,
    m.yesBid,
    m.yesAsk,
    m.lastPrice,
    m.volume,
    m.openTs,
    m.closeTs,
    m.expirationTs,
    m.updatedAt,
  ];
}

export function eventRow(e: MarketEvent, record: string): unknown[] {
  return [e.eventTicker, e.seriesTicker, e.title, e.subTitle, e.mutuallyExclusive ? 1 : 0, e.updatedAt, record];
}

const STATUSES = new Set<string>(MARKET_STATUSES);

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/**
 * A stored market row back into a Market, or the reason it is not one. The fields are built in
 * the order `withStatus` uses, so loaded markets share the hidden class of every other Market.
 */
export function marketFromRow(r: readonly unknown[]): Market | string {
  const [ticker, eventTicker, title, status, marketType, result, yesBid, yesAsk, lastPrice, volume, openTs, closeTs, expirationTs, updatedAt] = r;
  if (typeof ticker !== 'string' || ticker === '') return 'ticker is not a string';
  if (typeof eventTicker !== 'string' || typeof title !== 'string' || typeof marketType !== 'string' || typeof result !== 'string')
    return `${ticker}: a text column is not text`;
  if (typeof status !== 'string' || !STATUSES.has(status)) return `${ticker}: unknown status ${JSON.stringify(status)}`;
  if (
    !isInt(yesBid) ||
    !isInt(yesAsk) ||
    !isInt(lastPrice) ||
    !isInt(volume) ||
    !isInt(openTs) ||
    !isInt(closeTs) ||
    !isInt(expirationTs) ||
    !isInt(updatedAt)
  ) {
    return `${ticker}: a numeric column is not an integer`;
  }
  const marketStatus = status as MarketStatus;
  return {
    ticker,
    eventTicker,
    title,
    marketStatus,
    tradingStatus: TRADING_STATUS_BY_MARKET_STATUS[marketStatus],
    marketType,
    result,
    yesBid: yesBid as PriceE4,
    yesAsk: yesAsk as PriceE4,
    lastPrice: lastPrice as PriceE4,
    volume: volume as CountE2,
    openTs,
    closeTs,
    expirationTs,
    updatedAt,
  };
}

/**
 * Calls `fn` for each transition of a packed journal batch (see the journal table), or returns
 * what is wrong with the batch.
 */
export function forEachPackedTransition(
  tickers: string,
  numbers: Uint8Array,
  words: string,
  fn: (ticker: string, status: string, closeTs: number, result: string, updatedAt: number) => void,
): string | null {
  const names = tickers.split('\n');
  if (numbers.byteLength !== names.length * 32) return 'a packed batch has the wrong size';
  let w: { s?: unknown; r?: unknown };
  try {
    w = JSON.parse(words) as { s?: unknown; r?: unknown };
  } catch {
    return 'a packed batch has unreadable words';
  }
  if (!Array.isArray(w.s) || !Array.isArray(w.r)) return 'a packed batch has unreadable words';
  const statusWords: readonly unknown[] = w.s;
  const resultWords: readonly unknown[] = w.r;
  // Copied: a BLOB's bytes need not be aligned for a Float64Array view.
  const n = new Float64Array(names.length * 4);
  new Uint8Array(n.buffer).set(numbers);
  for (let i = 0; i < names.length; i++) {
    const status = statusWords[n[i * 4] as number];
    const result = resultWords[n[i * 4 + 3] as number];
    if (typeof status !== 'string' || typeof result !== 'string') return `${names[i]}: a packed transition names no status or result`;
    fn(names[i] as string, status, n[i * 4 + 1] as number, result, n[i * 4 + 2] as number);
  }
  return null;
}

/** Applies a journaled transition to its (already loaded) market; returns what is wrong, or null. */
export function applyTransition(store: MarketStore, ticker: string, status: string, closeTs: number, result: string, updatedAt: number): string | null {
  const code = statusCode(status);
  if (code < 0) return `${ticker}: unknown status ${JSON.stringify(status)}`;
  if (!isInt(closeTs) || !isInt(updatedAt)) return `${ticker}: a time is not an integer`;
  const id = store.idOf(ticker);
  if (id < 0) return `${ticker}: a transition for a market never stored`;
  store.setLifecycle(id, code, closeTs, result, updatedAt);
  return null;
}

export function eventFromRow(r: readonly unknown[]): MarketEvent | string {
  const [eventTicker, seriesTicker, title, subTitle, mutuallyExclusive, updatedAt] = r;
  if (typeof eventTicker !== 'string' || typeof seriesTicker !== 'string' || typeof title !== 'string' || typeof subTitle !== 'string')
    return 'an event text column is not text';
  if (!isInt(mutuallyExclusive) || !isInt(updatedAt)) return `event ${eventTicker}: a numeric column is not an integer`;
  return { eventTicker, seriesTicker, title, subTitle, mutuallyExclusive: mutuallyExclusive !== 0, updatedAt };
}

/** Where the last full record of a market came from. */
export type MarketRecordSource = 'rest' | 'websocket';

/** The last full Kalshi record of a market (getMarketRecord). */
export interface MarketRecord {
  readonly ticker: string;
  /**
   * `rest`: the record exactly as GET /markets (or /markets/{ticker}) returned it and the
   * registry validated it, every field included. `websocket`: the market is only known from a
   * `market_lifecycle_v2` `created` frame; `record` holds what that frame gave (market_ticker,
   * open_ts, close_ts and its additional_metadata: event_ticker, title, expected_expiration_ts),
   * in the frame's own field names.
   */
  readonly source: MarketRecordSource;
  /** When the registry first read this version of the record (µs, its clock). */
  readonly observedAt: Micros;
  readonly record: Readonly<Record<string, unknown>>;
}

/** The sync watermarks: where the next start's `min_updated_ts` delta can begin. */
export interface SyncWatermarks {
  /** Start of the last complete full pass (initial sync or full reconcile), µs. */
  readonly lastFullPassStartedAt: Micros | null;
  /** Start of the last complete delta pass (`min_updated_ts`), µs. */
  readonly lastDeltaStartedAt: Micros | null;
}

export const NO_WATERMARKS: SyncWatermarks = { lastFullPassStartedAt: null, lastDeltaStartedAt: null };
