/**
 * The state directory, measured (not part of `npm test` or `npm run bench`):
 *
 *   npx tsx bench/durable.ts [--markets 1000000] [--frames 1000000] [--runs 3]
 *
 *  1. write:     a cold initial sync of N markets (REST records shaped like the simulator's, ~1.6 KB
 *                each, every field) through the registry with a state directory, until durable;
 *                beside the same sync without one. Disk bytes per market after a checkpoint.
 *  2. load:      a fresh process opens the state directory: createRegistry → getActiveMarkets()
 *                ready (budget ≤ 5 s at 1M).
 *  3. lifecycle: F lifecycle frames (activated/deactivated over 100k active markets) through the
 *                handler, in chunks with event-loop turns between (as socket reads arrive), with
 *                the state directory attached (until the last batch committed: every change
 *                durable), without, and without but with a change listener (changes are then built
 *                as for any subscriber; the state directory's tracker is one). The journal fold at
 *                close (background work of the writer thread) is timed apart.
 *                Budget: the store costs ≤ 10 % of lifecycle throughput.
 * Each phase runs in its own process; results go to bench/results-durable.json.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RawPage } from '../src/kalshi/rest-client.js';
import { FrameQueue } from '../src/kalshi/frame-queue.js';
import { silentLogger } from '../src/log.js';
import { createDurable } from '../src/persist/durable.js';
import { openStateDir } from '../src/persist/state-file.js';
import { ChangeStream } from '../src/registry/change-stream.js';
import { RegistryCore } from '../src/registry/core.js';
import { createRegistry } from '../src/registry/create-registry.js';
import { LifecycleHandler } from '../src/registry/lifecycle-handler.js';
import type { RestApi } from '../src/registry/rest-tasks.js';
import { MarketStore } from '../src/store/market-store.js';
import { finish, fmtNum, median, parseArgs, runWorker } from './lib.js';

const SELF = fileURLToPath(import.meta.url);
const args = parseArgs(process.argv.slice(2), {
  markets: { kind: 'number', default: 1_000_000 },
  frames: { kind: 'number', default: 1_000_000 },
  runs: { kind: 'number', default: 3 },
  phase: { kind: 'string', default: '' },
  dir: { kind: 'string', default: '' },
  persist: { kind: 'string', default: 'on' },
});
const N = args.markets;

const STATUSES = ['active', 'active', 'active', 'initialized', 'inactive', 'closed', 'determined', 'finalized', 'finalized', 'finalized'] as const;

/** A REST record shaped like the simulator's (and Kalshi's 2026 records): every field, ~1.6 KB. */
function record(i: number): Record<string, unknown> {
  const event = `KXBENCH-26NOV24-E${i >> 3}`;
  const status = STATUSES[i % 10] as string;
  const price = (3000 + (i % 4000)) / 10_000;
  return {
    can_close_early: false,
    cap_strike: 46,
    close_time: '2030-01-21T06:13:19Z',
    created_time: '2026-11-07T12:41:57.22619Z',
    event_ticker: event,
    exchange_index: 0,
    expected_expiration_time: '2030-01-21T07:13:19Z',
    expiration_time: '2030-01-28T06:13:19Z',
    expiration_value: '',
    floor_strike: 44,
    last_price_dollars: price.toFixed(4),
    latest_expiration_time: '2030-01-28T06:13:19Z',
    liquidity_dollars: '0.0000',
    market_type: 'binary',
    no_ask_dollars: (1 - price + 0.01).toFixed(4),
    no_bid_dollars: (1 - price).toFixed(4),
    no_sub_title: '44° to 46°',
    notional_value_dollars: '1.0000',
    occurrence_datetime: '2030-01-21T07:13:19Z',
    open_interest_fp: '4260.71',
    open_time: '2026-11-12T07:06:08Z',
    previous_price_dollars: price.toFixed(4),
    previous_yes_ask_dollars: price.toFixed(4),
    previous_yes_bid_dollars: (price - 0.01).toFixed(4),
    price_level_structure: 'linear_cent',
    price_ranges: [{ end: '1.0000', start: '0.0000', step: '0.0100' }],
    result: status === 'determined' || status === 'finalized' ? 'yes' : '',
    rules_primary: `If the high temperature in NYC on bench day ${i >> 3} is within the range of the market's strike, then the market resolves to Yes.`,
    rules_secondary: "Not all climate and weather data is final when first published; the source agency's first release is used.",
    settlement_timer_seconds: 30,
    status,
    strike_type: 'between',
    ticker: `KXBENCH-26NOV24-T${i}.5`,
    title: `What will the high temperature in NYC be on bench day ${i >> 3}?`,
    updated_time: '2026-11-07T12:41:57.22619Z',
    volume_24h_fp: '457.53',
    volume_fp: `${10_000 + (i % 1000)}.56`,
    yes_ask_dollars: price.toFixed(4),
    yes_ask_size_fp: '1882.73',
    yes_bid_dollars: (price - 0.01).toFixed(4),
    yes_bid_size_fp: '876.42',
    yes_sub_title: '44° to 46°',
  };
}

/** A REST client serving N such markets on the first full pass, nothing afterwards. */
function fakeRest(n: number): RestApi {
  let served = false;
  return {
    async *marketPages(query, _signal, options) {
      if (served || query?.minUpdatedTs !== undefined || query?.tickers !== undefined) return;
      served = true;
      const limit = query?.limit ?? 1000;
      for (let from = 0; from < n; from += limit) {
        const requestedAt = options?.stamp?.();
        const records: unknown[] = [];
        for (let i = from; i < Math.min(n, from + limit); i++) records.push(record(i));
        const page: RawPage = {
          records,
          cursor: from + limit < n ? String(from + limit) : null,
          bytes: 0,
          decodedBytes: 0,
          ...(requestedAt === undefined ? {} : { requestedAt }),
        };
        yield page;
      }
    },

    async *eventPages() {
      return;
    },
    getExchangeStatus: async () => ({ body: { exchange_active: true, trading_active: true }, httpStatus: 200 }),
    getMarket: async () => null,
  };
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const f of readdirSync(dir)) total += statSync(path.join(dir, f)).size;
  return total;
}

const quiet = { logger: silentLogger, lifecycle: 'none' as const, reconcileIntervalMs: 3_600_000, eventSyncIntervalMs: 3_600_000, statusIntervalMs: 3_600_000 };

async function phaseWrite(dir: string): Promise<void> {
  const out: Record<string, number> = {};
  for (const withState of [false, true]) {
    global.gc?.();
    const registry = createRegistry({ rest: fakeRest(N), ...quiet, ...(withState ? { stateDir: dir } : {}) });
    const t0 = performance.now();
    registry.start();
    await registry.synced;
    const synced = performance.now() - t0;
    const persistence = registry.stats().persistence;
    await registry.stop(); // writes the last batches and closes the state file
    const durable = performance.now() - t0;
    if (withState) {
      out.syncWithStateMs = synced;
      out.durableMs = durable;
      out.encodeMs = persistence?.writer.encodeMs ?? 0;
    } else out.syncMs = synced;
  }
  out.diskBytes = dirBytes(dir);
  const rows = new MarketStore();
  openStateDir(dir, { store: rows, exchange: 'custom' }).close();
  out.stored = rows.size;
  finish(out);
}

async function phaseLoad(dir: string): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const registry = createRegistry({ rest: fakeRest(0), ...quiet, stateDir: dir });
  const loaded = performance.now();
  const active = registry.getActiveMarkets().length;
  const ready = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const stats = registry.stats();
  await registry.stop();
  finish({
    openLoadMs: loaded - t0,
    firstActiveMs: ready - loaded,
    readyMs: ready - t0,
    readyCpuMs: (cpu.user + cpu.system) / 1000,
    markets: stats.markets,
    active,
    rssMb: process.memoryUsage().rss / 1e6,
  });
}

/** `off`: no state directory; `listen`: none either, but a change listener (so changes are built, as for any subscriber); `on`: the state directory. */
async function phaseLifecycle(dir: string, mode: 'off' | 'listen' | 'on'): Promise<void> {
  const persist = mode === 'on';
  const store = new MarketStore();
  const changes = new ChangeStream(1000);
  const now = () => Date.now() * 1000;
  const core = new RegistryCore({ store, changes, now, logger: silentLogger });
  let durable: ReturnType<typeof createDurable> | null = null;
  if (persist) {
    durable = createDurable({ stateDir: dir, stateFlushMs: 100, exchange: 'custom' }, { store, changes, core, logger: silentLogger, now });
    durable.start(() => null);
  } else openStateDir(dir, { store, exchange: 'custom' }).close();
  if (mode === 'listen') changes.onChange(() => {});
  const handler = new LifecycleHandler({ core, logger: silentLogger, onLossSuspected: () => {} });
  const tickers: string[] = [];
  for (const m of store.values()) if (m.marketStatus === 'active' && tickers.length < 100_000) tickers.push(m.ticker);
  const K = tickers.length;
  const rounds = Math.max(2, 2 * Math.round(args.frames / (2 * K)));
  let seq = 0;
  const frames: string[] = [];
  for (let r = 0; r < rounds; r++) {
    const ev = r % 2 === 0 ? 'deactivated' : 'activated';
    for (const t of tickers)
      frames.push(`{"type":"market_lifecycle_v2","sid":1,"seq":${++seq},"msg":{"market_ticker":"${t}","event_type":"${ev}","is_deactivated":${r % 2 === 0}}}`);
  }
  global.gc?.();
  const queue = new FrameQueue(Number.POSITIVE_INFINITY);
  queue.push('{"type":"subscribed","id":1,"msg":{"channel":"market_lifecycle_v2","sid":1}}');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const consumed = handler.consume(queue);
  // Frames arrive in socket-sized chunks, with event-loop turns between (flush timers run).
  for (let i = 0; i < frames.length; i += 2000) {
    for (let k = i; k < Math.min(frames.length, i + 2000); k++) queue.push(frames[k] as string);
    await new Promise((r) => setImmediate(r));
  }
  queue.end();
  await consumed;
  const processed = performance.now() - t0;
  // Durable: the last batch committed (its journal row). The fold of the journal into the markets
  // table is the writer thread's background work (when idle or large, and at close): timed apart.
  await durable?.whenDurable();
  const durableMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const stats = durable?.persistenceStats() ?? null;
  await durable?.close();
  const closeMs = performance.now() - t0 - durableMs;
  const cpuClose = process.cpuUsage(cpu0);
  finish({
    frames: frames.length,
    changes: changes.published,
    processedMs: processed,
    durableMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    closeMs,
    closeCpuMs: (cpuClose.user + cpuClose.system - cpu.user - cpu.system) / 1000,
    encodeMs: stats?.writer.encodeMs ?? 0,
    batches: stats?.writer.batches ?? 0,
    maxCommitMs: stats?.writer.maxCommitMs ?? 0,
  });
}

async function orchestrate(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'registry-bench-state-'));
  const nodeArgs = ['--expose-gc', '--max-semi-space-size=64', '--max-old-space-size=8192'];
  const common = ['--markets', String(N), '--frames', String(args.frames)];
  try {
    process.stderr.write(`write: cold sync of ${fmtNum(N)} markets, with and without a state directory…\n`);
    const write = await runWorker<Record<string, number>>(SELF, ['--phase', 'write', '--dir', dir, ...common], nodeArgs);
    const loads: Record<string, number>[] = [];
    for (let r = 0; r < args.runs; r++) {
      process.stderr.write(`load ${r + 1}/${args.runs}…\n`);
      loads.push(await runWorker(SELF, ['--phase', 'load', '--dir', dir, ...common], nodeArgs));
    }
    const lifecycle: { on: Record<string, number>[]; off: Record<string, number>[]; listen: Record<string, number>[] } = { on: [], off: [], listen: [] };
    for (let r = 0; r < args.runs; r++) {
      for (const persist of ['off', 'listen', 'on'] as const) {
        process.stderr.write(`lifecycle ${persist} ${r + 1}/${args.runs}…\n`);
        // Each "on" run writes to a copy, so every run starts from the same stored state.
        const runDir = mkdtempSync(path.join(tmpdir(), 'registry-bench-run-'));
        cpSync(dir, runDir, { recursive: true });
        try {
          lifecycle[persist].push(await runWorker(SELF, ['--phase', 'lifecycle', '--dir', runDir, '--persist', persist, ...common], nodeArgs));
        } finally {
          rmSync(runDir, { recursive: true, force: true });
        }
      }
    }
    const m = (xs: Record<string, number>[], k: string) => median(xs.map((x) => x[k] as number));
    const offRate = lifecycle.off.map((x) => ((x.frames as number) / (x.processedMs as number)) * 1000);
    const onRate = lifecycle.on.map((x) => ((x.frames as number) / (x.durableMs as number)) * 1000);
    const listenRate = lifecycle.listen.map((x) => ((x.frames as number) / (x.processedMs as number)) * 1000);
    const result = {
      markets: N,
      write: {
        ...write,
        bytesPerMarket: (write.diskBytes as number) / (write.stored as number),
        syncMarketsPerSec: (N / (write.syncMs as number)) * 1000,
        syncWithStateMarketsPerSec: (N / (write.syncWithStateMs as number)) * 1000,
      },
      load: {
        readyMs: loads.map((x) => x.readyMs as number),
        medianReadyMs: m(loads, 'readyMs'),
        medianReadyCpuMs: m(loads, 'readyCpuMs'),
        openLoadMs: m(loads, 'openLoadMs'),
        firstActiveMs: m(loads, 'firstActiveMs'),
        active: loads[0]?.active,
        rssMb: m(loads, 'rssMb'),
      },
      lifecycle: {
        off: lifecycle.off,
        listen: lifecycle.listen,
        on: lifecycle.on,
        framesPerSecOff: median(offRate),
        framesPerSecListen: median(listenRate),
        framesPerSecOn: median(onRate),
        cost: 1 - median(onRate) / median(offRate),
        costOverListen: 1 - median(onRate) / median(listenRate),
        closeMs: m(lifecycle.on, 'closeMs'),
        closeCpuMs: m(lifecycle.on, 'closeCpuMs'),
        encodeUsPerChange: (m(lifecycle.on, 'encodeMs') * 1000) / m(lifecycle.on, 'changes'),
        cpuUsPerFrameOff: (m(lifecycle.off, 'cpuMs') * 1000) / m(lifecycle.off, 'frames'),
        cpuUsPerFrameOn: (m(lifecycle.on, 'cpuMs') * 1000) / m(lifecycle.on, 'frames'),
        bestFramesPerSecOff: Math.max(...offRate),
        bestFramesPerSecOn: Math.max(...onRate),
      },
    };
    writeFileSync(path.join(path.dirname(SELF), 'results-durable.json'), JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(
      [
        `markets ${fmtNum(N)}`,
        `cold sync: ${fmtNum(result.write.syncMarketsPerSec)} markets/s without a state directory, ${fmtNum(result.write.syncWithStateMarketsPerSec)} with; durable ${fmtNum((write.durableMs as number) / 1000, 1)} s after start (main-thread batch building ${fmtNum(write.encodeMs as number)} ms)`,
        `disk: ${fmtNum(result.write.bytesPerMarket)} bytes per market (${fmtNum((write.diskBytes as number) / 1e6)} MB, full records included)`,
        `load: ready for getActiveMarkets in ${fmtNum(result.load.medianReadyMs)} ms median, ${fmtNum(result.load.medianReadyCpuMs)} ms CPU (${result.load.readyMs.map((x) => fmtNum(x)).join(', ')}; open+load ${fmtNum(result.load.openLoadMs)} ms, first getActiveMarkets ${fmtNum(result.load.firstActiveMs)} ms, ${fmtNum(result.load.active ?? 0)} active, RSS ${fmtNum(result.load.rssMb)} MB) — budget 5000 ms`,
        `lifecycle: ${fmtNum(result.lifecycle.framesPerSecOff)} frames/s without, ${fmtNum(result.lifecycle.framesPerSecListen)} without but with a change listener, ${fmtNum(result.lifecycle.framesPerSecOn)} with the state directory (until the last batch committed), median: cost ${fmtNum(result.lifecycle.cost * 100, 1)} % (${fmtNum(result.lifecycle.costOverListen * 100, 1)} % over the listener) — budget 10 %; journal fold and checkpoint at close ${fmtNum(result.lifecycle.closeMs)} ms (${fmtNum(result.lifecycle.closeCpuMs)} ms CPU, the writer thread's background work); best runs ${fmtNum(result.lifecycle.bestFramesPerSecOff)} vs ${fmtNum(result.lifecycle.bestFramesPerSecOn)}; CPU ${fmtNum(result.lifecycle.cpuUsPerFrameOff, 2)} vs ${fmtNum(result.lifecycle.cpuUsPerFrameOn, 2)} µs per frame (all threads); batch building ${fmtNum(result.lifecycle.encodeUsPerChange, 3)} µs per change on the ingesting thread`,
      ].join('\n') + '\n',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (args.phase === 'write') await phaseWrite(args.dir);
else if (args.phase === 'load') await phaseLoad(args.dir);
else if (args.phase === 'lifecycle') await phaseLifecycle(args.dir, args.persist === 'on' ? 'on' : args.persist === 'listen' ? 'listen' : 'off');
else await orchestrate();
