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
export type WriteOp = readonly [Exclude<WriteStatement, 'journalAppend'>, readonly (readonly unknown[])[]];

/**
 * Market rows of one batch. `full`: a JSON array of marketRow arrays (written as is). `lifecycle`:
 * markets whose change touched only status, close time, result and updatedAt (a WebSocket or
 * deadline transition), packed so that neither thread does per-market string work: tickers
 * joined by "\n", per market [status index, closeTs, updatedAt, result index] and the words the
 * indexes point into, stored as they come (see the journal table).
 */
export interface MarketRows {
  readonly full: string | null;
  readonly fullCount: number;
  readonly lifecycle: { readonly count: number; readonly tickers: string; readonly numbers: Float64Array; readonly words: string } | null;
}

export type WriterRequest =
  { readonly type: 'write'; readonly seq: number; readonly markets: MarketRows; readonly ops: readonly WriteOp[] } | { readonly type: 'close' };

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
const run = (name, rows) => {
  const stmt = st[name];
  // Whole markets are stored as their row's JSON.
  if (name === 'markets') for (const row of rows) stmt.run(row[0], JSON.stringify(row));
  else for (const row of rows) stmt.run(...row);
};
const write = db.transaction((markets, ops) => {
  let added = 0;
  if (markets.full !== null) {
    st.journalAppendFull.run(markets.fullCount, markets.full);
    added += markets.fullCount;
  }
  const l = markets.lifecycle;
  if (l !== null) {
    st.journalAppendLifecycle.run(l.count, l.tickers, Buffer.from(l.numbers.buffer, l.numbers.byteOffset, l.numbers.byteLength), l.words);
    added += l.count;
  }
  for (const [name, rows] of ops) run(name, rows);
  return added;
});

/**
 * The last state of each market in the journal up to batch 'upTo': a full row (with any later
 * transitions applied to it), or only the transition for a market whose full row is in the table.
 */
function fold(upTo) {
  const full = new Map();
  const life = new Map();
  let rows = 0;
  for (const [, json, tickers, numbers, words] of st.journalRead.raw(true).iterate(upTo)) {
    if (json !== null) {
      for (const r of JSON.parse(json)) {
        rows++;
        full.set(r[0], r);
        life.delete(r[0]);
      }
      continue;
    }
    const names = tickers.split('\n');
    const w = JSON.parse(words);
    const n = new Float64Array(names.length * 4);
    new Uint8Array(n.buffer).set(numbers);
    for (let i = 0; i < names.length; i++) {
      rows++;
      const ticker = names[i];
      const status = w.s[n[i * 4]];
      const result = w.r[n[i * 4 + 3]];
      const f = full.get(ticker);
      if (f !== undefined) {
        f[3] = status;
        f[11] = n[i * 4 + 1];
        f[5] = result;
        f[13] = n[i * 4 + 2];
      } else life.set(ticker, [status, n[i * 4 + 1], result, n[i * 4 + 2], ticker]);
    }
  }
  return { rows, full: Array.from(full.values()), life: Array.from(life.values()) };
}

const size = st.journalSize.get();
let journalRows = size.rows;
let compacting = false;
let idleTimer = null;
const CHUNK = 20000;

// Folds the journal (up to its last batch now) into markets, in chunks of one transaction each
// so that new batches keep committing in between. The journal rows go only after every chunk is
// in: a kill in between re-applies them (same result).
function compact() {
  if (compacting || journalRows === 0) return;
  compacting = true;
  const started = performance.now();
  let upTo = 0;
  let folded;
  try {
    upTo = st.journalSize.get().last;
    folded = fold(upTo);
  } catch (err) {
    compacting = false;
    parentPort.postMessage({ type: 'compaction_failed', ...error(err) });
    return;
  }
  const steps = [];
  for (let i = 0; i < folded.full.length; i += CHUNK) steps.push(['markets', folded.full.slice(i, i + CHUNK)]);
  for (let i = 0; i < folded.life.length; i += CHUNK) steps.push(['marketsLifecycle', folded.life.slice(i, i + CHUNK)]);
  let at = 0;
  const step = () => {
    try {
      if (at < steps.length) {
        const [name, rows] = steps[at++];
        db.transaction(() => run(name, rows))();
        setImmediate(step);
        return;
      }
      db.transaction(() => st.journalDrop.run(upTo))();
      journalRows = st.journalSize.get().rows;
      compacting = false;
      parentPort.postMessage({ type: 'compacted', rows: folded.rows, markets: folded.full.length + folded.life.length, ms: performance.now() - started });
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
      journalRows += write(msg.markets, msg.ops);
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
        const folded = fold(upTo);
        db.transaction(() => {
          run('markets', folded.full);
          run('marketsLifecycle', folded.life);
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

export function startWriterThread(
  file: string,
  pragmas: readonly string[],
  statements: Readonly<Record<WriteStatement, string>>,
  options: WriterThreadOptions,
): Worker {
  const sqlitePath = createRequire(import.meta.url).resolve('better-sqlite3');
  return new Worker(SOURCE, { eval: true, workerData: { file, pragmas, statements, sqlitePath, ...options } });
}
