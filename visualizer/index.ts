/**
 * `kalshi-market-registry/visualizer`: the live statechart page for your own registry.
 *
 * ```ts
 * import { createRegistry } from 'kalshi-market-registry';
 * import { createActorTracker, startVisualizer } from 'kalshi-market-registry/visualizer';
 * const tracker = createActorTracker();
 * const registry = createRegistry({ env: 'prod', inspect: tracker.inspect });
 * registry.start();
 * const page = await startVisualizer({ registry, tracker, port: 8420 });
 * console.log(page.url);
 * ```
 */
export { startVisualizer, type Visualizer, type VisualizerOptions } from './server.js';
export { createActorTracker, type ActorTracker } from './inspection.js';
export { MACHINES, type MachineEntry } from './graph.js';
