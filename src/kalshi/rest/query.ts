/**
 * Query strings, each endpoint's from ONE zod schema: the schema validates the caller's query
 * and is the source of its TypeScript type (`z.input`), and a wire-name map beside it (checked
 * by the compiler to name every field, and only those) drives the encoder.
 */
import { z } from 'zod';
import { EVENT_STATUS_FILTERS, MARKET_STATUS_FILTERS, MVE_FILTERS } from '../../domain/vocabulary.js';
import { ValidationError } from '../../errors.js';

type QueryValue = string | number | boolean | readonly string[] | undefined;

/**
 * Encodes a query string (`?a=1&b=x,y`, or '' when nothing is left). `undefined`, '' and empty
 * arrays are left out; arrays are comma-joined with literal commas, each item encoded.
 */
export function encodeQuery(params: ReadonlyArray<readonly [string, QueryValue]>): string {
  let out = '';
  for (const [key, value] of params) {
    if (value === undefined || value === '') continue;
    let encoded: string;
    if (Array.isArray(value)) {
      if (value.length === 0) continue;
      encoded = (value as readonly string[]).map((v) => encodeURIComponent(v)).join(',');
    } else {
      encoded = encodeURIComponent(String(value));
    }
    out += `${out ? '&' : '?'}${encodeURIComponent(key)}=${encoded}`;
  }
  return out;
}

/** The wire (query-string) name of every field of a query: all of them, and nothing else. */
export type WireNames<T> = { readonly [K in keyof T]-?: string };

export interface QueryCodec<Q> {
  /** Validates `query` (a ValidationError names the endpoint) and encodes it. */
  encode(query: Q): string;
}

/** A validator + encoder for one endpoint's query, from its schema and wire-name map. */
export function queryCodec<S extends z.ZodType<object>>(source: string, schema: S, wire: WireNames<z.output<S>>): QueryCodec<z.input<S>> {
  const fields = Object.entries(wire) as [keyof z.output<S> & string, string][];
  return {
    encode(query) {
      const r = schema.safeParse(query);
      if (!r.success) throw new ValidationError(source, r.error.issues);
      const q = r.data as Record<string, QueryValue>;
      return encodeQuery(fields.map(([key, name]) => [name, q[key]] as const));
    },
  };
}

/** A market or event ticker as a query value: non-empty, and no comma (lists are comma-joined). */
export const TickerSchema = z
  .string()
  .min(1)
  .regex(/^[^,]+$/, 'a ticker cannot contain a comma');
const UnixSeconds = z.number().int().nonnegative();

// ---- GET /markets (shared/kalshi-api.md §2.1) -------------------------------------------------

export const MarketsQuerySchema = z.strictObject({
  /** 1–1000 (Kalshi default 100; `marketPages` defaults to 1000). */
  limit: z.number().int().min(1).max(1000).optional(),
  cursor: z.string().optional(),
  status: z.enum(MARKET_STATUS_FILTERS).optional(),
  /** Sent comma-joined. */
  tickers: z.array(TickerSchema).readonly().optional(),
  /** A single event ticker. */
  eventTicker: TickerSchema.optional(),
  seriesTicker: z.string().min(1).optional(),
  /** Unix seconds; Kalshi allows it only with `mveFilter: 'exclude'` (and `seriesTicker`). */
  minUpdatedTs: UnixSeconds.optional(),
  mveFilter: z.enum(MVE_FILTERS).optional(),
  minCreatedTs: UnixSeconds.optional(),
  maxCreatedTs: UnixSeconds.optional(),
  minCloseTs: UnixSeconds.optional(),
  maxCloseTs: UnixSeconds.optional(),
  minSettledTs: UnixSeconds.optional(),
  maxSettledTs: UnixSeconds.optional(),
});
/** GET /markets query. Timestamps are Unix seconds. Kalshi rejects some combinations (§10.9). */
export type MarketsQuery = Readonly<z.input<typeof MarketsQuerySchema>>;

export const marketsQuery = queryCodec('GET /markets query', MarketsQuerySchema, {
  limit: 'limit',
  cursor: 'cursor',
  status: 'status',
  tickers: 'tickers',
  eventTicker: 'event_ticker',
  seriesTicker: 'series_ticker',
  minUpdatedTs: 'min_updated_ts',
  mveFilter: 'mve_filter',
  minCreatedTs: 'min_created_ts',
  maxCreatedTs: 'max_created_ts',
  minCloseTs: 'min_close_ts',
  maxCloseTs: 'max_close_ts',
  minSettledTs: 'min_settled_ts',
  maxSettledTs: 'max_settled_ts',
});

// ---- GET /events (§3.2) -------------------------------------------------------------------------

export const EventsQuerySchema = z.strictObject({
  /** 1–200 (`eventPages` defaults to 200). */
  limit: z.number().int().min(1).max(200).optional(),
  cursor: z.string().optional(),
  status: z.enum(EVENT_STATUS_FILTERS).optional(),
  seriesTicker: z.string().min(1).optional(),
  /** Event tickers, sent comma-joined. */
  tickers: z.array(TickerSchema).readonly().optional(),
  withNestedMarkets: z.boolean().optional(),
  minCloseTs: UnixSeconds.optional(),
  minUpdatedTs: UnixSeconds.optional(),
});
/** GET /events query. */
export type EventsQuery = Readonly<z.input<typeof EventsQuerySchema>>;

export const eventsQuery = queryCodec('GET /events query', EventsQuerySchema, {
  limit: 'limit',
  cursor: 'cursor',
  status: 'status',
  seriesTicker: 'series_ticker',
  tickers: 'tickers',
  withNestedMarkets: 'with_nested_markets',
  minCloseTs: 'min_close_ts',
  minUpdatedTs: 'min_updated_ts',
});

// ---- GET /events/multivariate (§3.2) ------------------------------------------------------------

export const MultivariateEventsQuerySchema = z
  .strictObject({
    /** 1–200 (Kalshi default 100; `multivariateEventPages` defaults to 200). */
    limit: z.number().int().min(1).max(200).optional(),
    cursor: z.string().optional(),
    seriesTicker: z.string().min(1).optional(),
    collectionTicker: z.string().min(1).optional(),
    withNestedMarkets: z.boolean().optional(),
  })
  .refine((q) => q.seriesTicker === undefined || q.collectionTicker === undefined, {
    error: 'collectionTicker cannot be combined with seriesTicker',
    path: ['collectionTicker'],
  });
/** GET /events/multivariate query. `collectionTicker` and `seriesTicker` exclude each other. */
export type MultivariateEventsQuery = Readonly<z.input<typeof MultivariateEventsQuerySchema>>;

export const multivariateEventsQuery = queryCodec('GET /events/multivariate query', MultivariateEventsQuerySchema, {
  limit: 'limit',
  cursor: 'cursor',
  seriesTicker: 'series_ticker',
  collectionTicker: 'collection_ticker',
  withNestedMarkets: 'with_nested_markets',
});
