/** Options of the simulated exchange, validated with zod. */
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../log.js';
import { MARKET_STATUSES, type MarketStatus } from '../kalshi/schemas.js';
import type { SameType } from '../util/same-type.js';

const Range = z.union([
  z.number().int().min(1),
  z.object({ min: z.number().int().min(1), max: z.number().int().min(1) }).refine((r) => r.min <= r.max, {
    error: 'min must be <= max',
  }),
]);

const StatusMixSchema = z
  .partialRecord(z.enum(MARKET_STATUSES), z.number().min(0))
  .refine((m) => Object.values(m).some((v) => v > 0), { error: 'statusMix needs at least one positive fraction' });

export const SimExchangeOptionsSchema = z
  .object({
    /** Initial number of markets (default 1000). */
    markets: z.number().int().min(0).max(5_000_000).default(1000),
    /**
     * Share of the markets that are combo (multivariate, KXMVE*) markets, 0–0.9 (default 0.1; 0
     * turns combos off, including in the random lifecycle). Their legs are ordinary markets of the
     * sim; their frames go out on the multivariate_market_lifecycle channel only.
     */
    comboShare: z.number().min(0).max(0.9).default(0.1),
    /** PRNG seed: same seed → same markets (tickers, statuses, prices). Times are relative to start. */
    seed: z.number().int().default(1),
    host: z.enum(['127.0.0.1', 'localhost', '::1'], { error: 'the sim only listens on loopback (127.0.0.1)' }).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(0),
    /** Markets per event (number or {min,max}); default 1–10. */
    marketsPerEvent: Range.default({ min: 1, max: 10 }),
    /**
     * Events per series (number or {min,max}); default 1–200, capped for small exchanges so that
     * every kind of series (weather, crypto with '.' tickers, sports with custom strikes, …) appears.
     */
    eventsPerSeries: Range.optional(),
    /** Fractions of the initial markets per status (normalised). */
    statusMix: StatusMixSchema.optional(),
    pingIntervalMs: z.number().int().min(10).default(10_000),
    gzip: z.boolean().default(false),
    requireAuth: z.boolean().default(false),
    /** PEM string or KeyObject; when set with requireAuth the RSA-PSS signature is verified. */
    publicKey: z.union([z.string(), z.custom<KeyObject>((v) => typeof v === 'object' && v !== null)]).optional(),
    /** GET /markets/{ticker} answers 404 for this long after a runtime-created market. */
    notFoundAfterCreateMs: z.number().int().min(0).default(0),
    /** Whether implicit (time-driven) status changes bump updated_time (default false, see README in index.ts). */
    implicitTransitionsBumpUpdatedTime: z.boolean().default(false),
    /** bufferedAmount above which a subscriber gets error 25 and loses its subscription. */
    wsBufferLimitBytes: z
      .number()
      .int()
      .min(1024)
      .default(8 * 1024 * 1024),
    logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null && 'info' in v).optional(),
  })
  .strict();

/** A count given exactly, or drawn uniformly from an inclusive range for each event/series. */
export type SimRange = number | { readonly min: number; readonly max: number };

/**
 * Options of `createSimExchange` (and `npm run sim`), checked by `SimExchangeOptionsSchema`; an
 * unknown or out-of-range option throws. Every field is optional.
 */
export interface SimExchangeOptions {
  /**
   * Markets generated at start (0–5,000,000).
   * @default 1000
   */
  readonly markets?: number;
  /**
   * Share of the markets that are combo (multivariate, KXMVE*) markets, 0–0.9; 0 turns combos
   * off, including in the random lifecycle. Their legs are ordinary markets of the sim; their
   * frames go out on the `multivariate_market_lifecycle` channel only.
   * @default 0.1
   */
  readonly comboShare?: number;
  /**
   * PRNG seed: the same seed gives the same markets (tickers, statuses, prices). Times are
   * relative to the start, so two runs with one seed differ in their timestamps only.
   * @default 1
   */
  readonly seed?: number;
  /**
   * Interface to listen on: loopback only, by design (the sim has an admin API).
   * @default '127.0.0.1'
   */
  readonly host?: '127.0.0.1' | 'localhost' | '::1';
  /**
   * Port for REST and WebSocket alike; 0 picks a free one (read it from the handle's URLs).
   * @default 0
   */
  readonly port?: number;
  /**
   * Markets per event.
   * @default { min: 1, max: 10 }
   */
  readonly marketsPerEvent?: SimRange;
  /**
   * Events per series. Default 1–200, capped for small exchanges so that every kind of series
   * (weather, crypto with '.' tickers, sports with custom strikes, …) appears.
   */
  readonly eventsPerSeries?: SimRange;
  /** Fractions of the initial markets per status (normalised; at least one positive). Default: `DEFAULT_STATUS_MIX`. */
  readonly statusMix?: Partial<Record<MarketStatus, number>>;
  /**
   * Interval of the WebSocket's pings, in milliseconds (≥ 10).
   * @default 10000
   */
  readonly pingIntervalMs?: number;
  /**
   * Gzip REST bodies for clients that accept it.
   * @default false
   */
  readonly gzip?: boolean;
  /**
   * Refuse REST and WebSocket requests without Kalshi's KALSHI-ACCESS-* headers (401).
   * @default false
   */
  readonly requireAuth?: boolean;
  /** PEM string or KeyObject; with `requireAuth`, the RSA-PSS signature is verified against it. */
  readonly publicKey?: string | KeyObject;
  /**
   * GET /markets/{ticker} answers 404 for this long after a market created at run time, in
   * milliseconds (Kalshi's REST can lag its WebSocket).
   * @default 0
   */
  readonly notFoundAfterCreateMs?: number;
  /**
   * Whether implicit (time-driven) status changes bump `updated_time`. Real Kalshi does not
   * (its `updated_time` tracks non-trading metadata), which is what delta reconciles must survive.
   * @default false
   */
  readonly implicitTransitionsBumpUpdatedTime?: boolean;
  /**
   * WebSocket `bufferedAmount` above which a subscriber gets error 25 and loses its subscription, in bytes (≥ 1024).
   * @default 8388608
   */
  readonly wsBufferLimitBytes?: number;
  /** Logger for the sim's own lines (pino-compatible); silent without one. */
  readonly logger?: Logger;
}

true satisfies SameType<z.input<typeof SimExchangeOptionsSchema>, SimExchangeOptions>;
export type ResolvedSimOptions = z.output<typeof SimExchangeOptionsSchema>;

/** Default status mix of the initial markets (roughly what the live exchange looks like). */
export const DEFAULT_STATUS_MIX: Readonly<Record<MarketStatus, number>> = {
  initialized: 0.05,
  active: 0.7,
  inactive: 0.02,
  closed: 0.06,
  determined: 0.04,
  disputed: 0.005,
  amended: 0.005,
  finalized: 0.12,
};

export function rangeOf(r: number | { min: number; max: number }): { min: number; max: number } {
  return typeof r === 'number' ? { min: r, max: r } : r;
}
