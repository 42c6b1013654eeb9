/** The REST client's counters: one mutable object per client, shared by its modules. */

export interface KalshiRestStats {
  /** HTTP attempts sent. */
  requests: number;
  /** Retries after 429/5xx/network/timeout. */
  retries: number;
  /** Extra attempts made by `getMarket`'s 404-retry window. */
  notFoundRetries: number;
  /** 429 responses. */
  rateLimited: number;
  /** 5xx responses. */
  serverErrors: number;
  networkErrors: number;
  timeouts: number;
  /** Body bytes received on the wire. */
  bytesReceived: number;
  /** Body bytes after decompression. */
  bytesDecoded: number;
}

export function createStats(): KalshiRestStats {
  return {
    requests: 0,
    retries: 0,
    notFoundRetries: 0,
    rateLimited: 0,
    serverErrors: 0,
    networkErrors: 0,
    timeouts: 0,
    bytesReceived: 0,
    bytesDecoded: 0,
  };
}

/**
 * How one HTTP attempt ended: its status, or how it failed without one — `timeout` (no complete
 * response within timeoutMs), `network` (connection refused, reset, DNS, TLS …), `aborted` (the
 * caller's signal or `close()`), `error` (anything else, e.g. a body over maxResponseBytes before
 * a status was read).
 */
export type RestAttemptStatus = number | 'timeout' | 'network' | 'aborted' | 'error';

/** One HTTP attempt of the REST client, as its `onRequest` listeners see it. */
export interface RestRequestObservation {
  /** HTTP method, e.g. "GET". */
  readonly method: string;
  /**
   * The endpoint as a template below the base path, e.g. `/markets`, `/markets/{ticker}`,
   * `/events/multivariate`, `/exchange/status`: never a ticker, so a metric labelled by it has a
   * handful of series, not one per market.
   */
  readonly endpoint: string;
  readonly status: RestAttemptStatus;
  /** From sending the request to the end of its decoded body (real time, whatever the client's clock), in ms. */
  readonly durationMs: number;
  /** 1-based attempt of the logical request. */
  readonly attempt: number;
  /** True when this attempt retried an earlier one (after a 429, a 5xx, a timeout or a network error). */
  readonly retry: boolean;
}

/** A listener of every HTTP attempt (see KalshiRestClient.onRequest). */
export type RestRequestListener = (observation: RestRequestObservation) => void;
