/**
 * Liveness and readiness of a registry, from its summary store — what /healthz and /readyz of
 * the metrics server answer, as plain functions an embedder's own server can call.
 *
 * - live: the registry has not stopped (or begun stopping). A registry not started yet is live.
 * - ready: the initial sync is done and the supervisor is `running.healthy` (not degraded, not
 *   stopping). When not ready, `reasons` says why, one sentence each.
 */
import type { RegistrySummary } from '../registry/summary-store.js';
import type { MetricsSource } from './registry-metrics.js';

export interface Liveness {
  readonly live: boolean;
  readonly phase: string;
}

export interface Readiness {
  readonly ready: boolean;
  readonly phase: string;
  /** Why it is not ready (empty when ready). */
  readonly reasons: readonly string[];
  readonly sync: { readonly state: string; readonly pages: number; readonly markets: number; readonly attempts: number; readonly lastError: string | null };
  readonly problems: Readonly<Record<string, string>>;
}

const ENDED = new Set(['stopping', 'stopped']);

export function livenessOf(summary: RegistrySummary): Liveness {
  return { live: !ENDED.has(summary.phase), phase: summary.phase };
}

export function readinessOf(summary: RegistrySummary): Readiness {
  const { phase, sync, problems } = summary;
  const reasons: string[] = [];
  if (ENDED.has(phase)) reasons.push(`the registry is ${phase}`);
  else if (phase === 'idle') reasons.push('the registry has not been started');
  if (sync.state !== 'done') {
    const progress = `${sync.pages} pages, ${sync.markets} markets so far`;
    const failed = sync.lastError !== null ? `; last attempt failed: ${sync.lastError}` : '';
    reasons.push(`the initial sync is not done (${sync.state}, ${progress}${failed})`);
  }
  if (phase === 'running.degraded') {
    const named = Object.entries(problems).map(([name, why]) => `${name}: ${why}`);
    reasons.push(`the registry is degraded${named.length > 0 ? ` (${named.join('; ')})` : ''}`);
  } else if (sync.state === 'done' && !ENDED.has(phase) && phase !== 'running.healthy') {
    reasons.push(`the registry is ${phase}`);
  }
  return {
    ready: reasons.length === 0,
    phase,
    reasons,
    sync: { state: sync.state, pages: sync.pages, markets: sync.markets, attempts: sync.attempts, lastError: sync.lastError },
    problems,
  };
}

export function registryLiveness(source: Pick<MetricsSource, 'summary'>): Liveness {
  return livenessOf(source.summary.getSnapshot().context);
}

export function registryReadiness(source: Pick<MetricsSource, 'summary'>): Readiness {
  return readinessOf(source.summary.getSnapshot().context);
}
