/**
 * Typed errors. Every error the library throws on purpose is a `RegistryError` with a stable
 * `code`, after undici's `lib/core/errors.js` (`UND_ERR_*`).
 *
 * Scheme: `E_` + an upper-snake name of what went wrong. One code per kind of failure; a code,
 * once published, keeps its meaning. Messages say what went wrong in the library's own terms
 * (the request, the URL, the status, the option) and may be reworded at any time: match on
 * `code` (or the class), never on `message`. Messages never name a command-line flag: a CLI
 * maps codes to its own hints.
 *
 * | code                   | class                                  | when |
 * | ---------------------- | -------------------------------------- | ---- |
 * | `E_REGISTRY`           | `RegistryError`                        | unclassified (a subclass that sets no code of its own) |
 * | `E_OPTIONS`            | `OptionsError`                         | options that cannot work (e.g. a request cost the bucket can never grant) |
 * | `E_VALIDATION`         | `ValidationError`                      | input that failed its schema: options, a query, a page envelope, a record, a frame |
 * | `E_CREDENTIALS`        | (reserved for `CredentialsError`)      | an API key id or private key that cannot be used |
 * | `E_HTTP_STATUS`        | `HttpError`                            | a non-2xx answer not retried, or still failing after the last retry (`status`) |
 * | `E_NETWORK`            | `NetworkError`                         | the connection failed on every attempt (`causeCode`: ECONNREFUSED, UND_ERR_SOCKET …) |
 * | `E_TIMEOUT`            | `TimeoutError`                         | no complete response within `timeoutMs` on every attempt |
 * | `E_NOT_JSON`           | `ResponseParseError`                   | a 2xx body that is not JSON |
 * | `E_BAD_ENCODING`       | `ResponseDecodeError`                  | a 2xx body that cannot be decompressed (bad gzip, unknown Content-Encoding) |
 * | `E_RESPONSE_TOO_LARGE` | `ResponseTooLargeError`                | a body (on the wire or decompressed) above `maxResponseBytes` |
 * | `E_PAGINATION_LOOP`    | `PaginationLoopError`                  | the server handed back a cursor it had already returned |
 * | `E_CLIENT_CLOSED`      | `ClientClosedError`                    | the REST client was closed while the call was queued or in flight |
 * | `E_STATE_DIR`          | `StateDirError`                        | a state directory or file the registry cannot trust or use (`file`, `problem`) |
 *
 * The REST errors live in src/kalshi/http-errors.ts, `StateDirError` in src/persist/errors.ts.
 */
import type { z } from 'zod';

export const ERROR_CODES = [
  'E_REGISTRY',
  'E_OPTIONS',
  'E_VALIDATION',
  'E_CREDENTIALS',
  'E_HTTP_STATUS',
  'E_NETWORK',
  'E_TIMEOUT',
  'E_NOT_JSON',
  'E_BAD_ENCODING',
  'E_RESPONSE_TOO_LARGE',
  'E_PAGINATION_LOOP',
  'E_CLIENT_CLOSED',
  'E_STATE_DIR',
] as const;
export type RegistryErrorCode = (typeof ERROR_CODES)[number];

export class RegistryError extends Error {
  override readonly name: string = 'RegistryError';
  /** Stable machine-readable kind of failure (see the table above). */
  readonly code: RegistryErrorCode = 'E_REGISTRY';
}

/** Input that crossed a boundary (REST body, WS frame, options, query) and failed its schema. */
export class ValidationError extends RegistryError {
  override readonly name = 'ValidationError';
  override readonly code = 'E_VALIDATION';
  constructor(
    /** Where the input came from, e.g. "GET /markets page" or "market_lifecycle_v2 frame". */
    readonly source: string,
    readonly issues: readonly z.core.$ZodIssue[],
    message = `${source} failed validation: ${formatIssues(issues)}`,
  ) {
    super(message);
  }
}

/** Options that cannot work, passed to createRegistry, a client or the simulator. */
export class OptionsError extends RegistryError {
  override readonly name = 'OptionsError';
  override readonly code = 'E_OPTIONS';
}

/** True when `err` carries that `code` (also for an error from another copy of this package). */
export function hasErrorCode(err: unknown, code: RegistryErrorCode): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === code;
}

export function formatIssues(issues: readonly z.core.$ZodIssue[], max = 3): string {
  const shown = issues
    .slice(0, max)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
  return issues.length > max ? `${shown}; …and ${issues.length - max} more` : shown;
}
