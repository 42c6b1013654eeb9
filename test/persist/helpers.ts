/** Shared set-up for the state-directory tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MarketChange, MarketStatus } from '../../src/domain/types.js';
import { MARKET_TRANSITIONS } from '../../src/lifecycle/transition-table.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../..');

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ChildLine {
  readonly kind: 'change' | 'synced';
  readonly ticker?: string;
  readonly eventType?: MarketChange['eventType'];
  readonly oldStatus?: MarketStatus | null;
  readonly newStatus?: MarketStatus;
}

/** The registry of test/persist/fixtures/registry-child.ts in a process of its own. */
export interface RegistryChild {
  readonly child: ChildProcess;
  readonly lines: ChildLine[];
  readonly stderr: string[];
  kill9(): Promise<void>;
}

export function spawnRegistryChild(args: string[]): RegistryChild {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(HERE, 'fixtures/registry-child.ts'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: ChildLine[] = [];
  const stderr: string[] = [];
  let rest = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    rest += chunk;
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (line.trim() !== '') lines.push(JSON.parse(line) as ChildLine);
    }
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => stderr.push(chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    lines,
    stderr,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * Checks that `changes`, applied to `from` (each market's status before them), is a chain of
 * legal steps per market: every change starts where the market stood, moves along the
 * statechart, and `created` only for markets not in `from`. Returns the statuses after them.
 */
export function replayFrom(
  from: ReadonlyMap<string, MarketStatus>,
  changes: readonly Pick<MarketChange, 'ticker' | 'eventType' | 'oldStatus' | 'newStatus'>[],
): Map<string, MarketStatus> {
  const status = new Map(from);
  for (const c of changes) {
    const before = status.get(c.ticker);
    if (c.eventType === 'created') {
      if (before !== undefined) throw new Error(`${c.ticker}: created, but it was known (${before})`);
    } else {
      if (before !== c.oldStatus) throw new Error(`${c.ticker}: ${c.eventType} from ${c.oldStatus}, but it stood at ${before}`);
      if (MARKET_TRANSITIONS[c.oldStatus][`observed:${c.newStatus}`] !== c.newStatus)
        throw new Error(`${c.ticker}: ${c.oldStatus} → ${c.newStatus} is not a legal step`);
    }
    status.set(c.ticker, c.newStatus);
  }
  return status;
}
