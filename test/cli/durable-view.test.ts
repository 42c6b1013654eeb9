/** The live view's lines for the state directory and the NATS fan-out, and the warm "synced" line. */
import { describe, expect, it } from 'vitest';
import { renderLiveSummary, renderSynced } from '../../src/cli/live-view.js';
import type { RegistryStats } from '../../src/registry/create-registry.js';
import type { RegistrySummary } from '../../src/registry/summary-store.js';

/** Only the fields the view reads. */
const summary = {
  phase: 'running.healthy',
  problems: {},
  exchange: null,
  lifecycle: { source: 'websocket', state: 'subscribed' },
} as unknown as RegistrySummary;

const stats = (over: Partial<Record<'persistence' | 'publish', unknown>>): RegistryStats =>
  ({
    markets: 3000,
    active: 2100,
    events: 100,
    statusCounts: { initialized: 0, inactive: 0, active: 2100, closed: 900, determined: 0, disputed: 0, amended: 0, finalized: 0 },
    counters: { changes: 3000, rejected: 0, quarantined: 0 },
    reconciles: 1,
    lifecycle: { lifecycleMessages: 10, gaps: 0 },
    persistence: null,
    publish: null,
    ...over,
  }) as unknown as RegistryStats;

describe('durable lines of the live summary', () => {
  it('none without a state directory or NATS', () => {
    expect(renderLiveSummary(summary, stats({}), 0, 200).join('\n')).not.toMatch(/state:|nats:/);
  });

  it('the writer and the publisher, with failures and a lost connection said', () => {
    const lines = renderLiveSummary(
      summary,
      stats({
        persistence: { writer: { marketsWritten: 4321, pendingMarkets: 12, failures: 2, lastError: 'SQLITE_FULL: database or disk is full' } },
        publish: { connected: false, stage: 'publishing', published: 2999, buffered: 1000, failures: 7 },
      }),
      0,
      200,
    );
    expect(lines).toContain(
      '  state: 4,321 market writes, 12 pending, 2 failed batches (SQLITE_FULL: database or disk is full) | nats: DISCONNECTED (publishing), 2,999 published, 1,000 buffered, 7 retries',
    );
    const healthy = renderLiveSummary(summary, stats({ publish: { connected: true, stage: 'publishing', published: 5, buffered: 0, failures: 0 } }), 0, 200);
    expect(healthy).toContain('  nats: publishing, 5 published, 0 buffered');
  });

  it('a warm synced line says what was loaded instead of a paging rate', () => {
    expect(renderSynced(3000, 1, 420, 0, 200, { warm: true, loaded: 2990 })).toBe('synced 3,000 markets in 0.4 s (warm: 2,990 loaded, caught up in 1 pages)');
    expect(renderSynced(3000, 15, 1500, 0, 200)).toBe('synced 3,000 markets in 1.5 s (15 pages, 2,000/s)');
  });
});
