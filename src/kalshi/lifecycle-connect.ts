/**
 * The lifecycle connection on its own, for embedders that want Kalshi's lifecycle frames without
 * a registry (or want to hand them to one later with setLifecycleSource): the
 * lifecycle-connection chart run as a root actor, its frame queue exposed as an async iterable.
 *
 * ```ts
 * const conn = connectLifecycle({ url: KALSHI_HOSTS.prod.ws, credentials });
 * for await (const frame of conn.frames) handle(frame);   // raw text frames, control frames too
 * await conn.stop();
 * ```
 */
import { createActor, fromCallback, waitFor, type Actor } from 'xstate';
import { z } from 'zod';
import { lifecycleConnectionMachine } from '../../machines/lifecycle-connection.js';
import { OptionsError, formatIssues } from '../errors.js';
import type { Logger } from '../log.js';
import type { KalshiCredentials } from './auth.js';
import type { FrameQueue } from './frame-queue.js';
import { COMBO_LIFECYCLE_CHANNEL, MARKET_LIFECYCLE_CHANNEL } from './lifecycle-channels.js';
import { publicWsUrl, wsConnectionActor } from './ws-connection.js';

/** Options of connectLifecycle; every field but `url` has a default. */
export interface LifecycleConnectOptions {
  /** `ws://` or `wss://` URL, e.g. `wss://external-api-ws.kalshi.com/trade-api/ws/v2`. */
  readonly url: string;
  /** When given, the upgrade carries the KALSHI-ACCESS-* headers, signed over `GET` + the URL path. */
  readonly credentials?: KalshiCredentials;
  /** Default both lifecycle channels (`market_lifecycle_v2`, `multivariate_market_lifecycle`). */
  readonly channels?: readonly string[];
  readonly logger?: Logger;
  /** Reconnect backoff: ceiling of the first retry (default 250 ms), cap (default 30 s). */
  readonly reconnect?: { readonly baseMs?: number; readonly maxMs?: number; readonly maxAttempts?: number; readonly resetAfterMs?: number };
  /** Silence after which the connection is dropped and made again. Default 30 000 ms. */
  readonly idleTimeoutMs?: number;
  /** Queued frames above which the socket is paused. Default 10 000. */
  readonly highWaterMark?: number;
}

const positive = z.number().int().positive();
const OptionsSchema = z.object({
  url: z.string().refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'ws:' || u.protocol === 'wss:';
    } catch {
      return false;
    }
  }, 'must be a ws:// or wss:// URL'),
  channels: z.array(z.string().min(1)).min(1).optional(),
  reconnect: z
    .object({
      baseMs: positive.optional(),
      maxMs: positive.optional(),
      maxAttempts: z.union([z.number().int().nonnegative(), z.literal(Number.POSITIVE_INFINITY)]).optional(),
      resetAfterMs: z.number().int().nonnegative().optional(),
    })
    .refine((r) => (r.baseMs ?? 250) <= (r.maxMs ?? 30_000), { error: 'baseMs must not exceed maxMs', path: ['baseMs'] })
    .optional(),
  idleTimeoutMs: z.number().int().min(10).optional(),
  highWaterMark: positive.optional(),
});

export interface LifecycleConnectionHandle {
  /** Raw text frames in arrival order, across reconnects (one reader). Ends after stop() or giving up. */
  readonly frames: FrameQueue;
  /** The lifecycle-connection actor (inspect it, or read its context: failures, subscriptions…). */
  readonly actor: Actor<typeof lifecycleConnectionMachine>;
  /** Closes the connection and ends `frames`. */
  stop(): Promise<void>;
}

export function connectLifecycle(options: LifecycleConnectOptions): LifecycleConnectionHandle {
  const parsed = OptionsSchema.safeParse({ ...options, credentials: undefined, logger: undefined });
  if (!parsed.success) throw new OptionsError(`Invalid lifecycle connection options: ${formatIssues(parsed.error.issues)}`);
  const o = parsed.data;
  const machine = lifecycleConnectionMachine.provide({
    actors: {
      socket: wsConnectionActor({
        url: options.url,
        ...(options.credentials ? { credentials: options.credentials } : {}),
        ...(options.logger ? { logger: options.logger } : {}),
        ...(o.idleTimeoutMs ? { idleTimeoutMs: o.idleTimeoutMs } : {}),
      }),
      // The embedder reads the queue itself.
      consume: fromCallback(() => () => {}),
    },
  });
  const actor = createActor(machine, {
    input: {
      url: publicWsUrl(options.url),
      channels: o.channels ?? [MARKET_LIFECYCLE_CHANNEL, COMBO_LIFECYCLE_CHANNEL],
      reconnect: {
        baseMs: o.reconnect?.baseMs ?? 250,
        maxMs: o.reconnect?.maxMs ?? 30_000,
        maxAttempts: o.reconnect?.maxAttempts ?? Number.POSITIVE_INFINITY,
        resetAfterMs: o.reconnect?.resetAfterMs ?? 10_000,
      },
      highWaterMark: o.highWaterMark ?? 10_000,
    },
  });
  actor.start();
  const frames = actor.getSnapshot().context.frames;
  return {
    frames,
    actor,
    async stop() {
      if (actor.getSnapshot().status === 'active') actor.send({ type: 'STOP' });
      await waitFor(actor, (s) => s.status !== 'active');
      frames.end();
    },
  };
}
