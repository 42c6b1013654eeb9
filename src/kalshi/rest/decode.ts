/**
 * Response bodies: undoing Content-Encoding (node:zlib; undici's `request` does not decompress,
 * and its `decompress` interceptor is still experimental in 7.x) and turning bytes into text.
 */
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);
const brotliDecompress = promisify(zlib.brotliDecompress);
const utf8 = new TextDecoder('utf-8');

/** What the client asks for: the codings `decodeContent` undoes. */
export const ACCEPT_ENCODING = 'gzip, deflate';

/** zlib's code when the decompressed body would exceed `maxOutputLength`. */
export const DECODED_TOO_LARGE = 'ERR_BUFFER_TOO_LARGE';

/**
 * Undoes `Content-Encoding` (gzip, x-gzip, deflate — zlib-wrapped or raw — and br). Never
 * produces more than `maxBytes` (rejects with code ERR_BUFFER_TOO_LARGE). Rejects on a corrupt
 * body or an unknown coding.
 */
export async function decodeContent(wire: Buffer, contentEncoding: string | undefined, maxBytes: number): Promise<Buffer> {
  if (!contentEncoding) return wire;
  const codings = contentEncoding
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c && c !== 'identity');
  const opts = { maxOutputLength: maxBytes };
  let out = wire;
  // Codings are listed in the order they were applied; undo them in reverse.
  for (const coding of codings.reverse()) {
    if (coding === 'gzip' || coding === 'x-gzip') out = await gunzip(out, opts);
    else if (coding === 'deflate') {
      // "deflate" should be zlib-wrapped, but some servers send raw deflate.
      try {
        out = await inflate(out, opts);
      } catch (err) {
        if ((err as { code?: unknown }).code === DECODED_TOO_LARGE) throw err;
        out = await inflateRaw(out, opts);
      }
    } else if (coding === 'br') out = await brotliDecompress(out, opts);
    else throw new Error(`unsupported Content-Encoding "${coding}"`);
  }
  return out;
}

/**
 * The body as text (UTF-8).
 *
 * Not `toString('latin1')` for ASCII bodies, although that decodes a 1.6 MB page of 1000 markets
 * ~1.2 ms faster: Node makes a string that large an external one (outside the V8 heap), and
 * hundreds of external strings keep V8 collecting for memory pressure. With the page's strings
 * kept, as the store keeps them (bench/micro-decode.ts: 600 pages decoded, parsed, three strings
 * per record kept), TextDecoder costs 10.4 µs CPU per market and latin1 13.8; in a 300k-market
 * sync, latin1 meant 13 mark-compacts instead of 4.
 */
export function bodyText(body: Buffer): string {
  return utf8.decode(body);
}
