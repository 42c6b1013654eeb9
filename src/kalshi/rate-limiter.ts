/**
 * Client-side rate limiting for Kalshi REST calls (shared/kalshi-api.md §9).
 *
 * Kalshi meters authenticated requests with continuously refilling token buckets: every request
 * costs tokens (default 10) and the Read bucket refills at the tier's budget per second. This file
 * mirrors that model so the client stays under the server's limit instead of collecting 429s.
 *
 * `TokenBucket.acquire` queues callers in FIFO order (a large request at the head is never starved
 * by small ones behind it), sleeps exactly until the head request can be granted (no polling), and
 * rejects promptly with `signal.reason` when a waiter's signal aborts. Time is read and waited on
 * through an injectable `Clock` (src/util/clock.ts) so tests drive it by hand.
 */
import { abortReason } from '../util/abort.js';
import { systemClock, type Clock } from '../util/clock.js';

export { systemClock, type Clock } from '../util/clock.js';

/** Kalshi usage tiers (§9). */
export const RATE_LIMIT_TIER_NAMES = ['basic', 'advanced', 'expert', 'premier', 'paragon', 'prime', 'prestige'] as const;
export type RateLimitTier = (typeof RATE_LIMIT_TIER_NAMES)[number];

export interface BucketParams {
  /** Tokens added per second (continuous refill). */
  readonly refillPerSec: number;
  /** Maximum tokens the bucket holds (the burst size). */
  readonly capacity: number;
}

/**
 * Read-bucket budgets per tier. Capacity holds 2 s of budget for Basic and Advanced, 1 s above
 * (Kalshi's Write buckets differ; the registry only reads).
 */
export const RATE_LIMIT_TIERS: Readonly<Record<RateLimitTier, BucketParams>> = Object.freeze({
  basic: { refillPerSec: 200, capacity: 400 },
  advanced: { refillPerSec: 300, capacity: 600 },
  expert: { refillPerSec: 600, capacity: 600 },
  premier: { refillPerSec: 1_000, capacity: 1_000 },
  paragon: { refillPerSec: 2_000, capacity: 2_000 },
  prime: { refillPerSec: 4_000, capacity: 4_000 },
  prestige: { refillPerSec: 6_000, capacity: 6_000 },
});

/** Token cost of a request unless Kalshi lists another (GET /account/endpoint_costs). */
export const DEFAULT_REQUEST_COST = 10;

/**
 * Budget used for unauthenticated requests, whose limits Kalshi does not document (§9
 * [UNCONFIRMED]): about 20 requests/s at the default cost, with a 1 s burst.
 */
export const UNAUTHENTICATED_LIMIT: BucketParams = Object.freeze({ refillPerSec: 200, capacity: 200 });

/** How a caller describes a limit: a tier name, explicit bucket parameters, or no limit at all. */
export type RateLimitSpec = RateLimitTier | BucketParams | 'unlimited';

/** What the REST client needs from a limiter. */
export interface RateLimiter {
  /** Waits (FIFO) until `cost` tokens are granted. Rejects with `signal.reason` on abort. */
  acquire(cost: number, signal?: AbortSignal): Promise<void>;
  /** Takes `cost` tokens now if possible (and nobody is queued); never waits. */
  tryAcquire(cost: number): boolean;
}

/** A limiter that grants everything immediately (for the local simulator). */
export const UNLIMITED: RateLimiter = Object.freeze({
  acquire(_cost: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return Promise.resolve();
  },
  tryAcquire(): boolean {
    return true;
  },
});

interface Waiter {
  readonly cost: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: (() => void) | undefined;
}

/** Rounding slack so float refill arithmetic never leaves a waiter one ulp short forever. */
const EPSILON = 1e-9;

export interface TokenBucketOptions extends BucketParams {
  /** Tokens at construction time; defaults to a full bucket (Kalshi starts full). */
  readonly initialTokens?: number;
  readonly clock?: Clock;
}

export class TokenBucket implements RateLimiter {
  readonly refillPerSec: number;
  readonly capacity: number;
  readonly #clock: Clock;
  #tokens: number;
  #last: number;
  readonly #queue: Waiter[] = [];
  /** The clock handle of the pending wake-up, if one is scheduled. */
  #timer: { handle: unknown } | null = null;

  constructor(options: TokenBucketOptions) {
    const { refillPerSec, capacity } = options;
    if (!(Number.isFinite(refillPerSec) && refillPerSec > 0)) {
      throw new RangeError(`TokenBucket refillPerSec must be a positive number, got ${refillPerSec}`);
    }
    if (!(Number.isFinite(capacity) && capacity > 0)) {
      throw new RangeError(`TokenBucket capacity must be a positive number, got ${capacity}`);
    }
    this.refillPerSec = refillPerSec;
    this.capacity = capacity;
    this.#clock = options.clock ?? systemClock;
    this.#tokens = Math.min(capacity, Math.max(0, options.initialTokens ?? capacity));
    this.#last = this.#clock.now();
  }

  /** Tokens currently in the bucket (after refill). */
  available(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Number of callers waiting in `acquire`. */
  get pending(): number {
    return this.#queue.length;
  }

  tryAcquire(cost: number = DEFAULT_REQUEST_COST): boolean {
    this.#checkCost(cost);
    if (this.#queue.length > 0) return false; // FIFO: do not overtake waiters
    this.#refill();
    if (this.#tokens + EPSILON < cost) return false;
    this.#take(cost);
    return true;
  }

  acquire(cost: number = DEFAULT_REQUEST_COST, signal?: AbortSignal): Promise<void> {
    const invalid = this.#costError(cost);
    if (invalid) return Promise.reject(invalid);
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.tryAcquire(cost)) return Promise.resolve();

    return new Promise<void>((resolve, reject) => {
      const onAbort = signal
        ? (): void => {
            const idx = this.#queue.indexOf(waiter);
            if (idx === -1) return;
            this.#queue.splice(idx, 1);
            reject(abortReason(signal));
            // The head may have changed: recompute the wake-up time (and grant if possible).
            if (idx === 0) this.#reschedule();
          }
        : undefined;
      const waiter: Waiter = { cost, resolve, reject, signal, onAbort };
      this.#queue.push(waiter);
      if (signal && onAbort) signal.addEventListener('abort', onAbort, { once: true });
      if (this.#queue.length === 1) this.#reschedule();
    });
  }

  #checkCost(cost: number): void {
    const invalid = this.#costError(cost);
    if (invalid) throw invalid;
  }

  #costError(cost: number): RangeError | null {
    if (!(Number.isFinite(cost) && cost > 0)) return new RangeError(`token cost must be a positive number, got ${cost}`);
    if (cost > this.capacity) return new RangeError(`token cost ${cost} exceeds the bucket capacity ${this.capacity}; it could never be granted`);
    return null;
  }

  #refill(): void {
    const now = this.#clock.now();
    const elapsed = now - this.#last;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.capacity, this.#tokens + (elapsed * this.refillPerSec) / 1000);
      this.#last = now;
    }
  }

  #take(cost: number): void {
    this.#tokens = Math.max(0, this.#tokens - cost);
  }

  /** Grants every waiter that can be granted now, then sets one timer for when the new head can be. */
  #reschedule(): void {
    if (this.#timer) {
      this.#clock.clearTimeout(this.#timer.handle);
      this.#timer = null;
    }
    this.#refill();
    while (this.#queue.length > 0) {
      const head = this.#queue[0];
      if (head === undefined || this.#tokens + EPSILON < head.cost) break;
      this.#queue.shift();
      this.#take(head.cost);
      if (head.signal && head.onAbort) head.signal.removeEventListener('abort', head.onAbort);
      head.resolve();
    }
    const head = this.#queue[0];
    if (head === undefined) return;
    const deficit = head.cost - this.#tokens;
    const waitMs = Math.max(1, Math.ceil((deficit * 1000) / this.refillPerSec));
    const timer: { handle: unknown } = { handle: undefined };
    this.#timer = timer;
    timer.handle = this.#clock.setTimeout(() => {
      if (this.#timer === timer) {
        this.#timer = null;
        this.#reschedule();
      }
    }, waitMs);
  }
}

/** Builds the limiter for a spec. */
export function createRateLimiter(spec: RateLimitSpec, clock?: Clock): RateLimiter {
  if (spec === 'unlimited') return UNLIMITED;
  const params = typeof spec === 'string' ? RATE_LIMIT_TIERS[spec] : spec;
  return new TokenBucket({ ...params, ...(clock ? { clock } : {}) });
}
