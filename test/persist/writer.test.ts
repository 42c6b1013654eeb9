/** The batched writer and its journal: what it writes is what the next open loads, exactly. */
import { copyFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { withStatus } from '../../src/domain/mapping.js';
import type { Market } from '../../src/domain/types.js';
import { silentLogger } from '../../src/log.js';
import { STATE_FILE } from '../../src/persist/schema.js';
import { openStateDir } from '../../src/persist/state-file.js';
import { StateWriter } from '../../src/persist/writer.js';
import { MarketStore } from '../../src/store/market-store.js';
import { tempDir } from './helpers.js';
import { asCountE2, asPriceE4 } from '../../src/domain/units.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const market = (i: number, updatedAt = 1000 + i): Market => ({
  ticker: `KXW-26JAN01-T${i}.5`,
  eventTicker: 'KXW-26JAN01',
  title: `Market ${i} — "quoted", ünïcode`,
  marketStatus: 'initialized',
  tradingStatus: 'unopened',
  marketType: i % 2 ? 'binary' : 'scalar',
  result: '',
  yesBid: asPriceE4(i),
  yesAsk: asPriceE4(i + 1),
  lastPrice: asPriceE4(i + 2),
  volume: asCountE2(i * 100),
  openTs: 1_800_000_000_000_000 + i,
  closeTs: 1_900_000_000_000_000 + i,
  expirationTs: 1_900_000_000_000_001 + i,
  updatedAt,
});

function loaded(dir: string): MarketStore {
  const store = new MarketStore();
  openStateDir(dir, { store, exchange: 'custom' }).close();
  return store;
}

describe('state writer', () => {
  it('journals batches, folds them into the table, and loads the same markets before and after the fold', async () => {
    const { dir, remove } = tempDir('registry-writer-');
    cleanups.push(remove);
    const store = new MarketStore();
    const state = openStateDir(dir, { store, exchange: 'custom' });
    // A tiny fold threshold: the journal is folded several times while we write.
    const writer = new StateWriter({ file: state.file, store, logger: silentLogger, flushMs: 5, compactRows: 150, compactIdleMs: 50 });
    for (let i = 0; i < 300; i++) {
      store.set(market(i));
      writer.markMarket(market(i).ticker, null, true);
    }
    await writer.whenDurable();
    // Each market changes a few times, each change reported with its record (as a change would).
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 300; i += 3) {
        const prev = store.get(market(i).ticker) as Market;
        const next = withStatus(prev, round % 2 === 0 ? 'active' : 'inactive', prev.updatedAt + 1);
        store.set(next);
        writer.markMarket(next.ticker, next, false);
      }
      await writer.whenDurable();
    }
    expect(writer.stats().compactions).toBeGreaterThan(0);
    const expected = [...store.values()].sort((a, b) => a.ticker.localeCompare(b.ticker));
    // What a kill now would leave (table, journal and WAL as they are): it loads the same markets.
    const copy = tempDir('registry-writer-copy-');
    cleanups.push(copy.remove);
    for (const f of readdirSync(dir)) if (f.startsWith(STATE_FILE)) copyFileSync(path.join(dir, f), path.join(copy.dir, f));
    expect([...loaded(copy.dir).values()].sort((a, b) => a.ticker.localeCompare(b.ticker))).toEqual(expected);
    await writer.close();
    state.close();
    expect([...loaded(dir).values()].sort((a, b) => a.ticker.localeCompare(b.ticker))).toEqual(expected);
    // Closing folded the rest of the journal into the table.
    const after = new Database(path.join(dir, STATE_FILE), { readonly: true });
    expect((after.prepare('SELECT count(*) AS n FROM journal').get() as { n: number }).n).toBe(0);
    expect((after.prepare('SELECT count(*) AS n FROM markets').get() as { n: number }).n).toBe(300);
    after.close();
  });

  it('keeps the REST record over a WebSocket one, and only rewrites a record whose content changed', async () => {
    const { dir, remove } = tempDir('registry-writer-');
    cleanups.push(remove);
    const store = new MarketStore();
    const state = openStateDir(dir, { store, exchange: 'custom' });
    const writer = new StateWriter({ file: state.file, store, logger: silentLogger, flushMs: 5 });
    writer.putWebSocketRecord('A', 1, { market_ticker: 'A', event_type: 'created' });
    writer.putRestRecord('A', 2, { ticker: 'A', status: 'active', z: 1, a: 2 });
    writer.putRestRecord('B', 3, { ticker: 'B', status: 'active' });
    await writer.whenDurable();
    writer.putWebSocketRecord('B', 4, { market_ticker: 'B', event_type: 'created' });
    writer.putRestRecord('A', 5, { ticker: 'A', status: 'active', z: 1, a: 2 }); // same content
    writer.putWebSocketRecord('C', 6, { market_ticker: 'C', event_type: 'created' });
    await writer.whenDurable();
    expect(state.readRecord('A')).toEqual({ ticker: 'A', source: 'rest', observedAt: 2, record: { ticker: 'A', status: 'active', z: 1, a: 2 } });
    expect(Object.keys(state.readRecord('A')?.record ?? {})).toEqual(['ticker', 'status', 'z', 'a']);
    expect(state.readRecord('B')?.source).toBe('rest');
    expect(state.readRecord('C')).toMatchObject({ source: 'websocket', observedAt: 6 });
    expect(state.readRecord('D')).toBeUndefined();
    await writer.close();
    state.close();
  });
});
