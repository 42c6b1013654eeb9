/**
 * The CLI's work once its flags are parsed: the simulator or the exchange, the registry, the
 * visualizer, the output (NDJSON or the live view), the graceful stop and the snapshot. main.ts
 * loads it only when there is work to do, so `--help`, `--version` and flag errors answer at
 * once, without loading the registry, the simulator or the visualizer.
 */
import { serveMetrics, type MetricsServer } from '../metrics/index.js';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { pino } from 'pino';
import { KalshiRestClient } from '../kalshi/rest-client.js';
import { loadCredentials, type KalshiCredentials } from '../kalshi/auth.js';
import { KALSHI_HOSTS } from '../kalshi/hosts.js';
import type { Logger, LogLevel } from '../log.js';
import { createRegistry, type MarketRegistry } from '../registry/create-registry.js';
import { StateDirError } from '../persist/errors.js';
import type { CliOptions } from './args.js';
import { ExitError } from './errors.js';
import { ChangeLines } from './change-lines.js';
import { LiveScreen, renderLiveSummary, renderSynced, renderSyncProgress } from './live-view.js';
import { redactSecrets, redactUrl } from './redact.js';
import type { StopSignals } from './signals.js';
import { checkSnapshotTarget, writeSnapshotAtomic } from './snapshot.js';
import { startSimExchange, type SimExchange } from '../sim/index.js';
import { DEFAULT_BUCKET, DEFAULT_STREAM, DEFAULT_SUBJECT_PREFIX } from '../publish/layout.js';
import { combineInspectors, createActorTracker } from '../../visualizer/inspection.js';
import { startVisualizer, type Visualizer } from '../../visualizer/server.js';
import { startStatelyInspection, type StatelyInspection } from '../../visualizer/stately.js';

/**
 * Everything the CLI writes to stderr: redacted (URL credentials, key material, signatures), and
 * printed above the live view when there is one.
 */
export class Stderr {
  secrets: string[] = [];
  screen: LiveScreen | null = null;
  /** Raw text (pino lines end with "\n"). */
  write(text: string): void {
    const safe = redactSecrets(text, this.secrets);
    if (this.screen) this.screen.print(safe);
    else process.stderr.write(safe);
  }
  line(text: string): void {
    this.write(`${text}\n`);
  }
}

/** Stdout for --json: one NDJSON line per call, waiting while the pipe is full; a no-op once it is closed. */
export class JsonOut {
  #closed = false;
  #waiting: Promise<void> | null = null;
  #release: (() => void) | null = null;

  get closed(): boolean {
    return this.#closed;
  }

  /** stdout failed (EPIPE: the reader went away): nothing more is written, nobody waits. */
  markClosed(): void {
    this.#closed = true;
    this.#release?.();
  }

  write(obj: unknown): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (process.stdout.write(`${JSON.stringify(obj)}\n`)) return Promise.resolve();
    this.#waiting ??= new Promise<void>((resolve) => {
      const done = () => {
        process.stdout.off('drain', done);
        this.#waiting = null;
        this.#release = null;
        resolve();
      };
      this.#release = done;
      process.stdout.on('drain', done);
    });
    return this.#waiting;
  }
}

/** The CLI's pino logger: redacted, through the live view when there is one, else straight to fd 2. */
export function createCliLogger(level: LogLevel, err: Stderr, interactive: boolean, name = 'market-registry'): Logger {
  const options = {
    name,
    level,
    base: { name },
    hooks: { streamWrite: (s: string) => redactSecrets(s, err.secrets) },
  };
  // With the live view, logs go through the screen (above the frame); otherwise straight to fd 2.
  return interactive ? pino(options, { write: (s: string) => err.write(s) }) : pino(options, pino.destination({ fd: 2, sync: false }));
}

/** The one-line, exit-2 error for a port given on the command line that cannot be listened on. */
function portError(flag: string, port: number, err: unknown): ExitError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'EADDRINUSE'
      ? 'is already in use; give another port (0 = any free one)'
      : code === 'EACCES'
        ? 'may not be listened on by this user (EACCES); give a port above 1023'
        : `cannot be listened on (${code ?? (err as Error).message})`;
  return new ExitError(`${flag} ${port}: 127.0.0.1:${port} ${why}`, 2);
}

/** Null when 127.0.0.1:port can be listened on now, else the error. */
function probePort(port: number): Promise<unknown> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', resolve);
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(null)));
  });
}

/** Explicit ports are checked before anything slow starts (a 1M-market simulator takes seconds). */
async function checkExplicitPorts(cli: CliOptions): Promise<void> {
  const ports: [string, number | null | undefined][] = [
    ['--sim-port', cli.useSimulator ? cli.simPort : undefined],
    ['--visualize', cli.visualizePortExplicit ? cli.visualizePort : undefined],
    ['--inspect', cli.inspectUrl === undefined ? cli.inspectPort : undefined],
    ['--metrics-port', cli.metricsPort],
  ];
  for (const [flag, port] of ports) {
    if (port === undefined || port === null || port === 0) continue;
    const err = await probePort(port);
    if (err) throw portError(flag, port, err);
  }
}

async function preflight(restUrl: string, credentials: KalshiCredentials | undefined, logger: Logger): Promise<void> {
  const client = new KalshiRestClient({ baseUrl: restUrl, logger, maxRetries: 1, timeoutMs: 10_000, ...(credentials ? { credentials } : {}) });
  try {
    await client.getExchangeStatus();
  } catch (err) {
    throw new ExitError(`Cannot reach the Kalshi REST API at ${redactUrl(restUrl)}: ${(err as Error).message}`, 3);
  } finally {
    await client.close();
  }
}

/** Starts the visualizer on the requested port; a taken default port falls back to any free one. */
async function openVisualizer(cli: CliOptions, start: (port: number) => Promise<Visualizer>): Promise<{ visualizer: Visualizer; note: string }> {
  const port = cli.visualizePort as number;
  try {
    return { visualizer: await start(port), note: '' };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (cli.visualizePortExplicit) throw portError('--visualize', port, err);
    if (code === 'EADDRINUSE' && port !== 0) {
      try {
        return { visualizer: await start(0), note: ` (port ${port} is in use)` };
      } catch (again) {
        throw new ExitError(`Cannot start the visualizer on any port of 127.0.0.1: ${(again as Error).message}`, 1);
      }
    }
    throw new ExitError(`Cannot start the visualizer on 127.0.0.1:${port}: ${(err as Error).message}`, 1);
  }
}

/**
 * createRegistry, with a state directory's problem (corrupt, foreign, locked, unwritable) as the
 * one-line exit-2 error naming the file: the user has to act on a file, retrying cannot help.
 */
function openRegistry(cli: CliOptions, options: Parameters<typeof createRegistry>[0]): MarketRegistry {
  try {
    return createRegistry(options);
  } catch (e) {
    if (!(e instanceof StateDirError)) throw e;
    const flag = cli.stateDirIsDefault ? ` (the default state directory for --env ${cli.env ?? ''}; give --state-dir DIR or --no-state-dir)` : '';
    throw new ExitError(`${e.message.replace(/\s*\n\s*/g, ' ')}${flag}`, 2);
  }
}

/** Closes what a failed start-up had already opened (the simulator, servers, the registry). */
const openedResources: (() => Promise<unknown>)[] = [];
function opened<T>(resource: T, close: (r: T) => Promise<unknown>): T {
  openedResources.push(() => close(resource));
  return resource;
}

export async function run(cli: CliOptions, err: Stderr, stop: StopSignals, json: JsonOut): Promise<number> {
  try {
    return await runOrThrow(cli, err, stop, json);
  } catch (e) {
    await Promise.allSettled(
      openedResources
        .splice(0)
        .reverse()
        .map((close) => close()),
    );
    throw e;
  }
}

async function runOrThrow(cli: CliOptions, err: Stderr, stop: StopSignals, json: JsonOut): Promise<number> {
  // @types/node says `isTTY: boolean`; on a pipe or file it is in fact undefined.
  const interactive = !cli.json && (process.stderr as { isTTY?: boolean }).isTTY === true;
  const logger = createCliLogger(cli.logLevel ?? (interactive ? 'warn' : 'info'), err, interactive);
  const human = (text: string) => {
    if (!cli.json) err.line(text);
  };

  if (cli.snapshotOut !== undefined) await checkSnapshotTarget(cli.snapshotOut);
  await checkExplicitPorts(cli);
  const credentials =
    cli.keyId && cli.privateKeyFile
      ? await loadCredentials(cli.keyId, cli.privateKeyFile, { onWarning: (message) => err.line(`market-registry: warning: ${message}`) })
      : undefined;

  let sim: SimExchange | null = null;
  let restUrl: string;
  let wsUrl: string | undefined;
  if (cli.useSimulator) {
    try {
      sim = opened(await startSimExchange({ markets: cli.simMarkets, logger, ...(cli.simPort !== undefined ? { port: cli.simPort } : {}) }), (r) => r.close());
    } catch (e) {
      if (cli.simPort !== undefined && cli.simPort !== 0 && typeof (e as NodeJS.ErrnoException).code === 'string')
        throw portError('--sim-port', cli.simPort, e);
      throw e;
    }
    restUrl = sim.restUrl;
    wsUrl = sim.wsUrl;
    logger.info({ restUrl, wsUrl, markets: sim.marketCount }, 'embedded simulator listening');
    human(`simulated exchange: ${restUrl} (${sim.marketCount.toLocaleString('en-US')} markets)`);
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
    try {
      stately = opened(await startStatelyInspection(cli.inspectUrl !== undefined ? { url: cli.inspectUrl } : { port: cli.inspectPort ?? 0 }), (r) => r.close());
    } catch (e) {
      if (cli.inspectPort) throw portError('--inspect', cli.inspectPort, e);
      throw e;
    }
    err.line(stately.instructions);
  }
  const inspect = combineInspectors(tracker?.inspect, stately?.inspect);

  const registry = opened(
    openRegistry(cli, {
      restUrl,
      ...(lifecycle === 'websocket' ? { wsUrl } : {}),
      lifecycle,
      logger,
      combos: cli.combos,
      ...(credentials ? { credentials } : {}),
      ...(sim ? { rateLimit: 'unlimited' as const } : {}),
      ...(cli.reconcileInterval !== undefined ? { reconcileIntervalMs: cli.reconcileInterval } : {}),
      ...(cli.statusInterval !== undefined ? { statusIntervalMs: cli.statusInterval } : {}),
      ...(inspect ? { inspect } : {}),
      ...(cli.stateDir !== null ? { stateDir: cli.stateDir } : {}),
      ...(cli.publish !== null ? { publish: cli.publish } : {}),
    }),
    (r) => r.stop(),
  );
  const persistence = registry.stats().persistence;
  if (persistence !== null) {
    const where = cli.stateDirIsDefault ? `${persistence.file} (default for --env ${cli.env ?? ''}; --no-state-dir for none)` : persistence.file;
    human(
      persistence.loaded > 0
        ? `state: warm start, ${persistence.loaded.toLocaleString('en-US')} markets loaded in ${persistence.loadMs.toLocaleString('en-US')} ms from ${where}; serving them while catching up`
        : `state: cold start, writing to ${where}`,
    );
  }
  if (cli.publish !== null) {
    const p = cli.publish;
    const servers = p.url
      .split(',')
      .map((u) => redactUrl(u))
      .join(',');
    human(
      `publishing: ${servers} (stream ${p.stream ?? DEFAULT_STREAM}, KV bucket ${p.bucket ?? DEFAULT_BUCKET}, subjects ${p.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX}.>)`,
    );
  }

  let visualizer: Visualizer | null = null;
  if (tracker) {
    const simRef = sim;
    const started = await openVisualizer(cli, (port) =>
      startVisualizer({
        registry,
        tracker,
        port,
        logger,
        exchangeLabel: simRef ? 'simulator' : (cli.env ?? redactUrl(restUrl)),
        ...(simRef ? { expectedMarkets: () => simRef.marketCount } : {}),
      }),
    );
    visualizer = opened(started.visualizer, (r) => r.close());
    // stderr, always: stdout stays pure NDJSON with --json.
    err.line(`visualizer: ${visualizer.url}${started.note}`);
  }

  let metrics: MetricsServer | null = null;
  if (cli.metricsPort !== undefined) {
    try {
      // Before start(): the change counters see the initial sync.
      metrics = opened(await serveMetrics(registry, { port: cli.metricsPort, logger }), (r) => r.close());
    } catch (e) {
      throw portError('--metrics-port', cli.metricsPort, e);
    }
    err.line(`metrics: ${metrics.url}metrics (also /healthz, /readyz)`);
  }

  const tasks: Promise<unknown>[] = [];
  // The "synced" line comes after the sync's changes (ChangeLines.drained).
  let changeLines: ChangeLines | null = null;
  if (cli.json) {
    const lines = new ChangeLines(registry.subscribeChanges(), json);
    changeLines = lines;
    registry.onChange(() => lines.countPublished());
    tasks.push(lines.finished);
    registry.onRejected((r) => void json.write({ kind: 'rejected', ...r }));
    let lastExchange = '';
    registry.summary.subscribe((snap) => {
      const ex = snap.context.exchange;
      const key = JSON.stringify(ex && { ...ex, observedAt: 0 });
      if (ex && key !== lastExchange) {
        lastExchange = key;
        void json.write({ kind: 'exchange_status', ...ex });
      }
    });
  }

  const startedAt = Date.now();
  registry.start(stop.signal);
  const totalForProgress = sim ? sim.marketCount : null;
  const screen = interactive ? new LiveScreen(process.stderr) : null;
  err.screen = screen;
  let view: NodeJS.Timeout | null = null;
  const drawProgress = (elapsedMs: number) =>
    screen?.show((columns) => [renderSyncProgress(registry.summary.getSnapshot().context, totalForProgress, elapsedMs, columns)]);
  if (screen) {
    drawProgress(0);
    view = setInterval(() => drawProgress(Date.now() - startedAt), 200);
  }

  const stopped = stop.signal.aborted ? Promise.resolve(null) : once(stop.signal, 'abort').then(() => null);
  // Against a real exchange, a sync that fails in a way retrying cannot fix (credentials refused,
  // a URL that does not answer Kalshi's JSON, a repeated cursor) ends the run after a few tries:
  // a service manager then shows the failure instead of a process retrying forever.
  // Set from the summary subscription below (`as`: so TypeScript does not narrow it to null here).
  let gaveUp = null as string | null;
  const givingUp = sim
    ? new Promise<null>(() => {})
    : new Promise<null>((resolve) => {
        const subscription = registry.summary.subscribe((snap) => {
          const sync = snap.context.sync;
          if (sync.state !== 'done' && sync.lastErrorPermanent && sync.attempts >= GIVE_UP_AFTER_ATTEMPTS) {
            gaveUp = sync.lastError ?? 'the initial sync failed';
            subscription.unsubscribe();
            resolve(null);
          }
        });
      });
  const synced = await Promise.race([
    registry.synced.then(
      (s) => s,
      () => null,
    ),
    stopped,
    givingUp,
  ]);
  if (synced && !stop.signal.aborted) {
    if (view) clearInterval(view);
    const quarantined = registry.summary.getSnapshot().context.sync.quarantined;
    if (screen) {
      screen.show((columns) => [renderSynced(synced.markets, synced.pages, synced.ms, quarantined, columns, synced)]);
      screen.commit();
    } else human(renderSynced(synced.markets, synced.pages, synced.ms, quarantined, Infinity, synced));
    if (cli.json) {
      const active = registry.getActiveMarkets().length;
      await changeLines?.drained(stopped);
      await json.write({ kind: 'synced', markets: synced.markets, active, ms: synced.ms, warm: synced.warm, loaded: synced.loaded });
    } else if (!interactive) logger.info({ markets: synced.markets, ms: synced.ms, warm: synced.warm, loaded: synced.loaded }, 'synced');
    if (sim && cli.simEventsPerSec > 0) sim.startRandomLifecycle({ eventsPerSecond: cli.simEventsPerSec });
    let lastChanges = registry.stats().counters.changes;
    let lastAt = Date.now();
    let lastLog = 0;
    let rate = 0;
    const drawSummary = () => screen?.show((columns) => renderLiveSummary(registry.summary.getSnapshot().context, registry.stats(), rate, columns));
    drawSummary();
    view = setInterval(() => {
      const stats = registry.stats();
      const t = Date.now();
      rate = ((stats.counters.changes - lastChanges) * 1000) / Math.max(1, t - lastAt);
      lastChanges = stats.counters.changes;
      lastAt = t;
      if (screen) drawSummary();
      else if (!cli.json && t - lastLog >= 10_000) {
        lastLog = t;
        logger.info(
          {
            markets: stats.markets,
            active: stats.active,
            changes: stats.counters.changes,
            rejected: stats.counters.rejected,
            phase: registry.summary.getSnapshot().context.phase,
            ...(stats.persistence ? { statePending: stats.persistence.writer.pendingMarkets, stateFailures: stats.persistence.writer.failures } : {}),
            ...(stats.publish ? { natsConnected: stats.publish.connected, natsPublished: stats.publish.published, natsBuffered: stats.publish.buffered } : {}),
          },
          'registry summary',
        );
      }
    }, 1000);
    await stopped;
  }
  if (view) clearInterval(view);
  logger.info({ reason: stop.reason }, 'stopping');
  // The last frame stays on screen; what follows is printed below it.
  screen?.commit();
  screen?.close();

  sim?.stopRandomLifecycle();
  await registry.stop();
  await Promise.allSettled(tasks);
  await visualizer?.close();
  await stately?.close();
  await metrics?.close();
  if (cli.snapshotOut !== undefined) {
    if (synced === null) {
      // Stopped before the initial sync finished: a partial market list must not replace a good one.
      logger.warn({ file: cli.snapshotOut }, 'snapshot not written: stopped before the initial sync finished');
      human(`snapshot: not written (stopped before the initial sync finished); ${cli.snapshotOut} is unchanged`);
    } else {
      const n = await writeSnapshotAtomic(registry.markets(), cli.snapshotOut);
      logger.info({ file: cli.snapshotOut, markets: n }, 'snapshot written');
      human(`snapshot: ${n.toLocaleString('en-US')} markets written to ${cli.snapshotOut}`);
    }
  }
  await sim?.close();
  openedResources.length = 0;
  if (gaveUp !== null) {
    err.line(`market-registry: giving up after ${GIVE_UP_AFTER_ATTEMPTS} failed syncs that retrying cannot fix: ${gaveUp}`);
    return EXIT_SYNC_FAILED;
  }
  return 0;
}

/** Failed initial syncs of a kind retrying cannot fix before the CLI gives up (exit 4). */
const GIVE_UP_AFTER_ATTEMPTS = 3;
/** Exit code: the exchange answers, but the sync cannot succeed as configured. */
const EXIT_SYNC_FAILED = 4;
