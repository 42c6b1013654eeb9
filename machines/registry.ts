/**
 * The registry supervisor: it owns every actor of the registry, each in the state that needs it.
 *
 *   live (parallel, invokes deadlines, exchangeStatus, eventSync and changeFlow, the watch for a
 *         subscriber that holds ingestion still)
 *     lifecycle: websocket (invokes the lifecycle-connection chart) | external (invokes the
 *                consumer of the embedder's source) | none; a child that ends or fails is
 *                restarted after a jittered backoff (restarting)
 *     sync:      syncing (invokes initialSync) ⇄ syncBackoff → running (invokes reconcile)
 *                .{healthy, degraded}
 *   stopping (invokes shutdown) → stopped
 *
 * Unknown-ticker fetches are spawned children (`fetch.<ticker>`), capped at `maxPendingFetches`;
 * during the initial sync the tickers are held instead (bounded) and fetched once it is done, if
 * the sync did not bring them, so single-market GETs never compete with the sync's pages.
 *
 * Decisions are context: why a full reconcile is owed (`lossSuspected`; the reconcile chart
 * decides full vs delta from it), when the last full pass started, the pending fetches, the
 * restarts of the lifecycle child, what is wrong (`problems`). What the children do is supplied
 * with `.provide({ actors })` by createRegistry; the stubs here keep the chart drawable,
 * exportable and testable on its own.
 */
import { assign, enqueueActions, fromCallback, fromPromise, sendTo, setup, type AnyActorRef } from 'xstate';
import { backoffDelay, type BackoffPolicy } from '../src/util/backoff.js';
import { lifecycleConnectionMachine, type LifecycleConnectionInput } from './lifecycle-connection.js';
import { periodicTaskMachine, type PeriodicTaskParentEvent } from './periodic-task.js';
import { reconcileMachine } from './reconcile.js';

/** Where lifecycle frames come from. */
export type LifecycleSourceKind = 'websocket' | 'external' | 'none';

export interface RegistrySupervisorInput {
  readonly reconcileIntervalMs: number;
  readonly reconcileFullEvery: number;
  readonly statusIntervalMs: number;
  readonly eventSyncIntervalMs: number;
  readonly backoff: BackoffPolicy;
  /** The lifecycle source to start with ("external" needs `externalSource`). */
  readonly lifecycle: LifecycleSourceKind;
  /** A source the embedder handed in before start. */
  readonly externalSource: ExternalSource | null;
  /** The connection chart's input when lifecycle is "websocket" (parent ref added here). */
  readonly connection: Omit<LifecycleConnectionInput, 'parent'> | null;
  /** Cap on concurrent unknown-ticker fetches (and on tickers held during the sync). */
  readonly maxPendingFetches: number;
}

/**
 * An embedder's frame source, wrapped so that the chart's context can hold it: inspection
 * serializes context, and an async iterable has nothing to show but its generation.
 */
export interface ExternalSource {
  readonly generation: number;
  readonly frames: AsyncIterable<string | Uint8Array>;
  toJSON(): { generation: number };
}

export function externalSource(frames: AsyncIterable<string | Uint8Array>, generation: number): ExternalSource {
  return { generation, frames, toJSON: () => ({ generation }) };
}

interface SyncProgress {
  readonly pages: number;
  readonly markets: number;
  readonly quarantined: number;
  /** µs */
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
}

export interface RegistrySupervisorContext extends Omit<RegistrySupervisorInput, 'lifecycle'> {
  readonly source: LifecycleSourceKind;
  readonly syncFailures: number;
  readonly lastSyncError: string | null;
  /** Whether the last sync failure is one that retrying cannot fix (the CLI gives up on these). */
  readonly lastSyncErrorPermanent: boolean;
  readonly sync: SyncProgress;
  /** Why events may have been lost before the reconcile chart started (it takes this as input). */
  readonly lossSuspected: string | null;
  /** Consecutive ends/failures of the lifecycle child (its restart backoff). */
  readonly lifecycleFailures: number;
  /** Tickers being fetched with GET /markets/{ticker} (each a `fetch.<ticker>` child). */
  readonly pendingFetches: readonly string[];
  /** Tickers named by frames during the initial sync, fetched after it if it did not bring them. */
  readonly heldTickers: readonly string[];
  /** Child name → what is wrong with it. Empty means healthy. */
  readonly problems: Readonly<Record<string, string>>;
}

/** What the initial sync reports (a callback actor: progress per page, then done or failed). */
export type InitialSyncEvent =
  | { type: 'SYNC.PROGRESS'; pages: number; markets: number; quarantined: number }
  | { type: 'SYNC.DONE'; pages: number; markets: number; quarantined: number; startedAt: number; finishedAt: number }
  | { type: 'SYNC.FAILED'; error: string; /** Retrying cannot fix it (credentials, not Kalshi's JSON, a repeated cursor). */ permanent: boolean };

/** What a lifecycle consumer reports (directly, or through the connection chart). */
export type ConsumerEvent =
  { type: 'LIFECYCLE.LOSS_SUSPECTED'; reason: string } | { type: 'MARKET.UNKNOWN'; ticker: string } | { type: 'CONSUMER.ENDED'; error: string | null };

export type RegistrySupervisorEvent =
  | { type: 'STOP' }
  | { type: 'SOURCE.SET'; source: ExternalSource }
  | { type: 'RECONCILE_NOW' }
  | { type: 'LIFECYCLE.CONNECTED' }
  | ConsumerEvent
  | InitialSyncEvent
  | PeriodicTaskParentEvent
  | { type: `xstate.done.actor.fetch.${string}`; output: FetchOutput }
  | ChangeFlowEvent;

/** From the change-flow watch: a `block` subscriber has held ingestion still too long, or no longer does. */
export type ChangeFlowEvent = { type: 'CHANGES.BLOCKED'; forMs: number } | { type: 'CHANGES.FLOWING' };

export interface FetchInput {
  readonly ticker: string;
}
export interface FetchOutput {
  readonly ticker: string;
  readonly outcome: string;
}
export interface ConsumeSourceInput {
  readonly source: ExternalSource;
}

function withProblem(problems: Readonly<Record<string, string>>, name: string, problem: string | null): Record<string, string> {
  if (problem !== null) return { ...problems, [name]: problem };
  if (!(name in problems)) return problems;
  const { [name]: _cleared, ...rest } = problems;
  return rest;
}

/** What an exchange-status result says is wrong, if anything (the task's output is an ExchangeStatus | null). */
function exchangeProblem(result: unknown): string | null {
  if (result === null || typeof result !== 'object') return 'exchange status unreachable';
  const status = result as { maintenance?: unknown; exchangeActive?: unknown };
  return status.maintenance === true || status.exchangeActive === false ? 'exchange under maintenance' : null;
}

const FETCH_PREFIX = 'fetch.';

/**
 * setLifecycleSource, from any state of the lifecycle region: (re)enter `external` with the new
 * source. Declared on each state rather than on the region, so that re-entering `external`
 * exits that state alone, not the whole parallel `live` (the sync region with it). A replaced
 * source may have lost frames: the sync region decides what that means (LOSS_SUSPECTED).
 */
const sourceSet = { target: 'external', reenter: true, actions: 'replaceSource' } as const;

export const registryMachine = setup({
  types: {
    context: {} as RegistrySupervisorContext,
    input: {} as RegistrySupervisorInput,
    events: {} as RegistrySupervisorEvent,
  },
  actors: {
    lifecycleConnection: lifecycleConnectionMachine,
    consumeSource: fromCallback<{ type: 'NONE' }, ConsumeSourceInput>(() => () => {}),
    deadlines: fromCallback(() => () => {}),
    changeFlow: fromCallback(() => () => {}),
    initialSync: fromCallback<{ type: 'NONE' }>(() => () => {}),
    fetchMarket: fromPromise<FetchOutput, FetchInput>(({ input }) => Promise.resolve({ ticker: input.ticker, outcome: 'skipped' })),
    shutdown: fromPromise(() => Promise.resolve()),
    reconcile: reconcileMachine,
    exchangeStatus: periodicTaskMachine,
    eventSync: periodicTaskMachine,
  },
  delays: {
    syncRetryDelay: ({ context }) => backoffDelay(context.syncFailures, context.backoff),
    lifecycleRestartDelay: ({ context }) => backoffDelay(context.lifecycleFailures, context.backoff),
  },
  guards: {
    hasProblems: ({ context }) => Object.keys(context.problems).length > 0,
    noProblems: ({ context }) => Object.keys(context.problems).length === 0,
    externalSource: ({ context }) => context.source === 'external' && context.externalSource !== null,
    websocket: ({ context }) => context.source === 'websocket' && context.connection !== null,
    canFetch: ({ context, event }) =>
      event.type === 'MARKET.UNKNOWN' && !context.pendingFetches.includes(event.ticker) && context.pendingFetches.length < context.maxPendingFetches,
    consumerFailed: ({ event }) => event.type === 'CONSUMER.ENDED' && event.error !== null,
    fetchPending: ({ context, event }) => event.type === 'MARKET.UNKNOWN' && context.pendingFetches.includes(event.ticker),
  },
  actions: {
    recordTaskResult: assign({
      problems: ({ context, event }) => {
        if (event.type === 'TASK.FAILED') return withProblem(context.problems, event.name, `${event.error} (failed ${event.failures}×)`);
        if (event.type !== 'TASK.SUCCEEDED') return context.problems;
        const cleared = withProblem(context.problems, event.name, null);
        return event.name === 'exchangeStatus' ? withProblem(cleared, 'exchange', exchangeProblem(event.result)) : cleared;
      },
    }),
    recordLifecycleEnded: assign({
      lifecycleFailures: ({ context }) => context.lifecycleFailures + 1,
      problems: ({ context, event }) =>
        withProblem(context.problems, 'lifecycle', event.type === 'CONSUMER.ENDED' && event.error !== null ? event.error : 'the lifecycle source ended'),
    }),
    recordChangeFlow: assign({
      problems: ({ context, event }) =>
        withProblem(
          context.problems,
          'changeStream',
          event.type === 'CHANGES.BLOCKED'
            ? `a change subscriber has held ingestion still for ${Math.round(event.forMs / 1000)} s: read faster, close it, or subscribe with overflow 'conflate'`
            : null,
        ),
    }),
    recordConnected: assign({
      lifecycleFailures: 0,
      problems: ({ context }) => withProblem(context.problems, 'lifecycle', null),
    }),
    replaceSource: enqueueActions(({ enqueue, event }) => {
      if (event.type !== 'SOURCE.SET') return;
      enqueue.assign({
        source: 'external' as const,
        externalSource: event.source,
        lifecycleFailures: 0,
        problems: ({ context }) => withProblem(context.problems, 'lifecycle', null),
      });
      enqueue.raise({ type: 'LIFECYCLE.LOSS_SUSPECTED', reason: 'the lifecycle source was replaced' });
    }),
    noteLoss: assign({
      lossSuspected: ({ context, event }) =>
        event.type === 'LIFECYCLE.LOSS_SUSPECTED' ? event.reason : event.type === 'RECONCILE_NOW' ? 'reconcileNow()' : context.lossSuspected,
    }),
    forwardLoss: sendTo('reconcile', ({ event }) => ({
      type: 'LOSS_SUSPECTED' as const,
      reason: event.type === 'LIFECYCLE.LOSS_SUSPECTED' ? event.reason : 'more unknown markets than fetches allowed at once',
    })),
    runReconcileNow: sendTo('reconcile', { type: 'RUN_NOW' as const, reason: 'reconcileNow()' }),
    recordSyncProgress: assign({
      sync: ({ context, event }) =>
        event.type === 'SYNC.PROGRESS' || event.type === 'SYNC.DONE'
          ? {
              ...context.sync,
              pages: event.pages,
              markets: event.markets,
              quarantined: event.quarantined,
              ...(event.type === 'SYNC.DONE' ? { startedAt: event.startedAt, finishedAt: event.finishedAt } : {}),
            }
          : context.sync,
    }),
    recordSyncFailure: assign({
      syncFailures: ({ context }) => context.syncFailures + 1,
      lastSyncError: ({ event }) => (event.type === 'SYNC.FAILED' ? event.error : null),
      lastSyncErrorPermanent: ({ event }) => event.type === 'SYNC.FAILED' && event.permanent,
      problems: ({ context, event }) => withProblem(context.problems, 'initialSync', event.type === 'SYNC.FAILED' ? event.error : 'failed'),
    }),
    clearSyncFailure: assign({
      problems: ({ context }) => withProblem(context.problems, 'initialSync', null),
      lastSyncError: null,
      lastSyncErrorPermanent: false,
    }),
    holdTicker: assign({
      heldTickers: ({ context, event }) =>
        event.type === 'MARKET.UNKNOWN' && context.heldTickers.length < context.maxPendingFetches && !context.heldTickers.includes(event.ticker)
          ? [...context.heldTickers, event.ticker]
          : context.heldTickers,
    }),
    spawnFetch: enqueueActions(({ enqueue, event }) => {
      if (event.type !== 'MARKET.UNKNOWN') return;
      enqueue.spawnChild('fetchMarket', { id: FETCH_PREFIX + event.ticker, input: { ticker: event.ticker } });
      enqueue.assign({ pendingFetches: ({ context }) => [...context.pendingFetches, event.ticker] });
    }),
    finishFetch: enqueueActions(({ enqueue, event }) => {
      const id = event.type.slice('xstate.done.actor.'.length);
      const ticker = id.slice(FETCH_PREFIX.length);
      enqueue.stopChild(id);
      enqueue.assign({ pendingFetches: ({ context }) => context.pendingFetches.filter((t) => t !== ticker) });
    }),
    // Held tickers go through the same path as new ones (MARKET.UNKNOWN to self); the fetch
    // itself skips a market the sync has brought meanwhile.
    releaseHeldTickers: enqueueActions(({ enqueue, context }) => {
      for (const ticker of context.heldTickers) enqueue.raise({ type: 'MARKET.UNKNOWN', ticker });
      enqueue.assign({ heldTickers: [] });
    }),
  },
}).createMachine({
  id: 'registry',
  context: ({ input }) => ({
    ...input,
    source: input.lifecycle,
    syncFailures: 0,
    lastSyncError: null,
    lastSyncErrorPermanent: false,
    sync: { pages: 0, markets: 0, quarantined: 0, startedAt: null, finishedAt: null },
    lossSuspected: null,
    lifecycleFailures: 0,
    pendingFetches: [],
    heldTickers: [],
    problems: {},
  }),
  initial: 'live',
  states: {
    live: {
      type: 'parallel',
      description: 'The registry at work: lifecycle frames, deadlines, exchange status and event sync from the start; sync, then reconcile.',
      invoke: [
        { id: 'deadlines', systemId: 'deadlines', src: 'deadlines' },
        { id: 'changeFlow', systemId: 'changeFlow', src: 'changeFlow' },
        {
          id: 'exchangeStatus',
          systemId: 'exchangeStatus',
          src: 'exchangeStatus',
          input: ({ context }) => ({ name: 'exchangeStatus', intervalMs: context.statusIntervalMs, runImmediately: true, backoff: context.backoff }),
        },
        // From the start, beside the market sync rather than after it: the two page different
        // endpoints, so each one's requests and parses fill the other's waits (on an unlimited
        // simulator the event pass after a 1M sync added ~15% to the time to `synced`; under a
        // rate limit they share the bucket and the total is the same). `synced` waits for both.
        {
          id: 'eventSync',
          systemId: 'eventSync',
          src: 'eventSync',
          input: ({ context }) => ({ name: 'eventSync', intervalMs: context.eventSyncIntervalMs, runImmediately: true, backoff: context.backoff }),
        },
      ],
      on: {
        STOP: 'stopping',
        'TASK.SUCCEEDED': { actions: 'recordTaskResult' },
        'TASK.FAILED': { actions: 'recordTaskResult' },
        'xstate.done.actor.fetch.*': { actions: 'finishFetch' },
        'CHANGES.BLOCKED': { actions: 'recordChangeFlow' },
        'CHANGES.FLOWING': { actions: 'recordChangeFlow' },
      },
      states: {
        lifecycle: {
          initial: 'choosing',
          on: {
            'LIFECYCLE.CONNECTED': { actions: 'recordConnected' },
          },
          states: {
            choosing: {
              on: { 'SOURCE.SET': sourceSet },
              always: [{ guard: 'externalSource', target: 'external' }, { guard: 'websocket', target: 'websocket' }, { target: 'none' }],
            },
            websocket: {
              description: "The registry's own WebSocket (the lifecycle-connection chart).",
              invoke: {
                id: 'lifecycle',
                systemId: 'lifecycle',
                src: 'lifecycleConnection',
                input: ({ context, self }) => ({ ...(context.connection as Omit<LifecycleConnectionInput, 'parent'>), parent: self as AnyActorRef }),
                onDone: { target: 'restarting', actions: 'recordLifecycleEnded' },
                onError: { target: 'restarting', actions: 'recordLifecycleEnded' },
              },
              on: { 'SOURCE.SET': sourceSet },
            },
            external: {
              description: 'Frames from a source the embedder handed in (setLifecycleSource).',
              invoke: {
                id: 'lifecycle',
                systemId: 'lifecycle',
                src: 'consumeSource',
                input: ({ context }) => ({ source: context.externalSource as ExternalSource }),
              },
              on: {
                'SOURCE.SET': sourceSet,
                'CONSUMER.ENDED': [
                  // Our failure (not the source's end): read the source again after a backoff.
                  { guard: 'consumerFailed', target: 'restarting', actions: 'recordLifecycleEnded' },
                  { target: 'ended', actions: 'recordLifecycleEnded' },
                ],
              },
            },
            ended: {
              description: "The embedder's source ended or failed: wait for setLifecycleSource (REST reconcile goes on).",
              on: { 'SOURCE.SET': sourceSet },
            },
            restarting: {
              description: 'The lifecycle child ended unexpectedly: start it again after a jittered backoff.',
              after: { lifecycleRestartDelay: 'choosing' },
              on: { 'SOURCE.SET': sourceSet },
            },
            none: { description: 'REST only: no lifecycle frames.', on: { 'SOURCE.SET': sourceSet } },
          },
        },
        sync: {
          initial: 'syncing',
          states: {
            syncing: {
              description: 'Initial sync: page GET /markets into the cache.',
              invoke: { id: 'initialSync', systemId: 'initialSync', src: 'initialSync' },
              on: {
                'SYNC.PROGRESS': { actions: 'recordSyncProgress' },
                'SYNC.DONE': { target: 'running', actions: ['recordSyncProgress', 'clearSyncFailure'] },
                'SYNC.FAILED': { target: 'syncBackoff', actions: 'recordSyncFailure' },
                'LIFECYCLE.LOSS_SUSPECTED': { actions: 'noteLoss' },
                RECONCILE_NOW: { actions: 'noteLoss' },
                'MARKET.UNKNOWN': { actions: 'holdTicker' },
              },
            },
            syncBackoff: {
              description: 'The initial sync failed: retry after a jittered exponential delay.',
              after: { syncRetryDelay: 'syncing' },
              on: {
                'LIFECYCLE.LOSS_SUSPECTED': { actions: 'noteLoss' },
                RECONCILE_NOW: { actions: 'noteLoss' },
                'MARKET.UNKNOWN': { actions: 'holdTicker' },
              },
            },
            running: {
              description: 'Synced: reconcile runs periodically; lifecycle events apply live.',
              entry: 'releaseHeldTickers',
              invoke: [
                {
                  id: 'reconcile',
                  systemId: 'reconcile',
                  src: 'reconcile',
                  input: ({ context }) => ({
                    intervalMs: context.reconcileIntervalMs,
                    fullEvery: context.reconcileFullEvery,
                    backoff: context.backoff,
                    lastPassStartedAt: context.sync.startedAt,
                    lossSuspected: context.lossSuspected,
                  }),
                },
              ],
              on: {
                'LIFECYCLE.LOSS_SUSPECTED': { actions: 'forwardLoss' },
                RECONCILE_NOW: { actions: 'runReconcileNow' },
                'MARKET.UNKNOWN': [
                  { guard: 'fetchPending' },
                  { guard: 'canFetch', actions: 'spawnFetch' },
                  // Too many markets unknown at once: fetching each would starve everything else.
                  { actions: 'forwardLoss' },
                ],
              },
              initial: 'healthy',
              states: {
                healthy: { always: { guard: 'hasProblems', target: 'degraded' } },
                degraded: {
                  description: 'A child reports a problem (maintenance, failing REST, lifecycle source ended); it keeps retrying.',
                  always: { guard: 'noProblems', target: 'healthy' },
                },
              },
            },
          },
        },
      },
    },
    stopping: {
      description: 'Every child of `live` has stopped with it; close connection pools.',
      invoke: { src: 'shutdown', onDone: 'stopped', onError: 'stopped' },
    },
    stopped: { type: 'final' },
  },
});

/**
 * The phase an embedder sees: the sync region's state while live ("syncing", "syncBackoff",
 * "running.healthy", "running.degraded"), else "stopping" / "stopped".
 */
export function phaseOf(value: unknown): string {
  if (typeof value === 'string') return value;
  const live = (value as { live?: { sync?: unknown } } | null)?.live?.sync;
  if (typeof live === 'string') return live;
  if (typeof live === 'object' && live !== null) {
    const [key, child] = Object.entries(live as Record<string, unknown>)[0] ?? ['?', ''];
    return typeof child === 'string' ? `${key}.${child}` : key;
  }
  return 'starting';
}
