/**
 * The CLI as its users run it: real processes (`node src/cli/main.ts`, `npm start`, a shell
 * pipeline), real ports on 127.0.0.1, real signals. Every child is bounded in time and killed
 * (by pid) if a test fails; `npm start` descendants are tracked through /proc so an orphan
 * cannot outlive the test.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch, writeFileSync, chmodSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'src/cli/main.ts');
const ENV = { ...process.env, KALSHI_API_KEY_ID: '', KALSHI_PRIVATE_KEY_PATH: '' };

const children = new Set<ChildProcess>();
const groups = new Set<number>();
const strays = new Set<number>();
const dirs: string[] = [];

function track<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
afterEach(() => {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
  for (const g of groups) if (alive(g)) process.kill(-g, 'SIGKILL');
  groups.clear();
  for (const pid of strays) if (alive(pid)) process.kill(pid, 'SIGKILL');
  strays.clear();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'registry-cli-proc-'));
  dirs.push(d);
  return d;
}

function cli(args: string[], env: NodeJS.ProcessEnv = ENV): ChildProcess {
  return track(spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Resolves when the child has exited and its pipes are closed; fails after timeoutMs. */
function finished(child: ChildProcess, timeoutMs = 15_000): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += String(d)));
  child.stderr?.on('data', (d) => (stderr += String(d)));
  const result = new Promise<Finished>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms; stderr:\n${stderr.slice(-2000)}`)), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  result.catch(() => {}); // a test that failed earlier no longer awaits it
  return result;
}

/** Waits until the text read from `stream` matches `re`. */
function waitFor(stream: Readable, re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.off('data', onData);
      reject(new Error(`no ${re} within ${timeoutMs} ms in:\n${text.slice(-2000)}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      text += String(d);
      const m = re.exec(text);
      if (m) {
        clearTimeout(timer);
        stream.off('data', onData);
        resolve(m);
      }
    };
    stream.on('data', onData);
  });
}

/** Every process below `pid` (Linux /proc), so none can be left running. */
function descendants(pid: number): number[] {
  if (!existsSync('/proc')) return [];
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(entry), ppid);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift() as number;
    for (const [child, pp] of parent) {
      if (pp === p) {
        out.push(child);
        queue.push(child);
      }
    }
  }
  return out;
}

async function waitUntil(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function listen(port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null)); // taken by someone else: just as taken
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);

describe('ports', () => {
  let held: Server;
  let heldPort: number;
  let heldDefault: Server | null;
  beforeAll(async () => {
    held = (await listen(0)) as Server;
    heldPort = (held.address() as AddressInfo).port;
    heldDefault = await listen(8420);
  });
  afterAll(() => {
    held.close();
    heldDefault?.close();
  });

  it('a taken default visualizer port falls back to a free one and says so in one line', async () => {
    const child = cli(['--json', '--sim-markets', '50', '--sim-events-per-sec', '0', '--no-ws', '--log-level', 'warn']);
    const done = finished(child, 30_000);
    const [, port] = await waitFor(child.stderr as Readable, /^visualizer: http:\/\/127\.0\.0\.1:(\d+)\/ \(port 8420 is in use\)$/m);
    expect(Number(port)).not.toBe(8420);
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(await res.text()).toBe('ok\n');
    child.kill('SIGTERM');
    const { code, stderr } = await done;
    expect(code, stderr).toBe(0);
    expect(stderr.split('\n').filter((l) => l.includes('8420'))).toHaveLength(1);
    noStack(stderr);
  });

  it('a taken explicit port (--visualize, --sim-port) or a --snapshot-out in a missing directory: exit 2, one line, before anything starts', async () => {
    const cases: [string[], string][] = [
      [
        ['--visualize', String(heldPort)],
        `market-registry: --visualize ${heldPort}: 127.0.0.1:${heldPort} is already in use; give another port (0 = any free one)`,
      ],
      [
        ['--sim-port', String(heldPort)],
        `market-registry: --sim-port ${heldPort}: 127.0.0.1:${heldPort} is already in use; give another port (0 = any free one)`,
      ],
      [['--snapshot-out', '/no/such/dir/f'], 'market-registry: --snapshot-out: directory /no/such/dir does not exist'],
    ];
    const results = await Promise.all(cases.map(([args]) => finished(cli([...args, '--sim-markets', '200000']), 10_000)));
    results.forEach(({ code, stdout, stderr }, i) => {
      expect(code, stderr).toBe(2);
      expect(stdout).toBe('');
      expect(stderr.trim().split('\n')).toEqual([(cases[i] as [string[], string])[1]]);
    });
  });
});

describe('npm start and stdout', () => {
  it('npm start passes SIGTERM on: the registry stops, writes the snapshot, exits 0, leaves no process behind; stdout is NDJSON only', async () => {
    const snapshot = join(tempDir(), 'markets.ndjson');
    const npm = track(
      spawn(
        'npm',
        [
          'start',
          '--silent',
          '--',
          '--json',
          '--sim-markets',
          '300',
          '--no-visualize',
          '--sim-events-per-sec',
          '0',
          '--snapshot-out',
          snapshot,
          '--log-level',
          'warn',
        ],
        {
          cwd: ROOT,
          env: ENV,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      ),
    );
    const done = finished(npm, 30_000);
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
    await waitFor(npm.stdout, /"kind":"synced"/, 30_000);
    const below = descendants(npm.pid as number);
    for (const pid of below) strays.add(pid);
    expect(below.length).toBeGreaterThan(0);
    npm.kill('SIGTERM'); // to npm only, as systemd (KillMode=mixed), CI runners and `kill PID` do
    expect(await exited).toBe(0);
    // An orphan would keep running (and keep npm's pipes open): every process below npm must exit.
    await waitUntil('every process under npm to exit', () => below.every((pid) => !alive(pid)));
    const { stdout, stderr } = await done;
    expect(stderr).not.toMatch(/\n\s+at /);
    for (const line of stdout.trimEnd().split('\n')) expect(() => JSON.parse(line), line).not.toThrow();
    expect(readFileSync(snapshot, 'utf8').trimEnd().split('\n')).toHaveLength(300);
  });

  it('`npm start --silent -- --json | head -3` ends quietly with exit 0', async () => {
    const pipeline = track(
      spawn(
        'bash',
        ['-c', 'set -o pipefail; npm start --silent -- --json --sim-markets 3000 --no-visualize --sim-events-per-sec 0 --log-level warn | head -3'],
        {
          cwd: ROOT,
          env: ENV,
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true, // its own process group, killed as one if the test fails
        },
      ),
    );
    groups.add(pipeline.pid as number);
    const { code, stdout, stderr } = await finished(pipeline, 30_000);
    expect(code, stderr).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(stderr).not.toMatch(/EPIPE/);
    noStack(stderr);
  });
});

describe('--combos', () => {
  it('exclude keeps combo (KXMVE…) markets out of the registry; include (the default) has them', async () => {
    const run = async (extra: string[]) => {
      const snapshot = join(tempDir(), 'markets.ndjson');
      const child = cli([
        '--json',
        '--sim-markets',
        '400',
        '--no-visualize',
        '--sim-events-per-sec',
        '0',
        '--log-level',
        'warn',
        '--snapshot-out',
        snapshot,
        ...extra,
      ]);
      const done = finished(child, 30_000);
      await waitFor(child.stdout as Readable, /"kind":"synced"/, 30_000);
      child.kill('SIGTERM');
      const { code, stdout, stderr } = await done;
      expect(code, stderr).toBe(0);
      // The synced line follows the sync's changes.
      const kinds = stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { kind: string; eventType?: string });
      const syncedAt = kinds.findIndex((k) => k.kind === 'synced');
      expect(kinds.slice(0, syncedAt).filter((k) => k.eventType === 'created').length).toBeGreaterThan(0);
      expect(kinds.slice(syncedAt).filter((k) => k.eventType === 'created')).toEqual([]);
      return readFileSync(snapshot, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { ticker: string }).ticker);
    };
    const [included, excluded] = await Promise.all([run([]), run(['--combos', 'exclude'])]);
    expect(included).toHaveLength(400);
    expect(included.filter((t) => t.startsWith('KXMVE')).length).toBeGreaterThan(0);
    expect(excluded.filter((t) => t.startsWith('KXMVE'))).toEqual([]);
    expect(excluded.length).toBe(included.filter((t) => !t.startsWith('KXMVE')).length);
  });
});

describe('no secret in any message', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const PEM_LINES = PEM.split('\n').filter((l) => l && !l.startsWith('-----'));
  const PASSWORD = 'pw-Zq8sEcret';
  const signatures: string[] = [];
  let exchange: HttpServer;
  let exchangePort: number;
  let keyFile: string;

  beforeAll(async () => {
    // An exchange that refuses the signature and echoes it back in the error body (some proxies do).
    exchange = createHttpServer((req, res) => {
      const sig = String(req.headers['kalshi-access-signature'] ?? '');
      if (sig) signatures.push(sig);
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'invalid signature', 'KALSHI-ACCESS-SIGNATURE': sig, authorization: req.headers.authorization ?? null }));
    });
    await new Promise<void>((r) => exchange.listen(0, '127.0.0.1', r));
    exchangePort = (exchange.address() as AddressInfo).port;
    keyFile = join(tempDir(), 'kalshi.pem');
    writeFileSync(keyFile, PEM);
    chmodSync(keyFile, 0o644);
  });
  afterAll(() => {
    exchange.close();
  });

  function expectNoSecret(output: string): void {
    expect(output).not.toContain(PASSWORD);
    expect(output).not.toContain(encodeURIComponent(PASSWORD));
    for (const line of PEM_LINES) expect(output).not.toContain(line.slice(0, 24));
    for (const sig of signatures) expect(output).not.toContain(sig.slice(0, 24));
    expect(output).not.toMatch(/-----BEGIN/);
  }

  it('through every CLI and auth error path', async () => {
    const restUrl = `http://alice:${PASSWORD}@127.0.0.1:${exchangePort}/trade-api/v2`;
    const cases: [string, string[], NodeJS.ProcessEnv, number][] = [
      [
        'signed request refused, body echoes the signature; URL with a password',
        ['--rest-url', restUrl, '--no-ws', '--key-id', 'key-id-1', '--private-key-file', keyFile],
        ENV,
        3,
      ],
      ['unreachable URL with a password', ['--rest-url', `http://alice:${PASSWORD}@127.0.0.1:9/trade-api/v2`, '--no-ws'], ENV, 3],
      ['PEM text as --private-key-file', ['--rest-url', restUrl, '--key-id', 'k', '--private-key-file', PEM], ENV, 1],
      ['PEM text in KALSHI_PRIVATE_KEY_PATH', ['--rest-url', restUrl], { ...ENV, KALSHI_API_KEY_ID: 'k', KALSHI_PRIVATE_KEY_PATH: PEM }, 1],
      ['PEM text and a URL with a password as stray arguments', [PEM, restUrl], ENV, 2],
    ];
    const results = await Promise.all(cases.map(([, args, env]) => finished(cli(args, env), 25_000)));
    expect(signatures.length).toBeGreaterThan(0); // the signed path was really taken
    results.forEach(({ code, stdout, stderr }, i) => {
      const [what, , , expected] = cases[i] as (typeof cases)[number];
      expect(code, `${what}: ${stderr}`).toBe(expected);
      expectNoSecret(stdout + stderr);
      noStack(stderr);
    });
    // The signed case also warned, in one line, that the key file is readable by others.
    expect((results[0] as Finished).stderr.split('\n').filter((l) => l.includes('chmod 600'))).toEqual([
      `market-registry: warning: the Kalshi private key file ${keyFile} is accessible by group or others (mode 0644): run chmod 600 on it`,
    ]);
  });
});

describe('signals during the snapshot write', () => {
  /** Starts the CLI with a large snapshot to write; resolves once the initial sync is done. */
  async function startWithSnapshot(markets: number): Promise<{ child: ChildProcess; dir: string; file: string; done: Promise<Finished> }> {
    const dir = tempDir();
    const file = join(dir, 'markets.ndjson');
    writeFileSync(file, 'OLD\n');
    const child = cli([
      '--sim-markets',
      String(markets),
      '--no-visualize',
      '--no-ws',
      '--sim-events-per-sec',
      '0',
      '--snapshot-out',
      file,
      '--log-level',
      'info',
    ]);
    const done = finished(child, 50_000);
    await waitFor(child.stderr as Readable, /^synced \d|"msg":"synced"/m, 50_000);
    return { child, dir, file, done };
  }

  /** Resolves as soon as anything is written in `dir`: the temporary file, or (old code) the file itself. */
  function writeStarts(dir: string): Promise<void> {
    return new Promise((resolve) => {
      const watcher = watch(dir, (_event, name) => {
        if (name && (name.endsWith('.tmp') || name === 'markets.ndjson')) {
          watcher.close();
          resolve();
        }
      });
    });
  }

  it('stopped before the initial sync finished: the previous snapshot is kept, not replaced by a partial one', async () => {
    const dir = tempDir();
    const file = join(dir, 'markets.ndjson');
    writeFileSync(file, 'OLD\n');
    const child = cli(['--sim-markets', '50000', '--no-visualize', '--no-ws', '--snapshot-out', file, '--log-level', 'warn']);
    const done = finished(child, 30_000);
    await waitFor(child.stderr as Readable, /^simulated exchange: /m);
    child.kill('SIGTERM');
    const { code, stderr } = await done;
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/^snapshot: not written \(stopped before the initial sync finished\)/m);
    expect(readFileSync(file, 'utf8')).toBe('OLD\n');
    expect(readdirSync(dir)).toEqual(['markets.ndjson']);
  });

  // Signals in quick succession. A repeat of the previous signal within 50 ms counts once (npm
  // forwards the terminal's Ctrl-C), so they alternate: SIGTERM to stop, then SIGINT and SIGTERM.
  it('a second signal while the snapshot is written says "stopping, please wait"; the snapshot completes, exit 0', async () => {
    const { child, dir, file, done } = await startWithSnapshot(30_000);
    const writing = writeStarts(dir);
    child.kill('SIGTERM');
    await writing;
    child.kill('SIGINT');
    const { code, signal, stderr } = await done;
    expect({ code, signal }, stderr).toEqual({ code: 0, signal: null });
    expect(stderr).toMatch(/^market-registry: stopping, please wait/m);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(30_000);
    expect(() => JSON.parse(lines[lines.length - 1] as string)).not.toThrow();
    expect(readdirSync(dir)).toEqual(['markets.ndjson']);
  }, 60_000);

  it('a third forces exit (128 + its number) and never leaves a partial file under the final name', async () => {
    const { child, dir, file, done } = await startWithSnapshot(60_000);
    const writing = writeStarts(dir);
    child.kill('SIGTERM');
    const firstAt = Date.now();
    await writing;
    // Both at once: which one the registry sees third depends on which thread takes which, so
    // a SIGTERM seen second must be past the 50 ms in which it would repeat the first.
    await new Promise((r) => setTimeout(r, Math.max(0, firstAt + 60 - Date.now())));
    child.kill('SIGINT');
    child.kill('SIGTERM');
    const { code, signal, stderr } = await done;
    expect(signal, stderr).toBeNull();
    expect([130, 143], stderr).toContain(code);
    expect(stderr).toMatch(/^market-registry: stopping, please wait/m);
    expect(stderr).toMatch(
      new RegExp(`^market-registry: forced exit on a third ${code === 130 ? 'SIGINT' : 'SIGTERM'} \\(exit ${code}\\); snapshot not written$`, 'm'),
    );
    expect(readFileSync(file, 'utf8')).toBe('OLD\n');
    expect(readdirSync(dir)).toEqual(['markets.ndjson']);
  }, 60_000);
});
