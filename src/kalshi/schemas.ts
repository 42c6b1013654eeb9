/**
 * zod schemas for everything the registry reads from Kalshi: REST pages and records, and every
 * frame of the `market_lifecycle_v2` (and `multivariate_market_lifecycle`) WebSocket
 * subscriptions.
 *
 * Policy ("faithful to the real Kalshi"):
 *  - Strict only about what the registry cannot do without: a market's `ticker`, `event_ticker`,
 *    `status`, `open_time` and `close_time`; an event's `event_ticker`; the exchange's two
 *    flags; a frame's `type`, `sid`, ticker, event type and the times a transition needs.
 *  - Every other documented field is optional AND nullable (`.nullish()`): absent, `null` or
 *    present are all accepted. Kalshi's specs mark only some fields nullable (OpenAPI 3.12 /
 *    kalshi-typescript 3.30: `expected_expiration_time`, `settlement_ts`, `settlement_value_dollars`,
 *    `occurrence_datetime`, `fee_waiver_expiration_time`, `early_close_condition`, the strikes,
 *    `primary_participant_key`, `strike_date`, `strike_period`, `settlement_sources`,
 *    `product_metadata`, fee overrides, `exchange_estimated_resume_time`), but real recordings
 *    carry `null` where the spec has none (88 of the 100 Oct-2025 jonasgebele records have
 *    `"result": null`), so where neither docs nor recordings say, we are liberal on purpose.
 *  - A field that is present but malformed for its documented type (a price "abc", a date
 *    "tomorrow") is still refused when the registry maps it (it could not be represented
 *    exactly); fields the registry does not map are not looked at by the entry-point schemas.
 *  - Enumerations Kalshi keeps extending are open strings: `result`, `market_type`,
 *    `strike_type`, `price_level_structure`. Only `status` (the registry's state) is closed.
 *  - Strings have generous length limits (src/domain/limits.ts: tickers 256, titles 16 Ki, rules
 *    64 Ki, enumeration words 256 characters), so that a hostile record or frame is quarantined
 *    before it is stored, fetched or logged; the fast paths apply the same limits.
 *  - Unknown keys are tolerated everywhere: the hot-path schemas strip them, the full
 *    documentation schemas (`KalshiMarketSchema`, `KalshiEventSchema`) keep them.
 *
 * Pages are validated in two steps: the envelope (`markets: unknown[]`, `cursor`), then each
 * record on its own, so that one malformed market is quarantined while the rest of its page is
 * kept.
 */
import { z } from 'zod';
import { MAX_RULES_LENGTH, MAX_TEXT_LENGTH, MAX_TICKER_LENGTH, MAX_WORD_LENGTH } from '../domain/limits.js';
import { MARKET_STATUSES, MARKET_STATUS_FILTERS } from '../domain/vocabulary.js';

/**
 * Kept for importers that cannot change yet (machines/market-lifecycle.ts imports `MarketStatus`
 * from here); new code imports the vocabulary from src/domain/vocabulary.ts.
 */
export { MARKET_STATUSES, MARKET_STATUS_FILTERS, type MarketStatus, type MarketStatusFilter } from '../domain/vocabulary.js';

// ---------------------------------------------------------------------------------------------
// Scalars

/** A market, event, series or collection ticker: non-empty, at most MAX_TICKER_LENGTH characters. */
export const TickerSchema = z.string().min(1).max(MAX_TICKER_LENGTH, `longer than ${MAX_TICKER_LENGTH} characters (the ticker limit)`);
/** A ticker-like field that may be empty (an optional event or series ticker). */
const OptTickerText = z.string().max(MAX_TICKER_LENGTH, `longer than ${MAX_TICKER_LENGTH} characters (the ticker limit)`);
/** A title, subtitle or name. */
export const TextSchema = z.string().max(MAX_TEXT_LENGTH, `longer than ${MAX_TEXT_LENGTH} characters (the title limit)`);
/** Rules text. */
export const RulesTextSchema = z.string().max(MAX_RULES_LENGTH, `longer than ${MAX_RULES_LENGTH} characters (the rules limit)`);
/** A word of an open enumeration (result, market_type, strike_type, price_level_structure) or a channel name. */
export const WordSchema = z.string().max(MAX_WORD_LENGTH, `longer than ${MAX_WORD_LENGTH} characters (the word limit)`);

/**
 * Kalshi's FixedPointDollars: a decimal string such as "0.5600". Kalshi documents up to 4
 * decimals for market prices and has sent 6 elsewhere; any number of decimals is accepted
 * (mapping rounds beyond $0.0001).
 */
export const FixedPointDollarsSchema = z.string().regex(/^-?\d+(\.\d+)?$/, 'expected a fixed-point dollar string such as "0.5600"');

/** Kalshi's FixedPointCount: a decimal count string with (usually) 2 decimals, e.g. "300.00". */
export const FixedPointCountSchema = z.string().regex(/^-?\d+(\.\d+)?$/, 'expected a fixed-point count string such as "300.00"');

/**
 * ISO-8601 date-time as Kalshi's REST API sends it ("2026-05-01T14:00:00Z", optionally with a
 * fraction — real records carry 4, 5 or 6 digits — and an offset). A regex, not Date.parse: it
 * runs a million times per sync; mapping rejects the rare well-formed but impossible date
 * (month 13) when it converts.
 */
export const IsoDateTimeSchema = z
  .string()
  .regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)$/i, 'expected an ISO-8601 date-time such as "2026-05-01T14:00:00Z"');

/** The registry's status vocabulary lives in src/domain/vocabulary.ts; these are its wire enums. */
export const MarketStatusSchema = z.enum(MARKET_STATUSES);
/** The REST `status=` filter vocabulary of GET /markets (not the same words as MarketStatus). */
export const MarketStatusFilterSchema = z.enum(MARKET_STATUS_FILTERS);

/**
 * Values Kalshi documents for the open enumerations (for reference and tests; the schemas accept
 * any string, since Kalshi keeps adding values — e.g. `banded_centi_cent`, `"scalar"` results
 * since Jan 2026).
 */
export const KNOWN_MARKET_RESULTS = ['yes', 'no', 'scalar', ''] as const;
export const KNOWN_STRIKE_TYPES = ['greater', 'greater_or_equal', 'less', 'less_or_equal', 'between', 'functional', 'custom', 'structured'] as const;

/** A `T` that may also be `null` on the wire, read as absent: the output type stays `T | undefined`. */
function nullAsAbsent<T extends z.ZodType>(schema: T) {
  return schema.nullish().transform((v) => v ?? undefined);
}

export const PriceRangeSchema = z.looseObject({
  start: FixedPointDollarsSchema,
  end: FixedPointDollarsSchema,
  step: FixedPointDollarsSchema,
});

// ---------------------------------------------------------------------------------------------
// REST: Market

/**
 * The fields of a Kalshi market that the registry maps into its own `Market`. This is the schema
 * on the hot path (1M records per full sync), so it checks only what is used and keeps only
 * those fields. Only the first five are required; everything else may be absent or null.
 */
const marketCoreShape = {
  ticker: TickerSchema,
  event_ticker: TickerSchema,
  status: MarketStatusSchema,
  open_time: IsoDateTimeSchema,
  close_time: IsoDateTimeSchema,
  /** Documented as 'binary' | 'scalar'; an open string here (kept as-is by mapping). */
  market_type: WordSchema.nullish(),
  title: TextSchema.nullish(),
  yes_sub_title: TextSchema.nullish(),
  /** The expiration the registry reports (`Market.expirationTs`); the next two are fallbacks. */
  expected_expiration_time: IsoDateTimeSchema.nullish(),
  latest_expiration_time: IsoDateTimeSchema.nullish(),
  expiration_time: IsoDateTimeSchema.nullish(),
  /** Documented as 'yes' | 'no' | 'scalar' | ''; open string; null (seen in real Oct-2025 data) means ''. */
  result: WordSchema.nullish(),
  yes_bid_dollars: FixedPointDollarsSchema.nullish(),
  yes_ask_dollars: FixedPointDollarsSchema.nullish(),
  last_price_dollars: FixedPointDollarsSchema.nullish(),
  volume_fp: FixedPointCountSchema.nullish(),
  // Legacy integer fields (cents / whole contracts), removed by Kalshi on 2026-03-12 but still
  // accepted so that recorded data and older mirrors keep working. When a `*_dollars` string is
  // present it wins: the cents are truncated for sub-cent prices ("0.5120" came with 51).
  yes_bid: z.number().int().nullish(),
  yes_ask: z.number().int().nullish(),
  last_price: z.number().int().nullish(),
  volume: z.number().int().nullish(),
};
/**
 * A plain (stripping) object: copying ~40 unknown keys per record, as a loose object does, costs
 * several times the validation itself at 1M records.
 */
export const KalshiMarketCoreSchema = z.object(marketCoreShape);
export type KalshiMarketCore = z.infer<typeof KalshiMarketCoreSchema>;

export const MveSelectedLegSchema = z.looseObject({
  event_ticker: OptTickerText.nullish(),
  market_ticker: OptTickerText.nullish(),
  side: WordSchema.nullish(),
  yes_settlement_value_dollars: FixedPointDollarsSchema.nullish(),
});

/**
 * The full documented Kalshi Market record (OpenAPI 3.30 plus the fields of older generations),
 * tolerant of absent, null and extra fields. Not on the hot path: for tests, tools and the
 * simulator's self-checks.
 */
export const KalshiMarketSchema = z.looseObject({
  ...marketCoreShape,
  updated_time: IsoDateTimeSchema.nullish(),
  no_sub_title: TextSchema.nullish(),
  subtitle: TextSchema.nullish(),
  created_time: IsoDateTimeSchema.nullish(),
  settlement_timer_seconds: z.number().int().nullish(),
  no_bid_dollars: FixedPointDollarsSchema.nullish(),
  no_ask_dollars: FixedPointDollarsSchema.nullish(),
  yes_bid_size_fp: FixedPointCountSchema.nullish(),
  yes_ask_size_fp: FixedPointCountSchema.nullish(),
  previous_yes_bid_dollars: FixedPointDollarsSchema.nullish(),
  previous_yes_ask_dollars: FixedPointDollarsSchema.nullish(),
  previous_price_dollars: FixedPointDollarsSchema.nullish(),
  volume_24h_fp: FixedPointCountSchema.nullish(),
  open_interest_fp: FixedPointCountSchema.nullish(),
  notional_value_dollars: FixedPointDollarsSchema.nullish(),
  liquidity_dollars: FixedPointDollarsSchema.nullish(),
  can_close_early: z.boolean().nullish(),
  expiration_value: z.string().nullish(),
  settlement_value_dollars: FixedPointDollarsSchema.nullish(),
  settlement_ts: IsoDateTimeSchema.nullish(),
  occurrence_datetime: IsoDateTimeSchema.nullish(),
  fee_waiver_expiration_time: IsoDateTimeSchema.nullish(),
  early_close_condition: z.string().nullish(),
  /** Open string (documented values: KNOWN_STRIKE_TYPES). */
  strike_type: WordSchema.nullish(),
  floor_strike: z.number().nullish(),
  cap_strike: z.number().nullish(),
  functional_strike: z.string().nullish(),
  custom_strike: z.record(z.string(), z.unknown()).nullish(),
  rules_primary: RulesTextSchema.nullish(),
  rules_secondary: RulesTextSchema.nullish(),
  mve_collection_ticker: OptTickerText.nullish(),
  mve_selected_legs: z.array(MveSelectedLegSchema).nullish(),
  primary_participant_key: z.string().nullish(),
  /** Open string: `linear_cent`, `deci_cent`, `tapered_deci_cent`, `banded_centi_cent`, … */
  price_level_structure: WordSchema.nullish(),
  price_ranges: z.array(PriceRangeSchema).nullish(),
  is_provisional: z.boolean().nullish(),
  exchange_index: z.number().int().nullish(),
  // Retired fields of older generations (still in recorded data).
  fractional_trading_enabled: z.boolean().nullish(),
  response_price_units: z.string().nullish(),
  tick_size: z.number().nullish(),
  category: z.string().nullish(),
  risk_limit_cents: z.number().nullish(),
  no_bid: z.number().int().nullish(),
  no_ask: z.number().int().nullish(),
  previous_yes_bid: z.number().int().nullish(),
  previous_yes_ask: z.number().int().nullish(),
  previous_price: z.number().int().nullish(),
  volume_24h: z.number().int().nullish(),
  open_interest: z.number().int().nullish(),
  notional_value: z.number().int().nullish(),
  liquidity: z.number().int().nullish(),
  settlement_value: z.number().int().nullish(),
});
export type KalshiMarket = z.infer<typeof KalshiMarketSchema>;

/**
 * Envelope of a GET /markets page. Records are `unknown` here on purpose: each one is validated
 * separately so that a malformed record is quarantined without losing its neighbours.
 * An empty, null or absent cursor means "no more pages".
 */
export const MarketsPageEnvelopeSchema = z.looseObject({
  markets: z.array(z.unknown()),
  cursor: z.string().nullish(),
});

/** A fully validated GET /markets page (used for tests and for small, strict reads). */
export const MarketsPageSchema = z.looseObject({
  markets: z.array(KalshiMarketSchema),
  cursor: z.string().nullish(),
});
export type MarketsPage = z.infer<typeof MarketsPageSchema>;

/** GET /markets/{ticker} */
export const SingleMarketResponseSchema = z.looseObject({ market: z.unknown() });

// ---------------------------------------------------------------------------------------------
// REST: Events

/** The fields of an event the registry maps (`MarketEvent`); only `event_ticker` is required. */
const eventCoreShape = {
  event_ticker: TickerSchema,
  series_ticker: OptTickerText.nullish(),
  title: TextSchema.nullish(),
  sub_title: TextSchema.nullish(),
  mutually_exclusive: z.boolean().nullish(),
  last_updated_ts: IsoDateTimeSchema.nullish(),
};
/** What `parseEventRecord` validates (stripping: nested markets and the rest are not copied). */
export const KalshiEventCoreSchema = z.object(eventCoreShape);
export type KalshiEventCore = z.infer<typeof KalshiEventCoreSchema>;

/** The full documented EventData record (OpenAPI 3.30, plus 3.3's retired fields). */
export const KalshiEventSchema = z.looseObject({
  ...eventCoreShape,
  collateral_return_type: z.string().nullish(),
  category: z.string().nullish(),
  strike_date: IsoDateTimeSchema.nullish(),
  strike_period: z.string().nullish(),
  /** Only with `with_nested_markets=true`; each is validated on its own, as on a markets page. */
  markets: z.array(z.unknown()).nullish(),
  product_metadata: z.record(z.string(), z.unknown()).nullish(),
  settlement_sources: z.array(z.looseObject({ name: z.string().nullish(), url: z.string().nullish() })).nullish(),
  fee_type_override: z.string().nullish(),
  fee_multiplier_override: z.number().nullish(),
  exchange_index: z.number().int().nullish(),
  available_on_brokers: z.boolean().nullish(),
});
export type KalshiEvent = z.infer<typeof KalshiEventSchema>;

export const EventsPageEnvelopeSchema = z.looseObject({
  events: z.array(z.unknown()),
  cursor: z.string().nullish(),
});

export const EventsPageSchema = z.looseObject({
  events: z.array(KalshiEventSchema),
  cursor: z.string().nullish(),
});
export type EventsPage = z.infer<typeof EventsPageSchema>;

// ---------------------------------------------------------------------------------------------
// REST: Exchange status

export const ExchangeIndexStatusSchema = z.looseObject({
  exchange_index: z.number().int().nullish(),
  description: z.string().nullish(),
  exchange_active: z.boolean().nullish(),
  trading_active: z.boolean().nullish(),
  intra_exchange_transfers_active: z.boolean().nullish(),
});

const exchangeStatusCoreShape = {
  exchange_active: z.boolean(),
  trading_active: z.boolean(),
  exchange_estimated_resume_time: IsoDateTimeSchema.nullish(),
};
/** What `parseExchangeStatus` validates. */
export const KalshiExchangeStatusCoreSchema = z.object(exchangeStatusCoreShape);

export const KalshiExchangeStatusSchema = z.looseObject({
  ...exchangeStatusCoreShape,
  intra_exchange_transfers_active: z.boolean().nullish(),
  exchange_index_statuses: z.array(ExchangeIndexStatusSchema).nullish(),
});
export type KalshiExchangeStatus = z.infer<typeof KalshiExchangeStatusSchema>;

// ---------------------------------------------------------------------------------------------
// WebSocket: market_lifecycle_v2 and multivariate_market_lifecycle subscriptions
//
// Frames are plain (stripping) objects: unknown keys are dropped rather than copied, since
// nothing reads them and 200k+ frames/s must be validated. Optional fields are nullish; the
// few that other modules read directly (`seq`, `id`, an error's `sid`) read null as absent.

/** Unix seconds, as every lifecycle timestamp is on the WebSocket. */
const UnixSeconds = z.number().int().nonnegative();
const Ticker = TickerSchema;

export const LIFECYCLE_EVENT_TYPES = [
  'created',
  'activated',
  'deactivated',
  'close_date_updated',
  'determined',
  'settled',
  'price_level_structure_updated',
  'metadata_updated',
] as const;
export type LifecycleEventType = (typeof LIFECYCLE_EVENT_TYPES)[number];

/** The event types of `multivariate_market_lifecycle` (kalshi-api.md §7.5); its schema accepts all of LIFECYCLE_EVENT_TYPES. */
export const MULTIVARIATE_LIFECYCLE_EVENT_TYPES = ['created', 'activated', 'deactivated', 'close_date_updated', 'determined', 'settled'] as const;

/** The AsyncAPI marks name … expected_expiration_ts required; absent or null is accepted here. */
const AdditionalMetadataSchema = z.object({
  name: TextSchema.nullish(),
  title: TextSchema.nullish(),
  yes_sub_title: TextSchema.nullish(),
  no_sub_title: TextSchema.nullish(),
  rules_primary: RulesTextSchema.nullish(),
  rules_secondary: RulesTextSchema.nullish(),
  can_close_early: z.boolean().nullish(),
  event_ticker: OptTickerText.nullish(),
  /** Kalshi's expected expiration: the registry's `expirationTs` (as REST `expected_expiration_time`). */
  expected_expiration_ts: UnixSeconds.nullish(),
  strike_type: WordSchema.nullish(),
  floor_strike: z.number().nullish(),
  cap_strike: z.number().nullish(),
  custom_strike: z.record(z.string(), z.unknown()).nullish(),
});

const lifecycleBase = { market_ticker: Ticker, exchange_index: z.number().int().nullish() };

export const LifecycleMsgSchema = z.discriminatedUnion('event_type', [
  z.object({
    ...lifecycleBase,
    event_type: z.literal('created'),
    open_ts: UnixSeconds,
    close_ts: UnixSeconds,
    price_level_structure: WordSchema.nullish(),
    price_ranges: z.array(PriceRangeSchema).nullish(),
    additional_metadata: AdditionalMetadataSchema.nullish(),
  }),
  z.object({ ...lifecycleBase, event_type: z.literal('activated'), is_deactivated: z.boolean().nullish() }),
  z.object({ ...lifecycleBase, event_type: z.literal('deactivated'), is_deactivated: z.boolean().nullish() }),
  z.object({ ...lifecycleBase, event_type: z.literal('close_date_updated'), close_ts: UnixSeconds }),
  z.object({
    ...lifecycleBase,
    event_type: z.literal('determined'),
    /** Open string ("yes", "no", scalar values unconfirmed); null/absent leaves the result as it was. */
    result: WordSchema.nullish(),
    determination_ts: UnixSeconds.nullish(),
    settlement_value: FixedPointDollarsSchema.nullish(),
  }),
  z.object({ ...lifecycleBase, event_type: z.literal('settled'), settled_ts: UnixSeconds.nullish() }),
  z.object({
    ...lifecycleBase,
    event_type: z.literal('price_level_structure_updated'),
    price_level_structure: WordSchema.nullish(),
    price_ranges: z.array(PriceRangeSchema).nullish(),
  }),
  z.object({
    ...lifecycleBase,
    event_type: z.literal('metadata_updated'),
    strike_type: WordSchema.nullish(),
    floor_strike: z.number().nullish(),
    cap_strike: z.number().nullish(),
    custom_strike: z.record(z.string(), z.unknown()).nullish(),
    yes_sub_title: TextSchema.nullish(),
  }),
]);
export type LifecycleMsg = z.infer<typeof LifecycleMsgSchema>;

const sequenced = {
  sid: z.number().int().positive(),
  // The March-2026 spec had no seq on lifecycle frames; the newest marks it required. Accept both
  // (and null, read as absent).
  seq: nullAsAbsent(z.number().int().positive()),
  sending_ts_ms: z.number().int().nullish(),
};

export const MarketLifecycleFrameSchema = z.object({
  type: z.literal('market_lifecycle_v2'),
  ...sequenced,
  msg: LifecycleMsgSchema,
});

/**
 * Lifecycle of multivariate (combo, `KXMVE*`) markets, on the `multivariate_market_lifecycle`
 * channel since 2026 (kalshi-api.md §7.5): the same msg shape as market_lifecycle_v2. Kalshi
 * documents six event types for it (MULTIVARIATE_LIFECYCLE_EVENT_TYPES); the full message schema
 * is accepted, to be liberal.
 */
export const MultivariateLifecycleFrameSchema = z.object({
  type: z.literal('multivariate_market_lifecycle'),
  ...sequenced,
  msg: LifecycleMsgSchema,
});

export const EventLifecycleFrameSchema = z.object({
  type: z.literal('event_lifecycle'),
  ...sequenced,
  msg: z.object({
    event_ticker: Ticker,
    exchange_index: z.number().int().nullish(),
    title: TextSchema,
    subtitle: TextSchema.nullish(),
    collateral_return_type: z.string().nullish(),
    series_ticker: OptTickerText,
    strike_date: UnixSeconds.nullish(),
    strike_period: z.string().nullish(),
  }),
});

export const EventFeeUpdateFrameSchema = z.object({
  type: z.literal('event_fee_update'),
  ...sequenced,
  msg: z.object({
    event_ticker: Ticker,
    fee_type_override: z.string().nullish(),
    fee_multiplier_override: z.number().nullish(),
  }),
});

export const SubscribedFrameSchema = z.object({
  type: z.literal('subscribed'),
  id: nullAsAbsent(z.number().int()),
  msg: z.object({ channel: WordSchema, sid: z.number().int().positive() }),
});

export const OkFrameSchema = z.object({
  type: z.literal('ok'),
  id: nullAsAbsent(z.number().int()),
  sid: nullAsAbsent(z.number().int()),
  seq: nullAsAbsent(z.number().int()),
  // `update_subscription` answers an object, `list_subscriptions` an array; older docs showed
  // other shapes, so the payload is parsed defensively.
  msg: z.unknown().optional(),
});

export const UnsubscribedFrameSchema = z.object({
  type: z.literal('unsubscribed'),
  id: nullAsAbsent(z.number().int()),
  sid: z.number().int().positive(),
  seq: nullAsAbsent(z.number().int()),
});

export const ErrorFrameSchema = z.object({
  type: z.literal('error'),
  id: nullAsAbsent(z.number().int()),
  sid: nullAsAbsent(z.number().int()),
  seq: nullAsAbsent(z.number().int()),
  // No length limit on the message: a terminal error (10/25) must be acted on whatever its text;
  // logs quote it through truncateForLog.
  msg: z.object({ code: z.number().int(), msg: z.string().nullish() }),
});

/** Every frame the registry expects on a lifecycle connection (both lifecycle channels). */
export const LifecycleSocketFrameSchema = z.discriminatedUnion('type', [
  MarketLifecycleFrameSchema,
  MultivariateLifecycleFrameSchema,
  EventLifecycleFrameSchema,
  EventFeeUpdateFrameSchema,
  SubscribedFrameSchema,
  UnsubscribedFrameSchema,
  OkFrameSchema,
  ErrorFrameSchema,
]);
export type LifecycleSocketFrame = z.infer<typeof LifecycleSocketFrameSchema>;
export type MarketLifecycleFrame = z.infer<typeof MarketLifecycleFrameSchema>;
export type MultivariateLifecycleFrame = z.infer<typeof MultivariateLifecycleFrameSchema>;
export type EventLifecycleFrame = z.infer<typeof EventLifecycleFrameSchema>;
export type EventFeeUpdateFrame = z.infer<typeof EventFeeUpdateFrameSchema>;
export type ErrorFrame = z.infer<typeof ErrorFrameSchema>;

/** WS error codes after which Kalshi drops the subscription and events may have been lost. */
export const TERMINAL_WS_ERROR_CODES: ReadonlySet<number> = new Set([10, 25]);
