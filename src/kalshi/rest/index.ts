/** The REST client's public surface (re-exported by src/kalshi/rest-client.ts). */
export { KalshiRestClient } from './client.js';
export type { BackoffOptions, KalshiRestClientOptions } from './options.js';
export type { KalshiRestStats, RestAttemptStatus, RestRequestListener, RestRequestObservation } from './stats.js';
export type { ExchangeStatusResult, GetMarketOptions } from './endpoints.js';
// eslint-disable-next-line @typescript-eslint/no-deprecated -- kept for existing importers
export { paginate, peekCursor, trailingCursor, type FetchPage, type PageOptions, type RawPage } from './pagination.js';
export {
  EventsQuerySchema,
  MarketsQuerySchema,
  MultivariateEventsQuerySchema,
  encodeQuery,
  queryCodec,
  type EventsQuery,
  type MarketsQuery,
  type MultivariateEventsQuery,
  type QueryCodec,
  type WireNames,
} from './query.js';
export {
  DEFAULT_RETRY_POLICY,
  classifyError,
  parseRetryAfter,
  retryDelay,
  statusIn,
  type AttemptFailure,
  type RetryPolicy,
  type StatusSet,
} from './retry-policy.js';
export type { EventStatusFilter, MveFilter } from '../../domain/vocabulary.js';
export {
  ClientClosedError,
  HttpError,
  KalshiRequestError,
  NetworkError,
  PaginationLoopError,
  ResponseDecodeError,
  ResponseParseError,
  ResponseTooLargeError,
  TimeoutError,
} from '../http-errors.js';
