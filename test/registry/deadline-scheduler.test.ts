/**
 * DeadlineScheduler: a min-heap of (deadline, cell id) hints inside a horizon, driven by a single
 * timer, plus a periodic sweep for deadlines further out.
 *
 * The tests name cells by strings (readable expectations); `id(name)` gives each name a cell id
 * on first use and `namedScheduler` translates the scheduler's ids back for onDue and collect.
 *
 * Every test runs under fake timers (start() arms a setTimeout). Tests that drive the scheduler
 * by hand use their own clock variable and `fireDue()`; timer-driven tests use the faked Date.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { DeadlineScheduler } from '../../src/registry/deadline-scheduler.js';
import type { Micros } from '../../src/domain/types.js';

const T0_MS = Date.UTC(2026, 10, 24, 12, 0, 0);
const MS = 1000; // µs per ms
const SEC = 1_000_000; // µs per s

const cellIds = new Map<string, number>();
const cellNames: string[] = [];
/** The cell id of `name` (assigned on first use). */
function id(name: string): number {
  let i = cellIds.get(name);
  if (i === undefined) {
    i = cellNames.push(name) - 1;
    cellIds.set(name, i);
  }
  return i;
}

/** DeadlineSchedulerOptions with cells named by strings. */
interface NamedOptions {
  readonly now: () => Micros;
  readonly horizonMs?: number;
  readonly collect: (until: Micros) => Iterable<readonly [string, Micros]>;
  readonly onDue: (name: string, now: Micros) => void | Promise<void>;
  readonly onError?: (err: unknown) => void;
}

function namedScheduler(o: NamedOptions): DeadlineScheduler {
  return new DeadlineScheduler({
    ...o,
    collect: function* (until) {
      for (const [name, d] of o.collect(until)) yield [id(name), d] as const;
    },
    onDue: (i, now) => o.onDue(cellNames[i] as string, now),
  });
}

/** Lets pending promise chains run (works under fake timers, which do not fake microtasks). */
async function microtasks(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

interface Harness {
  readonly scheduler: DeadlineScheduler;
  readonly due: string[];
  setNow(us: Micros): void;
  now(): Micros;
}

/** A scheduler on a hand-driven clock (µs), recording onDue calls. */
function manual(options: Partial<NamedOptions> = {}, startAt: Micros = 0): Harness {
  let now = startAt;
  const due: string[] = [];
  const scheduler = namedScheduler({
    now: () => now,
    collect: () => [],
    onDue: (t) => void due.push(t),
    ...options,
  });
  return {
    scheduler,
    due,
    setNow: (us) => void (now = us),
    now: () => now,
  };
}

let schedulers: DeadlineScheduler[] = [];
function track<S extends DeadlineScheduler>(s: S): S {
  schedulers.push(s);
  return s;
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0_MS);
  schedulers = [];
});

afterEach(() => {
  for (const s of schedulers) s.stop();
  vi.clearAllTimers();
  vi.useRealTimers();
});

describe('DeadlineScheduler.fireDue (hand-driven clock)', () => {
  it('hands due entries to onDue in deadline order and leaves the others queued', async () => {
    const h = manual();
    track(h.scheduler).start();
    const entries: [string, number][] = [
      ['E', 500],
      ['A', 100],
      ['D', 400],
      ['B', 200],
      ['F', 600],
      ['C', 300],
    ];
    for (const [t, d] of entries) h.scheduler.arm(id(t), d);
    expect(h.scheduler.size).toBe(6);

    h.setNow(350);
    expect(await h.scheduler.fireDue()).toBe(3);
    expect(h.due).toEqual(['A', 'B', 'C']);
    expect(h.scheduler.size).toBe(3);
    expect(h.scheduler.fired).toBe(3);

    expect(await h.scheduler.fireDue()).toBe(0);
    expect(h.due).toEqual(['A', 'B', 'C']);

    h.setNow(400); // a deadline equal to now is due
    expect(await h.scheduler.fireDue()).toBe(1);
    h.setNow(10_000);
    expect(await h.scheduler.fireDue()).toBe(2);
    expect(h.due).toEqual(['A', 'B', 'C', 'D', 'E', 'F']);
    expect(h.scheduler.size).toBe(0);
  });

  it('property: fires exactly the due entries, in non-decreasing deadline order (heap correctness)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 1000 })), {
          selector: ([t]) => t,
          maxLength: 200,
        }),
        fc.integer({ min: -1, max: 1001 }),
        async (entries, cut) => {
          const h = manual();
          h.scheduler.start();
          const deadlineOf = new Map(entries);
          for (const [t, d] of entries) h.scheduler.arm(id(t), d);
          h.setNow(cut);
          const n = await h.scheduler.fireDue();
          const expectedDue = entries.filter(([, d]) => d <= cut).length;
          expect(n).toBe(expectedDue);
          expect(h.due.length).toBe(expectedDue);
          expect(new Set(h.due).size).toBe(expectedDue);
          const ds = h.due.map((t) => deadlineOf.get(t) as number);
          for (let i = 1; i < ds.length; i++) expect(ds[i]).toBeGreaterThanOrEqual(ds[i - 1] as number);
          for (const d of ds) expect(d).toBeLessThanOrEqual(cut);
          expect(h.scheduler.size).toBe(entries.length - expectedDue);
          h.scheduler.stop();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('ignores arm() before start() and non-finite deadlines', () => {
    const h = manual();
    h.scheduler.arm(id('A'), 10);
    expect(h.scheduler.size).toBe(0);
    track(h.scheduler).start();
    h.scheduler.arm(id('B'), Number.POSITIVE_INFINITY);
    h.scheduler.arm(id('C'), Number.NaN);
    expect(h.scheduler.size).toBe(0);
  });

  it('the same ticker armed twice with the same deadline is queued once', async () => {
    const h = manual();
    track(h.scheduler).start();
    h.scheduler.arm(id('A'), 100);
    h.scheduler.arm(id('A'), 100);
    expect(h.scheduler.size).toBe(1);
    // A later deadline for a ticker already queued earlier adds nothing either.
    h.scheduler.arm(id('A'), 150);
    expect(h.scheduler.size).toBe(1);
    h.setNow(200);
    await h.scheduler.fireDue();
    expect(h.due).toEqual(['A']);
  });

  it('an earlier deadline for a queued ticker takes effect (fires at the earlier time)', async () => {
    const h = manual();
    track(h.scheduler).start();
    h.scheduler.arm(id('A'), 100);
    h.scheduler.arm(id('A'), 50);
    h.setNow(50);
    expect(await h.scheduler.fireDue()).toBe(1);
    expect(h.due).toEqual(['A']);
    // Nothing else was due at 50: the later (now stale) entry is only a hint for later.
    h.setNow(99);
    expect(await h.scheduler.fireDue()).toBe(0);
  });

  it('a fired ticker re-armed with the same deadline is queued again', async () => {
    const h = manual();
    track(h.scheduler).start();
    h.scheduler.arm(id('A'), 10);
    h.setNow(10);
    await h.scheduler.fireDue();
    h.scheduler.arm(id('A'), 20);
    expect(h.scheduler.size).toBe(1);
    h.setNow(20);
    await h.scheduler.fireDue();
    expect(h.due).toEqual(['A', 'A']);
  });

  it('100 000 tickers due at the same instant all fire exactly once', async () => {
    const h = manual({}, 0);
    const counts = new Map<string, number>();
    const scheduler = track(
      namedScheduler({
        now: () => h.now(),
        collect: () => [],
        onDue: (t) => void counts.set(t, (counts.get(t) ?? 0) + 1),
      }),
    );
    scheduler.start();
    const N = 100_000;
    for (let i = 0; i < N; i++) scheduler.arm(id(`M${i}`), 1000);
    // Arming again changes nothing.
    for (let i = 0; i < N; i += 7) scheduler.arm(id(`M${i}`), 1000);
    expect(scheduler.size).toBe(N);
    h.setNow(1000);
    expect(await scheduler.fireDue()).toBe(N);
    expect(counts.size).toBe(N);
    for (const c of counts.values()) if (c !== 1) expect(c).toBe(1);
    expect(scheduler.fired).toBe(N);
    expect(scheduler.size).toBe(0);
    expect(await scheduler.fireDue()).toBe(0);
  });

  it('reads the clock once per batch, not once per entry, and hands every onDue that reading', async () => {
    let reads = 0;
    let clock = 0;
    const at: Micros[] = [];
    const scheduler = track(
      new DeadlineScheduler({
        now: () => {
          reads++;
          return clock;
        },
        collect: () => [],
        onDue: (_id, now) => void at.push(now),
      }),
    );
    scheduler.start();
    for (let i = 0; i < 1000; i++) scheduler.arm(i, 100 + (i % 10));
    clock = 500;
    reads = 0;
    expect(await scheduler.fireDue()).toBe(1000);
    // One reading for the batch and one to see whether anything came due meanwhile.
    expect(reads).toBe(2);
    expect(new Set(at)).toEqual(new Set([500]));
  });

  it('the "already queued" check is per cell id: another id with the same deadline is queued too', async () => {
    const due: number[] = [];
    const scheduler = track(new DeadlineScheduler({ now: () => 10, collect: () => [], onDue: (i) => void due.push(i) }));
    scheduler.start();
    scheduler.arm(70_000, 5); // beyond the first growth of the queued table
    scheduler.arm(3, 5);
    scheduler.arm(70_000, 5);
    expect(scheduler.size).toBe(2);
    expect(await scheduler.fireDue()).toBe(2);
    expect(due.sort((a, b) => a - b)).toEqual([3, 70_000]);
  });

  it('awaits a promise returned by onDue before handing out the next ticker (backpressure)', async () => {
    const log: string[] = [];
    const releases: (() => void)[] = [];
    const h = manual({
      onDue: (t) => {
        log.push(`start:${t}`);
        return new Promise<void>((resolve) =>
          releases.push(() => {
            log.push(`end:${t}`);
            resolve();
          }),
        );
      },
    });
    track(h.scheduler).start();
    h.scheduler.arm(id('A'), 1);
    h.scheduler.arm(id('B'), 2);
    h.scheduler.arm(id('C'), 3);
    h.setNow(10);
    let done: number | undefined;
    const firing = h.scheduler.fireDue().then((n) => (done = n));
    await microtasks();
    expect(log).toEqual(['start:A']);
    releases[0]!();
    await microtasks();
    expect(log).toEqual(['start:A', 'end:A', 'start:B']);
    expect(done).toBeUndefined();
    releases[1]!();
    await microtasks();
    releases[2]!();
    await firing;
    expect(done).toBe(3);
    expect(log).toEqual(['start:A', 'end:A', 'start:B', 'end:B', 'start:C', 'end:C']);
  });

  it('stop() stops firing, also in the middle of a fireDue() pass', async () => {
    const h = manual();
    const scheduler = track(h.scheduler);
    scheduler.start();
    for (const [t, d] of [
      ['A', 1],
      ['B', 2],
      ['C', 3],
    ] as const)
      scheduler.arm(id(t), d);
    const stopping = namedScheduler({
      now: () => 10,
      collect: () => [],
      onDue: (t) => {
        h.due.push(t);
        if (t === 'A') stopping.stop();
      },
    });
    track(stopping).start();
    stopping.arm(id('A'), 1);
    stopping.arm(id('B'), 2);
    expect(await stopping.fireDue()).toBe(1);
    expect(h.due).toEqual(['A']);
    expect(stopping.size).toBe(1);

    scheduler.stop();
    h.setNow(10);
    expect(await scheduler.fireDue()).toBe(0);
    expect(h.due).toEqual(['A']);
  });

  it('a synchronous throw from onDue rejects a direct fireDue() call with that error', async () => {
    const boom = new Error('boom');
    const h = manual({
      onDue: (t) => {
        if (t === 'BAD') throw boom;
      },
    });
    track(h.scheduler).start();
    h.scheduler.arm(id('BAD'), 1);
    h.setNow(5);
    await expect(h.scheduler.fireDue()).rejects.toBe(boom);
  });
});

describe('DeadlineScheduler horizon and sweep', () => {
  it('arm() beyond the horizon is not queued; the sweep picks it up via collect and it fires on time', async () => {
    const horizonMs = 60_000;
    const registryDeadlines = new Map<string, Micros>();
    const collectCalls: Micros[] = [];
    const due: { ticker: string; at: number }[] = [];
    const nowUs = () => Date.now() * MS;
    const scheduler = track(
      namedScheduler({
        now: nowUs,
        horizonMs,
        collect: function* (until) {
          collectCalls.push(until);
          for (const [t, d] of registryDeadlines) if (d < until) yield [t, d] as const;
        },
        onDue: (t) => void due.push({ ticker: t, at: Date.now() }),
      }),
    );
    scheduler.start();
    expect(collectCalls).toEqual([T0_MS * MS + horizonMs * MS]);

    const far = T0_MS * MS + 61_000 * MS; // beyond now + horizon
    const near = T0_MS * MS + 59_000 * MS;
    registryDeadlines.set('FAR', far);
    scheduler.arm(id('FAR'), far);
    expect(scheduler.size).toBe(0);
    scheduler.arm(id('NEAR'), near);
    expect(scheduler.size).toBe(1);

    // The sweep runs every half horizon.
    await vi.advanceTimersByTimeAsync(30_000);
    expect(collectCalls.length).toBe(2);
    expect(collectCalls[1]).toBe((T0_MS + 30_000 + horizonMs) * MS);
    expect(scheduler.size).toBe(2);

    await vi.advanceTimersByTimeAsync(29_000 - 1);
    expect(due).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(due).toEqual([{ ticker: 'NEAR', at: T0_MS + 59_000 }]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(due).toEqual([
      { ticker: 'NEAR', at: T0_MS + 59_000 },
      { ticker: 'FAR', at: T0_MS + 61_000 },
    ]);
    expect(scheduler.size).toBe(0);
  });

  it('start() queues what collect returns inside the horizon, including deadlines already passed', async () => {
    const nowUs = () => Date.now() * MS;
    const due: string[] = [];
    const scheduler = track(
      namedScheduler({
        now: nowUs,
        horizonMs: 10_000,
        collect: (until) =>
          (
            [
              ['PAST', nowUs() - SEC],
              ['SOON', nowUs() + SEC],
              ['LATER', nowUs() + 20 * SEC],
            ] as const
          ).filter(([, d]) => d < until),
        onDue: (t) => void due.push(t),
      }),
    );
    scheduler.start();
    expect(scheduler.size).toBe(2);
    await vi.advanceTimersByTimeAsync(0);
    expect(due).toEqual(['PAST']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(due).toEqual(['PAST', 'SOON']);
  });

  it('a sweep does not queue a ticker again when the same deadline is already queued', async () => {
    const nowUs = () => Date.now() * MS;
    const deadline = (T0_MS + 50_000) * MS;
    const due: string[] = [];
    const scheduler = track(
      namedScheduler({
        now: nowUs,
        horizonMs: 60_000,
        collect: () => [['A', deadline] as const],
        onDue: (t) => void due.push(t),
      }),
    );
    scheduler.start();
    expect(scheduler.size).toBe(1);
    scheduler.arm(id('A'), deadline);
    expect(scheduler.size).toBe(1);
    await vi.advanceTimersByTimeAsync(30_000); // second sweep
    expect(scheduler.size).toBe(1);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(due).toEqual(['A']);
  });
});

describe('DeadlineScheduler timer', () => {
  function timerScheduler(onDue: (t: string) => void | Promise<void>, onError?: (err: unknown) => void) {
    return track(
      namedScheduler({
        now: () => Date.now() * MS,
        collect: () => [],
        onDue,
        ...(onError ? { onError } : {}),
      }),
    );
  }

  it('fires each deadline when its time comes, earliest first, and re-arms for a new earlier deadline', async () => {
    const due: string[] = [];
    const s = timerScheduler((t) => void due.push(t));
    s.start();
    s.arm(id('A'), (T0_MS + 1000) * MS);
    s.arm(id('B'), (T0_MS + 500) * MS);
    await vi.advanceTimersByTimeAsync(499);
    expect(due).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(due).toEqual(['B']);
    // Armed while the timer waits for A: an earlier deadline must re-arm the timer.
    s.arm(id('C'), (T0_MS + 700) * MS);
    await vi.advanceTimersByTimeAsync(200);
    expect(due).toEqual(['B', 'C']);
    await vi.advanceTimersByTimeAsync(300);
    expect(due).toEqual(['B', 'C', 'A']);
    expect(s.fired).toBe(3);
  });

  it('stop() cancels the timer: nothing fires afterwards', async () => {
    const due: string[] = [];
    const s = timerScheduler((t) => void due.push(t));
    s.start();
    s.arm(id('A'), (T0_MS + 100) * MS);
    s.stop();
    await vi.advanceTimersByTimeAsync(10_000_000);
    expect(due).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    // arm() after stop() is ignored.
    s.arm(id('B'), (T0_MS + 20_000_000) * MS);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(due).toEqual([]);
  });

  it('a synchronous throw from onDue is reported to onError and the scheduler keeps firing', async () => {
    const boom = new Error('onDue failed');
    const due: string[] = [];
    const errors: unknown[] = [];
    const s = timerScheduler(
      (t) => {
        due.push(t);
        if (t === 'BAD') throw boom;
      },
      (err) => errors.push(err),
    );
    s.start();
    s.arm(id('BAD'), (T0_MS + 100) * MS);
    s.arm(id('GOOD'), (T0_MS + 200) * MS);
    await vi.advanceTimersByTimeAsync(100);
    expect(errors).toEqual([boom]);
    await vi.advanceTimersByTimeAsync(100);
    expect(due).toEqual(['BAD', 'GOOD']);
    expect(errors).toEqual([boom]);
  });

  it('entries due at the same instant as a throwing one still fire', async () => {
    const boom = new Error('onDue failed');
    const due: string[] = [];
    const errors: unknown[] = [];
    const s = timerScheduler(
      (t) => {
        due.push(t);
        if (t === 'BAD') throw boom;
      },
      (err) => errors.push(err),
    );
    s.start();
    s.arm(id('BAD'), (T0_MS + 100) * MS);
    s.arm(id('X'), (T0_MS + 100) * MS);
    s.arm(id('Y'), (T0_MS + 100) * MS);
    await vi.advanceTimersByTimeAsync(100);
    // Whatever was left behind the throw is re-armed for "now" (a 0 ms timer), not lost.
    await vi.advanceTimersByTimeAsync(1);
    expect(errors).toEqual([boom]);
    expect([...due].sort()).toEqual(['BAD', 'X', 'Y']);
    expect(s.size).toBe(0);
  });

  it('a rejected promise from onDue is reported to onError and the scheduler keeps firing', async () => {
    const due: string[] = [];
    const errors: unknown[] = [];
    const s = timerScheduler(
      (t) => {
        due.push(t);
        return t === 'BAD' ? Promise.reject(new Error('async failure')) : undefined;
      },
      (err) => errors.push(err),
    );
    s.start();
    s.arm(id('BAD'), (T0_MS + 10) * MS);
    s.arm(id('GOOD'), (T0_MS + 20) * MS);
    await vi.advanceTimersByTimeAsync(20);
    await vi.advanceTimersByTimeAsync(1);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('async failure');
    expect(due).toEqual(['BAD', 'GOOD']);
  });

  it('timer-driven firing awaits a slow onDue before the next, and deadlines armed meanwhile still fire', async () => {
    const log: string[] = [];
    const s = timerScheduler(async (t) => {
      log.push(`start:${t}`);
      await new Promise<void>((resolve) => setTimeout(resolve, 50));
      log.push(`end:${t}`);
    });
    s.start();
    s.arm(id('A'), (T0_MS + 10) * MS);
    s.arm(id('B'), (T0_MS + 10) * MS);
    await vi.advanceTimersByTimeAsync(10);
    expect(log).toEqual([expect.stringMatching(/^start:/)]);
    // Armed while firing: must not start concurrently, must fire afterwards.
    s.arm(id('C'), (T0_MS + 20) * MS);
    await vi.advanceTimersByTimeAsync(200);
    expect(log).toHaveLength(6);
    for (let i = 0; i < 6; i += 2) {
      expect(log[i]).toMatch(/^start:/);
      expect(log[i + 1]).toBe(`end:${(log[i] as string).slice('start:'.length)}`);
    }
    expect(log.slice(4)).toEqual(['start:C', 'end:C']);
  });
});
