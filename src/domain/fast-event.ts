/**
 * The hot path of a REST event record (GET /events pages: ~180k events next to 1M markets):
 * validate and map in one pass to a `MarketEvent`, as fast-market.ts does for markets. It
 * certifies or declines; `parseEventRecord` asks zod (KalshiEventCoreSchema + eventFromRecord)
 * for every record it declines. Rules mirrored: only event_ticker is required; series_ticker,
 * title, sub_title, mutually_exclusive and last_updated_ts may be absent or null; a present one
 * must have its type (a date the canonical form); a well-formed but impossible date maps to 0;
 * tickers and texts within the limits of limits.ts.
 * test/perf-equivalence/event-record.test.ts holds it to the zod route.
 */
import { fastIsoMicros } from './fast-scalars.js';
import { MAX_TEXT_LENGTH, MAX_TICKER_LENGTH } from './limits.js';
import type { MarketEvent } from './types.js';

/** A nullish string of at most `max` characters: the string, null for absent/null, false otherwise. */
function optString(v: unknown, max: number): string | null | false {
  if (v === undefined || v === null) return null;
  return typeof v === 'string' && v.length <= max ? v : false;
}

/** Consecutive events of one series (the usual order of GET /events) share one series string. */
let lastSeries = '';

/** The MarketEvent parseEventRecord gives for `raw`, when this path can vouch for it. */
export function fastEventFromRecord(raw: unknown): MarketEvent | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  const eventTicker = r.event_ticker;
  if (typeof eventTicker !== 'string' || eventTicker.length === 0 || eventTicker.length > MAX_TICKER_LENGTH) return undefined;
  const series = optString(r.series_ticker, MAX_TICKER_LENGTH);
  const title = optString(r.title, MAX_TEXT_LENGTH);
  const subTitle = optString(r.sub_title, MAX_TEXT_LENGTH);
  if (series === false || title === false || subTitle === false) return undefined;
  const me = r.mutually_exclusive;
  if (me !== undefined && me !== null && typeof me !== 'boolean') return undefined;
  const updated = r.last_updated_ts;
  let updatedAt = 0;
  if (updated !== undefined && updated !== null) {
    if (typeof updated !== 'string') return undefined;
    updatedAt = fastIsoMicros(updated);
    if (Number.isNaN(updatedAt)) return undefined;
  }
  let seriesTicker = series ?? '';
  if (seriesTicker === lastSeries) seriesTicker = lastSeries;
  else lastSeries = seriesTicker;
  return {
    eventTicker,
    seriesTicker,
    title: title ?? '',
    subTitle: subTitle ?? '',
    mutuallyExclusive: me ?? false,
    updatedAt,
  };
}
