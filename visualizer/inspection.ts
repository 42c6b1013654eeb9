/**
 * XState inspection → live actor states, throttled.
 *
 * `createActorTracker()` returns an `inspect` observer for createRegistry's `inspect` option.
 * The observer does O(1) work per inspection event: `@xstate.actor` registers the actor,
 * `@xstate.snapshot` keeps a reference to the newest snapshot and marks the actor dirty; every
 * other inspection event is ignored. Nothing is serialized there. `flush()` (called by the
 * visualizer at most every `actorIntervalMs`, 100 ms by default) turns the dirty actors into
 * plain records, so however often an actor changes state, the page hears about it at most ~10
 * times a second, with its latest state (intermediate states are coalesced away).
 *
 * The registry does not run an actor per market (see README), so the system has about a dozen
 * actors; the tracker still caps itself (`maxActors`) so that an embedder's busier system can
 * never grow it without bound, and forgets finished promise actors (the periodic tasks' runs).
 */
import type { InspectionEvent, Observer } from 'xstate';

/** 'machine' for statechart actors; 'actor' for callback / promise / other logic. */
type ActorKind = 'machine' | 'actor';

/** One actor as the page sees it. */
export interface ActorRecord {
  readonly sessionId: string;
  /** The actor's id in its parent ("reconcile", "lifecycle"); "registry" for the root. */
  readonly name: string;
  /** Name path from the root, e.g. "registry/reconcile/task". */
  readonly fullName: string;
  readonly parent: string | null;
  readonly kind: ActorKind;
  /** For machine actors: the machine id ("registry", "periodicTask"). */
  readonly machineId: string | null;
  /** The actor logic's name in its parent's `actors` ("initialSync", "task"). */
  readonly src: string | null;
  readonly status: string;
  /** For machine actors: the state value, e.g. {"running":"healthy"}. */
  readonly value: unknown;
  /** For machine actors: every active state path, e.g. ["running", "running.healthy"]. */
  readonly paths: readonly string[];
  readonly lastEvent: string | null;
  /** Snapshots seen since the actor started (not all of them are sent). */
  readonly snapshots: number;
  /** Epoch ms of the newest snapshot. */
  readonly updatedAt: number;
  /**
   * For machine actors: the plain values of the newest snapshot's context (see contextFields),
   * e.g. the supervisor's decisions. Absent when polled instead of inspected.
   */
  readonly context?: ContextFields | null;
}

/** A context value as the page shows it. */
type ContextValue = string | number | boolean | null;
export type ContextFields = Readonly<Record<string, ContextValue>>;

/** Most context fields reported per actor, and longest string value (longer ones are cut). */
export const MAX_CONTEXT_FIELDS = 40;
export const MAX_CONTEXT_STRING = 160;

const contextValue = (v: unknown): ContextValue | undefined => {
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return v.length > MAX_CONTEXT_STRING ? `${v.slice(0, MAX_CONTEXT_STRING - 1)}…` : v;
  if (Array.isArray(v)) return `${v.length} item${v.length === 1 ? '' : 's'}`;
  if (v instanceof Set || v instanceof Map) return `${v.size} item${v.size === 1 ? '' : 's'}`;
  return undefined;
};
const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * The plain values of a machine's context, for display: primitives as they are (strings cut
 * at MAX_CONTEXT_STRING), arrays, Sets and Maps as their size ("3 items"), plain objects one
 * level deep as dotted keys ("backoff.baseMs", "lastReconcile.mode"); functions, actor refs
 * and other class instances are left out; at most MAX_CONTEXT_FIELDS fields. O(fields): it
 * looks at no more than the top two levels, so whatever a machine keeps in its context (the
 * supervisor's decision fields, a connection's attempt counter) shows without code for it.
 */
export function contextFields(context: unknown): ContextFields | null {
  if (!isPlainObject(context)) return null;
  const out: Record<string, ContextValue> = {};
  let n = 0;
  for (const [key, value] of Object.entries(context)) {
    if (n >= MAX_CONTEXT_FIELDS) break;
    const v = contextValue(value);
    if (v !== undefined) {
      out[key] = v;
      n++;
    } else if (isPlainObject(value)) {
      const entries = Object.entries(value);
      if (entries.length === 0) {
        out[key] = 'none';
        n++;
      }
      for (const [sub, subValue] of entries) {
        if (n >= MAX_CONTEXT_FIELDS) break;
        const sv = contextValue(subValue);
        if (sv === undefined) continue;
        out[`${key}.${sub}`] = sv;
        n++;
      }
    }
  }
  return out;
}

interface Tracked {
  readonly sessionId: string;
  readonly name: string;
  readonly fullName: string;
  readonly parent: string | null;
  kind: ActorKind;
  machineId: string | null;
  readonly src: string | null;
  snapshot: { status?: unknown; value?: unknown; context?: unknown } | null;
  lastEvent: string | null;
  snapshots: number;
  updatedAt: number;
  endedAt: number | null;
  /** Version of the last change, compared with what each client has seen. */
  version: number;
}

export interface ActorTrackerOptions {
  /** Most actors tracked at once (default 256); further ones are counted, not tracked. */
  readonly maxActors?: number;
  /** How long a finished promise/callback actor stays listed (default 3000 ms). */
  readonly keepEndedMs?: number;
  readonly now?: () => number;
}

export interface ActorTracker {
  /** Pass as (or combine into) createRegistry's `inspect` option. */
  readonly inspect: (event: InspectionEvent) => void;
  /**
   * Returns the actors that changed since `sinceVersion` and the current version; prunes
   * finished short-lived actors. Cheap when nothing changed.
   */
  changesSince(sinceVersion: number): { version: number; actors: ActorRecord[]; removed: string[] };
  /** Every tracked actor. */
  all(): ActorRecord[];
  readonly stats: { events: number; snapshots: number; untracked: number };
}

interface ActorRefView {
  readonly sessionId: string;
  readonly id?: string;
  readonly src?: unknown;
  readonly logic?: unknown;
  readonly _parent?: { readonly sessionId: string } | undefined;
}

/** The event behind a snapshot. Typed as always there, but the tracker is public and may be fed hand-made events. */
function eventTypeOf(event: { readonly type?: unknown } | undefined): string | null {
  return typeof event?.type === 'string' ? event.type : null;
}

/** An actor snapshot's status ('active', 'done', 'error', 'stopped'); 'active' when it has none. */
function statusOf(snapshot: { readonly status?: unknown } | null): string {
  return typeof snapshot?.status === 'string' ? snapshot.status : 'active';
}

function machineIdOf(logic: unknown): string | null {
  if (typeof logic !== 'object' || logic === null) return null;
  const l = logic as { root?: unknown; id?: unknown };
  return 'root' in l && typeof l.id === 'string' ? l.id : null;
}

/** All active state paths of a state value: {"running":"healthy"} → ["running", "running.healthy"]. */
export function statePaths(value: unknown, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix ? `${prefix}.${value}` : value];
  if (typeof value !== 'object' || value === null) return [];
  const out: string[] = [];
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const path = prefix ? `${prefix}.${key}` : key;
    out.push(path, ...statePaths(child, path));
  }
  return out;
}

export function createActorTracker(options: ActorTrackerOptions = {}): ActorTracker {
  const maxActors = options.maxActors ?? 256;
  const keepEndedMs = options.keepEndedMs ?? 3000;
  const now = options.now ?? Date.now;
  const actors = new Map<string, Tracked>();
  const removed: { sessionId: string; version: number }[] = [];
  let version = 0;
  const stats = { events: 0, snapshots: 0, untracked: 0 };

  const register = (ref: ActorRefView): Tracked | undefined => {
    const existing = actors.get(ref.sessionId);
    if (existing) return existing;
    if (actors.size >= maxActors) {
      stats.untracked++;
      return undefined;
    }
    const parent = ref._parent?.sessionId ?? null;
    const parentRecord = parent === null ? undefined : actors.get(parent);
    const machineId = machineIdOf(ref.logic);
    const kind: ActorKind = machineId === null ? 'actor' : 'machine';
    const src = typeof ref.src === 'string' ? ref.src : null;
    // Invoked actors get generated ids ("0.periodicTask.running"): their src names them better.
    const rawId = ref.id ?? ref.sessionId;
    const name = parent === null ? (machineId ?? rawId) : /^\d+\./.test(rawId) && src ? src : rawId;
    const tracked: Tracked = {
      sessionId: ref.sessionId,
      name,
      fullName: parentRecord ? `${parentRecord.fullName}/${name}` : name,
      parent,
      kind,
      machineId,
      src,
      snapshot: null,
      lastEvent: null,
      snapshots: 0,
      updatedAt: now(),
      endedAt: null,
      version: ++version,
    };
    actors.set(ref.sessionId, tracked);
    return tracked;
  };

  const inspect = (event: InspectionEvent): void => {
    stats.events++;
    if (event.type === '@xstate.actor') {
      register(event.actorRef);
      return;
    }
    if (event.type !== '@xstate.snapshot') return;
    stats.snapshots++;
    const tracked = actors.get(event.actorRef.sessionId) ?? register(event.actorRef);
    if (!tracked) return;
    const snapshot = event.snapshot as { status?: unknown; value?: unknown };
    tracked.snapshot = snapshot;
    tracked.lastEvent = eventTypeOf(event.event);
    tracked.snapshots++;
    tracked.updatedAt = now();
    if (tracked.kind === 'actor') {
      const machineId = machineIdOf((snapshot as { machine?: unknown }).machine);
      if (machineId !== null) {
        tracked.kind = 'machine';
        tracked.machineId = machineId;
      }
    }
    const status = statusOf(snapshot);
    tracked.endedAt = status === 'active' ? null : (tracked.endedAt ?? tracked.updatedAt);
    tracked.version = ++version;
  };

  const toRecord = (t: Tracked): ActorRecord => {
    const value = t.kind === 'machine' ? (t.snapshot?.value ?? null) : null;
    return {
      sessionId: t.sessionId,
      name: t.name,
      fullName: t.fullName,
      parent: t.parent,
      kind: t.kind,
      machineId: t.machineId,
      src: t.src,
      status: statusOf(t.snapshot),
      value,
      paths: value === null ? [] : statePaths(value),
      lastEvent: t.lastEvent,
      snapshots: t.snapshots,
      updatedAt: t.updatedAt,
      context: t.kind === 'machine' ? contextFields(t.snapshot?.context) : null,
    };
  };

  const prune = () => {
    const t = now();
    for (const a of actors.values()) {
      // Machines stay listed when they stop (the page shows "stopped"); other actors (the periodic
      // tasks' promise runs, mostly) are dropped a little after they finish.
      if (a.endedAt !== null && a.kind !== 'machine' && t - a.endedAt > keepEndedMs) {
        actors.delete(a.sessionId);
        removed.push({ sessionId: a.sessionId, version: ++version });
      }
    }
    if (removed.length > 1024) removed.splice(0, removed.length - 1024);
  };

  return {
    inspect,
    stats,
    changesSince(sinceVersion) {
      prune();
      if (sinceVersion >= version) return { version, actors: [], removed: [] };
      const changed: ActorRecord[] = [];
      for (const a of actors.values()) if (a.version > sinceVersion) changed.push(toRecord(a));
      return { version, actors: changed, removed: removed.filter((r) => r.version > sinceVersion).map((r) => r.sessionId) };
    },
    all: () => [...actors.values()].map(toRecord),
  };
}

type InspectLike = Observer<InspectionEvent> | ((event: InspectionEvent) => void);

/** One inspect observer that forwards every inspection event to each of `inspectors`. */
export function combineInspectors(...inspectors: (InspectLike | null | undefined)[]): ((event: InspectionEvent) => void) | undefined {
  const fns = inspectors
    .filter((i): i is InspectLike => i !== null && i !== undefined)
    .map((i) => (typeof i === 'function' ? i : (e: InspectionEvent) => i.next?.(e)));
  if (fns.length === 0) return undefined;
  if (fns.length === 1) return fns[0];
  return (event) => {
    for (const fn of fns) fn(event);
  };
}
