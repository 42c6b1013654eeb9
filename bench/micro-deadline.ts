/**
 * Diagnostic (not part of `npm run bench`): 100k implicit closes due at the same instant, in one
 * process without sockets — the real DeadlineScheduler and RegistryCore over a store of N
 * markets, the clock moved past the deadline, then `fireDue()` timed (wall and CPU), with and
 * without an onChange listener. Interleaved runs, median.
 *
 *   npx tsx --expose-gc bench/micro-deadline.ts [--markets 1000000] [--closes 100000] [--rounds 3]
 */
import { silentLogger } from '../src/log.js';
import { ChangeStream } from '../src/registry/change-stream.js';
import { RegistryCore } from '../src/registry/core.js';
import { DeadlineScheduler } from '../src/registry/deadline-scheduler.js';
import { MarketStore } from '../src/store/market-store.js';
import { benchMarket, median, parseArgsOrExit } from './lib.js';
import { Profiler } from './profile.js';

const args = parseArgsOrExit(
  process.argv.slice(2),
  {
    markets: { kind: 'number', default: 1_000_000, min: 1 },
    closes: { kind: 'number', default: 100_000, min: 1 },
    rounds: { kind: 'number', default: 3, min: 1 },
    profile: { kind: 'string', default: '' },
  },
  'micro-deadline',
);
const gc = (globalThis as { gc?: () => void }).gc;
const profiler = args.profile ? new Profiler(args.profile) : null;
const wall: number[] = [];
const cpu: number[] = [];
let changes = 0;
for (let round = 0; round < args.rounds; round++) {
  let now = Date.UTC(2026, 10, 24, 12) * 1000;
  const due = now + 60_000_000;
  const store = new MarketStore();
  const stream = new ChangeStream(1000);
  stream.onChange(() => changes++);
  const core = new RegistryCore({ store, changes: stream, now: () => now, logger: silentLogger });
  const scheduler = new DeadlineScheduler({
    now: () => now,
    collect: (until) => core.deadlinesBefore(until),
    onDue: (id, at) => core.applyDeadlinesAt(id, at),
  });
  core.attachScheduler(scheduler);
  for (let i = 0; i < args.markets; i++) {
    const closes = i < args.closes;
    const m = benchMarket(i, now, closes || i % 10 < 2, closes ? due : undefined);
    store.set(m);
  }
  scheduler.start();
  scheduler.stop(); // armed by the sweep; fired by hand below
  (scheduler as unknown as { start(): void }).start();
  now = due + 1;
  gc?.();
  await profiler?.start();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const fired = await scheduler.fireDue();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  await profiler?.stop('fireDue');
  scheduler.stop();
  if (fired !== args.closes || store.statusCounts().closed !== args.closes) throw new Error(`fired ${fired}, closed ${store.statusCounts().closed}`);
  wall.push(ms);
  cpu.push((c.user + c.system) / 1000);
}
if (profiler) process.stdout.write(profiler.summaries(25));
process.stdout.write(
  `${args.closes.toLocaleString()} closes among ${args.markets.toLocaleString()} markets: fireDue median ${median(wall).toFixed(1)} ms wall (${wall.map((x) => x.toFixed(0)).join(', ')}), ${median(cpu).toFixed(1)} ms CPU; ${((median(cpu) * 1000) / args.closes).toFixed(2)} µs CPU per close; ${changes.toLocaleString()} changes\n`,
);
