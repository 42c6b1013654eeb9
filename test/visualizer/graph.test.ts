/**
 * Graph extraction (machine → nodes/edges), layout, the JSON export, the throttled actor tracker
 * and the CLI flags of the visualizer. No browser here: see visualizer.test.ts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assign, createActor, setup, type AnyStateMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import { marketLifecycleMachine } from '../../machines/market-lifecycle.js';
import { periodicTaskMachine } from '../../machines/periodic-task.js';
import { registryMachine } from '../../machines/registry.js';
import { DEFAULT_VISUALIZER_PORT, parseCli } from '../../src/cli/args.js';
import { machineJson } from '../../visualizer/export.js';
import { MACHINES, machineToGraph } from '../../visualizer/graph.js';
import { MAX_CONTEXT_FIELDS, MAX_CONTEXT_STRING, combineInspectors, contextFields, createActorTracker, statePaths } from '../../visualizer/inspection.js';
import { layoutChart } from '../../visualizer/layout.js';
import { buildCharts } from '../../visualizer/server.js';
import { connectionStandIn } from './stand-in-machine.js';

/**
 * The machine's definition, read independently of the extractor: states and event transitions
 * from XState's `toJSON()`, eventless (`always`) transitions from the original config (toJSON
 * leaves them out). Every transition as "source|eventType|target" (target '' when targetless).
 */
interface DefNode {
  id: string;
  states: Record<string, DefNode>;
  transitions: { eventType: string; target?: string[] }[];
}
type Always = string | { target?: string } | (string | { target?: string })[] | undefined;
interface ConfigNode {
  always?: Always;
  states?: Record<string, ConfigNode>;
}
function fromDefinition(machine: AnyStateMachine): { states: string[]; transitions: string[] } {
  const states: string[] = [];
  const transitions: string[] = [];
  const visit = (node: DefNode, config: ConfigNode) => {
    states.push(node.id);
    for (const t of node.transitions) {
      const targets = t.target && t.target.length > 0 ? t.target.map((x) => x.replace(/^#/, '')) : [''];
      for (const target of targets) transitions.push(`${node.id}|${t.eventType}|${target}`);
    }
    const always = config.always === undefined ? [] : Array.isArray(config.always) ? config.always : [config.always];
    for (const a of always) {
      const target = typeof a === 'string' ? a : a.target;
      // Config targets are sibling keys.
      const parentId = node.id.includes('.') ? node.id.slice(0, node.id.lastIndexOf('.')) : node.id;
      transitions.push(`${node.id}||${target === undefined ? '' : `${parentId}.${target}`}`);
    }
    for (const [key, child] of Object.entries(node.states)) visit(child, config.states?.[key] ?? {});
  };
  visit(JSON.parse(JSON.stringify(machine.toJSON())) as DefNode, machine.config as ConfigNode);
  return { states, transitions };
}

const machines = [
  ['marketLifecycle', marketLifecycleMachine],
  ['registry', registryMachine],
  ['periodicTask', periodicTaskMachine],
] as const;

describe('machineToGraph', () => {
  it('lists every statechart of machines/', () => {
    expect(MACHINES.map((m) => m.id).sort()).toEqual(['lifecycleConnection', 'marketLifecycle', 'periodicTask', 'reconcile', 'registry']);
  });

  for (const [id, machine] of machines) {
    it(`${id}: has every state and every transition of the definition`, () => {
      const graph = machineToGraph(machine);
      const def = fromDefinition(machine);
      expect(graph.machineId).toBe(id);
      expect(graph.nodes.map((n) => n.id).sort()).toEqual([...def.states].sort());
      const edges = graph.edges.map((e) => `${e.source}|${e.eventType}|${e.target ?? ''}`);
      expect(edges.sort()).toEqual([...def.transitions].sort());
      // Every state is reachable in the drawing's tree: exactly one root, parents exist.
      const ids = new Set(graph.nodes.map((n) => n.id));
      expect(graph.nodes.filter((n) => n.parent === null)).toHaveLength(1);
      for (const n of graph.nodes) if (n.parent !== null) expect(ids.has(n.parent)).toBe(true);
      for (const e of graph.edges) if (e.target !== null) expect(ids.has(e.target)).toBe(true);
      expect(new Set(graph.edges.map((e) => e.id)).size).toBe(graph.edges.length);
    });
  }

  it('market lifecycle: labels, guards with params, final state, initial state', () => {
    const g = machineToGraph(marketLifecycleMachine);
    const finalized = g.nodes.find((n) => n.key === 'finalized');
    expect(finalized?.type).toBe('final');
    expect(g.nodes.find((n) => n.initial)?.key).toBe('initialized');
    const observed = g.edges.find((e) => e.source === 'marketLifecycle.closed' && e.target === 'marketLifecycle.disputed');
    expect(observed).toMatchObject({
      eventType: 'status_observed',
      guard: 'observedIs',
      label: 'status_observed [observedIs]',
      detail: 'status_observed [observedIs disputed]',
    });
    expect(g.edges.find((e) => e.source === 'marketLifecycle.active' && e.target === 'marketLifecycle.inactive' && e.kind === 'event')?.event).toBe(
      'deactivated',
    );
  });

  it('registry supervisor: parallel live regions, children invoked by the states that own them, spawned fetches', () => {
    const g = machineToGraph(registryMachine);
    const node = (id: string) => g.nodes.find((n) => n.id === `registry.${id}`);
    expect(node('live')?.type).toBe('parallel');
    expect(node('live.sync.running.healthy')).toMatchObject({ parent: 'registry.live.sync.running', initial: true });
    expect(node('stopped')?.type).toBe('final');
    const labels = g.edges.map((e) => `${e.source.replace('registry.', '')}→${e.target?.replace('registry.', '') ?? '·'} ${e.label}`);
    expect(labels).toEqual(
      expect.arrayContaining([
        'live→stopping STOP',
        'live→· done: fetch.*',
        'live.sync.syncing→live.sync.running SYNC.DONE',
        'live.sync.syncing→live.sync.syncBackoff SYNC.FAILED',
        'live.sync.syncBackoff→live.sync.syncing after syncRetryDelay',
        'live.sync.running.healthy→live.sync.running.degraded always [hasProblems]',
        'live.lifecycle.websocket→live.lifecycle.restarting done: lifecycleConnection',
        'live.lifecycle.restarting→live.lifecycle.choosing after lifecycleRestartDelay',
        'live.lifecycle.external→live.lifecycle.external SOURCE.SET',
      ]),
    );
    expect(node('live')?.invoke.map((i) => i.src)).toEqual(['deadlines', 'changeFlow', 'exchangeStatus', 'eventSync']);
    expect(node('live.lifecycle.websocket')?.invoke.map((i) => i.src)).toEqual(['lifecycleConnection']);
    expect(node('live.sync.syncing')?.invoke.map((i) => i.src)).toEqual(['initialSync']);
    expect(node('live.sync.running')?.invoke.map((i) => i.src)).toEqual(['reconcile']);
    // Delayed-event plumbing (raise/cancel of xstate.after.*) is not shown as an action.
    expect(node('live.sync.syncBackoff')?.entry).toEqual([]);
  });

  it('periodic task: invoke outcomes, guarded always, targetless RUN_NOW', () => {
    const g = machineToGraph(periodicTaskMachine);
    const from = (key: string) => g.edges.filter((e) => e.source === `periodicTask.${key}`);
    expect(from('running').find((e) => e.kind === 'error')).toMatchObject({ event: 'error: task', target: 'periodicTask.backingOff' });
    expect(from('running').find((e) => e.kind === 'done')?.actions).toContain('sendParent');
    expect(from('running').find((e) => e.target === null && e.eventType === 'RUN_NOW')?.actions).toEqual(['requestRerun']);
    expect(from('starting').map((e) => e.label)).toEqual(['always [runImmediately]', 'always']);
    expect(
      from('waiting')
        .map((e) => e.event)
        .sort(),
    ).toEqual(['RUN_NOW', 'after interval']);
  });
});

describe('charts for any machine', () => {
  it('extracts and lays out a machine it has no code for (a stand-in for the lifecycle connection)', async () => {
    const connection = connectionStandIn;
    const graph = machineToGraph(connection);
    expect(graph.nodes.map((n) => n.key).sort()).toEqual([
      'connecting',
      'connectionStandIn',
      'failed',
      'open',
      'reconnecting',
      'stopped',
      'subscribed',
      'subscribing',
    ]);
    expect(graph.edges.find((e) => e.kind === 'after')?.label).toBe('after 500 ms');
    const layout = await layoutChart(graph, { liveRow: true });
    expect(layout.nodes).toHaveLength(graph.nodes.length);
    expect(layout.edges.filter((e) => e.kind !== 'initial').length).toBe(new Set(graph.edges.map((e) => `${e.source}>${e.target}`)).size);
  });

  it('the server passes every field of a MACHINES entry to the page, and the page needs nothing else', async () => {
    const charts = await buildCharts();
    expect(charts.map((c) => c.id)).toEqual(MACHINES.map((m) => m.id));
    for (const [i, chart] of charts.entries()) {
      const { machine: _machine, ...entry } = MACHINES[i] as (typeof MACHINES)[number];
      expect(chart).toMatchObject(entry);
    }
    // What the page shows on a chart is data of its entry, not code keyed by machine id.
    expect(charts.find((c) => c.id === 'marketLifecycle')?.live).toBe('statusCounts');
    const app = await readFile(join(import.meta.dirname, '..', '..', 'visualizer', 'public', 'app.js'), 'utf8');
    const css = await readFile(join(import.meta.dirname, '..', '..', 'visualizer', 'public', 'style.css'), 'utf8');
    for (const m of MACHINES) {
      expect(app, `app.js names ${m.id}`).not.toContain(`'${m.id}'`);
      expect(css, `style.css names ${m.id}`).not.toContain(`"${m.id}"`);
    }
  });
});

describe('layoutChart (elkjs)', () => {
  it('places every state inside its parent and routes every drawn edge', async () => {
    for (const [, machine] of machines) {
      const graph = machineToGraph(machine);
      const chart = await layoutChart(graph, { liveRow: true });
      expect(chart.nodes.map((n) => n.id).sort()).toEqual(graph.nodes.map((n) => n.id).sort());
      const byId = new Map(chart.nodes.map((n) => [n.id, n]));
      for (const n of chart.nodes) {
        expect(n.width).toBeGreaterThan(0);
        const p = n.parent ? byId.get(n.parent) : undefined;
        if (!p) continue;
        expect(n.x).toBeGreaterThanOrEqual(p.x);
        expect(n.y).toBeGreaterThanOrEqual(p.y);
        expect(n.x + n.width).toBeLessThanOrEqual(p.x + p.width + 0.5);
        expect(n.y + n.height).toBeLessThanOrEqual(p.y + p.height + 0.5);
      }
      // Each transition between two different states is on exactly one drawn edge; self and
      // targetless ones are lines in their state's box.
      const drawn = chart.edges.flatMap((e) => e.transitions);
      const between = graph.edges.filter((e) => e.target !== null && e.target !== e.source);
      expect(drawn.sort()).toEqual(between.map((e) => e.id).sort());
      for (const e of chart.edges) expect(e.points.length).toBeGreaterThanOrEqual(2);
      const lines = chart.nodes.flatMap((n) => n.lines);
      for (const e of graph.edges.filter((x) => x.target === null || x.target === x.source)) {
        expect(lines.some((l) => l.includes(e.label))).toBe(true);
      }
    }
  });

  it('hides status_observed on request and says where it is the only way in', async () => {
    const chart = await layoutChart(machineToGraph(marketLifecycleMachine), { hideEvents: ['status_observed'] });
    expect(chart.edges.some((e) => e.events.includes('status_observed'))).toBe(false);
    expect(chart.nodes.find((n) => n.key === 'disputed')?.lines).toContain('← status_observed only');
  });
});

describe('machine JSON export', () => {
  it('visualizer/machines/*.json are up to date (else run: npx tsx scripts/export-machines.ts)', async () => {
    for (const entry of MACHINES) {
      const file = join(import.meta.dirname, '..', '..', 'visualizer', 'machines', `${entry.id}.json`);
      const onDisk = await readFile(file, 'utf8').catch(() => '(missing)');
      expect(onDisk, `${file} is stale: run npm run export-machines`).toBe(machineJson(entry));
      expect(JSON.parse(onDisk).id).toBe(entry.id);
    }
    // The eventless transitions toJSON() drops are in the export.
    const registry = JSON.parse(machineJson(MACHINES.find((m) => m.id === 'registry')!));
    expect(registry.states.live.states.sync.states.running.states.healthy.always).toEqual([
      {
        target: ['#registry.live.sync.running.degraded'],
        source: '#registry.live.sync.running.healthy',
        guard: 'hasProblems',
        actions: [],
        reenter: false,
        eventType: '',
      },
    ]);
  });
});

describe('createActorTracker', () => {
  it('tracks machine actors from inspection events and coalesces their snapshots', async () => {
    const tracker = createActorTracker();
    const actor = createActor(periodicTaskMachine, {
      input: { name: 't', intervalMs: 60_000, runImmediately: false },
      inspect: tracker.inspect,
    });
    actor.start();
    // An event the machine ignores still makes a snapshot (and an inspection event) each time.
    for (let i = 0; i < 100; i++) actor.send({ type: 'IGNORED', n: i } as never);
    const first = tracker.changesSince(0);
    expect(first.actors).toHaveLength(1);
    expect(first.actors[0]).toMatchObject({ kind: 'machine', machineId: 'periodicTask', status: 'active', paths: ['waiting'] });
    expect(first.actors[0]?.snapshots).toBeGreaterThanOrEqual(101);
    // Nothing new: nothing to send.
    expect(tracker.changesSince(first.version).actors).toHaveLength(0);
    actor.stop();
    const after = tracker.changesSince(first.version);
    expect(after.actors[0]?.status).toBe('stopped');
  });

  it("reports each machine actor's plain context values, whatever fields its machine has", () => {
    // A stand-in for a supervisor with decision fields it does not have yet.
    const supervisor = setup({}).createMachine({
      id: 'supervisorStandIn',
      context: {
        reconcileMode: 'full',
        lossSuspected: false,
        lastPassStartedAt: 1_700_000_000_000,
        eventSyncAt: null,
        pendingUnknownTickers: ['A', 'B', 'C'],
        held: new Set(['x']),
        backoff: { baseMs: 20, maxMs: 200, nested: { deep: 1 } },
        problems: {},
        describe: () => 'a function',
        note: 'n'.repeat(1000),
      },
      initial: 'running',
      states: { running: { on: { PASS: { actions: assign({ reconcileMode: 'delta', lossSuspected: true }) } } } },
    });
    const tracker = createActorTracker();
    const actor = createActor(supervisor, { inspect: tracker.inspect }).start();
    actor.send({ type: 'PASS' });
    const [record] = tracker.changesSince(0).actors;
    expect(record?.context).toEqual({
      reconcileMode: 'delta',
      lossSuspected: true,
      lastPassStartedAt: 1_700_000_000_000,
      eventSyncAt: null,
      pendingUnknownTickers: '3 items',
      held: '1 item',
      'backoff.baseMs': 20,
      'backoff.maxMs': 200,
      problems: 'none',
      note: `${'n'.repeat(MAX_CONTEXT_STRING - 1)}…`,
    });
    actor.stop();
    // Bounded, whatever the machine keeps.
    const wide = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`f${i}`, i]));
    expect(Object.keys(contextFields(wide) ?? {})).toHaveLength(MAX_CONTEXT_FIELDS);
    expect(contextFields(undefined)).toBeNull();
    expect(contextFields(new Map())).toBeNull();
  });

  it('statePaths lists every active state path', () => {
    expect(statePaths({ running: 'healthy' })).toEqual(['running', 'running.healthy']);
    expect(statePaths('syncing')).toEqual(['syncing']);
  });

  it('combineInspectors fans out to every observer', () => {
    const seen: string[] = [];
    const both = combineInspectors((e) => seen.push(`a:${e.type}`), { next: (e) => seen.push(`b:${e.type}`) }, undefined);
    both?.({ type: '@xstate.actor' } as never);
    expect(seen).toEqual(['a:@xstate.actor', 'b:@xstate.actor']);
    expect(combineInspectors(null, undefined)).toBeUndefined();
  });
});

describe('CLI flags --visualize / --inspect', () => {
  it('visualizes by default on the simulator only', () => {
    expect(parseCli([])).toMatchObject({ visualizePort: DEFAULT_VISUALIZER_PORT, visualizePortExplicit: false, inspectPort: null });
    expect(parseCli(['--env', 'demo']).visualizePort).toBeNull();
    expect(parseCli(['--env', 'demo', '--visualize']).visualizePort).toBe(DEFAULT_VISUALIZER_PORT);
    expect(parseCli(['--no-visualize']).visualizePort).toBeNull();
  });

  it('takes an optional port, before other flags or at the end', () => {
    expect(parseCli(['--visualize', '0', '--json'])).toMatchObject({ visualizePort: 0, visualizePortExplicit: true, json: true });
    expect(parseCli(['--visualize', '--json'])).toMatchObject({ visualizePort: DEFAULT_VISUALIZER_PORT, json: true });
    expect(parseCli(['--visualize=9123']).visualizePort).toBe(9123);
    expect(parseCli(['--json', '--visualize']).visualizePort).toBe(DEFAULT_VISUALIZER_PORT);
    expect(parseCli(['--inspect']).inspectPort).toBe(0);
    expect(parseCli(['--inspect', '9000']).inspectPort).toBe(9000);
    expect(parseCli(['--inspect-url', 'ws://localhost:8080'])).toMatchObject({ inspectPort: null, inspectUrl: 'ws://localhost:8080' });
  });

  it('rejects bad combinations', () => {
    expect(() => parseCli(['--visualize', '--no-visualize'])).toThrow(/contradict/);
    expect(() => parseCli(['--visualize=abc'])).toThrow(/port/);
    expect(() => parseCli(['--visualize=70000'])).toThrow(/65535/);
    expect(() => parseCli(['--inspect', '--inspect-url', 'ws://x'])).toThrow(/not both/);
    expect(() => parseCli(['--inspect-url', 'http://x'])).toThrow(/ws/);
  });
});
