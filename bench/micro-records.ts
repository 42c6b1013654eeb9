/**
 * Diagnostic (not part of `npm run bench`): the cost of validating and mapping one REST market
 * record, zod route against the fast path, on the records of a generated simulator exchange.
 * Interleaved runs, median; CPU time beside wall time.
 *
 *   npx tsx --expose-gc bench/micro-records.ts [--markets 20000] [--rounds 7]
 */
import { fastMarketFromRecord } from '../src/domain/fast-market.js';
import { parseMarketRecord, parseMarketRecordWithZod } from '../src/domain/mapping.js';
import { median, parseArgsOrExit, simulatorRecordTexts } from './lib.js';

const args = parseArgsOrExit(
  process.argv.slice(2),
  { markets: { kind: 'number', default: 20_000, min: 1 }, rounds: { kind: 'number', default: 7, min: 1 } },
  'micro-records',
);
const nowMs = Date.UTC(2026, 10, 24, 12);
const texts = simulatorRecordTexts(args.markets, nowMs, 0.1);
const page = `[${texts.join(',')}]`;
const records = JSON.parse(page) as unknown[];
const now = nowMs * 1000;
let sink = 0;
const cases: [string, () => void][] = [
  ['JSON.parse (for scale)', () => void (sink += (JSON.parse(page) as unknown[]).length)],
  [
    'zod route (parseMarketRecordWithZod)',
    () => {
      for (const r of records) if (parseMarketRecordWithZod(r, now).ok) sink++;
    },
  ],
  [
    'fast path (fastMarketFromRecord)',
    () => {
      for (const r of records) if (fastMarketFromRecord(r, now) !== undefined) sink++;
    },
  ],
  [
    'parseMarketRecord (fast, else zod)',
    () => {
      for (const r of records) if (parseMarketRecord(r, now).ok) sink++;
    },
  ],
];
const wall = new Map<string, number[]>();
const cpu = new Map<string, number[]>();
const gc = (globalThis as { gc?: () => void }).gc;
for (let round = 0; round < args.rounds; round++) {
  for (const [name, fn] of cases) {
    gc?.();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    if (round === 0) continue; // warm-up
    (wall.get(name) ?? wall.set(name, []).get(name)!).push(ms);
    (cpu.get(name) ?? cpu.set(name, []).get(name)!).push((c.user + c.system) / 1000);
  }
}
process.stdout.write(
  `${records.length.toLocaleString()} simulator records (${(page.length / records.length).toFixed(0)} B each); median of ${args.rounds - 1} interleaved rounds\n`,
);
for (const [name] of cases) {
  const w = median(wall.get(name) as number[]);
  const c = median(cpu.get(name) as number[]);
  process.stdout.write(
    `${name.padEnd(40)} wall ${((w * 1e3) / records.length).toFixed(3).padStart(7)} µs/record   cpu ${((c * 1e3) / records.length).toFixed(3).padStart(7)} µs/record\n`,
  );
}
process.stdout.write(`sink ${sink > 0}\n`);
