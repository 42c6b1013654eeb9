/**
 * One benchmark measurement in a fresh process (so every phase starts with an empty heap and its
 * own GC state). Prints one JSON line with the figures on stdout; progress goes to stderr.
 *
 *   node --expose-gc --import tsx bench/worker.ts --phase sync-raw       --rest URL [--profile DIR]
 *   node --expose-gc --import tsx bench/worker.ts --phase sync-registry  --rest URL [--profile DIR]
 *   node --expose-gc --import tsx bench/worker.ts --phase sync-kalshi-ts --rest URL [--profile DIR]
 *   node --expose-gc --import tsx bench/worker.ts --phase mem-raw        --rest URL
 *   node --expose-gc --import tsx bench/worker.ts --phase live --rest URL --blast URL --ctl URL --only a,b [--reps R] [--profile DIR]
 *
 * Memory is `heapUsed + arrayBuffers` after forced GCs: the store keeps its numbers in typed
 * arrays, whose backing stores are not in `heapUsed`, so counting the V8 heap alone would flatter
 * it. CPU is process.cpuUsage() (user + system, every thread: GC helpers and the libuv pool
 * included) over the measured window.
 */
import { Pool } from 'undici';
import { WebSocket } from 'ws';
import { Configuration, MarketApi } from 'kalshi-typescript';
import { createRegistry, type MarketRegistry } from '../src/registry/create-registry.js';
import { createLogger } from '../src/log.js';
import type { Market, MarketChange } from '../src/domain/types.js';
import { finish, gcMemory, median, nowMs, parseArgsOrExit, progress, sleep, until } from './lib.js';
import { Profiler, type ProfileSummary } from './profile.js';

const args = parseArgsOrExit(
  process.argv.slice(2),
  {
    phase: { kind: 'string', default: '' },
    rest: { kind: 'string', default: '' },
    blast: { kind: 'string', default: '' },
    ctl: { kind: 'string', default: '' },
    only: { kind: 'list', default: ['active', 'lifecycle', 'deadline'], values: ['active', 'lifecycle', 'deadline'] },
    frames: { kind: 'number', default: 1_000_000, min: 1 },
    'toggle-tickers': { kind: 'number', default: 100_000, min: 1 },
    'deadline-tickers': { kind: 'number', default: 100_000, min: 0 },
    reps: { kind: 'number', default: 3, min: 1 },
    profile: { kind: 'string', default: '' },
  },
  'bench worker',
);
const restUrl = args.rest;
const logger = createLogger('warn', 'bench-registry');
const profiler = args.profile ? new Profiler(args.profile) : null;

/** Runs `fn` as a measured window: CPU-profiled when --profile is on. */
async function measured<T>(name: string, fn: () => Promise<T>): Promise<T> {
  await profiler?.start();
  try {
    return await fn();
  } finally {
    await profiler?.stop(name);
  }
}

function profiles(): Record<string, ProfileSummary> | undefined {
  return profiler?.data(15);
}

function cpuUs(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return c.user + c.system;
}

// ---- raw REST client: the same undici Pool settings and request headers as KalshiRestClient ----

function rawPool(base: URL): Pool {
  return new Pool(base.origin, {
    connections: 4,
    pipelining: 1,
    keepAliveTimeout: 10_000,
    keepAliveMaxTimeout: 60_000,
    headersTimeout: 31_000,
    bodyTimeout: 31_000,
    connect: { timeout: 10_000 },
  });
}

const utf8 = new TextDecoder('utf-8');

interface RawRun {
  ms: number;
  cpuUs: number;
  markets: number;
  pages: number;
  bytes: number;
  /** Whether every page put its cursor first, as Kalshi does. */
  cursorFirst: boolean;
}

/** Pages GET /markets (limit 1000) one request after another: fetch + JSON.parse, nothing else; `keep` sees each record. */
async function rawPages(keep: ((rec: { ticker: string }) => void) | null, label: string): Promise<RawRun> {
  const base = new URL(restUrl);
  const pool = rawPool(base);
  const headers = { accept: 'application/json', 'accept-encoding': 'gzip, deflate', 'user-agent': 'kalshi-market-registry/0.1.0' };
  let cursor = '';
  let markets = 0;
  let pages = 0;
  let bytes = 0;
  let cursorFirst = true;
  const c0 = process.cpuUsage();
  const t0 = nowMs();
  let lastReport = t0;
  do {
    const path = `${base.pathname}/markets?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await pool.request({ method: 'GET', path, headers });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    if (res.statusCode !== 200) throw new Error(`GET /markets answered ${res.statusCode}`);
    const text = utf8.decode(Buffer.concat(chunks, size));
    if (!text.startsWith('{"cursor":')) cursorFirst = false;
    const page = JSON.parse(text) as { markets: { ticker: string }[]; cursor: string };
    pages++;
    bytes += size;
    markets += page.markets.length;
    if (keep) for (const m of page.markets) keep(m);
    cursor = page.cursor;
    if (nowMs() - lastReport > 5000) {
      lastReport = nowMs();
      progress(`${label}: ${markets.toLocaleString()} markets`);
    }
  } while (cursor);
  const ms = nowMs() - t0;
  const cpu = cpuUs(c0);
  await pool.close();
  return { ms, cpuUs: cpu, markets, pages, bytes, cursorFirst };
}

// ---- registry helpers --------------------------------------------------------------------------

/** Waits until the registry's REST traffic (post-sync delta reconcile, event sync) has stopped. */
async function restQuiet(reg: MarketRegistry): Promise<void> {
  let last = -1;
  let stableSince = Date.now();
  for (;;) {
    const r = reg.stats().rest?.requests ?? 0;
    if (r !== last) {
      last = r;
      stableSince = Date.now();
    } else if (Date.now() - stableSince > 1500 && reg.stats().reconciles > 0) return;
    await sleep(100);
  }
}

async function syncRegistry(
  opts: Parameters<typeof createRegistry>[0],
  label: string,
): Promise<{ reg: MarketRegistry; ms: number; cpuUs: number; markets: number }> {
  const reg = createRegistry(opts);
  const timer = setInterval(() => {
    const s = reg.summary.getSnapshot().context.sync;
    progress(`${label}: ${s.markets.toLocaleString()} markets, ${s.pages} pages`);
  }, 5000);
  const c0 = process.cpuUsage();
  const t0 = nowMs();
  reg.start();
  const summary = await reg.synced;
  const ms = nowMs() - t0;
  const cpu = cpuUs(c0);
  clearInterval(timer);
  return { reg, ms, cpuUs: cpu, markets: summary.markets };
}

// ---- phases ------------------------------------------------------------------------------------

async function phaseSyncRaw(): Promise<void> {
  const r = await measured('sync raw (fetch + JSON.parse)', () => rawPages(null, 'raw sync'));
  finish({ ...r, marketsPerSec: (r.markets / r.ms) * 1000, cpuUsPerMarket: r.cpuUs / r.markets, profiles: profiles() });
}

async function phaseSyncRegistry(): Promise<void> {
  const before = await gcMemory();
  const {
    reg,
    ms,
    cpuUs: cpu,
    markets,
  } = await measured('sync registry', () => syncRegistry({ restUrl, lifecycle: 'none', rateLimit: 'unlimited', pageLimit: 1000, logger }, 'registry sync'));
  progress(`registry sync: ${markets.toLocaleString()} markets in ${(ms / 1000).toFixed(2)} s; waiting for event sync to settle`);
  await restQuiet(reg);
  const after = await gcMemory();
  // What reading every active market costs on top (each is materialized once and cached).
  const active = reg.getActiveMarkets().length;
  const withActive = await gcMemory();
  const stats = reg.stats();
  const result = {
    ms,
    markets,
    marketsPerSec: (markets / ms) * 1000,
    cpuUsPerMarket: cpu / markets,
    bytesPerMarket: (after.total - before.total) / markets,
    heapUsedPerMarket: (after.heapUsed - before.heapUsed) / markets,
    arrayBuffersPerMarket: (after.arrayBuffers - before.arrayBuffers) / markets,
    active,
    bytesPerMarketWithActiveRead: (withActive.total - before.total) / markets,
    events: stats.events,
    rest: stats.rest,
    quarantined: stats.counters.quarantined,
    profiles: profiles(),
  };
  await reg.stop();
  finish(result);
}

/** What a user would pick instead: Kalshi's official generated client, paging GET /markets into a Map. */
async function phaseSyncKalshiTs(): Promise<void> {
  const before = await gcMemory();
  const api = new MarketApi(new Configuration({ basePath: restUrl }));
  const map = new Map<string, unknown>();
  let pages = 0;
  const c0 = process.cpuUsage();
  const t0 = nowMs();
  await measured('sync kalshi-typescript', async () => {
    let cursor: string | undefined;
    let lastReport = t0;
    do {
      const res = await api.getMarkets(1000, cursor);
      pages++;
      for (const m of res.data.markets) map.set(m.ticker, m);
      cursor = res.data.cursor || undefined;
      if (nowMs() - lastReport > 5000) {
        lastReport = nowMs();
        progress(`kalshi-typescript sync: ${map.size.toLocaleString()} markets`);
      }
    } while (cursor);
  });
  const ms = nowMs() - t0;
  const cpu = cpuUs(c0);
  const after = await gcMemory();
  finish({
    ms,
    markets: map.size,
    pages,
    marketsPerSec: (map.size / ms) * 1000,
    cpuUsPerMarket: cpu / map.size,
    bytesPerMarket: (after.total - before.total) / map.size,
    profiles: profiles(),
  });
}

async function phaseMemRaw(): Promise<void> {
  const before = await gcMemory();
  const map = new Map<string, unknown>();
  const r = await rawPages((m) => map.set(m.ticker, m), 'raw Map');
  const after = await gcMemory();
  finish({ ms: r.ms, markets: map.size, bytesPerMarket: (after.total - before.total) / map.size });
}

// ---- live phases: lifecycle throughput, getActiveMarkets, deadlines ----------------------------

async function ctl<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(`${args.ctl}${path}`, { method: 'POST', body: JSON.stringify(body) });
  const json = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(`blaster ${path}: ${json.error ?? res.status}`);
  return json;
}

async function waitConn(name: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const res = await fetch(`${args.ctl}/conns`);
    if (((await res.json()) as string[]).includes(name)) return;
    await sleep(50);
  }
  throw new Error(`blaster connection ${name} never subscribed`);
}

/** A raw `ws` client on the blaster that only JSON.parses every frame. */
async function rawWsClient(name: string): Promise<{ count: () => number; close: () => void; sink: () => number }> {
  const ws = new WebSocket(`${args.blast}?name=${name}`);
  let n = 0;
  let sink = 0;
  ws.on('message', (data: Buffer) => {
    const v = JSON.parse(data.toString('utf8')) as { seq?: number };
    sink += v.seq ?? 0;
    n++;
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ id: 1, cmd: 'subscribe', params: { channels: ['market_lifecycle_v2'] } }));
  await waitConn(name);
  await until(() => n >= 1, 'subscribed frame');
  return { count: () => n - 1, close: () => ws.close(), sink: () => sink };
}

async function phaseLive(): Promise<void> {
  const only = new Set(args.only);
  const reps = args.reps;
  const out: Record<string, unknown> = {};
  const { reg, ms, markets } = await syncRegistry(
    { restUrl, wsUrl: `${args.blast}?name=registry`, lifecycle: 'websocket', rateLimit: 'unlimited', pageLimit: 1000, logger },
    'live registry sync',
  );
  progress(`live registry: ${markets.toLocaleString()} markets synced in ${(ms / 1000).toFixed(1)} s; waiting for event sync to settle`);
  await restQuiet(reg);
  await waitConn('registry');
  let rejected = 0;
  reg.onRejected(() => rejected++);
  const active = reg.getActiveMarkets().length;
  out.registry = { markets, active, syncMs: ms };

  // -- 4. getActiveMarkets -------------------------------------------------------------------
  if (only.has('active')) {
    progress(`getActiveMarkets: ${active.toLocaleString()} active of ${markets.toLocaleString()}`);
    const plain = new Map<string, Market>();
    for (const m of reg.getActiveMarkets()) plain.set(m.ticker, m);
    const maintain = reg.onChange((c: MarketChange) => {
      if (c.newStatus === 'active' && c.market) plain.set(c.ticker, c.market);
      else plain.delete(c.ticker);
    });
    let sink = 0;
    const regCached: number[] = [];
    const baseCopy: number[] = [];
    for (let round = 0; round < 5; round++) {
      const calls = 20_000;
      let t0 = nowMs();
      for (let i = 0; i < calls; i++) sink += reg.getActiveMarkets().length;
      regCached.push(((nowMs() - t0) * 1e3) / calls);
      const bcalls = 20;
      t0 = nowMs();
      for (let i = 0; i < bcalls; i++) sink += Array.from(plain.values()).length;
      baseCopy.push(((nowMs() - t0) * 1e3) / bcalls);
      await sleep(10);
    }
    // Worst case: a change between every call. Measured inside onChange (the market has just been
    // written, so the cached snapshot is stale); registry and baseline calls alternate in order.
    const regWorst: number[] = [];
    const baseWorst: number[] = [];
    let flip = false;
    const worst = reg.onChange(() => {
      flip = !flip;
      const a = flip;
      for (let k = 0; k < 2; k++) {
        const t0 = nowMs();
        if (a === (k === 0)) {
          sink += reg.getActiveMarkets().length;
          regWorst.push((nowMs() - t0) * 1e3);
        } else {
          sink += Array.from(plain.values()).length;
          baseWorst.push((nowMs() - t0) * 1e3);
        }
      }
    });
    const worstFrames = 400;
    const before = reg.stats().counters.changes;
    await ctl('/prepare', { conn: 'registry', kind: 'toggle', offset: 0, tickers: worstFrames / 2, frames: worstFrames });
    await ctl('/send', { conn: 'registry' });
    await until(() => reg.stats().counters.changes - before >= worstFrames, 'worst-case toggles', 120_000);
    worst();
    maintain();
    const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
    const q = (xs: number[], p: number) => sorted(xs)[Math.min(xs.length - 1, Math.floor(p * xs.length))] as number;
    out.active = {
      active: reg.getActiveMarkets().length,
      cachedUs: median(regCached),
      cachedRuns: regCached,
      worstUs: median(regWorst),
      worstP10Us: q(regWorst, 0.1),
      worstP90Us: q(regWorst, 0.9),
      baselineUs: median(baseWorst),
      baselineP10Us: q(baseWorst, 0.1),
      baselineP90Us: q(baseWorst, 0.9),
      baselineCachedUs: median(baseCopy),
      worstSamples: regWorst.length,
      sink: sink > 0,
    };
    progress(
      `getActiveMarkets: cached ${median(regCached).toFixed(3)} µs, worst ${median(regWorst).toFixed(0)} µs, plain Map copy ${median(baseWorst).toFixed(0)} µs`,
    );
  }

  // -- 2. lifecycle messages end to end ------------------------------------------------------
  if (only.has('lifecycle')) {
    let changes = 0;
    const off = reg.onChange(() => changes++);
    const raw = await rawWsClient('raw');
    const regRuns: { frames: number; ms: number; cpuUs: number }[] = [];
    const rawRuns: { frames: number; ms: number; cpuUs: number }[] = [];
    for (let rep = 0; rep < reps; rep++) {
      // registry, then raw: pairs, interleaved
      {
        const prep = await ctl<{ frames: number }>('/prepare', {
          conn: 'registry',
          kind: 'toggle',
          offset: 0,
          tickers: args['toggle-tickers'],
          frames: args.frames,
        });
        await gcMemory();
        const start = changes;
        await measured('lifecycle registry', async () => {
          const c0 = process.cpuUsage();
          const t0 = nowMs();
          await ctl('/send', { conn: 'registry' });
          let last = nowMs();
          await until(
            () => {
              if (nowMs() - last > 5000) {
                last = nowMs();
                progress(`lifecycle registry: ${(changes - start).toLocaleString()} / ${prep.frames.toLocaleString()} changes`);
              }
              return changes - start >= prep.frames;
            },
            'registry changes',
            300_000,
            1,
          );
          const ms2 = nowMs() - t0;
          regRuns.push({ frames: prep.frames, ms: ms2, cpuUs: cpuUs(c0) });
          progress(
            `lifecycle registry ${rep + 1}/${reps}: ${prep.frames.toLocaleString()} changes in ${ms2.toFixed(0)} ms (${Math.round((prep.frames / ms2) * 1000).toLocaleString()} msgs/s)`,
          );
        });
      }
      await sleep(200);
      {
        const prep = await ctl<{ frames: number }>('/prepare', {
          conn: 'raw',
          kind: 'toggle',
          offset: 0,
          tickers: args['toggle-tickers'],
          frames: args.frames,
        });
        await gcMemory();
        const start = raw.count();
        await measured('lifecycle raw ws + JSON.parse', async () => {
          const c0 = process.cpuUsage();
          const t0 = nowMs();
          await ctl('/send', { conn: 'raw' });
          await until(() => raw.count() - start >= prep.frames, 'raw frames', 300_000, 1);
          const ms2 = nowMs() - t0;
          rawRuns.push({ frames: prep.frames, ms: ms2, cpuUs: cpuUs(c0) });
          progress(
            `lifecycle raw ws ${rep + 1}/${reps}: ${prep.frames.toLocaleString()} frames in ${ms2.toFixed(0)} ms (${Math.round((prep.frames / ms2) * 1000).toLocaleString()} msgs/s)`,
          );
        });
      }
      await sleep(200);
    }
    raw.close();
    off();
    const s = reg.stats();
    const rate = (r: { frames: number; ms: number }): number => (r.frames / r.ms) * 1000;
    out.lifecycle = {
      registryRuns: regRuns.map(rate),
      rawRuns: rawRuns.map(rate),
      registryCpuUsPerMsg: regRuns.map((r) => r.cpuUs / r.frames),
      rawCpuUsPerMsg: rawRuns.map((r) => r.cpuUs / r.frames),
      framesPerRun: regRuns[0]?.frames ?? 0,
      rejected: s.counters.rejected + rejected,
      quarantined: s.counters.quarantined,
      gaps: s.lifecycle.gaps,
      duplicates: s.lifecycle.duplicates,
      invalid: s.lifecycle.invalid,
      unknownTickers: s.counters.unknownTickerEvents,
      socketPauses: s.socket?.pauses ?? null,
      reconciles: s.reconciles,
    };
  }

  // -- 5. deadline scheduler ------------------------------------------------------------------
  if (only.has('deadline') && args['deadline-tickers'] > 0) {
    const toggle = args['toggle-tickers'];
    const size = args['deadline-tickers'];
    // Disjoint sets of active markets, one per rep: the toggle set (active again after the
    // lifecycle runs) last.
    const ranges: { offset: number; tickers: number }[] = [];
    for (let k = 0; ranges.length < reps; k++) {
      const offset = toggle + k * size;
      if (offset + size <= active) ranges.push({ offset, tickers: size });
      else break;
    }
    if (ranges.length < reps) ranges.push({ offset: 0, tickers: Math.min(size, toggle) });
    // Baseline state: every market in a Map (built once, outside the measurements).
    const map = new Map<string, Market>();
    for (const m of reg.markets()) map.set(m.ticker, m);
    const regRuns: { count: number; firstMs: number; lastMs: number }[] = [];
    const baseRuns: number[] = [];
    let skipped = 0;
    let emitted = 0;
    const listener = (c: MarketChange): void => {
      if (c.newStatus === 'closed') emitted++;
    };
    for (const range of ranges) {
      let closed = 0;
      let firstAt = 0;
      let lastAt = 0;
      const closedTickers: string[] = [];
      const off = reg.onChange((c) => {
        if (c.newStatus !== 'closed') return;
        const t = performance.timeOrigin + performance.now();
        if (closed === 0) firstAt = t;
        closedTickers.push(c.ticker);
        closed++;
        lastAt = t;
      });
      await gcMemory(); // start each measured run from a collected heap (both sides do)
      // Room to apply the close_date_updated frames first (≈ 1–4 s for 100k on a loaded machine).
      const lead = 4 + Math.ceil(range.tickers / 25_000);
      const closeTs = Math.ceil(Date.now() / 1000) + lead;
      const before = reg.stats().lifecycle.lifecycleMessages;
      const prep = await ctl<{ frames: number }>('/prepare', { conn: 'registry', kind: 'close', offset: range.offset, tickers: range.tickers, closeTs });
      await ctl('/send', { conn: 'registry' });
      await until(() => reg.stats().lifecycle.lifecycleMessages - before >= prep.frames, 'close_date_updated frames', 60_000, 2);
      const armedAt = Date.now();
      if (armedAt >= closeTs * 1000 - 1000) {
        // Not a measurement of firing (the frames were still being applied): skip it, say so.
        progress(`deadlines: frames applied only ${closeTs * 1000 - armedAt} ms before the deadline; run skipped`);
        skipped++;
        await until(() => closed >= prep.frames, 'closed changes', 120_000, 1);
        off();
        continue;
      }
      progress(
        `deadlines: ${prep.frames.toLocaleString()} markets close at ${new Date(closeTs * 1000).toISOString()} (armed ${closeTs * 1000 - armedAt} ms ahead)`,
      );
      // The profiler (when on) starts here, well before the due instant: starting it walks every
      // code object and would stall the firing itself.
      await measured('deadline registry', () => until(() => closed >= prep.frames, 'closed changes', 120_000, 1));
      off();
      const due = closeTs * 1000;
      regRuns.push({ count: closed, firstMs: firstAt - due, lastMs: lastAt - due });
      progress(
        `deadlines: ${closed.toLocaleString()} closed; first ${(firstAt - due).toFixed(1)} ms, last ${(lastAt - due).toFixed(1)} ms after the due instant`,
      );
      // Baseline, right after: the same markets (put back to active) closed by a plain loop over a
      // pre-sorted array doing the same Map updates on a Map of every market, emitting a change each.
      const originals = closedTickers.map((t) => ({ ...(map.get(t) as Market), marketStatus: 'active' as const, tradingStatus: 'open' as const }));
      for (const m of originals) map.set(m.ticker, m);
      const dueUs = Date.now() * 1000;
      const list = originals.map((m) => ({ t: m.ticker, d: dueUs }));
      list.sort((a, b) => a.d - b.d);
      await gcMemory();
      const nowUs = Date.now() * 1000;
      const t0 = nowMs();
      for (const { t, d } of list) {
        if (d > nowUs) break;
        const m = map.get(t);
        if (m === undefined || (m.marketStatus !== 'active' && m.marketStatus !== 'inactive')) continue;
        const next: Market = { ...m, marketStatus: 'closed', tradingStatus: 'closed', updatedAt: nowUs };
        map.set(t, next);
        listener({ ticker: t, eventType: 'status_change', oldStatus: m.marketStatus, newStatus: 'closed', market: next });
      }
      baseRuns.push(nowMs() - t0);
      await sleep(300);
    }
    out.deadline = {
      markets: regRuns[0]?.count ?? 0,
      registryRuns: regRuns,
      registryLastMs: regRuns.map((r) => r.lastMs),
      registryFirstMs: regRuns.map((r) => r.firstMs),
      baselineRuns: baseRuns,
      skipped,
      emitted: emitted > 0,
    };
  }

  await reg.stop();
  out.profiles = profiles();
  finish(out);
}

switch (args.phase) {
  case 'sync-raw':
    await phaseSyncRaw();
    break;
  case 'sync-registry':
    await phaseSyncRegistry();
    break;
  case 'sync-kalshi-ts':
    await phaseSyncKalshiTs();
    break;
  case 'mem-raw':
    await phaseMemRaw();
    break;
  case 'live':
    await phaseLive();
    break;
  default:
    process.stderr.write(`bench worker: unknown --phase "${args.phase}"\n`);
    process.exit(2);
}
