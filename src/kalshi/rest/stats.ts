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
