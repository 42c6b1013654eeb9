/**
 * Standalone sim runner (the benchmark runs the sim in its own process to use the second core):
 *   tsx src/sim/main.ts --markets 1000000 --port 0 --seed 1 --random-events-per-sec 20 [--combo-share 0.1]
 * Prints one JSON line {"restUrl","wsUrl","port"} on stdout once listening; logs go to stderr.
 * Stops cleanly on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../log.js';
import { startSimExchange } from './server.js';

function num(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) {
    process.stderr.write(`--${name} must be a number, got ${JSON.stringify(v)}\n`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      markets: { type: 'string' },
      port: { type: 'string' },
      seed: { type: 'string' },
      'random-events-per-sec': { type: 'string' },
      'ping-interval-ms': { type: 'string' },
      'not-found-after-create-ms': { type: 'string' },
      'combo-share': { type: 'string' },
      gzip: { type: 'boolean' },
      'log-level': { type: 'string' },
    },
    strict: true,
  });
  const logger = createLogger((values['log-level'] as 'info' | undefined) ?? 'info', 'kalshi-sim');
  const sim = await startSimExchange({
    markets: num('markets', values.markets, 1000),
    port: num('port', values.port, 0),
    seed: num('seed', values.seed, 1),
    pingIntervalMs: num('ping-interval-ms', values['ping-interval-ms'], 10_000),
    notFoundAfterCreateMs: num('not-found-after-create-ms', values['not-found-after-create-ms'], 0),
    comboShare: num('combo-share', values['combo-share'], 0.1),
    gzip: values.gzip ?? false,
    logger,
  });
  const eps = num('random-events-per-sec', values['random-events-per-sec'], 0);
  if (eps > 0) sim.startRandomLifecycle({ eventsPerSecond: eps });
  process.stdout.write(JSON.stringify({ restUrl: sim.restUrl, wsUrl: sim.wsUrl, port: sim.port }) + '\n');
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'sim exchange stopping');
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`sim failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
