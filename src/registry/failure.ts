/**
 * What a failed REST pass means: whether retrying can fix it (a 5xx, a 429, a timeout, a reset
 * connection) or not (credentials refused, a body that is not Kalshi's JSON, a repeated cursor),
 * and a stable key per cause so that each distinct cause is logged once, not once per retry.
 */
import { ValidationError } from '../errors.js';
import { HttpError, PaginationLoopError, ResponseParseError } from '../kalshi/http-errors.js';

export interface FailureInfo {
  readonly message: string;
  /** Retrying the same request will fail the same way until someone changes something. */
  readonly permanent: boolean;
  /** Same for every occurrence of one cause (the message minus what varies, such as the cursor). */
  readonly cause: string;
}

/** Statuses that retrying does not fix: the request or its credentials are wrong. */
const PERMANENT_STATUSES: ReadonlySet<number> = new Set([400, 401, 403, 404, 405, 410]);

export function describeFailure(err: unknown): FailureInfo {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof HttpError) {
    return { message, permanent: PERMANENT_STATUSES.has(err.status), cause: `HTTP ${err.status} ${err.url.split('?')[0] ?? ''}` };
  }
  if (err instanceof ResponseParseError) return { message, permanent: true, cause: `unparsable body from ${err.url.split('?')[0] ?? ''}` };
  if (err instanceof PaginationLoopError) return { message, permanent: true, cause: `repeated cursor on ${err.endpoint}` };
  // A page whose envelope is not Kalshi's ({markets: [...], cursor}): the URL points elsewhere.
  if (err instanceof ValidationError) return { message, permanent: true, cause: `invalid body: ${err.source}` };
  const name = err instanceof Error ? err.name : 'Error';
  const code = (err as { code?: unknown } | null)?.code;
  return { message, permanent: false, cause: `${name}${typeof code === 'string' ? ` ${code}` : ''}` };
}

/** Logs each distinct cause once (until a success resets it), then only counts. */
export class FailureLog {
  readonly #seen = new Set<string>();

  /** True the first time `cause` is seen since the last reset. */
  first(cause: string): boolean {
    if (this.#seen.has(cause)) return false;
    this.#seen.add(cause);
    return true;
  }

  reset(): void {
    this.#seen.clear();
  }
}
