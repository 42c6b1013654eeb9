#!/usr/bin/env node
/**
 * market-registry CLI. With no flags: the embedded simulator plus the registry on it, with a
 * progress bar and a live summary. `market-registry follow --nats URL` follows a registry that
 * publishes on NATS (follow.ts). See `--help` and README.md.
 *
 * What it promises its user: stdout carries only NDJSON under --json, and a closed stdout
 * (`| head`) ends it quietly with exit 0; every argument or port problem is one line and exit 2;
 * SIGINT/SIGTERM stop gracefully (see signals.ts); the snapshot file is never left truncated
 * (see snapshot.ts); no secret (key material, URL credentials, signatures) appears in anything
 * it prints (see redact.ts). The work itself is in run.ts, loaded only when there is work.
 */
import { RegistryError } from '../errors.js';
import { FOLLOW_USAGE, parseCommand, UsageError, USAGE, type CliCommand, type CliOptions, type FollowCliOptions } from './args.js';
import { ExitError } from './errors.js';
import { redactSecrets, urlSecrets } from './redact.js';
import { installStopSignals } from './signals.js';
import { removeTempFilesSync, SnapshotTargetError } from './snapshot.js';
import { packageVersion } from './version.js';

async function main(): Promise<void> {
  // stderr closed too (`2>&-`, a dead pipe): nothing to report it on; never crash on it.
  process.stderr.on('error', () => {});
  let command: CliCommand;
  try {
    command = parseCommand(process.argv.slice(2), process.env);
  } catch (e) {
    process.stderr.write(`market-registry: ${redactSecrets((e as Error).message)}\n`);
    process.exit(2);
  }
  if (command.command === 'follow') return follow(command.options);
  const cli: CliOptions = command.options;
  if (cli.help || cli.version) {
    process.stdout.on('error', () => {});
    process.stdout.write(cli.help ? USAGE : `${packageVersion()}\n`);
    return;
  }

  const { run, Stderr, JsonOut } = await import('./run.js');
  const err = new Stderr();
  err.secrets = [...urlSecrets(cli.restUrl), ...urlSecrets(cli.wsUrl), ...urlSecrets(cli.inspectUrl), ...natsSecrets(cli.publish?.url)];
  const json = new JsonOut();
  const stop = installStopSignals({
    onStop: (reason) => {
      if (reason !== 'stdout closed' && !cli.json && process.stderr.isTTY) err.line('stopping…');
    },
    onWait: () => err.line('market-registry: stopping, please wait (a third signal forces exit)'),
    onForce: (signal, code) => {
      removeTempFilesSync();
      process.stderr.write(`market-registry: forced exit on a third ${signal} (exit ${code})${cli.snapshotOut ? '; snapshot not written' : ''}\n`);
    },
  });
  // A closed stdout (`--json | head -3`) is a request to stop, not a crash.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    json.markClosed();
    stop.request('stdout closed');
    if (e.code !== 'EPIPE') err.line(`market-registry: stdout failed (${e.code ?? e.message}); stopping`);
  });

  try {
    process.exitCode = await run(cli, err, stop, json);
  } catch (e) {
    const known = e instanceof ExitError || e instanceof RegistryError || e instanceof UsageError || e instanceof SnapshotTargetError;
    err.screen = null;
    err.line(`market-registry: ${known ? (e as Error).message : ((e as Error).stack ?? String(e))}`);
    process.exitCode = e instanceof ExitError ? e.code : e instanceof SnapshotTargetError ? 2 : 1;
  }
  // Sockets and timers are closed by now; anything left (a stuck handshake) must not hang the exit.
  setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
}

/** The secrets of a NATS URL list (each of a cluster's URLs may carry user-info or a token). */
const natsSecrets = (urls: string | undefined): string[] => (urls === undefined ? [] : urls.split(',').flatMap((u) => urlSecrets(u)));

/** `market-registry follow …`: same output, signal and error conventions as the registry. */
async function follow(cli: FollowCliOptions): Promise<void> {
  if (cli.help) {
    process.stdout.on('error', () => {});
    process.stdout.write(FOLLOW_USAGE);
    return;
  }
  const [{ Stderr, JsonOut }, { runFollow }] = await Promise.all([import('./run.js'), import('./follow.js')]);
  const err = new Stderr();
  err.secrets = natsSecrets(cli.nats);
  const json = new JsonOut();
  const stop = installStopSignals({
    onStop: (reason) => {
      if (reason !== 'stdout closed' && !cli.json && process.stderr.isTTY) err.line('stopping…');
    },
    onWait: () => err.line('market-registry follow: stopping, please wait (a third signal forces exit)'),
    onForce: (signal, code) => process.stderr.write(`market-registry follow: forced exit on a third ${signal} (exit ${code})\n`),
  });
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    json.markClosed();
    stop.request('stdout closed');
    if (e.code !== 'EPIPE') err.line(`market-registry follow: stdout failed (${e.code ?? e.message}); stopping`);
  });
  try {
    process.exitCode = await runFollow(cli, err, stop, json);
  } catch (e) {
    const known = e instanceof ExitError || e instanceof RegistryError;
    err.screen = null;
    err.line(`market-registry follow: ${known ? (e as Error).message : ((e as Error).stack ?? String(e))}`);
    process.exitCode = e instanceof ExitError ? e.code : 1;
  }
  setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
}

void main();
