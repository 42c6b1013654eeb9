import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, fromPromise, SimulatedClock, waitFor } from 'xstate';
import { registryMachine, type InitialSyncOutput } from '../../machines/registry.js';
import { periodicTaskMachine } from '../../machines/periodic-task.js';

const flush = () => new Promise((r) => setImmediate(r));
const input = { reconcileIntervalMs: 60_000, statusIntervalMs: 10_000, eventSyncIntervalMs: 60_000, backoff: { baseMs: 100, maxMs: 1000 } };

function build(opts: { sync?: () => Promise<InitialSyncOutput>; reconcile?: () => Promise<unknown> } = {}) {
  const log: string[] = [];
  const machine = registryMachine.provide({
    actors: {
      lifecycle: fromCallback(({ receive }) => {
        log.push('lifecycle:start');
        receive((e) => log.push(`lifecycle:${e.type}`));
        return () => log.push('lifecycle:stop');
      }),
      deadlines: fromCallback(() => {
        log.push('deadlines:start');
        return () => log.push('deadlines:stop');
      }),
      initialSync: fromPromise(opts.sync ?? (async () => (log.push('sync'), { markets: 1, pages: 1 }))),
      shutdown: fromPromise<void>(async () => {
        log.push('shutdown');
      }),
      reconcile: periodicTaskMachine.provide({ actors: { task: fromPromise<unknown, { name: string }>(opts.reconcile ?? (async () => void log.push('reconcile'))) } }),
      exchangeStatus: periodicTaskMachine.provide({ actors: { task: fromPromise<unknown, { name: string }>(async () => void log.push('status')) } }),
      eventSync: periodicTaskMachine.provide({ actors: { task: fromPromise<unknown, { name: string }>(async () => void log.push('events')) } }),
    },
  });
  const clock = new SimulatedClock();
  const actor = createActor(machine, { input, clock }).start();
  return { actor, clock, log };
}

describe('registry supervisor statechart', () => {
  it('starts lifecycle, deadlines and status before the sync, then reconcile and events once synced', async () => {
    const { actor, log } = build();
    await flush();
    expect(actor.getSnapshot().value).toEqual({ running: 'healthy' });
    expect(log.indexOf('lifecycle:start')).toBeLessThan(log.indexOf('sync'));
    expect(log.indexOf('deadlines:start')).toBeLessThan(log.indexOf('sync'));
    expect(log.indexOf('sync')).toBeLessThan(log.indexOf('reconcile'));
    expect(log).toContain('status');
    expect(log).toContain('events');
    expect(Object.keys(actor.getSnapshot().children).sort()).toEqual(['deadlines', 'eventSync', 'exchangeStatus', 'lifecycle', 'reconcile']);
    actor.stop();
  });

  it('retries a failed initial sync with backoff and never reaches running before it succeeds', async () => {
    let attempts = 0;
    const { actor, clock } = build({
      sync: async () => {
        attempts++;
        if (attempts < 3) throw new Error('503 maintenance');
        return { markets: 5, pages: 1 };
      },
    });
    await flush();
    expect(actor.getSnapshot().value).toBe('syncBackoff');
    expect(actor.getSnapshot().context).toMatchObject({ syncFailures: 1, lastSyncError: '503 maintenance' });
    expect(actor.getSnapshot().children['reconcile']).toBeUndefined();
    clock.increment(100);
    await flush();
    expect(actor.getSnapshot().value).toBe('syncBackoff');
    clock.increment(200);
    await flush();
    expect(attempts).toBe(3);
    expect(actor.getSnapshot().value).toEqual({ running: 'healthy' });
    actor.stop();
  });

  it('is degraded while any child reports a problem, healthy again when all clear', async () => {
    const { actor } = build();
    await flush();
    actor.send({ type: 'EXCHANGE.STATUS', problem: 'exchange under maintenance' });
    expect(actor.getSnapshot().value).toEqual({ running: 'degraded' });
    actor.send({ type: 'TASK.FAILED', name: 'reconcile', error: 'HttpError: 500', failures: 2 });
    expect(actor.getSnapshot().context.problems).toEqual({ exchange: 'exchange under maintenance', reconcile: 'HttpError: 500 (failed 2×)' });
    actor.send({ type: 'EXCHANGE.STATUS', problem: null });
    expect(actor.getSnapshot().value).toEqual({ running: 'degraded' });
    actor.send({ type: 'TASK.SUCCEEDED', name: 'reconcile', result: null });
    expect(actor.getSnapshot().value).toEqual({ running: 'healthy' });
    actor.send({ type: 'LIFECYCLE.ENDED', reason: 'source ended' });
    expect(actor.getSnapshot().value).toEqual({ running: 'degraded' });
    actor.send({ type: 'SOURCE.CHANGED' });
    expect(actor.getSnapshot().value).toEqual({ running: 'healthy' });
    actor.stop();
  });

  it('forwards source changes to the lifecycle child and suspected loss to reconcile', async () => {
    let reconciles = 0;
    const { actor, log } = build({ reconcile: async () => void reconciles++ });
    await flush();
    expect(reconciles).toBe(1); // right after the sync
    actor.send({ type: 'LIFECYCLE.LOSS_SUSPECTED', reason: 'seq_gap' });
    await flush();
    expect(reconciles).toBe(2);
    actor.send({ type: 'RECONCILE_NOW' });
    await flush();
    expect(reconciles).toBe(3);
    actor.send({ type: 'SOURCE.CHANGED' });
    expect(log).toContain('lifecycle:SOURCE.CHANGED');
    actor.stop();
  });

  it('ignores loss reports during the initial sync (the post-sync reconcile covers them)', async () => {
    let release!: () => void;
    const { actor } = build({ sync: () => new Promise((r) => (release = () => r({ markets: 0, pages: 0 }))) });
    await flush();
    expect(actor.getSnapshot().value).toBe('syncing');
    actor.send({ type: 'LIFECYCLE.LOSS_SUSPECTED', reason: 'resubscribed' });
    expect(actor.getSnapshot().value).toBe('syncing');
    release();
    await flush();
    expect(actor.getSnapshot().value).toEqual({ running: 'healthy' });
    actor.stop();
  });

  it('STOP from any phase stops every child and finishes in stopped', async () => {
    for (const phase of ['syncing', 'running'] as const) {
      const { actor, log } = build(phase === 'syncing' ? { sync: () => new Promise(() => {}) } : {});
      await flush();
      actor.send({ type: 'STOP' });
      await waitFor(actor, (s) => s.status === 'done');
      expect(actor.getSnapshot().value).toBe('stopped');
      expect(log).toContain('lifecycle:stop');
      expect(log).toContain('deadlines:stop');
      expect(log.at(-1)).toBe('shutdown');
    }
  });
});
