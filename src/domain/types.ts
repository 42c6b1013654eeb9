/**
 * The registry's own vocabulary: what an embedder sees. Kalshi's wire shapes live in
 * src/kalshi/schemas.ts; src/domain/mapping.ts turns one into the other.
 *
 * Units (chosen so that every value Kalshi sends is represented exactly, with no float error):
 *  - prices (`yesBid`, `yesAsk`, `lastPrice`) are integers in units of $0.0001 — Kalshi's
 *    4-decimal dollar strings scaled by 10 000: "0.5600" → 5600, "0.0010" → 10. The branded type
 *    `PriceE4` names that unit.
 *  - `volume` is an integer in hundredths of a contract — Kalshi's 2-decimal `volume_fp` count
 *    scaled by 100: "1234.50" → 123450 (`CountE2`). Kalshi allows fractional contracts (0.01).
 *  - timestamps are integers in microseconds since the Unix epoch (`Micros`), as the seed design
 *    says; REST's ISO strings and the WebSocket's Unix seconds both convert exactly.
 */
import type { MarketStatus } from './vocabulary.js';

export type { MarketStatus } from './vocabulary.js';
export { MARKET_STATUSES } from './vocabulary.js';

/**
 * The brand that tells the three integer units apart at compile time. Type-only: it exists in no
 * emitted JavaScript, a branded value is a plain number at run time, and arithmetic on one gives
 * a plain `number` again.
 */
declare const unitBrand: unique symbol;

/**
 * A price in units of $0.0001 (so $1.00 = 10 000). Integer. Branded: only a converter of
 * units.ts makes one (`dollarsToE4`, `centsToE4`, or `asPriceE4` for a number already in this
 * unit), so neither a bare number, a `CountE2` nor a `Micros` is accepted where a price belongs.
 */
export type PriceE4 = number & { readonly [unitBrand]: 'PriceE4' };
/**
 * A contract count in hundredths of a contract (so 1 contract = 100). Integer. Branded like
 * `PriceE4`: made by `countToE2`, `contractsToE2` or `asCountE2`.
 */
export type CountE2 = number & { readonly [unitBrand]: 'CountE2' };
/**
 * Microseconds since the Unix epoch. Integer (safe up to year 2255). Branded, but loosely (the
 * brand is optional): a `PriceE4` or a `CountE2` is refused where a time belongs, while a plain
 * number is accepted, since time arithmetic (`now + 5 * SEC`, deadlines, clocks) runs through the
 * whole data plane. `isoToMicros`, `secondsToMicros`, `msToMicros` and `asMicros` make one.
 */
export type Micros = number & { readonly [unitBrand]?: 'Micros' };

/**
 * Kalshi documents 'binary' | 'scalar'. Any other string Kalshi may add is kept as sent (the
 * `(string & {})` keeps editor completion for the known values); absent/null reads as 'binary'.
 */
export type MarketType = 'binary' | 'scalar' | (string & {});
/**
 * Empty until the market is determined. Scalar markets report "scalar" since Jan 2026. A `null`
 * or absent `result` (real Oct-2025 records carry `"result": null`) is `''`; a result string
 * Kalshi does not document is kept as-is, so a consumer should treat unknown values as
 * "determined, but not yes/no".
 */
export type MarketResult = 'yes' | 'no' | 'scalar' | '' | (string & {});

/**
 * The market's status in the words of Kalshi's REST `status=` filter (unopened, open, paused,
 * closed, settled): a coarser view of `marketStatus` that many consumers filter by. It says
 * nothing about the exchange as a whole: see `ExchangeStatus.tradingActive` for that.
 */
export type TradingStatus = 'open' | 'paused' | 'closed' | 'unopened' | 'settled';

/** One market as the registry holds it. Immutable: an update replaces the object. */
export interface Market {
  readonly ticker: string;
  readonly eventTicker: string;
  readonly title: string;
  readonly marketStatus: MarketStatus;
  readonly tradingStatus: TradingStatus;
  readonly marketType: MarketType;
  readonly result: MarketResult;
  readonly yesBid: PriceE4;
  readonly yesAsk: PriceE4;
  readonly lastPrice: PriceE4;
  readonly volume: CountE2;
  readonly openTs: Micros;
  readonly closeTs: Micros;
  /**
   * Kalshi's EXPECTED expiration (when the market is forecast to resolve; may precede
   * `closeTs`): REST `expected_expiration_time`, WebSocket `created`
   * `additional_metadata.expected_expiration_ts` — one meaning from both sources, so the value
   * does not jump when a REST read follows a WebSocket `created`. Only when the source lacks it
   * (absent/null): REST `latest_expiration_time`, then the deprecated `expiration_time`, then
   * the close time.
   */
  readonly expirationTs: Micros;
  /**
   * When the registry last applied a change to this record, by its own clock. (Kalshi's
   * `updated_time` only tracks non-trading metadata, so it cannot order REST reads against
   * WebSocket events; the registry's clock can.)
   */
  readonly updatedAt: Micros;
}

export type MarketChangeType = 'created' | 'status_change' | 'settled';

/**
 * One validated lifecycle transition. Emitted only after the market-lifecycle statechart
 * accepted it; rejected transitions are never emitted (see `RejectedTransition`).
 */
export type MarketChange = (
  | {
      readonly ticker: string;
      readonly eventType: 'created';
      /** Always `null`: the market was unknown before. */
      readonly oldStatus: null;
      readonly newStatus: MarketStatus;
      readonly market: Market;
    }
  | {
      readonly ticker: string;
      readonly eventType: 'status_change';
      readonly oldStatus: MarketStatus;
      readonly newStatus: MarketStatus;
      readonly market: Market;
    }
  | {
      readonly ticker: string;
      readonly eventType: 'settled';
      readonly oldStatus: MarketStatus;
      readonly newStatus: 'finalized';
      /** Absent for settled, as in the seed design: the market's trading life is over. */
      readonly market?: undefined;
    }
) & {
  /**
   * Set on a change delivered to an `overflow: 'conflate'` subscription that lagged: the market
   * moved from `oldStatus` to `newStatus` through possibly several changes it did not see.
   */
  readonly conflated?: true;
};

/** The capacity of the change stream (the seed's `ChangeBufferSize`). */
export const ChangeBufferSize = 1000;

/** An event as the registry holds it (events have no status of their own on Kalshi). */
export interface MarketEvent {
  readonly eventTicker: string;
  readonly seriesTicker: string;
  readonly title: string;
  readonly subTitle: string;
  readonly mutuallyExclusive: boolean;
  readonly updatedAt: Micros;
}

export interface ExchangeStatus {
  /** False only during maintenance / exchange pause. */
  readonly exchangeActive: boolean;
  /** False outside trading hours or during a trading pause. */
  readonly tradingActive: boolean;
  /** Estimated end of maintenance, when Kalshi gives one. */
  readonly estimatedResumeTs: Micros | null;
  /** When the registry last heard from GET /exchange/status. */
  readonly observedAt: Micros;
  /** True when the answer was a 503/5xx maintenance response rather than a normal 200. */
  readonly maintenance: boolean;
}
