/**
 * Length limits on what Kalshi (or anything posing as it) sends, and the one helper that quotes
 * untrusted text in logs and error messages.
 *
 * Why: without limits, six WebSocket frames with 1 MiB tickers produced 56.6 MB of log output and
 * 36 requests to `GET /markets/<1 MiB>` (issue #10, item 7). Every limit is generous — many
 * times the longest value in the recorded real Kalshi data (shared/real-kalshi) — so that no real
 * record is refused, while a hostile or broken one is quarantined (counted, logged truncated)
 * before it can be stored, fetched or echoed.
 *
 * The zod schemas (src/kalshi/schemas.ts) and the hand-written fast paths (fast-market.ts,
 * fast-event.ts, fast-frame.ts) apply the same limits; test/perf-equivalence/ holds them equal.
 * String lengths are JavaScript lengths (UTF-16 code units), as zod's `.max()` counts them.
 */

/**
 * Longest market, event, series or collection ticker accepted (a frame's `market_ticker`, a
 * record's `ticker` / `event_ticker` / `series_ticker` …). The longest real ticker is 57
 * characters (a combo, `KXMVESPORTSMULTIGAMEEXTENDED-S2025…`); a longer one is quarantined and
 * never fetched with GET /markets/{ticker}.
 */
export const MAX_TICKER_LENGTH = 256;

/**
 * Longest title, subtitle or name (`title`, `yes_sub_title`, `no_sub_title`, `sub_title`,
 * `subtitle`, `name`). The longest real one is 473 characters (a combo's title lists its legs).
 */
export const MAX_TEXT_LENGTH = 16 * 1024;

/** Longest rules text (`rules_primary`, `rules_secondary`). The longest real one is 901 characters. */
export const MAX_RULES_LENGTH = 64 * 1024;

/**
 * Longest word of an open enumeration or a name the registry keeps or compares: `result`,
 * `market_type`, `strike_type`, `price_level_structure`, a subscription's channel. Real values
 * are at most ~20 characters (`tapered_deci_cent`).
 */
export const MAX_WORD_LENGTH = 256;

/**
 * Largest WebSocket message the lifecycle socket reads, in bytes (ws `maxPayload`). The largest
 * real lifecycle frame is ~1.6 KB; a `created` frame with every text at its limit stays under
 * 200 KB. A larger message makes `ws` close the connection with 1009 (message too big): the
 * socket reconnects with its usual backoff, the frame is counted as quarantined and logged once
 * per connection, and the resubscription triggers a reconcile (Kalshi has no replay).
 */
export const MAX_FRAME_BYTES = 1024 * 1024;

/**
 * Untrusted text up to this length is quoted whole in logs; longer text is cut (see
 * `truncateForLog`). At least MAX_TICKER_LENGTH, so that every valid ticker is shown whole.
 */
export const LOG_QUOTE_MAX = 256;

/** How many leading characters of an over-long input a log line keeps. */
export const LOG_QUOTE_HEAD = 64;

/**
 * Untrusted text for a log line or an error message: unchanged up to `LOG_QUOTE_MAX` characters
 * (so every valid ticker is shown whole), else its first `LOG_QUOTE_HEAD` characters followed by
 * `…(<length> chars)`, e.g. `KKKK…(1048576 chars)`. Every path that echoes a ticker or raw input
 * goes through here, so a hostile input costs a bounded line.
 */
export function truncateForLog(text: string): string {
  if (text.length <= LOG_QUOTE_MAX) return text;
  return `${text.slice(0, LOG_QUOTE_HEAD)}…(${text.length} chars)`;
}
