/**
 * zod schemas for everything the registry reads from Kalshi: REST pages and records, and every
 * frame of the `market_lifecycle_v2` WebSocket subscription.
 *
 * Policy: be strict about the fields the registry relies on (ticker, status, times) and tolerant
 * of everything else. Kalshi adds and retires fields often (see shared/kalshi-api.md §2.5), so
 * unknown keys are kept (`looseObject`) and most documented fields are optional: a record is
 * only rejected when the registry could not represent it correctly.
 *
 * Pages are validated in two steps: the envelope (`markets: unknown[]`, `cursor`), then each
 * record on its own, so that one malformed market is quarantined while the rest of its page is
 * kept (see `parseMarketsPage` in ./parse.ts).
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------
// Scalars

/** Kalshi's FixedPointDollars: a decimal string such as "0.5600" (up to 6 decimals seen). */
export const FixedPointDollarsSchema = z
  .string()
  .regex(/^-?\d+(\.\d{1,6})?$/, 'expected a fixed-point dollar string such as "0.5600"');

/** Kalshi's FixedPointCount: a decimal count string with (usually) 2 decimals, e.g. "300.00". */
export const FixedPointCountSchema = z
  .string()
  .regex(/^-?\d+(\.\d{1,6})?$/, 'expected a fixed-point count string such as "300.00"');

/**
 * ISO-8601 date-time as Kalshi's REST API sends it ("2026-05-01T14:00:00Z", optionally with a
 * fraction and an offset). A regex, not Date.parse: it runs a million times per sync; mapping
 * rejects the rare well-formed but impossible date (month 13) when it converts.
 */
export const IsoDateTimeSchema = z
  .string()
  .regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)$/i, 'expected an ISO-8601 date-time such as "2026-05-01T14:00:00Z"');

/** The eight REST market statuses (the registry's status vocabulary). */
export const MARKET_STATUSES = [
  'initialized',
  'inactive',
  'active',
  'closed',
  'determined',
  'disputed',
  'amended',
  'finalized',
] as const;
export const MarketStatusSchema = z.enum(MARKET_STATUSES);
export type MarketStatus = z.infer<typeof MarketStatusSchema>;

/** The REST `status=` filter vocabulary of GET /markets (not the same words as MarketStatus). */
export const MARKET_STATUS_FILTERS = ['unopened', 'open', 'paused', 'closed', 'settled'] as const;
export const MarketStatusFilterSchema = z.enum(MARKET_STATUS_FILTERS);
export type MarketStatusFilter = z.infer<typeof MarketStatusFilterSchema>;

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
 * those fields.
 */
const marketCoreShape = {
  ticker: z.string().min(1),
  event_ticker: z.string().min(1),
  status: MarketStatusSchema,
  market_type: z.enum(['binary', 'scalar']).optional(),
  title: z.string().optional(),
  yes_sub_title: z.string().optional(),
  open_time: IsoDateTimeSchema,
  close_time: IsoDateTimeSchema,
  latest_expiration_time: IsoDateTimeSchema.optional(),
  expiration_time: IsoDateTimeSchema.optional(),
  updated_time: IsoDateTimeSchema.optional(),
  result: z.string().optional(),
  yes_bid_dollars: FixedPointDollarsSchema.optional(),
  yes_ask_dollars: FixedPointDollarsSchema.optional(),
  last_price_dollars: FixedPointDollarsSchema.optional(),
  volume_fp: FixedPointCountSchema.optional(),
  // Legacy integer fields (cents / whole contracts), removed by Kalshi on 2026-03-12 but still
  // accepted so that recorded data and older mirrors keep working.
  yes_bid: z.number().int().optional(),
  yes_ask: z.number().int().optional(),
  last_price: z.number().int().optional(),
  volume: z.number().int().optional(),
};
/**
 * A plain (stripping) object: copying ~40 unknown keys per record, as a loose object does, costs
 * several times the validation itself at 1M records.
 */
export const KalshiMarketCoreSchema = z.object(marketCoreShape);
export type KalshiMarketCore = z.infer<typeof KalshiMarketCoreSchema>;

/** The full documented Kalshi Market record (OpenAPI 3.30), tolerant of absent/extra fields. */
export const KalshiMarketSchema = z.looseObject({
  ...marketCoreShape,
  no_sub_title: z.string().optional(),
  subtitle: z.string().optional(),
  created_time: IsoDateTimeSchema.optional(),
  expected_expiration_time: IsoDateTimeSchema.nullish(),
  settlement_timer_seconds: z.number().int().optional(),
  no_bid_dollars: FixedPointDollarsSchema.optional(),
  no_ask_dollars: FixedPointDollarsSchema.optional(),
  yes_bid_size_fp: FixedPointCountSchema.optional(),
  yes_ask_size_fp: FixedPointCountSchema.optional(),
  previous_yes_bid_dollars: FixedPointDollarsSchema.optional(),
  previous_yes_ask_dollars: FixedPointDollarsSchema.optional(),
  previous_price_dollars: FixedPointDollarsSchema.optional(),
  volume_24h_fp: FixedPointCountSchema.optional(),
  open_interest_fp: FixedPointCountSchema.optional(),
  notional_value_dollars: FixedPointDollarsSchema.optional(),
  liquidity_dollars: FixedPointDollarsSchema.optional(),
  can_close_early: z.boolean().optional(),
  expiration_value: z.string().optional(),
  settlement_value_dollars: FixedPointDollarsSchema.nullish(),
  settlement_ts: IsoDateTimeSchema.nullish(),
  occurrence_datetime: IsoDateTimeSchema.nullish(),
  fee_waiver_expiration_time: IsoDateTimeSchema.nullish(),
  early_close_condition: z.string().nullish(),
  strike_type: z.string().optional(),
  floor_strike: z.number().nullish(),
  cap_strike: z.number().nullish(),
  functional_strike: z.string().nullish(),
  custom_strike: z.record(z.string(), z.unknown()).nullish(),
  rules_primary: z.string().optional(),
  rules_secondary: z.string().optional(),
  mve_collection_ticker: z.string().optional(),
  primary_participant_key: z.string().nullish(),
  price_level_structure: z.string().optional(),
  price_ranges: z.array(PriceRangeSchema).optional(),
  is_provisional: z.boolean().optional(),
  exchange_index: z.number().int().optional(),
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

export const KalshiEventSchema = z.looseObject({
  event_ticker: z.string().min(1),
  series_ticker: z.string(),
  title: z.string(),
  sub_title: z.string().optional(),
  collateral_return_type: z.string().optional(),
  mutually_exclusive: z.boolean().optional(),
  category: z.string().optional(),
  strike_date: IsoDateTimeSchema.nullish(),
  strike_period: z.string().nullish(),
  markets: z.array(z.unknown()).optional(),
  last_updated_ts: IsoDateTimeSchema.optional(),
  fee_type_override: z.string().nullish(),
  fee_multiplier_override: z.number().nullish(),
  exchange_index: z.number().int().optional(),
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
  exchange_index: z.number().int(),
  description: z.string().optional(),
  exchange_active: z.boolean(),
  trading_active: z.boolean(),
  intra_exchange_transfers_active: z.boolean().optional(),
});

export const KalshiExchangeStatusSchema = z.looseObject({
  exchange_active: z.boolean(),
  trading_active: z.boolean(),
  intra_exchange_transfers_active: z.boolean().optional(),
  exchange_estimated_resume_time: IsoDateTimeSchema.nullish(),
  exchange_index_statuses: z.array(ExchangeIndexStatusSchema).optional(),
});
export type KalshiExchangeStatus = z.infer<typeof KalshiExchangeStatusSchema>;

// ---------------------------------------------------------------------------------------------
// WebSocket: market_lifecycle_v2 subscription
//
// Frames are plain (stripping) objects: unknown keys are dropped rather than copied, since
// nothing reads them and 200k+ frames/s must be validated.

/** Unix seconds, as every lifecycle timestamp is on the WebSocket. */
const UnixSeconds = z.number().int().nonnegative();
const Ticker = z.string().min(1);

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

const AdditionalMetadataSchema = z.object({
  name: z.string().optional(),
  title: z.string().optional(),
  yes_sub_title: z.string().optional(),
  no_sub_title: z.string().optional(),
  rules_primary: z.string().optional(),
  rules_secondary: z.string().optional(),
  can_close_early: z.boolean().optional(),
  event_ticker: z.string().optional(),
  expected_expiration_ts: UnixSeconds.optional(),
  strike_type: z.string().optional(),
  floor_strike: z.number().nullish(),
  cap_strike: z.number().nullish(),
  custom_strike: z.record(z.string(), z.unknown()).nullish(),
});

const lifecycleBase = { market_ticker: Ticker, exchange_index: z.number().int().optional() };

export const LifecycleMsgSchema = z.discriminatedUnion('event_type', [
  z.object({
    ...lifecycleBase,
    event_type: z.literal('created'),
    open_ts: UnixSeconds,
    close_ts: UnixSeconds,
    price_level_structure: z.string().optional(),
    price_ranges: z.array(PriceRangeSchema).optional(),
    additional_metadata: AdditionalMetadataSchema.optional(),
  }),
  z.object({ ...lifecycleBase, event_type: z.literal('activated'), is_deactivated: z.boolean().optional() }),
  z.object({ ...lifecycleBase, event_type: z.literal('deactivated'), is_deactivated: z.boolean().optional() }),
  z.object({ ...lifecycleBase, event_type: z.literal('close_date_updated'), close_ts: UnixSeconds }),
  z.object({
    ...lifecycleBase,
    event_type: z.literal('determined'),
    result: z.string().optional(),
    determination_ts: UnixSeconds.optional(),
    settlement_value: FixedPointDollarsSchema.optional(),
  }),
  z.object({ ...lifecycleBase, event_type: z.literal('settled'), settled_ts: UnixSeconds.optional() }),
  z.object({
    ...lifecycleBase,
    event_type: z.literal('price_level_structure_updated'),
    price_level_structure: z.string().optional(),
    price_ranges: z.array(PriceRangeSchema).optional(),
  }),
  z.object({
    ...lifecycleBase,
    event_type: z.literal('metadata_updated'),
    strike_type: z.string().optional(),
    floor_strike: z.number().nullish(),
    cap_strike: z.number().nullish(),
    custom_strike: z.record(z.string(), z.unknown()).nullish(),
    yes_sub_title: z.string().optional(),
  }),
]);
export type LifecycleMsg = z.infer<typeof LifecycleMsgSchema>;

const sequenced = {
  sid: z.number().int().positive(),
  // The March-2026 spec had no seq on lifecycle frames; the newest marks it required. Accept both.
  seq: z.number().int().positive().optional(),
  sending_ts_ms: z.number().int().optional(),
};

export const MarketLifecycleFrameSchema = z.object({
  type: z.literal('market_lifecycle_v2'),
  ...sequenced,
  msg: LifecycleMsgSchema,
});

export const EventLifecycleFrameSchema = z.object({
  type: z.literal('event_lifecycle'),
  ...sequenced,
  msg: z.object({
    event_ticker: Ticker,
    exchange_index: z.number().int().optional(),
    title: z.string(),
    subtitle: z.string().optional(),
    collateral_return_type: z.string().optional(),
    series_ticker: z.string(),
    strike_date: UnixSeconds.optional(),
    strike_period: z.string().optional(),
  }),
});

export const EventFeeUpdateFrameSchema = z.object({
  type: z.literal('event_fee_update'),
  ...sequenced,
  msg: z.object({
    event_ticker: Ticker,
    fee_type_override: z.string().nullable(),
    fee_multiplier_override: z.number().nullable(),
  }),
});

export const SubscribedFrameSchema = z.object({
  type: z.literal('subscribed'),
  id: z.number().int().optional(),
  msg: z.object({ channel: z.string(), sid: z.number().int().positive() }),
});

export const OkFrameSchema = z.object({
  type: z.literal('ok'),
  id: z.number().int().optional(),
  sid: z.number().int().optional(),
  seq: z.number().int().optional(),
  // `update_subscription` answers an object, `list_subscriptions` an array; older docs showed
  // other shapes, so the payload is parsed defensively.
  msg: z.unknown().optional(),
});

export const UnsubscribedFrameSchema = z.object({
  type: z.literal('unsubscribed'),
  id: z.number().int().optional(),
  sid: z.number().int().positive(),
  seq: z.number().int().optional(),
});

export const ErrorFrameSchema = z.object({
  type: z.literal('error'),
  id: z.number().int().optional(),
  sid: z.number().int().optional(),
  seq: z.number().int().optional(),
  msg: z.object({ code: z.number().int(), msg: z.string().optional() }),
});

/** Every frame the registry expects on a `market_lifecycle_v2` connection. */
export const LifecycleSocketFrameSchema = z.discriminatedUnion('type', [
  MarketLifecycleFrameSchema,
  EventLifecycleFrameSchema,
  EventFeeUpdateFrameSchema,
  SubscribedFrameSchema,
  UnsubscribedFrameSchema,
  OkFrameSchema,
  ErrorFrameSchema,
]);
export type LifecycleSocketFrame = z.infer<typeof LifecycleSocketFrameSchema>;
export type MarketLifecycleFrame = z.infer<typeof MarketLifecycleFrameSchema>;
export type EventLifecycleFrame = z.infer<typeof EventLifecycleFrameSchema>;
export type EventFeeUpdateFrame = z.infer<typeof EventFeeUpdateFrameSchema>;
export type ErrorFrame = z.infer<typeof ErrorFrameSchema>;

/** WS error codes after which Kalshi drops the subscription and events may have been lost. */
export const TERMINAL_WS_ERROR_CODES: ReadonlySet<number> = new Set([10, 25]);
