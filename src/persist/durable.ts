/**
 * The durable and shared extensions of a registry, wired in one place so createRegistry only
 * calls a few hooks: the embedded store (`stateDir`, ./persistence.ts) and the NATS fan-out
 * (`publish`, ../publish/publisher.ts). With neither option every hook is a no-op.
 */
import type { Micros } from '../domain/types.js';
import type { Logger } from '../log.js';
import type { ChangeStream } from '../registry/change-stream.js';
import type { RegistryCore } from '../registry/core.js';
import type { RestApi } from '../registry/rest-tasks.js';
import type { MarketStore } from '../store/market-store.js';
import { NatsPublisher, type PublisherOptions, type PublisherStats } from '../publish/publisher.js';
import { Persistence, type PassSnapshot, type PersistenceStats } from './persistence.js';
import type { MarketRecord } from './schema.js';
import type { WarmSyncSummary } from './warm-sync.js';
import { WriteTracker } from './write-tracker.js';

export interface DurableConfig {
  readonly stateDir?: string | undefined;
  readonly stateFlushMs: number;
  readonly publish?: PublisherOptions | undefined;
  /** "prod", "demo" or "custom": a state directory belongs to one exchange. */
  readonly exchange: string;
}

export interface DurableDeps {
  readonly store: MarketStore;
  readonly changes: ChangeStream;
  readonly core: RegistryCore;
  readonly logger: Logger;
  readonly now: () => Micros;
}

/** The part of the supervisor's snapshot the watermarks are read from. */
interface SupervisorLike {
  getSnapshot(): {
    context: { sync: { startedAt: number | null; finishedAt: number | null } };
    children: Record<string, unknown>;
  };
}

export interface Durable {
  /** Markets loaded from the state directory (0 without one, or on a cold start). */
  readonly loaded: number;
  /** The REST client the registry's actors should use (the record tap, with a state directory). */
  tapRest<T extends RestApi>(rest: T): T;
  /** The supervisor's actors, with the warm initial sync instead of the cold one when warm. */
  provideActors<A extends object>(
    actors: A,
    deps: { rest: RestApi; pageLimit: number; combos: 'include' | 'exclude'; onSynced: (s: WarmSyncSummary) => void },
  ): A;
  /** At registry start. */
  start(supervisor: () => SupervisorLike | null): void;
  /** At shutdown, before the change stream closes: publish what is buffered (bounded wait). */
  beforeShutdown(): Promise<void>;
  /** The registry's `synced` resolved: the NATS publisher announces it (`_registry`) once it has published everything before. */
  registrySynced(summary: { markets: number; warm: boolean }): void;
  /** Resolves once every change so far is committed to the state directory (at once without one). */
  whenDurable(): Promise<void>;
  /** Last: final state batch, NATS connection. */
  close(): Promise<void>;
  getMarketRecord(ticker: string): MarketRecord | undefined;
  persistenceStats(): PersistenceStats | null;
  publishStats(): PublisherStats | null;
}

const SHUTDOWN_DRAIN_MS = 5_000;

export function createDurable(config: DurableConfig, deps: DurableDeps): Durable {
  const { store, changes, core, logger } = deps;
  const tracker =
    config.stateDir !== undefined || config.publish !== undefined
      ? new WriteTracker({ store, changes, now: deps.now, scanMs: 1000, onError: (err) => logger.error({ err }, 'write tracker sweep failed') })
      : null;
  const persistence =
    config.stateDir === undefined || tracker === null
      ? null
      : Persistence.open({ dir: config.stateDir, exchange: config.exchange, store, core, tracker, logger, flushMs: config.stateFlushMs });
  const publisher =
    config.publish === undefined
      ? null
      : new NatsPublisher(config.publish, { store, changes, tracker, logger, whenDurable: persistence === null ? null : () => persistence.whenDurable() });
  let closed = false;

  return {
    loaded: persistence?.loaded ?? 0,
    tapRest: (rest) => (persistence === null ? rest : persistence.tapRest(rest)),
    provideActors(actors, actorDeps) {
      if (persistence === null || !persistence.warm) return actors;
      return { ...actors, initialSync: persistence.warmInitialSync(actorDeps) };
    },
    start(supervisor) {
      tracker?.start();
      if (persistence !== null) {
        persistence.watchPasses((): PassSnapshot => {
          const snapshot = supervisor()?.getSnapshot();
          if (snapshot === undefined) return { initial: null, lastReconcile: null };
          const child = snapshot.children['reconcile'] as { getSnapshot(): { context?: unknown } } | undefined;
          const reconcile = child?.getSnapshot().context as { lastResult?: { mode: 'full' | 'delta'; startedAt: number } | null } | undefined;
          const last = reconcile?.lastResult ?? null;
          return { initial: snapshot.context.sync, lastReconcile: last === null ? null : { mode: last.mode, startedAt: last.startedAt } };
        });
        persistence.start();
      }
      publisher?.start({ resync: persistence?.warm ?? false });
    },
    async beforeShutdown() {
      if (publisher !== null && !(await publisher.drain(SHUTDOWN_DRAIN_MS))) {
        logger.warn(
          { buffered: publisher.stats().buffered },
          'stopping before every change reached NATS (the state directory, if any, keeps them for the next start)',
        );
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      tracker?.sweep();
      tracker?.stop();
      await publisher?.close();
      await persistence?.close();
    },
    registrySynced: (summary) => publisher?.markSynced(summary),
    whenDurable: () => persistence?.whenDurable() ?? Promise.resolve(),
    getMarketRecord: (ticker) => persistence?.readRecord(ticker),
    persistenceStats: () => persistence?.stats() ?? null,
    publishStats: () => publisher?.stats() ?? null,
  };
}
