/**
 * Diagnostic (not part of `npm run bench`): where a lifecycle frame's time goes, stage by stage,
 * in one process without sockets. Each stage adds one layer of the registry's path:
 *
 *   npx tsx --expose-gc bench/micro-lifecycle.ts [--markets 1000000] [--frames 1000000] [--profile DIR]
 *
 * Every stage runs 3 times, interleaved with the others (round-robin), and the median is shown
 * with the CPU time of the process (process.cpuUsage, all threads) beside the wall time: on a
 * shared machine the CPU figure moves less. --profile writes a CPU profile of each stage's runs
 * (node:inspector) and prints its top self-time functions.
 */
import { fastLifecycleFrame, newFastFrame } from '../src/domain/fast-frame.js';
import { lifecycleUpdateFromMsg, parseLifecycleFrame } from '../src/domain/mapping.js';
import { FrameQueue } from '../src/kalshi/frame-queue.js';
import { silentLogger } from '../src/log.js';
import { ChangeStream } from '../src/registry/change-stream.js';
import { RegistryCore } from '../src/registry/core.js';
import { LifecycleHandler } from '../src/registry/lifecycle-handler.js';
import { MarketStore } from '../src/store/market-store.js';
import { benchMarket, median, parseArgsOrExit } from './lib.js';
import { Profiler } from './profile.js';

const args = parseArgsOrExit(
  process.argv.slice(2),
  {
    markets: { kind: 'number', default: 1_000_000 },
    frames: { kind: 'number', default: 1_000_000 },
    profile: { kind: 'string', default: '' },
  },
  'micro-lifecycle',
);
const N = args.markets;
const FRAMES = args.frames;
const K = Math.min(100_000, Math.floor(N * 0.3));

const store = new MarketStore();
const now = Date.now() * 1000;
for (let i = 0; i < N; i++) {
  const m = benchMarket(i, now, i % 10 < 3);
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
const handler = new LifecycleHandler({ core, logger: silentLogger, onLossSuspected: () => {} });
const subscribed = '{"type":"subscribed","id":1,"msg":{"channel":"market_lifecycle_v2","sid":1}}';

let sink = 0;
const scratch = newFastFrame();
const stages: { name: string; run: () => void | Promise<void> }[] = [
  {
    name: 'JSON.parse',
    run: () => {
      for (const s of frames) sink += (JSON.parse(s) as { seq: number }).seq;
    },
  },
  {
    name: 'JSON.parse + zod (parseLifecycleFrame)',
    run: () => {
      for (const s of frames) if (parseLifecycleFrame(s).ok) sink++;
    },
  },
  {
    name: '  + lifecycleUpdateFromMsg (the zod route)',
    run: () => {
      for (const s of frames) {
        const p = parseLifecycleFrame(s);
        if (p.ok && p.value.type === 'market_lifecycle_v2') sink += lifecycleUpdateFromMsg(p.value.msg, 0).ticker.length;
      }
    },
  },
  {
    name: 'JSON.parse + fastLifecycleFrame',
    run: () => {
      for (const s of frames) if (fastLifecycleFrame(JSON.parse(s), scratch)) sink++;
    },
  },
  {
    name: '  + store.idOf (Map of 1M)',
    run: () => {
      for (const s of frames) if (fastLifecycleFrame(JSON.parse(s), scratch)) sink += store.idOf(scratch.ticker);
    },
  },
  {
    name: 'handler.handleFrame (all of it)',
    run: () => {
      handler.resetSequences();
      for (const s of frames) void handler.handleFrame(s);
    },
  },
  {
    name: 'handler.consume(FrameQueue, batched)',
    run: async () => {
      const q = new FrameQueue(Number.POSITIVE_INFINITY);
      q.push(subscribed);
      for (const s of frames) q.push(s);
      q.end();
      await handler.consume(q);
    },
  },
  {
    name: 'handler.consume(async generator)',
    run: async () => {
      async function* src(): AsyncGenerator<string> {
        yield subscribed;
        for (const s of frames) yield s;
      }
      await handler.consume(src());
    },
  },
];

const gc = (globalThis as { gc?: () => void }).gc;
const profiler = args.profile ? new Profiler(args.profile) : null;
const wall = new Map<string, number[]>();
const cpu = new Map<string, number[]>();
for (let rep = 0; rep < 3; rep++) {
  for (const st of stages) {
    gc?.();
    await profiler?.start();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await st.run();
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    await profiler?.stop(st.name);
    (wall.get(st.name) ?? wall.set(st.name, []).get(st.name)!).push(ms);
    (cpu.get(st.name) ?? cpu.set(st.name, []).get(st.name)!).push((c.user + c.system) / 1000);
  }
}
process.stdout.write(`${frames.length.toLocaleString()} frames over ${K.toLocaleString()} of ${N.toLocaleString()} markets; median of 3 interleaved runs\n`);
process.stdout.write(`${'stage'.padEnd(46)} ${'wall µs/frame'.padStart(14)} ${'cpu µs/frame'.padStart(13)} ${'frames/s (wall)'.padStart(16)}\n`);
for (const st of stages) {
  const w = median(wall.get(st.name) as number[]);
  const c = median(cpu.get(st.name) as number[]);
  process.stdout.write(
    `${st.name.padEnd(46)} ${((w * 1e3) / frames.length).toFixed(3).padStart(14)} ${((c * 1e3) / frames.length).toFixed(3).padStart(13)} ${Math.round(
      (frames.length / w) * 1000,
    )
      .toLocaleString()
      .padStart(16)}\n`,
  );
}
process.stdout.write(`changes ${changeCount.toLocaleString()}, sink ${sink > 0}\n`);
if (profiler) process.stdout.write(`\n${profiler.summaries(15)}`);
