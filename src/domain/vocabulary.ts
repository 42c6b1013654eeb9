/**
 * The registry's status vocabulary: the words for a market's state and for Kalshi's query
 * filters. Plain arrays and the types derived from them, with no dependency on zod or on the
 * wire schemas; src/kalshi/schemas.ts builds its enums from these arrays, and everything else
 * (the store, the statecharts, the simulator, the CLI) imports the words from here.
 */

/** The eight market statuses Kalshi's REST API reports (shared/kalshi-api.md §2.4, §8). */
export const MARKET_STATUSES = ['initialized', 'inactive', 'active', 'closed', 'determined', 'disputed', 'amended', 'finalized'] as const;
export type MarketStatus = (typeof MARKET_STATUSES)[number];

/**
 * The `status=` filter words of GET /markets (§2.2): not the same words as `MarketStatus`
 * (unopened = initialized, open = active, paused = inactive, closed = closed … amended,
 * settled = finalized). `Market.tradingStatus` uses the same words.
 */
export const MARKET_STATUS_FILTERS = ['unopened', 'open', 'paused', 'closed', 'settled'] as const;
export type MarketStatusFilter = (typeof MARKET_STATUS_FILTERS)[number];

/** The `status=` filter words of GET /events (§3.2). */
export const EVENT_STATUS_FILTERS = ['unopened', 'open', 'closed', 'settled'] as const;
export type EventStatusFilter = (typeof EVENT_STATUS_FILTERS)[number];

/** `mve_filter=` of GET /markets: only or no multivariate (combo) markets (§2.1). */
export const MVE_FILTERS = ['only', 'exclude'] as const;
export type MveFilter = (typeof MVE_FILTERS)[number];
