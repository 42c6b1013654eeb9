/**
 * Transition validation for the market-lifecycle statechart.
 *
 * KALSHI_TABLE below is written from shared/kalshi-api.md §8.2 on purpose, independently of the
 * machine: it is the specification the machine is checked against, not a second implementation
 * used at run time.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createActor } from 'xstate';
import { getShortestPaths, getSimplePaths } from '@xstate/graph';
import { marketLifecycleMachine, type MarketLifecycleEvent } from '../../machines/market-lifecycle.js';
import { MARKET_STATUSES, type MarketStatus } from '../../src/domain/vocabulary.js';
import {
  TRADABLE_STATUSES,
  LIFECYCLE_EVENT_KINDS,
  MARKET_TRANSITIONS,
  TRANSITION_KEYS,
  applyTransition,
  eventForKey,
  type LifecycleEventKind,
} from '../../src/lifecycle/transition-table.js';

/** §8.2 rows as (from, event) → to. `event` is the WS event or the implicit time trigger. */
const KALSHI_TABLE: ReadonlyArray<readonly [MarketStatus, LifecycleEventKind, MarketStatus]> = [
  ['initialized', 'open_time_reached', 'active'], // #1
  ['active', 'deactivated', 'inactive'], // #2
  ['inactive', 'activated', 'active'], // #3
  ['active', 'close_time_reached', 'closed'], // #4
  ['inactive', 'close_time_reached', 'closed'], // #5
  ['initialized', 'close_date_updated', 'initialized'], // #6
  ['active', 'close_date_updated', 'active'], // #6
  ['inactive', 'close_date_updated', 'inactive'], // #6
  ['closed', 'close_date_updated', 'closed'], // #6
  ['closed', 'activated', 'active'], // #7 reopen
  ['closed', 'determined', 'determined'], // #8
  ['determined', 'settled', 'finalized'], // #11
  ['amended', 'settled', 'finalized'], // #11
  // Amendment (#10) has no WS event, so a settlement of a disputed market implies it happened.
  ['disputed', 'settled', 'finalized'],
  // Redelivered duplicates: accepted, no change.
  ['active', 'activated', 'active'],
  ['inactive', 'deactivated', 'inactive'],
  ['determined', 'determined', 'determined'],
  ['amended', 'determined', 'amended'],
];
/** §8.2 rows 9 and 10: transitions with no WS event, seen only through REST. */
const REST_ONLY_EDGES: ReadonlyArray<readonly [MarketStatus, MarketStatus]> = [
  ['determined', 'disputed'],
  ['disputed', 'amended'],
];

function expectedExplicit(from: MarketStatus, kind: LifecycleEventKind): MarketStatus | null {
  return KALSHI_TABLE.find(([f, k]) => f === from && k === kind)?.[2] ?? null;
}

/** Statuses reachable from `from` in one or more legal steps of the specification. */
function reachable(from: MarketStatus): Set<MarketStatus> {
  const edges = [...KALSHI_TABLE.map(([f, , t]) => [f, t] as const), ...REST_ONLY_EDGES];
  const seen = new Set<MarketStatus>();
  const queue = [from];
  while (queue.length) {
    const s = queue.shift() as MarketStatus;
    for (const [f, t] of edges) {
      if (f === s && !seen.has(t)) {
        seen.add(t);
        queue.push(t);
      }
    }
  }
  return seen;
}

function runActor(events: readonly MarketLifecycleEvent[]) {
  const actor = createActor(marketLifecycleMachine, { input: { ticker: 'T' } }).start();
  for (const e of events) actor.send(e);
  const value = actor.getSnapshot().value;
  actor.stop();
  return value;
}

describe('market-lifecycle statechart', () => {
  it('has exactly the eight Kalshi statuses, starting at initialized, with finalized final', () => {
    expect(Object.keys(marketLifecycleMachine.states).sort()).toEqual([...MARKET_STATUSES].sort());
    expect(createActor(marketLifecycleMachine, { input: { ticker: 'T' } }).getSnapshot().value).toBe('initialized');
    expect(marketLifecycleMachine.states.finalized?.type).toBe('final');
  });

  describe('every (status, lifecycle event) pair matches §8.2', () => {
    for (const from of MARKET_STATUSES) {
      for (const kind of LIFECYCLE_EVENT_KINDS) {
        const expected = expectedExplicit(from, kind);
        it(`${from} + ${kind} → ${expected ?? 'rejected'}`, () => {
          expect(MARKET_TRANSITIONS[from][kind]).toBe(expected);
        });
      }
    }
  });

  describe('every (status, REST observation) pair moves forward along legal paths only', () => {
    for (const from of MARKET_STATUSES) {
      const forward = reachable(from);
      for (const observed of MARKET_STATUSES) {
        // Observing the status already held is accepted, except in the final state, which by
        // definition accepts no event (the registry does not send one when REST agrees).
        const expected = observed === from ? (from === 'finalized' ? null : from) : forward.has(observed) ? observed : null;
        it(`${from} + observed ${observed} → ${expected ?? 'rejected'}`, () => {
          expect(MARKET_TRANSITIONS[from][`observed:${observed}`]).toBe(expected);
        });
      }
    }
    it('never goes back to initialized, never leaves settlement for trading, never leaves finalized', () => {
      for (const from of MARKET_STATUSES) {
        if (from !== 'initialized') expect(MARKET_TRANSITIONS[from]['observed:initialized']).toBeNull();
      }
      for (const from of ['determined', 'disputed', 'amended'] as const) {
        for (const trading of ['active', 'inactive', 'closed'] as const) expect(MARKET_TRANSITIONS[from][`observed:${trading}`]).toBeNull();
      }
      expect(Object.values(MARKET_TRANSITIONS.finalized).every((to) => to === null)).toBe(true);
    });
  });

  it("the chart's tradable tag marks active alone (getActiveMarkets returns those)", () => {
    expect([...TRADABLE_STATUSES]).toEqual(['active']);
  });

  it('the derived table equals a live actor for every (status, event) pair', () => {
    for (const from of MARKET_STATUSES) {
      const path = getShortestPaths(marketLifecycleMachine, { events: TRANSITION_KEYS.map(eventForKey) }).find((p) => p.state.value === from);
      expect(path, `a path to ${from}`).toBeDefined();
      const prefix = path!.steps.map((s) => s.event);
      for (const key of TRANSITION_KEYS) {
        const actor = createActor(marketLifecycleMachine, { input: { ticker: 'T' } }).start();
        for (const e of prefix) actor.send(e);
        expect(actor.getSnapshot().value).toBe(from);
        const can = actor.getSnapshot().can(eventForKey(key));
        // A finalized actor is done: an event sent to it changes nothing (and XState warns).
        if (actor.getSnapshot().status === 'active') actor.send(eventForKey(key));
        const after = actor.getSnapshot().value;
        actor.stop();
        const row = MARKET_TRANSITIONS[from][key];
        if (row === null) {
          expect(can, `${from}+${key} is rejected`).toBe(false);
          expect(after, `${from}+${key} leaves the actor where it was`).toBe(from);
        } else {
          expect(after, `${from}+${key}`).toBe(row);
        }
      }
    }
  });

  it('model-based paths: every status is reachable from initialized and every simple path ends legally', () => {
    const events = TRANSITION_KEYS.map(eventForKey);
    const shortest = getShortestPaths(marketLifecycleMachine, { events });
    expect(new Set(shortest.map((p) => p.state.value))).toEqual(new Set(MARKET_STATUSES));
    const toFinal = getSimplePaths(marketLifecycleMachine, { events, toState: (s) => s.value === 'finalized' });
    expect(toFinal.length).toBeGreaterThan(10);
    for (const path of toFinal) {
      // Replay each path through the table: every step must be legal and land where the machine did.
      let status: MarketStatus = 'initialized';
      for (const step of path.steps) {
        if ((step.event as { type: string }).type === 'xstate.init') continue;
        const e = step.event;
        const key = e.type === 'status_observed' ? (`observed:${e.status}` as const) : e.type;
        const outcome = applyTransition(status, key);
        expect(outcome.kind).not.toBe('rejected');
        status = outcome.kind === 'changed' ? outcome.to : status;
        expect(status).toBe(step.state.value);
      }
      expect(status).toBe('finalized');
    }
    // The canonical life: open, pause, resume, close, reopen, close, determine, dispute, amend, settle.
    expect(
      runActor([
        { type: 'open_time_reached' },
        { type: 'deactivated' },
        { type: 'activated' },
        { type: 'close_time_reached' },
        { type: 'close_date_updated' },
        { type: 'activated' },
        { type: 'close_time_reached' },
        { type: 'determined' },
        { type: 'status_observed', status: 'disputed' },
        { type: 'status_observed', status: 'amended' },
        { type: 'settled' },
      ]),
    ).toBe('finalized');
  });

  it('random event sequences never reach an illegal state and only ever take table steps (property)', () => {
    const anyEvent = fc.constantFrom(...TRANSITION_KEYS);
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 40 }), (keys) => {
        const actor = createActor(marketLifecycleMachine, { input: { ticker: 'T' } }).start();
        let expected: MarketStatus = 'initialized';
        for (const key of keys) {
          const before = actor.getSnapshot().value;
          if (actor.getSnapshot().status === 'active') actor.send(eventForKey(key)); // a finalized actor is done
          const after = actor.getSnapshot().value;
          expect(MARKET_STATUSES).toContain(after);
          const outcome = applyTransition(expected, key);
          if (outcome.kind === 'changed') {
            expect(reachable(before).has(after)).toBe(true);
            expected = outcome.to;
          }
          expect(after).toBe(expected);
        }
        actor.stop();
      }),
      { numRuns: 300 },
    );
  });
});
