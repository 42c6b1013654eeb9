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
 *    mve_filter=exclude (+ series_ticker, which then requires mve_filter=exclude).
 *  - Bodies are shaped like Kalshi's 2026 responses (test/sim/shape.test.ts holds them against
 *    the recordings in shared/real-kalshi): keys alphabetical at every depth, pages
 *    {"cursor":…,"markets":[…]} / {"cursor":…,"events":[…],"milestones":[]}, optional fields
 *    omitted rather than null until they have a value, *_dollars/*_fp strings only, microsecond
 *    created_time/updated_time/settlement_ts, sub-cent prices on deci_cent/tapered_deci_cent
 *    grids, fractional counts. REST errors are Kalshi's ErrorResponse wrapped in "error":
 *    {"error":{"code":"not_found","details":"…","message":"not found"}} (also 429 and 5xx).
 *  - Combo (multivariate, KXMVE*) markets: a share `comboShare` (default 0.1, 0 = none) whose
 *    legs are ordinary markets of the sim. GET /markets includes them unless mve_filter=exclude;
 *    GET /events leaves their events out (GET /events/multivariate has them); their lifecycle
 *    frames (type multivariate_market_lifecycle, and event_lifecycle of combo events) go out on
 *    the multivariate_market_lifecycle channel only. One subscribe may name both channels: one
 *    `subscribed` per channel, each with its own sid and seq (from 1).
 *  - Bodies are pure ASCII (non-ASCII characters are \u-escaped in the JSON) so pages can be
 *    written with the latin1 encoder straight into one Buffer.
 *  - The admin API (/_sim/*) is never authenticated and never subject to REST faults; it only
 *    answers a loopback Host (with the sim's port) and, when an Origin is sent, a loopback
 *    Origin (403 otherwise), and its POSTs need Content-Type: application/json (415 otherwise).
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
export type { SimExchangeOptions, SimRange } from './options.js';
export { SimExchangeOptionsSchema, DEFAULT_STATUS_MIX } from './options.js';
export { PRICE_LEVEL_STRUCTURES } from './store.js';
export { ADMIN_OPS, AdminRequestSchema, type AdminOp } from './admin.js';
export type { SimResult } from './store.js';
