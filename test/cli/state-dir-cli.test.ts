/**
 * `--state-dir` through the CLI, as its users run it: real processes, the simulator in its own
 * process (it outlives the registry, as an exchange does), a real SQLite file. A second start is
 * warm (it says so and serves the stored markets without re-creating them) and catches up with
 * what changed while it was down; a corrupt, foreign or locked state file is exit 2 and one line
 * naming the file, never a silently empty registry.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { LOCK_FILE, STATE_FILE } from '../../src/persist/schema.js';
import { cli, cliResult, interrupt, killAll, removeDirs, startSim, tempDir, type Sim } from './processes.js';

let sim: Sim;
beforeAll(async () => {
  sim = await startSim(400);
});
afterAll(async () => {
  await sim.close();
  removeDirs();
});
afterEach(() => killAll());

const exchange = () => ['--rest-url', sim.restUrl, '--ws-url', sim.wsUrl, '--no-visualize'];
const isSynced = (l: Record<string, unknown>) => l['kind'] === 'synced';

describe('--state-dir through the CLI', () => {
  it('a restart is warm: it says so, emits no created change for the stored markets, catches up with a change made while it was down', async () => {
    const dir = tempDir();
    // 1. Cold: every market is created, and stored.
    const first = cli([...exchange(), '--state-dir', dir, '--json', '--log-level', 'warn']);
    const cold = await first.waitLine(isSynced);
    expect(cold).toMatchObject({ warm: false, loaded: 0 });
    const markets = cold['markets'] as number;
    expect(markets).toBeGreaterThan(0);
    expect(first.lines().filter((l) => l['kind'] === 'change' && l['eventType'] === 'created')).toHaveLength(markets);
    expect((await interrupt(first)).code, first.stderr()).toBe(0);

    // 2. While it is down the exchange moves on.
    const ticker = await sim.openTicker();
    await sim.control('deactivate', ticker);

    // 3. Warm: loaded from the file (the log line says how many), caught up by a delta.
    const second = cli([...exchange(), '--state-dir', dir, '--json', '--log-level', 'info']);
    const [, loadedCount] = await second.waitErr(/"markets":(\d+)[^\n]*"msg":"state loaded: warm start"/);
    expect(Number(loadedCount)).toBe(markets);
    const warm = await second.waitLine(isSynced);
    expect(warm).toMatchObject({ warm: true, loaded: markets, markets });
    const lines = second.lines();
    const before = lines.slice(0, lines.findIndex(isSynced));
    // Nothing re-created: the stored markets are served as they were, only real differences emitted.
    expect(before.filter((l) => l['kind'] === 'change' && l['eventType'] === 'created')).toEqual([]);
    // The change made while it was down: from the delta before `synced` or the verification pass after it.
    const caughtUp = await second.waitLine((l) => l['kind'] === 'change' && l['ticker'] === ticker);
    expect(caughtUp).toMatchObject({ eventType: 'status_change', oldStatus: 'active', newStatus: 'inactive' });
    expect((await interrupt(second)).code, second.stderr()).toBe(0);

    // 4. The human view says it in words, before the synced line; a second registry on the same directory is refused.
    const third = cli([...exchange(), '--state-dir', dir]);
    const [, loaded, file] = await third.waitErr(/^state: warm start, ([\d,]+) markets loaded in [\d,]+ ms from (\S+); serving them while catching up$/m);
    expect(Number((loaded as string).replace(/,/g, ''))).toBe(markets);
    expect(file).toBe(join(dir, STATE_FILE));
    const syncedLine = await third.waitErr(/^synced [\d,]+ markets in [\d.]+ s \(warm: ([\d,]+) loaded, caught up in [\d,]+ pages\)$/m);
    expect(third.stderr().indexOf('state: warm start')).toBeLessThan(third.stderr().indexOf(syncedLine[0]));
    const locked = await cliResult([...exchange(), '--state-dir', dir]);
    expect(locked.code, locked.stderr).toBe(2);
    const lockLines = locked.stderr.trim().split('\n');
    expect(lockLines).toHaveLength(1);
    expect(lockLines[0]).toMatch(
      new RegExp(`^market-registry: state directory: ${join(dir, LOCK_FILE).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: in use by process \\d+`),
    );
    expect((await interrupt(third)).code, third.stderr()).toBe(0);
  }, 90_000);

  it('a corrupt, a foreign or an unusable state file: exit 2, one line naming the file, the file left as it was', async () => {
    const garbage = tempDir();
    const garbageFile = join(garbage, STATE_FILE);
    const bytes = Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 13) % 251));
    writeFileSync(garbageFile, bytes);

    const foreign = tempDir();
    const foreignFile = join(foreign, STATE_FILE);
    const db = new Database(foreignFile);
    db.exec('CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES (1)');
    db.close();

    const notADir = join(tempDir(), 'plain-file');
    writeFileSync(notADir, 'not a directory\n');

    const cases: [string, string, RegExp][] = [
      [garbage, garbageFile, /not an SQLite database/],
      [foreign, foreignFile, /not written by kalshi-market-registry/],
      [notADir, notADir, /exists and is not a directory/],
    ];
    const results = await Promise.all(cases.map(([dir]) => cliResult([...exchange(), '--state-dir', dir, '--json'])));
    results.forEach((r, i) => {
      const [, file, why] = cases[i] as [string, string, RegExp];
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`market-registry: state directory: ${file}: `);
      expect(lines[0]).toMatch(why);
    });
    expect(readFileSync(garbageFile).equals(bytes)).toBe(true);
  }, 60_000);

  it('flag errors are one line and exit 2: --state-dir with the embedded simulator, with --no-state-dir, empty', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['--state-dir', tempDir()],
        /^market-registry: --state-dir needs a real exchange \(--env or --rest-url\): the embedded simulator makes a new market universe/,
      ],
      [
        ['--rest-url', 'http://127.0.0.1:1/trade-api/v2', '--state-dir', '/tmp/x', '--no-state-dir'],
        /^market-registry: --state-dir and --no-state-dir contradict each other\. See --help\.$/,
      ],
      [['--rest-url', 'http://127.0.0.1:1/trade-api/v2', '--state-dir='], /^market-registry: --state-dir is empty\. See --help\.$/],
    ];
    const results = await Promise.all(cases.map(([args]) => cliResult(args)));
    results.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch((cases[i] as [string[], RegExp])[1]);
    });
  }, 30_000);
});

describe('the state directory is created when missing', () => {
  it('a nested directory that does not exist yet: cold start, said in one line', async () => {
    const dir = join(tempDir(), 'a', 'b');
    const p = cli([...exchange(), '--state-dir', dir]);
    await p.waitErr(new RegExp(`^state: cold start, writing to ${join(dir, STATE_FILE).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'));
    await p.waitErr(/^synced /m);
    expect((await interrupt(p)).code, p.stderr()).toBe(0);
  }, 30_000);
});
