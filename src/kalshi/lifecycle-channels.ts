/** Kalshi's lifecycle WebSocket channels (shared/kalshi-api.md §7, §7.5). */

/** The lifecycle channel of every market but combos (also carries event_lifecycle, event_fee_update). */
export const MARKET_LIFECYCLE_CHANNEL = 'market_lifecycle_v2';

/** The lifecycle channel of multivariate (combo, KXMVE*) markets, which Kalshi moved off the first in 2026. */
export const COMBO_LIFECYCLE_CHANNEL = 'multivariate_market_lifecycle';
