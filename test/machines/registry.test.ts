/**
 * The registry supervisor chart (machines/registry.ts) with stub children: which state owns
 * which child, the sync ⇄ backoff loop, degraded/healthy, lifecycle sources and restarts,
 * unknown-ticker fetches (held during the sync, capped after), and STOP from anywhere.
 * Delays run on xstate's SimulatedClock.
 */
import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, fromPromise, SimulatedClock, waitFor, type AnyActorRef } from 'xstate';
import {
  externalSource,
  phaseOf,
  registryMachine,
  type FetchInput,
  type FetchOutput,
  type InitialSyncEvent,
  type RegistrySupervisorInput,
} from '../../machines/registry.js';
import { periodicTaskMachine, type PeriodicTaskRunInput } from '../../machines/periodic-task.js';
import { reconcileMachine, type ReconcilePassInput, type ReconcilePassOutput } from '../../machines/reconcile.js';
import { lifecycleConnectionMachine } from '../../machines/lifecycle-connection.js';

const flush = () => new Promise((r) => setImmediate(r));

const baseInput: RegistrySupervisorInput = {
  reconcileIntervalMs: 60_000,
  reconcileFullEvery: 6,
  statusIntervalMs: 10_000,
  eventSyncIntervalMs: 60_000,
  backoff: { baseMs: 100, maxMs: 1000 },
  lifecycle: 'websocket',
  externalSource: null,
  connection: {
    url: 'ws://127.0.0.1:1/x',
    channels: ['market_lifecycle_v2'],
    reconnect: { baseMs: 100, maxMs: 1000, maxAttempts: 3, resetAfterMs: 10_000 },
    highWaterMark: 100,
  },
  maxPendingFetches: 2,
};

interface BuildOptions {
  sync?: (send: (e: InitialSyncEvent) => void) => void;
  pass?: (input: ReconcilePassInput) => Promise<ReconcilePassOutput>;
  fetch?: (input: FetchInput) => Promise<FetchOutput>;
  input?: Partial<RegistrySupervisorInput>;
}

function build(opts: BuildOptions = {}) {
  const log: string[] = [];
  const passes: ReconcilePassInput[] = [];
  const fetches: string[] = [];
  let consumerParent: ((e: { type: string; [k: string]: unknown }) => void) | null = null;
  const machine = registryMachine.provide({
    actors: {
      lifecycleConnection: lifecycleConnectionMachine.provide({
        actors: {
          socket: fromCallback(() => {
            log.push('socket:start');
            return () => log.push('socket:stop');
          }),
          consume: fromCallback(() => () => {}),
        },
      }),
      consumeSource: fromCallback(({ sendBack, input }) => {
        log.push(`consumeSource:start:${(input as { source: { generation: number } }).source.generation}`);
        consumerParent = sendBack;
        return () => log.push('consumeSource:stop');
      }),
      deadlines: fromCallback(() => {
        log.push('deadlines:start');
        return () => log.push('deadlines:stop');
      }),
      initialSync: fromCallback(({ sendBack }) => {
        log.push('sync');
        const send = (e: InitialSyncEvent) => sendBack(e);
        if (opts.sync) opts.sync(send);
        else queueMicrotask(() => send({ type: 'SYNC.DONE', pages: 1, markets: 1, quarantined: 0, startedAt: 5_000_000_000, finishedAt: 6_000_000_000 }));
        return () => {};
      }),
      fetchMarket: fromPromise<FetchOutput, FetchInput>(async ({ input }) => {
        fetches.push(input.ticker);
        return opts.fetch ? opts.fetch(input) : { ticker: input.ticker, outcome: 'added' };
      }),
      shutdown: fromPromise(async () => {
        log.push('shutdown');
      }),
      reconcile: reconcileMachine.provide({
        actors: {
          pass: fromPromise<ReconcilePassOutput, ReconcilePassInput>(async ({ input }) => {
            passes.push(input);
            return opts.pass ? opts.pass(input) : { mode: input.mode, startedAt: 7_000_000_000, finishedAt: 8_000_000_000, markets: 1, changes: 0 };
          }),
        },
      }),
      exchangeStatus: periodicTaskMachine.provide({
        actors: { task: fromPromise<unknown, PeriodicTaskRunInput>(async () => (log.push('status'), { maintenance: false, exchangeActive: true })) },
      }),
      eventSync: periodicTaskMachine.provide({ actors: { task: fromPromise<unknown, PeriodicTaskRunInput>(async () => void log.push('events')) } }),
    },
  });
  const clock = new SimulatedClock();
  const actor = createActor(machine, { input: { ...baseInput, ...opts.input }, clock }).start();
  const phase = () => phaseOf(actor.getSnapshot().value);
  const child = (id: string) => actor.getSnapshot().children[id as never] as AnyActorRef | undefined;
  return { actor, clock, log, passes, fetches, phase, child, consumer: () => consumerParent };
}

describe('registry supervisor statechart', () => {
  it('live invokes lifecycle, deadlines, exchange status and event sync beside the sync; running invokes reconcile', async () => {
    const { actor, log, phase, child } = build({ sync: () => {} });
    await flush();
    // All started in the first macrostep, before any page can arrive.
    expect(phase()).toBe('syncing');
    expect(log).toEqual(expect.arrayContaining(['deadlines:start', 'sync', 'socket:start', 'status', 'events']));
    expect(child('reconcile')).toBeUndefined();
    expect(Object.keys(actor.getSnapshot().children).sort()).toEqual(['changeFlow', 'deadlines', 'eventSync', 'exchangeStatus', 'initialSync', 'lifecycle']);
    actor.stop();
  });

  it('running owns reconcile; the first reconcile is a delta from the sync start', async () => {
    const { actor, log, phase, passes } = build();
    await flush();
    expect(phase()).toBe('running.healthy');
    expect(Object.keys(actor.getSnapshot().children).sort()).toEqual(['changeFlow', 'deadlines', 'eventSync', 'exchangeStatus', 'lifecycle', 'reconcile']);
    expect(log).toContain('events');
    expect(passes[0]).toEqual({ mode: 'delta', minUpdatedTs: 5000 - 60 });
    actor.stop();
  });

  it('records sync progress in context and retries a failed sync with backoff, saying why', async () => {
    let attempts = 0;
    const { actor, clock, phase } = build({
      sync: (send) => {
        attempts++;
        queueMicrotask(() => {
          send({ type: 'SYNC.PROGRESS', pages: 1, markets: 1000, quarantined: 2 });
          if (attempts < 3) send({ type: 'SYNC.FAILED', error: 'HTTP 401: check the credentials', permanent: true });
          else send({ type: 'SYNC.DONE', pages: 2, markets: 2000, quarantined: 2, startedAt: 1, finishedAt: 2 });
        });
      },
    });
    await flush();
    expect(phase()).toBe('syncBackoff');
    expect(actor.getSnapshot().context).toMatchObject({
      syncFailures: 1,
      lastSyncError: 'HTTP 401: check the credentials',
      lastSyncErrorPermanent: true,
      sync: { pages: 1, markets: 1000, quarantined: 2 },
      problems: { initialSync: 'HTTP 401: check the credentials' },
    });
    clock.increment(100);
    await flush();
    clock.increment(200);
    await flush();
    expect(attempts).toBe(3);
    expect(phase()).toBe('running.healthy');
    expect(actor.getSnapshot().context.problems).toEqual({});
    actor.stop();
  });

  it('is degraded while any child reports a problem, healthy again when all clear', async () => {
    const { actor, phase } = build();
    await flush();
    actor.send({ type: 'TASK.SUCCEEDED', name: 'exchangeStatus', result: { maintenance: true, exchangeActive: false } });
    expect(phase()).toBe('running.degraded');
    actor.send({ type: 'TASK.FAILED', name: 'reconcile', error: 'HttpError: 500', failures: 2 });
    expect(actor.getSnapshot().context.problems).toEqual({ exchange: 'exchange under maintenance', reconcile: 'HttpError: 500 (failed 2×)' });
    actor.send({ type: 'TASK.SUCCEEDED', name: 'exchangeStatus', result: { maintenance: false, exchangeActive: true } });
    expect(phase()).toBe('running.degraded');
    actor.send({ type: 'TASK.SUCCEEDED', name: 'reconcile', result: null });
    expect(phase()).toBe('running.healthy');
    // A subscriber that holds ingestion still is a problem too, until it reads again.
    actor.send({ type: 'CHANGES.BLOCKED', forMs: 31_000 });
    expect(phase()).toBe('running.degraded');
    expect(actor.getSnapshot().context.problems['changeStream']).toMatch(/31 s.*conflate/);
    actor.send({ type: 'CHANGES.FLOWING' });
    expect(phase()).toBe('running.healthy');
    actor.stop();
  });

  it('loss reported during the sync is context, handed to reconcile as input: its first pass is full', async () => {
    let finish!: () => void;
    const { actor, phase, passes } = build({
      sync: (send) => (finish = () => send({ type: 'SYNC.DONE', pages: 1, markets: 1, quarantined: 0, startedAt: 1, finishedAt: 2 })),
    });
    await flush();
    actor.send({ type: 'LIFECYCLE.LOSS_SUSPECTED', reason: 'seq_gap: sid 1 jumped to seq 9' });
    expect(phase()).toBe('syncing');
    expect(actor.getSnapshot().context.lossSuspected).toBe('seq_gap: sid 1 jumped to seq 9');
    finish();
    await flush();
    expect(passes[0]).toEqual({ mode: 'full', minUpdatedTs: null });
    actor.stop();
  });

  it('loss while running and reconcileNow() each run a full pass', async () => {
    const { actor, passes } = build();
    await flush();
    expect(passes.map((p) => p.mode)).toEqual(['delta']);
    actor.send({ type: 'LIFECYCLE.LOSS_SUSPECTED', reason: 'resubscribed' });
    await flush();
    actor.send({ type: 'RECONCILE_NOW' });
    await flush();
    expect(passes.map((p) => p.mode)).toEqual(['delta', 'full', 'full']);
    actor.stop();
  });

  it('SOURCE.SET replaces the socket with the external consumer and owes a full reconcile', async () => {
    const { actor, log, passes, child } = build();
    await flush();
    actor.send({ type: 'SOURCE.SET', source: externalSource((async function* () {})(), 1) });
    await flush();
    expect(log).toContain('socket:stop');
    expect(log).toContain('consumeSource:start:1');
    expect(actor.getSnapshot().value).toMatchObject({ live: { lifecycle: 'external' } });
    expect(passes.at(-1)?.mode).toBe('full');
    // A second source replaces the first: the old consumer stops before the new one starts.
    actor.send({ type: 'SOURCE.SET', source: externalSource((async function* () {})(), 2) });
    expect(log.slice(-2)).toEqual(['consumeSource:stop', 'consumeSource:start:2']);
    expect(child('lifecycle')).toBeDefined();
    actor.stop();
  });

  it('an external source that ends waits for a new one; a consumer that fails is restarted with backoff', async () => {
    const { actor, clock, log, phase, consumer } = build({ input: { lifecycle: 'external', externalSource: externalSource((async function* () {})(), 1) } });
    await flush();
    consumer()?.({ type: 'CONSUMER.ENDED', error: 'onRejected listener exploded' });
    expect(actor.getSnapshot().value).toMatchObject({ live: { lifecycle: 'restarting' } });
    expect(phase()).toBe('running.degraded');
    clock.increment(1000);
    await flush();
    expect(log.filter((l) => l.startsWith('consumeSource:start'))).toHaveLength(2);
    consumer()?.({ type: 'CONSUMER.ENDED', error: null });
    expect(actor.getSnapshot().value).toMatchObject({ live: { lifecycle: 'ended' } });
    expect(actor.getSnapshot().context.problems['lifecycle']).toBe('the lifecycle source ended');
    actor.stop();
  });

  it('a lifecycle connection that gives up is restarted by the supervisor after a backoff', async () => {
    const { actor, clock, log } = build({
      input: { connection: { ...baseInput.connection!, reconnect: { baseMs: 10, maxMs: 10, maxAttempts: 0, resetAfterMs: 10_000 } } },
    });
    await flush();
    const lifecycle = actor.getSnapshot().children['lifecycle' as never] as AnyActorRef;
    lifecycle.send({ type: 'WS.CLOSED', error: 'connection refused', httpStatus: null });
    await flush();
    expect(actor.getSnapshot().value).toMatchObject({ live: { lifecycle: 'restarting' } });
    expect(actor.getSnapshot().context).toMatchObject({ lifecycleFailures: 1, problems: { lifecycle: 'the lifecycle source ended' } });
    clock.increment(1000);
    await flush();
    expect(log.filter((l) => l === 'socket:start')).toHaveLength(2);
    actor.stop();
  });

  it('unknown tickers: held during the sync and fetched after it; spawned children with ids, capped, then a full reconcile', async () => {
    let finish!: () => void;
    const pendingFetch: (() => void)[] = [];
    const { actor, fetches, passes } = build({
      sync: (send) => (finish = () => send({ type: 'SYNC.DONE', pages: 1, markets: 1, quarantined: 0, startedAt: 1, finishedAt: 2 })),
      fetch: (input) => new Promise((resolve) => pendingFetch.push(() => resolve({ ticker: input.ticker, outcome: 'added' }))),
    });
    await flush();
    actor.send({ type: 'MARKET.UNKNOWN', ticker: 'KX.A-1' });
    actor.send({ type: 'MARKET.UNKNOWN', ticker: 'KX.A-1' });
    expect(fetches).toEqual([]);
    expect(actor.getSnapshot().context.heldTickers).toEqual(['KX.A-1']);
    finish();
    await flush();
    expect(fetches).toEqual(['KX.A-1']);
    expect(actor.getSnapshot().context.pendingFetches).toEqual(['KX.A-1']);
    expect(actor.getSnapshot().children['fetch.KX.A-1' as never]).toBeDefined();
    actor.send({ type: 'MARKET.UNKNOWN', ticker: 'B' });
    actor.send({ type: 'MARKET.UNKNOWN', ticker: 'B' }); // already pending: nothing
    const before = passes.length;
    actor.send({ type: 'MARKET.UNKNOWN', ticker: 'C' }); // over the cap of 2: a full reconcile instead
    await flush();
    expect(fetches).toEqual(['KX.A-1', 'B']);
    expect(passes.slice(before).map((p) => p.mode)).toEqual(['full']);
    for (const release of pendingFetch) release();
    await flush();
    expect(actor.getSnapshot().context.pendingFetches).toEqual([]);
    expect(actor.getSnapshot().children['fetch.KX.A-1' as never]).toBeUndefined();
    actor.stop();
  });

  it('STOP from any phase stops every child of live, then shuts down', async () => {
    for (const syncs of [false, true]) {
      const { actor, log } = build(syncs ? {} : { sync: () => {} });
      await flush();
      actor.send({ type: 'STOP' });
      await waitFor(actor, (s) => s.status === 'done');
      expect(actor.getSnapshot().value).toBe('stopped');
      expect(log).toContain('socket:stop');
      expect(log).toContain('deadlines:stop');
      expect(log.at(-1)).toBe('shutdown');
      expect(Object.keys(actor.getSnapshot().children)).toEqual([]);
    }
  });

  it('phaseOf names the sync region while live', () => {
    expect(phaseOf({ live: { lifecycle: 'websocket', sync: 'syncing' } })).toBe('syncing');
    expect(phaseOf({ live: { lifecycle: 'none', sync: { running: 'degraded' } } })).toBe('running.degraded');
    expect(phaseOf('stopping')).toBe('stopping');
  });
});
