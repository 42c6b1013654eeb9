/**
 * The initial sync of a warm start (a state directory with stored markets), as the supervisor's
 * `initialSync` actor: same protocol (SYNC.PROGRESS, SYNC.DONE | SYNC.FAILED), other work. No
 * chart change is needed; createRegistry provides this actor instead of the cold one.
 *
 *  1. The store already holds what was stored (loaded silently: that is what the last run's
 *     subscribers saw).
 *  2. Time first: every stored market whose open or close time passed while the registry was down
 *     takes its time transitions now, through the core (a `status_change` each).
 *  3. A `min_updated_ts` delta since the stored watermark (less the safety margin the reconcile
 *     uses) brings markets created or whose metadata changed meanwhile; with no watermark (the
 *     last run died during its initial sync) a full pass instead. Either way through
 *     `core.observe`: only real differences from the stored state are emitted.
 *  4. `synced` resolves (warm: true), and the supervisor is told that lifecycle events were lost
 *     while the registry was down (true: Kalshi has no replay), so its first reconcile, right
 *     after the sync, is a full verification pass in the background. Kalshi's `min_updated_ts`
 *     only sees metadata changes, so statuses changed during the downtime come from that pass
 *     (and from the WebSocket, which runs from the start).
 */
import { fromCallback } from 'xstate';
import type { ConsumerEvent, InitialSyncEvent } from '../../machines/registry.js';
import { DELTA_SAFETY_MARGIN_S } from '../../machines/reconcile.js';
import { STATUS_BY_CODE } from '../domain/fast-status.js';
import type { MarketStatus } from '../domain/types.js';
import { dueTimeEvents } from '../lifecycle/time-rules.js';
import type { Logger } from '../log.js';
import type { RegistryCore } from '../registry/core.js';
import { describeFailure } from '../registry/failure.js';
import { runMarketPass, type RestApi } from '../registry/rest-tasks.js';
import type { SyncWatermarks } from './schema.js';

export interface WarmSyncSummary {
  readonly markets: number;
  readonly pages: number;
  readonly ms: number;
  readonly warm: true;
  readonly loaded: number;
  /** What the sync pass was: a delta since the stored watermark, or a full pass (no watermark). */
  readonly mode: 'delta' | 'full';
  /** Changes the catch-up emitted before `synced` (time transitions and the pass). */
  readonly changes: number;
}

export interface WarmSyncDeps {
  readonly core: RegistryCore;
  readonly rest: RestApi;
  readonly logger: Logger;
  readonly pageLimit: number;
  readonly combos: 'include' | 'exclude';
  readonly loaded: number;
  readonly watermarks: () => SyncWatermarks;
  /** A pass completed (for the stored watermarks). */
  readonly onPass: (mode: 'full' | 'delta', startedAt: number) => void;
  readonly onSynced: (summary: WarmSyncSummary) => void;
}

/** Where a warm start's delta begins (Unix seconds), or null when only a full pass will do. */
export function warmDeltaSince(w: SyncWatermarks): number | null {
  const from = Math.max(w.lastFullPassStartedAt ?? -1, w.lastDeltaStartedAt ?? -1);
  return from < 0 ? null : Math.max(0, Math.floor(from / 1e6) - DELTA_SAFETY_MARGIN_S);
}

export function warmInitialSync(deps: WarmSyncDeps) {
  const { core, logger } = deps;
  return fromCallback<{ type: 'NONE' }>(({ sendBack }) => {
    const controller = new AbortController();
    const signal = controller.signal;
    const run = async () => {
      const startedMs = performance.now();
      const changesBefore = core.counters.changes;
      const since = warmDeltaSince(deps.watermarks());
      // A delta sees no status change: the first reconcile must be a full pass. (Without a
      // watermark this sync is itself a full pass.)
      if (since !== null)
        sendBack({
          type: 'LIFECYCLE.LOSS_SUSPECTED',
          reason: 'warm start: lifecycle events while the registry was down were not seen',
        } satisfies ConsumerEvent);
      const now = core.now();
      const due: string[] = [];
      const { store } = core;
      // Over the store's cells: no Market is built for the markets time leaves alone.
      for (let id = 0, top = store.idLimit; id < top; id++) {
        if (!store.isLive(id)) continue;
        const status = STATUS_BY_CODE[store.statusOf(id)] as MarketStatus;
        if (dueTimeEvents(status, store.openTsOf(id), store.closeTsOf(id), now).length > 0) due.push(store.tickerOf(id));
      }
      for (const ticker of due) {
        if (signal.aborted) return;
        const pending = core.applyDeadlines(ticker);
        if (pending) await pending;
      }
      const result = await runMarketPass({
        core,
        rest: deps.rest,
        source: 'sync',
        pageLimit: deps.pageLimit,
        combos: deps.combos,
        signal,
        ...(since === null ? {} : { minUpdatedTs: since }),
        onPage: (p) => sendBack({ type: 'SYNC.PROGRESS', pages: p.pages, markets: p.markets, quarantined: p.quarantined } satisfies InitialSyncEvent),
      });
      deps.onPass(result.mode, result.startedAt);
      const summary: WarmSyncSummary = {
        markets: core.store.size,
        pages: result.pages,
        ms: Math.round(performance.now() - startedMs),
        warm: true,
        loaded: deps.loaded,
        mode: result.mode,
        changes: core.counters.changes - changesBefore,
      };
      logger.info({ ...summary, timeTransitions: due.length, minUpdatedTs: since }, 'warm start: stored state caught up; a full verification pass follows');
      deps.onSynced(summary);
      sendBack({
        type: 'SYNC.DONE',
        pages: result.pages,
        markets: result.markets,
        quarantined: result.quarantined,
        startedAt: result.startedAt,
        finishedAt: result.finishedAt,
      } satisfies InitialSyncEvent);
    };
    run().catch((err: unknown) => {
      if (signal.aborted) return;
      const failure = describeFailure(err);
      logger.warn({ err: failure.message, permanent: failure.permanent }, 'warm initial sync failed; retrying after a backoff');
      sendBack({ type: 'SYNC.FAILED', error: failure.message, permanent: failure.permanent } satisfies InitialSyncEvent);
    });
    return () => controller.abort();
  });
}
