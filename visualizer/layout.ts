/**
 * Lays a ChartGraph out with elkjs (layered, top-down, hierarchy included so nested states such
 * as `running.healthy` sit inside their parent) and returns absolute coordinates the page turns
 * into SVG without any layout work of its own.
 *
 * Drawing conventions:
 *  - transitions between different states are edges; edges with the same source and target are
 *    merged into one, labelled with one line per trigger ("deactivated", "status_observed
 *    [observedIs inactive]");
 *  - self-transitions ("↻ close_date_updated") and targetless transitions ("RUN_NOW /
 *    requestRerun") are lines inside the state's box, as are entry actions and invocations;
 *  - every compound state (the machine root included) has an initial-state dot with an arrow.
 *
 * Text is measured with a fixed-width estimate for the monospace font the page uses.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import ElkApi from 'elkjs/lib/elk-api.js';
import type { ELK, ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import type { ChartEdge, ChartEdgeKind, ChartGraph, ChartNode } from './graph.js';

/** Width of one character of the page's 12 px monospace font, with a little slack. */
const CHAR_W = 7.4;
const LINE_H = 15;
const TITLE_H = 22;
const PAD_X = 10;
const PAD_Y = 6;
/** Height of the reserved row for live information (market counts, actor chips). */
const LIVE_ROW_H = 20;
const INITIAL_R = 6;

export interface LayoutOptions {
  /** Drop transitions on these events (e.g. `status_observed`) from the drawing. */
  readonly hideEvents?: readonly string[];
  /** Reserve a row in every state box for live information. */
  readonly liveRow?: boolean;
  /** Minimum width of the live row (so counts and chips fit). */
  readonly liveRowMinWidth?: number;
}

interface LaidOutNode {
  readonly id: string;
  readonly key: string;
  readonly path: string;
  readonly type: ChartNode['type'];
  readonly parent: string | null;
  readonly initial: boolean;
  readonly description: string | null;
  readonly tags: readonly string[];
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  /** Lines under the title: entry actions, invocations, self and targetless transitions. */
  readonly lines: readonly string[];
  /** Top of the live row (absolute), or null when none is reserved. */
  readonly liveRowY: number | null;
}

interface LaidOutEdge {
  readonly id: string;
  readonly source: string;
  readonly target: string;
  readonly kind: ChartEdgeKind | 'initial';
  /** Raw event types of the merged transitions. */
  readonly events: readonly string[];
  /** Ids of the merged ChartEdges. */
  readonly transitions: readonly string[];
  readonly lines: readonly string[];
  readonly points: readonly (readonly [number, number])[];
  readonly label: { readonly x: number; readonly y: number; readonly width: number; readonly height: number } | null;
}

export interface LaidOutChart {
  readonly machineId: string;
  readonly width: number;
  readonly height: number;
  readonly hiddenEvents: readonly string[];
  readonly nodes: readonly LaidOutNode[];
  readonly initialMarkers: readonly { readonly id: string; readonly parent: string; readonly cx: number; readonly cy: number; readonly r: number }[];
  readonly edges: readonly LaidOutEdge[];
}

/*
 * elkjs computes in a worker: in Node its bundled build runs ELK (GWT-compiled Java) on the main
 * thread, ~1 s of CPU for these charts, which would stall the registry's event loop during its
 * initial sync. So ELK's own worker script runs in a worker_threads Worker, behind the small
 * Web-Worker-shaped adapter elkjs's `workerFactory` expects.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { Worker: ElkWorker } = require(workerData.elkWorker);
const elk = new ElkWorker();
elk.onmessage = (event) => {
  try { parentPort.postMessage(event.data); }
  catch { parentPort.postMessage({ id: event.data.id, error: { message: String(event.data.error) } }); }
};
parentPort.on('message', (msg) => elk.postMessage(msg));
`;

interface WebWorkerLike {
  onmessage: ((event: { data: unknown }) => void) | null;
  postMessage(msg: unknown): void;
  terminate(): void;
}

/** An ELK instance whose layouts run off the main thread. Call `terminateWorker()` when done. */
export function createElk(): ELK {
  const elkWorker = createRequire(import.meta.url).resolve('elkjs/lib/elk-worker.js');
  // elkjs is CommonJS: under NodeNext the default import is `module.exports`, whose `default` is the constructor.
  return new ElkApi.default({
    workerFactory: () => {
      const thread = new Worker(WORKER_SOURCE, { eval: true, workerData: { elkWorker } });
      thread.unref();
      const adapter: WebWorkerLike = {
        onmessage: null,
        postMessage: (msg) => thread.postMessage(msg),
        terminate: () => void thread.terminate(),
      };
      thread.on('message', (data: unknown) => adapter.onmessage?.({ data }));
      // elkjs types its factory with the DOM Worker (unresolved without lib "dom"); this adapter is the part of it elkjs uses.
      return adapter;
    },
  });
}

const textWidth = (s: string, charW = CHAR_W) => Math.ceil(s.length * charW);

/** Lines drawn inside a state's box. */
/** `target`'s key, when it lies inside `source` (a transition of a compound state into one of its own states). */
function innerTarget(e: ChartEdge, parentOf: ReadonlyMap<string, string | null>, keyOf: ReadonlyMap<string, string>): string | null {
  if (e.target === null || e.target === e.source) return null;
  for (let n = parentOf.get(e.target) ?? null; n !== null; n = parentOf.get(n) ?? null) if (n === e.source) return keyOf.get(e.target) ?? e.target;
  return null;
}

function boxLines(node: ChartNode, own: readonly ChartEdge[], inner: (e: ChartEdge) => string | null = () => null): string[] {
  const lines: string[] = [];
  const entry = node.entry.filter((a) => a !== 'assign');
  if (entry.length > 0) lines.push(...wrapList('entry / ', entry));
  for (const inv of node.invoke) lines.push(`invoke ${inv.src}`);
  const exit = node.exit.filter((a) => a !== 'assign');
  if (exit.length > 0) lines.push(...wrapList('exit / ', exit));
  for (const e of own) {
    if (e.target === null) lines.push(`${e.label}${e.actions.length > 0 ? ` / ${e.actions.join(', ')}` : ''}`);
    else if (e.target === e.source) lines.push(`↻ ${e.label}${e.reenter ? ' (re-enter)' : ''}`);
    else {
      // From the state itself into one of its own states: ELK cannot draw an edge from a box to
      // its own contents, so the box says it ("from any state inside").
      const target = inner(e);
      if (target !== null) lines.push(`${e.label} → ${target}`);
    }
  }
  return lines;
}

function wrapList(prefix: string, items: readonly string[], max = 34): string[] {
  const out: string[] = [];
  let line = prefix;
  for (const item of items) {
    const sep = line === prefix || line.trim() === '' ? '' : ', ';
    if (line.length + sep.length + item.length > max && line !== prefix && line.trim() !== '') {
      out.push(`${line},`);
      line = ' '.repeat(prefix.length) + item;
    } else line += sep + item;
  }
  out.push(line);
  return out;
}

function lowestCommonAncestor(a: string, b: string, parentOf: ReadonlyMap<string, string | null>): string {
  const ancestors = new Set<string>();
  for (let n: string | null = a; n !== null; n = parentOf.get(n) ?? null) ancestors.add(n);
  for (let n: string | null = parentOf.get(b) ?? null; n !== null; n = parentOf.get(n) ?? null) {
    // The container of an edge must be a proper ancestor of both ends (or the root).
    if (ancestors.has(n) && n !== a) return n;
  }
  let root = a;
  while (parentOf.get(root)) root = parentOf.get(root) as string;
  return root;
}

/**
 * Lays out `graph`; resolves to absolute coordinates (origin: the chart's top-left corner).
 * Pass `elk` to share one worker between several layouts (otherwise one is started and stopped).
 */
export async function layoutChart(graph: ChartGraph, options: LayoutOptions = {}, elk?: ELK): Promise<LaidOutChart> {
  const hidden = new Set(options.hideEvents ?? []);
  const liveRow = options.liveRow ?? false;
  const visibleEdges = graph.edges.filter((e) => !hidden.has(e.eventType));
  const parentOf = new Map(graph.nodes.map((n) => [n.id, n.parent] as const));
  const childrenOf = new Map<string, ChartNode[]>();
  for (const n of graph.nodes) {
    if (n.parent !== null) {
      const list = childrenOf.get(n.parent) ?? [];
      list.push(n);
      childrenOf.set(n.parent, list);
    }
  }
  const root = graph.nodes.find((n) => n.parent === null);
  if (!root) throw new Error(`graph ${graph.machineId} has no root`);

  const linesOf = new Map<string, string[]>();
  const keyOf = new Map(graph.nodes.map((n) => [n.id, n.key] as const));
  const inner = (e: ChartEdge) => innerTarget(e, parentOf, keyOf);
  for (const n of graph.nodes)
    linesOf.set(
      n.id,
      boxLines(
        n,
        visibleEdges.filter((e) => e.source === n.id),
        inner,
      ),
    );
  // A state reachable only through hidden transitions says so, instead of floating unexplained.
  for (const n of graph.nodes) {
    const incoming = (list: readonly ChartEdge[]) => list.filter((e) => e.target === n.id && e.source !== n.id);
    const hiddenIn = incoming(graph.edges.filter((e) => hidden.has(e.eventType)));
    if (n.parent !== null && !n.initial && hiddenIn.length > 0 && incoming(visibleEdges).length === 0) {
      linesOf.get(n.id)?.push(...[...new Set(hiddenIn.map((e) => e.event))].map((ev) => `← ${ev} only`));
    }
  }

  // Merge edges between distinct states by (source, target).
  const merged = new Map<string, { source: string; target: string; edges: ChartEdge[] }>();
  for (const e of visibleEdges) {
    if (e.target === null || e.target === e.source || inner(e) !== null) continue;
    const key = `${e.source}→${e.target}`;
    const m = merged.get(key) ?? { source: e.source, target: e.target, edges: [] };
    m.edges.push(e);
    merged.set(key, m);
  }

  const elkNodes = new Map<string, ElkNode>();
  const headerHeight = (n: ChartNode) => TITLE_H + (linesOf.get(n.id)?.length ?? 0) * LINE_H + PAD_Y;
  const minWidth = (n: ChartNode) =>
    Math.max(
      textWidth(n.key, 8.2) + 2 * PAD_X + (n.type === 'final' ? 8 : 0),
      ...(linesOf.get(n.id) ?? []).map((l) => textWidth(l) + 2 * PAD_X),
      liveRow && n.parent !== null && (childrenOf.get(n.id)?.length ?? 0) === 0 ? (options.liveRowMinWidth ?? 120) : 0,
      90,
    );
  const build = (n: ChartNode): ElkNode => {
    const children = childrenOf.get(n.id) ?? [];
    const header = headerHeight(n);
    const elk: ElkNode = { id: n.id };
    if (children.length === 0) {
      elk.width = minWidth(n);
      elk.height = header + (liveRow ? LIVE_ROW_H : 0) + PAD_Y;
    } else {
      elk.children = children.map(build);
      const initial = children.find((c) => c.initial);
      if (initial) elk.children.unshift({ id: `${n.id}#initial`, width: 2 * INITIAL_R, height: 2 * INITIAL_R });
      elk.edges = [];
      elk.layoutOptions = {
        'elk.padding': `[top=${header + 10},left=16,bottom=16,right=16]`,
        'elk.nodeSize.constraints': 'MINIMUM_SIZE',
        'elk.nodeSize.minimum': `(${minWidth(n)}, ${header + 40})`,
      };
    }
    elkNodes.set(n.id, elk);
    return elk;
  };
  const elkRoot = build(root);
  elkRoot.layoutOptions = {
    ...elkRoot.layoutOptions,
    'elk.algorithm': 'layered',
    'elk.direction': 'DOWN',
    'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
    'elk.json.shapeCoords': 'ROOT',
    'elk.json.edgeCoords': 'ROOT',
    'elk.edgeRouting': 'ORTHOGONAL',
    'elk.layered.spacing.nodeNodeBetweenLayers': '42',
    'elk.spacing.nodeNode': '36',
    'elk.spacing.edgeNode': '16',
    'elk.spacing.edgeEdge': '12',
    'elk.spacing.edgeLabel': '4',
    'elk.layered.spacing.edgeNodeBetweenLayers': '16',
    'elk.layered.spacing.edgeEdgeBetweenLayers': '10',
    'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
    'elk.layered.crossingMinimization.semiInteractive': 'false',
    'elk.edgeLabels.placement': 'CENTER',
    'elk.layered.edgeLabels.sideSelection': 'SMART_DOWN',
  };

  const edgeMeta = new Map<string, { kind: LaidOutEdge['kind']; events: string[]; transitions: string[]; lines: string[]; source: string; target: string }>();
  let i = 0;
  for (const m of merged.values()) {
    const id = `e${i++}`;
    const lines = [...new Set(m.edges.map((e) => e.label))];
    const kinds = new Set(m.edges.map((e) => e.kind));
    const [first] = m.edges;
    if (first === undefined) continue; // a merged edge has at least one transition
    const kind: ChartEdgeKind = kinds.size > 1 && kinds.has('event') ? 'event' : first.kind;
    edgeMeta.set(id, {
      kind,
      events: [...new Set(m.edges.map((e) => e.eventType))],
      transitions: m.edges.map((e) => e.id),
      lines,
      source: m.source,
      target: m.target,
    });
    const container = lowestCommonAncestor(m.source, m.target, parentOf);
    const edge: ElkExtendedEdge = {
      id,
      sources: [m.source],
      targets: [m.target],
      labels: [{ id: `${id}.label`, text: lines.join('\n'), width: Math.max(...lines.map((l) => textWidth(l))) + 6, height: lines.length * LINE_H + 2 }],
    };
    (elkNodes.get(container)?.edges ?? (elkRoot.edges ??= [])).push(edge);
  }
  for (const n of graph.nodes) {
    const initial = (childrenOf.get(n.id) ?? []).find((c) => c.initial);
    if (!initial) continue;
    const id = `${n.id}#initial-edge`;
    edgeMeta.set(id, { kind: 'initial', events: [], transitions: [], lines: [], source: `${n.id}#initial`, target: initial.id });
    elkNodes.get(n.id)?.edges?.push({ id, sources: [`${n.id}#initial`], targets: [initial.id] });
  }

  const ownElk = elk === undefined;
  const engine = elk ?? createElk();
  let laid: ElkNode;
  try {
    laid = await engine.layout(elkRoot);
  } finally {
    if (ownElk) engine.terminateWorker();
  }

  const nodes: LaidOutNode[] = [];
  const markers: LaidOutChart['initialMarkers'][number][] = [];
  const edges: LaidOutEdge[] = [];
  const byId = new Map(graph.nodes.map((n) => [n.id, n] as const));
  const walk = (e: ElkNode): void => {
    const n = byId.get(e.id);
    const x = e.x ?? 0;
    const y = e.y ?? 0;
    if (n) {
      const leaf = (childrenOf.get(n.id)?.length ?? 0) === 0;
      nodes.push({
        id: n.id,
        key: n.key,
        path: n.path.join('.'),
        type: n.type,
        parent: n.parent,
        initial: n.initial,
        description: n.description,
        tags: n.tags,
        x,
        y,
        width: e.width ?? 0,
        height: e.height ?? 0,
        lines: linesOf.get(n.id) ?? [],
        liveRowY: liveRow && leaf && n.parent !== null ? y + headerHeight(n) : null,
      });
    } else if (e.id.endsWith('#initial')) {
      markers.push({ id: e.id, parent: e.id.slice(0, -'#initial'.length), cx: x + INITIAL_R, cy: y + INITIAL_R, r: INITIAL_R });
    }
    for (const edge of e.edges ?? []) {
      const meta = edgeMeta.get(edge.id);
      const section = edge.sections?.[0];
      if (!meta || !section) continue;
      const points: [number, number][] = [
        [section.startPoint.x, section.startPoint.y],
        ...(section.bendPoints ?? []).map((p) => [p.x, p.y] as [number, number]),
        [section.endPoint.x, section.endPoint.y],
      ];
      const label = edge.labels?.[0];
      edges.push({
        id: edge.id,
        source: meta.source,
        target: meta.target,
        kind: meta.kind,
        events: meta.events,
        transitions: meta.transitions,
        lines: meta.lines,
        points,
        label: label && meta.lines.length > 0 ? { x: label.x ?? 0, y: label.y ?? 0, width: label.width ?? 0, height: label.height ?? 0 } : null,
      });
    }
    for (const c of e.children ?? []) walk(c);
  };
  walk(laid);
  return {
    machineId: graph.machineId,
    width: Math.ceil(laid.width ?? 0),
    height: Math.ceil(laid.height ?? 0),
    hiddenEvents: [...hidden],
    nodes,
    initialMarkers: markers,
    edges,
  };
}
