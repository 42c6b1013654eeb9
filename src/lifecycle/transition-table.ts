/**
 * The market-lifecycle statechart flattened into a lookup table, so that the registry can hold
 * 1M markets as one status string each and still decide every transition exactly as the chart
 * would. The table is computed from `marketLifecycleMachine` at module load by asking the machine
 * itself (`snapshot.can` and xstate's pure `transition`) for every (status, event) pair; the tests prove
 * the two agree. The rules are never written down a second time.
 */
import { transition } from 'xstate';
import { marketLifecycleMachine, type MarketLifecycleEvent } from '../../machines/market-lifecycle.js';
import { MARKET_STATUSES, type MarketStatus } from '../domain/vocabulary.js';

/** Every event kind of the chart that is not a REST observation. */
export const LIFECYCLE_EVENT_KINDS = [
  'activated',
  'deactivated',
  'close_date_updated',
  'determined',
  'settled',
  'open_time_reached',
  'close_time_reached',
] as const;
export type LifecycleEventKind = (typeof LIFECYCLE_EVENT_KINDS)[number];

/** A table key: an event kind, or `observed:<status>` for a REST observation of that status. */
export type TransitionKey = LifecycleEventKind | `observed:${MarketStatus}`;

export const TRANSITION_KEYS: readonly TransitionKey[] = [...LIFECYCLE_EVENT_KINDS, ...MARKET_STATUSES.map((s) => `observed:${s}` as const)];

/** The status after the event, the same status for an accepted no-op, or null when illegal. */
export type TransitionTable = Readonly<Record<MarketStatus, Readonly<Record<TransitionKey, MarketStatus | null>>>>;

export function eventForKey(key: TransitionKey): MarketLifecycleEvent {
  if (key.startsWith('observed:')) {
    return { type: 'status_observed', status: key.slice('observed:'.length) as MarketStatus };
  }
  return { type: key as LifecycleEventKind };
}

export function keyForEvent(event: MarketLifecycleEvent): TransitionKey {
  return event.type === 'status_observed' ? `observed:${event.status}` : event.type;
}

/** Asks the machine what happens to a market in `status` on `event` (null = rejected). */
export function machineOutcome(status: MarketStatus, event: MarketLifecycleEvent): MarketStatus | null {
  const snapshot = marketLifecycleMachine.resolveState({ value: status, context: { ticker: '' } });
  if (!snapshot.can(event)) return null;
  const [next] = transition(marketLifecycleMachine, snapshot, event);
  return next.value;
}

/**
 * The statuses the chart tags `tradable` (the market's state node says so, not a list kept here):
 * what `getActiveMarkets()` returns.
 */
export const TRADABLE_STATUSES: ReadonlySet<MarketStatus> = new Set(
  MARKET_STATUSES.filter((status) => marketLifecycleMachine.resolveState({ value: status, context: { ticker: '' } }).hasTag('tradable')),
);

export function deriveTransitionTable(): TransitionTable {
  const table = {} as Record<MarketStatus, Record<TransitionKey, MarketStatus | null>>;
  for (const status of MARKET_STATUSES) {
    const row = {} as Record<TransitionKey, MarketStatus | null>;
    for (const key of TRANSITION_KEYS) row[key] = machineOutcome(status, eventForKey(key));
    table[status] = Object.freeze(row);
  }
  return Object.freeze(table);
}

export const MARKET_TRANSITIONS: TransitionTable = deriveTransitionTable();

export type TransitionOutcome =
  | { readonly kind: 'changed'; readonly from: MarketStatus; readonly to: MarketStatus }
  | { readonly kind: 'unchanged'; readonly status: MarketStatus }
  | { readonly kind: 'rejected'; readonly from: MarketStatus; readonly key: TransitionKey };

/** Applies one event to a status through the derived table. Pure; O(1). */
export function applyTransition(status: MarketStatus, key: TransitionKey): TransitionOutcome {
  const to = MARKET_TRANSITIONS[status][key];
  if (to === null) return { kind: 'rejected', from: status, key };
  if (to === status) return { kind: 'unchanged', status };
  return { kind: 'changed', from: status, to };
}

/** The transition key for a REST observation of `status`. */
export function observedKey(status: MarketStatus): TransitionKey {
  return `observed:${status}`;
}
