/**
 * Opening a state directory: take its lock, open (or create) the SQLite file, make sure it is
 * ours and whole, and load every stored market and event into the registry's store. All of it
 * synchronous (createRegistry is), and every failure a StateDirError naming the file: a registry
 * never starts on a state it cannot trust, nor silently starts empty instead.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { statusCode } from '../domain/fast-status.js';
import type { MarketStore } from '../store/market-store.js';
import { StateDirError } from './errors.js';
import {
  APPLICATION_ID,
  CREATE_SCHEMA,
  FORMAT_NAME,
  LOCK_FILE,
  NO_WATERMARKS,
  SCHEMA_VERSION,
  STATE_FILE,
  applyTransition,
  forEachPackedTransition,
  eventFromRow,
  marketFromRow,
  type MarketRecord,
  type MarketRecordSource,
  type SyncWatermarks,
} from './schema.js';

export type SqliteDatabase = Database.Database;

/** Connection settings shared by the main thread's connection and the writer thread's. */
export const PRAGMAS = ['journal_mode = WAL', 'synchronous = NORMAL', 'busy_timeout = 10000', 'cache_size = -65536', 'temp_store = MEMORY'] as const;

/** The most markets a warm load makes room for up front (a hint; the store grows beyond it as needed). */
const MAX_RESERVE = 10_000_000;

export interface OpenedState {
  readonly dir: string;
  /** The SQLite file. */
  readonly file: string;
  /** Markets loaded into the store. */
  readonly loaded: number;
  readonly events: number;
  readonly watermarks: SyncWatermarks;
  /** How long opening and loading took. */
  readonly loadMs: number;
  /** The last full Kalshi record of a market as committed (null when none is stored). */
  readRecord(ticker: string): MarketRecord | undefined;
  /** Closes the main thread's connection and releases the lock. */
  close(): void;
}

interface LockInfo {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive lock on the directory: a file naming the owner. One left by a process that died
 * (a `kill -9`) is taken over; one held by a live process of this host is a StateDirError.
 */
function takeLock(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      try {
        writeSync(fd, JSON.stringify(mine));
      } finally {
        closeSync(fd);
      }
      return () => {
        try {
          const held = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockInfo>;
          if (held.pid === process.pid) rmSync(file, { force: true });
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new StateDirError(file, 'unwritable', `cannot create the lock file (${(err as Error).message})`, { cause: err });
    }
    let held: Partial<LockInfo> = {};
    try {
      held = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockInfo>;
    } catch {
      // Unreadable or half-written (its writer died mid-write): stale.
    }
    if (typeof held.pid === 'number' && held.host !== undefined && held.host !== mine.host) {
      // A process elsewhere (a shared file system): its liveness cannot be checked from here.
      throw new StateDirError(
        file,
        'locked',
        `held by process ${held.pid} on host ${held.host} since ${held.since ?? '?'}; if it is gone, remove this lock file`,
      );
    }
    if (typeof held.pid === 'number' && alive(held.pid)) {
      const who = held.pid === process.pid ? 'another registry in this process' : `process ${held.pid}`;
      throw new StateDirError(file, 'locked', `in use by ${who} since ${held.since ?? '?'}; stop it first, or use another state directory`);
    }
    rmSync(file, { force: true });
  }
  throw new StateDirError(file, 'locked', 'could not take the lock (another process keeps taking it)');
}

function sqliteCode(err: unknown): string {
  return typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : '';
}

/** SQLite's errors in our words, naming the file. */
function explain(file: string, err: unknown, doing: string): StateDirError {
  if (err instanceof StateDirError) return err;
  const code = sqliteCode(err);
  const message = (err as Error)?.message ?? String(err);
  if (code === 'SQLITE_NOTADB')
    return new StateDirError(
      file,
      'not_sqlite',
      `not an SQLite database (${message}); it is not a registry state file: move it away or use another state directory`,
      { cause: err },
    );
  if (code.startsWith('SQLITE_CORRUPT'))
    return new StateDirError(file, 'corrupt', `the database is corrupt while ${doing} (${message}); restore it or delete it to start cold`, { cause: err });
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_IOERR'))
    return new StateDirError(file, 'unwritable', `cannot use the file while ${doing} (${message})`, { cause: err });
  return new StateDirError(file, 'corrupt', `unexpected SQLite error while ${doing} (${code || 'no code'}: ${message})`, { cause: err });
}

function ensureDirectory(dir: string): void {
  try {
    if (!statSync(dir).isDirectory()) throw new StateDirError(dir, 'not_a_directory', 'exists and is not a directory');
  } catch (err) {
    if (err instanceof StateDirError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new StateDirError(dir, 'unwritable', (err as Error).message, { cause: err });
    try {
      mkdirSync(dir, { recursive: true });
    } catch (mkErr) {
      throw new StateDirError(dir, 'unwritable', `cannot create it (${(mkErr as Error).message})`, { cause: mkErr });
    }
  }
}

/** Reads the file's identity; creates the schema in a fresh one. Throws for anything not ours. */
function checkOrInitialize(db: SqliteDatabase, file: string, exchange: string): Map<string, string> {
  const appId = db.pragma('application_id', { simple: true }) as number;
  const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[]).filter((n) => !n.startsWith('sqlite_'));
  if (appId === 0 && tables.length === 0) {
    // A new (or empty) file: make it ours.
    db.transaction(() => {
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      db.exec(CREATE_SCHEMA);
      const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      put.run('format', FORMAT_NAME);
      put.run('exchange', exchange);
      put.run('createdAt', new Date().toISOString());
    })();
  } else if (appId !== APPLICATION_ID) {
    throw new StateDirError(
      file,
      'foreign',
      `an SQLite database not written by ${FORMAT_NAME} (application_id ${appId}, tables: ${tables.slice(0, 5).join(', ') || 'none'}); move it away or use another state directory`,
    );
  }
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION)
    throw new StateDirError(file, 'newer_schema', `schema version ${version} was written by a newer ${FORMAT_NAME} (this one reads ${SCHEMA_VERSION})`);
  if (version < 1) throw new StateDirError(file, 'foreign', `application_id is ours but schema version ${version} is not`);
  // Ours: tables added since the file was created (same schema version) are created now.
  db.exec(CREATE_SCHEMA);
  const meta = new Map(db.prepare('SELECT key, value FROM meta').raw(true).all() as [string, string][]);
  if (meta.get('format') !== FORMAT_NAME) throw new StateDirError(file, 'foreign', `its meta table does not say format ${FORMAT_NAME}`);
  const stored = meta.get('exchange');
  if (stored !== undefined && stored !== exchange) {
    throw new StateDirError(file, 'other_exchange', `written for exchange "${stored}", not "${exchange}"; use one state directory per exchange`);
  }
  return meta;
}

function parseWatermarks(file: string, text: string | undefined): SyncWatermarks {
  if (text === undefined) return NO_WATERMARKS;
  try {
    const w = JSON.parse(text) as Partial<SyncWatermarks>;
    const ok = (v: unknown) => v === null || v === undefined || (typeof v === 'number' && Number.isSafeInteger(v));
    if (!ok(w.lastFullPassStartedAt) || !ok(w.lastDeltaStartedAt)) throw new Error('not integers');
    return { lastFullPassStartedAt: w.lastFullPassStartedAt ?? null, lastDeltaStartedAt: w.lastDeltaStartedAt ?? null };
  } catch (err) {
    throw new StateDirError(file, 'corrupt', `the stored sync watermarks are not valid (${(err as Error).message})`, { cause: err });
  }
}

export interface OpenStateOptions {
  readonly store: MarketStore;
  /** Which exchange the state belongs to ("prod", "demo" or "custom"). */
  readonly exchange: string;
}

/**
 * Opens `dir` (created when missing) and loads it into `store`, which must be empty. Loading
 * writes the store directly: what was stored is what subscribers of the last run already saw,
 * so nothing is published (see Persistence for what a warm start emits).
 */
export function openStateDir(dir: string, options: OpenStateOptions): OpenedState {
  const started = performance.now();
  ensureDirectory(dir);
  const file = path.join(dir, STATE_FILE);
  const unlock = takeLock(dir);
  let db: SqliteDatabase | null = null;
  try {
    try {
      db = new Database(file);
      for (const p of PRAGMAS) db.pragma(p);
    } catch (err) {
      throw explain(file, err, 'opening it');
    }
    let meta: Map<string, string>;
    try {
      meta = checkOrInitialize(db, file, options.exchange);
    } catch (err) {
      throw explain(file, err, 'reading its header');
    }
    const watermarks = parseWatermarks(file, meta.get('watermarks'));
    const { store } = options;
    let loaded = 0;
    let events = 0;
    try {
      // The markets table's tickers are unique (its primary key): into an empty store they go by
      // `insert`, one ticker lookup each instead of set's two, into cells sized once up front. The
      // size is a hint read in O(log n): records has about one row per market, and its largest
      // rowid bounds their number (count(*) would scan the whole table: 0.2-0.4 s at 1M).
      const bulk = store.size === 0;
      let previous = '';
      if (bulk) store.reserve(Math.min(MAX_RESERVE, Number(db.prepare('SELECT coalesce(max(rowid), 0) FROM records').pluck().get())));
      for (const json of db.prepare('SELECT row FROM markets').pluck().iterate() as IterableIterator<string>) {
        let row: unknown;
        try {
          row = JSON.parse(json);
        } catch {
          throw new StateDirError(file, 'corrupt', 'a stored market row is not valid JSON');
        }
        const market = Array.isArray(row) ? marketFromRow(row) : 'a stored market row is not a list';
        if (typeof market === 'string') throw new StateDirError(file, 'corrupt', `invalid stored market: ${market}`);
        if (!bulk) store.set(market);
        else if (market.ticker === previous) throw new StateDirError(file, 'corrupt', `the markets table holds ${market.ticker} twice`);
        else {
          // A primary-key scan comes in ticker order: a duplicate (a damaged index) is adjacent.
          store.insert(market, statusCode(market.marketStatus), market.updatedAt);
          previous = market.ticker;
        }
        loaded++;
      }
      // Batches not yet folded into `markets`, in the order they were written.
      for (const [full, tickers, numbers, words] of db
        .prepare('SELECT full, tickers, numbers, words FROM journal ORDER BY seq')
        .raw(true)
        .iterate() as IterableIterator<[string | null, string | null, Uint8Array | null, string | null]>) {
        if (full !== null) {
          let rows: unknown;
          try {
            rows = JSON.parse(full);
          } catch {
            throw new StateDirError(file, 'corrupt', 'a journal batch is not valid JSON');
          }
          if (!Array.isArray(rows)) throw new StateDirError(file, 'corrupt', 'a journal batch is not a list of rows');
          for (const row of rows) {
            const market = Array.isArray(row) ? marketFromRow(row) : 'a journal row is not a list';
            if (typeof market === 'string') throw new StateDirError(file, 'corrupt', `invalid journaled market: ${market}`);
            store.set(market);
          }
          continue;
        }
        if (tickers === null || numbers === null || words === null) throw new StateDirError(file, 'corrupt', 'a journal batch is empty');
        let problem: string | null = null;
        const packed = forEachPackedTransition(tickers, numbers, words, (ticker, status, closeTs, result, updatedAt) => {
          problem ??= applyTransition(store, ticker, status, closeTs, result, updatedAt);
        });
        if (packed !== null || problem !== null) throw new StateDirError(file, 'corrupt', `invalid journaled transition: ${packed ?? problem}`);
      }
      loaded = store.size;
      for (const row of db
        .prepare('SELECT event_ticker, series_ticker, title, sub_title, mutually_exclusive, updated_at FROM events')
        .raw(true)
        .iterate() as IterableIterator<unknown[]>) {
        const event = eventFromRow(row);
        if (typeof event === 'string') throw new StateDirError(file, 'corrupt', `invalid stored event: ${event}`);
        store.setEvent(event);
        events++;
      }
    } catch (err) {
      throw explain(file, err, 'loading its markets');
    }
    const readStmt = db.prepare('SELECT source, observed_at, json FROM records WHERE ticker = ?').raw(true);
    const connection = db;
    return {
      dir,
      file,
      loaded,
      events,
      watermarks,
      loadMs: performance.now() - started,
      readRecord(ticker) {
        let row: [MarketRecordSource, number, string] | undefined;
        try {
          row = readStmt.get(ticker) as [MarketRecordSource, number, string] | undefined;
        } catch (err) {
          throw explain(file, err, `reading the record of ${ticker}`);
        }
        if (row === undefined) return undefined;
        return { ticker, source: row[0], observedAt: row[1], record: JSON.parse(row[2]) as Record<string, unknown> };
      },
      close() {
        try {
          connection.close();
        } finally {
          unlock();
        }
      },
    };
  } catch (err) {
    try {
      db?.close();
    } finally {
      unlock();
    }
    throw err;
  }
}
