/**
 * What each actor of the supervisor (machines/registry.ts) does, over the registry's data plane
 * (core, store, handler, scheduler, REST client). Each implementation reports through its own
 * actor protocol (a promise's output, a callback actor's sendBack); none reaches into the root.
 */
import { fromCallback, fromPromise } from 'xstate';
import type { ConsumerReport, ConsumeInput, SocketCommand, SocketInput } from '../../machines/lifecycle-connection.js';
import { lifecycleConnectionMachine } from '../../machines/lifecycle-connection.js';
import { periodicTaskMachine, type PeriodicTaskRunInput } from '../../machines/periodic-task.js';
import { reconcileMachine, type ReconcilePassInput, type ReconcilePassOutput } from '../../machines/reconcile.js';
import type { ChangeFlowEvent, ConsumeSourceInput, FetchInput, FetchOutput, InitialSyncEvent } from '../../machines/registry.js';
import type { ExchangeStatus, Micros } from '../domain/types.js';
import type { KalshiCredentials } from '../kalshi/auth.js';
import { wsConnectionActor } from '../kalshi/ws-connection.js';
import type { Logger } from '../log.js';
import type { ChangeStream } from './change-stream.js';
import type { RegistryCore } from './core.js';
import type { DeadlineScheduler } from './deadline-scheduler.js';
import { describeFailure, FailureLog } from './failure.js';
import type { LifecycleHandler, LossReason } from './lifecycle-handler.js';
import { fetchUnknownMarket, pollExchangeStatus, rereadStaleMarkets, runEventPass, runMarketPass, type RestApi } from './rest-tasks.js';

export interface RegistryActorDeps {
  readonly core: RegistryCore;
  readonly rest: RestApi;
  readonly handler: LifecycleHandler;
  readonly scheduler: DeadlineScheduler;
  readonly logger: Logger;
  readonly pageLimit: number;
  readonly combos: 'include' | 'exclude';
  readonly unknownTickerRetryMs: number;
  /** The lifecycle WebSocket (when the registry runs its own). */
  readonly socket: { readonly url: string; readonly credentials?: KalshiCredentials; readonly idleTimeoutMs: number } | null;
  /** The change stream, watched for a `block` subscriber that holds ingestion still. */
  readonly changes: ChangeStream;
  /** How long such a subscriber may block before the registry reports itself degraded. */
  readonly stuckSubscriberMs: number;
  /** Called once when the initial sync is complete (with onFirstEventPass, resolves `synced`). */
  readonly onSynced: (summary: { markets: number; pages: number; ms: number }) => void;
  /** Called once when the first event pass has succeeded or failed. */
  readonly onFirstEventPass: () => void;
  /** Runs at shutdown, after every child has stopped. */
  readonly shutdown: () => Promise<void>;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * "Events may have been lost" is logged at most once per interval with a count: a flood of gaps
 * (a hostile or broken source) must not become a flood of log lines.
 */
function rateLimitedLossLog(logger: Logger, intervalMs = 10_000): (reason: string, detail: string) => void {
  let lastAt = -Infinity;
  let suppressed = 0;
  return (reason, detail) => {
    const now = performance.now();
    if (now - lastAt < intervalMs) {
      suppressed++;
      return;
    }
    lastAt = now;
    logger.info(
      { reason, detail, ...(suppressed > 0 ? { alsoSinceLastLine: suppressed } : {}) },
      'lifecycle events may have been lost; a full REST reconcile is due',
    );
    suppressed = 0;
  };
}

/** Reads one source into the registry, reporting what the supervisor must know. */
function consumer<TInput>(deps: RegistryActorDeps, sourceOf: (input: TInput) => AsyncIterable<string | Uint8Array>) {
  const logLoss = rateLimitedLossLog(deps.logger);
  return fromCallback<{ type: 'NONE' }, TInput>(({ input, sendBack }) => {
    const controller = new AbortController();
    const report = (event: ConsumerReport) => {
      if (!controller.signal.aborted) sendBack(event);
    };
    const hooks = {
      onLossSuspected: (reason: LossReason, detail: string) => {
        logLoss(reason, detail);
        report({ type: 'LIFECYCLE.LOSS_SUSPECTED', reason: `${reason}: ${detail}` });
      },
      onUnknownTicker: (ticker: string) => report({ type: 'MARKET.UNKNOWN', ticker }),
    };
    deps.handler.consume(sourceOf(input), controller.signal, hooks).then(
      () => report({ type: 'CONSUMER.ENDED', error: null }),
      (err: unknown) => {
        deps.logger.error({ err }, 'lifecycle consumer failed; it will be restarted');
        report({ type: 'CONSUMER.ENDED', error: message(err) });
      },
    );
    return () => controller.abort();
  });
}

/** The `.provide({ actors })` of the supervisor. */
export function registryActors(deps: RegistryActorDeps) {
  const { core, rest, logger } = deps;

  const syncFailures = new FailureLog();
  const reconcileFailures = new FailureLog();

  const initialSync = fromCallback<{ type: 'NONE' }>(({ sendBack }) => {
    const controller = new AbortController();
    runMarketPass({
      core,
      rest,
      source: 'sync',
      pageLimit: deps.pageLimit,
      combos: deps.combos,
      signal: controller.signal,
      onPage: (p) => sendBack({ type: 'SYNC.PROGRESS', pages: p.pages, markets: p.markets, quarantined: p.quarantined } satisfies InitialSyncEvent),
    }).then(
      (result) => {
        const ms = Math.round((result.finishedAt - result.startedAt) / 1000);
        logger.info({ markets: result.markets, pages: result.pages, quarantined: result.quarantined, ms }, 'initial sync complete');
        syncFailures.reset();
        deps.onSynced({ markets: core.store.size, pages: result.pages, ms });
        sendBack({
          type: 'SYNC.DONE',
          pages: result.pages,
          markets: result.markets,
          quarantined: result.quarantined,
          startedAt: result.startedAt,
          finishedAt: result.finishedAt,
        } satisfies InitialSyncEvent);
      },
      (err: unknown) => {
        if (controller.signal.aborted) return;
        const failure = describeFailure(err);
        if (syncFailures.first(failure.cause)) {
          const what = failure.permanent
            ? 'initial sync failed and retrying will not fix it until the cause is fixed; still retrying with backoff'
            : 'initial sync failed; retrying with backoff';
          logger.error({ err: failure.message, permanent: failure.permanent }, what);
        }
        sendBack({ type: 'SYNC.FAILED', error: failure.message, permanent: failure.permanent } satisfies InitialSyncEvent);
      },
    );
    return () => controller.abort();
  });

  const reconcilePass = fromPromise<ReconcilePassOutput, ReconcilePassInput>(async ({ input, signal }) => {
    let result: Awaited<ReturnType<typeof runMarketPass>>;
    let reread: number;
    try {
      result = await runMarketPass({
        core,
        rest,
        source: 'reconcile',
        pageLimit: deps.pageLimit,
        combos: deps.combos,
        signal,
        ...(input.mode === 'delta' && input.minUpdatedTs !== null ? { minUpdatedTs: input.minUpdatedTs } : {}),
      });
      reread = await rereadStaleMarkets(core, rest, signal);
    } catch (err) {
      const failure = describeFailure(err);
      if (!signal.aborted && reconcileFailures.first(failure.cause)) {
        logger.error(
          { err: failure.message, permanent: failure.permanent, mode: input.mode },
          'reconcile failed; retrying with backoff (the registry may be stale meanwhile)',
        );
      }
      throw err;
    }
    reconcileFailures.reset();
    logger.info(
      { mode: result.mode, markets: result.markets, changes: result.changes, missing: result.missing, pages: result.pages, reread },
      'reconcile complete',
    );
    return { mode: result.mode, startedAt: result.startedAt, finishedAt: result.finishedAt, markets: result.markets, changes: result.changes };
  });

  // Periodic tasks' outputs are `unknown` to their chart; the summary reads them back as these types.
  const exchangeStatusTask = fromPromise<unknown, PeriodicTaskRunInput>(({ signal }): Promise<ExchangeStatus | null> => pollExchangeStatus(core, rest, signal));

  /** An event pass; its output's `startedAt` is the next pass's `min_updated_ts` watermark. */
  let firstEventPass = true;
  const eventSyncTask = fromPromise<unknown, PeriodicTaskRunInput>(async ({ input, signal }): Promise<{ startedAt: Micros; events: number; pages: number }> => {
    const startedAt = core.now();
    const last = input.lastResult as { startedAt?: Micros } | null;
    const minUpdatedTs = typeof last?.startedAt === 'number' ? Math.floor(last.startedAt / 1e6) - 60 : undefined;
    try {
      const result = await runEventPass(core, rest, { signal, combos: deps.combos, ...(minUpdatedTs === undefined ? {} : { minUpdatedTs }) });
      return { startedAt, events: result.events, pages: result.pages };
    } catch (err) {
      if (!signal.aborted) logger.warn({ err: message(err) }, 'event sync failed; retrying with backoff');
      throw err;
    } finally {
      if (firstEventPass && !signal.aborted) {
        firstEventPass = false;
        deps.onFirstEventPass();
      }
    }
  });

  const fetchMarket = fromPromise<FetchOutput, FetchInput>(async ({ input, signal }) => {
    const { ticker } = input;
    // Held during the initial sync: the sync may have brought it since.
    if (core.store.get(ticker) !== undefined) return { ticker, outcome: 'known' };
    try {
      const outcome = await fetchUnknownMarket(core, rest, ticker, { retryNotFoundMs: deps.unknownTickerRetryMs, signal });
      if (outcome !== 'added') logger.warn({ ticker, outcome }, 'lifecycle event for a market REST does not know');
      return { ticker, outcome };
    } catch (err) {
      if (!signal.aborted) logger.warn({ ticker, err: message(err) }, 'could not fetch unknown market; the next reconcile will');
      return { ticker, outcome: 'failed' };
    }
  });

  /** Polls the change stream; reports (and logs once per episode) a subscriber that holds ingestion. */
  const changeFlow = fromCallback(({ sendBack }) => {
    let blocked = false;
    const timer = setInterval(
      () => {
        const forMs = deps.changes.blockedForMs();
        if (!blocked && forMs >= deps.stuckSubscriberMs) {
          blocked = true;
          logger.warn(
            { forMs: Math.round(forMs), subscribers: deps.changes.subscriberCount },
            'a change subscriber is holding ingestion still; the registry is degraded until it reads',
          );
          sendBack({ type: 'CHANGES.BLOCKED', forMs } satisfies ChangeFlowEvent);
        } else if (blocked && forMs === 0) {
          blocked = false;
          logger.info('change subscribers caught up; ingestion flows again');
          sendBack({ type: 'CHANGES.FLOWING' } satisfies ChangeFlowEvent);
        }
      },
      Math.min(1000, Math.max(10, deps.stuckSubscriberMs / 4)),
    );
    timer.unref();
    return () => clearInterval(timer);
  });

  const deadlines = fromCallback(() => {
    deps.scheduler.start();
    return () => deps.scheduler.stop();
  });

  const socket = deps.socket;
  const lifecycleConnection = lifecycleConnectionMachine.provide({
    actors: {
      // Without a URL the chart is never entered (the supervisor chooses another source).
      socket:
        socket === null
          ? fromCallback<SocketCommand, SocketInput>(() => () => {})
          : wsConnectionActor({
              ...socket,
              logger,
              // An oversized message is never read (ws closes with 1009): counted as quarantined.
              onOversizedFrame: (limit) => core.quarantine('lifecycle socket', `a message larger than ${limit} bytes (the frame limit); reconnecting`),
            }),
      consume: consumer<ConsumeInput>(deps, (input) => input.frames),
    },
  });

  return {
    initialSync,
    lifecycleConnection,
    consumeSource: consumer<ConsumeSourceInput>(deps, (input) => input.source.frames),
    deadlines,
    changeFlow,
    fetchMarket,
    shutdown: fromPromise(() => deps.shutdown()),
    reconcile: reconcileMachine.provide({ actors: { pass: reconcilePass } }),
    exchangeStatus: periodicTaskMachine.provide({ actors: { task: exchangeStatusTask } }),
    eventSync: periodicTaskMachine.provide({ actors: { task: eventSyncTask } }),
  };
}
