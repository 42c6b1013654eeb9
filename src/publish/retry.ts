/** Waiting and retrying until a stop signal: what the publisher and the follower do with NATS. */
import { backoffDelay } from '../util/backoff.js';

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs `fn` until it succeeds (its value) or `signal` aborts (null), with a jittered exponential
 * backoff (100 ms … 2 s) between attempts; `onFailure` hears of each failed attempt.
 */
export async function retryUntilStopped<T>(fn: () => Promise<T>, signal: AbortSignal, onFailure: (attempt: number, err: unknown) => void): Promise<T | null> {
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) return null;
    try {
      return await fn();
    } catch (err) {
      if (signal.aborted) return null;
      onFailure(attempt, err);
      await sleep(backoffDelay(attempt, { baseMs: 100, maxMs: 2_000 }), signal);
    }
  }
}
