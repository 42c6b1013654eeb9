import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_REQUEST_COST, RATE_LIMIT_TIERS, TokenBucket, UNAUTHENTICATED_LIMIT, UNLIMITED, createRateLimiter } from '../../src/kalshi/rate-limiter.js';
import { SimulatedClock } from 'xstate';
import { TestClock, flush } from './rest-test-clock.js';

function track(p: Promise<void>): { state: () => 'pending' | 'resolved' | 'rejected'; error: () => unknown } {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  let error: unknown;
  p.then(
    () => (state = 'resolved'),
    (e: unknown) => {
      state = 'rejected';
      error = e;
    },
  );
  return { state: () => state, error: () => error };
}

describe('RATE_LIMIT_TIERS', () => {
  it('matches the Read budgets of §9 (2 s capacity for basic/advanced, 1 s above)', () => {
    expect(RATE_LIMIT_TIERS.basic).toEqual({ refillPerSec: 200, capacity: 400 });
    expect(RATE_LIMIT_TIERS.advanced).toEqual({ refillPerSec: 300, capacity: 600 });
    expect(RATE_LIMIT_TIERS.expert).toEqual({ refillPerSec: 600, capacity: 600 });
    expect(RATE_LIMIT_TIERS.premier).toEqual({ refillPerSec: 1000, capacity: 1000 });
    expect(RATE_LIMIT_TIERS.paragon).toEqual({ refillPerSec: 2000, capacity: 2000 });
    expect(RATE_LIMIT_TIERS.prime).toEqual({ refillPerSec: 4000, capacity: 4000 });
    expect(RATE_LIMIT_TIERS.prestige).toEqual({ refillPerSec: 6000, capacity: 6000 });
    expect(DEFAULT_REQUEST_COST).toBe(10);
    expect(UNAUTHENTICATED_LIMIT.refillPerSec / DEFAULT_REQUEST_COST).toBe(20);
  });
});

describe('TokenBucket', () => {
  it('refills continuously at refillPerSec', async () => {
    const clock = new TestClock();
    const b = new TokenBucket({ refillPerSec: 10, capacity: 10, clock });
    expect(b.tryAcquire(10)).toBe(true);
    expect(b.tryAcquire(1)).toBe(false);
    await clock.advance(99);
    expect(b.tryAcquire(1)).toBe(false);
    await clock.advance(1);
    expect(b.tryAcquire(1)).toBe(true);
    await clock.advance(500);
    expect(b.available()).toBeCloseTo(5, 9);
  });

  it('allows a burst of at most capacity after a long idle period', async () => {
    const clock = new TestClock();
    const b = new TokenBucket({ refillPerSec: 200, capacity: 400, clock });
    expect(b.tryAcquire(400)).toBe(true);
    await clock.advance(3_600_000);
    expect(b.available()).toBe(400);
    let granted = 0;
    while (b.tryAcquire(10)) granted++;
    expect(granted).toBe(40);
  });

  it('acquire waits exactly until enough tokens have refilled, with one sleep', async () => {
    const clock = new TestClock();
    const b = new TokenBucket({ refillPerSec: 10, capacity: 10, initialTokens: 0, clock });
    const p = track(b.acquire(5));
    await clock.advance(499);
    expect(p.state()).toBe('pending');
    await clock.advance(1);
    expect(p.state()).toBe('resolved');
    expect(clock.delays.length).toBe(1); // no busy loop / polling
    expect(clock.pendingTimers).toBe(0);
  });

  it('serves waiters in FIFO order: a small request never overtakes a large one', async () => {
    const clock = new TestClock();
    const b = new TokenBucket({ refillPerSec: 10, capacity: 10, initialTokens: 0, clock });
    const order: string[] = [];
    const big = b.acquire(8).then(() => order.push('big'));
    const small = b.acquire(1).then(() => order.push('small'));
    await clock.advance(100); // 1 token: enough for `small`, but `big` is first
    expect(order).toEqual([]);
    expect(b.tryAcquire(1)).toBe(false); // tryAcquire does not jump the queue either
    await clock.advance(800);
    await big;
    await clock.advance(100);
    await small;
    expect(order).toEqual(['big', 'small']);
  });

  it('rejects promptly with the signal reason on abort, and lets the next waiter proceed', async () => {
    const clock = new TestClock();
    const b = new TokenBucket({ refillPerSec: 10, capacity: 10, initialTokens: 2, clock });
    const ctrl = new AbortController();
    const head = track(b.acquire(10, ctrl.signal));
    const next = track(b.acquire(2));
    await flush();
    expect(head.state()).toBe('pending');
    expect(next.state()).toBe('pending');
    const reason = new Error('stop');
    ctrl.abort(reason);
    await flush(); // no clock advance needed
    expect(head.state()).toBe('rejected');
    expect(head.error()).toBe(reason);
    expect(next.state()).toBe('resolved'); // the 2 initial tokens were enough once the head left
    expect(b.pending).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects at once for an already-aborted signal with an AbortError by default', async () => {
    const b = new TokenBucket({ refillPerSec: 10, capacity: 10, clock: new TestClock() });
    const ctrl = new AbortController();
    ctrl.abort();
    await expect(b.acquire(1, ctrl.signal)).rejects.toMatchObject({ name: 'AbortError' });
    expect(b.available()).toBe(10);
  });

  it('aborting a waiter in the middle of the queue keeps the others in order', async () => {
    const clock = new TestClock();
    const b = new TokenBucket({ refillPerSec: 10, capacity: 10, initialTokens: 0, clock });
    const ctrl = new AbortController();
    const order: number[] = [];
    const a = b.acquire(3).then(() => order.push(1));
    const mid = track(b.acquire(3, ctrl.signal));
    const c = b.acquire(3).then(() => order.push(3));
    ctrl.abort(new Error('x'));
    await clock.advance(600);
    await Promise.all([a, c]);
    expect(mid.state()).toBe('rejected');
    expect(order).toEqual([1, 3]);
  });

  it('rejects costs it can never grant', async () => {
    const b = new TokenBucket({ refillPerSec: 10, capacity: 10, clock: new TestClock() });
    await expect(b.acquire(11)).rejects.toThrow(RangeError);
    expect(() => b.tryAcquire(0)).toThrow(RangeError);
    expect(() => new TokenBucket({ refillPerSec: 0, capacity: 1 })).toThrow(RangeError);
  });

  it('runs on an xstate SimulatedClock as is (one clock for statecharts and REST)', async () => {
    const clock = new SimulatedClock();
    const b = new TokenBucket({ refillPerSec: 10, capacity: 10, initialTokens: 0, clock });
    const p = track(b.acquire(5));
    clock.increment(499);
    await flush();
    expect(p.state()).toBe('pending');
    clock.increment(1);
    await flush();
    expect(p.state()).toBe('resolved');
  });

  it('works on the real clock (no timing assertions)', async () => {
    const b = new TokenBucket({ refillPerSec: 10_000, capacity: 1 });
    await b.acquire(1);
    await b.acquire(1);
    await b.acquire(1);
    expect(b.pending).toBe(0);
  });

  it('property: tokens granted never exceed capacity + rate × elapsed, and every live waiter is served', async () => {
    type Op = { kind: 'advance'; ms: number } | { kind: 'acquire'; cost: number; abortAfter: number | null } | { kind: 'try'; cost: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 700 }) }),
      fc.record({
        kind: fc.constant('acquire' as const),
        cost: fc.integer({ min: 1, max: 20 }),
        abortAfter: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
      }),
      fc.record({ kind: fc.constant('try' as const), cost: fc.integer({ min: 1, max: 20 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 20, max: 60 }), fc.array(op, { maxLength: 40 }), async (rate, capacity, ops) => {
        const clock = new TestClock();
        const b = new TokenBucket({ refillPerSec: rate, capacity, clock });
        let granted = 0;
        const bound = (): number => capacity + (rate * clock.now()) / 1000 + 1e-6;
        const live: Promise<void>[] = [];
        const aborts: { at: number; ctrl: AbortController }[] = [];
        let step = 0;
        for (const o of ops) {
          step++;
          for (const a of aborts.filter((x) => x.at === step)) a.ctrl.abort(new Error('abort'));
          if (o.kind === 'advance') await clock.advance(o.ms);
          else if (o.kind === 'try') {
            if (b.tryAcquire(o.cost)) granted += o.cost;
          } else {
            const ctrl = new AbortController();
            if (o.abortAfter !== null) aborts.push({ at: step + o.abortAfter, ctrl });
            const p = b.acquire(o.cost, ctrl.signal).then(
              () => {
                granted += o.cost;
                expect(granted).toBeLessThanOrEqual(bound());
              },
              () => {},
            );
            if (o.abortAfter === null) live.push(p);
          }
          expect(granted).toBeLessThanOrEqual(bound());
        }
        for (const a of aborts) a.ctrl.abort(new Error('abort'));
        // Liveness: with enough time every non-aborted waiter is granted.
        await clock.advance(((ops.length * 20) / rate) * 1000 + 1000);
        await Promise.all(live);
        expect(b.pending).toBe(0);
        expect(granted).toBeLessThanOrEqual(bound());
      }),
      { numRuns: 150 },
    );
  });
});

describe('createRateLimiter', () => {
  it('unlimited grants everything but still honours an aborted signal', async () => {
    const l = createRateLimiter('unlimited');
    expect(l).toBe(UNLIMITED);
    for (let i = 0; i < 1000; i++) expect(l.tryAcquire(1e9)).toBe(true);
    await l.acquire(1e9);
    const ctrl = new AbortController();
    ctrl.abort(new Error('nope'));
    await expect(l.acquire(1, ctrl.signal)).rejects.toThrow('nope');
  });

  it('builds tier buckets and custom buckets', () => {
    const tier = createRateLimiter('advanced', new TestClock());
    expect(tier).toBeInstanceOf(TokenBucket);
    expect(tier).toMatchObject({ capacity: 600 });
    const custom = createRateLimiter({ refillPerSec: 5, capacity: 7 }, new TestClock());
    expect(custom).toMatchObject({ refillPerSec: 5, capacity: 7 });
  });
});
