/**
 * Simulated time for the REST client's tests, on xstate's SimulatedClock (the same clock the
 * statechart tests use): time moves only when the test says so, or — in `auto` mode — jumps
 * straight to the next timer whenever the program is idle waiting for one. Every delay asked
 * for is recorded, so a test can assert the backoff without sleeping through it.
 *
 * The REST client's per-attempt timeout runs on real timers (it bounds real I/O) and so is not
 * seen here: auto mode never fires a timeout early.
 */
import { SimulatedClock } from 'xstate';
import type { Clock } from '../../src/util/clock.js';

export class TestClock implements Clock {
  readonly sim = new SimulatedClock();
  /** Every `setTimeout` delay, in order. */
  readonly delays: number[] = [];
  readonly #due = new Map<number, number>();
  #kicked = false;

  constructor(readonly options: { readonly auto?: boolean } = {}) {}

  now(): number {
    return this.sim.now();
  }

  setTimeout(fn: () => void, ms: number): number {
    this.delays.push(ms);
    const handle = this.sim.setTimeout(() => {
      this.#due.delete(handle);
      fn();
    }, ms);
    this.#due.set(handle, this.sim.now() + ms);
    if (this.options.auto) this.#kick();
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.#due.delete(handle as number);
    this.sim.clearTimeout(handle as number);
  }

  /** Timers scheduled and neither fired nor cleared. */
  get pendingTimers(): number {
    return this.#due.size;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting their effects run. */
  async advance(ms: number): Promise<void> {
    const target = this.sim.now() + ms;
    await flush();
    for (;;) {
      const next = this.#next();
      if (next === undefined || next > target) break;
      this.sim.set(Math.max(this.sim.now(), next));
      await flush();
    }
    this.sim.set(target);
    await flush();
  }

  #next(): number | undefined {
    let min: number | undefined;
    for (const due of this.#due.values()) if (min === undefined || due < min) min = due;
    return min;
  }

  /** Auto mode: once the event loop is idle, jump to the earliest timer (repeatedly). */
  #kick(): void {
    if (this.#kicked) return;
    this.#kicked = true;
    setImmediate(() => {
      this.#kicked = false;
      const next = this.#next();
      if (next === undefined) return;
      this.sim.set(Math.max(this.sim.now(), next));
      if (this.#due.size > 0) this.#kick();
    });
  }
}

/** Lets pending promise callbacks and I/O callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
}
