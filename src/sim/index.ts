/**
 * Simulated Kalshi exchange (REST + WebSocket on 127.0.0.1) for tests, benchmarks and the CLI demo.
 *
 * Semantics worth knowing:
 *  - Ordering / cursor: markets are served in a stable insertion order; the cursor is an opaque
 *    encoding of the next market index to examine, so a page is O(limit) and markets created
 *    between pages appear exactly once on a later page. The last page has cursor "".
 *    `limit` > 1000 (events: > 200) answers 400; `limit=0` means the default.
 *  - Implicit transitions (initialized→active at open_time, active/inactive→closed at
 *    close_time) send no WS frame and are applied lazily whenever a market is read.
 *    They do NOT bump updated_time by default (Kalshi is unconfirmed; this is the harsher
 *    assumption for a min_updated_ts reconciler). Pass `implicitTransitionsBumpUpdatedTime: true`
 *    to bump it to the transition instant instead.
 *  - Every explicit operation (including dispute/amend, which send no frame) bumps updated_time to
 *    the wall clock (ms precision). `min_updated_ts` matches updated_time >= ts (inclusive).
 *    Events' last_updated_ts changes on creation and fee updates only.
 *  - Filter validation follows §2.1/§10.9: one status per request, single event_ticker, timestamp
 *    groups exclusive and only with compatible statuses, min_updated_ts only with
 *    mve_filter=exclude (+ series_ticker, which then requires mve_filter=exclude). Errors are
 *    400 {"error":"<message>"}; the sim has no multivariate markets (mve_filter=only → empty).
 *  - Bodies are pure ASCII (non-ASCII characters are \u-escaped in the JSON) so pages can be
 *    written with the latin1 encoder straight into one Buffer.
 *  - The admin API (/_sim/*) is never authenticated and never subject to REST faults.
 */
export { startSimExchange, SimExchange } from './server.js';
export { SimOperationError, LIFECYCLE_CHANNELS } from './exchange.js';
export type {
  CreateComboMarketInput,
  CreateMarketInput,
  LifecycleChannel,
  FeeOverride,
  MetadataUpdate,
  RandomLifecycleOptions,
  SimFrame,
  SimOpResult,
  SimStats,
  SimFaultState,
} from './exchange.js';
export type { SimExchangeOptions } from './options.js';
export { SimExchangeOptionsSchema, DEFAULT_STATUS_MIX } from './options.js';
export { PRICE_LEVEL_STRUCTURES } from './store.js';
export { ADMIN_OPS, AdminRequestSchema, type AdminOp } from './admin.js';
export type { SimResult } from './store.js';
