/** The CLI end to end: a real process, the simulator in the test, NDJSON on stdout. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startSimExchange, type SimExchange } from '../../src/sim/index.js';
import { silentLogger } from '../../src/log.js';
import { firstTickerWithStatus } from './helpers.js';

const CLI = join(import.meta.dirname, '../../src/cli/main.ts');

function runCli(args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, KALSHI_API_KEY_ID: '', KALSHI_PRIVATE_KEY_PATH: '' } });
}

async function finished(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stderr };
}

let sim: SimExchange;
const dirs: string[] = [];
const tempDir = (prefix: string): string => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
beforeAll(async () => {
  sim = await startSimExchange({ markets: 400, seed: 3, logger: silentLogger });
});
afterAll(async () => {
  await sim.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('market-registry CLI', () => {
  it('--json streams changes as NDJSON, stops on SIGINT with exit 0 and writes the snapshot', async () => {
    const dir = tempDir('registry-cli-');
    const snapshot = join(dir, 'markets.ndjson');
    const child = runCli(['--json', '--rest-url', sim.restUrl, '--ws-url', sim.wsUrl, '--snapshot-out', snapshot, '--log-level', 'warn']);
    const done = finished(child);
    const lines: Record<string, unknown>[] = [];
    const target = firstTickerWithStatus(sim, 'active');
    let deactivated = false;
    for await (const line of createInterface({ input: child.stdout })) {
      const obj = JSON.parse(line) as Record<string, unknown>; // every stdout line must be JSON
      lines.push(obj);
      if (obj['kind'] === 'synced' && !deactivated) {
        deactivated = true;
        // Give the WebSocket a moment to be subscribed, then change the exchange.
        await new Promise((r) => setTimeout(r, 300));
        sim.deactivate(target);
      }
      if (obj['kind'] === 'change' && obj['ticker'] === target && obj['eventType'] === 'status_change') child.kill('SIGINT');
    }
    const { code, stderr } = await done;
    expect(code, stderr).toBe(0);
    const synced = lines.find((l) => l['kind'] === 'synced');
    expect(synced).toMatchObject({ kind: 'synced', markets: 400, active: expect.any(Number), ms: expect.any(Number) });
    expect(lines.filter((l) => l['kind'] === 'change' && l['eventType'] === 'created')).toHaveLength(400);
    expect(lines.find((l) => l['kind'] === 'exchange_status')).toMatchObject({ exchangeActive: true, tradingActive: true });
    expect(lines.find((l) => l['kind'] === 'change' && l['ticker'] === target && l['eventType'] === 'status_change')).toMatchObject({
      oldStatus: 'active',
      newStatus: 'inactive',
      market: { ticker: target, marketStatus: 'inactive', tradingStatus: 'paused' },
    });
    const snap = readFileSync(snapshot, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ticker: string; marketStatus: string });
    expect(snap).toHaveLength(400);
    expect(snap.find((m) => m.ticker === target)?.marketStatus).toBe('inactive');
  });

  // Every message is unit-tested in test/cli/args.test.ts; these check the process: one line, exit 2.
  it.each([
    [['--bogus'], /^market-registry: unknown flag --bogus\. See --help\.$/],
    [['--key-id', 'abc', '--rest-url', 'http://127.0.0.1:1/trade-api/v2'], /both --key-id and --private-key-file/],
  ])('rejects bad flags %j with one clear line and exit code 2', async (args, message) => {
    const { code, stderr } = await finished(runCli(args));
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr.trim()).toMatch(message);
  });

  it('says clearly when the REST URL is unreachable, exit code 3', async () => {
    const { code, stderr } = await finished(runCli(['--rest-url', 'http://127.0.0.1:9/trade-api/v2', '--no-ws']));
    expect(code).toBe(3);
    expect(stderr).toMatch(/Cannot reach the Kalshi REST API at http:\/\/127\.0\.0\.1:9\/trade-api\/v2/);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('reports an unreadable private key without printing key material', async () => {
    const dir = tempDir('registry-cli-key-');
    const { code, stderr } = await finished(runCli(['--rest-url', sim.restUrl, '--key-id', 'k', '--private-key-file', join(dir, 'missing.pem')]));
    expect(code).toBe(1);
    expect(stderr).toMatch(/Cannot read the Kalshi private key file .*missing\.pem \(ENOENT\)/);
  });

  // Issue: a sync that cannot succeed (a URL that answers HTML) retried forever and never said why.
  it('gives up with exit 4 and one line saying why when the sync fails in a way retrying cannot fix', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      if ((req.url ?? '').includes('/exchange/status'))
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"exchange_active":true,"trading_active":true}');
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<html>Sign in to continue</html>');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as import('node:net').AddressInfo).port;
    try {
      const child = runCli(['--rest-url', `http://user:secret@127.0.0.1:${port}/trade-api/v2`, '--no-ws', '--no-visualize', '--log-level', 'silent']);
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const { code, stderr } = await finished(child);
      clearTimeout(timer);
      expect(code).toBe(4);
      const lines = stderr
        .trim()
        .split('\n')
        .filter((l) => l.includes('giving up'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/retrying cannot fix.*JSON/);
      expect(stderr).not.toContain('secret');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  }, 40_000);

  it('--metrics-port serves live Prometheus figures and health while it runs', async () => {
    const child = runCli(['--rest-url', sim.restUrl, '--ws-url', sim.wsUrl, '--metrics-port', '0', '--no-visualize', '--log-level', 'silent']);
    const done = finished(child);
    let url: string | null = null;
    for await (const line of createInterface({ input: child.stderr })) {
      const m = /metrics: (http:\/\/127\.0\.0\.1:\d+\/)metrics/.exec(line);
      if (m) {
        url = m[1] ?? null;
        break;
      }
    }
    expect(url).not.toBeNull();
    const deadline = Date.now() + 20_000;
    let ready = 0;
    while (Date.now() < deadline && ready !== 200) {
      ready = (await fetch(new URL('readyz', url!))).status;
      if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(ready).toBe(200);
    const text = await (await fetch(new URL('metrics', url!))).text();
    expect(text).toMatch(/kalshi_registry_markets\{status="active"\} [1-9]/);
    expect((await fetch(new URL('healthz', url!))).status).toBe(200);
    child.kill('SIGINT');
    expect((await done).code).toBe(0);
  }, 40_000);
});
