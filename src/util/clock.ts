/**
 * The one time source of the REST side: a clock that reads the time and schedules callbacks.
 * Every wait the REST client chooses to take (retry backoff, the 404-retry window of
 * `getMarket`, rate-limiter refills) and every timestamp it takes go through a `Clock`, so tests
 * run those paths on simulated time instead of real waits.
 *
 * The shape is xstate's: an `xstate` `SimulatedClock` is a `Clock` as is, so a test can drive
 * the statecharts and the REST client from the same simulated time.
 */
import { performance } from 'node:perf_hooks';
import { abortReason } from './abort.js';

export interface Clock {
  /** Milliseconds; only differences are used, so it only needs to be monotonic. */
  now(): number;
  /** Calls `fn` once, `ms` milliseconds from now (by this clock); returns a handle for `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock: `performance.now()` and the global timers. */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms),
  clearTimeout: (handle: unknown): void => clearTimeout(handle as ReturnType<typeof setTimeout>),
});

/**
 * Resolves after `ms` milliseconds of `clock` time. Rejects with the signal's reason (an
 * `AbortError` DOMException when it has none) as soon as `signal` aborts, and clears the timer.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(abortReason(signal as AbortSignal));
    };
    const handle = clock.setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
