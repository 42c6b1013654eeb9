/**
 * Machine definitions as JSON: `machine.toJSON()`, XState's own serialization of the resolved
 * state-node tree (ids, types, initial states, transitions with event types, targets and guards,
 * entry/exit/invoke, descriptions, tags). It is what `scripts/export-machines.ts` writes to
 * visualizer/machines/<id>.json and what the visualizer serves at /machines/<id>.json.
 * Implementations (guard and action functions) are not part of it: they are referenced by name.
 * The `always` transitions toJSON() drops are added back (see machineDefinition).
 */
import type { AnyStateMachine } from 'xstate';
import { MACHINES, actionName, type MachineEntry } from './graph.js';

interface AlwaysLike {
  readonly target?: readonly { readonly id: string }[];
  readonly guard?: unknown;
  readonly actions: readonly unknown[];
  readonly reenter: boolean;
  readonly description?: string;
}
interface NodeLike {
  readonly id: string;
  readonly states: Readonly<Record<string, NodeLike>>;
  readonly always?: readonly AlwaysLike[];
}
type JsonNode = { states: Record<string, JsonNode>; always?: unknown[] } & Record<string, unknown>;

/**
 * `machine.toJSON()`, plus the eventless (`always`) transitions it leaves out (XState 5.33's
 * serialization omits them), in the same shape as its other transitions.
 */
function machineDefinition(machine: AnyStateMachine): unknown {
  const json = machine.toJSON() as unknown as JsonNode;
  const visit = (node: NodeLike, out: JsonNode) => {
    if (node.always && node.always.length > 0) {
      out.always = node.always.map((t) => ({
        target: (t.target ?? []).map((s) => `#${s.id}`),
        source: `#${node.id}`,
        ...(t.guard === undefined ? {} : { guard: typeof t.guard === 'function' ? { type: 'inline' } : t.guard }),
        actions: t.actions.map((a) => ({ type: actionName(a) ?? 'anonymous' })),
        reenter: t.reenter,
        eventType: '',
        ...(t.description ? { description: t.description } : {}),
      }));
    }
    for (const [key, child] of Object.entries(node.states)) {
      const childOut = out.states[key];
      if (childOut) visit(child, childOut);
    }
  };
  visit(machine.root, json);
  return json;
}

/** The JSON text of one machine definition (stable: same machine → same bytes). */
export function machineJson(entry: MachineEntry): string {
  return `${JSON.stringify(machineDefinition(entry.machine), null, 2)}\n`;
}

/** The index served at /machines/ and written to visualizer/machines/index.json. */
export function machineIndexJson(): string {
  const index = MACHINES.map((m) => ({ id: m.id, title: m.title, source: m.file, json: `${m.id}.json` }));
  return `${JSON.stringify(index, null, 2)}\n`;
}

export { MACHINES };
