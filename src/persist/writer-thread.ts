/**
 * The writer thread: the only connection that writes the state file. It receives one batch at a
 * time (a list of `[statement, jsonRows]`), runs it in one transaction and answers `committed`
 * or `failed`. SQLite's per-row work (B-tree updates, WAL pages) happens here, off the thread
 * that ingests Kalshi's data.
 *
 * The source is a plain CommonJS string run with `eval: true`, so it needs no TypeScript loader
 * under tsx, vitest or the compiled package alike; better-sqlite3 is resolved by the main thread
 * and handed over as a path.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { WriteStatement } from './schema.js';

export type WriterRequest =
  | { readonly type: 'write'; readonly seq: number; readonly ops: readonly (readonly [WriteStatement, string])[] }
  | { readonly type: 'close' };

export type WriterReply =
  | { readonly type: 'ready' }
  | { readonly type: 'committed'; readonly seq: number; readonly ms: number }
  | { readonly type: 'failed'; readonly seq: number; readonly error: string; readonly code: string }
  | { readonly type: 'open_failed'; readonly error: string; readonly code: string }
  | { readonly type: 'closed' };

const SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
let db;
try {
  const Database = require(workerData.sqlitePath);
  db = new Database(workerData.file, { fileMustExist: true });
  for (const p of workerData.pragmas) db.pragma(p);
} catch (err) {
  parentPort.postMessage({ type: 'open_failed', error: String((err && err.message) || err), code: String((err && err.code) || '') });
  process.exit(0);
}
const statements = {};
for (const [name, sql] of Object.entries(workerData.statements)) statements[name] = db.prepare(sql);
const write = db.transaction((ops) => {
  for (const [name, json] of ops) statements[name].run(json);
});
parentPort.on('message', (msg) => {
  if (msg.type === 'write') {
    const started = performance.now();
    try {
      write(msg.ops);
      parentPort.postMessage({ type: 'committed', seq: msg.seq, ms: performance.now() - started });
    } catch (err) {
      parentPort.postMessage({ type: 'failed', seq: msg.seq, error: String((err && err.message) || err), code: String((err && err.code) || '') });
    }
  } else if (msg.type === 'close') {
    try { db.pragma('wal_checkpoint(TRUNCATE)'); } catch {}
    try { db.close(); } catch {}
    parentPort.postMessage({ type: 'closed' });
  }
});
parentPort.postMessage({ type: 'ready' });
`;

export function startWriterThread(file: string, pragmas: readonly string[], statements: Readonly<Record<WriteStatement, string>>): Worker {
  const sqlitePath = createRequire(import.meta.url).resolve('better-sqlite3');
  return new Worker(SOURCE, { eval: true, workerData: { file, pragmas, statements, sqlitePath } });
}
