/**
 * The benchmark suite: `npm run bench -- [--markets N] [--only LIST] [--reps R] [--out FILE] [--profile] [--quick]`.
 *
 * Every figure is measured beside a baseline in the same run, over real sockets on 127.0.0.1,
 * against simulated exchanges in their own processes. Each sync measurement runs in a fresh
 * worker process (bench/worker.ts, --expose-gc); registry and baseline runs are interleaved
 * (registry, raw, registry, raw …, at least 3 pairs by default) and each figure is reported as
 * the median with min–max, so that a burst of load on the (shared) machine shows as spread
 * instead of moving one side only.
 *
 *   sync       full initial sync (pages cursor-first, as Kalshi sends them): registry vs a raw
 *              undici client that only JSON.parses, and vs kalshi-typescript paging into a Map;
 *              throughput and client CPU per market
 *   memory     heap + ArrayBuffers per market after GC, registry vs the parsed records in a Map
 *   lifecycle  lifecycle frames applied end to end, registry vs a raw `ws` client that only parses
 *   active     getActiveMarkets() with 30% active, cached and worst case, vs a plain maintained Map
 *   deadline   100k implicit close transitions due in the same second vs a plain loop
 *
 * Results go to bench/results.local.json (untracked) unless --out says otherwise; --profile adds
 * a CPU profile of every measured window (bench/profiles/…) and prints the top self-time
 * functions per figure. See bench/README.md.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { ROOT, fmtNum, killChildren, median, parseArgsOrExit, progress, runWorker, spread, startChild } from './lib.js';
import { formatSummary, profileTimes, summaryOf, type CpuProfile, type ProfileSummary, type ProfileTimes } from './profile.js';
import { queryRows, type QueryBenchResult } from './micro-query.js';

const ALL = ['sync', 'memory', 'lifecycle', 'active', 'deadline', 'query'] as const;
const HELP = `npm run bench -- [flags]

  --markets N     simulated exchange size (default 1000000; 20000 with --quick)
  --only LIST     any of ${ALL.join(',')} (default all)
  --reps R        interleaved registry/baseline pairs per figure (default 3)
  --out FILE      JSON results (default bench/results.local.json, untracked)
  --profile       CPU profile of every measured window; top self-time functions per figure
  --quick         20000 markets, 200000 lifecycle frames per run
  --help          this text
`;
const argv = process.argv.slice(2);
const args = parseArgsOrExit(
  argv,
  {
    markets: { kind: 'number', default: 1_000_000, min: 1000 },
    only: { kind: 'list', default: [...ALL], values: ALL },
    reps: { kind: 'number', default: 3, min: 1 },
    out: { kind: 'string', default: path.join(ROOT, 'bench', 'results.local.json') },
    profile: { kind: 'boolean' },
    quick: { kind: 'boolean' },
    help: { kind: 'boolean' },
  },
  'bench',
);
if (args.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const quick = args.quick;
const N = quick && !argv.some((a) => a === '--markets' || a.startsWith('--markets=')) ? 20_000 : args.markets;
const only = new Set<string>(args.only);
const reps = args.reps;
const out = path.resolve(args.out);
const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const profileDir = args.profile ? path.join(ROOT, 'bench', 'profiles', stamp) : null;
const WORKER = 'bench/worker.ts';
// The same young-generation size as `npm start` (see README, Performance).
const WORKER_NODE = [
  '--expose-gc',
  '--max-old-space-size=8192',
  '--max-semi-space-size=64',
  ...(process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean),
];

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
interface Profiled {
  profiles?: Record<string, ProfileSummary>;
}
interface SyncRaw extends Profiled {
  ms: number;
  markets: number;
  pages: number;
  bytes: number;
  marketsPerSec: number;
  cpuUsPerMarket: number;
  cursorFirst: boolean;
}
interface SyncReg extends Profiled {
  ms: number;
  markets: number;
  marketsPerSec: number;
  cpuUsPerMarket: number;
  bytesPerMarket: number;
  heapUsedPerMarket: number;
  arrayBuffersPerMarket: number;
  active: number;
  bytesPerMarketWithActiveRead: number;
  events: number;
  quarantined: number;
}
interface SyncKts extends Profiled {
  ms: number;
  markets: number;
  marketsPerSec: number;
  cpuUsPerMarket: number;
  bytesPerMarket: number;
}
interface MemRaw {
  markets: number;
  bytesPerMarket: number;
}
interface Live extends Profiled {
  registry: { markets: number; active: number; syncMs: number };
  active?: {
    active: number;
    cachedUs: number;
    cachedRuns: number[];
    worstUs: number;
    worstP10Us: number;
    worstP90Us: number;
    baselineUs: number;
    baselineP10Us: number;
    baselineP90Us: number;
    baselineCachedUs: number;
    worstSamples: number;
  };
  lifecycle?: {
    registryRuns: number[];
    rawRuns: number[];
    registryCpuUsPerMsg: number[];
    rawCpuUsPerMsg: number[];
    framesPerRun: number;
    rejected: number;
    quarantined: number;
    gaps: number;
    duplicates: number;
    invalid: number;
    unknownTickers: number;
  };
  deadline?: { markets: number; registryLastMs: number[]; registryFirstMs: number[]; baselineRuns: number[]; skipped: number };
}

type Spread = ReturnType<typeof spread>;
interface Row {
  name: string;
  unit: string;
  registry: Spread;
  baseline: Spread | null;
  /** registry median / baseline median. */
  ratio: number | null;
  ratioMeaning: string;
  target: string;
  pass: boolean | null;
  /** How far past (positive) or short of (negative) the target, as a fraction. */
  margin: number | null;
  notes: string;
}

const started = Date.now();
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  markets: N,
  reps,
  method: 'interleaved registry/baseline runs (registry first in each pair), median with min–max; memory = heapUsed + arrayBuffers after GC',
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '?',
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    loadavgAtStart: os.loadavg(),
  },
};
const rows: Row[] = [];
const profileFiles = new Map<string, string[]>();

/** Which code was measured: HEAD and any uncommitted changes under src/ and machines/. */
function codeVersion(): { head: string; dirty: string[] } {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'machines'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
    return { head, dirty };
  } catch {
    return { head: 'unknown', dirty: [] };
  }
}
results.codeAtStart = codeVersion();

/** A worker run; with --profile, in its own profile directory (returned). */
async function worker<T>(phase: string, rest: string[], tag: string): Promise<T & { load1: number }> {
  const dir = profileDir ? path.join(profileDir, tag) : null;
  const load1 = os.loadavg()[0] ?? 0;
  const x = await runWorker<T>(WORKER, ['--phase', phase, ...rest, ...(dir ? ['--profile', dir] : [])], WORKER_NODE);
  return { ...x, load1 };
}

function noteProfiles(tag: string, p: Record<string, ProfileSummary> | undefined): void {
  if (!profileDir || !p) return;
  for (const name of Object.keys(p)) {
    const slug = name
      .replace(/[^a-z0-9]+/gi, '-')
      .replace(/^-|-$/g, '')
      .toLowerCase();
    const list = profileFiles.get(name) ?? [];
    list.push(path.join(profileDir, tag, `${slug}-*.cpuprofile`));
    profileFiles.set(name, list);
  }
}

const atLeast = (value: number, target: number): number => value / target - 1;
const atMost = (value: number, target: number): number => target / value - 1;

const failures: string[] = [];

/** Writes what has been measured so far (a later failure must not lose it). */
function save(): void {
  results.rows = [...rows].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  results.failures = failures;
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
}

/** One section; a failure is reported and recorded, and the next section still runs. */
async function section(name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    failures.push(`${name}: ${msg}`);
    progress(`${name} failed: ${msg}`);
  }
  save();
}

async function main(): Promise<void> {
  progress(
    `benchmark: ${fmtNum(N)} markets, ${reps} interleaved pairs, only ${[...only].join(',')}${profileDir ? `, profiles in ${path.relative(ROOT, profileDir)}` : ''}`,
  );
  if (only.has('sync') || only.has('memory')) await section('sync/memory', syncSection);
  if (['lifecycle', 'active', 'deadline'].some((x) => only.has(x))) await section('live', liveSection);
  // getMarkets against a brute-force scan, in a worker of its own (bench/micro-query.ts).
  if (only.has('query'))
    await section(
      'query',
      async () =>
        void rows.push(...queryRows(await runWorker<QueryBenchResult>('bench/micro-query.ts', ['--markets', String(N), '--reps', String(reps)], WORKER_NODE))),
    );
  finishRun();
}

async function syncSection(): Promise<void> {
  // ---- sync + memory: the stock simulator (src/sim/main.ts), default status mix -------------
  {
    progress(`starting simulator (src/sim/main.ts --markets ${N}) in its own process`);
    const sim = await startChild<SimHello>('src/sim/main.ts', ['--markets', String(N), '--port', '0', '--log-level', 'warn']);
    try {
      const rest = ['--rest', sim.hello.restUrl];
      const raws: (SyncRaw & { load1: number })[] = [];
      const regs: (SyncReg & { load1: number })[] = [];
      const ktss: (SyncKts & { load1: number })[] = [];
      // Warm the simulator's page rendering once (JIT), so the first measured run is not penalised.
      await runWorker<SyncRaw>(WORKER, ['--phase', 'sync-raw', ...rest], WORKER_NODE);
      for (let r = 0; r < reps; r++) {
        const x = await worker<SyncReg>('sync-registry', rest, `sync-registry-${r + 1}`);
        regs.push(x);
        noteProfiles(`sync-registry-${r + 1}`, x.profiles);
        progress(
          `sync ${r + 1}/${reps}: registry ${fmtNum(x.marketsPerSec)} markets/s (${(x.ms / 1000).toFixed(2)} s, ${x.cpuUsPerMarket.toFixed(1)} µs CPU/market), ${fmtNum(x.bytesPerMarket)} B/market`,
        );
        if (!only.has('sync')) continue;
        const y = await worker<SyncRaw>('sync-raw', rest, `sync-raw-${r + 1}`);
        raws.push(y);
        noteProfiles(`sync-raw-${r + 1}`, y.profiles);
        progress(
          `sync ${r + 1}/${reps}: raw ${fmtNum(y.marketsPerSec)} markets/s (${(y.ms / 1000).toFixed(2)} s, ${y.cpuUsPerMarket.toFixed(1)} µs CPU/market)${y.cursorFirst ? '' : ' — WARNING: pages not cursor-first'}`,
        );
        const z = await worker<SyncKts>('sync-kalshi-ts', rest, `sync-kalshi-ts-${r + 1}`);
        ktss.push(z);
        noteProfiles(`sync-kalshi-ts-${r + 1}`, z.profiles);
        progress(
          `sync ${r + 1}/${reps}: kalshi-typescript ${fmtNum(z.marketsPerSec)} markets/s (${(z.ms / 1000).toFixed(2)} s, ${z.cpuUsPerMarket.toFixed(1)} µs CPU/market)`,
        );
      }
      results.sync = { registry: regs, raw: raws, kalshiTypescript: ktss };
      if (only.has('sync')) {
        const reg = spread(regs.map((x) => x.marketsPerSec));
        const raw = spread(raws.map((x) => x.marketsPerSec));
        const pairRatios = spread(regs.map((x, i) => x.marketsPerSec / (raws[i] as SyncRaw).marketsPerSec));
        const ratio = reg.median / raw.median;
        rows.push({
          name: `1. full initial sync (${fmtNum(N)} markets)`,
          unit: 'markets/s',
          registry: reg,
          baseline: raw,
          ratio,
          ratioMeaning: 'registry / raw',
          target: '≥ 0.8× raw',
          pass: ratio >= 0.8,
          margin: atLeast(ratio, 0.8),
          notes: `raw = undici + JSON.parse, one page after another; pages of 1000, cursor first: ${raws.every((x) => x.cursorFirst) ? 'yes' : 'NO'} (${raws[0]?.pages ?? '?'} pages, ${fmtNum((raws[0]?.bytes ?? 0) / 2 ** 20)} MiB); per-pair ratio ${fmtSpread(pairRatios, 'x')}`,
        });
        const regCpu = spread(regs.map((x) => x.cpuUsPerMarket));
        const rawCpu = spread(raws.map((x) => x.cpuUsPerMarket));
        const cpuRatio = regCpu.median / rawCpu.median;
        rows.push({
          name: '1b. sync: client CPU per market',
          unit: 'µs/market',
          registry: regCpu,
          baseline: rawCpu,
          ratio: cpuRatio,
          ratioMeaning: 'registry / raw',
          target: '≤ 1.5× raw',
          pass: cpuRatio <= 1.5,
          margin: atMost(cpuRatio, 1.5),
          notes: 'process.cpuUsage (user + system, all threads) from start() to synced / markets',
        });
        const kts = spread(ktss.map((x) => x.marketsPerSec));
        const ktsCpu = spread(ktss.map((x) => x.cpuUsPerMarket));
        rows.push({
          name: '1c. kalshi-typescript 3.30 full discovery',
          unit: 'markets/s',
          registry: kts,
          baseline: raw,
          ratio: kts.median / raw.median,
          ratioMeaning: 'kalshi-typescript / raw',
          target: '(what a user would pick instead)',
          pass: null,
          margin: null,
          notes: `MarketApi.getMarkets(1000, cursor) into a Map; CPU ${fmtSpread(ktsCpu, 'µs/market')}, heap ${fmtNum(median(ktss.map((x) => x.bytesPerMarket)))} B/market; registry is ${(reg.median / kts.median).toFixed(2)}× its throughput`,
        });
      }
      if (only.has('memory')) {
        const mem = await runWorker<MemRaw>(WORKER, ['--phase', 'mem-raw', ...rest], WORKER_NODE);
        const reg = spread(regs.map((x) => x.bytesPerMarket));
        results.memory = {
          registry: regs.map((x) => ({
            total: x.bytesPerMarket,
            heapUsed: x.heapUsedPerMarket,
            arrayBuffers: x.arrayBuffersPerMarket,
            withActiveRead: x.bytesPerMarketWithActiveRead,
          })),
          raw: mem,
        };
        progress(`memory: registry ${fmtNum(reg.median)} B/market, raw JSON Map ${fmtNum(mem.bytesPerMarket)} B/market`);
        rows.push({
          name: `3. heap per market (${fmtNum(N)}, incl. events, after GC)`,
          unit: 'B/market',
          registry: reg,
          baseline: spread([mem.bytesPerMarket]),
          ratio: reg.median / mem.bytesPerMarket,
          ratioMeaning: 'registry / raw Map',
          target: '≤ 450 B/market',
          pass: reg.median <= 450,
          margin: atMost(reg.median, 450),
          notes: `heapUsed ${fmtNum(median(regs.map((x) => x.heapUsedPerMarket)))} + ArrayBuffers ${fmtNum(median(regs.map((x) => x.arrayBuffersPerMarket)))}; ${fmtNum(regs[0]?.events ?? 0)} events; after getActiveMarkets() (${fmtNum(regs[0]?.active ?? 0)} Markets materialized) ${fmtNum(median(regs.map((x) => x.bytesPerMarketWithActiveRead)))} B/market; baseline = parsed Kalshi records in a Map (1 run)`,
        });
      }
    } finally {
      await sim.kill();
    }
  }
}

async function liveSection(): Promise<void> {
  // ---- lifecycle, active, deadline: bench/sim-child.ts (30% active + frame blaster) ----------
  const live = ['lifecycle', 'active', 'deadline'].filter((x) => only.has(x));
  {
    progress(`starting simulator + frame blaster (bench/sim-child.ts --markets ${N} --active 0.3 --combo-share 0) in its own process`);
    const sim = await startChild<BenchSimHello>(
      'bench/sim-child.ts',
      ['--markets', String(N), '--active', '0.3', '--combo-share', '0'],
      ['--max-old-space-size=8192'],
    );
    try {
      const active = sim.hello.active;
      const toggle = Math.min(100_000, Math.floor(active / 3));
      const deadline = Math.min(100_000, Math.floor((active - toggle) / 2));
      const frames = quick ? Math.max(2 * toggle, 200_000) : Math.max(2 * toggle, 1_000_000);
      // prettier-ignore
      const x = await worker<Live>('live', [
        '--rest', sim.hello.restUrl, '--blast', sim.hello.blastUrl, '--ctl', sim.hello.ctlUrl,
        '--only', live.join(','), '--frames', String(frames), '--toggle-tickers', String(toggle),
        '--deadline-tickers', String(deadline), '--reps', String(reps),
      ], 'live');
      noteProfiles('live', x.profiles);
      results.live = x;
      if (x.active) {
        const a = x.active;
        rows.push({
          name: `4a. getActiveMarkets, cached (${fmtNum(a.active)} active of ${fmtNum(x.registry.markets)})`,
          unit: 'µs/call',
          registry: spread(a.cachedRuns),
          baseline: spread([a.baselineCachedUs]),
          ratio: a.cachedUs / a.baselineCachedUs,
          ratioMeaning: 'registry / plain Map copy',
          target: '≤ 1.5×',
          pass: a.cachedUs / a.baselineCachedUs <= 1.5,
          margin: atMost(a.cachedUs / a.baselineCachedUs, 1.5),
          notes: 'no change between calls (5 rounds of 20,000 calls)',
        });
        const ratio = a.worstUs / a.baselineUs;
        rows.push({
          name: '4b. getActiveMarkets, worst case',
          unit: 'µs/call',
          registry: { median: a.worstUs, min: a.worstP10Us, max: a.worstP90Us, n: a.worstSamples },
          baseline: { median: a.baselineUs, min: a.baselineP10Us, max: a.baselineP90Us, n: a.worstSamples },
          ratio,
          ratioMeaning: 'registry / plain Map copy',
          target: '≤ 1.5×',
          pass: ratio <= 1.5,
          margin: atMost(ratio, 1.5),
          notes: `one status change before every call, calls alternating with the baseline's; median and p10–p90 of ${a.worstSamples} each`,
        });
      }
      if (x.lifecycle) {
        const l = x.lifecycle;
        const reg = spread(l.registryRuns);
        const raw = spread(l.rawRuns);
        const ratio = reg.median / raw.median;
        const clean = l.rejected === 0 && l.gaps === 0 && l.invalid === 0 && l.quarantined === 0 && l.unknownTickers === 0;
        rows.push({
          name: '2. lifecycle msgs applied end to end',
          unit: 'msgs/s',
          registry: reg,
          baseline: raw,
          ratio,
          ratioMeaning: 'registry / raw ws',
          target: '≥ 200k msgs/s and ≥ 0.5× raw',
          pass: clean && reg.median >= 200_000 && ratio >= 0.5,
          margin: Math.min(atLeast(reg.median, 200_000), atLeast(ratio, 0.5)),
          notes: `${l.registryRuns.length} pairs × ${fmtNum(l.framesPerRun)} frames; CPU ${fmtSpread(spread(l.registryCpuUsPerMsg), 'µs/msg')} vs raw ${fmtSpread(spread(l.rawCpuUsPerMsg), 'µs/msg')}; rejected ${l.rejected}, gaps ${l.gaps}, invalid ${l.invalid}, quarantined ${l.quarantined}, unknown ${l.unknownTickers}`,
        });
      }
      if (x.deadline) {
        const d = x.deadline;
        const reg = spread(d.registryLastMs);
        rows.push({
          name: `5. ${fmtNum(d.markets)} implicit closes due in the same second`,
          unit: 'ms',
          registry: reg,
          baseline: spread(d.baselineRuns),
          ratio: reg.median / median(d.baselineRuns),
          ratioMeaning: 'registry / plain loop',
          target: '≤ 150 ms after due',
          pass: reg.median <= 150,
          margin: atMost(reg.median, 150),
          notes: `due instant → last 'closed' change (first after ${fmtSpread(spread(d.registryFirstMs), 'ms')})${d.skipped > 0 ? `; ${d.skipped} run(s) skipped (frames applied too close to the deadline)` : ''}; baseline = plain loop over a pre-sorted array doing the same Map updates`,
        });
      }
    } finally {
      await sim.kill();
    }
  }
}

function finishRun(): void {
  rows.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  results.rows = rows;
  if (profileDir) results.profiles = summarizeProfiles();
  results.totalSeconds = Math.round((Date.now() - started) / 1000);
  results.codeAtEnd = codeVersion();
  if (JSON.stringify(results.codeAtEnd) !== JSON.stringify(results.codeAtStart)) {
    progress('warning: src/ or machines/ changed during the run; figures may mix code versions');
  }
  results.machine = { ...(results.machine as object), loadavgAtEnd: os.loadavg() };
  save();
  printTable();
  if (profileDir) printProfiles(results.profiles as Record<string, ProfileSummary>);
  for (const f of failures) process.stdout.write(`\nFAILED ${f}\n`);
  if (failures.length > 0) process.exitCode = 1;
  process.stdout.write(`\nwritten to ${path.relative(process.cwd(), out) || out} (${String(results.totalSeconds)} s)\n`);
}

/** Every figure's profiles added up (all runs of all reps), summarized. */
function summarizeProfiles(): Record<string, ProfileSummary> {
  const outp: Record<string, ProfileSummary> = {};
  for (const [name, patterns] of profileFiles) {
    let t: ProfileTimes | undefined;
    for (const pattern of [...new Set(patterns)]) {
      const dir = path.dirname(pattern);
      const prefix = path.basename(pattern).replace('*.cpuprofile', '');
      let files: string[] = [];
      try {
        files = readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.cpuprofile'));
      } catch {
        files = [];
      }
      for (const f of files) t = profileTimes(JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as CpuProfile, t);
    }
    if (t) outp[name] = summaryOf(t, 15);
  }
  return outp;
}

function printProfiles(p: Record<string, ProfileSummary>): void {
  process.stdout.write(
    `\nCPU profiles of the measured windows (${path.relative(ROOT, profileDir as string)}; summarize any file with bench/profile-summary.ts):\n`,
  );
  for (const [name, s] of Object.entries(p)) process.stdout.write(`\n${formatSummary(name, s)}\n`);
}

function fmtVal(v: number, unit: string): string {
  if (unit === 'µs/call') return v < 10 ? v.toFixed(3) : fmtNum(v);
  if (unit === 'ms' || unit === 'µs/market' || unit === 'µs/msg') return v.toFixed(1);
  return fmtNum(v);
}

function fmtSpread(s: Spread, unit: string): string {
  const f = (v: number) => (unit === 'x' ? v.toFixed(2) : fmtVal(v, unit));
  return s.n === 1 ? `${f(s.median)}${unit === 'x' ? '×' : ` ${unit}`}` : `${f(s.median)} (${f(s.min)}–${f(s.max)})${unit === 'x' ? '×' : ` ${unit}`}`;
}

function printTable(): void {
  const header = ['benchmark', 'unit', 'registry: median (min–max)', 'baseline: median (min–max)', 'ratio', 'target', 'result'];
  const cell = (s: Spread | null, unit: string) =>
    s === null ? '—' : s.n === 1 ? fmtVal(s.median, unit) : `${fmtVal(s.median, unit)} (${fmtVal(s.min, unit)}–${fmtVal(s.max, unit)})`;
  const body = rows.map((r) => [
    r.name,
    r.unit,
    cell(r.registry, r.unit),
    cell(r.baseline, r.unit),
    r.ratio === null ? '—' : `${r.ratio < 0.01 ? r.ratio.toExponential(1) : r.ratio.toFixed(2)}×`,
    r.target,
    r.pass === null ? '—' : `${r.pass ? 'met' : 'missed'}${r.margin === null ? '' : ` (${r.margin >= 0 ? '+' : '−'}${Math.abs(r.margin * 100).toFixed(0)}%)`}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join(' | ')} |`;
  process.stdout.write(`\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${body.map(line).join('\n')}\n`);
  for (const r of rows) process.stdout.write(`  ${r.name}: ${r.notes}\n`);
  process.stdout.write('  result: met/missed, and by how much relative to the target (+ = past it)\n');
}

main().catch((err: unknown) => {
  killChildren();
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
