/**
 * The NATS fan-out, measured against a real nats-server with JetStream (started like
 * test/publish does: 127.0.0.1, a random port, a temporary store; not part of `npm test`):
 *
 *   npx tsx bench/nats.ts [--markets 20000] [--frames 200000] [--runs 3] [--lag-changes 400]
 *
 *  1. throughput: F lifecycle frames (deactivated/activated over M active markets, every frame a
 *     change) through the lifecycle handler, in socket-sized chunks with event-loop turns between,
 *     with `publish` (until every change is acked by JetStream and its KV record written) and
 *     without. Off and on runs interleave, each in a fresh process, each "on" run on a fresh server.
 *  2. follower lag: a follower (followRegistry, in a second process) on the same server; the
 *     registry makes one change every `--lag-every-ms`, and the follower reports when it sees each
 *     one: lag = time from the change in the registry to the follower's onChange (both stamped
 *     with Date.now() on one machine, so one clock). Median and p99 over the changes.
 * Results go to bench/results-nats.json, and as `nats` into bench/results-durable.json when it exists.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChangeStream } from '../src/registry/change-stream.js';
import { FrameQueue } from '../src/kalshi/frame-queue.js';
import { followRegistry } from '../src/follow/follower.js';
import { silentLogger } from '../src/log.js';
import { createDurable } from '../src/persist/durable.js';
import { DEFAULT_BUCKET, DEFAULT_STREAM, DEFAULT_SUBJECT_PREFIX } from '../src/publish/layout.js';
import { RegistryCore } from '../src/registry/core.js';
import { LifecycleHandler } from '../src/registry/lifecycle-handler.js';
import { MarketStore } from '../src/store/market-store.js';
import type { CountE2, Market, PriceE4 } from '../src/domain/types.js';
import { natsServer } from '../test/publish/nats-server.js';
import { finish, fmtNum, median, parseArgs, runWorker, startChild, until } from './lib.js';

const SELF = fileURLToPath(import.meta.url);
const args = parseArgs(process.argv.slice(2), {
  markets: { kind: 'number', default: 20_000 },
  frames: { kind: 'number', default: 200_000 },
  runs: { kind: 'number', default: 3 },
  'lag-changes': { kind: 'number', default: 400 },
  'lag-every-ms': { kind: 'number', default: 10 },
  phase: { kind: 'string', default: '' },
  url: { kind: 'string', default: '' },
  publish: { kind: 'string', default: 'on' },
});

function activeMarket(i: number, now: number): Market {
  return {
    ticker: `KXBENCH-26NOV24-T${i}.5`,
    eventTicker: `KXBENCH-26NOV24-E${i >> 3}`,
    title: `Bench market ${i}`,
    marketStatus: 'active',
    tradingStatus: 'open',
    marketType: 'binary',
    result: '',
    yesBid: 4900 as PriceE4,
    yesAsk: 5100 as PriceE4,
    lastPrice: 5000 as PriceE4,
    volume: 1000_00 as CountE2,
    openTs: now - 3_600_000_000,
    closeTs: now + 86_400_000_000,
    expirationTs: now + 90_000_000_000,
    updatedAt: now - 1_000_000,
  };
}

/** A registry data plane (store, core, lifecycle handler) with M active markets, publishing to `url` if given. */
function registryPlane(markets: number, url: string | null) {
  const store = new MarketStore();
  const changes = new ChangeStream(1000);
  const now = () => Date.now() * 1000;
  const core = new RegistryCore({ store, changes, now, logger: silentLogger });
  const t = now();
  for (let i = 0; i < markets; i++) store.set(activeMarket(i, t));
  const durable =
    url === null
      ? null
      : createDurable(
          { stateFlushMs: 100, exchange: 'custom', publish: { url, stream: DEFAULT_STREAM, subjectPrefix: DEFAULT_SUBJECT_PREFIX, bucket: DEFAULT_BUCKET } },
          { store, changes, core, logger: silentLogger, now },
        );
  durable?.start(() => null);
  const handler = new LifecycleHandler({ core, logger: silentLogger, onLossSuspected: () => {} });
  const queue = new FrameQueue(Number.POSITIVE_INFINITY);
  queue.push('{"type":"subscribed","id":1,"msg":{"channel":"market_lifecycle_v2","sid":1}}');
  const consumed = handler.consume(queue);
  let seq = 0;
  const frame = (i: number, deactivate: boolean) =>
    `{"type":"market_lifecycle_v2","sid":1,"seq":${++seq},"msg":{"market_ticker":"KXBENCH-26NOV24-T${i}.5","event_type":"${deactivate ? 'deactivated' : 'activated'}","is_deactivated":${deactivate}}}`;
  return { store, changes, durable, queue, consumed, frame };
}

async function phaseThroughput(url: string | null): Promise<void> {
  const M = args.markets;
  const plane = registryPlane(M, url);
  if (plane.durable !== null) await until(() => plane.durable?.publishStats()?.stage === 'publishing', 'the publisher to be ready', 60_000);
  const rounds = Math.max(2, 2 * Math.round(args.frames / (2 * M)));
  const frames: string[] = [];
  for (let r = 0; r < rounds; r++) for (let i = 0; i < M; i++) frames.push(plane.frame(i, r % 2 === 0));
  global.gc?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < frames.length; i += 2000) {
    for (let k = i; k < Math.min(frames.length, i + 2000); k++) plane.queue.push(frames[k] as string);
    // Frames arrive as socket reads do; a blocked change stream (NATS behind) holds the handler back.
    await new Promise((r) => setImmediate(r));
    while (plane.queue.queued > 20_000) await new Promise((r) => setTimeout(r, 1));
  }
  plane.queue.end();
  await plane.consumed;
  const processed = performance.now() - t0;
  if (plane.durable !== null) await plane.durable.beforeShutdown();
  const done = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const stats = plane.durable?.publishStats() ?? null;
  await plane.durable?.close();
  finish({
    frames: frames.length,
    changes: plane.changes.published,
    published: stats?.published ?? 0,
    kvPuts: stats?.kvPuts ?? 0,
    failures: stats?.failures ?? 0,
    processedMs: processed,
    doneMs: done,
    cpuMs: (cpu.user + cpu.system) / 1000,
  });
}

/** The follower's side of the lag phase: prints when it saw each change (ticker → epoch ms). */
async function phaseFollower(url: string): Promise<void> {
  const f = followRegistry({ nats: { url } });
  f.start();
  await f.synced;
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
  f.onChange((c) => {
    process.stdout.write(JSON.stringify({ ticker: c.ticker, status: c.market?.marketStatus ?? '', at: Date.now() }) + '\n');
  });
  // Runs until the parent kills it.
  await new Promise(() => {});
}

async function phaseLag(url: string): Promise<void> {
  const M = args.markets;
  const plane = registryPlane(M, url);
  if (plane.durable === null) throw new Error('lag needs a server');
  await until(() => plane.durable?.publishStats()?.stage === 'publishing', 'the publisher to be ready', 60_000);
  // A follower's synced waits for the registry's synced announcement (`_registry`); this plane has no initial sync.
  plane.durable.registrySynced({ markets: M, warm: false });
  const follower = await startChild<{ ready: boolean }>(SELF, ['--phase', 'follower', '--url', url]);
  const seen = new Map<string, number>();
  void (async () => {
    for await (const line of follower.lines) {
      const m = JSON.parse(line) as { ticker: string; status: string; at: number };
      seen.set(`${m.ticker}/${m.status}`, m.at);
    }
  })();
  const sent = new Map<string, number>();
  const n = args['lag-changes'];
  for (let i = 0; i < n; i++) {
    // Each change on its own market: deactivated (active → inactive).
    sent.set(`KXBENCH-26NOV24-T${i}.5/inactive`, Date.now());
    plane.queue.push(plane.frame(i, true));
    await new Promise((r) => setTimeout(r, args['lag-every-ms']));
  }
  await until(() => seen.size >= n, 'the follower to see every change', 60_000);
  const lags = [...sent].map(([k, at]) => (seen.get(k) as number) - at).sort((a, b) => a - b);
  await follower.kill();
  plane.queue.end();
  await plane.consumed;
  await plane.durable.close();
  finish({ changes: n, medianMs: median(lags), p99Ms: lags[Math.floor(lags.length * 0.99)] as number, maxMs: lags[lags.length - 1] as number });
}

async function orchestrate(): Promise<void> {
  const nodeArgs = ['--expose-gc', '--max-old-space-size=4096'];
  const common = ['--markets', String(args.markets), '--frames', String(args.frames)];
  const runs: { off: Record<string, number>[]; on: Record<string, number>[] } = { off: [], on: [] };
  for (let r = 0; r < args.runs; r++) {
    for (const mode of ['off', 'on'] as const) {
      process.stderr.write(`throughput ${mode} ${r + 1}/${args.runs}…\n`);
      if (mode === 'off') {
        runs.off.push(await runWorker(SELF, ['--phase', 'throughput', '--publish', 'off', ...common], nodeArgs));
        continue;
      }
      const server = await natsServer();
      try {
        await server.start();
        runs.on.push(await runWorker(SELF, ['--phase', 'throughput', '--url', server.url, ...common], nodeArgs));
      } finally {
        await server.close();
      }
    }
  }
  const lag: Record<string, number>[] = [];
  for (let r = 0; r < args.runs; r++) {
    process.stderr.write(`follower lag ${r + 1}/${args.runs}…\n`);
    const server = await natsServer();
    try {
      await server.start();
      lag.push(
        await runWorker(
          SELF,
          ['--phase', 'lag', '--url', server.url, ...common, '--lag-changes', String(args['lag-changes']), '--lag-every-ms', String(args['lag-every-ms'])],
          nodeArgs,
        ),
      );
    } finally {
      await server.close();
    }
  }
  const offRate = runs.off.map((x) => ((x.changes as number) / (x.processedMs as number)) * 1000);
  const onRate = runs.on.map((x) => ((x.published as number) / (x.doneMs as number)) * 1000);
  const result = {
    markets: args.markets,
    throughput: {
      off: runs.off,
      on: runs.on,
      changesPerSecOff: median(offRate),
      changesPerSecOn: median(onRate),
      cost: 1 - median(onRate) / median(offRate),
      cpuUsPerChangeOff: median(runs.off.map((x) => ((x.cpuMs as number) * 1000) / (x.changes as number))),
      cpuUsPerChangeOn: median(runs.on.map((x) => ((x.cpuMs as number) * 1000) / (x.changes as number))),
    },
    lag: { runs: lag, medianMs: median(lag.map((x) => x.medianMs as number)), p99Ms: median(lag.map((x) => x.p99Ms as number)) },
  };
  writeFileSync(path.join(path.dirname(SELF), 'results-nats.json'), JSON.stringify(result, null, 2) + '\n');
  // Also beside the state directory's figures (bench/durable.ts), as the `nats` row of its results.
  const durableFile = path.join(path.dirname(SELF), 'results-durable.json');
  if (existsSync(durableFile)) {
    const durable = JSON.parse(readFileSync(durableFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(durableFile, JSON.stringify({ ...durable, nats: result }, null, 2) + '\n');
  }
  process.stdout.write(
    [
      `publish: ${fmtNum(result.throughput.changesPerSecOff)} changes/s without, ${fmtNum(result.throughput.changesPerSecOn)} with publish (until acked, stream + KV), median of ${args.runs}: cost ${fmtNum(result.throughput.cost * 100, 1)} %; CPU ${fmtNum(result.throughput.cpuUsPerChangeOff, 2)} vs ${fmtNum(result.throughput.cpuUsPerChangeOn, 2)} µs per change (this process)`,
      `follower lag: median ${fmtNum(result.lag.medianMs, 1)} ms, p99 ${fmtNum(result.lag.p99Ms, 1)} ms (one change every ${args['lag-every-ms']} ms, ${args['lag-changes']} changes, median of ${args.runs} runs)`,
    ].join('\n') + '\n',
  );
}

if (args.phase === 'throughput') await phaseThroughput(args.publish === 'off' ? null : args.url);
else if (args.phase === 'follower') await phaseFollower(args.url);
else if (args.phase === 'lag') await phaseLag(args.url);
else await orchestrate();
