/**
 * `market-registry follow`: followRegistry (src/follow/follower.ts) as a command. It checks NATS
 * first (reachable within --connect-timeout, JetStream on), so a wrong URL is an answer in our
 * words instead of a retry loop, then follows: NDJSON changes under --json (the registry CLI's
 * lines), else a live frame on a terminal or a summary line every 10 s; lag in both.
 *
 * The follower itself retries forever (a NATS restart is a pause, not an error); only the start
 * is bounded, because a follower that never reached its server is almost always misconfigured.
 */
import { once } from 'node:events';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { followRegistry, type FollowerLag, type FollowerRegistry, type FollowerStats } from '../follow/follower.js';
import { DEFAULT_BUCKET, DEFAULT_STREAM, DEFAULT_SUBJECT_PREFIX } from '../publish/layout.js';
import { connectNats } from '../publish/nats-connect.js';
import { sleep } from '../publish/retry.js';
import type { MarketChange } from '../domain/types.js';
import type { FollowCliOptions } from './args.js';
import { ExitError } from './errors.js';
import { LiveScreen, fitLine, packSegments } from './live-view.js';
import { redactUrl } from './redact.js';
import { ChangeLines } from './change-lines.js';
import { createCliLogger, type JsonOut, type Stderr } from './run.js';
import type { StopSignals } from './signals.js';

/** Exit code: NATS did not answer within --connect-timeout. */
const EXIT_UNREACHABLE = 3;
/** Exit code: NATS answers but has no JetStream (retrying cannot fix it). */
const EXIT_NO_JETSTREAM = 4;
/** Summary lines without a terminal (as the registry CLI's "registry summary"). */
const SUMMARY_EVERY_MS = 10_000;
/** Changes the live frame lists. */
const RECENT = 5;

const n = (x: number): string => x.toLocaleString('en-US');

/** The servers, redacted, for messages. */
const shownUrl = (urls: string): string =>
  urls
    .split(',')
    .map((u) => redactUrl(u))
    .join(',');

function jetStreamMissing(err: unknown): boolean {
  const e = err as { name?: string; message?: string; code?: string | number };
  return /jetstream not enabled|jetstream is not enabled|no responders|503/i.test(`${e.name ?? ''} ${e.message ?? ''} ${String(e.code ?? '')}`);
}

/**
 * Reaches NATS within `timeoutMs` (retrying refused connections: a server starting beside us is
 * fine) and checks that JetStream answers. Returns whether the stream exists yet, or null when
 * stopped first. Throws ExitError 3 (unreachable) or 4 (no JetStream).
 */
async function preflight(cli: FollowCliOptions & { nats: string }, stop: AbortSignal): Promise<{ streamExists: boolean } | null> {
  const deadline = AbortSignal.timeout(cli.connectTimeout);
  const signal = AbortSignal.any([stop, deadline]);
  let lastError = 'no answer';
  let nc: NatsConnection | null = null;
  while (nc === null && !signal.aborted) {
    try {
      nc = await connectNats(cli.nats, 'market-registry follow (preflight)', signal);
    } catch (err) {
      lastError = (err as Error).message || String(err);
      await sleep(250, signal);
    }
  }
  if (stop.aborted) {
    await nc?.close();
    return null;
  }
  if (nc === null) {
    throw new ExitError(
      `cannot reach NATS at ${shownUrl(cli.nats)} within ${n(cli.connectTimeout)} ms (${lastError}); start nats-server with JetStream (nats-server -js), or check --nats`,
      EXIT_UNREACHABLE,
    );
  }
  try {
    const jsm = await jetstreamManager(nc, { timeout: Math.max(1000, Math.min(cli.connectTimeout, 5000)) });
    try {
      await jsm.streams.info(cli.stream ?? DEFAULT_STREAM);
      return { streamExists: true };
    } catch (err) {
      // Only "not found" means "not yet": anything else is JetStream failing to answer.
      if (jetStreamMissing(err) || !/not found/i.test(`${(err as Error).name} ${(err as Error).message}`)) throw err;
      return { streamExists: false };
    }
  } catch (err) {
    if (err instanceof ExitError) throw err;
    if (jetStreamMissing(err))
      throw new ExitError(
        `NATS at ${shownUrl(cli.nats)} has no JetStream (${(err as Error).message}); start it with JetStream on (nats-server -js)`,
        EXIT_NO_JETSTREAM,
      );
    throw new ExitError(`NATS at ${shownUrl(cli.nats)}: JetStream did not answer (${(err as Error).message})`, EXIT_UNREACHABLE);
  } finally {
    await nc.close().catch(() => {});
  }
}

/** "seq 1,234, caught up" / "seq 1,234, 12 pending, 3.2 s behind", led by "DISCONNECTED (retrying), " while NATS is away. */
export function renderLag(lag: FollowerLag): string {
  const where = lag.sequence === 0 ? 'no change yet' : `seq ${n(lag.sequence)}`;
  const behind = lag.pending === 0 ? 'caught up' : `${n(lag.pending)} pending, ${(lag.behindMs / 1000).toFixed(1)} s behind`;
  return `${lag.connected ? '' : 'DISCONNECTED (retrying), '}${where}, ${behind}`;
}

/** One change as the live frame lists it. */
function renderChange(change: MarketChange, at: number): string {
  const time = new Date(at).toISOString().slice(11, 19);
  const from = change.oldStatus === null ? 'new' : change.oldStatus;
  return `${time} ${change.eventType} ${change.ticker} ${from} → ${change.newStatus}`;
}

/** The lag once synced; before, what the follower is doing (it is not connected before its first connect). */
const lagText = (stats: FollowerStats, synced: boolean): string =>
  synced
    ? renderLag(stats.lag)
    : stats.registry?.synced === true
      ? 'syncing (reading the KV bucket and the stream)'
      : 'syncing (waiting for a registry on NATS to finish its initial sync)';

/** The live frame: where from, the state held, the change rate, the lag, the last changes. */
function renderFrame(source: string, stats: FollowerStats, synced: boolean, rate: number, recent: readonly string[], columns: number): string[] {
  const lines = packSegments(
    [
      `following ${source}`,
      `${n(stats.markets)} markets, ${n(stats.active)} active`,
      `${n(stats.changes)} changes (${n(Math.round(rate))}/s)`,
      `lag: ${lagText(stats, synced)}`,
    ],
    columns,
    { firstIndent: '' },
  );
  for (const line of recent) lines.push(fitLine(`  ${line}`, columns));
  return lines;
}

export async function runFollow(cli: FollowCliOptions, err: Stderr, stop: StopSignals, json: JsonOut): Promise<number> {
  const natsUrl = cli.nats;
  // parseFollowCli refuses a missing --nats unless --help, which main.ts answers before this.
  if (natsUrl === undefined) throw new ExitError('follow needs --nats nats://HOST:PORT', 2);
  const interactive = !cli.json && (process.stderr as { isTTY?: boolean }).isTTY === true;
  const logger = createCliLogger(cli.logLevel ?? (interactive ? 'warn' : 'info'), err, interactive, 'market-registry-follow');
  const human = (text: string) => {
    if (!cli.json) err.line(text);
  };
  const stream = cli.stream ?? DEFAULT_STREAM;
  const source = `${shownUrl(natsUrl)} (stream ${stream}, KV bucket ${cli.bucket ?? DEFAULT_BUCKET})`;

  const checked = await preflight({ ...cli, nats: natsUrl }, stop.signal);
  if (checked === null) return 0;
  if (!checked.streamExists)
    err.line(`market-registry follow: waiting for stream ${stream} on ${shownUrl(natsUrl)}: a registry started with --publish creates it`);

  const follower: FollowerRegistry = followRegistry({
    nats: { url: natsUrl },
    stream,
    subjectPrefix: cli.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX,
    bucket: cli.bucket ?? DEFAULT_BUCKET,
    ...(cli.name !== undefined ? { name: cli.name } : {}),
    logger,
  });

  // As in the registry CLI: the "synced" line comes after the changes the catch-up delivered.
  const tasks: Promise<unknown>[] = [];
  const changeLines = cli.json ? new ChangeLines(follower.subscribeChanges(), json) : null;
  if (changeLines) tasks.push(changeLines.finished);
  const recent: string[] = [];
  follower.onChange((change) => {
    changeLines?.countPublished();
    if (interactive) {
      recent.push(renderChange(change, Date.now()));
      if (recent.length > RECENT) recent.shift();
    }
  });

  follower.start();
  const stopped = stop.signal.aborted ? Promise.resolve(null) : once(stop.signal, 'abort').then(() => null);
  const screen = interactive ? new LiveScreen(process.stderr) : null;
  err.screen = screen;
  let lastChanges = 0;
  let lastAt = Date.now();
  let lastSummary = Date.now();
  let rate = 0;
  let isSynced = false;
  const draw = () => screen?.show((columns) => renderFrame(source, follower.stats(), isSynced, rate, recent, columns));
  draw();
  const view = setInterval(() => {
    const stats = follower.stats();
    const t = Date.now();
    rate = ((stats.changes - lastChanges) * 1000) / Math.max(1, t - lastAt);
    lastChanges = stats.changes;
    lastAt = t;
    if (screen) draw();
    else if (t - lastSummary >= SUMMARY_EVERY_MS) {
      lastSummary = t;
      if (cli.json) logger.info({ markets: stats.markets, active: stats.active, changes: stats.changes, lag: stats.lag }, 'follower summary');
      else err.line(`follower: ${n(stats.markets)} markets, ${n(stats.active)} active, ${n(stats.changes)} changes; lag: ${lagText(stats, isSynced)}`);
    }
  }, 1000);

  let failure: Error | null = null;
  const synced = await Promise.race([
    follower.synced.then(
      (s) => s,
      (e: unknown) => {
        failure = e instanceof Error ? e : new Error(String(e));
        return null;
      },
    ),
    stopped,
  ]);
  if (synced !== null && !stop.signal.aborted) {
    isSynced = true;
    const resumed = synced.resumed
      ? `resumed consumer ${follower.stats().consumer} at sequence ${n(synced.resumedFrom)}`
      : `from sequence ${n(synced.resumedFrom)}`;
    const line = `synced ${n(synced.markets)} markets from ${source} in ${(synced.ms / 1000).toFixed(1)} s (${resumed})`;
    if (screen) {
      screen.print(line);
      draw();
    } else human(line);
    if (cli.json) {
      await changeLines?.drained(stopped);
      await json.write({
        kind: 'synced',
        markets: synced.markets,
        active: follower.getActiveMarkets().length,
        ms: synced.ms,
        resumed: synced.resumed,
        resumedFrom: synced.resumedFrom,
        // The registry this state equals (as of its synced): on a bucket whose registry is gone, how old it is.
        registry: { instance: synced.registry.instance, markets: synced.registry.markets, syncedAt: synced.registry.syncedAt, warm: synced.registry.warm },
      });
    } else if (!interactive) logger.info({ markets: synced.markets, ms: synced.ms, resumed: synced.resumed, resumedFrom: synced.resumedFrom }, 'synced');
    await stopped;
  }
  clearInterval(view);
  screen?.commit();
  screen?.close();
  err.screen = null;
  logger.info({ reason: stop.reason }, 'stopping');
  await follower.stop();
  await Promise.allSettled(tasks);
  if (failure !== null && !stop.signal.aborted) throw new ExitError(`the follower failed: ${(failure as Error).message}`, 1);
  return 0;
}
