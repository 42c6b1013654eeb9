/**
 * The registry's low-frequency, observable state — which phase the supervisor is in, initial
 * sync progress, exchange status, the lifecycle connection, the reconcile decision — as an
 * @xstate/store the CLI, the visualizer and embedders subscribe to.
 *
 * It holds nothing of its own: every field is derived from the snapshots of the actor system
 * (the supervisor, its `lifecycle`, `exchangeStatus` and `reconcile` children), which reach it
 * through the registry's own inspection observer. High-frequency counters stay plain fields on
 * the core and are read on demand through `stats()`: a store update per frame would cost more
 * than the frame.
 */
import { createStore } from '@xstate/store';
import type { InspectionEvent } from 'xstate';
import { phaseOf, type LifecycleSourceKind, type RegistrySupervisorContext } from '../../machines/registry.js';
import type { LifecycleConnectionContext } from '../../machines/lifecycle-connection.js';
import type { ReconcileContext, ReconcileMode } from '../../machines/reconcile.js';
import type { PeriodicTaskContext } from '../../machines/periodic-task.js';
import type { ExchangeStatus, Micros } from '../domain/types.js';

export interface SyncProgress {
  readonly state: 'pending' | 'running' | 'done';
  readonly pages: number;
  readonly markets: number;
  readonly quarantined: number;
  readonly startedAt: Micros | null;
  readonly finishedAt: Micros | null;
  readonly attempts: number;
  /** Why the last attempt failed (null while it has not failed). */
  readonly lastError: string | null;
  /** The last failure is one retrying cannot fix (401/403, not Kalshi's JSON, a repeated cursor). */
  readonly lastErrorPermanent: boolean;
}

export interface LifecycleConnection {
  readonly source: LifecycleSourceKind;
  /** e.g. "active.connection.subscribed", "active.reconnecting", "failed", "external", "disabled". */
  readonly state: string;
  /** Consecutive failed connections. */
  readonly attempt: number;
  readonly error: string | null;
}

/** The decisions the supervisor and the reconcile chart have taken, and what they rest on. */
export interface RegistryDecisions {
  /** Mode of the reconcile pass running or next. */
  readonly reconcileMode: ReconcileMode | null;
  /** Why it is that mode. */
  readonly reconcileBecause: string | null;
  /** Why a full reconcile is owed, if one is. */
  readonly lossSuspected: string | null;
  readonly pendingFetches: number;
  readonly heldTickers: number;
}

export interface RegistrySummary {
  /** The supervisor's phase: "syncing", "syncBackoff", "running.healthy", "running.degraded", "stopping", "stopped". */
  readonly phase: string;
  readonly problems: Readonly<Record<string, string>>;
  readonly sync: SyncProgress;
  readonly exchange: ExchangeStatus | null;
  readonly lifecycle: LifecycleConnection;
  readonly lastReconcile: { readonly mode: ReconcileMode; readonly markets: number; readonly changes: number; readonly at: Micros } | null;
  readonly decisions: RegistryDecisions;
}

function statePath(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    const [key, child] = Object.entries(value as Record<string, unknown>)[0] ?? ['?', ''];
    return `${key}.${statePath(child)}`;
  }
  return String(value);
}

export function createSummaryStore(lifecycleSource: LifecycleSourceKind) {
  const initial: RegistrySummary = {
    phase: 'idle',
    problems: {},
    sync: {
      state: 'pending',
      pages: 0,
      markets: 0,
      quarantined: 0,
      startedAt: null,
      finishedAt: null,
      attempts: 0,
      lastError: null,
      lastErrorPermanent: false,
    },
    exchange: null,
    lifecycle: { source: lifecycleSource, state: lifecycleSource === 'none' ? 'disabled' : 'idle', attempt: 0, error: null },
    lastReconcile: null,
    decisions: { reconcileMode: null, reconcileBecause: null, lossSuspected: null, pendingFetches: 0, heldTickers: 0 },
  };
  return createStore({
    context: initial,
    on: {
      derived: (ctx, e: { patch: Partial<RegistrySummary> }) => ({ ...ctx, ...e.patch }),
    },
  });
}

export type SummaryStore = ReturnType<typeof createSummaryStore>;

interface SnapshotLike {
  readonly value?: unknown;
  readonly status?: string;
  readonly context?: unknown;
}

/**
 * The inspection observer that keeps `store` derived from the actor system. Actors are told
 * apart by their ids (the supervisor is the root; children are invoked with fixed ids).
 */
export function summaryObserver(store: SummaryStore): (event: InspectionEvent) => void {
  return (event) => {
    if (event.type !== '@xstate.snapshot') return;
    const snapshot = event.snapshot as SnapshotLike;
    const ctx = store.getSnapshot().context;
    const isRoot = event.actorRef.sessionId === event.rootId;
    if (isRoot) {
      const c = snapshot.context as RegistrySupervisorContext;
      const phase = snapshot.status === 'done' ? 'stopped' : phaseOf(snapshot.value);
      const syncing = phase === 'syncing' || phase === 'syncBackoff';
      const sync: SyncProgress = {
        state: c.sync.finishedAt !== null ? 'done' : syncing ? 'running' : 'pending',
        pages: c.sync.pages,
        markets: c.sync.markets,
        quarantined: c.sync.quarantined,
        startedAt: c.sync.startedAt,
        finishedAt: c.sync.finishedAt,
        attempts: c.syncFailures + (c.sync.finishedAt !== null || phase === 'syncing' ? 1 : 0),
        lastError: c.lastSyncError,
        lastErrorPermanent: c.lastSyncErrorPermanent,
      };
      const lifecycle: LifecycleConnection =
        c.source === 'websocket'
          ? { ...ctx.lifecycle, source: 'websocket' }
          : { source: c.source, state: c.source === 'none' ? 'disabled' : 'external', attempt: c.lifecycleFailures, error: c.problems['lifecycle'] ?? null };
      store.trigger.derived({
        patch: {
          phase,
          problems: c.problems,
          sync,
          lifecycle,
          decisions: {
            ...ctx.decisions,
            lossSuspected: ctx.decisions.lossSuspected ?? c.lossSuspected,
            pendingFetches: c.pendingFetches.length,
            heldTickers: c.heldTickers.length,
          },
        },
      });
      return;
    }
    switch ((event.actorRef as { id?: string }).id) {
      case 'lifecycle': {
        const c = snapshot.context as Partial<LifecycleConnectionContext> | undefined;
        if (c?.frames === undefined) return; // the external consumer: the root reports it
        store.trigger.derived({
          patch: { lifecycle: { source: 'websocket', state: statePath(snapshot.value), attempt: c.failures ?? 0, error: c.lastError ?? null } },
        });
        return;
      }
      case 'exchangeStatus': {
        const c = snapshot.context as PeriodicTaskContext;
        if (c.runs > 0) store.trigger.derived({ patch: { exchange: (c.failures > 0 ? null : (c.lastResult as ExchangeStatus | null)) ?? null } });
        return;
      }
      case 'reconcile': {
        const c = snapshot.context as ReconcileContext;
        const last = c.lastResult;
        store.trigger.derived({
          patch: {
            lastReconcile: last === null ? null : { mode: last.mode, markets: last.markets, changes: last.changes, at: last.finishedAt },
            decisions: { ...ctx.decisions, reconcileMode: c.mode, reconcileBecause: c.because, lossSuspected: c.lossSuspected },
          },
        });
        return;
      }
    }
  };
}
