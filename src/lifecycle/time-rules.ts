/**
 * The implicit, time-driven transitions (initialized → active at open_time, active/inactive →
 * closed at close_time), expressed through the derived transition table so that which statuses
 * they apply to is decided by the statechart alone.
 */
import type { MarketStatus } from '../domain/vocabulary.js';
import type { Micros } from '../domain/types.js';
import { MARKET_TRANSITIONS, type LifecycleEventKind } from './transition-table.js';

type TimeEventKind = Extract<LifecycleEventKind, 'open_time_reached' | 'close_time_reached'>;

function moves(status: MarketStatus, kind: TimeEventKind): MarketStatus | null {
  const to = MARKET_TRANSITIONS[status][kind];
  return to !== null && to !== status ? to : null;
}

/** The time events due now for a market, in the order they must be applied. */
export function dueTimeEvents(status: MarketStatus, openTs: Micros, closeTs: Micros, now: Micros): TimeEventKind[] {
  const due: TimeEventKind[] = [];
  let s = status;
  if (openTs <= now) {
    const to = moves(s, 'open_time_reached');
    if (to) {
      due.push('open_time_reached');
      s = to;
    }
  }
  if (closeTs <= now && moves(s, 'close_time_reached')) due.push('close_time_reached');
  return due;
}

/** The status a market must have at `now` given its last known status and its times. */
export function timeAdjustedStatus(status: MarketStatus, openTs: Micros, closeTs: Micros, now: Micros): MarketStatus {
  let s = status;
  for (const kind of dueTimeEvents(status, openTs, closeTs, now)) s = moves(s, kind) ?? s;
  return s;
}

/** The next instant at which a time transition may apply to the market, or null if none can. */
export function nextDeadline(status: MarketStatus, openTs: Micros, closeTs: Micros): Micros | null {
  if (moves(status, 'open_time_reached')) return openTs;
  if (moves(status, 'close_time_reached')) return closeTs;
  return null;
}
