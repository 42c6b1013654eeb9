/**
 * One connection attempt to NATS that an abort signal can walk away from. The caller retries
 * (with its own backoff) until one succeeds; after that the client reconnects by itself, forever.
 * No `waitOnFirstConnect`: a first connect that could never be cancelled would keep a stopped
 * registry's process alive.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';

export async function connectNats(url: string, name: string, signal: AbortSignal): Promise<NatsConnection | null> {
  if (signal.aborted) return null;
  const pending = connect({ servers: url.split(','), name, maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 5_000 });
  let onAbort: (() => void) | null = null;
  const aborted = new Promise<null>((resolve) => {
    onAbort = () => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const nc = await Promise.race([pending, aborted]);
    if (nc === null)
      pending.then(
        (c) => c.close(),
        () => {},
      );
    return nc;
  } finally {
    if (onAbort !== null) signal.removeEventListener('abort', onAbort);
  }
}
