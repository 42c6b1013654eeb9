/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): top functions by self time and by
 * inclusive ("total") time, with file:line, as % of the sampled time.
 *
 *   npx tsx bench/profile-summary.ts FILE.cpuprofile [--top 30] [--filter src/]
 *
 * Profile the benchmark's workers with BENCH_WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR".
 */
import { readFileSync } from 'node:fs';
import { flags, numFlag } from './lib.js';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: profile-summary FILE.cpuprofile [--top N] [--filter TEXT]');
const f = flags(process.argv.slice(3));
const top = numFlag(f, 'top', 30);
const filter = typeof f.get('filter') === 'string' ? (f.get('filter') as string) : '';
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map<number, Node>();
for (const n of p.nodes) byId.set(n.id, n);
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfUs = new Map<number, number>();
let total = 0;
p.samples.forEach((id, i) => {
  const dt = p.timeDeltas[i] ?? 0;
  total += dt;
  selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
});

const key = (n: Node): string => {
  const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/.*\/work\/main\//, '').replace(/.*node_modules\//, 'nm:');
  return `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
};

const self = new Map<string, number>();
const incl = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id) as Node;
  self.set(key(n), (self.get(key(n)) ?? 0) + us);
  // inclusive: add to each distinct function on the stack once
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = key(byId.get(cur) as Node);
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + us);
  }
}

const idle = [...self].filter(([k]) => k.startsWith('(idle)') || k.startsWith('(program)') || k.startsWith('(garbage collector)'));
const busy = total - idle.filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
const pct = (us: number): string => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
process.stdout.write(`sampled ${(total / 1e6).toFixed(2)} s, busy (non-idle) ${(busy / 1e6).toFixed(2)} s; percentages are of busy time\n`);
for (const [k, v] of idle) process.stdout.write(`  ${k.split(' ')[0]}: ${pct(v)}\n`);
const show = (title: string, m: Map<string, number>): void => {
  process.stdout.write(`\n${title}\n`);
  [...m]
    .filter(([k]) => !filter || k.includes(filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([k, v]) => process.stdout.write(`${pct(v)}  ${k}\n`));
};
show('self time', self);
show('inclusive time', incl);
