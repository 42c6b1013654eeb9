/**
 * The benchmark suite (issue #5): `npm run bench -- [--markets N] [--out FILE] [--only LIST] [--quick] [--reps R]`.
 *
 * Every figure is measured beside a raw baseline in the same run, over real sockets on 127.0.0.1,
 * against simulated exchanges running in their own processes (own core). Each measurement runs
 * in a fresh worker process (bench/worker.ts, with --expose-gc), so phases do not share heaps.
 *
 *   sync       full initial sync, registry vs a raw undici client that only JSON.parses the pages
 *   memory     heap bytes per market after GC, registry vs the parsed records kept in a Map
 *   lifecycle  lifecycle frames applied end to end, registry vs a raw `ws` client that only parses
 *   active     getActiveMarkets() with 30% active, cached and worst case, vs a plain maintained Map
 *   deadline   100k implicit close transitions due at the same second vs a plain loop
 *
 * See bench/README.md for what each baseline is and the latest results.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { ROOT, fmtNum, flags, killChildren, numFlag, progress, runWorker, startChild } from './lib.js';

const f = flags(process.argv.slice(2));
if (f.has('help')) {
  process.stdout.write(
    'npm run bench -- [--markets N (default 1000000)] [--out FILE (default bench/results.json)]\n' +
      '                 [--only sync,memory,lifecycle,active,deadline] [--quick] [--reps R]\n',
  );
  process.exit(0);
}
const quick = f.has('quick');
/** Also measure bench-side what-ifs (e.g. page prefetching) next to the real registry. */
const whatIf = f.has('what-if');
const N = numFlag(f, 'markets', quick ? 20_000 : 1_000_000);
const out = path.resolve(typeof f.get('out') === 'string' ? (f.get('out') as string) : path.join(ROOT, 'bench', 'results.json'));
const ALL = ['sync', 'memory', 'lifecycle', 'active', 'deadline'] as const;
const only = new Set(typeof f.get('only') === 'string' ? (f.get('only') as string).split(',') : ALL);
for (const o of only) if (!(ALL as readonly string[]).includes(o)) throw new Error(`--only: unknown benchmark ${o} (known: ${ALL.join(', ')})`);
const reps = numFlag(f, 'reps', quick ? 1 : N >= 500_000 ? 2 : 3);
const WORKER = 'bench/worker.ts';
// The same young-generation size as `npm start` (see README, Performance).
const WORKER_NODE = ['--expose-gc', '--max-old-space-size=8192', '--max-semi-space-size=64', ...(process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean)];

interface SimHello {
  restUrl: string;
  wsUrl: string;
  port: number;
}
interface BenchSimHello extends SimHello {
  blastUrl: string;
  ctlUrl: string;
  active: number;
  markets: number;
}
interface SyncRaw {
  ms: number;
  markets: number;
  pages: number;
  bytes: number;
  marketsPerSec: number;
}
interface SyncReg {
  ms: number;
  markets: number;
  marketsPerSec: number;
  bytesPerMarket: number;
  heapBefore: number;
  heapAfter: number;
  events: number;
}
interface MemRaw {
  markets: number;
  bytesPerMarket: number;
}
interface Live {
  registry: { markets: number; active: number; syncMs: number };
  active?: { active: number; cachedUs: number; worstUs: number; baselineUs: number; baselineCachedUs: number; baselineWorstUs: number; worstSamples: number };
  lifecycle?: {
    registryMsgsPerSec: number;
    rawMsgsPerSec: number;
    registryRuns: number[];
    rawRuns: number[];
    framesPerRun: number;
    rejected: number;
    quarantined: number;
    gaps: number;
    duplicates: number;
    invalid: number;
    unknownTickers: number;
  };
  deadline?: { markets: number; registryMs: number; registryFirstMs: number; baselineMs: number; baselineMarkets: number; registryRuns: unknown[]; baselineRuns: number[] };
}

interface Row {
  name: string;
  unit: string;
  registry: number;
  baseline: number;
  /** registry / baseline, oriented so that the target reads naturally (see `ratioMeaning`). */
  ratio: number;
  ratioMeaning: string;
  target: string;
  pass: boolean | null;
  notes: string;
}

const started = Date.now();
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  markets: N,
  reps,
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '?', memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadavgAtStart: os.loadavg() },
};
const rows: Row[] = [];

/** Which code was measured: HEAD and any uncommitted changes under src/ and machines/. */
function codeVersion(): { head: string; dirty: string[] } {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'machines'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    return { head, dirty };
  } catch {
    return { head: 'unknown', dirty: [] };
  }
}
results.codeAtStart = codeVersion();

async function main(): Promise<void> {
  progress(`benchmark: ${fmtNum(N)} markets, reps ${reps}, only ${[...only].join(',')}`);

  // ---- sync + memory: the stock simulator (src/sim/main.ts), default status mix -------------
  if (only.has('sync') || only.has('memory')) {
    progress(`starting simulator (src/sim/main.ts --markets ${N}) in its own process`);
    const sim = await startChild<SimHello>('src/sim/main.ts', ['--markets', String(N), '--port', '0', '--log-level', 'warn']);
    try {
      const rest = ['--rest', sim.hello.restUrl];
      const raws: SyncRaw[] = [];
      const regs: SyncReg[] = [];
      const pres: SyncReg[] = [];
      // Small runs: warm the simulator's page rendering once (JIT) so the first measured run is
      // not penalised. Large runs warm up within their first pages.
      if (N < 200_000) await runWorker<SyncRaw>(WORKER, ['--phase', 'sync-raw', ...rest], WORKER_NODE);
      for (let r = 0; r < reps; r++) {
        // Alternate which side goes first, so drift in machine load hits both.
        const order: ('raw' | 'reg' | 'pre')[] = r % 2 === 0 ? ['raw', 'reg'] : ['reg', 'raw'];
        if (whatIf) order.push('pre');
        for (const side of order) {
          if (side === 'pre') {
            const x = await runWorker<SyncReg>(WORKER, ['--phase', 'sync-registry', '--prefetch', ...rest], WORKER_NODE);
            pres.push(x);
            progress(`sync rep ${r + 1}: what-if registry+prefetch ${fmtNum(x.marketsPerSec)} markets/s (${(x.ms / 1000).toFixed(2)} s)`);
          } else if (side === 'raw') {
            const x = await runWorker<SyncRaw>(WORKER, ['--phase', 'sync-raw', ...rest], WORKER_NODE);
            raws.push(x);
            progress(`sync rep ${r + 1}: raw ${fmtNum(x.marketsPerSec)} markets/s (${(x.ms / 1000).toFixed(2)} s)`);
          } else {
            const x = await runWorker<SyncReg>(WORKER, ['--phase', 'sync-registry', ...rest], WORKER_NODE);
            regs.push(x);
            progress(`sync rep ${r + 1}: registry ${fmtNum(x.marketsPerSec)} markets/s (${(x.ms / 1000).toFixed(2)} s), ${fmtNum(x.bytesPerMarket)} B/market`);
          }
        }
      }
      const bestRaw = Math.max(...raws.map((x) => x.marketsPerSec));
      const bestReg = Math.max(...regs.map((x) => x.marketsPerSec));
      results.sync = { raw: raws, registry: regs, bestRawMarketsPerSec: bestRaw, bestRegistryMarketsPerSec: bestReg, ...(whatIf ? { whatIfPrefetch: pres } : {}) };
      if (whatIf && pres.length > 0) {
        const bestPre = Math.max(...pres.map((x) => x.marketsPerSec));
        rows.push({
          name: `1'. what-if: sync with next page prefetched`,
          unit: 'markets/s',
          registry: bestPre,
          baseline: bestRaw,
          ratio: bestPre / bestRaw,
          ratioMeaning: 'registry+prefetch / raw',
          target: '(experiment)',
          pass: null,
          notes: 'the registry fed by its own KalshiRestClient wrapped to fetch one page ahead (bench-side, via the rest option)',
        });
      }
      if (only.has('sync')) {
        rows.push({
          name: `1. full initial sync (${fmtNum(N)} markets)`,
          unit: 'markets/s',
          registry: bestReg,
          baseline: bestRaw,
          ratio: bestReg / bestRaw,
          ratioMeaning: 'registry / raw',
          target: '≥ 0.8× raw',
          pass: bestReg / bestRaw >= 0.8,
          notes: `best of ${reps}; pages of 1000 (${raws[0]?.pages ?? '?'} pages, ${fmtNum((raws[0]?.bytes ?? 0) / 2 ** 20)} MiB)`,
        });
      }
      if (only.has('memory')) {
        const mem = await runWorker<MemRaw>(WORKER, ['--phase', 'mem-raw', ...rest], WORKER_NODE);
        const reg = Math.min(...regs.map((x) => x.bytesPerMarket));
        results.memory = { registryBytesPerMarket: reg, rawMapBytesPerMarket: mem.bytesPerMarket, registryRuns: regs.map((x) => x.bytesPerMarket), events: regs[0]?.events, raw: mem };
        progress(`memory: registry ${fmtNum(reg)} B/market, raw JSON Map ${fmtNum(mem.bytesPerMarket)} B/market`);
        rows.push({
          name: `3. heap per market (${fmtNum(N)}, after GC)`,
          unit: 'B/market',
          registry: reg,
          baseline: mem.bytesPerMarket,
          ratio: reg / mem.bytesPerMarket,
          ratioMeaning: 'registry / raw',
          target: '≤ 600 B/market',
          pass: reg <= 600,
          notes: `registry incl. its ${fmtNum(regs[0]?.events ?? 0)} events; baseline = parsed Kalshi records in a Map`,
        });
      }
    } finally {
      await sim.kill();
    }
  }

  // ---- lifecycle, active, deadline: bench/sim-child.ts (30% active + frame blaster) ----------
  const live = ['lifecycle', 'active', 'deadline'].filter((x) => only.has(x));
  if (live.length > 0) {
    progress(`starting simulator + frame blaster (bench/sim-child.ts --markets ${N} --active 0.3) in its own process`);
    const sim = await startChild<BenchSimHello>('bench/sim-child.ts', ['--markets', String(N), '--active', '0.3'], ['--max-old-space-size=8192']);
    try {
      const active = sim.hello.active;
      const toggle = Math.min(100_000, Math.floor(active / 3));
      const deadline = Math.min(100_000, active - toggle);
      const frames = quick ? Math.max(2 * toggle, 200_000) : Math.max(2 * toggle, 1_000_000);
      const x = await runWorker<Live>(
        WORKER,
        [
          '--phase', 'live',
          '--rest', sim.hello.restUrl,
          '--blast', sim.hello.blastUrl,
          '--ctl', sim.hello.ctlUrl,
          '--only', live.join(','),
          '--frames', String(frames),
          '--toggle-tickers', String(toggle),
          '--deadline-tickers', String(deadline),
          '--reps', String(Math.max(2, reps)),
        ],
        WORKER_NODE,
      );
      results.live = x;
      if (x.active) {
        const a = x.active;
        rows.push({
          name: `4a. getActiveMarkets, cached (${fmtNum(a.active)} active of ${fmtNum(x.registry.markets)})`,
          unit: 'µs/call',
          registry: a.cachedUs,
          baseline: a.baselineUs,
          ratio: a.cachedUs / a.baselineUs,
          ratioMeaning: 'registry / plain Map copy',
          target: '≤ 1.5×',
          pass: a.cachedUs / a.baselineUs <= 1.5,
          notes: 'no change between calls',
        });
        rows.push({
          name: '4b. getActiveMarkets, worst case',
          unit: 'µs/call',
          registry: a.worstUs,
          baseline: a.baselineUs,
          ratio: a.worstUs / a.baselineUs,
          ratioMeaning: 'registry / plain Map copy',
          target: '≤ 1.5×',
          pass: a.worstUs / a.baselineUs <= 1.5,
          notes: `one status change before every call (median of ${a.worstSamples})`,
        });
      }
      if (x.lifecycle) {
        const l = x.lifecycle;
        const ratio = l.registryMsgsPerSec / l.rawMsgsPerSec;
        const clean = l.rejected === 0 && l.gaps === 0 && l.invalid === 0 && l.quarantined === 0 && l.unknownTickers === 0;
        rows.push({
          name: '2. lifecycle msgs applied end to end',
          unit: 'msgs/s',
          registry: l.registryMsgsPerSec,
          baseline: l.rawMsgsPerSec,
          ratio,
          ratioMeaning: 'registry / raw ws',
          target: '≥ 200k msgs/s and ≥ 0.5× raw',
          pass: clean && l.registryMsgsPerSec >= 200_000 && ratio >= 0.5,
          notes: `best of ${l.registryRuns.length} × ${fmtNum(l.framesPerRun)} frames; rejected ${l.rejected}, gaps ${l.gaps}, invalid ${l.invalid}`,
        });
      }
      if (x.deadline) {
        const d = x.deadline;
        rows.push({
          name: `5. deadline: ${fmtNum(d.markets)} closes due at one second`,
          unit: 'ms',
          registry: d.registryMs,
          baseline: d.baselineMs,
          ratio: d.registryMs / d.baselineMs,
          ratioMeaning: 'registry / plain loop',
          target: 'report (no target)',
          pass: null,
          notes: `due instant → last 'closed' change; first after ${d.registryFirstMs.toFixed(1)} ms`,
        });
      }
    } finally {
      await sim.kill();
    }
  }

  rows.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  results.rows = rows;
  results.totalSeconds = Math.round((Date.now() - started) / 1000);
  results.codeAtEnd = codeVersion();
  if (JSON.stringify(results.codeAtEnd) !== JSON.stringify(results.codeAtStart)) {
    progress('warning: src/ or machines/ changed during the run; figures may mix code versions');
  }
  results.machine = { ...(results.machine as object), loadavgAtEnd: os.loadavg() };
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  printTable();
  process.stdout.write(`\nwritten to ${path.relative(process.cwd(), out) || out} (${results.totalSeconds} s)\n`);
}

function fmtVal(v: number, unit: string): string {
  if (unit === 'µs/call') return v < 10 ? v.toFixed(3) : fmtNum(v);
  if (unit === 'ms') return v.toFixed(1);
  return fmtNum(v);
}

function printTable(): void {
  const header = ['benchmark', 'unit', 'registry', 'baseline', 'ratio', 'target', 'result'];
  const body = rows.map((r) => [
    r.name,
    r.unit,
    fmtVal(r.registry, r.unit),
    fmtVal(r.baseline, r.unit),
    `${r.ratio < 0.01 ? r.ratio.toExponential(1) : r.ratio.toFixed(2)}×`,
    r.target,
    r.pass === null ? '—' : r.pass ? 'PASS' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join(' | ')} |`;
  process.stdout.write(`\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${body.map(line).join('\n')}\n`);
  for (const r of rows) process.stdout.write(`  ${r.name}: ${r.notes}\n`);
}

main().catch((err: unknown) => {
  killChildren();
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
