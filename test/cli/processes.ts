/**
 * Child processes for the CLI's durable and shared tests: the CLI itself (`node --import tsx
 * src/cli/main.ts`), the simulator on its own (src/sim/main.ts, so the exchange outlives a
 * registry restart), and helpers that read their NDJSON and stderr. Every child is tracked and
 * killed by pid in `killAll()` (afterEach), so a failing test leaves nothing running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'src/cli/main.ts');
const SIM = join(ROOT, 'src/sim/main.ts');
/** No credentials from the developer's environment (the tests give --rest-url, so no default state directory applies). */
const ENV: NodeJS.ProcessEnv = { ...process.env, KALSHI_API_KEY_ID: '', KALSHI_PRIVATE_KEY_PATH: '' };

const children = new Set<ChildProcess>();
const dirs: string[] = [];

function track<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** SIGKILL every child still running (by its pid). */
export function killAll(): void {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
}

export function removeDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function tempDir(prefix = 'registry-cli-durable-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** A child whose stdout and stderr are collected from the start (read them any time). */
export interface Proc {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `re` in stdout (or stderr), reading what came before too. */
  waitOut(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  waitErr(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Parsed NDJSON lines of stdout so far. */
  lines(): Record<string, unknown>[];
  /** The first NDJSON line of stdout satisfying `pred`, waiting for it. */
  waitLine(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Exit code and signal, once the child exited and its pipes closed. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function proc(child: ChildProcess): Proc {
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  child.stdout?.on('data', (d) => {
    out += String(d);
    wake();
  });
  child.stderr?.on('data', (d) => {
    err += String(d);
    wake();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      wake();
      resolve({ code, signal });
    });
  });
  let closed = false;
  void exited.then(() => (closed = true));
  const until = <T>(what: string, probe: () => T | null, timeoutMs: number): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${what} within ${timeoutMs} ms; stdout:\n${out.slice(-2000)}\nstderr:\n${err.slice(-2000)}`)),
        timeoutMs,
      );
      const check = () => {
        const hit = probe();
        if (hit !== null) {
          clearTimeout(timer);
          resolve(hit);
        } else if (closed) {
          clearTimeout(timer);
          reject(new Error(`exited before ${what}; stdout:\n${out.slice(-2000)}\nstderr:\n${err.slice(-2000)}`));
        } else waiters.push(check);
      };
      check();
    });
  const lines = () =>
    out
      .split('\n')
      .slice(0, -1) // the last piece is an incomplete line (or '')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitOut: (re, timeoutMs = 30_000) => until(String(re), () => re.exec(out), timeoutMs),
    waitErr: (re, timeoutMs = 30_000) => until(String(re), () => re.exec(err), timeoutMs),
    lines,
    waitLine: (pred, timeoutMs = 30_000) => until('a matching NDJSON line', () => lines().find(pred) ?? null, timeoutMs),
    exited,
  };
}

/** `market-registry ARGS…` as a child process. */
export function cli(args: readonly string[], env: NodeJS.ProcessEnv = ENV): Proc {
  return proc(track(spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })));
}

/** Runs the CLI to its end (bounded) and returns what it printed. */
export async function cliResult(args: readonly string[], timeoutMs = 20_000, env: NodeJS.ProcessEnv = ENV) {
  const p = cli(args, env);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await p.exited;
  clearTimeout(timer);
  return { code, signal, stdout: p.stdout(), stderr: p.stderr() };
}

/** Sends SIGINT and waits for the exit. */
export async function interrupt(p: Proc): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  p.child.kill('SIGINT');
  return p.exited;
}

/** The simulator in its own process (it outlives the registries under test). */
export interface Sim {
  readonly restUrl: string;
  readonly wsUrl: string;
  /** POST /_sim/control: a lifecycle operation, e.g. control('deactivate', ticker). */
  control(op: string, ...args: unknown[]): Promise<unknown>;
  /** A ticker the simulator reports as open (active). */
  openTicker(): Promise<string>;
  close(): Promise<void>;
}

export async function startSim(markets: number): Promise<Sim> {
  // Not tracked: it lives for a whole file (beforeAll … afterAll), across killAll() after each test.
  const p = proc(
    spawn(process.execPath, ['--import', 'tsx', SIM, '--markets', String(markets), '--port', '0', '--seed', '7', '--combo-share', '0', '--log-level', 'warn'], {
      cwd: ROOT,
      env: ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const line = await p.waitLine((l) => typeof l['restUrl'] === 'string');
  const restUrl = line['restUrl'] as string;
  const base = restUrl.replace(/\/trade-api\/v2$/, '');
  return {
    restUrl,
    wsUrl: line['wsUrl'] as string,
    async control(op, ...args) {
      const res = await fetch(`${base}/_sim/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ op, args }) });
      const body: unknown = await res.json();
      if (!res.ok) throw new Error(`sim control ${op}: ${res.status} ${JSON.stringify(body)}`);
      return body;
    },
    async openTicker() {
      const res = await fetch(`${restUrl}/markets?status=open&limit=1`);
      const body = (await res.json()) as { markets: { ticker: string }[] };
      const first = body.markets[0];
      if (first === undefined) throw new Error('the simulator has no open market');
      return first.ticker;
    },
    async close() {
      const kill = setTimeout(() => p.child.kill('SIGKILL'), 5_000);
      p.child.kill('SIGTERM');
      await p.exited;
      clearTimeout(kill);
    },
  };
}
