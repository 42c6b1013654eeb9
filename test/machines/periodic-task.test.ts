import { describe, expect, it } from 'vitest';
import { createActor, createMachine, fromPromise, SimulatedClock, spawnChild, assign } from 'xstate';
import { periodicTaskMachine, type PeriodicTaskParentEvent } from '../../machines/periodic-task.js';

/** A parent that records what the task reports, so sendParent has somewhere to go. */
function harness(task: () => Promise<unknown>, input: { intervalMs: number; runImmediately: boolean }) {
  const reports: PeriodicTaskParentEvent[] = [];
  const child = periodicTaskMachine.provide({ actors: { task: fromPromise(task) } });
  const parent = createMachine({
    types: {} as { events: PeriodicTaskParentEvent },
    entry: spawnChild(child, { id: 'task', input: { name: 'demo', backoff: { baseMs: 100, maxMs: 1000 }, ...input } }),
    on: { '*': { actions: assign(({ event }) => (reports.push(event), {})) } },
  });
  const clock = new SimulatedClock();
  const actor = createActor(parent, { clock }).start();
  const taskActor = () => actor.getSnapshot().children['task'] as unknown as import('xstate').ActorRefFrom<typeof periodicTaskMachine>;
  return { actor, clock, reports, taskActor };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('periodic-task statechart', () => {
  it('runs immediately, reports success, waits the interval, runs again', async () => {
    let runs = 0;
    const h = harness(async () => ++runs, { intervalMs: 1000, runImmediately: true });
    await flush();
    expect(runs).toBe(1);
    expect(h.taskActor().getSnapshot().value).toBe('waiting');
    expect(h.reports).toEqual([{ type: 'TASK.SUCCEEDED', name: 'demo', result: 1 }]);
    h.clock.increment(999);
    await flush();
    expect(runs).toBe(1);
    h.clock.increment(1);
    await flush();
    expect(runs).toBe(2);
    h.actor.stop();
  });

  it('waits first when runImmediately is false; RUN_NOW cuts the wait short', async () => {
    let runs = 0;
    const h = harness(async () => ++runs, { intervalMs: 60_000, runImmediately: false });
    await flush();
    expect(runs).toBe(0);
    expect(h.taskActor().getSnapshot().value).toBe('waiting');
    h.taskActor().send({ type: 'RUN_NOW' });
    await flush();
    expect(runs).toBe(1);
    h.actor.stop();
  });

  it('backs off after a failure, reports it, and recovers', async () => {
    let calls = 0;
    const h = harness(
      async () => {
        calls++;
        if (calls <= 2) throw new Error(`boom ${calls}`);
        return 'ok';
      },
      { intervalMs: 10_000, runImmediately: true },
    );
    await flush();
    expect(h.taskActor().getSnapshot().value).toBe('backingOff');
    expect(h.taskActor().getSnapshot().context.failures).toBe(1);
    expect(h.reports[0]).toMatchObject({ type: 'TASK.FAILED', name: 'demo', failures: 1, error: 'Error: boom 1' });
    h.clock.increment(100); // first retry delay is at most baseMs
    await flush();
    expect(calls).toBe(2);
    expect(h.taskActor().getSnapshot().context.failures).toBe(2);
    h.clock.increment(200);
    await flush();
    expect(calls).toBe(3);
    expect(h.taskActor().getSnapshot().value).toBe('waiting');
    expect(h.taskActor().getSnapshot().context.failures).toBe(0);
    expect(h.reports.at(-1)).toEqual({ type: 'TASK.SUCCEEDED', name: 'demo', result: 'ok' });
    h.actor.stop();
  });

  it('RUN_NOW during a run queues exactly one more run, never two at once', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    let release!: () => void;
    const h = harness(
      () =>
        new Promise((resolve) => {
          active++;
          runs++;
          maxActive = Math.max(maxActive, active);
          release = () => (active--, resolve(runs));
        }),
      { intervalMs: 60_000, runImmediately: true },
    );
    await flush();
    h.taskActor().send({ type: 'RUN_NOW' });
    h.taskActor().send({ type: 'RUN_NOW' });
    release();
    await flush();
    expect(runs).toBe(2);
    release();
    await flush();
    expect(runs).toBe(2);
    expect(h.taskActor().getSnapshot().value).toBe('waiting');
    expect(maxActive).toBe(1);
    h.actor.stop();
  });
});
