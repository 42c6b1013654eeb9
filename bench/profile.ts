/**
 * CPU profiles of measured windows only (not the set-up around them), taken in-process with
 * node:inspector, and their summary: the top functions by self time, with the collector's share.
 *
 *   const p = new Profiler('bench/profiles');
 *   await p.start(); …measured work…; await p.stop('lifecycle registry');
 *   p.summaries(15)            // text, one block per name (runs of one name are added up)
 *   p.data(15)                 // the same as JSON, for the results file
 *
 * Each stopped run is also written as `<dir>/<name>-<n>.cpuprofile` (open it in Chrome DevTools
 * or speedscope). `summarize(profile)` is what bench/profile-summary.ts prints for any profile.
 */
import { Session } from 'node:inspector/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
  hitCount?: number;
  children?: number[];
}
export interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self and inclusive microseconds per function ("name file:line"), and the total sampled. */
export interface ProfileTimes {
  totalUs: number;
  self: Map<string, number>;
  inclusive: Map<string, number>;
}

function keyOf(n: CpuProfileNode): string {
  const url = n.callFrame.url
    .replace(/^file:\/\//, '')
    .replace(/.*\/work\/main\//, '')
    .replace(/.*node_modules\//, 'nm:');
  return url ? `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}` : n.callFrame.functionName || '(anonymous)';
}

export function profileTimes(p: CpuProfile, into?: ProfileTimes): ProfileTimes {
  const out = into ?? { totalUs: 0, self: new Map(), inclusive: new Map() };
  const byId = new Map<number, CpuProfileNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfById = new Map<number, number>();
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    out.totalUs += dt;
    selfById.set(id, (selfById.get(id) ?? 0) + dt);
  });
  for (const [id, us] of selfById) {
    const k = keyOf(byId.get(id) as CpuProfileNode);
    out.self.set(k, (out.self.get(k) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const ck = keyOf(byId.get(cur) as CpuProfileNode);
      if (seen.has(ck)) continue;
      seen.add(ck);
      out.inclusive.set(ck, (out.inclusive.get(ck) ?? 0) + us);
    }
  }
  return out;
}

export interface ProfileSummary {
  sampledMs: number;
  /** The in-process profiler's own work (inspector `dispatch`), left out of "busy". */
  profilerPct: number;
  /** Share of the non-idle samples spent in the garbage collector. */
  gcPct: number;
  idlePct: number;
  /** Top functions by self time, % of non-idle samples. */
  top: { fn: string; selfPct: number }[];
}

/** Samples that are not the measured program: idle, and the inspector serving the profiler. */
const NOT_WORK = new Set(['(idle)', 'dispatch']);

export function summaryOf(t: ProfileTimes, top: number): ProfileSummary {
  const idle = t.self.get('(idle)') ?? 0;
  const profiler = t.self.get('dispatch') ?? 0;
  const busy = Math.max(1, t.totalUs - idle - profiler);
  const rows = [...t.self]
    .filter(([k]) => !NOT_WORK.has(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
  return {
    sampledMs: Math.round(t.totalUs / 1000),
    profilerPct: round1((profiler / Math.max(1, t.totalUs)) * 100),
    gcPct: round1(((t.self.get('(garbage collector)') ?? 0) / busy) * 100),
    idlePct: round1((idle / Math.max(1, t.totalUs)) * 100),
    top: rows.map(([fn, us]) => ({ fn, selfPct: round1((us / busy) * 100) })),
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

export function formatSummary(name: string, s: ProfileSummary): string {
  const lines = [
    `${name}: ${(s.sampledMs / 1000).toFixed(2)} s sampled, idle ${s.idlePct}% and profiler ${s.profilerPct}% (of all), GC ${s.gcPct}% (of busy); top self time (% of busy):`,
  ];
  for (const r of s.top) lines.push(`  ${r.selfPct.toFixed(1).padStart(5)}%  ${r.fn}`);
  return lines.join('\n');
}

function slug(name: string): string {
  return name
    .replace(/[^a-z0-9]+/gi, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase();
}

export class Profiler {
  readonly #session = new Session();
  readonly #times = new Map<string, ProfileTimes>();
  readonly #runs = new Map<string, number>();
  #connected = false;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  async start(): Promise<void> {
    if (!this.#connected) {
      this.#session.connect();
      this.#connected = true;
      await this.#session.post('Profiler.enable');
      await this.#session.post('Profiler.setSamplingInterval', { interval: 500 });
    }
    await this.#session.post('Profiler.start');
  }

  /** Stops the current run and files it under `name`; returns the file written. */
  async stop(name: string): Promise<string> {
    const { profile } = (await this.#session.post('Profiler.stop')) as { profile: CpuProfile };
    const n = (this.#runs.get(name) ?? 0) + 1;
    this.#runs.set(name, n);
    const file = path.join(this.dir, `${slug(name)}-${n}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    this.#times.set(name, profileTimes(profile, this.#times.get(name)));
    return file;
  }

  data(top = 15): Record<string, ProfileSummary> {
    return Object.fromEntries([...this.#times].map(([name, t]) => [name, summaryOf(t, top)]));
  }

  summaries(top = 15): string {
    return `${[...this.#times].map(([name, t]) => formatSummary(name, summaryOf(t, top))).join('\n\n')}\n`;
  }
}
