/**
 * Diagnostic (not part of `npm run bench`): what turning a GET /markets page's bytes into text
 * costs once the page's strings are kept, as the store keeps them. Each variant runs in a fresh
 * child process (its own heap and GC history), variants interleaved, median of the rounds.
 * Every run decodes, JSON.parses and keeps three strings per record of `--pages` pages of 1000
 * simulator markets, each a fresh Buffer as from the socket; CPU is process.cpuUsage (every
 * thread, so the collector's helpers count).
 *
 *   npx tsx bench/micro-decode.ts [--pages 600] [--rounds 3]
 *
 * Why it exists: `toString('latin1')` decodes an ASCII page ~3× faster than TextDecoder, but
 * Node makes a string of more than ~1 MB an external one, and hundreds of those keep V8
 * collecting for external memory pressure; the sync pays more than the decode saves.
 */
import { isAscii } from 'node:buffer';
import { fileURLToPath } from 'node:url';
import { finish, median, parseArgsOrExit, runWorker, simulatorRecordTexts } from './lib.js';

const VARIANTS = ['textdecoder', 'latin1', 'latin1-pieces'] as const;
type Variant = (typeof VARIANTS)[number];

const args = parseArgsOrExit(
  process.argv.slice(2),
  {
    pages: { kind: 'number', default: 600, min: 1 },
    rounds: { kind: 'number', default: 3, min: 1 },
    variant: { kind: 'string', default: '' },
  },
  'micro-decode',
);

const utf8 = new TextDecoder('utf-8');
/** Below Node's threshold for external strings (EXTERN_APEX, 0xFBEE9 bytes). */
const PIECE = 0xf0000;
const decoders: Record<Variant, (b: Buffer) => string> = {
  textdecoder: (b) => utf8.decode(b),
  latin1: (b) => (isAscii(b) ? b.toString('latin1') : utf8.decode(b)),
  'latin1-pieces': (b) => {
    let out = '';
    for (let i = 0; i < b.length; i += PIECE) out += b.toString('latin1', i, Math.min(b.length, i + PIECE));
    return out;
  },
};

/** 30 distinct pages of 1000 simulator markets, as the simulator serves them. */
function pages(): Buffer[] {
  const texts = simulatorRecordTexts(30_000, Date.UTC(2026, 10, 24, 12), 0.05);
  const out: Buffer[] = [];
  for (let p = 0; p < 30; p++) {
    out.push(Buffer.from(`{"cursor":"c${p}","markets":[${texts.slice(p * 1000, (p + 1) * 1000).join(',')}]}`, 'latin1'));
  }
  return out;
}

interface Run {
  variant: Variant;
  cpuUsPerMarket: number;
  wallUsPerMarket: number;
}

function runOne(variant: Variant): Run {
  const source = pages();
  const decode = decoders[variant];
  const kept: string[] = [];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < args.pages; i++) {
    const body = Buffer.from(source[i % source.length] as Buffer);
    const page = JSON.parse(decode(body)) as { markets: { ticker: string; event_ticker: string; title: string }[] };
    for (const m of page.markets) kept.push(m.ticker, m.event_ticker, m.title);
  }
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const markets = kept.length / 3;
  return { variant, cpuUsPerMarket: (cpu.user + cpu.system) / markets, wallUsPerMarket: (wall * 1000) / markets };
}

if (args.variant !== '') {
  if (!(VARIANTS as readonly string[]).includes(args.variant)) throw new Error(`unknown variant ${args.variant}`);
  finish(runOne(args.variant as Variant));
}

const script = fileURLToPath(import.meta.url);
const runs = new Map<Variant, Run[]>(VARIANTS.map((v) => [v, []]));
for (let round = 0; round < args.rounds; round++) {
  for (const variant of VARIANTS) {
    const run = await runWorker<Run>(script, ['--variant', variant, '--pages', String(args.pages)], ['--max-semi-space-size=64']);
    runs.get(variant)?.push(run);
    process.stderr.write(`round ${round + 1}: ${variant} ${run.cpuUsPerMarket.toFixed(2)} µs CPU/market\n`);
  }
}
process.stdout.write(
  `${args.pages} pages of 1000 markets decoded, parsed, 3 strings per record kept; median of ${args.rounds} runs each, fresh process per run\n`,
);
for (const variant of VARIANTS) {
  const r = runs.get(variant) ?? [];
  const cpu = r.map((x) => x.cpuUsPerMarket);
  process.stdout.write(
    `${variant.padEnd(14)} cpu ${median(cpu).toFixed(2).padStart(6)} µs/market (${Math.min(...cpu).toFixed(2)}–${Math.max(...cpu).toFixed(2)})   wall ${median(
      r.map((x) => x.wallUsPerMarket),
    )
      .toFixed(2)
      .padStart(6)} µs/market\n`,
  );
}
