/**
 * The periodic REST reconcile, and the one decision it makes: a full pass (every market,
 * `GET /markets` to the end) or a delta pass (`min_updated_ts` since the last pass began, which
 * is cheap but only sees metadata changes, and no combo markets).
 *
 * A pass is full when events may have been lost (a seq gap, a reconnect, a replaced source, a
 * terminal channel error: LOSS_SUSPECTED), when no pass has run yet, or every `fullEvery`-th run.
 * The decision and what it rests on are context, so the inspector and the visualizer show why a
 * pass is full. `pass` (supplied by createRegistry) runs it; its output's `startedAt` is the next
 * delta's watermark.
 */
import { assign, fromPromise, sendParent, setup } from 'xstate';
import { backoffDelay, type BackoffPolicy } from '../src/util/backoff.js';
import { errorText, type PeriodicTaskParentEvent } from './periodic-task.js';

export type ReconcileMode = 'full' | 'delta';

export interface ReconcileInput {
  readonly intervalMs: number;
  /** Every Nth run is a full pass. */
  readonly fullEvery: number;
  readonly backoff: BackoffPolicy;
  /** When the last full pass (the initial sync) started, µs; the first delta starts there. */
  readonly lastPassStartedAt: number | null;
  /** Loss was suspected before this actor started (e.g. during the initial sync). */
  readonly lossSuspected: string | null;
}

export interface ReconcileContext {
  readonly intervalMs: number;
  readonly fullEvery: number;
  readonly backoff: BackoffPolicy;
  readonly runs: number;
  readonly failures: number;
  readonly lastError: string | null;
  /** Why events may have been lost since the last full pass began (null: no such reason). */
  readonly lossSuspected: string | null;
  /** Start of the last successful pass, µs (Kalshi's `min_updated_ts` is taken from it). */
  readonly lastPassStartedAt: number | null;
  /** The decision for the pass now running, or the next one. */
  readonly mode: ReconcileMode;
  /** Why `mode` is what it is. */
  readonly because: string;
  /** RUN_NOW arrived during a pass: run again right after it. */
  readonly rerun: boolean;
  readonly lastResult: ReconcilePassOutput | null;
}

export interface ReconcilePassInput {
  readonly mode: ReconcileMode;
  /** Unix seconds, for delta passes: `min_updated_ts`. */
  readonly minUpdatedTs: number | null;
}

export interface ReconcilePassOutput {
  readonly mode: ReconcileMode;
  /** µs, by the registry's clock. */
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly markets: number;
  readonly changes: number;
}

export type ReconcileEvent = { type: 'RUN_NOW'; reason: string } | { type: 'LOSS_SUSPECTED'; reason: string };

/** Kalshi's min_updated_ts is in seconds and compares its own clock: keep this much margin. */
export const DELTA_SAFETY_MARGIN_S = 60;

function decide(context: ReconcileContext): Pick<ReconcileContext, 'mode' | 'because'> {
  if (context.lossSuspected !== null) return { mode: 'full', because: `events may have been lost: ${context.lossSuspected}` };
  if (context.lastPassStartedAt === null) return { mode: 'full', because: 'no pass has completed yet' };
  if ((context.runs + 1) % context.fullEvery === 0) return { mode: 'full', because: `every ${context.fullEvery}th run is full` };
  return { mode: 'delta', because: 'markets changed since the last pass began' };
}

export const reconcileMachine = setup({
  types: {
    context: {} as ReconcileContext,
    input: {} as ReconcileInput,
    events: {} as ReconcileEvent,
  },
  actors: {
    pass: fromPromise<ReconcilePassOutput, ReconcilePassInput>(({ input }) =>
      Promise.resolve({ mode: input.mode, startedAt: 0, finishedAt: 0, markets: 0, changes: 0 }),
    ),
  },
  delays: {
    interval: ({ context }) => context.intervalMs,
    retryDelay: ({ context }) => backoffDelay(context.failures, context.backoff),
  },
  guards: {
    rerunRequested: ({ context }) => context.rerun,
  },
  actions: {
    noteLoss: assign({
      lossSuspected: ({ context, event }) => (event.type === 'LOSS_SUSPECTED' ? event.reason : context.lossSuspected),
    }),
    noteRunNow: assign({
      // reconcileNow() asks for a full pass: whatever happened, REST is read whole.
      lossSuspected: ({ context, event }) => (event.type === 'RUN_NOW' ? event.reason : context.lossSuspected),
    }),
    requestRerun: assign({ rerun: true }),
    // The decision is taken on entry to `running`: a loss reported during a full pass sets
    // lossSuspected again, so the next pass is full too.
    decide: assign(({ context }) => {
      const decision = decide(context);
      return { ...decision, rerun: false, lossSuspected: decision.mode === 'full' ? null : context.lossSuspected };
    }),
  },
}).createMachine({
  id: 'reconcile',
  context: ({ input }) => ({
    intervalMs: input.intervalMs,
    fullEvery: input.fullEvery,
    backoff: input.backoff,
    runs: 0,
    failures: 0,
    lastError: null,
    lossSuspected: input.lossSuspected,
    lastPassStartedAt: input.lastPassStartedAt,
    mode: 'full',
    because: 'no pass has completed yet',
    rerun: false,
    lastResult: null,
  }),
  initial: 'running',
  on: {
    LOSS_SUSPECTED: { actions: 'noteLoss', target: '.requested' },
    RUN_NOW: { actions: 'noteRunNow', target: '.requested' },
  },
  states: {
    requested: {
      description: 'A pass was asked for: start it now, or right after the one running.',
      always: 'running',
    },
    waiting: {
      description: 'Idle until the interval elapses, a loss is suspected or RUN_NOW.',
      after: { interval: 'running' },
    },
    running: {
      description: 'One reconcile pass, full or delta as decided on entry.',
      entry: 'decide',
      on: {
        LOSS_SUSPECTED: { actions: ['noteLoss', 'requestRerun'] },
        RUN_NOW: { actions: ['noteRunNow', 'requestRerun'] },
      },
      invoke: {
        src: 'pass',
        input: ({ context }): ReconcilePassInput => ({
          mode: context.mode,
          minUpdatedTs:
            context.mode === 'delta' && context.lastPassStartedAt !== null ? Math.floor(context.lastPassStartedAt / 1e6) - DELTA_SAFETY_MARGIN_S : null,
        }),
        onDone: {
          target: 'succeeded',
          actions: [
            assign({
              failures: 0,
              lastError: null,
              runs: ({ context }) => context.runs + 1,
              lastPassStartedAt: ({ event }) => event.output.startedAt,
              lastResult: ({ event }) => event.output,
            }),
            sendParent(({ event }): PeriodicTaskParentEvent => ({ type: 'TASK.SUCCEEDED', name: 'reconcile', result: event.output })),
          ],
        },
        onError: {
          target: 'backingOff',
          actions: [
            assign({
              failures: ({ context }) => context.failures + 1,
              runs: ({ context }) => context.runs + 1,
              lastError: ({ event }) => errorText(event.error),
              // A failed full pass still owes one: the loss it was to repair is not repaired.
              lossSuspected: ({ context }) => (context.mode === 'full' ? (context.lossSuspected ?? context.because) : context.lossSuspected),
            }),
            sendParent(({ context }): PeriodicTaskParentEvent => ({
              type: 'TASK.FAILED',
              name: 'reconcile',
              error: context.lastError ?? 'unknown error',
              failures: context.failures,
            })),
          ],
        },
      },
    },
    succeeded: {
      description: 'Run again at once if asked during the pass, else wait.',
      always: [{ guard: 'rerunRequested', target: 'running' }, { target: 'waiting' }],
    },
    backingOff: {
      description: 'The pass failed: retry after an exponential, jittered delay.',
      after: { retryDelay: 'running' },
    },
  },
});
