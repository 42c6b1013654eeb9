/**
 * Cursor pagination: follow `cursor` until it is empty, refuse a cursor seen before
 * (PaginationLoopError), and keep one request ahead of the caller.
 *
 * The cursor makes pagination sequential, so the only overlap there is between the exchange
 * serving and the caller validating is to request page k+1 as soon as page k's cursor is known.
 * `peekCursor` reads it off the raw text before the page is parsed (parsing 1000 markets takes
 * several ms); the parsed cursor still decides, and a peeked one that turns out different is
 * dropped.
 */
import { PaginationLoopError } from '../http-errors.js';

/** One page of records, left unvalidated for per-record quarantine by the caller. */
export interface RawPage {
  readonly records: unknown[];
  /** Next cursor, or null when this was the last page. */
  readonly cursor: string | null;
  /** Bytes received on the wire for this page (compressed size when gzip was used). */
  readonly bytes: number;
  /** Size of the decoded JSON text. */
  readonly decodedBytes: number;
  /** `PageOptions.stamp()` taken just before this page's request was sent (when a stamp was given). */
  readonly requestedAt?: number;
}

/** Options of the page iterators (`marketPages`, `eventPages`, `multivariateEventPages`). */
export interface PageOptions {
  /**
   * Request page k+1 as soon as page k's cursor is known, while the caller still processes page
   * k (default true): the cursor makes pagination sequential, so this is the only overlap there
   * is between the exchange serving and the caller validating.
   */
  readonly prefetch?: boolean;
  /**
   * Called just before each page request is sent; its value comes back as `requestedAt`, so the
   * caller knows how old each page's data is even though requests run ahead of it.
   */
  readonly stamp?: () => number;
}

/**
 * Fetches the page at `cursor` (undefined: the first); `onBody` sees the raw text before the
 * parse and says whether it started another request.
 */
export type FetchPage = (cursor: string | undefined, onBody?: (text: string) => boolean) => Promise<RawPage>;

export async function* paginate(
  endpoint: string,
  firstCursor: string | undefined,
  fetchPage: FetchPage,
  { prefetch = true, stamp }: PageOptions,
): AsyncGenerator<RawPage, void, undefined> {
  const seen = new Set<string>();
  // Requests started from a cursor peeked in a body before it was parsed, by that cursor.
  const early = new Map<string, Promise<RawPage>>();
  const start = (cursor: string | undefined): Promise<RawPage> => {
    const requestedAt = stamp?.();
    const onBody = prefetch ? peek : undefined;
    const page = fetchPage(cursor, onBody).then((p) => (requestedAt === undefined ? p : { ...p, requestedAt }));
    // If the caller stops early a prefetched page is dropped; its failure must not surface.
    page.catch(() => {});
    return page;
  };
  /** Starts the request of the page whose cursor `text` begins or ends with; true if it did. */
  function peek(text: string): boolean {
    const cursor = peekCursor(text);
    if (cursor === null || seen.has(cursor) || early.has(cursor)) return false;
    early.set(cursor, start(cursor));
    return true;
  }
  const cursor = firstCursor || undefined;
  if (cursor) seen.add(cursor);
  let pending = start(cursor);
  for (let pageIndex = 0; ; pageIndex++) {
    const page = await pending;
    const next = page.cursor;
    if (next !== null && seen.has(next)) throw new PaginationLoopError(endpoint, next, pageIndex);
    if (next !== null) {
      seen.add(next);
      if (prefetch) {
        pending = early.get(next) ?? start(next);
        early.delete(next);
      }
    }
    yield page;
    if (next === null) return;
    if (!prefetch) pending = start(next);
  }
}

/** `{"cursor":"…",` at the very start of the body (after an optional BOM and whitespace). */
const LEADING_CURSOR = /^\uFEFF?\s*\{\s*"cursor"\s*:\s*"([^"\\]*)"\s*[,}]/;
/** `,"cursor":"…"}` at the very end of the body. */
const TRAILING_CURSOR = /"cursor"\s*:\s*"([^"\\]*)"\s*}\s*$/;
/** How much of each end of the body the peek looks at (Kalshi's cursors are ~50–150 chars). */
const PEEK_WINDOW = 1024;

/**
 * The cursor of a page body, read without parsing it, when it is the FIRST top-level key (real
 * Kalshi pages: keys are alphabetical, `{"cursor":"…","markets":[…]}`) or the LAST one
 * (`{…,"cursor":"…"}`); null when it is neither, empty (the last page) or written with escapes.
 * Only those two places are looked at, so a `cursor` key inside a record is never taken for the
 * page's: the head case needs the body to start with `{"cursor":`, which only the top-level
 * object's first key can; the tail case needs the key to close the top-level object. A null
 * only means the caller waits for the parse.
 */
export function peekCursor(text: string): string | null {
  const head = LEADING_CURSOR.exec(text.length > PEEK_WINDOW ? text.slice(0, PEEK_WINDOW) : text);
  if (head) return head[1] || null;
  return TRAILING_CURSOR.exec(text.length > PEEK_WINDOW ? text.slice(-PEEK_WINDOW) : text)?.[1] || null;
}

/** @deprecated The peek is no longer tail-only: use `peekCursor` (same function). */
export const trailingCursor = peekCursor;
