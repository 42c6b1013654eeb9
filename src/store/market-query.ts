/**
 * The query of `getMarkets` (in the manner of NautilusTrader's instrument provider: load what you
 * need, find what you hold): a hand-written interface (so that hovers show the documentation),
 * and a zod schema that validates it at the boundary and is checked against it at compile time.
 */
import { z } from 'zod';
import type { Micros } from '../domain/types.js';
import { MARKET_STATUSES, type MarketStatus } from '../domain/vocabulary.js';
import { ValidationError } from '../errors.js';
import type { SameType } from '../util/same-type.js';

/**
 * What `getMarkets` returns: every held market that matches all the given fields (an absent
 * field does not filter). Answered from indexes the store maintains, starting from the smallest
 * candidate set, so the cost follows the result (and that candidate set), not the number of
 * markets held.
 */
export interface MarketQuery {
  /** One status or any of several (`MarketStatus` words, e.g. `'active'` or `['closed', 'determined']`). */
  readonly status?: MarketStatus | readonly MarketStatus[];
  /** Only the markets of this event (exact event ticker). */
  readonly eventTicker?: string;
  /**
   * Only the markets of this series: those whose event's `seriesTicker` (GET /events) is this
   * one. Until a market's event is known, its event ticker up to the first '-' stands in for the
   * series (true of most Kalshi events, not of some older ones: see README "Querying markets").
   */
  readonly seriesTicker?: string;
  /**
   * Multivariate ("combo", KXMVE*) markets: `'include'` them (default), `'exclude'` them, or
   * `'only'` them.
   * @default 'include'
   */
  readonly combos?: 'include' | 'exclude' | 'only';
  /** Only markets whose close time is before this instant (exclusive), in microseconds since the epoch. */
  readonly closesBefore?: Micros;
  /** Only markets whose close time is at or after this instant (inclusive), in microseconds since the epoch. */
  readonly closesAfter?: Micros;
  /** At most this many markets (a positive integer). Which ones is unspecified, as is the order. */
  readonly limit?: number;
}

// Typed as Micros (whatever that unit's type is) so that the schema's input type is the interface's.
const finite = z.custom<Micros>((v) => typeof v === 'number' && Number.isFinite(v), 'expected a finite number (microseconds since the epoch)');
const status = z.enum(MARKET_STATUSES);

const MarketQuerySchema = z.strictObject({
  status: z.union([status, z.array(status).readonly()]).optional(),
  eventTicker: z.string().min(1).optional(),
  seriesTicker: z.string().min(1).optional(),
  combos: z.enum(['include', 'exclude', 'only']).optional(),
  closesBefore: finite.optional(),
  closesAfter: finite.optional(),
  limit: z.number().int().positive().optional(),
});

// The schema and the interface must accept the same queries: each is assignable to the other,
// or this does not compile.
true satisfies SameType<z.input<typeof MarketQuerySchema>, MarketQuery>;

/** A validated query: statuses as a bit mask over the status codes (0: any). */
export interface ParsedMarketQuery {
  readonly statusMask: number;
  readonly eventTicker: string | undefined;
  readonly seriesTicker: string | undefined;
  readonly combos: 'include' | 'exclude' | 'only';
  readonly closesBefore: number | undefined;
  readonly closesAfter: number | undefined;
  readonly limit: number;
}

/** Validates `query`; a bad one throws a ValidationError (code `E_VALIDATION`) naming the field. */
export function parseMarketQuery(query: MarketQuery | undefined): ParsedMarketQuery {
  const r = MarketQuerySchema.safeParse(query ?? {});
  if (!r.success) throw new ValidationError('getMarkets query', r.error.issues);
  const q = r.data;
  let statusMask = 0;
  if (q.status !== undefined) {
    const list: readonly MarketStatus[] = typeof q.status === 'string' ? [q.status] : q.status;
    for (const s of list) statusMask |= 1 << MARKET_STATUSES.indexOf(s);
    // An empty list asks for no status at all: nothing matches (a mask of 0 would mean "any").
    if (list.length === 0) statusMask = -1 << MARKET_STATUSES.length;
  }
  return {
    statusMask,
    eventTicker: q.eventTicker,
    seriesTicker: q.seriesTicker,
    combos: q.combos ?? 'include',
    closesBefore: q.closesBefore,
    closesAfter: q.closesAfter,
    limit: q.limit ?? Number.POSITIVE_INFINITY,
  };
}

/**
 * The series a market belongs to when its event is not known yet: the event ticker up to the
 * first '-', or the whole ticker when it has none (Kalshi event tickers are `<SERIES>-<suffix>`
 * or, for single-event series, the series ticker itself).
 */
export function seriesOfEventTicker(eventTicker: string): string {
  const dash = eventTicker.indexOf('-');
  return dash < 0 ? eventTicker : eventTicker.slice(0, dash);
}
