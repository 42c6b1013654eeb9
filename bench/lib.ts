/**
 * Shared helpers of the benchmark: child processes that announce themselves with one JSON line on
 * stdout, progress on stderr, GC'd heap readings, small formatting helpers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Market } from '../src/domain/types.js';
import { asCountE2, asPriceE4 } from '../src/domain/units.js';
import { generateStore } from '../src/sim/store.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Progress line on stderr (stdout of workers carries the result). */
export function progress(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function nowMs(): number {
  return performance.now();
}

/** Polls `check` every `everyMs` until it is true; throws after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 600_000, everyMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

const liveChildren = new Set<ChildProcess>();

/** Kills every child this process started (by pid) — used on errors and signals. */
export function killChildren(): void {
  for (const c of liveChildren) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  }
}

let handlersInstalled = false;
function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const onSignal = (sig: NodeJS.Signals): void => {
    killChildren();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killChildren);
}

export interface Child<T> {
  readonly proc: ChildProcess;
  /** The first JSON line the child printed. */
  readonly hello: T;
  /** Further stdout lines (JSON results of workers). */
  readonly lines: AsyncIterableIterator<string>;
  kill(): Promise<void>;
}

/**
 * Starts `node [nodeArgs] --import tsx script args` from the project root and waits for its first
 * stdout line (parsed as JSON). stderr is passed through (progress, logs).
 */
export async function startChild<T>(script: string, args: string[], nodeArgs: string[] = [], timeoutMs = 600_000): Promise<Child<T>> {
  installHandlers();
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  liveChildren.add(proc);
  proc.once('exit', () => liveChildren.delete(proc));
  const rl = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  const lines = rl[Symbol.asyncIterator]();
  const exited = once(proc, 'exit').then(([code, sig]) => {
    throw new Error(`${script} exited (${code ?? sig}) before printing its first line`);
  });
  exited.catch(() => {});
  const timer = setTimeout(() => proc.kill('SIGTERM'), timeoutMs);
  try {
    const first = await Promise.race([lines.next(), exited]);
    if (first.done) throw new Error(`${script} closed stdout without output`);
    const hello = JSON.parse(first.value) as T;
    return {
      proc,
      hello,
      lines,
      async kill() {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
        await once(proc, 'exit').catch(() => {});
        clearTimeout(t);
      },
    };
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a worker to completion and returns the JSON it printed as its (single) stdout line. */
export async function runWorker<T>(script: string, args: string[], nodeArgs: string[] = [], timeoutMs = 900_000): Promise<T> {
  const child = await startChild<T>(script, args, nodeArgs, timeoutMs);
  const [code] = (await once(child.proc, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${script} ${args.join(' ')} exited with code ${code}`);
  return child.hello;
}

/**
 * Memory after full GCs (needs --expose-gc): the V8 heap and the ArrayBuffer backing stores
 * (typed arrays, Buffers), which live outside it; `total` is their sum.
 */
export async function gcMemory(): Promise<{ heapUsed: number; arrayBuffers: number; total: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(20);
  }
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, total: m.heapUsed + m.arrayBuffers };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function fmtNum(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** One flag of a bench script: its kind, its default, and for `choice`/`list` the words allowed. */
export type FlagSpec =
  | { readonly kind: 'number'; readonly default: number; readonly min?: number; readonly help?: string }
  | { readonly kind: 'string'; readonly default: string; readonly help?: string }
  | { readonly kind: 'boolean'; readonly help?: string }
  | { readonly kind: 'list'; readonly default: readonly string[]; readonly values: readonly string[]; readonly help?: string };

export type FlagValues<S extends Record<string, FlagSpec>> = {
  [K in keyof S]: S[K] extends { kind: 'number' }
    ? number
    : S[K] extends { kind: 'string' }
      ? string
      : S[K] extends { kind: 'boolean' }
        ? boolean
        : readonly string[];
};

/** An argument error: the bench says what is wrong in one line and exits 2 (nothing was started). */
export class ArgError extends Error {}

/**
 * Strict `--name value` / `--name=value` parsing: an unknown flag, a positional argument, a
 * missing or malformed value is an ArgError (never a silent default that starts a 1M run).
 */
export function parseArgs<S extends Record<string, FlagSpec>>(argv: readonly string[], spec: S): FlagValues<S> {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(spec)) out[name] = f.kind === 'boolean' ? false : f.default;
  const known = Object.keys(spec);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) throw new ArgError(`unexpected argument "${a}" (flags start with --; known: ${known.map((k) => `--${k}`).join(', ')})`);
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const f = spec[name];
    if (f === undefined) {
      const close = known.find((k) => k.startsWith(name.slice(0, 3)) || name.startsWith(k.slice(0, 3)));
      throw new ArgError(`unknown flag --${name}${close ? ` (did you mean --${close}?)` : ''}; known: ${known.map((k) => `--${k}`).join(', ')}`);
    }
    if (f.kind === 'boolean') {
      if (eq > 0) throw new ArgError(`--${name} takes no value`);
      out[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq > 0) value = a.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new ArgError(`--${name} needs a value`);
      i++;
    }
    if (f.kind === 'number') {
      const n = Number(value.replace(/_/g, ''));
      if (value.trim() === '' || !Number.isFinite(n) || (f.min !== undefined && n < f.min))
        throw new ArgError(`--${name} must be a number${f.min !== undefined ? ` ≥ ${f.min}` : ''}, got "${value}"`);
      out[name] = n;
    } else if (f.kind === 'string') {
      out[name] = value;
    } else {
      const items = value
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
      const bad = items.filter((x) => !f.values.includes(x));
      if (items.length === 0 || bad.length > 0) throw new ArgError(`--${name}: unknown ${bad.join(', ') || '(empty)'} (known: ${f.values.join(', ')})`);
      out[name] = items;
    }
  }
  return out as FlagValues<S>;
}

/** parseArgs, exiting 2 with the message on an argument error. */
export function parseArgsOrExit<S extends Record<string, FlagSpec>>(argv: readonly string[], spec: S, program: string): FlagValues<S> {
  try {
    return parseArgs(argv, spec);
  } catch (err) {
    if (!(err instanceof ArgError)) throw err;
    process.stderr.write(`${program}: ${err.message}\n`);
    process.exit(2);
  }
}

/** min, median, max. */
export function spread(xs: readonly number[]): { median: number; min: number; max: number; n: number } {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/** Prints the worker's result (one JSON line on stdout) and exits. */
export function finish(result: unknown): never {
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

/**
 * Market i of the in-process micro benches (bench/micro-*.ts): eight markets per event, fixed
 * prices, opened a day before `nowMicros` and closing 30 days after it unless `closeTs` says
 * otherwise; `active` markets are open, the others finalized.
 */
export function benchMarket(i: number, nowMicros: number, active: boolean, closeTs: number = nowMicros + 30 * 86_400e6): Market {
  return {
    ticker: `KXBENCH-26NOV24-T${i}`,
    eventTicker: `KXBENCH-26NOV24-${i >> 3}`,
    title: `Will the bench market ${i >> 3} resolve yes?`,
    marketStatus: active ? 'active' : 'finalized',
    tradingStatus: active ? 'open' : 'settled',
    marketType: 'binary',
    result: '',
    yesBid: asPriceE4(4500),
    yesAsk: asPriceE4(4600),
    lastPrice: asPriceE4(4550),
    volume: asCountE2(123_400),
    openTs: nowMicros - 86_400e6,
    closeTs,
    expirationTs: nowMicros + 31 * 86_400e6,
    updatedAt: nowMicros,
  };
}

/**
 * The records of a generated simulator exchange as the simulator serves them, one JSON text per
 * market (every status, one to twelve markets per event, `comboShare` of them combos), for the
 * in-process micro benches that need real-looking GET /markets records.
 */
export function simulatorRecordTexts(markets: number, nowMs: number, comboShare: number): string[] {
  const store = generateStore({
    markets,
    seed: 7,
    marketsPerEvent: { min: 1, max: 12 },
    statusMix: { initialized: 1, active: 3, inactive: 1, closed: 1, determined: 1, disputed: 1, amended: 1, finalized: 5 },
    bumpOnImplicit: false,
    nowMs,
    comboShare,
  });
  const texts: string[] = [];
  for (let i = 0; i < store.count; i++) {
    store.effStatus(i, nowMs);
    texts.push(store.marketJson(i));
  }
  return texts;
}
