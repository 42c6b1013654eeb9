/**
 * A periodic task: run, wait `intervalMs`, run again; on failure back off exponentially (full
 * jitter, src/util/backoff.ts) and retry. `RUN_NOW` runs it at once (or right after the current run, never two at a
 * time). The registry supervisor spawns three of these, for reconcile, exchange status and event
 * sync; what a run does is the `task` actor it provides (a promise actor).
 *
 * The parent hears about every run through `TASK.SUCCEEDED` / `TASK.FAILED`, which is how it
 * knows when the system is degraded.
 */
import { assign, fromPromise, sendParent, setup } from 'xstate';
import { backoffDelay } from '../src/util/backoff.js';

export interface PeriodicTaskInput {
  /** Actor id, reported back to the parent. */
  readonly name: string;
  readonly intervalMs: number;
  /** Run once as soon as the task starts (otherwise wait one interval first). */
  readonly runImmediately: boolean;
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
}

export interface PeriodicTaskContext {
  readonly name: string;
  readonly intervalMs: number;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  /** Consecutive failures. */
  readonly failures: number;
  readonly runs: number;
  readonly lastError: string | null;
  /** RUN_NOW arrived while running: run again as soon as this run ends. */
  readonly rerun: boolean;
  readonly lastResult: unknown;
}

export type PeriodicTaskEvent = { type: 'RUN_NOW' };

export type PeriodicTaskParentEvent =
  { type: 'TASK.SUCCEEDED'; name: string; result: unknown } | { type: 'TASK.FAILED'; name: string; error: string; failures: number };

/** What a run of the task is given: its name and what the last successful run returned. */
export interface PeriodicTaskRunInput {
  readonly name: string;
  /** The previous successful run's output (null before the first), e.g. an event sync's start time. */
  readonly lastResult: unknown;
}

/** How a task's error is told to the parent and kept in context (`Name: message`). */
export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export const periodicTaskMachine = setup({
  types: {
    context: {} as PeriodicTaskContext,
    input: {} as PeriodicTaskInput,
    events: {} as PeriodicTaskEvent,
  },
  actors: {
    // Replaced by the supervisor through `.provide()`; the default fails loudly.
    task: fromPromise<unknown, PeriodicTaskRunInput>(({ input }) => Promise.reject(new Error(`periodic task ${input.name} has no implementation`))),
  },
  delays: {
    interval: ({ context }) => context.intervalMs,
    retryDelay: ({ context }) => backoffDelay(context.failures, context.backoff),
  },
  guards: {
    runImmediately: ({ context }) => context.runs === 0 && context.rerun,
    rerunRequested: ({ context }) => context.rerun,
  },
  actions: {
    requestRerun: assign({ rerun: true }),
  },
}).createMachine({
  id: 'periodicTask',
  context: ({ input }) => ({
    name: input.name,
    intervalMs: input.intervalMs,
    backoff: input.backoff ?? { baseMs: 500, maxMs: 30_000 },
    failures: 0,
    runs: 0,
    lastError: null,
    // Reusing the rerun flag for "run at start" keeps one path into `running`.
    rerun: input.runImmediately,
    lastResult: null,
  }),
  initial: 'starting',
  states: {
    starting: {
      always: [{ guard: 'runImmediately', target: 'running' }, { target: 'waiting' }],
    },
    waiting: {
      description: 'Idle until the interval elapses or RUN_NOW.',
      after: { interval: 'running' },
      on: { RUN_NOW: 'running' },
    },
    running: {
      description: 'One run of the task.',
      entry: assign({ rerun: false }),
      on: { RUN_NOW: { actions: 'requestRerun' } },
      invoke: {
        src: 'task',
        input: ({ context }): PeriodicTaskRunInput => ({ name: context.name, lastResult: context.lastResult }),
        onDone: {
          target: 'succeeded',
          actions: [
            assign({ failures: 0, lastError: null, runs: ({ context }) => context.runs + 1, lastResult: ({ event }) => event.output }),
            sendParent(({ context, event }): PeriodicTaskParentEvent => ({ type: 'TASK.SUCCEEDED', name: context.name, result: event.output })),
          ],
        },
        onError: {
          target: 'backingOff',
          actions: [
            assign({
              failures: ({ context }) => context.failures + 1,
              runs: ({ context }) => context.runs + 1,
              lastError: ({ event }) => errorText(event.error),
            }),
            sendParent(({ context }): PeriodicTaskParentEvent => ({
              type: 'TASK.FAILED',
              name: context.name,
              error: context.lastError ?? 'unknown error',
              failures: context.failures,
            })),
          ],
        },
      },
    },
    succeeded: {
      description: 'Run again at once if RUN_NOW arrived during the run, else wait.',
      always: [{ guard: 'rerunRequested', target: 'running' }, { target: 'waiting' }],
    },
    backingOff: {
      description: 'The last run failed: retry after an exponential, jittered delay.',
      after: { retryDelay: 'running' },
      on: { RUN_NOW: 'running' },
    },
  },
});
