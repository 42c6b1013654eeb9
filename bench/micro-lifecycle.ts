/**
 * Diagnostic (not part of `npm run bench`): where a lifecycle frame's time goes, stage by stage,
 * in one process without sockets. Each stage adds one layer of the registry's path:
 *
 *   npx tsx --expose-gc bench/micro-lifecycle.ts [--markets 1000000] [--frames 1000000]
 */
import { parseLifecycleFrame, lifecycleUpdateFromMsg } from '../src/domain/mapping.js';
import type { Market } from '../src/domain/types.js';
import { silentLogger } from '../src/log.js';
import { ChangeStream } from '../src/registry/change-stream.js';
import { RegistryCore } from '../src/registry/core.js';
import { LifecycleHandler } from '../src/registry/lifecycle-handler.js';
import { MarketStore } from '../src/store/market-store.js';
import type { MarketLifecycleFrame } from '../src/kalshi/schemas.js';
import { flags, numFlag } from './lib.js';

const f = flags(process.argv.slice(2));
const N = numFlag(f, 'markets', 1_000_000);
const FRAMES = numFlag(f, 'frames', 1_000_000);
const K = Math.min(100_000, Math.floor(N * 0.3));

const store = new MarketStore();
const now = Date.now() * 1000;
for (let i = 0; i < N; i++) {
  const m: Market = {
    ticker: `KXBENCH-26NOV24-T${i}`,
    eventTicker: `KXBENCH-26NOV24-${i >> 3}`,
    title: `Will the bench market ${i} resolve yes?`,
    marketStatus: i % 10 < 3 ? 'active' : 'finalized',
    tradingStatus: i % 10 < 3 ? 'open' : 'settled',
    marketType: 'binary',
    result: '',
    yesBid: 4500,
    yesAsk: 4600,
    lastPrice: 4550,
    volume: 123_400,
    openTs: now - 86_400e6,
    closeTs: now + 30 * 86_400e6,
    expirationTs: now + 31 * 86_400e6,
    updatedAt: now,
  };
  store.set(m);
}
const tickers: string[] = [];
for (let i = 0; tickers.length < K; i++) if (i % 10 < 3) tickers.push(`KXBENCH-26NOV24-T${i}`);

let seq = 0;
const frames: string[] = [];
for (let r = 0; frames.length < FRAMES; r++) {
  const ev = r % 2 === 0 ? 'deactivated' : 'activated';
  for (const t of tickers) {
    frames.push(`{"type":"market_lifecycle_v2","sid":1,"seq":${++seq},"msg":{"market_ticker":"${t}","event_type":"${ev}","is_deactivated":${r % 2 === 0}}}`);
    if (frames.length >= FRAMES) break;
  }
}
// Even number of full rounds, so the state is the same after each pass.
const usable = Math.floor(frames.length / (2 * K)) * 2 * K || frames.length;
frames.length = usable;

const changes = new ChangeStream(1000);
const core = new RegistryCore({ store, changes, now: () => Date.now() * 1000, logger: silentLogger });
let changeCount = 0;
changes.onChange(() => changeCount++);

function run(name: string, fn: () => void): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  const results: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    gc?.();
    const t0 = performance.now();
    fn();
    results.push(performance.now() - t0);
  }
  const best = Math.min(...results);
  process.stdout.write(`${name.padEnd(52)} ${((best * 1e3) / frames.length).toFixed(3).padStart(7)} µs/frame  ${Math.round((frames.length / best) * 1000).toLocaleString().padStart(11)} frames/s\n`);
}

let sink = 0;
const bytes = frames.map((s) => Buffer.from(s));
run('Buffer.toString + JSON.parse', () => {
  for (const b of bytes) sink += (JSON.parse(b.toString('utf8')) as { seq: number }).seq;
});
run('parseLifecycleFrame (JSON.parse + zod)', () => {
  for (const s of frames) if (parseLifecycleFrame(s).ok) sink++;
});
run('+ lifecycleUpdateFromMsg', () => {
  for (const s of frames) {
    const p = parseLifecycleFrame(s);
    if (p.ok && p.value.type === 'market_lifecycle_v2') sink += lifecycleUpdateFromMsg((p.value as MarketLifecycleFrame).msg, 0).ticker.length;
  }
});
run('+ core.applyLifecycle (transition, store, publish)', () => {
  for (const s of frames) {
    const p = parseLifecycleFrame(s);
    if (p.ok && p.value.type === 'market_lifecycle_v2') void core.applyLifecycle(lifecycleUpdateFromMsg((p.value as MarketLifecycleFrame).msg, Date.now() * 1000));
  }
});
const handler = new LifecycleHandler({ core, logger: silentLogger, onLossSuspected: () => {} });
let seqBase = 0;
run('handler.handleFrame (adds seq tracking)', () => {
  handler.resetSequences();
  seqBase = 0;
  for (const s of frames) void handler.handleFrame(s);
});
process.stdout.write(`changes ${changeCount.toLocaleString()}, sink ${sink > 0}, seqBase ${seqBase}\n`);

// Async iteration, as consume() drives it from a source (not timed per stage above).
async function asyncRun(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  async function* src(): AsyncGenerator<string> {
    yield '{"type":"subscribed","id":1,"msg":{"channel":"market_lifecycle_v2","sid":1}}';
    for (const s of frames) yield s;
  }
  const t0 = performance.now();
  handler.resetSequences();
  await handler.consume(src());
  const ms = performance.now() - t0;
  process.stdout.write(`${'handler.consume(async generator)'.padEnd(52)} ${((ms * 1e3) / frames.length).toFixed(3).padStart(7)} µs/frame  ${Math.round((frames.length / ms) * 1000).toLocaleString().padStart(11)} frames/s\n`);
}
await asyncRun();
