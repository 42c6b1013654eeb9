/**
 * The CLI's human view: a progress line during the initial sync and a live summary afterwards.
 * Pure rendering (strings in, strings out) so it is tested without a terminal.
 */
import { MARKET_STATUSES } from '../kalshi/schemas.js';
import type { RegistryStats } from '../registry/create-registry.js';
import type { RegistrySummary } from '../registry/summary-store.js';

export function progressBar(done: number, total: number | null, width = 30): string {
  if (total === null || total <= 0) {
    // Unknown total (the real exchange does not say how many markets it has): a moving marker.
    const pos = done % width;
    return `[${' '.repeat(pos)}=${' '.repeat(width - pos - 1)}]`;
  }
  const filled = Math.min(width, Math.round((done / total) * width));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.min(100, Math.floor((done / total) * 100))}%`;
}

export function renderSyncProgress(summary: RegistrySummary, total: number | null, elapsedMs: number): string {
  const { markets, pages, quarantined } = summary.sync;
  const rate = elapsedMs > 0 ? Math.round((markets / elapsedMs) * 1000) : 0;
  const of = total === null ? '' : ` of ${total.toLocaleString('en-US')}`;
  const bad = quarantined > 0 ? `, ${quarantined} quarantined` : '';
  return `syncing ${progressBar(markets, total)} ${markets.toLocaleString('en-US')}${of} markets, ${pages} pages, ${rate.toLocaleString('en-US')}/s${bad}`;
}

export function renderLiveSummary(summary: RegistrySummary, stats: RegistryStats, changesPerSec: number): string[] {
  const ex = summary.exchange;
  const exchange =
    ex === null
      ? 'unknown'
      : `${ex.exchangeActive ? 'exchange active' : 'EXCHANGE DOWN'}, ${ex.tradingActive ? 'trading active' : 'trading paused'}${ex.maintenance ? ' (maintenance)' : ''}`;
  const problems = Object.entries(summary.problems).map(([k, v]) => `${k}: ${v}`);
  const counts = MARKET_STATUSES.map((s) => `${s} ${stats.statusCounts[s].toLocaleString('en-US')}`);
  const lifecycle = summary.lifecycle.source === 'none' ? 'REST only' : `${summary.lifecycle.source} ${summary.lifecycle.state}`;
  return [
    `registry ${summary.phase} | ${stats.markets.toLocaleString('en-US')} markets, ${stats.active.toLocaleString('en-US')} active, ${stats.events.toLocaleString('en-US')} events`,
    `  ${counts.slice(0, 4).join(' | ')}`,
    `  ${counts.slice(4).join(' | ')}`,
    `  changes ${stats.counters.changes.toLocaleString('en-US')} (${changesPerSec.toFixed(1)}/s) | rejected ${stats.counters.rejected} | quarantined ${stats.counters.quarantined} | reconciles ${stats.reconciles}`,
    `  exchange: ${exchange} | lifecycle: ${lifecycle}, ${stats.lifecycle.lifecycleMessages.toLocaleString('en-US')} msgs, ${stats.lifecycle.gaps} gaps`,
    ...(problems.length > 0 ? [`  degraded: ${problems.join('; ')}`] : []),
  ];
}
