/**
 * One logical request: rate-limit tokens, an attempt on the transport, and the retry policy's
 * verdict, until there is an answer to hand back or an error to throw. Every wait (tokens,
 * backoff) is on the client's `Clock` and is cut short by the caller's signal or `close()`.
 */
import type { Logger } from '../../log.js';
import { linkSignals, abortReason } from '../../util/abort.js';
import { sleep, type Clock } from '../../util/clock.js';
import { redactUrl } from '../../util/redact-url.js';
import { HttpError, NetworkError, ResponseParseError, TimeoutError, truncate } from '../http-errors.js';
import type { RateLimiter } from '../rate-limiter.js';
import { retryDelay, type RetryPolicy } from './retry-policy.js';
import type { KalshiRestStats } from './stats.js';
import { headerValue, type Transport } from './transport.js';

/** What every endpoint needs from its client. */
export interface RestContext {
  readonly origin: string;
  /** e.g. "/trade-api/v2" (no trailing slash). */
  readonly basePath: string;
  readonly transport: Transport;
  readonly limiter: RateLimiter;
  readonly requestCost: number;
  readonly timeoutMs: number;
  readonly policy: RetryPolicy;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  readonly stats: KalshiRestStats;
  /** Aborted by `close()` (with a ClientClosedError). */
  readonly closed: AbortSignal;
}

export interface RequestSpec {
  /** Path below the base path, e.g. "/markets". */
  readonly path: string;
  /** Encoded query string, '' or starting with '?'. */
  readonly query?: string;
  /** Non-2xx statuses handed back to the caller at once (e.g. 404 for getMarket). */
  readonly passStatuses?: readonly number[];
  /** A 5xx for which this returns true is handed back without retry (exchange status bodies). */
  readonly acceptServerError?: (status: number, json: unknown) => boolean;
  /** After the last retry, hand back these 5xx statuses instead of throwing. */
  readonly returnExhausted?: readonly number[];
  /** Sees a 2xx body as text before it is parsed (pagination peeks at the cursor). */
  readonly onBody?: (text: string) => void;
}

export interface RawResponse {
  readonly status: number;
  /** Parsed body; for non-2xx, `undefined` when the body is not JSON. */
  readonly json: unknown;
  readonly wireBytes: number;
  readonly decodedBytes: number;
}

export async function sendRequest(ctx: RestContext, spec: RequestSpec, callerSignal: AbortSignal | undefined): Promise<RawResponse> {
  const method = 'GET';
  const signedPath = `${ctx.basePath}${spec.path}`;
  const pathWithQuery = `${signedPath}${spec.query ?? ''}`;
  const url = redactUrl(`${ctx.origin}${pathWithQuery}`);
  const { policy, stats, logger } = ctx;
  const link = linkSignals(callerSignal, ctx.closed);
  const signal = link.signal;
  try {
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw abortReason(signal);
      await ctx.limiter.acquire(ctx.requestCost, signal);
      const outcome = await ctx.transport.send({ method, signedPath, pathWithQuery, url, attempt }, signal);

      if (outcome.kind !== 'response') {
        if (outcome.kind === 'timeout') stats.timeouts++;
        else stats.networkErrors++;
        const next = retryDelay(policy, outcome, attempt, ctx.random);
        if (next === null) {
          if (outcome.kind === 'timeout') throw new TimeoutError(method, url, attempt, ctx.timeoutMs);
          throw new NetworkError(method, url, attempt, outcome.code, outcome.error);
        }
        logger.warn(
          {
            method,
            url,
            attempt,
            maxRetries: policy.maxRetries,
            delayMs: Math.round(next.delayMs),
            reason: outcome.kind === 'timeout' ? `timeout ${ctx.timeoutMs} ms` : outcome.code,
          },
          'Kalshi request failed; retrying',
        );
        stats.retries++;
        await sleep(ctx.clock, next.delayMs, signal);
        continue;
      }

      const { status, text } = outcome;
      const base = { status, wireBytes: outcome.wireBytes, decodedBytes: outcome.decodedBytes };
      if (status >= 200 && status < 300) {
        spec.onBody?.(text);
        let json: unknown;
        try {
          json = JSON.parse(text) as unknown;
        } catch (err) {
          throw new ResponseParseError(method, url, attempt, status, excerpt(text), (err as Error).message, err);
        }
        return { ...base, json };
      }
      if (spec.passStatuses?.includes(status)) return { ...base, json: tryParseJson(text) };

      if (status === 429) stats.rateLimited++;
      if (status >= 500) stats.serverErrors++;
      if (status >= 500 && spec.acceptServerError) {
        const json = tryParseJson(text);
        if (spec.acceptServerError(status, json)) return { ...base, json };
      }
      const next = retryDelay(policy, { kind: 'status', status, retryAfter: headerValue(outcome.headers, 'retry-after') }, attempt, ctx.random);
      if (next !== null) {
        const fields = { method, url, status, attempt, maxRetries: policy.maxRetries, delayMs: Math.round(next.delayMs), retryAfter: next.retryAfter };
        if (status === 429) logger.debug(fields, 'Kalshi rate-limited the request (429); retrying');
        else logger.warn(fields, `Kalshi answered HTTP ${status}; retrying`);
        stats.retries++;
        await sleep(ctx.clock, next.delayMs, signal);
        continue;
      }
      if (spec.returnExhausted?.includes(status)) return { ...base, json: tryParseJson(text) };
      throw new HttpError(method, url, attempt, status, excerpt(text));
    }
  } finally {
    link.dispose();
  }
}

/** A wait on the client's clock that the caller's signal or `close()` cuts short. */
export async function pause(ctx: RestContext, ms: number, callerSignal: AbortSignal | undefined): Promise<void> {
  const link = linkSignals(callerSignal, ctx.closed);
  try {
    await sleep(ctx.clock, ms, link.signal);
  } finally {
    link.dispose();
  }
}

/** The first 300 characters of a body, whitespace collapsed (for error messages). */
function excerpt(text: string): string {
  return truncate(text.slice(0, 1_000).replace(/\s+/g, ' ').trim(), 300);
}

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
