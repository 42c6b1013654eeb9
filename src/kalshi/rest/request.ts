/**
 * One logical request: rate-limit tokens, an attempt on the transport, and the retry policy's
 * verdict, until there is an answer to hand back or an error to throw. Every wait (tokens,
 * backoff) is on the client's `Clock` and is cut short by the caller's signal or `close()`.
 */
import { setImmediate as immediate } from 'node:timers/promises';
import type { Logger } from '../../log.js';
import { linkSignals, abortReason } from '../../util/abort.js';
import { sleep, type Clock } from '../../util/clock.js';
import { redactUrl } from '../../util/redact-url.js';
import { HttpError, NetworkError, ResponseParseError, TimeoutError, truncate } from '../http-errors.js';
import type { RateLimiter } from '../rate-limiter.js';
import { retryDelay, type RetryPolicy } from './retry-policy.js';
import type { KalshiRestStats, RestAttemptStatus, RestRequestObservation } from './stats.js';
import { headerValue, type Attempt, type AttemptOutcome, type Transport } from './transport.js';

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
  /** Told of every HTTP attempt; null while nobody listens (no timing taken then). */
  readonly observe: () => ((observation: RestRequestObservation) => void) | null;
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
  /**
   * Sees a 2xx body as text before it is parsed (pagination peeks at the cursor); true when it
   * started another request, which must reach the wire before this body is parsed.
   */
  readonly onBody?: (text: string) => boolean;
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
  const endpoint = endpointTemplate(spec.path);
  const { policy, stats, logger } = ctx;
  const link = linkSignals(callerSignal, ctx.closed);
  const signal = link.signal;
  try {
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw abortReason(signal);
      await ctx.limiter.acquire(ctx.requestCost, signal);
      const outcome = await observedAttempt(ctx, { method, signedPath, pathWithQuery, url, attempt }, endpoint, signal);

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
        if (spec.onBody?.(text) === true) {
          // The peek started the next page's request, but it is not on the wire yet:
          // undici writes a request on a reused keep-alive socket only from a setImmediate of its
          // own (it first checks that the idle socket was not closed), queued by the microtasks
          // that follow this call. Parsing now (~10 ms for 1000 markets) would hold that write
          // back; ending this turn twice lets it go first, so the exchange builds page k+1 while
          // this process parses page k. The test with the exchange in another process checks it.
          await immediate();
          await immediate();
        }
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

/**
 * One attempt on the transport, reported to the client's listeners (when there are any) with
 * its status or failure and its real-time duration: once per attempt, whatever its outcome.
 */
async function observedAttempt(ctx: RestContext, a: Attempt, endpoint: string, signal: AbortSignal): Promise<AttemptOutcome> {
  const observe = ctx.observe();
  if (observe === null) return ctx.transport.send(a, signal);
  const started = performance.now();
  const report = (status: RestAttemptStatus): void =>
    observe({ method: a.method, endpoint, status, durationMs: performance.now() - started, attempt: a.attempt, retry: a.attempt > 1 });
  let outcome: AttemptOutcome;
  try {
    outcome = await ctx.transport.send(a, signal);
  } catch (err) {
    report(signal.aborted ? 'aborted' : failedStatus(err));
    throw err;
  }
  report(outcome.kind === 'response' ? outcome.status : outcome.kind);
  return outcome;
}

/** The status a thrown attempt had, when it had one (a body too large or undecodable), else 'error'. */
function failedStatus(err: unknown): RestAttemptStatus {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status > 0 ? status : 'error';
}

/** Path segments that are names of the API (kept); any other segment is an identifier. */
const STATIC_SEGMENT = /^[a-z][a-z_]*$/;
/** What an identifier is called after each collection, in the templates. */
const ID_NAMES: Readonly<Record<string, string>> = { markets: '{ticker}', events: '{event_ticker}', series: '{series_ticker}' };

/**
 * The endpoint of a request path as a template: `/markets/KXHIGHNY-26NOV24-T52` →
 * `/markets/{ticker}`. Tickers are upper case with digits and the API's own path words are
 * lower case, so any segment that is not a plain lower-case word is an identifier. What a
 * per-request listener labels its figures with: a bounded set, whatever the tickers.
 */
function endpointTemplate(path: string): string {
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i] as string;
    const collection = parts[i - 1] as string;
    if (part !== '' && !STATIC_SEGMENT.test(part)) parts[i] = Object.hasOwn(ID_NAMES, collection) ? (ID_NAMES[collection] as string) : '{id}';
  }
  return parts.join('/');
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
