/**
 * The REST tap: the registry's REST client, seen through a wrapper that keeps every market and
 * event record the registry validated, whole (every field, as Kalshi sent it), for the state
 * file's `records` and `events` tables.
 *
 * A page's records are taken once the registry has processed the page (when it asks for the
 * next one): if nothing was quarantined meanwhile, every record on it passed validation; if
 * something was, each is validated again and only the valid ones are kept. Before handing a page
 * on, the tap waits while the writer holds too many records (backpressure on the REST pass, not
 * on memory).
 */
import { parseEventRecord, parseMarketRecord } from '../domain/mapping.js';
import type { Micros } from '../domain/types.js';
import type { RegistryCore } from '../registry/core.js';
import type { RestApi } from '../registry/rest-tasks.js';
import type { StateWriter } from './writer.js';

type Raw = Readonly<Record<string, unknown>>;

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function tapRest<T extends RestApi>(rest: T, core: RegistryCore, writer: StateWriter): T {
  const { store } = core;
  const keepMarkets = (records: readonly unknown[], at: Micros, quarantinedBefore: number) => {
    const allValid = core.counters.quarantined === quarantinedBefore;
    const now = core.now();
    for (const raw of records) {
      if (!isObject(raw) || typeof raw.ticker !== 'string') continue;
      if (!allValid && !parseMarketRecord(raw, now).ok) continue;
      writer.putRestRecord(raw.ticker, at, raw);
      // A market this page wrote (new data, or a status it moved) is written whole.
      const id = store.idOf(raw.ticker);
      if (id >= 0 && store.updatedAtOf(id) >= at) writer.markMarket(raw.ticker, null, true);
    }
  };
  const keepEvents = (records: readonly unknown[], quarantinedBefore: number) => {
    const allValid = core.counters.quarantined === quarantinedBefore;
    for (const raw of records) {
      if (!isObject(raw) || typeof raw.event_ticker !== 'string') continue;
      const event = core.store.getEvent(raw.event_ticker);
      if (event === undefined) continue;
      if (!allValid && !parseEventRecord(raw).ok) continue;
      writer.putEvent(event, raw);
    }
  };

  /** Pages pass through unchanged; each is kept once the registry asks for the next one. */
  async function* pages<P extends { readonly records: unknown[]; readonly requestedAt?: number }>(
    source: AsyncIterable<P>,
    keep: (records: readonly unknown[], at: Micros, quarantinedBefore: number) => void,
  ): AsyncGenerator<P, void, undefined> {
    for await (const page of source) {
      const room = writer.roomForRecords();
      if (room) await room;
      const quarantinedBefore = core.counters.quarantined;
      const at = page.requestedAt ?? core.now();
      yield page;
      // Only reached when the consumer asked for more: the page was processed in full. (A pass
      // abandoned mid-page never gets here, and the next pass brings those records again.)
      keep(page.records, at, quarantinedBefore);
    }
  }

  const tapped: RestApi = {
    marketPages: (query, signal, options) => pages(rest.marketPages(query, signal, options), keepMarkets),
    eventPages: (query, signal, options) => pages(rest.eventPages(query, signal, options), (records, _at, q) => keepEvents(records, q)),
    getExchangeStatus: (signal) => rest.getExchangeStatus(signal),
    async getMarket(ticker, options, signal) {
      const requestedAt = core.now();
      const raw = await rest.getMarket(ticker, options, signal);
      if (isObject(raw) && typeof raw.ticker === 'string' && parseMarketRecord(raw, core.now()).ok) writer.putRestRecord(raw.ticker, requestedAt, raw);
      return raw;
    },
  };
  const multivariate = rest.multivariateEventPages?.bind(rest);
  if (multivariate !== undefined) {
    tapped.multivariateEventPages = (query, signal, options) => pages(multivariate(query, signal, options), (records, _at, q) => keepEvents(records, q));
  }
  // Anything else the client offers (close, stats) stays reachable.
  return new Proxy(rest, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && prop in tapped) return (tapped as unknown as Record<string, unknown>)[prop];
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
