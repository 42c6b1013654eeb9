/**
 * The status vocabulary and the derived transition table as small integers, for the hot paths
 * (store cells, lifecycle frames, deadlines): one byte per market instead of a string, and a
 * transition is one typed-array read instead of two keyed lookups and an outcome object.
 *
 * Nothing here decides anything on its own: the code table is built at module load from
 * `MARKET_TRANSITIONS` (which the market-lifecycle statechart itself produced), and the time rules
 * are the ones of src/lifecycle/time-rules.ts over that table. test/unit/fast-status.test.ts
 * proves both equal to their string forms for every status, key and time ordering.
 */
import { MARKET_STATUSES, type MarketStatus } from './vocabulary.js';
import { MARKET_TRANSITIONS, TRANSITION_KEYS, type TransitionKey } from '../lifecycle/transition-table.js';
import type { Micros, TradingStatus } from './types.js';

/** Status code → status word (the index is the code). */
export const STATUS_BY_CODE: readonly MarketStatus[] = MARKET_STATUSES;
export const STATUS_COUNT = MARKET_STATUSES.length;

const statusCodes = new Map<string, number>(MARKET_STATUSES.map((s, i) => [s, i]));

/** The code of a status word, or -1 for anything that is not one of the eight. */
export function statusCode(status: unknown): number {
  return typeof status === 'string' ? (statusCodes.get(status) ?? -1) : -1;
}

export const S_INITIALIZED = statusCode('initialized');
export const S_ACTIVE = statusCode('active');
export const S_FINALIZED = statusCode('finalized');

/** Kalshi's REST filter word per status code (the same mapping as TRADING_STATUS_BY_MARKET_STATUS). */
export const TRADING_BY_CODE: readonly TradingStatus[] = MARKET_STATUSES.map((s) => {
  switch (s) {
    case 'initialized':
      return 'unopened';
    case 'active':
      return 'open';
    case 'inactive':
      return 'paused';
    case 'finalized':
      return 'settled';
    default:
      return 'closed';
  }
});

/** Transition key code → key (the index is the code). */
export const KEY_BY_CODE: readonly TransitionKey[] = TRANSITION_KEYS;
export const KEY_COUNT = TRANSITION_KEYS.length;
const keyCodes = new Map<string, number>(TRANSITION_KEYS.map((k, i) => [k, i]));

export function keyCode(key: TransitionKey): number {
  const code = keyCodes.get(key);
  if (code === undefined) throw new Error(`unknown transition key ${key}`);
  return code;
}

export const K_ACTIVATED = keyCode('activated');
export const K_DEACTIVATED = keyCode('deactivated');
export const K_CLOSE_DATE_UPDATED = keyCode('close_date_updated');
export const K_DETERMINED = keyCode('determined');
export const K_SETTLED = keyCode('settled');
export const K_OPEN_TIME = keyCode('open_time_reached');
export const K_CLOSE_TIME = keyCode('close_time_reached');
/** `observed:<status>` for each status code. */
export const K_OBSERVED: readonly number[] = MARKET_STATUSES.map((s) => keyCode(`observed:${s}`));

/** The table's "rejected" (null) as a code. */
export const REJECTED = 255;

/** NEXT[status * KEY_COUNT + key]: the status after the event (the same one for an accepted no-op), or REJECTED. */
const NEXT = new Uint8Array(STATUS_COUNT * KEY_COUNT);
for (let s = 0; s < STATUS_COUNT; s++) {
  const row = MARKET_TRANSITIONS[STATUS_BY_CODE[s] as MarketStatus];
  for (let k = 0; k < KEY_COUNT; k++) {
    const to = row[KEY_BY_CODE[k] as TransitionKey];
    NEXT[s * KEY_COUNT + k] = to === null ? REJECTED : statusCode(to);
  }
}

/** The status code after event `key` in status `s`, or REJECTED. */
export function nextStatus(s: number, key: number): number {
  return NEXT[s * KEY_COUNT + key] as number;
}

/** The status a time event moves `s` to, or -1 when it does not move it (moves() of time-rules.ts). */
function moves(s: number, key: number): number {
  const to = NEXT[s * KEY_COUNT + key] as number;
  return to !== REJECTED && to !== s ? to : -1;
}

/** dueTimeEvents(...).length > 0, without the array. */
export function timeEventsDue(s: number, openTs: Micros, closeTs: Micros, now: Micros): boolean {
  if (openTs <= now && moves(s, K_OPEN_TIME) >= 0) return true;
  return closeTs <= now && moves(s, K_CLOSE_TIME) >= 0;
}

/** Whether open_time_reached is due now (the first element of dueTimeEvents). */
export function openDue(s: number, openTs: Micros, now: Micros): boolean {
  return openTs <= now && moves(s, K_OPEN_TIME) >= 0;
}

/** Whether close_time_reached is due now for a market in status `s` (after any open move). */
export function closeDue(s: number, closeTs: Micros, now: Micros): boolean {
  return closeTs <= now && moves(s, K_CLOSE_TIME) >= 0;
}

/** timeAdjustedStatus of time-rules.ts over codes. */
export function timeAdjustedCode(s: number, openTs: Micros, closeTs: Micros, now: Micros): number {
  let cur = s;
  if (openTs <= now) {
    const to = moves(cur, K_OPEN_TIME);
    if (to >= 0) cur = to;
  }
  if (closeTs <= now) {
    const to = moves(cur, K_CLOSE_TIME);
    if (to >= 0) cur = to;
  }
  return cur;
}

/** nextDeadline of time-rules.ts over codes; NaN for "none". */
export function nextDeadlineCode(s: number, openTs: Micros, closeTs: Micros): Micros {
  if (moves(s, K_OPEN_TIME) >= 0) return openTs;
  if (moves(s, K_CLOSE_TIME) >= 0) return closeTs;
  return Number.NaN;
}
