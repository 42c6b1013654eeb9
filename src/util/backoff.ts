/**
 * The one retry delay of the registry: exponential backoff with full jitter, capped. REST
 * retries, the lifecycle connection's reconnects, the periodic tasks and the initial sync all
 * wait this long before attempt n+1.
 *
 * Full jitter (a uniform delay in [0, ceiling]) rather than equal jitter: many clients that failed
 * together (every registry of a desk after an exchange restart) spread out the most.
 */

/** Exponential backoff parameters, in milliseconds. */
export interface BackoffPolicy {
  /** Ceiling of the first retry's delay. */
  readonly baseMs: number;
  /** Cap of the ceiling. */
  readonly maxMs: number;
}

/**
 * Delay before retry number `failures` (1 for the first retry): uniform in
 * [0, min(maxMs, baseMs · 2^(failures-1))]. `random` is injectable so tests are deterministic.
 */
export function backoffDelay(failures: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(0, failures - 1), 30));
  return Math.floor(random() * ceiling);
}
