/**
 * The market-lifecycle statechart: the single source of truth for which status transitions of a
 * Kalshi market are legal (shared/kalshi-api.md §8.2).
 *
 * It knows three kinds of events:
 *  - explicit Kalshi `market_lifecycle_v2` events: activated, deactivated, close_date_updated,
 *    determined, settled (`created` is not an event here: creating a market is starting the
 *    chart in `initialized`);
 *  - implicit time events Kalshi sends nothing for: open_time_reached (initialized → active) and
 *    close_time_reached (active/inactive → closed), fired by the registry's deadline scheduler;
 *  - `status_observed`: the status REST reports. It may skip states the registry never saw (a
 *    missed WS event, a dispute, which has no WS event at all), so it moves to any status that is
 *    reachable from the current one along legal transitions, and never backwards.
 *
 * Duplicates of an event that would lead to the current status (a second `activated` while
 * active, say) and `close_date_updated` before settlement are accepted without a status change:
 * they are self-transitions (a target, so `snapshot.can()` is true, but no exit or re-entry),
 * because redelivery after a reconnect is normal.
 * Everything else is rejected: `snapshot.can(event)` is false and the registry counts it.
 *
 * At 1M markets the registry does not run one actor per market (≈3.9 KB and 53 s for 1M on
 * Node 20); it uses `MARKET_TRANSITIONS` from src/lifecycle/transition-table.ts, which is
 * computed from this machine once at start-up. Nothing else encodes these rules.
 */
import { setup } from 'xstate';
import type { MarketStatus } from '../src/kalshi/schemas.js';

/** Events of Kalshi's `market_lifecycle_v2` channel that move a market's status. */
type ExplicitLifecycleEvent =
  | { readonly type: 'activated' }
  | { readonly type: 'deactivated' }
  | { readonly type: 'close_date_updated' }
  | { readonly type: 'determined' }
  | { readonly type: 'settled' };

/** Transitions that happen at a market's open/close time, with no WebSocket message. */
type TimeLifecycleEvent = { readonly type: 'open_time_reached' } | { readonly type: 'close_time_reached' };

/** The status a REST read reported for the market. */
type StatusObservedEvent = { readonly type: 'status_observed'; readonly status: MarketStatus };

export type MarketLifecycleEvent = ExplicitLifecycleEvent | TimeLifecycleEvent | StatusObservedEvent;

export interface MarketLifecycleContext {
  readonly ticker: string;
}

/** Guarded transitions for `status_observed`: one per status reachable from the state. */
function observe(self: MarketStatus, ...reachable: MarketStatus[]) {
  // The same status again is accepted and changes nothing (a self-target, so `can()` is true).
  return [self, ...reachable].map((status) => ({
    guard: { type: 'observedIs' as const, params: { status } },
    target: status,
  }));
}

export const marketLifecycleMachine = setup({
  types: {
    context: {} as MarketLifecycleContext,
    input: {} as { ticker: string },
    events: {} as MarketLifecycleEvent,
  },
  guards: {
    observedIs: ({ event }, params: { status: MarketStatus }) => event.type === 'status_observed' && event.status === params.status,
  },
}).createMachine({
  id: 'marketLifecycle',
  context: ({ input }) => ({ ticker: input.ticker }),
  initial: 'initialized',
  states: {
    initialized: {
      description: 'Exists, not yet tradable; opens at open_time.',
      on: {
        open_time_reached: { target: 'active' },
        close_date_updated: { target: 'initialized', description: 'accepted, no status change' },
        status_observed: observe('initialized', 'active', 'inactive', 'closed', 'determined', 'disputed', 'amended', 'finalized'),
      },
    },
    active: {
      description: 'Open for trading.',
      tags: ['tradable'],
      on: {
        deactivated: { target: 'inactive' },
        close_time_reached: { target: 'closed' },
        activated: { target: 'active', description: 'accepted, no status change' },
        close_date_updated: { target: 'active', description: 'accepted, no status change' },
        status_observed: observe('active', 'inactive', 'closed', 'determined', 'disputed', 'amended', 'finalized'),
      },
    },
    inactive: {
      description: 'Paused by the exchange; not closed.',
      on: {
        activated: { target: 'active' },
        close_time_reached: { target: 'closed' },
        deactivated: { target: 'inactive', description: 'accepted, no status change' },
        close_date_updated: { target: 'inactive', description: 'accepted, no status change' },
        status_observed: observe('inactive', 'active', 'closed', 'determined', 'disputed', 'amended', 'finalized'),
      },
    },
    closed: {
      description: 'close_time passed; waiting for determination. Reopens if the close date moves out and Kalshi sends activated.',
      on: {
        activated: { target: 'active' },
        determined: { target: 'determined' },
        close_date_updated: { target: 'closed', description: 'accepted, no status change' },
        status_observed: observe('closed', 'active', 'inactive', 'determined', 'disputed', 'amended', 'finalized'),
      },
    },
    determined: {
      description: 'Result known; settlement timer running; may be disputed.',
      on: {
        settled: { target: 'finalized' },
        determined: { target: 'determined', description: 'accepted, no status change' },
        status_observed: observe('determined', 'disputed', 'amended', 'finalized'),
      },
    },
    disputed: {
      description: 'Result challenged (REST only: Kalshi sends no WS event).',
      on: {
        // No `determined` here: Kalshi does not document a WS event for re-determination, and a
        // `determined` arriving now is far more likely a late copy of the original one (read
        // after REST already showed the dispute); amended is reached through REST.
        // Amendment has no WS event either: a settlement arriving now means it was amended.
        settled: { target: 'finalized' },
        status_observed: observe('disputed', 'amended', 'finalized'),
      },
    },
    amended: {
      description: 'Re-determined after a dispute; settlement timer restarted.',
      on: {
        settled: { target: 'finalized' },
        determined: { target: 'amended', description: 'accepted, no status change' },
        status_observed: observe('amended', 'finalized'),
      },
    },
    finalized: {
      description: 'Settled and paid out. Terminal.',
      type: 'final',
    },
  },
});
