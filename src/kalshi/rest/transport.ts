/**
 * One HTTP attempt: sign, send on the client's undici Pool, read the whole body within
 * `timeoutMs` (headers + body), decompress and decode it. Retrying is not its business: a
 * timeout or a connection failure comes back as an outcome for the request loop to judge.
 *
 * The body size limit is undici's own `maxResponseSize` (on the wire, per response); the
 * decompressed size is bounded by zlib's `maxOutputLength`. Both surface as
 * `ResponseTooLargeError`.
 *
 * `timeoutMs` runs on the real timers, not on the client's `Clock`: it bounds real I/O, which a
 * simulated clock does not drive (undici's own headers/body timers are real too).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';
import { RegistryError } from '../../errors.js';
import { abortReason } from '../../util/abort.js';
import { signKalshiRequest, type KalshiCredentials } from '../auth.js';
import { ResponseDecodeError, ResponseTooLargeError } from '../http-errors.js';
import { ACCEPT_ENCODING, DECODED_TOO_LARGE, bodyText, decodeContent } from './decode.js';
import { classifyError, errorCode, type RetryPolicy } from './retry-policy.js';
import type { KalshiRestStats } from './stats.js';

/** undici's code for a body over `maxResponseSize`. */
const WIRE_TOO_LARGE = 'UND_ERR_RES_EXCEEDED_MAX_SIZE';

export interface TransportOptions {
  readonly origin: string;
  readonly connections: number;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly userAgent: string;
  readonly credentials: KalshiCredentials | undefined;
  /** Which thrown errors are timeouts or connection failures. */
  readonly policy: RetryPolicy;
  readonly stats: KalshiRestStats;
}

export interface Attempt {
  readonly method: 'GET';
  /** Path from the API root without the query: what is signed. */
  readonly signedPath: string;
  readonly pathWithQuery: string;
  /** For errors: the full URL without credentials. */
  readonly url: string;
  /** 1-based, for errors. */
  readonly attempt: number;
}

export type AttemptOutcome =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly headers: IncomingHttpHeaders;
      /** The decoded body ('<undecodable body>' for a non-2xx whose body could not be decompressed). */
      readonly text: string;
      readonly wireBytes: number;
      readonly decodedBytes: number;
    }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'network'; readonly code: string; readonly error: unknown };

export class Transport {
  readonly #pool: Pool;
  readonly #o: TransportOptions;

  constructor(options: TransportOptions) {
    this.#o = options;
    this.#pool = new Pool(options.origin, {
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: 10_000,
      keepAliveMaxTimeout: 60_000,
      // Our own timer enforces timeoutMs over headers + body; these are only a backstop.
      headersTimeout: options.timeoutMs + 1_000,
      bodyTimeout: options.timeoutMs + 1_000,
      connect: { timeout: Math.min(options.timeoutMs, 10_000) },
      maxResponseSize: options.maxResponseBytes,
    });
  }

  /** Sends one attempt and reads its whole body. Rejects with `signal.reason` on abort. */
  async send(a: Attempt, signal: AbortSignal): Promise<AttemptOutcome> {
    const o = this.#o;
    const headers: Record<string, string> = {
      accept: 'application/json',
      'accept-encoding': ACCEPT_ENCODING,
      'user-agent': o.userAgent,
      ...(o.credentials ? signKalshiRequest(o.credentials, a.method, a.signedPath) : {}),
    };
    // Aborted by the caller's signal (onAbort) or by the timeout, nothing else.
    const ctrl = new AbortController();
    const onAbort = (): void => ctrl.abort(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      ctrl.abort(new Error(`timeout after ${o.timeoutMs} ms`));
    }, o.timeoutMs);
    let status = 0;
    let wire: Buffer;
    let responseHeaders: IncomingHttpHeaders;
    try {
      o.stats.requests++;
      const res = await this.#pool.request({ method: a.method, path: a.pathWithQuery, headers, signal: ctrl.signal });
      status = res.statusCode;
      responseHeaders = res.headers;
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        const buf = chunk as Buffer;
        size += buf.length;
        o.stats.bytesReceived += buf.length;
        chunks.push(buf);
      }
      wire = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
    } catch (err) {
      if (signal.aborted) throw abortReason(signal);
      if (err instanceof RegistryError) throw err;
      if (ctrl.signal.aborted) return { kind: 'timeout' };
      if (errorCode(err) === WIRE_TOO_LARGE) throw new ResponseTooLargeError(a.method, a.url, a.attempt, status, o.maxResponseBytes, err);
      const failure = classifyError(o.policy, err);
      if (failure?.kind === 'timeout') return failure;
      if (failure?.kind === 'network') return { kind: 'network', code: failure.code, error: err };
      throw err;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }

    let body: Buffer;
    try {
      body = await decodeContent(wire, headerValue(responseHeaders, 'content-encoding'), o.maxResponseBytes);
    } catch (err) {
      if (errorCode(err) === DECODED_TOO_LARGE) throw new ResponseTooLargeError(a.method, a.url, a.attempt, status, o.maxResponseBytes, err);
      if (status >= 200 && status < 300)
        throw new ResponseDecodeError(a.method, a.url, a.attempt, status, err instanceof Error ? err.message : String(err), err);
      body = Buffer.from('<undecodable body>');
    }
    o.stats.bytesDecoded += body.length;
    return { kind: 'response', status, headers: responseHeaders, text: bodyText(body), wireBytes: wire.length, decodedBytes: body.length };
  }

  /** Closes the pool (in-flight requests finish), or destroys it if closing fails. */
  close(): Promise<void> {
    return this.#pool.close().catch(() => this.#pool.destroy().catch(() => {}));
  }
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}
