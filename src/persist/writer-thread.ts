/**
 * The writer thread: the only connection that writes the state file. It receives one batch at a
 * time (a list of `[statement, rows]`), runs it in one transaction and answers `committed` or
 * `failed`. SQLite's per-row work (B-tree updates, WAL pages) happens here, off the thread that
 * ingests Kalshi's data. Market rows arrive as one journal row per batch (an append: cheap however
 * many markets changed); the thread folds the journal into `markets` (the last row per ticker)
 * once it holds `compactRows` rows or has been idle `compactIdleMs`, and at close.
 *
 * The source is a plain CommonJS string run with `eval: true`, so it needs no TypeScript loader
 * under tsx, vitest or the compiled package alike; better-sqlite3 is resolved by the main thread
 * and handed over as a path.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { WriteStatement } from './schema.js';

/** One statement and its rows (each row the statement's parameters). */
export type WriteOp = readonly [WriteStatement, readonly (readonly unknown[])[]];

export type WriterRequest = { readonly type: 'write'; readonly seq: number; readonly ops: readonly WriteOp[] } | { readonly type: 'close' };

export type WriterReply =
  | { readonly type: 'ready' }
  | { readonly type: 'committed'; readonly seq: number; readonly ms: number; readonly journalRows: number }
  | { readonly type: 'failed'; readonly seq: number; readonly error: string; readonly code: string }
  | { readonly type: 'compacted'; readonly rows: number; readonly markets: number; readonly ms: number }
  | { readonly type: 'compaction_failed'; readonly error: string; readonly code: string }
  | { readonly type: 'open_failed'; readonly error: string; readonly code: string }
  | { readonly type: 'closed' };

export interface WriterThreadOptions {
  /** Journal rows (market rows) above which the journal is folded into `markets`. */
  readonly compactRows: number;
  /** Idle time after which a non-empty journal is folded. */
  readonly compactIdleMs: number;
}

const SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const error = (err) => ({ error: String((err && err.message) || err), code: String((err && err.code) || '') });
let db;
try {
  const Database = require(workerData.sqlitePath);
  db = new Database(workerData.file, { fileMustExist: true });
  for (const p of workerData.pragmas) db.pragma(p);
} catch (err) {
  parentPort.postMessage({ type: 'open_failed', ...error(err) });
  process.exit(0);
}
const st = {};
for (const [name, sql] of Object.entries(workerData.statements)) st[name] = db.prepare(sql);
const write = db.transaction((ops) => {
  for (const [name, rows] of ops) {
    const stmt = st[name];
    for (const row of rows) stmt.run(...row);
  }
});
const size = st.journalSize.get();
let journalRows = size.rows;
let compacting = false;
let idleTimer = null;
const CHUNK = 20000;

// Folds the journal (up to its last batch now) into markets: the last row of each ticker, in
// chunks of one transaction each so that new batches keep committing in between. The journal
// rows go only after every chunk is in: a kill in between re-applies them (same result).
function compact() {
  if (compacting || journalRows === 0) return;
  compacting = true;
  const started = performance.now();
  let upTo = 0;
  let rows = 0;
  const latest = new Map();
  try {
    upTo = st.journalSize.get().last;
    for (const [seq, json] of st.journalRead.raw(true).iterate(upTo)) {
      for (const r of JSON.parse(json)) {
        latest.set(r[0], r);
        rows++;
      }
    }
  } catch (err) {
    compacting = false;
    parentPort.postMessage({ type: 'compaction_failed', ...error(err) });
    return;
  }
  const list = Array.from(latest.values());
  latest.clear();
  let at = 0;
  const step = () => {
    try {
      if (at < list.length) {
        const chunk = list.slice(at, at + CHUNK);
        at += chunk.length;
        write([['markets', chunk]]);
        setImmediate(step);
        return;
      }
      db.transaction(() => st.journalDrop.run(upTo))();
      journalRows = st.journalSize.get().rows;
      compacting = false;
      parentPort.postMessage({ type: 'compacted', rows, markets: list.length, ms: performance.now() - started });
      if (journalRows >= workerData.compactRows) setImmediate(compact);
    } catch (err) {
      compacting = false;
      parentPort.postMessage({ type: 'compaction_failed', ...error(err) });
    }
  };
  step();
}

function armIdle() {
  if (idleTimer !== null) clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    idleTimer = null;
    compact();
  }, workerData.compactIdleMs);
}

parentPort.on('message', (msg) => {
  if (msg.type === 'write') {
    const started = performance.now();
    try {
      write(msg.ops);
      for (const [name, rows] of msg.ops) if (name === 'journalAppend') for (const r of rows) journalRows += r[1];
      parentPort.postMessage({ type: 'committed', seq: msg.seq, ms: performance.now() - started, journalRows });
    } catch (err) {
      parentPort.postMessage({ type: 'failed', seq: msg.seq, ...error(err) });
    }
    if (journalRows >= workerData.compactRows) compact();
    else if (journalRows > 0) armIdle();
  } else if (msg.type === 'close') {
    if (idleTimer !== null) clearTimeout(idleTimer);
    const finish = () => {
      if (compacting) return setTimeout(finish, 5);
      try {
        // Fold what is left at once, so the next start loads the compact table.
        const upTo = st.journalSize.get().last;
        const latest = new Map();
        for (const [seq, json] of st.journalRead.raw(true).iterate(upTo)) for (const r of JSON.parse(json)) latest.set(r[0], r);
        db.transaction(() => {
          for (const r of latest.values()) st.markets.run(...r);
          st.journalDrop.run(upTo);
        })();
      } catch {}
      try { db.pragma('wal_checkpoint(TRUNCATE)'); } catch {}
      try { db.close(); } catch {}
      parentPort.postMessage({ type: 'closed' });
    };
    finish();
  }
});
if (journalRows >= workerData.compactRows) compact();
else if (journalRows > 0) armIdle();
parentPort.postMessage({ type: 'ready' });
`;

export function startWriterThread(file: string, pragmas: readonly string[], statements: Readonly<Record<WriteStatement, string>>, options: WriterThreadOptions): Worker {
  const sqlitePath = createRequire(import.meta.url).resolve('better-sqlite3');
  return new Worker(SOURCE, { eval: true, workerData: { file, pragmas, statements, sqlitePath, ...options } });
}
