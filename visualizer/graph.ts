/**
 * Statechart → graph. Walks an XState v5 machine's state-node tree (`machine.root`) and returns
 * every state and every transition as plain data: the visualizer draws what the machine
 * definition says, never a hand-maintained copy.
 *
 * Transitions come from each state node's `transitions` map (explicit events, `after` delays,
 * invoke `onDone` / `onError`) and its `always` list. Each TransitionDefinition with one target
 * becomes one edge; a targetless one (actions only) becomes an edge with `target: null`
 * ("internal"), drawn as a line inside its state's box; so are self-transitions.
 */
import type { AnyStateMachine } from 'xstate';
import { marketLifecycleMachine } from '../machines/market-lifecycle.js';
import { lifecycleConnectionMachine } from '../machines/lifecycle-connection.js';
import { reconcileMachine } from '../machines/reconcile.js';
import { periodicTaskMachine } from '../machines/periodic-task.js';
import { registryMachine } from '../machines/registry.js';

type ChartNodeType = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
export type ChartEdgeKind = 'event' | 'always' | 'after' | 'done' | 'error';

export interface ChartNode {
  /** The state node's id, e.g. "registry.running.healthy" (the root is the machine id). */
  readonly id: string;
  readonly key: string;
  /** Path below the root, e.g. ["running", "healthy"]; [] for the root. */
  readonly path: readonly string[];
  readonly parent: string | null;
  readonly type: ChartNodeType;
  /** Whether this state is its parent's initial state. */
  readonly initial: boolean;
  readonly description: string | null;
  readonly tags: readonly string[];
  readonly entry: readonly string[];
  readonly exit: readonly string[];
  readonly invoke: readonly { readonly id: string; readonly src: string }[];
}

export interface ChartEdge {
  /** Unique within the graph: `${source}:${index}`. */
  readonly id: string;
  readonly source: string;
  /** Target state id, or null for a targetless (actions-only) transition. */
  readonly target: string | null;
  /** The raw event type ('' for `always`), e.g. "xstate.after.interval.periodicTask.waiting". */
  readonly eventType: string;
  readonly kind: ChartEdgeKind;
  /** Human label of the trigger: "STOP", "after interval", "done: initialSync", "always". */
  readonly event: string;
  readonly guard: string | null;
  readonly guardParams: unknown;
  readonly actions: readonly string[];
  readonly reenter: boolean;
  readonly description: string | null;
  /** The trigger plus guard name, as drawn: "always [hasProblems]", "status_observed [observedIs]". */
  readonly label: string;
  /** The label with guard parameters: "status_observed [observedIs active]". */
  readonly detail: string;
}

export interface ChartGraph {
  readonly machineId: string;
  readonly nodes: readonly ChartNode[];
  readonly edges: readonly ChartEdge[];
}

/* Loose views of XState's StateNode / TransitionDefinition: only what is read here. */
interface ActionLike {
  readonly type?: string;
  readonly id?: unknown;
  readonly src?: unknown;
  readonly actorRef?: unknown;
  readonly to?: unknown;
  readonly event?: unknown;
  readonly delay?: unknown;
  readonly params?: unknown;
  readonly sendId?: unknown;
}
interface TransitionLike {
  readonly eventType: string;
  readonly target?: readonly StateNodeLike[] | undefined;
  readonly guard?: unknown;
  readonly actions: readonly unknown[];
  readonly reenter: boolean;
  readonly description?: string | undefined;
}
interface StateNodeLike {
  readonly id: string;
  readonly key: string;
  readonly path: readonly string[];
  readonly type: ChartNodeType;
  readonly parent?: StateNodeLike | undefined;
  readonly states: Readonly<Record<string, StateNodeLike>>;
  readonly initial?: { readonly target: readonly StateNodeLike[] } | undefined;
  readonly transitions: ReadonlyMap<string, readonly TransitionLike[]>;
  readonly always?: readonly TransitionLike[] | undefined;
  readonly after: readonly { readonly eventType: string; readonly delay: unknown }[];
  readonly invoke: readonly { readonly id: string; readonly src: unknown }[];
  readonly entry: readonly unknown[];
  readonly exit: readonly unknown[];
  readonly description?: string | undefined;
  readonly tags: readonly string[];
}

function srcName(src: unknown): string {
  if (typeof src === 'string') return src;
  if (typeof src === 'object' && src !== null && 'id' in src && typeof src.id === 'string') return src.id;
  return 'anonymous';
}

function eventName(event: unknown): string | null {
  if (typeof event === 'object' && event !== null && typeof (event as { type?: unknown }).type === 'string') return (event as { type: string }).type;
  return null;
}

/** A readable name for an action; null for XState's own plumbing (delayed-event raise/cancel). */
export function actionName(action: unknown): string | null {
  if (typeof action === 'string') return action;
  if (typeof action !== 'object' && typeof action !== 'function') return null;
  if (action === null) return null;
  const a = action as ActionLike;
  const type = typeof a.type === 'string' ? a.type : 'anonymous';
  switch (type) {
    case 'xstate.spawnChild':
      return `spawn ${typeof a.id === 'string' ? a.id : srcName(a.src)}`;
    case 'xstate.stopChild':
      return `stop ${typeof a.actorRef === 'string' ? a.actorRef : 'child'}`;
    case 'xstate.sendTo': {
      const ev = eventName(a.event);
      if (a.to === '#_parent') return `sendParent${ev ? ` ${ev}` : ''}`;
      return `sendTo ${typeof a.to === 'string' ? a.to : 'actor'}${ev ? ` ${ev}` : ''}`;
    }
    case 'xstate.raise':
    case 'xstate.cancel': {
      const ev = eventName(a.event) ?? (typeof a.sendId === 'string' ? a.sendId : typeof a.id === 'string' ? a.id : '');
      if (ev.startsWith('xstate.after.')) return null;
      return type === 'xstate.raise' ? `raise${ev ? ` ${ev}` : ''}` : 'cancel';
    }
    case 'xstate.assign':
      return 'assign';
    default:
      return type.startsWith('xstate.') ? type.slice('xstate.'.length) : type;
  }
}

function actionNames(actions: readonly unknown[]): string[] {
  return actions.map(actionName).filter((n): n is string => n !== null);
}

function guardOf(guard: unknown): { name: string | null; params: unknown } {
  if (guard === undefined || guard === null) return { name: null, params: undefined };
  if (typeof guard === 'string') return { name: guard, params: undefined };
  if (typeof guard === 'object') {
    const g = guard as { type?: unknown; params?: unknown };
    return { name: typeof g.type === 'string' ? g.type : 'guard', params: g.params };
  }
  if (typeof guard === 'function') return { name: (guard as { name?: string }).name || 'guard', params: undefined };
  return { name: 'guard', params: undefined };
}

/** A param as label text: objects and arrays as JSON, anything else as `String()` writes it. */
function valueText(v: unknown): string {
  switch (typeof v) {
    case 'object':
      return JSON.stringify(v);
    case 'string':
      return v;
    case 'function':
    case 'symbol':
      return v.toString();
    default:
      return String(v);
  }
}

function paramsText(params: unknown): string {
  if (params === undefined || params === null) return '';
  if (typeof params !== 'object') return ` ${valueText(params)}`;
  const values = Object.values(params as Record<string, unknown>);
  return values.length === 0 ? '' : ` ${values.map(valueText).join(' ')}`;
}

function classify(node: StateNodeLike, eventType: string): { kind: ChartEdgeKind; event: string } {
  if (eventType === '') return { kind: 'always', event: 'always' };
  if (eventType.startsWith('xstate.after.')) {
    const after = node.after.find((a) => a.eventType === eventType);
    const delay = after ? (typeof after.delay === 'number' ? `${after.delay} ms` : String(after.delay)) : (eventType.split('.')[2] ?? '?');
    return { kind: 'after', event: `after ${delay}` };
  }
  for (const [prefix, kind] of [
    ['xstate.done.actor.', 'done'],
    ['xstate.error.actor.', 'error'],
  ] as const) {
    if (eventType.startsWith(prefix)) {
      const invokeId = eventType.slice(prefix.length);
      const inv = node.invoke.find((i) => i.id === invokeId);
      return { kind, event: `${kind}: ${inv ? srcName(inv.src) : invokeId}` };
    }
  }
  if (eventType.startsWith('xstate.done.state.')) return { kind: 'done', event: 'done' };
  return { kind: 'event', event: eventType };
}

/** Every state node and every transition of `machine`, in document order. */
export function machineToGraph(machine: AnyStateMachine): ChartGraph {
  const nodes: ChartNode[] = [];
  const edges: ChartEdge[] = [];
  const visit = (node: StateNodeLike): void => {
    const parent = node.parent ?? null;
    const initialOfParent = parent?.initial?.target.some((t) => t.id === node.id) ?? false;
    nodes.push({
      id: node.id,
      key: node.key,
      path: [...node.path],
      parent: parent ? parent.id : null,
      type: node.type,
      initial: initialOfParent,
      description: node.description ?? null,
      tags: [...node.tags],
      entry: actionNames(node.entry),
      exit: actionNames(node.exit),
      invoke: node.invoke.map((i) => ({ id: i.id, src: srcName(i.src) })),
    });
    const transitions: TransitionLike[] = [];
    for (const list of node.transitions.values()) transitions.push(...list);
    transitions.push(...(node.always ?? []));
    let index = 0;
    for (const t of transitions) {
      const { kind, event } = classify(node, t.eventType);
      const guard = guardOf(t.guard);
      const label = `${event}${guard.name ? ` [${guard.name}]` : ''}`;
      const detail = `${event}${guard.name ? ` [${guard.name}${paramsText(guard.params)}]` : ''}`;
      const targets = t.target && t.target.length > 0 ? t.target.map((s) => s.id) : [null];
      for (const target of targets) {
        edges.push({
          id: `${node.id}:${index++}`,
          source: node.id,
          target,
          eventType: t.eventType,
          kind,
          event,
          guard: guard.name,
          guardParams: guard.params,
          actions: actionNames(t.actions),
          reenter: t.reenter,
          description: t.description ?? null,
          label,
          detail,
        });
      }
    }
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root);
  return { machineId: machine.id, nodes, edges };
}

/** One statechart of machines/, with what the page says about it. */
export interface MachineEntry {
  readonly id: string;
  readonly title: string;
  readonly file: string;
  readonly summary: string;
  readonly machine: AnyStateMachine;
  /**
   * What the page shows on the chart. 'actors' (default): every running actor of this machine
   * (matched by machine id) highlights its current states and appears as a chip there.
   * 'statusCounts': no actors run it; `stats().statusCounts[key]` is shown on each top-level
   * state `key` (the market population per lifecycle status), and changes flash the transition.
   */
  readonly live?: 'actors' | 'statusCounts';
  /** Minimum width of each state's live row, for the chips or counts (default 170). */
  readonly liveRowMinWidth?: number;
}

/**
 * Every statechart in machines/, in the order the page shows them. The page draws whatever is
 * listed here (charts, live actors, their context) with no code of its own per machine: adding
 * a machine to the page is adding an entry.
 */
export const MACHINES: readonly MachineEntry[] = [
  {
    id: registryMachine.id,
    title: 'Registry supervisor',
    file: 'machines/registry.ts',
    summary:
      'Owns every actor in the state that needs it: live invokes deadlines and exchange status; its lifecycle region the connection or an external consumer; its sync region the initial sync, then reconcile and event sync. Unknown-ticker fetches are spawned children.',
    machine: registryMachine,
  },
  {
    id: lifecycleConnectionMachine.id,
    title: 'Lifecycle connection',
    file: 'machines/lifecycle-connection.ts',
    summary:
      "The registry's own WebSocket: connect, subscribe both lifecycle channels, reconnect with backoff, resubscribe a channel after error 10/25; the frame consumer lives as long as the chart.",
    machine: lifecycleConnectionMachine,
  },
  {
    id: reconcileMachine.id,
    title: 'Reconcile',
    file: 'machines/reconcile.ts',
    summary: 'The periodic REST reconcile and its decision: full (loss suspected, first pass, every Nth run) or a min_updated_ts delta.',
    machine: reconcileMachine,
  },
  {
    id: periodicTaskMachine.id,
    title: 'Periodic task',
    file: 'machines/periodic-task.ts',
    summary: 'One chart, two live instances invoked by the supervisor: exchangeStatus and eventSync.',
    machine: periodicTaskMachine,
    liveRowMinWidth: 180, // two instance chips side by side
  },
  {
    id: marketLifecycleMachine.id,
    title: 'Market lifecycle',
    file: 'machines/market-lifecycle.ts',
    summary:
      'Which status transitions of a market are legal. Not one actor per market: the registry derives its transition table from this chart; counts show the market population per status.',
    machine: marketLifecycleMachine,
    live: 'statusCounts',
  },
];
