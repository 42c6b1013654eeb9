/**
 * The registry supervisor. It owns the lifecycle of the registry's child actors and nothing else:
 *
 *   lifecycle       consumes `market_lifecycle_v2` frames (own WebSocket or the embedder's source)
 *   deadlines       the one timer structure for implicit open/close transitions
 *   exchangeStatus  polls GET /exchange/status              (periodic task)
 *   initialSync     pages GET /markets once at start         (retried with backoff until it succeeds)
 *   reconcile       periodic REST re-sync; RUN_NOW on suspected loss (periodic task)
 *   eventSync       pages GET /events                        (periodic task)
 *
 * The lifecycle handler and the deadline scheduler start before the initial sync, so nothing the
 * WebSocket says while the sync pages is lost; reconcile runs as soon as the sync is done to
 * cover the window in between. Failing periodic tasks back off and retry on their own; the
 * supervisor tracks their failures and is `running.degraded` while any child reports a problem.
 *
 * What the children do is supplied with `.provide({ actors })` by createRegistry (src/registry/
 * create-registry.ts); the definitions here are stubs, so this machine can be drawn, exported and
 * tested on its own, and its context holds only plain data (inspectable, serializable).
 */
import { assign, fromCallback, fromPromise, sendTo, setup, spawnChild, stopChild } from 'xstate';
import { backoffDelay, periodicTaskMachine, type PeriodicTaskParentEvent } from './periodic-task.js';

export interface RegistrySupervisorInput {
  readonly reconcileIntervalMs: number;
  readonly statusIntervalMs: number;
  readonly eventSyncIntervalMs: number;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
}

export interface RegistrySupervisorContext extends RegistrySupervisorInput {
  readonly syncFailures: number;
  readonly lastSyncError: string | null;
  /** Child name → what is wrong with it. Empty means healthy. */
  readonly problems: Readonly<Record<string, string>>;
}

/** Summary the initial sync reports when done. */
export interface InitialSyncOutput {
  readonly markets: number;
  readonly pages: number;
}

export type LifecycleChildEvent =
  | { type: 'LIFECYCLE.CONNECTED' }
  | { type: 'LIFECYCLE.ENDED'; reason: string }
  | { type: 'LIFECYCLE.LOSS_SUSPECTED'; reason: string };

export type RegistrySupervisorEvent =
  | { type: 'STOP' }
  | { type: 'SOURCE.CHANGED' }
  | { type: 'RECONCILE_NOW' }
  | { type: 'EXCHANGE.STATUS'; problem: string | null }
  | LifecycleChildEvent
  | PeriodicTaskParentEvent;

/** Events the lifecycle child receives. */
export type LifecycleChildInbound = { type: 'SOURCE.CHANGED' };

function withProblem(problems: Readonly<Record<string, string>>, name: string, problem: string | null): Record<string, string> {
  const next = { ...problems };
  if (problem === null) delete next[name];
  else next[name] = problem;
  return next;
}

export const registryMachine = setup({
  types: {
    context: {} as RegistrySupervisorContext,
    input: {} as RegistrySupervisorInput,
    events: {} as RegistrySupervisorEvent,
  },
  actors: {
    lifecycle: fromCallback<LifecycleChildInbound>(() => () => {}),
    deadlines: fromCallback(() => () => {}),
    initialSync: fromPromise<InitialSyncOutput>(async () => ({ markets: 0, pages: 0 })),
    shutdown: fromPromise<void>(async () => {}),
    reconcile: periodicTaskMachine,
    exchangeStatus: periodicTaskMachine,
    eventSync: periodicTaskMachine,
  },
  delays: {
    syncRetryDelay: ({ context }) => backoffDelay(context.syncFailures, context.backoff.baseMs, context.backoff.maxMs),
  },
  guards: {
    hasProblems: ({ context }) => Object.keys(context.problems).length > 0,
    noProblems: ({ context }) => Object.keys(context.problems).length === 0,
  },
  actions: {
    recordTaskResult: assign({
      problems: ({ context, event }) => {
        if (event.type === 'TASK.FAILED') return withProblem(context.problems, event.name, `${event.error} (failed ${event.failures}×)`);
        if (event.type === 'TASK.SUCCEEDED') return withProblem(context.problems, event.name, null);
        return context.problems;
      },
    }),
    recordExchangeStatus: assign({
      problems: ({ context, event }) =>
        event.type === 'EXCHANGE.STATUS' ? withProblem(context.problems, 'exchange', event.problem) : context.problems,
    }),
    recordLifecycleEnded: assign({
      problems: ({ context, event }) =>
        event.type === 'LIFECYCLE.ENDED' ? withProblem(context.problems, 'lifecycle', event.reason) : context.problems,
    }),
    clearLifecycleProblem: assign({ problems: ({ context }) => withProblem(context.problems, 'lifecycle', null) }),
    forwardSourceChange: sendTo('lifecycle', { type: 'SOURCE.CHANGED' }),
    runReconcileNow: sendTo('reconcile', { type: 'RUN_NOW' }),
  },
}).createMachine({
  id: 'registry',
  context: ({ input }) => ({ ...input, syncFailures: 0, lastSyncError: null, problems: {} }),
  initial: 'starting',
  on: {
    'TASK.SUCCEEDED': { actions: 'recordTaskResult' },
    'TASK.FAILED': { actions: 'recordTaskResult' },
    'EXCHANGE.STATUS': { actions: 'recordExchangeStatus' },
    'LIFECYCLE.ENDED': { actions: 'recordLifecycleEnded' },
    'LIFECYCLE.CONNECTED': { actions: 'clearLifecycleProblem' },
    'SOURCE.CHANGED': { actions: ['clearLifecycleProblem', 'forwardSourceChange'] },
  },
  states: {
    starting: {
      description: 'Start the lifecycle consumer, the deadline scheduler and the exchange-status poller.',
      entry: [
        spawnChild('lifecycle', { id: 'lifecycle' }),
        spawnChild('deadlines', { id: 'deadlines' }),
        spawnChild('exchangeStatus', {
          id: 'exchangeStatus',
          input: ({ context }) => ({ name: 'exchangeStatus', intervalMs: context.statusIntervalMs, runImmediately: true, backoff: context.backoff }),
        }),
      ],
      always: 'syncing',
      on: { STOP: 'stopping' },
    },
    syncing: {
      description: 'Initial sync: page GET /markets into the cache.',
      invoke: {
        src: 'initialSync',
        onDone: 'running',
        onError: {
          target: 'syncBackoff',
          actions: assign({
            syncFailures: ({ context }) => context.syncFailures + 1,
            lastSyncError: ({ event }) => (event.error instanceof Error ? event.error.message : String(event.error)),
          }),
        },
      },
      on: { STOP: 'stopping' },
    },
    syncBackoff: {
      description: 'The initial sync failed: retry after a jittered exponential delay.',
      after: { syncRetryDelay: 'syncing' },
      on: { STOP: 'stopping' },
    },
    running: {
      description: 'Synced: reconcile and event sync run periodically; lifecycle events apply live.',
      entry: [
        spawnChild('reconcile', {
          id: 'reconcile',
          input: ({ context }) => ({ name: 'reconcile', intervalMs: context.reconcileIntervalMs, runImmediately: true, backoff: context.backoff }),
        }),
        spawnChild('eventSync', {
          id: 'eventSync',
          input: ({ context }) => ({ name: 'eventSync', intervalMs: context.eventSyncIntervalMs, runImmediately: true, backoff: context.backoff }),
        }),
      ],
      initial: 'healthy',
      on: {
        STOP: 'stopping',
        'LIFECYCLE.LOSS_SUSPECTED': { actions: 'runReconcileNow' },
        RECONCILE_NOW: { actions: 'runReconcileNow' },
      },
      states: {
        healthy: { always: { guard: 'hasProblems', target: 'degraded' } },
        degraded: {
          description: 'A child reports a problem (maintenance, failing REST, lifecycle source ended); it keeps retrying.',
          always: { guard: 'noProblems', target: 'healthy' },
        },
      },
    },
    stopping: {
      description: 'Stop every child, then close sockets and connection pools.',
      entry: [stopChild('reconcile'), stopChild('eventSync'), stopChild('exchangeStatus'), stopChild('lifecycle'), stopChild('deadlines')],
      invoke: { src: 'shutdown', onDone: 'stopped', onError: 'stopped' },
    },
    stopped: { type: 'final' },
  },
});

export type RegistryMachine = typeof registryMachine;
