/** WebSocket message payloads (`ws`'s RawData) as text. */
import type { RawData } from 'ws';

/**
 * A message's bytes as UTF-8 text. `ws` hands a Buffer (its default binaryType), but its type
 * also allows a fragment list or an ArrayBuffer; `String(data)` would turn those into
 * "[object ArrayBuffer]" or comma-joined chunks.
 */
export function rawDataToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
