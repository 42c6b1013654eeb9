/**
 * Kalshi tickers as NATS subject tokens and KV keys.
 *
 * Tickers contain `.` (KXCPI-26MAR17-T0.7), NATS's token separator, and may contain characters
 * neither a subject token (no `.`, `*`, `>`, whitespace) nor a KV key (`[-/_=.A-Za-z0-9]`, no
 * leading or trailing `.`) allows. The encoding keeps `A–Z a–z 0–9 -` as they are and writes
 * every other UTF-8 byte as `_` followed by two upper-case hex digits, `_` itself included:
 *
 *   KXCPI-26MAR17-T0.7   →  KXCPI-26MAR17-T0_2E7
 *   KXMVE_X              →  KXMVE_5FX
 *   KX Ü                 →  KX_20_C3_9C
 *
 * It is reversible (decode(encode(t)) === t for every string), keeps ordinary tickers readable,
 * and its output is always a single subject token and a valid KV key. The empty ticker encodes
 * as `_` (a token cannot be empty); `_` alone decodes back to ''.
 */
const PLAIN = /^[A-Za-z0-9-]$/;
const HEX = '0123456789ABCDEF';
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** A ticker as one NATS subject token and KV key: `A–Z a–z 0–9 -` kept, every other UTF-8 byte as `_XX` (hex). */
export function encodeTicker(ticker: string): string {
  if (ticker === '') return '_';
  let out = '';
  let plainFrom = 0;
  for (let i = 0; i < ticker.length; i++) {
    const c = ticker.charCodeAt(i);
    const plain = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45;
    if (plain) continue;
    out += ticker.slice(plainFrom, i);
    // Surrogate pairs are encoded together, as the 4 UTF-8 bytes of their code point.
    const end = c >= 0xd800 && c <= 0xdbff && i + 1 < ticker.length ? i + 2 : i + 1;
    for (const byte of utf8.encode(ticker.slice(i, end))) out += `_${HEX[byte >> 4] as string}${HEX[byte & 15] as string}`;
    i = end - 1;
    plainFrom = end;
  }
  return plainFrom === 0 ? ticker : out + ticker.slice(plainFrom);
}

/** decodeTicker was given a token encodeTicker cannot have written. */
export class TickerCodecError extends Error {
  override readonly name = 'TickerCodecError';
}

/** The ticker an encoded token names: the inverse of encodeTicker. Throws TickerCodecError for anything else. */
export function decodeTicker(token: string): string {
  if (token === '_') return '';
  if (!token.includes('_')) {
    for (const ch of token) if (!PLAIN.test(ch)) throw new TickerCodecError(`not an encoded ticker: ${JSON.stringify(token)}`);
    return token;
  }
  const bytes: number[] = [];
  let out = '';
  const flush = () => {
    if (bytes.length === 0) return;
    try {
      out += utf8Decoder.decode(new Uint8Array(bytes));
    } catch {
      throw new TickerCodecError(`not an encoded ticker (bad UTF-8): ${JSON.stringify(token)}`);
    }
    bytes.length = 0;
  };
  for (let i = 0; i < token.length; i++) {
    const ch = token[i] as string;
    if (ch === '_') {
      const hex = token.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) throw new TickerCodecError(`not an encoded ticker: ${JSON.stringify(token)}`);
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
      continue;
    }
    if (!PLAIN.test(ch)) throw new TickerCodecError(`not an encoded ticker: ${JSON.stringify(token)}`);
    flush();
    out += ch;
  }
  flush();
  return out;
}
