/**
 * The query API at scale, in one process without sockets: a MarketStore of N markets shaped like
 * the simulator's exchange (series of events of 1–10 markets, its status mix and close times,
 * 10% combos), then getMarkets by event, by status, by series and status, and by a close-time
 * window, each against a brute-force scan (a filter over an array of every Market, already
 * materialized: the cheapest scan an embedder could write). Interleaved index/scan batches,
 * median (min–max) per query; the ratio is scan / index (how many times faster the index is).
 * Every answer is checked against the scan's.
 *
 *   npx tsx --expose-gc bench/micro-query.ts [--markets 1000000] [--reps 5]
 *
 * `npm run bench -- --only query` runs it as a worker and records the figures.
 */
import { pathToFileURL } from 'node:url';
import type { Market } from '../src/domain/types.js';
import { TRADING_STATUS_BY_MARKET_STATUS } from '../src/domain/mapping.js';
import type { MarketStatus } from '../src/domain/vocabulary.js';
import { MarketStore } from '../src/store/market-store.js';
import type { MarketQuery } from '../src/store/market-query.js';
import { finish, gcMemory, median, parseArgsOrExit, progress, spread } from './lib.js';

export interface QueryFigure {
  readonly name: string;
  /** Markets per answer (median over the queries of one batch). */
  readonly results: number;
  /** Microseconds per query. */
  readonly index: ReturnType<typeof spread>;
  readonly scan: ReturnType<typeof spread>;
  /** scan median / index median. */
  readonly ratio: number;
}

export interface QueryBenchResult {
  readonly markets: number;
  readonly reps: number;
  readonly buildMs: number;
  /** Heap + ArrayBuffers after GC with the store and its query indexes built, per market. */
  readonly bytesPerMarket: number;
  /** What the query indexes (built by the first query) add, per market. */
  readonly indexBytesPerMarket: number;
  /** The first query, which builds those indexes. */
  readonly firstQueryMs: number;
  readonly figures: readonly QueryFigure[];
}

const HOUR = 3_600_000_000;
const DAY = 24 * HOUR;
/** The simulator's default status mix (src/sim/options.ts), roughly. */
const MIX: readonly (readonly [MarketStatus, number])[] = [
  ['initialized', 0.05],
  ['active', 0.3],
  ['inactive', 0.02],
  ['closed', 0.05],
  ['determined', 0.03],
  ['disputed', 0.005],
  ['amended', 0.005],
  ['finalized', 0.54],
];

/** A small deterministic PRNG (mulberry32), so every run builds the same exchange. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pickStatus(u: number): MarketStatus {
  let acc = 0;
  for (const [s, p] of MIX) {
    acc += p;
    if (u < acc) return s;
  }
  return 'finalized';
}

/** Close time for a status, relative to now (as the simulator's generator does). */
function closeFor(status: MarketStatus, now: number, r: () => number): number {
  const u = (a: number, b: number) => a + r() * (b - a);
  switch (status) {
    case 'initialized':
      return now + u(2 * HOUR, 37 * DAY);
    case 'active':
    case 'inactive':
      return now + u(HOUR, 60 * DAY);
    case 'closed':
      return now - u(60e6, 2 * DAY);
    case 'finalized':
      return now - u(DAY, 80 * DAY);
    default:
      return now - u(3 * HOUR, 3 * DAY);
  }
}

interface Built {
  store: MarketStore;
  all: Market[];
  events: string[];
  series: string[];
  seriesOfEvent: Map<string, string>;
  now: number;
}

function build(n: number): Built {
  const r = rng(42);
  const now = Math.floor(Date.UTC(2026, 11, 1, 12) / 1000) * 1_000_000;
  const store = new MarketStore({ capacity: n });
  const events: string[] = [];
  const series: string[] = [];
  const seriesOfEvent = new Map<string, string>();
  const combos = Math.round(n * 0.1);
  let made = 0;
  for (let s = 0; made < n - combos; s++) {
    const sTicker = `KXSER${s}`;
    series.push(sTicker);
    const nEvents = 1 + Math.floor(r() * 60);
    for (let e = 0; e < nEvents && made < n - combos; e++) {
      const eTicker = `${sTicker}-26DEC${String(e).padStart(2, '0')}`;
      events.push(eTicker);
      seriesOfEvent.set(eTicker, sTicker);
      const k = Math.min(n - combos - made, 1 + Math.floor(r() * 10));
      for (let j = 0; j < k; j++) add(`${eTicker}-T${j}`, eTicker);
    }
  }
  for (let e = 0; made < n; e++) {
    const eTicker = `KXMVECROSSCATEGORY-S2026${e.toString(16).padStart(11, '0')}`;
    events.push(eTicker);
    seriesOfEvent.set(eTicker, 'KXMVECROSSCATEGORY');
    const k = Math.min(n - made, r() < 0.85 ? 1 : 2 + Math.floor(r() * 2));
    for (let j = 0; j < k; j++) add(`${eTicker}-${j.toString(16).padStart(11, '0')}`, eTicker);
  }
  for (const [e, s] of seriesOfEvent) store.setEvent({ eventTicker: e, seriesTicker: s, title: '', subTitle: '', mutuallyExclusive: false, updatedAt: now });
  const all: Market[] = [];
  for (const m of store.values()) all.push(store.get(m.ticker) as Market);
  return { store, all, events, series, seriesOfEvent, now };

  function add(ticker: string, eventTicker: string): void {
    const status = pickStatus(r());
    const closeTs = Math.floor(closeFor(status, now, r) / 1_000_000) * 1_000_000;
    // Plain numbers in the units of Market's fields (whatever their types are).
    const record = {
      ticker,
      eventTicker,
      title: `Will ${eventTicker} resolve yes?`,
      marketStatus: status,
      tradingStatus: TRADING_STATUS_BY_MARKET_STATUS[status],
      marketType: 'binary',
      result: '',
      yesBid: 4500,
      yesAsk: 4600,
      lastPrice: 4550,
      volume: 123_400,
      openTs: closeTs - 7 * DAY,
      closeTs,
      expirationTs: closeTs,
      updatedAt: now,
    };
    store.set(record as unknown as Market);
    made++;
  }
}

/** The brute-force answer: a filter over every Market. */
function scan(b: Built, q: MarketQuery): number {
  const statuses = q.status === undefined ? null : typeof q.status === 'string' ? [q.status] : q.status;
  let n = 0;
  for (const m of b.all) {
    if (statuses !== null && !statuses.includes(m.marketStatus)) continue;
    if (q.eventTicker !== undefined && m.eventTicker !== q.eventTicker) continue;
    if (q.seriesTicker !== undefined && b.seriesOfEvent.get(m.eventTicker) !== q.seriesTicker) continue;
    if (q.closesAfter !== undefined && !(m.closeTs >= q.closesAfter)) continue;
    if (q.closesBefore !== undefined && !(m.closeTs < q.closesBefore)) continue;
    n++;
  }
  return n;
}

function timeBatch(queries: readonly MarketQuery[], run: (q: MarketQuery) => number): { us: number; results: number[] } {
  const results: number[] = [];
  const t0 = process.hrtime.bigint();
  for (const q of queries) results.push(run(q));
  return { us: Number(process.hrtime.bigint() - t0) / 1000 / queries.length, results };
}

export async function runQueryBench(markets: number, reps: number): Promise<QueryBenchResult> {
  const t0 = performance.now();
  const b = build(markets);
  const buildMs = performance.now() - t0;
  const memBefore = await gcMemory();
  // The first query builds the event, series, close-time and combo indexes.
  const t1 = performance.now();
  b.store.getMarkets({ eventTicker: b.events[0] as string });
  const firstQueryMs = performance.now() - t1;
  const mem = await gcMemory();
  progress(
    `query bench: ${b.all.length} markets, ${b.events.length} events, ${b.series.length} series built in ${(buildMs / 1000).toFixed(1)} s; first query (builds the indexes) ${firstQueryMs.toFixed(0)} ms, +${((mem.total - memBefore.total) / b.all.length).toFixed(0)} B/market`,
  );
  const pick = <T>(xs: readonly T[], k: number): T[] => Array.from({ length: k }, (_, i) => xs[Math.floor(((i + 0.5) * xs.length) / k)] as T);
  const plainSeries = b.series.filter((s) => !s.startsWith('KXMVE'));
  const cases: { name: string; queries: MarketQuery[]; scanQueries: MarketQuery[] }[] = [
    {
      name: 'by event (eventTicker)',
      queries: pick(b.events, 2000).map((e) => ({ eventTicker: e })),
      scanQueries: pick(b.events, 5).map((e) => ({ eventTicker: e })),
    },
    {
      name: 'by series + status (seriesTicker, status active)',
      queries: pick(plainSeries, 500).map((s) => ({ seriesTicker: s, status: 'active' })),
      scanQueries: pick(plainSeries, 5).map((s) => ({ seriesTicker: s, status: 'active' })),
    },
    { name: 'by status (disputed, 0.5%)', queries: Array.from({ length: 20 }, () => ({ status: 'disputed' })), scanQueries: [{ status: 'disputed' }] },
    {
      name: 'closing in the next hour (closesAfter now, closesBefore now + 1 h)',
      queries: Array.from({ length: 500 }, (_, i) => ({ closesAfter: b.now + i * 60e6, closesBefore: b.now + i * 60e6 + HOUR })),
      scanQueries: Array.from({ length: 5 }, (_, i) => ({
        closesAfter: b.now + i * 100 * 60e6,
        closesBefore: b.now + i * 100 * 60e6 + HOUR,
      })),
    },
  ];
  const figures: QueryFigure[] = [];
  for (const c of cases) {
    // Same answers first (the scan is the definition).
    for (const q of c.scanQueries) {
      const got = b.store.getMarkets(q).length;
      const want = scan(b, q);
      if (got !== want) throw new Error(`${c.name}: getMarkets(${JSON.stringify(q)}) gave ${got} markets, the scan ${want}`);
    }
    const idx: number[] = [];
    const brute: number[] = [];
    let results: number[] = [];
    for (let rep = 0; rep < reps + 1; rep++) {
      const x = timeBatch(c.queries, (q) => b.store.getMarkets(q).length);
      const y = timeBatch(c.scanQueries, (q) => scan(b, q));
      if (rep === 0) continue; // warm-up pair (JIT)
      idx.push(x.us);
      brute.push(y.us);
      results = x.results;
    }
    const fig: QueryFigure = { name: c.name, results: median(results), index: spread(idx), scan: spread(brute), ratio: median(brute) / median(idx) };
    progress(
      `  ${fig.name}: ${fig.index.median.toFixed(1)} µs/query (${fig.results} markets) vs scan ${(fig.scan.median / 1000).toFixed(1)} ms: ${fig.ratio.toFixed(0)}x`,
    );
    figures.push(fig);
  }
  return {
    markets: b.all.length,
    reps,
    buildMs: Math.round(buildMs),
    bytesPerMarket: Math.round(mem.total / b.all.length),
    indexBytesPerMarket: Math.round((mem.total - memBefore.total) / b.all.length),
    firstQueryMs: Math.round(firstQueryMs),
    figures,
  };
}

/** The figures as rows of `npm run bench`'s results (bench/run.ts). */
export function queryRows(r: QueryBenchResult) {
  return r.figures.map((f, i) => ({
    name: `5${String.fromCharCode(97 + i)}. getMarkets ${f.name} (${r.markets.toLocaleString('en')} markets)`,
    unit: 'µs/query',
    registry: f.index,
    baseline: f.scan,
    ratio: f.ratio,
    ratioMeaning: 'scan / index',
    target: '≥ 10× faster than a scan',
    pass: f.ratio >= 10,
    margin: f.ratio / 10 - 1,
    notes: `${f.results} markets per answer; scan = filter over an array of every Market; the first query built the indexes in ${r.firstQueryMs} ms (+${r.indexBytesPerMarket} B/market)`,
  }));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = parseArgsOrExit(
    process.argv.slice(2),
    { markets: { kind: 'number', default: 1_000_000, min: 1000 }, reps: { kind: 'number', default: 5, min: 1 } },
    'micro-query',
  );
  finish(await runQueryBench(args.markets, args.reps));
}
