#!/usr/bin/env node
/**
 * market-registry CLI. With no flags: the embedded simulator plus the registry on it, with a
 * progress bar and a live summary. See `--help` and README.md.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { KalshiRestClient } from '../kalshi/rest-client.js';
import { loadCredentials, type KalshiCredentials } from '../kalshi/auth.js';
import { KALSHI_HOSTS } from '../kalshi/hosts.js';
import { createLogger, type Logger } from '../log.js';
import { RegistryError } from '../errors.js';
import { createRegistry, type MarketRegistry } from '../registry/create-registry.js';
import { parseCli, UsageError, USAGE, type CliOptions } from './args.js';
import { renderLiveSummary, renderSyncProgress } from './live-view.js';
import { startSimExchange, type SimExchange } from '../sim/index.js';
import { combineInspectors, createActorTracker } from '../../visualizer/inspection.js';
import { startVisualizer, type Visualizer } from '../../visualizer/server.js';
import { startStatelyInspection, type StatelyInspection } from '../../visualizer/stately.js';

class ExitError extends Error {
  constructor(message: string, readonly code: number) {
    super(message);
  }
}

/** Writes one NDJSON line to stdout, waiting when the pipe is full (backpressure, no loss). */
async function writeLine(obj: unknown): Promise<void> {
  if (!process.stdout.write(`${JSON.stringify(obj)}\n`)) await once(process.stdout, 'drain');
}

async function preflight(restUrl: string, credentials: KalshiCredentials | undefined, logger: Logger): Promise<void> {
  const client = new KalshiRestClient({ baseUrl: restUrl, logger, maxRetries: 1, timeoutMs: 10_000, ...(credentials ? { credentials } : {}) });
  try {
    await client.getExchangeStatus();
  } catch (err) {
    throw new ExitError(`Cannot reach the Kalshi REST API at ${restUrl}: ${(err as Error).message}`, 3);
  } finally {
    await client.close();
  }
}

async function writeSnapshot(registry: MarketRegistry, file: string): Promise<number> {
  const out: WriteStream = createWriteStream(file);
  let n = 0;
  for (const market of registry.markets()) {
    n++;
    if (!out.write(`${JSON.stringify(market)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return n;
}

/** Starts the visualizer on the requested port; a taken default port falls back to any free one. */
async function openVisualizer(cli: CliOptions, start: (port: number) => Promise<Visualizer>, logger: Logger): Promise<Visualizer> {
  const port = cli.visualizePort as number;
  try {
    return await start(port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' && !cli.visualizePortExplicit && port !== 0) {
      logger.info({ port }, 'visualizer port taken; using any free port');
      return start(0);
    }
    throw new ExitError(`Cannot start the visualizer on 127.0.0.1:${port}: ${(err as Error).message}`, 1);
  }
}

async function run(cli: CliOptions): Promise<number> {
  const interactive = !cli.json && process.stderr.isTTY === true;
  const logger = createLogger(cli.logLevel ?? (interactive ? 'warn' : 'info'));
  const credentials = cli.keyId && cli.privateKeyFile ? await loadCredentials(cli.keyId, cli.privateKeyFile) : undefined;

  let sim: SimExchange | null = null;
  let restUrl: string;
  let wsUrl: string | undefined;
  if (cli.useSimulator) {
    sim = await startSimExchange({ markets: cli.simMarkets, logger, ...(cli.simPort !== undefined ? { port: cli.simPort } : {}) });
    restUrl = sim.restUrl;
    wsUrl = sim.wsUrl;
    logger.info({ restUrl, wsUrl, markets: sim.marketCount }, 'embedded simulator listening');
    if (!cli.json) process.stderr.write(`simulated exchange: ${restUrl} (${sim.marketCount.toLocaleString('en-US')} markets)\n`);
  } else {
    restUrl = cli.restUrl ?? KALSHI_HOSTS[cli.env as 'prod' | 'demo'].rest;
    wsUrl = cli.wsUrl ?? (cli.env ? KALSHI_HOSTS[cli.env].ws : undefined);
    await preflight(restUrl, credentials, logger);
  }
  const lifecycle = cli.noWs || wsUrl === undefined ? 'none' : 'websocket';

  // Inspection: the visualizer's throttled actor tracker and/or the Stately inspector.
  const tracker = cli.visualizePort !== null ? createActorTracker() : null;
  let stately: StatelyInspection | null = null;
  if (cli.inspectPort !== null || cli.inspectUrl !== undefined) {
    stately = await startStatelyInspection(cli.inspectUrl !== undefined ? { url: cli.inspectUrl } : { port: cli.inspectPort ?? 0 });
    process.stderr.write(`${stately.instructions}\n`);
  }
  const inspect = combineInspectors(tracker?.inspect, stately?.inspect);

  const registry = createRegistry({
    restUrl,
    ...(lifecycle === 'websocket' ? { wsUrl } : {}),
    lifecycle,
    logger,
    ...(credentials ? { credentials } : {}),
    ...(sim ? { rateLimit: 'unlimited' as const } : {}),
    ...(cli.reconcileInterval !== undefined ? { reconcileIntervalMs: cli.reconcileInterval } : {}),
    ...(cli.statusInterval !== undefined ? { statusIntervalMs: cli.statusInterval } : {}),
    ...(inspect ? { inspect } : {}),
  });

  let visualizer: Visualizer | null = null;
  if (tracker) {
    const simRef = sim;
    visualizer = await openVisualizer(
      cli,
      (port) =>
        startVisualizer({
          registry,
          tracker,
          port,
          logger,
          exchangeLabel: simRef ? 'simulator' : (cli.env ?? restUrl),
          ...(simRef ? { expectedMarkets: () => simRef.marketCount } : {}),
        }),
      logger,
    );
    // stderr, always: stdout stays pure NDJSON with --json.
    process.stderr.write(`visualizer: ${visualizer.url}\n`);
  }

  const stopController = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    logger.info({ signal: sig }, 'stopping');
    stopController.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const tasks: Promise<unknown>[] = [];
  if (cli.json) {
    const subscription = registry.subscribeChanges();
    tasks.push(
      (async () => {
        for await (const change of subscription) await writeLine({ kind: 'change', ...change });
      })(),
    );
    registry.onRejected((r) => void writeLine({ kind: 'rejected', ...r }));
    let lastExchange = '';
    registry.summary.subscribe((snap) => {
      const ex = snap.context.exchange;
      const key = JSON.stringify(ex && { ...ex, observedAt: 0 });
      if (ex && key !== lastExchange) {
        lastExchange = key;
        void writeLine({ kind: 'exchange_status', ...ex });
      }
    });
  }

  const startedAt = Date.now();
  registry.start(stopController.signal);
  const totalForProgress = sim ? sim.marketCount : null;
  let view: NodeJS.Timeout | null = null;
  let lastLines = 0;
  const redraw = (lines: string[]) => {
    if (!interactive) return;
    process.stderr.write(`${lastLines > 0 ? `\x1b[${lastLines}F\x1b[J` : ''}${lines.join('\n')}\n`);
    lastLines = lines.length;
  };
  if (interactive) view = setInterval(() => redraw([renderSyncProgress(registry.summary.getSnapshot().context, totalForProgress, Date.now() - startedAt)]), 200);

  const synced = await Promise.race([registry.synced.then((s) => s, () => null), once(stopController.signal, 'abort').then(() => null)]);
  if (synced) {
    if (view) clearInterval(view);
    redraw([renderSyncProgress(registry.summary.getSnapshot().context, totalForProgress, synced.ms)]);
    lastLines = 0;
    if (cli.json) await writeLine({ kind: 'synced', markets: synced.markets, active: registry.getActiveMarkets().length, ms: synced.ms });
    else if (!interactive) logger.info({ markets: synced.markets, ms: synced.ms }, 'synced');
    if (sim && cli.simEventsPerSec > 0) sim.startRandomLifecycle({ eventsPerSecond: cli.simEventsPerSec });
    let lastChanges = registry.stats().counters.changes;
    let lastAt = Date.now();
    let lastLog = 0;
    view = setInterval(() => {
      const stats = registry.stats();
      const t = Date.now();
      const rate = ((stats.counters.changes - lastChanges) * 1000) / Math.max(1, t - lastAt);
      lastChanges = stats.counters.changes;
      lastAt = t;
      if (interactive) redraw(renderLiveSummary(registry.summary.getSnapshot().context, stats, rate));
      else if (!cli.json && t - lastLog >= 10_000) {
        lastLog = t;
        logger.info({ markets: stats.markets, active: stats.active, changes: stats.counters.changes, rejected: stats.counters.rejected, phase: registry.summary.getSnapshot().context.phase }, 'registry summary');
      }
    }, 1000);
    await once(stopController.signal, 'abort');
  }
  if (view) clearInterval(view);

  sim?.stopRandomLifecycle();
  await registry.stop();
  await Promise.allSettled(tasks);
  await visualizer?.close();
  await stately?.close();
  if (cli.snapshotOut) {
    const n = await writeSnapshot(registry, cli.snapshotOut);
    logger.info({ file: cli.snapshotOut, markets: n }, 'snapshot written');
  }
  await sim?.close();
  return 0;
}

async function main(): Promise<void> {
  let cli: CliOptions;
  try {
    cli = parseCli(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`market-registry: ${(err as Error).message}\n`);
    process.exit(2);
  }
  if (cli.help) {
    process.stdout.write(USAGE);
    return;
  }
  try {
    process.exitCode = await run(cli);
  } catch (err) {
    const known = err instanceof ExitError || err instanceof RegistryError || err instanceof UsageError;
    process.stderr.write(`market-registry: ${known ? (err as Error).message : (err as Error).stack}\n`);
    process.exitCode = err instanceof ExitError ? err.code : 1;
  }
  // Sockets and timers are closed by now; anything left (a stuck handshake) must not hang the exit.
  setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
}

void main();
