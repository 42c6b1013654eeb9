/**
 * A state directory the registry cannot trust is a StateDirError naming the file, thrown by
 * createRegistry: never a registry that silently starts empty.
 */
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import path from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { Market } from '../../src/domain/types.js';
import { silentLogger } from '../../src/log.js';
import { StateDirError } from '../../src/persist/errors.js';
import { LOCK_FILE, STATE_FILE, marketRow } from '../../src/persist/schema.js';
import { openStateDir } from '../../src/persist/state-file.js';
import { createRegistry } from '../../src/registry/create-registry.js';
import { MarketStore } from '../../src/store/market-store.js';
import { tempDir } from './helpers.js';
import { asCountE2, asPriceE4 } from '../../src/domain/units.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function dir(): string {
  const t = tempDir('registry-state-');
  cleanups.push(t.remove);
  return t.dir;
}

/** createRegistry on `stateDir` (nothing is contacted: the registry is never started). */
function open(stateDir: string, env?: 'prod' | 'demo') {
  return createRegistry({ ...(env ? { env } : { restUrl: 'http://127.0.0.1:9/trade-api/v2' }), lifecycle: 'none', logger: silentLogger, stateDir });
}

function failure(fn: () => unknown): StateDirError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StateDirError);
    // Its own stable code, so an embedder can tell a state problem from any other failure.
    expect((err as StateDirError).code).toBe('E_STATE_DIR');
    return err as StateDirError;
  }
  throw new Error('expected a StateDirError');
}

const market = (ticker: string): Market => ({
  ticker,
  eventTicker: 'KXTEST-26JAN01',
  title: 'Test',
  marketStatus: 'active',
  tradingStatus: 'open',
  marketType: 'binary',
  result: '',
  yesBid: asPriceE4(100),
  yesAsk: asPriceE4(200),
  lastPrice: asPriceE4(150),
  volume: asCountE2(1000),
  openTs: 1,
  closeTs: 4_102_444_800_000_000,
  expirationTs: 4_102_444_800_000_000,
  updatedAt: 2,
});

/** A state file holding `tickers`, written by the real writer. */
async function stateWith(stateDir: string, tickers: string[]): Promise<void> {
  await open(stateDir).stop();
  const db = new Database(path.join(stateDir, STATE_FILE));
  const insert = db.prepare('INSERT INTO markets (ticker, row) VALUES (?, ?)');
  for (const t of tickers) insert.run(t, JSON.stringify(marketRow(market(t))));
  db.close();
}

describe('state directory: what it refuses', () => {
  it('loads what it wrote, and refuses a file that is not SQLite, naming it', () => {
    const d = dir();
    writeFileSync(path.join(d, STATE_FILE), 'this is not a database, just some text that is long enough to have a header....'.repeat(20));
    const err = failure(() => open(d));
    expect(err.problem).toBe('not_sqlite');
    expect(err.file).toBe(path.join(d, STATE_FILE));
    expect(err.message).toContain(path.join(d, STATE_FILE));
  });

  it("refuses another application's SQLite file", () => {
    const d = dir();
    const db = new Database(path.join(d, STATE_FILE));
    db.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY, qty INTEGER)');
    db.close();
    const err = failure(() => open(d));
    expect(err.problem).toBe('foreign');
    expect(err.message).toMatch(/not written by kalshi-market-registry/);
  });

  it('refuses a corrupt file and an invalid stored row', async () => {
    const d = dir();
    await stateWith(
      d,
      Array.from({ length: 2000 }, (_, i) => `KXTEST-26JAN01-T${i}.5`),
    );
    const loaded = new MarketStore();
    openStateDir(d, { store: loaded, exchange: 'custom' }).close();
    expect(loaded.size).toBe(2000);
    expect(loaded.get('KXTEST-26JAN01-T7.5')).toEqual(market('KXTEST-26JAN01-T7.5'));

    // A bad status in a row (SQLite itself is fine).
    const db = new Database(path.join(d, STATE_FILE));
    db.prepare(`UPDATE markets SET row = json_set(row, '$[3]', 'open') WHERE ticker = ?`).run('KXTEST-26JAN01-T3.5');
    db.close();
    const bad = failure(() => open(d));
    expect(bad.problem).toBe('corrupt');
    expect(bad.message).toContain('KXTEST-26JAN01-T3.5');

    // Pages overwritten on disk: SQLite reports corruption.
    const file = path.join(d, STATE_FILE);
    const bytes = readFileSync(file);
    for (let i = 4096 * 2; i < bytes.length; i++) bytes[i] = (i * 131) & 0xff;
    writeFileSync(file, bytes);
    const corrupt = failure(() => open(d));
    expect(corrupt.problem).toBe('corrupt');
    expect(corrupt.file).toBe(file);
  });

  it('refuses a path that is a file, a live lock, a newer schema, another exchange; takes over a dead lock', async () => {
    const d = dir();
    const notDir = path.join(d, 'plain-file');
    writeFileSync(notDir, 'x');
    expect(failure(() => open(notDir)).problem).toBe('not_a_directory');

    const locked = dir();
    writeFileSync(path.join(locked, LOCK_FILE), JSON.stringify({ pid: process.ppid, host: hostname(), since: 'earlier' }));
    const err = failure(() => open(locked));
    expect(err.problem).toBe('locked');
    expect(err.message).toContain(`process ${process.ppid}`);

    // The owner of this lock is gone (a kill -9): the lock is taken over.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(path.join(locked, LOCK_FILE), JSON.stringify({ pid: Number(dead.stdout), host: hostname(), since: 'earlier' }));
    const first = open(locked);
    // …and held: a second registry on the same directory is refused while the first runs.
    expect(failure(() => open(locked)).message).toMatch(/another registry in this process/);
    await first.stop();

    const newer = dir();
    await open(newer).stop();
    const db = new Database(path.join(newer, STATE_FILE));
    db.pragma('user_version = 99');
    db.close();
    expect(failure(() => open(newer)).problem).toBe('newer_schema');

    const prod = dir();
    await open(prod, 'prod').stop();
    const other = failure(() => open(prod, 'demo'));
    expect(other.problem).toBe('other_exchange');
    expect(other.message).toMatch(/"prod", not "demo"/);
  });
});
