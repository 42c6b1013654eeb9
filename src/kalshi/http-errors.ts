/**
 * Typed errors of the Kalshi REST client. Each message says what failed and what to do about it.
 * URLs in errors never carry credentials: auth is in headers (never echoed) and any user-info in
 * the base URL is stripped by `redactUrl`.
 */
import { RegistryError } from '../errors.js';

/** Common fields of every error raised for one REST call. */
export abstract class KalshiRequestError extends RegistryError {
  constructor(
    readonly method: string,
    /** The request URL without credentials. */
    readonly url: string,
    /** How many HTTP attempts were made (1 = no retry). */
    readonly attempts: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A non-2xx answer that was not retryable, or still failing after the last retry. */
export class HttpError extends KalshiRequestError {
  override readonly name = 'HttpError';
  constructor(
    method: string,
    url: string,
    attempts: number,
    readonly status: number,
    /** The first few hundred characters of the response body. */
    readonly bodyExcerpt: string,
  ) {
    super(method, url, attempts, `${method} ${url} failed with HTTP ${status}${attempts > 1 ? ` after ${attempts} attempts` : ''}${bodyExcerpt ? `: ${bodyExcerpt}` : ''}. ${hintForStatus(status)}`);
  }
}

/** The connection failed (refused, reset, DNS, TLS …) on every attempt. */
export class NetworkError extends KalshiRequestError {
  override readonly name = 'NetworkError';
  constructor(
    method: string,
    url: string,
    attempts: number,
    /** The system / undici error code, e.g. ECONNREFUSED or UND_ERR_SOCKET. */
    readonly code: string,
    cause: unknown,
  ) {
    super(method, url, attempts, `${method} ${url} failed: network error ${code}${attempts > 1 ? ` after ${attempts} attempts` : ''}. ${hintForCode(code)}`, { cause });
  }
}

/** No complete response (headers and body) within the timeout on every attempt. */
export class TimeoutError extends KalshiRequestError {
  override readonly name = 'TimeoutError';
  constructor(
    method: string,
    url: string,
    attempts: number,
    readonly timeoutMs: number,
  ) {
    super(method, url, attempts, `${method} ${url} timed out after ${timeoutMs} ms${attempts > 1 ? ` (${attempts} attempts)` : ''}. Kalshi may be slow or unreachable: check connectivity to the REST host, or raise the client's timeoutMs option.`);
  }
}

/** The response body could not be decoded (bad gzip, not JSON, too large). Not retried. */
export class ResponseParseError extends KalshiRequestError {
  override readonly name = 'ResponseParseError';
  constructor(
    method: string,
    url: string,
    attempts: number,
    readonly status: number,
    readonly bodyExcerpt: string,
    detail: string,
    cause?: unknown,
  ) {
    super(method, url, attempts, `${method} ${url} returned HTTP ${status} with a body that could not be decoded as JSON (${detail})${bodyExcerpt ? `: ${bodyExcerpt}` : ''}. Check that --rest-url points at the Kalshi Trade API (…/trade-api/v2), not a proxy or web page.`, cause === undefined ? undefined : { cause });
  }
}

/** The server handed back a cursor it had already returned: following it would loop forever. */
export class PaginationLoopError extends RegistryError {
  override readonly name = 'PaginationLoopError';
  constructor(
    /** The endpoint being paged, e.g. "/markets". */
    readonly endpoint: string,
    readonly cursor: string,
    /** Index (0-based) of the page that returned the repeated cursor. */
    readonly pageIndex: number,
  ) {
    super(`GET ${endpoint} returned cursor "${truncate(cursor, 80)}" on page ${pageIndex} that it had already returned before; stopping to avoid an infinite loop. This is a Kalshi pagination bug: retry the sync later or narrow the query (status/series filters).`);
  }
}

/** The client was closed while the call was in flight or queued. */
export class ClientClosedError extends RegistryError {
  override readonly name = 'ClientClosedError';
  constructor() {
    super('The Kalshi REST client was closed; the request was cancelled.');
  }
}

function hintForStatus(status: number): string {
  if (status === 401 || status === 403) return 'Check the API key id and private key (and that they belong to this environment: demo and prod keys differ).';
  if (status === 404) return 'The resource does not exist (or was moved to the historical endpoints); check --rest-url and the ticker.';
  if (status === 429) return 'Kalshi rate-limited every attempt; lower the request rate (rateLimit tier) or raise maxRetries.';
  if (status >= 500) return 'Kalshi is failing or in maintenance; retry later (GET /exchange/status shows maintenance).';
  if (status === 400) return 'Kalshi rejected the query; check the filter combination (see shared/kalshi-api.md §2.1).';
  return 'Check --rest-url and the request parameters.';
}

function hintForCode(code: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'Nothing is listening at that address: check --rest-url (is the simulator running?).';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'The host name could not be resolved: check --rest-url and DNS.';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return 'The server closed the connection; Kalshi may be restarting or a proxy dropped it. Retry later.';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'Could not connect in time: check connectivity to the REST host and --rest-url.';
    default:
      if (code.startsWith('ERR_TLS') || code.includes('CERT')) return 'TLS failed: check --rest-url (http vs https) and certificates.';
      return 'Check --rest-url and network connectivity.';
  }
}

export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}

/** Removes user-info (user:password@) from a URL string. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}
