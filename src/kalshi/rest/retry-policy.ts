/**
 * When a REST attempt is retried, and after how long — as data (after undici's RetryHandler
 * options: `statusCodes`, `errorCodes`, `maxRetries`, `retryAfter`), plus the few pure functions
 * that read it. The request loop (request.ts) asks `retryDelay` after every failed attempt.
 */
import { backoffDelay, type BackoffPolicy } from '../../util/backoff.js';

/** HTTP statuses as single codes and inclusive `[from, to]` ranges. */
export type StatusSet = readonly (number | readonly [from: number, to: number])[];

export interface RetryPolicy {
  /** Retries after the first attempt (so at most `maxRetries + 1` attempts). */
  readonly maxRetries: number;
  /** Statuses that are retried; every other non-2xx is final at once. */
  readonly retryStatuses: StatusSet;
  /**
   * Error codes (a thrown error's `code`, or its causes') that mean the connection failed: retried,
   * and reported as `NetworkError` (E_NETWORK) once the retries are spent.
   */
  readonly networkErrorCodes: readonly string[];
  /** Code prefixes with the same meaning (TLS failures). */
  readonly networkErrorCodePrefixes: readonly string[];
  /**
   * Error codes that mean the server was too slow (undici's own headers/body timers): retried
   * like the client's `timeoutMs` expiring, and reported as `TimeoutError` (E_TIMEOUT).
   */
  readonly timeoutErrorCodes: readonly string[];
  /** Full-jitter exponential backoff between attempts (src/util/backoff.ts). */
  readonly backoff: BackoffPolicy;
  /**
   * A retried status that carries `Retry-After` (delta-seconds or an HTTP-date) waits that long
   * instead of the backoff, capped at `maxMs`. Kalshi sends none today.
   */
  readonly retryAfter: { readonly honour: boolean; readonly maxMs: number };
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = deepFreeze({
  maxRetries: 5,
  // 429 and every 5xx but 501 Not Implemented and 505 HTTP Version Not Supported, which a retry
  // cannot change.
  retryStatuses: [429, 500, [502, 504], [506, 599]],
  networkErrorCodes: [
    'ECONNRESET',
    'ECONNREFUSED',
    'ECONNABORTED',
    'EPIPE',
    'ETIMEDOUT',
    'ENOTFOUND',
    'EAI_AGAIN',
    'ENETUNREACH',
    'ENETDOWN',
    'EHOSTUNREACH',
    'EHOSTDOWN',
    'ERR_STREAM_PREMATURE_CLOSE',
    'UND_ERR_SOCKET',
    'UND_ERR_CONNECT_TIMEOUT',
    'UND_ERR_INFO',
    'UND_ERR_PRX_TLS',
  ],
  networkErrorCodePrefixes: ['ERR_TLS', 'ERR_SSL'],
  timeoutErrorCodes: ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'],
  backoff: { baseMs: 250, maxMs: 15_000 },
  retryAfter: { honour: true, maxMs: 60_000 },
});

/** What went wrong with one attempt, as far as retrying is concerned. */
export type AttemptFailure =
  | { readonly kind: 'status'; readonly status: number; readonly retryAfter?: string | undefined }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'network'; readonly code: string };

export function statusIn(set: StatusSet, status: number): boolean {
  for (const s of set) {
    if (typeof s === 'number' ? s === status : status >= s[0] && status <= s[1]) return true;
  }
  return false;
}

/**
 * How long to wait before the attempt after `attempt` (1-based), or null when the failure is
 * final (not retryable, or no retries left). `retryAfter` says the delay came from the header.
 */
export function retryDelay(
  policy: RetryPolicy,
  failure: AttemptFailure,
  attempt: number,
  random: () => number,
  wallNowMs: number = Date.now(),
): { readonly delayMs: number; readonly retryAfter: boolean } | null {
  if (attempt > policy.maxRetries) return null;
  if (failure.kind === 'status') {
    if (!statusIn(policy.retryStatuses, failure.status)) return null;
    if (policy.retryAfter.honour) {
      const after = parseRetryAfter(failure.retryAfter, wallNowMs);
      if (after !== undefined) return { delayMs: Math.min(after, policy.retryAfter.maxMs), retryAfter: true };
    }
  }
  return { delayMs: backoffDelay(attempt, policy.backoff, random), retryAfter: false };
}

/**
 * Sorts a thrown error into the policy's classes: a timeout, a connection failure (with its
 * code), or null for anything else (which the caller rethrows as is).
 */
export function classifyError(policy: RetryPolicy, err: unknown): Extract<AttemptFailure, { kind: 'timeout' | 'network' }> | null {
  const code = errorCode(err);
  if (code !== undefined) {
    if (policy.timeoutErrorCodes.includes(code)) return { kind: 'timeout' };
    if (policy.networkErrorCodes.includes(code) || policy.networkErrorCodePrefixes.some((p) => code.startsWith(p))) return { kind: 'network', code };
  }
  // Node's http parser reports a peer that hung up mid-response by message only.
  if (err instanceof Error && /socket hang up|other side closed/i.test(err.message)) return { kind: 'network', code: 'ECONNRESET' };
  return null;
}

/** The `code` of an error or, failing that, of the first cause that has one. */
export function errorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const cause = (e as { cause?: unknown }).cause;
    if (cause === e) return undefined;
    e = cause;
  }
  return undefined;
}

/** Retry-After as a delay in ms (delta-seconds or HTTP-date), or undefined if absent/invalid. */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
