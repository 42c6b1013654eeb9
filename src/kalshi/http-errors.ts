/**
 * Typed errors of the Kalshi REST client, each with a stable `code` (src/errors.ts lists them).
 * A message says what failed (method, URL, attempts, status or cause) and what that usually
 * means; it names no command-line flag (a CLI adds its own hints from `code`).
 *
 * URLs in errors never carry credentials: auth is in headers (never echoed) and any user-info in
 * the base URL is removed by `redactUrl` (src/util/redact-url.ts) before a URL is put in an error.
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
  override readonly code = 'E_HTTP_STATUS';
  constructor(
    method: string,
    url: string,
    attempts: number,
    readonly status: number,
    /** The first few hundred characters of the response body. */
    readonly bodyExcerpt: string,
  ) {
    super(
      method,
      url,
      attempts,
      `${method} ${url} failed with HTTP ${status}${afterAttempts(attempts)}${bodyExcerpt ? `: ${bodyExcerpt}` : ''}.${meaningOfStatus(status)}`,
    );
  }
}

/** The connection failed (refused, reset, DNS, TLS …) on every attempt. */
export class NetworkError extends KalshiRequestError {
  override readonly name = 'NetworkError';
  override readonly code = 'E_NETWORK';
  constructor(
    method: string,
    url: string,
    attempts: number,
    /** The system / undici error code of the last failure, e.g. ECONNREFUSED or UND_ERR_SOCKET. */
    readonly causeCode: string,
    cause: unknown,
  ) {
    super(method, url, attempts, `${method} ${url} failed: network error ${causeCode}${afterAttempts(attempts)}.${meaningOfCauseCode(causeCode)}`, { cause });
  }
}

/** No complete response (headers and body) within the timeout on every attempt. */
export class TimeoutError extends KalshiRequestError {
  override readonly name = 'TimeoutError';
  override readonly code = 'E_TIMEOUT';
  constructor(
    method: string,
    url: string,
    attempts: number,
    readonly timeoutMs: number,
  ) {
    super(
      method,
      url,
      attempts,
      `${method} ${url} timed out: no complete response within ${timeoutMs} ms${attempts > 1 ? ` on any of ${attempts} attempts` : ''} (the client's timeoutMs). The server is slow or unreachable.`,
    );
  }
}

/**
 * A response body that could not be read as JSON. Never retried. This class is the body that
 * is not JSON (`E_NOT_JSON`); its subclasses are a body that cannot be decompressed and a body
 * over the size limit.
 */
export class ResponseParseError extends KalshiRequestError {
  override readonly name: string = 'ResponseParseError';
  override readonly code: 'E_NOT_JSON' | 'E_BAD_ENCODING' | 'E_RESPONSE_TOO_LARGE' = 'E_NOT_JSON';
  constructor(
    method: string,
    url: string,
    attempts: number,
    readonly status: number,
    readonly bodyExcerpt: string,
    /** What was wrong with the body, e.g. the JSON parser's message. */
    readonly detail: string,
    cause?: unknown,
    message = `${method} ${url} returned HTTP ${status} with a body that is not JSON (${detail})${bodyExcerpt ? `: ${bodyExcerpt}` : ''}. The base URL may not point at the Kalshi Trade API (…/trade-api/v2) but at a proxy or a web page.`,
  ) {
    super(method, url, attempts, message, cause === undefined ? undefined : { cause });
  }
}

/** A body that could not be decompressed (corrupt gzip/deflate/br, or an unknown Content-Encoding). */
export class ResponseDecodeError extends ResponseParseError {
  override readonly name = 'ResponseDecodeError';
  override readonly code = 'E_BAD_ENCODING';
  constructor(method: string, url: string, attempts: number, status: number, detail: string, cause?: unknown) {
    super(method, url, attempts, status, '', detail, cause, `${method} ${url} returned HTTP ${status} with a body that could not be decompressed (${detail}).`);
  }
}

/** A body larger than the client's `maxResponseBytes`, on the wire or once decompressed. */
export class ResponseTooLargeError extends ResponseParseError {
  override readonly name = 'ResponseTooLargeError';
  override readonly code = 'E_RESPONSE_TOO_LARGE';
  constructor(
    method: string,
    url: string,
    attempts: number,
    status: number,
    readonly limitBytes: number,
    cause?: unknown,
  ) {
    super(
      method,
      url,
      attempts,
      status,
      '',
      `body larger than ${limitBytes} bytes`,
      cause,
      `${method} ${url} returned HTTP ${status} with a body larger than ${limitBytes} bytes (the client's maxResponseBytes); it was not read further.`,
    );
  }
}

/** The server handed back a cursor it had already returned: following it would loop forever. */
export class PaginationLoopError extends RegistryError {
  override readonly name = 'PaginationLoopError';
  override readonly code = 'E_PAGINATION_LOOP';
  constructor(
    /** The endpoint being paged, e.g. "/markets". */
    readonly endpoint: string,
    readonly cursor: string,
    /** Index (0-based) of the page that returned the repeated cursor. */
    readonly pageIndex: number,
  ) {
    super(
      `GET ${endpoint} returned cursor "${truncate(cursor, 80)}" on page ${pageIndex}, a cursor it had already returned: following it would loop forever, so paging stopped. The exchange's pagination is broken for this query.`,
    );
  }
}

/** The client was closed while the call was in flight or queued. */
export class ClientClosedError extends RegistryError {
  override readonly name = 'ClientClosedError';
  override readonly code = 'E_CLIENT_CLOSED';
  constructor() {
    super('The Kalshi REST client was closed; the request was cancelled.');
  }
}

function afterAttempts(attempts: number): string {
  return attempts > 1 ? ` after ${attempts} attempts` : '';
}

/** What a final status usually means (a leading space, or nothing). */
function meaningOfStatus(status: number): string {
  if (status === 401 || status === 403) return ' Kalshi refused the credentials: missing, wrong, or for the other environment (demo and prod keys differ).';
  if (status === 404) return ' No such resource (settled markets move to the historical endpoints).';
  if (status === 429) return ' Kalshi rate-limited every attempt.';
  if (status >= 500) return ' Kalshi is failing or in maintenance.';
  if (status === 400) return ' Kalshi rejected the request parameters (some filter combinations are not allowed).';
  return '';
}

/** What a connection failure code usually means (a leading space, or nothing). */
function meaningOfCauseCode(code: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return ' Nothing is listening at that address.';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return ' The host name could not be resolved.';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return ' The server closed the connection.';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return ' The connection could not be established in time.';
    default:
      if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT'))
        return ' The TLS handshake failed (http vs https, or the certificate).';
      return '';
  }
}

export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}
