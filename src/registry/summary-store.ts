/**
 * The registry's low-frequency, observable state: which phase the supervisor is in, initial
 * sync progress, exchange status, the lifecycle connection. An @xstate/store, so the CLI, the
 * visualizer and embedders can subscribe to it. (High-frequency counters stay plain fields on
 * the core and are read on demand through `stats()`: a store update per frame would cost more
 * than the frame.)
 */
import { createStore } from '@xstate/store';
import type { ExchangeStatus, Micros } from '../domain/types.js';

export interface SyncProgress {
  readonly state: 'pending' | 'running' | 'done';
  readonly pages: number;
  readonly markets: number;
  readonly quarantined: number;
  readonly startedAt: Micros | null;
  readonly finishedAt: Micros | null;
  readonly attempts: number;
}

export interface LifecycleConnection {
  readonly source: 'websocket' | 'external' | 'none';
  readonly state: string;
  readonly attempt: number;
  readonly error: string | null;
}

export interface RegistrySummary {
  /** The supervisor's state, e.g. "syncing" or "running.degraded". */
  readonly phase: string;
  readonly problems: Readonly<Record<string, string>>;
  readonly sync: SyncProgress;
  readonly exchange: ExchangeStatus | null;
  readonly lifecycle: LifecycleConnection;
  readonly lastReconcile: { readonly mode: 'full' | 'delta'; readonly markets: number; readonly changes: number; readonly at: Micros } | null;
}

export function createSummaryStore(lifecycleSource: LifecycleConnection['source']) {
  const initial: RegistrySummary = {
    phase: 'idle',
    problems: {},
    sync: { state: 'pending', pages: 0, markets: 0, quarantined: 0, startedAt: null, finishedAt: null, attempts: 0 },
    exchange: null,
    lifecycle: { source: lifecycleSource, state: lifecycleSource === 'none' ? 'disabled' : 'idle', attempt: 0, error: null },
    lastReconcile: null,
  };
  return createStore({
    context: initial,
    on: {
      phase: (ctx, e: { phase: string; problems: Readonly<Record<string, string>> }) => ({ ...ctx, phase: e.phase, problems: e.problems }),
      syncStarted: (ctx, e: { at: Micros }) => ({
        ...ctx,
        sync: { ...ctx.sync, state: 'running' as const, pages: 0, markets: 0, quarantined: 0, startedAt: e.at, attempts: ctx.sync.attempts + 1 },
      }),
      syncProgress: (ctx, e: { pages: number; markets: number; quarantined: number }) => ({
        ...ctx,
        sync: { ...ctx.sync, pages: e.pages, markets: e.markets, quarantined: e.quarantined },
      }),
      synced: (ctx, e: { at: Micros; markets: number; pages: number }) => ({
        ...ctx,
        sync: { ...ctx.sync, state: 'done' as const, finishedAt: e.at, markets: e.markets, pages: e.pages },
      }),
      exchange: (ctx, e: { status: ExchangeStatus | null }) => ({ ...ctx, exchange: e.status }),
      lifecycle: (ctx, e: { state: string; attempt: number; error: string | null; source?: LifecycleConnection['source'] }) => ({
        ...ctx,
        lifecycle: { source: e.source ?? ctx.lifecycle.source, state: e.state, attempt: e.attempt, error: e.error },
      }),
      reconciled: (ctx, e: { mode: 'full' | 'delta'; markets: number; changes: number; at: Micros }) => ({
        ...ctx,
        lastReconcile: { mode: e.mode, markets: e.markets, changes: e.changes, at: e.at },
      }),
    },
  });
}

export type SummaryStore = ReturnType<typeof createSummaryStore>;
