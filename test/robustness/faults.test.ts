/**
 * Robustness: fast-check generates sequences of lifecycle operations, REST reconciles and faults
 * (duplicates, late/reordered frames, seq gaps, disconnects, 429/5xx/503, malformed frames,
 * unknown event types, unknown tickers) against the simulator over real sockets. After each
 * sequence, once the faults are lifted and the registry has reconciled, it must equal the
 * exchange's truth; every change it emitted must be a legal step; nothing may crash it.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MARKET_TRANSITIONS } from '../../src/lifecycle/transition-table.js';
import type { MarketChange } from '../../src/domain/types.js';
import type { SimFrame } from '../../src/sim/index.js';
import { converge, replayChanges, startHarness, waitUntil, type Harness } from '../integration/helpers.js';

type Action =
  | { kind: 'op'; count: number }
  | { kind: 'reconcile' }
  | { kind: 'duplicate'; n: number }
  | { kind: 'late'; back: number }
  | { kind: 'gap'; n: number }
  | { kind: 'disconnect' }
  | { kind: 'rest429'; n: number }
  | { kind: 'rest5xx'; n: number }
  | { kind: 'maintenance' }
  | { kind: 'garbage'; text: string }
  | { kind: 'unknownEvent' }
  | { kind: 'unknownTicker' }
  | { kind: 'terminalError' }
  | { kind: 'malformed'; rate: number }
  | { kind: 'pause'; ms: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('op' as const), count: fc.integer({ min: 1, max: 25 }) }) },
  fc.record({ kind: fc.constant('reconcile' as const) }),
  fc.record({ kind: fc.constant('duplicate' as const), n: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('late' as const), back: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ kind: fc.constant('gap' as const), n: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('disconnect' as const) }),
  fc.record({ kind: fc.constant('rest429' as const), n: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('rest5xx' as const), n: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('maintenance' as const) }),
  fc.record({ kind: fc.constant('garbage' as const), text: fc.oneof(fc.string(), fc.json(), fc.constant('{"type":"market_lifecycle_v2"')) }),
  fc.record({ kind: fc.constant('unknownEvent' as const) }),
  fc.record({ kind: fc.constant('unknownTicker' as const) }),
  fc.record({ kind: fc.constant('terminalError' as const) }),
  fc.record({ kind: fc.constant('malformed' as const), rate: fc.double({ min: 0.01, max: 0.3, noNaN: true }) }),
  fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 30 }) }),
);

function expectLegal(changes: readonly MarketChange[]): void {
  for (const c of changes) {
    if (c.eventType === 'created') continue;
    expect(MARKET_TRANSITIONS[c.oldStatus][`observed:${c.newStatus}`], `${c.ticker} ${c.oldStatus}→${c.newStatus}`).toBe(c.newStatus);
    expect(c.eventType === 'settled').toBe(c.newStatus === 'finalized');
    if (c.eventType === 'settled') expect(c.market).toBeUndefined();
    else expect(c.market.marketStatus).toBe(c.newStatus);
  }
  replayChanges(changes);
}

async function perform(h: Harness, a: Action, sent: SimFrame[]): Promise<void> {
  const { sim, registry } = h;
  switch (a.kind) {
    case 'op':
      for (let i = 0; i < a.count; i++) sent.push(...(sim.randomOp()?.frames ?? []));
      break;
    case 'reconcile':
      registry.reconcileNow();
      break;
    case 'duplicate':
      sim.duplicateNext(a.n);
      break;
    case 'late': {
      // An old frame delivered again, late and unsequenced (as a reordering would look).
      const frame = sent[sent.length - a.back];
      if (frame) sim.sendRaw(JSON.stringify({ type: frame.type, sid: 1, msg: frame.msg }));
      break;
    }
    case 'gap':
      sim.skipSeq(a.n);
      break;
    case 'disconnect':
      sim.dropConnections();
      break;
    case 'rest429':
      sim.rest429(a.n);
      break;
    case 'rest5xx':
      sim.rest5xx(a.n, 503);
      break;
    case 'maintenance':
      sim.maintenance(true);
      registry.reconcileNow();
      await new Promise((r) => setTimeout(r, 20));
      sim.maintenance(false);
      break;
    case 'garbage':
      sim.sendRaw(a.text);
      break;
    case 'unknownEvent':
      sim.sendRaw(JSON.stringify({ type: 'market_lifecycle_v2', sid: 1, msg: { market_ticker: sim.tickers()[0], event_type: 'fractional_trading_updated' } }));
      break;
    case 'unknownTicker':
      sim.sendRaw(JSON.stringify({ type: 'market_lifecycle_v2', sid: 1, msg: { market_ticker: 'NOPE-26NOV24-T1', event_type: 'activated' } }));
      break;
    case 'terminalError':
      sim.wsError(25);
      break;
    case 'malformed':
      // Broken records on REST pages while reconciling: quarantined, the rest of the page kept.
      sim.malformRecords(a.rate);
      registry.reconcileNow();
      await new Promise((r) => setTimeout(r, 20));
      break;
    case 'pause':
      await new Promise((r) => setTimeout(r, a.ms));
      break;
  }
}

describe('robustness under generated faults', () => {
  it('converges to the exchange with only legal changes, whatever the sequence', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 25 }), fc.integer({ min: 1, max: 1000 }), async (actions, seed) => {
        const h = await startHarness({ markets: 150, seed }, { unknownTickerRetryMs: 0 }, { collect: true });
        try {
          h.registry.start();
          await h.registry.synced;
          await waitUntil('lifecycle subscription', () => h.registry.stats().lifecycle.subscriptions >= 1);
          const sent: SimFrame[] = [];
          for (const a of actions) await perform(h, a, sent);
          h.sim.clearFaults();
          h.registry.reconcileNow();
          await converge(h, 15_000);
          expectLegal(h.changes);
          const final = replayChanges(h.changes);
          for (const [ticker, status] of final) expect(h.registry.getMarket(ticker)?.marketStatus).toBe(status);
          expect(h.registry.summary.getSnapshot().context.phase.startsWith('running')).toBe(true);
        } finally {
          await h.close();
        }
      }),
      { numRuns: Number(process.env.ROBUSTNESS_RUNS ?? 12), endOnFailure: true },
    );
  }, 240_000);
});
