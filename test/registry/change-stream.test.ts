/**
 * The bounded MarketChange stream: per-subscriber buffers, backpressure on producers instead of
 * loss, FIFO order for everyone, and clean shutdown.
 *
 * No real-clock timing is asserted anywhere: "slow" consumers yield to the event loop with
 * setImmediate / microtasks, and every check is about order, counts and promise states.
 */
import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { ChangeStream, type ChangeSubscription } from '../../src/registry/change-stream.js';
import { ChangeBufferSize, type MarketChange } from '../../src/domain/types.js';

/** A distinct, cheap change; `i` is recoverable from the ticker. */
function ch(i: number): MarketChange {
  return { ticker: `T${i}`, eventType: 'settled', oldStatus: 'determined', newStatus: 'finalized' };
}
const idx = (c: MarketChange): number => Number(c.ticker.slice(1));

/** Lets every pending microtask (and promise chain) run. */
const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Tracks whether a promise has settled, without awaiting it. */
function track<T>(p: Promise<T>): { readonly settled: boolean; readonly value: T | undefined } {
  const state: { settled: boolean; value: T | undefined } = { settled: false, value: undefined };
  void p.then((v) => {
    state.settled = true;
    state.value = v;
  });
  return state;
}

async function readN(sub: ChangeSubscription, n: number): Promise<MarketChange[]> {
  const out: MarketChange[] = [];
  for (let i = 0; i < n; i++) {
    const r = await sub.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe('ChangeStream without subscribers', () => {
  it('publish is synchronous, returns undefined and still counts', () => {
    const stream = new ChangeStream(3);
    for (let i = 0; i < 10; i++) expect(stream.publish(ch(i))).toBeUndefined();
    expect(stream.published).toBe(10);
    expect(stream.blockedPublishes).toBe(0);
    expect(stream.backlog).toBe(0);
    expect(stream.subscriberCount).toBe(0);
  });

  it('a subscriber only sees changes published after it subscribed', async () => {
    const stream = new ChangeStream(3);
    expect(stream.publish(ch(0))).toBeUndefined();
    const sub = stream.subscribe();
    expect(stream.publish(ch(1))).toBeUndefined();
    expect(sub.buffered).toBe(1);
    const r = await sub.next();
    expect(r).toEqual({ value: ch(1), done: false });
  });
});

describe('ChangeStream delivery', () => {
  it('every subscriber receives every change in publish order', async () => {
    const stream = new ChangeStream(3);
    const a = stream.subscribe();
    const b = stream.subscribe();
    expect(stream.subscriberCount).toBe(2);
    const received: [MarketChange[], MarketChange[]] = [[], []];
    const readers = [a, b].map(async (sub, k) => {
      for await (const c of sub) {
        received[k]!.push(c);
        if (received[k]!.length === 50) break;
      }
    });
    for (let i = 0; i < 50; i++) {
      const p = stream.publish(ch(i));
      if (p) await p;
    }
    await Promise.all(readers);
    const expected = Array.from({ length: 50 }, (_, i) => ch(i));
    expect(received[0]).toEqual(expected);
    expect(received[1]).toEqual(expected);
    // Breaking out of for-await unsubscribed both.
    expect(stream.subscriberCount).toBe(0);
  });

  it('a pending read is resolved directly by the next publish (no buffering)', async () => {
    const stream = new ChangeStream(3);
    const sub = stream.subscribe();
    const read = track(sub.next());
    await macrotask();
    expect(read.settled).toBe(false);
    expect(stream.publish(ch(7))).toBeUndefined();
    expect(sub.buffered).toBe(0);
    await macrotask();
    expect(read.value).toEqual({ value: ch(7), done: false });
  });

  it('concurrent next() calls (allowed by the async-iterator protocol) each get a change, in order', async () => {
    const stream = new ChangeStream(3);
    const sub = stream.subscribe();
    const first = track(sub.next());
    const second = track(sub.next());
    expect(stream.publish(ch(0))).toBeUndefined();
    expect(stream.publish(ch(1))).toBeUndefined();
    await macrotask();
    expect(first.value).toEqual({ value: ch(0), done: false });
    expect(second.value).toEqual({ value: ch(1), done: false });
  });

  it('buffers up to capacity synchronously, then publish returns a promise that resolves only after a read', async () => {
    const stream = new ChangeStream(3);
    const sub = stream.subscribe();
    expect(stream.publish(ch(0))).toBeUndefined();
    expect(stream.publish(ch(1))).toBeUndefined();
    expect(stream.publish(ch(2))).toBeUndefined();
    expect(sub.buffered).toBe(3);

    const p = stream.publish(ch(3));
    expect(p).toBeInstanceOf(Promise);
    expect(stream.blockedPublishes).toBe(1);
    expect(stream.backlog).toBe(1);
    expect(sub.buffered).toBe(3); // never above capacity
    const state = track(p as Promise<void>);
    await macrotask();
    expect(state.settled).toBe(false);

    expect((await sub.next()).value).toEqual(ch(0));
    await macrotask();
    expect(state.settled).toBe(true);
    expect(stream.backlog).toBe(0);
    expect(sub.buffered).toBe(3);
    expect(await readN(sub, 3)).toEqual([ch(1), ch(2), ch(3)]);
  });

  it('keeps FIFO order with several concurrently blocked producers, and releases them in order', async () => {
    const stream = new ChangeStream(3);
    const sub = stream.subscribe();
    for (let i = 0; i < 3; i++) expect(stream.publish(ch(i))).toBeUndefined();
    const released: number[] = [];
    const blocked = [3, 4, 5, 6, 7].map((i) => {
      const p = stream.publish(ch(i));
      expect(p).toBeInstanceOf(Promise);
      return (p as Promise<void>).then(() => released.push(i));
    });
    expect(stream.backlog).toBe(5);
    // Once something is queued, even a publish that would fit waits behind it.
    await macrotask();
    expect(released).toEqual([]);

    const got = await readN(sub, 2);
    await macrotask();
    expect(got).toEqual([ch(0), ch(1)]);
    expect(released).toEqual([3, 4]);
    expect(sub.buffered).toBe(3);

    got.push(...(await readN(sub, 6)));
    await Promise.all(blocked);
    expect(released).toEqual([3, 4, 5, 6, 7]);
    expect(got.map(idx)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(stream.blockedPublishes).toBe(5);
  });

  it('a publish made while others are blocked is queued behind them even after room appears', async () => {
    const stream = new ChangeStream(2);
    const sub = stream.subscribe();
    expect(stream.publish(ch(0))).toBeUndefined();
    expect(stream.publish(ch(1))).toBeUndefined();
    const p2 = stream.publish(ch(2));
    expect(p2).toBeInstanceOf(Promise);
    const p3 = stream.publish(ch(3));
    expect(p3).toBeInstanceOf(Promise);
    expect(await readN(sub, 4)).toEqual([ch(0), ch(1), ch(2), ch(3)]);
  });

  it('one slow subscriber holds producers back for all, and a fast one still gets everything in order', async () => {
    const stream = new ChangeStream(3);
    const fast = stream.subscribe();
    const slow = stream.subscribe();
    const fastGot: number[] = [];
    const fastReader = (async () => {
      for await (const c of fast) {
        fastGot.push(idx(c));
        if (fastGot.length === 20) return;
      }
    })();
    let producedUpTo = -1;
    const producer = (async () => {
      for (let i = 0; i < 20; i++) {
        const p = stream.publish(ch(i));
        if (p) await p;
        producedUpTo = i;
      }
    })();
    await macrotask();
    // The slow subscriber has read nothing: only capacity + 1 publishes can have been accepted.
    expect(slow.buffered).toBe(3);
    expect(producedUpTo).toBe(2);
    expect(fastGot).toEqual([0, 1, 2]);

    const slowGot = (await readN(slow, 20)).map(idx);
    await Promise.all([fastReader, producer]);
    const expected = Array.from({ length: 20 }, (_, i) => i);
    expect(slowGot).toEqual(expected);
    expect(fastGot).toEqual(expected);
  });
});

describe('ChangeStream: no loss with a slow consumer', () => {
  async function slowConsumerRun(capacity: number, total: number) {
    const stream = new ChangeStream(capacity);
    const sub = stream.subscribe();
    let maxBuffered = 0;
    let maxAhead = 0;
    const got: number[] = [];
    const consumer = (async () => {
      let n = 0;
      for await (const c of sub) {
        got.push(idx(c));
        maxBuffered = Math.max(maxBuffered, sub.buffered);
        // How far the producer ran ahead of what this consumer has taken.
        maxAhead = Math.max(maxAhead, stream.published - got.length);
        if (got.length === total) break;
        // Slow: yield to the event loop (a macrotask) most of the time, a microtask otherwise.
        if (++n % 4 === 0) await Promise.resolve();
        else await macrotask();
      }
    })();
    const producer = (async () => {
      for (let i = 0; i < total; i++) {
        const p = stream.publish(ch(i));
        if (p) await p;
        maxBuffered = Math.max(maxBuffered, sub.buffered);
      }
    })();
    await Promise.all([consumer, producer]);
    return { stream, got, maxBuffered, maxAhead };
  }

  it('capacity 3: 10 000 changes arrive complete and in order; buffer never exceeds capacity', async () => {
    const total = 10_000;
    const { stream, got, maxBuffered, maxAhead } = await slowConsumerRun(3, total);
    expect(got.length).toBe(total);
    expect(got.every((v, i) => v === i)).toBe(true);
    expect(maxBuffered).toBeLessThanOrEqual(3);
    // The producer really was held back: at most a full buffer plus the one waiting publish ahead.
    expect(maxAhead).toBeLessThanOrEqual(3 + 1);
    expect(stream.blockedPublishes).toBeGreaterThan(total / 2);
    expect(stream.backlog).toBe(0);
  });

  it(`capacity ChangeBufferSize (${ChangeBufferSize}): 10 000 changes arrive complete and in order`, async () => {
    const total = 10_000;
    const { stream, got, maxBuffered, maxAhead } = await slowConsumerRun(ChangeBufferSize, total);
    expect(got.length).toBe(total);
    expect(got.every((v, i) => v === i)).toBe(true);
    expect(maxBuffered).toBeLessThanOrEqual(ChangeBufferSize);
    expect(maxAhead).toBeLessThanOrEqual(ChangeBufferSize + 1);
    expect(stream.blockedPublishes).toBeGreaterThan(0);
  });

  it('a burst into a large buffer read afterwards (buffer compaction path) keeps order', async () => {
    const stream = new ChangeStream(ChangeBufferSize);
    const sub = stream.subscribe();
    const got: number[] = [];
    let next = 0;
    // Repeatedly fill to capacity synchronously, then drain most of it: exercises the head/splice logic.
    for (let round = 0; round < 8; round++) {
      while (sub.buffered < ChangeBufferSize) expect(stream.publish(ch(next++))).toBeUndefined();
      for (const c of await readN(sub, 900)) got.push(idx(c));
    }
    for (const c of await readN(sub, sub.buffered)) got.push(idx(c));
    expect(got.length).toBe(next);
    expect(got.every((v, i) => v === i)).toBe(true);
  });
});

describe('ChangeStream shutdown', () => {
  it('close() ends pending reads, releases blocked producers, and lets readers drain what they had buffered', async () => {
    const stream = new ChangeStream(3);
    const a = stream.subscribe();
    const b = stream.subscribe();
    for (let i = 0; i < 3; i++) expect(stream.publish(ch(i))).toBeUndefined();
    const blocked = track(stream.publish(ch(3)) as Promise<void>);
    // b is drained so it has a read pending.
    await readN(b, 3);
    const pendingB = track(b.next());
    await macrotask();
    expect(blocked.settled).toBe(false);

    stream.close();
    await macrotask();
    expect(blocked.settled).toBe(true);
    // The pending read settles: either with the change that was waiting (closing `a` first freed
    // it for `b`) or with done; it must not hang and must not skip or reorder.
    expect(pendingB.settled).toBe(true);
    expect([
      { value: ch(3), done: false },
      { value: undefined, done: true },
    ]).toContainEqual(pendingB.value);
    expect(await b.next()).toEqual({ value: undefined, done: true });
    // A stop loses nothing a subscriber had already been given: `a` still reads its buffer.
    expect(stream.backlog).toBe(0);
    // Publishing after close has no one to wait for, and reaches no one.
    expect(stream.publish(ch(9))).toBeUndefined();
    expect(await readN(a, 3)).toEqual([ch(0), ch(1), ch(2)]);
    expect(await a.next()).toEqual({ value: undefined, done: true });
    expect(stream.subscriberCount).toBe(0);
  });

  it('subscription.close() of the only slow subscriber releases blocked producers', async () => {
    const stream = new ChangeStream(3);
    const sub = stream.subscribe();
    for (let i = 0; i < 3; i++) expect(stream.publish(ch(i))).toBeUndefined();
    const blocked = track(stream.publish(ch(3)) as Promise<void>);
    await macrotask();
    expect(blocked.settled).toBe(false);
    sub.close();
    await macrotask();
    expect(blocked.settled).toBe(true);
    expect(sub.buffered).toBe(0);
    expect(await sub.next()).toEqual({ value: undefined, done: true });
    expect(stream.subscriberCount).toBe(0);
  });

  it('closing the slow subscriber lets the remaining subscriber receive the backlog in order', async () => {
    const stream = new ChangeStream(3);
    const slow = stream.subscribe();
    const other = stream.subscribe();
    for (let i = 0; i < 3; i++) expect(stream.publish(ch(i))).toBeUndefined();
    expect(await readN(other, 3)).toEqual([ch(0), ch(1), ch(2)]);
    const blocked = [3, 4].map((i) => stream.publish(ch(i)) as Promise<void>);
    expect(stream.backlog).toBe(2);
    slow.close();
    await Promise.all(blocked);
    expect(await readN(other, 2)).toEqual([ch(3), ch(4)]);
  });

  it('return() (for-await break) ends iteration and releases producers', async () => {
    const stream = new ChangeStream(3);
    const sub = stream.subscribe();
    for (let i = 0; i < 3; i++) expect(stream.publish(ch(i))).toBeUndefined();
    const blocked = track(stream.publish(ch(3)) as Promise<void>);
    expect(await sub.return!()).toEqual({ value: undefined, done: true });
    await macrotask();
    expect(blocked.settled).toBe(true);
    expect(await sub.next()).toEqual({ value: undefined, done: true });
  });

  it('an abort signal ends a pending iteration and releases producers', async () => {
    const stream = new ChangeStream(3);
    const ac = new AbortController();
    const sub = stream.subscribe({ signal: ac.signal });
    const got: MarketChange[] = [];
    const reader = (async () => {
      for await (const c of sub) {
        got.push(c);
        await macrotask();
      }
      return 'ended';
    })();
    const producer = (async () => {
      for (let i = 0; i < 1000; i++) {
        const p = stream.publish(ch(i));
        if (p) await p;
      }
      return 'produced';
    })();
    await macrotask();
    await macrotask();
    ac.abort();
    expect(await reader).toBe('ended');
    expect(await producer).toBe('produced');
    expect(got.length).toBeLessThan(1000);
    expect(got.map(idx)).toEqual(got.map((_, i) => i));
    expect(stream.subscriberCount).toBe(0);
  });

  it('an already-aborted signal yields a closed subscription', async () => {
    const stream = new ChangeStream(3);
    const ac = new AbortController();
    ac.abort();
    const sub = stream.subscribe({ signal: ac.signal });
    expect(stream.subscriberCount).toBe(0);
    expect(stream.publish(ch(0))).toBeUndefined();
    expect(await sub.next()).toEqual({ value: undefined, done: true });
  });
});

describe('ChangeStream listeners', () => {
  it('onChange listeners run synchronously inside publish, in order, until removed', () => {
    const stream = new ChangeStream(3);
    const seen: string[] = [];
    const off = stream.onChange((c) => seen.push(`a:${c.ticker}`));
    stream.onChange((c) => seen.push(`b:${c.ticker}`));
    expect(stream.publish(ch(1))).toBeUndefined();
    expect(seen).toEqual(['a:T1', 'b:T1']);
    off();
    expect(stream.publish(ch(2))).toBeUndefined();
    expect(seen).toEqual(['a:T1', 'b:T1', 'b:T2']);
  });

  it('listeners are called even while a subscriber applies backpressure (at publish time, not delivery)', () => {
    const stream = new ChangeStream(1);
    stream.subscribe();
    const seen: number[] = [];
    stream.onChange((c) => seen.push(idx(c)));
    expect(stream.publish(ch(0))).toBeUndefined();
    const p = stream.publish(ch(1));
    expect(p).toBeInstanceOf(Promise);
    expect(seen).toEqual([0, 1]);
  });

  it('a throwing listener is logged once, counted every time, and does not break publishing or other listeners', async () => {
    const onError = vi.fn();
    const stream = new ChangeStream(3, { error: onError });
    const boom = new Error('listener failed');
    stream.onChange(() => {
      throw boom;
    });
    const good = vi.fn();
    stream.onChange(good);
    const sub = stream.subscribe();
    expect(() => stream.publish(ch(1))).not.toThrow();
    expect(stream.publish(ch(2))).toBeUndefined();
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith({ err: boom }, expect.stringContaining('onChange listener threw'));
    expect(stream.listenerErrors).toBe(2);
    expect(good).toHaveBeenCalledTimes(2);
    expect(await readN(sub, 2)).toEqual([ch(1), ch(2)]);
    expect(stream.published).toBe(2);
  });

  it('a throwing listener without an error handler is swallowed', () => {
    const stream = new ChangeStream(3);
    stream.onChange(() => {
      throw new Error('x');
    });
    expect(() => stream.publish(ch(1))).not.toThrow();
    expect(stream.published).toBe(1);
  });
});

describe('ChangeStream property: any interleaving of publishes and reads', () => {
  type Cmd = { readonly op: 'publish'; readonly n: number } | { readonly op: 'read'; readonly sub: number; readonly n: number } | { readonly op: 'settle' };

  const cmdArb = (subs: number): fc.Arbitrary<Cmd> =>
    fc.oneof(
      fc.record({ op: fc.constant('publish' as const), n: fc.integer({ min: 1, max: 6 }) }),
      fc.record({ op: fc.constant('read' as const), sub: fc.integer({ min: 0, max: subs - 1 }), n: fc.integer({ min: 1, max: 6 }) }),
      fc.constant({ op: 'settle' as const }),
    );

  it('each subscriber sees exactly the published sequence; buffers never exceed capacity', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }).chain((subs) => fc.tuple(fc.constant(subs), fc.array(cmdArb(subs), { maxLength: 60 }))),
        async (capacity, [subCount, cmds]) => {
          const stream = new ChangeStream(capacity);
          const subs = Array.from({ length: subCount }, () => stream.subscribe());
          const received: number[][] = subs.map(() => []);
          // At most one outstanding read per subscriber (as for-await does).
          const reading: boolean[] = subs.map(() => false);
          const publishes: Promise<void>[] = [];
          let next = 0;

          const issueRead = (k: number) => {
            if (reading[k]) return;
            reading[k] = true;
            void subs[k]!.next().then((r) => {
              reading[k] = false;
              if (!r.done) received[k]!.push(idx(r.value));
            });
          };
          const check = () => {
            for (let k = 0; k < subCount; k++) {
              expect(subs[k]!.buffered).toBeLessThanOrEqual(capacity);
              // What a subscriber got so far is a prefix of what was published.
              expect(received[k]).toEqual(received[k]!.map((_, i) => i));
            }
          };

          for (const cmd of cmds) {
            if (cmd.op === 'publish') {
              for (let i = 0; i < cmd.n; i++) {
                const p = stream.publish(ch(next++));
                if (p) publishes.push(p);
              }
            } else if (cmd.op === 'read') {
              for (let i = 0; i < cmd.n; i++) {
                issueRead(cmd.sub);
                await Promise.resolve();
                await Promise.resolve();
              }
            } else {
              await macrotask();
            }
            check();
          }

          // Drain everything: every subscriber keeps reading until it has all that was published.
          for (let guard = 0; received.some((r) => r.length < next); guard++) {
            if (guard > 10 * (next + 10)) throw new Error(`stuck: got ${received.map((r) => r.length).join(',')} of ${next}`);
            for (let k = 0; k < subCount; k++) if (received[k]!.length < next) issueRead(k);
            await macrotask();
            check();
          }
          await Promise.all(publishes);
          const expected = Array.from({ length: next }, (_, i) => i);
          for (const r of received) expect(r).toEqual(expected);
          expect(stream.backlog).toBe(0);
          stream.close();
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('ChangeStream overflow policies', () => {
  const change = (ticker: string, oldStatus: MarketChange['oldStatus'], newStatus: MarketChange['newStatus']): MarketChange =>
    (oldStatus === null
      ? { ticker, eventType: 'created', oldStatus: null, newStatus, market: { ticker } }
      : newStatus === 'finalized'
        ? { ticker, eventType: 'settled', oldStatus, newStatus }
        : { ticker, eventType: 'status_change', oldStatus, newStatus, market: { ticker, marketStatus: newStatus } }) as MarketChange;

  it('conflate: the producer never waits; a lagging reader gets one change per market, from what it saw to now', async () => {
    const stream = new ChangeStream(2);
    const sub = stream.subscribe({ overflow: 'conflate' });
    expect(stream.publish(change('A', null, 'active'))).toBeUndefined();
    expect(stream.publish(change('B', null, 'active'))).toBeUndefined();
    // Buffer full: from here on the reader lags.
    expect(stream.publish(change('A', 'active', 'inactive'))).toBeUndefined();
    expect(stream.publish(change('C', null, 'initialized'))).toBeUndefined();
    expect(stream.publish(change('A', 'inactive', 'active'))).toBeUndefined();
    expect(stream.publish(change('A', 'active', 'closed'))).toBeUndefined();
    expect(stream.publish(change('B', 'active', 'closed'))).toBeUndefined();
    expect(stream.publish(change('B', 'closed', 'determined'))).toBeUndefined();
    expect(stream.publish(change('B', 'determined', 'finalized'))).toBeUndefined();
    expect(stream.blockedPublishes).toBe(0);
    expect(sub.lagging).toBe(3);
    const got = await readN(sub, 5);
    expect(got.map((c) => `${c.ticker}:${c.eventType}:${c.oldStatus}→${c.newStatus}${c.conflated ? ' (conflated)' : ''}`)).toEqual([
      'A:created:null→active',
      'B:created:null→active',
      'A:status_change:active→closed (conflated)',
      'C:created:null→initialized (conflated)',
      'B:settled:active→finalized (conflated)',
    ]);
    expect(sub.lagging).toBe(0);
    // Caught up: changes flow unmarked again.
    expect(stream.publish(change('C', 'initialized', 'active'))).toBeUndefined();
    expect((await sub.next()).value).toEqual(change('C', 'initialized', 'active'));
  });

  it('a conflating reader never holds back a blocking one, and vice versa', async () => {
    const stream = new ChangeStream(1);
    const lazy = stream.subscribe({ overflow: 'conflate' });
    const eager = stream.subscribe();
    for (let i = 0; i < 5; i++) {
      const pending = stream.publish(change(`M-${i}`, null, 'active'));
      const read = eager.next();
      if (pending) await pending;
      expect((await read).value?.ticker).toBe(`M-${i}`);
    }
    expect(lazy.buffered + lazy.lagging).toBe(5);
  });

  it('blockedForMs: how long the producer has waited for a blocking reader', async () => {
    const stream = new ChangeStream(1);
    const sub = stream.subscribe();
    expect(stream.publish(change('A', null, 'active'))).toBeUndefined();
    expect(stream.blockedForMs()).toBe(0);
    const pending = stream.publish(change('B', null, 'active'));
    expect(pending).toBeInstanceOf(Promise);
    await new Promise((r) => setTimeout(r, 30));
    expect(stream.blockedForMs()).toBeGreaterThanOrEqual(25);
    await readN(sub, 2);
    await pending;
    expect(stream.blockedForMs()).toBe(0);
  });
});
