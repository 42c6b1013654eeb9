/**
 * The registry's own lifecycle WebSocket connection to Kalshi, as a statechart:
 *
 *   active.connection.connecting → …subscribing → …subscribed
 *        ↑                                          │ closed / idle / handshake refused
 *        └──────── active.reconnecting (backoff) ←──┘ ──(too many failures)──→ failed
 *   STOP (anywhere in active) → stopped
 *
 * `active.connection` invokes the `socket` callback actor (one `ws` WebSocket: handshake, frames into the
 * frame queue, liveness watchdog; src/kalshi/ws-connection.ts), so leaving `connection` always
 * closes that socket. The root invokes the `consume` actor, which reads the frame queue into the
 * registry for as long as this machine lives, across reconnects: one queue, one consumer, one
 * sequence-tracking session per invocation of this machine, so nothing leaks into the next one.
 *
 * Frames are data, not events: at 100k+/s they go straight into the queue. The chart sees only
 * what changes the connection: open, a `subscribed` reply, a terminal channel error (10/25:
 * resubscribe that channel), close, idle timeout.
 */
import { assign, enqueueActions, fromCallback, sendTo, setup, type AnyActorRef } from 'xstate';
import { FrameQueue } from '../src/kalshi/frame-queue.js';
import { backoffDelay, type BackoffPolicy } from '../src/util/backoff.js';

export interface LifecycleConnectionInput {
  /** The exchange's WebSocket URL without user-info (for display; the socket actor knows the real one). */
  readonly url: string;
  /** Channels subscribed with one `subscribe` command. */
  readonly channels: readonly string[];
  readonly reconnect: BackoffPolicy & {
    /** Consecutive failed connections tolerated before `failed`. */
    readonly maxAttempts: number;
    /** A connection subscribed at least this long resets the failure count. */
    readonly resetAfterMs: number;
  };
  /** Queued frames above which the socket is paused. */
  readonly highWaterMark: number;
  /**
   * Who hears what the consumer reports (loss suspected, unknown markets) and that the
   * connection is subscribed: the supervisor passes itself. Null when run on its own.
   */
  readonly parent?: AnyActorRef | null;
}

export interface LifecycleConnectionContext extends LifecycleConnectionInput {
  /** Consecutive failed connections since the last healthy one. */
  readonly failures: number;
  /** Successful handshakes. */
  readonly connects: number;
  /** Connections that ended (each followed by a reconnect or by `failed`). */
  readonly disconnects: number;
  /** Subscribe commands re-sent after a terminal channel error. */
  readonly resubscribes: number;
  /** Channel → sid confirmed on the current connection. */
  readonly subscriptions: Readonly<Record<string, number>>;
  /** Why the last connection ended, or why the machine failed. */
  readonly lastError: string | null;
  /** HTTP status of the last refused handshake. */
  readonly httpStatus: number | null;
  /** The frame queue shared by the socket actor and the consumer (inspected as counts only). */
  readonly frames: FrameQueue;
}

/** What the socket actor reports. */
export type SocketEvent =
  | { type: 'WS.OPEN' }
  | { type: 'WS.SUBSCRIBED'; channel: string; sid: number }
  | { type: 'WS.TERMINAL_ERROR'; code: number; channel: string | null }
  | { type: 'WS.CLOSED'; error: string; httpStatus: number | null }
  | { type: 'WS.IDLE'; idleMs: number };

/** What the socket actor is told. */
export type SocketCommand = { type: 'SUBSCRIBE'; channels: readonly string[] };

export interface SocketInput {
  readonly frames: FrameQueue;
}

export interface ConsumeInput {
  readonly frames: FrameQueue;
}

/** What the consumer reports; all but CONSUMER.ENDED are passed on to the parent. */
export type ConsumerReport =
  { type: 'LIFECYCLE.LOSS_SUSPECTED'; reason: string } | { type: 'MARKET.UNKNOWN'; ticker: string } | { type: 'CONSUMER.ENDED'; error: string | null };

export type LifecycleConnectionEvent = SocketEvent | ConsumerReport | { type: 'STOP' };

/** The output of a `failed` machine: why it gave up. */
export interface LifecycleConnectionOutput {
  readonly error: string;
  readonly httpStatus: number | null;
}

export const lifecycleConnectionMachine = setup({
  types: {
    context: {} as LifecycleConnectionContext,
    input: {} as LifecycleConnectionInput,
    events: {} as LifecycleConnectionEvent,
    output: {} as LifecycleConnectionOutput,
  },
  actors: {
    // Supplied by createRegistry with `.provide()`; the stubs keep the chart drawable and testable.
    socket: fromCallback<SocketCommand, SocketInput>(() => () => {}),
    consume: fromCallback<{ type: 'NONE' }, ConsumeInput>(() => () => {}),
  },
  delays: {
    reconnectDelay: ({ context }) => backoffDelay(context.failures, context.reconnect),
    healthyAfter: ({ context }) => context.reconnect.resetAfterMs,
  },
  guards: {
    gaveUp: ({ context }) => context.failures > context.reconnect.maxAttempts,
    hasParent: ({ context }) => context.parent != null,
  },
  actions: {
    subscribeAll: sendTo('socket', ({ context }): SocketCommand => ({ type: 'SUBSCRIBE', channels: context.channels })),
    resubscribe: sendTo('socket', ({ context, event }): SocketCommand => ({
      type: 'SUBSCRIBE',
      channels: event.type === 'WS.TERMINAL_ERROR' && event.channel !== null ? [event.channel] : context.channels,
    })),
    recordSubscription: assign({
      subscriptions: ({ context, event }) =>
        event.type === 'WS.SUBSCRIBED' ? { ...context.subscriptions, [event.channel]: event.sid } : context.subscriptions,
    }),
    endFrames: ({ context }) => context.frames.end(),
    // Built-in sendTo (through enqueueActions, for a parent that may be absent), not a custom
    // action calling parent.send(): the parent must process the event as a separate step.
    tellParent: enqueueActions(({ context, event, enqueue }) => {
      const parent = context.parent;
      if (parent != null && (event.type === 'LIFECYCLE.LOSS_SUSPECTED' || event.type === 'MARKET.UNKNOWN')) enqueue.sendTo(parent, event);
    }),
    tellParentConnected: enqueueActions(({ context, enqueue }) => {
      const parent = context.parent;
      if (parent != null) enqueue.sendTo(parent, { type: 'LIFECYCLE.CONNECTED' });
    }),
    recordConsumerEnd: assign({
      lastError: ({ event }) => (event.type === 'CONSUMER.ENDED' ? `the frame consumer ended${event.error === null ? '' : `: ${event.error}`}` : null),
    }),
    recordFailure: assign({
      failures: ({ context }) => context.failures + 1,
      disconnects: ({ context }) => context.disconnects + 1,
      subscriptions: {},
      lastError: ({ event }) =>
        event.type === 'WS.CLOSED' ? event.error : event.type === 'WS.IDLE' ? `no frame or ping for ${event.idleMs} ms (idle timeout)` : null,
      httpStatus: ({ event }) => (event.type === 'WS.CLOSED' ? event.httpStatus : null),
    }),
  },
}).createMachine({
  id: 'lifecycleConnection',
  context: ({ input }) => ({
    ...input,
    parent: input.parent ?? null,
    failures: 0,
    connects: 0,
    disconnects: 0,
    resubscribes: 0,
    subscriptions: {},
    lastError: null,
    httpStatus: null,
    frames: new FrameQueue(input.highWaterMark),
  }),
  invoke: { id: 'consume', src: 'consume', input: ({ context }) => ({ frames: context.frames }) },
  initial: 'active',
  states: {
    active: {
      description: 'Connected or trying to be: the consumer reads the frame queue throughout.',
      initial: 'connection',
      on: {
        STOP: 'stopped',
        'LIFECYCLE.LOSS_SUSPECTED': { actions: 'tellParent' },
        'MARKET.UNKNOWN': { actions: 'tellParent' },
        // The consumer only ends when something went wrong: the supervisor restarts this machine.
        'CONSUMER.ENDED': { target: 'failed', actions: 'recordConsumerEnd' },
      },
      states: {
        connection: {
          description: 'One WebSocket: handshake (signed when credentials are given), subscribe, frames into the queue.',
          invoke: { id: 'socket', src: 'socket', input: ({ context }) => ({ frames: context.frames }) },
          initial: 'connecting',
          on: {
            'WS.CLOSED': { target: 'reconnecting', actions: 'recordFailure' },
            'WS.IDLE': { target: 'reconnecting', actions: 'recordFailure' },
          },
          states: {
            connecting: {
              on: { 'WS.OPEN': { target: 'subscribing', actions: assign({ connects: ({ context }) => context.connects + 1 }) } },
            },
            subscribing: {
              description: 'One subscribe for every channel; Kalshi answers one `subscribed` (own sid) per channel.',
              entry: 'subscribeAll',
              on: { 'WS.SUBSCRIBED': { target: 'subscribed', actions: ['recordSubscription', 'tellParentConnected'] } },
            },
            subscribed: {
              description: 'Frames flow. After a terminal channel error (10/25) that channel is subscribed again.',
              after: { healthyAfter: { actions: assign({ failures: 0 }) } },
              on: {
                'WS.SUBSCRIBED': { actions: 'recordSubscription' },
                'WS.TERMINAL_ERROR': {
                  actions: ['resubscribe', assign({ resubscribes: ({ context }) => context.resubscribes + 1 })],
                },
              },
            },
          },
        },
        reconnecting: {
          description: 'The connection ended: wait a jittered exponential delay, then connect again.',
          always: { guard: 'gaveUp', target: '#lifecycleConnection.failed' },
          after: { reconnectDelay: 'connection' },
        },
      },
    },
    failed: {
      description: 'Gave up after too many consecutive failed connections, or the consumer failed.',
      type: 'final',
      entry: 'endFrames',
    },
    stopped: { type: 'final', entry: 'endFrames' },
  },
  output: ({ context }) => ({ error: context.lastError ?? 'stopped', httpStatus: context.httpStatus }),
});
