/**
 * Standalone visualizer demo: a simulated exchange, a registry on it and the visualizer page.
 *
 *   npx tsx visualizer/main.ts [--port P] [--markets N] [--events-per-sec N]
 *
 * Prints the page's URL; Ctrl-C stops. (`npm start` does the same and more: see src/cli.)
 */
import { parseArgs } from 'node:util';
import { once } from 'node:events';
import { createRegistry } from '../src/registry/create-registry.js';
import { createLogger } from '../src/log.js';
import { startSimExchange } from '../src/sim/index.js';
import { createActorTracker } from './inspection.js';
import { startVisualizer } from './server.js';

function int(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) {
    process.stderr.write(`visualizer: --${name} takes a whole number, got "${value}"\n`);
    process.exit(2);
  }
  return Number(value);
}

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    markets: { type: 'string' },
    'events-per-sec': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write('Usage: npx tsx visualizer/main.ts [--port P (default 0 = any free)] [--markets N (default 5000)] [--events-per-sec N (default 5)]\n');
  process.exit(0);
}
const port = int('port', values.port, 0);
const markets = int('markets', values.markets, 5000);
const eventsPerSecond = int('events-per-sec', values['events-per-sec'], 5);

const logger = createLogger('warn', 'visualizer');
const sim = await startSimExchange({ markets, logger });
const tracker = createActorTracker();
const registry = createRegistry({ restUrl: sim.restUrl, wsUrl: sim.wsUrl, rateLimit: 'unlimited', logger, inspect: tracker.inspect });
const visualizer = await startVisualizer({ registry, tracker, port, logger, expectedMarkets: () => sim.marketCount, exchangeLabel: 'simulator' });
process.stderr.write(`simulated exchange: ${sim.restUrl} (${sim.marketCount.toLocaleString('en-US')} markets)\n`);
process.stderr.write(`visualizer: ${visualizer.url}\n`);

const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());
registry.start(stop.signal);
registry.synced.then(
  () => {
    if (eventsPerSecond > 0 && !stop.signal.aborted) sim.startRandomLifecycle({ eventsPerSecond });
  },
  () => {},
);
await once(stop.signal, 'abort');
sim.stopRandomLifecycle();
await registry.stop();
await visualizer.close();
await sim.close();
