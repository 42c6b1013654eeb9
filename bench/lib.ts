/**
 * Shared helpers of the benchmark: child processes that announce themselves with one JSON line on
 * stdout, progress on stderr, GC'd heap readings, small formatting helpers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

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

/** heapUsed after a full GC (needs --expose-gc). */
export async function gcHeapUsed(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(20);
  }
  return process.memoryUsage().heapUsed;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function fmtNum(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Reads `--name value` flags into a map (booleans for flags without a value). */
export function flags(argv: readonly string[]): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq > 0) {
      out.set(a.slice(2, eq), a.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      out.set(a.slice(2), next);
      i++;
    } else out.set(a.slice(2), true);
  }
  return out;
}

export function numFlag(f: Map<string, string | true>, name: string, dflt: number): number {
  const v = f.get(name);
  if (v === undefined || v === true) return dflt;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${v}`);
  return n;
}

export function strFlag(f: Map<string, string | true>, name: string): string {
  const v = f.get(name);
  if (typeof v !== 'string') throw new Error(`--${name} is required`);
  return v;
}

/** Prints the worker's result (one JSON line on stdout) and exits. */
export function finish(result: unknown): never {
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}
