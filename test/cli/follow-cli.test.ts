/**
 * `--publish` and `market-registry follow` end to end, as processes: the simulator on its own, a
 * registry CLI publishing to a real nats-server (JetStream, 127.0.0.1, random port), follower
 * CLIs printing NDJSON. A change on the exchange reaches the follower in the registry's own
 * `--json` shape; a named follower stopped and started again resumes where it stopped (no gap);
 * NATS problems and flag errors are one line with the documented exit code, and no secret.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort, natsServer, type NatsServer } from '../publish/nats-server.js';
import { cli, cliResult, interrupt, killAll, removeDirs, startSim, type Proc, type Sim } from './processes.js';

let sim: Sim;
let nats: NatsServer;
let registry: Proc;
beforeAll(async () => {
  nats = await natsServer();
  await nats.start();
  sim = await startSim(300);
  registry = cli(['--rest-url', sim.restUrl, '--ws-url', sim.wsUrl, '--no-visualize', '--publish', nats.url, '--json', '--log-level', 'warn']);
  await registry.waitLine((l) => l['kind'] === 'synced');
}, 60_000);
afterAll(async () => {
  registry.child.kill('SIGKILL');
  await sim.close();
  await nats.close();
  removeDirs();
});
afterEach(() => killAll());

const isSynced = (l: Record<string, unknown>) => l['kind'] === 'synced';
/** A status_change line of `ticker` to `newStatus` (not its `created` line). */
const changeOf = (ticker: string, newStatus: string) => (l: Record<string, unknown>) =>
  l['kind'] === 'change' && l['eventType'] === 'status_change' && l['ticker'] === ticker && l['newStatus'] === newStatus;

describe('market-registry follow', () => {
  it('prints the registry’s changes in the registry’s --json shape, and a named follower resumes where it stopped', async () => {
    const registrySynced = registry.lines().find(isSynced) as Record<string, unknown>;
    const ticker = await sim.openTicker();

    // A named follower; stopped before any change, started again: it resumes at the same position.
    const a = cli(['follow', '--nats', nats.url, '--name', 'cli-test', '--json', '--log-level', 'warn']);
    const aSynced = await a.waitLine(isSynced);
    expect(aSynced).toMatchObject({ markets: registrySynced['markets'], active: registrySynced['active'], resumed: false });
    expect((await interrupt(a)).code, a.stderr()).toBe(0);

    const b = cli(['follow', '--nats', nats.url, '--name', 'cli-test', '--json', '--log-level', 'warn']);
    const bSynced = await b.waitLine(isSynced);
    expect(bSynced).toMatchObject({ markets: registrySynced['markets'], resumed: true, resumedFrom: aSynced['resumedFrom'] });

    // A change on the exchange: the registry prints it, the follower prints the same line.
    await sim.control('deactivate', ticker);
    const fromRegistry = await registry.waitLine(changeOf(ticker, 'inactive'));
    const fromFollower = await b.waitLine(changeOf(ticker, 'inactive'));
    expect(fromFollower).toEqual(fromRegistry);
    expect(fromFollower).toMatchObject({ eventType: 'status_change', oldStatus: 'active', newStatus: 'inactive' });
    expect((await interrupt(b)).code, b.stderr()).toBe(0);

    // A change while no follower runs: the named one, started again, prints it (no gap).
    await sim.control('activate', ticker);
    const reactivated = await registry.waitLine(changeOf(ticker, 'active'));
    const c = cli(['follow', '--nats', nats.url, '--name', 'cli-test', '--json', '--log-level', 'warn']);
    expect(await c.waitLine(changeOf(ticker, 'active'))).toEqual(reactivated);
    const cSynced = await c.waitLine(isSynced);
    expect(cSynced).toMatchObject({ resumed: true });
    // The change replayed on resume comes before the synced line (the catch-up), as in the registry CLI.
    const lines = c.lines();
    expect(lines.findIndex(changeOf(ticker, 'active'))).toBeLessThan(lines.findIndex(isSynced));
    expect((await interrupt(c)).code, c.stderr()).toBe(0);
  }, 90_000);

  it('a follower started before any registry waits for the stream, says so, and syncs once a registry publishes', async () => {
    const empty = await natsServer();
    await empty.start();
    try {
      const f = cli(['follow', '--nats', empty.url, '--json', '--log-level', 'error']);
      await f.waitErr(
        /^market-registry follow: waiting for stream KALSHI_MARKETS on nats:\/\/127\.0\.0\.1:\d+: a registry started with --publish creates it$/m,
      );
      const publisher = cli(['--rest-url', sim.restUrl, '--ws-url', sim.wsUrl, '--no-visualize', '--publish', empty.url, '--json', '--log-level', 'warn']);
      const published = await publisher.waitLine(isSynced);
      // The follower syncs only to a registry that announced itself synced on NATS (`_registry`),
      // after reading everything published before that announcement: the registry's whole
      // universe, not whatever part of its initial sync had reached NATS when the stream appeared.
      const followed = await f.waitLine(isSynced);
      expect(followed).toMatchObject({
        markets: published['markets'],
        active: published['active'],
        registry: { markets: published['markets'], warm: false, syncedAt: expect.any(Number), instance: expect.any(String) },
      });
      expect((await interrupt(f)).code, f.stderr()).toBe(0);
      expect((await interrupt(publisher)).code, publisher.stderr()).toBe(0);
    } finally {
      await empty.close();
    }
  }, 60_000);

  it('without --json: the synced line in words on stderr, nothing on stdout', async () => {
    const p = cli(['follow', '--nats', nats.url]);
    await p.waitErr(
      /^synced [\d,]+ markets from nats:\/\/127\.0\.0\.1:\d+ \(stream KALSHI_MARKETS, KV bucket kalshi-markets\) in [\d.]+ s \(from sequence [\d,]+\)$/m,
    );
    expect((await interrupt(p)).code, p.stderr()).toBe(0);
    expect(p.stdout()).toBe('');
  }, 30_000);
});

/** A nats-server without JetStream (the helper always turns it on). */
function plainNatsServer(port: number): ChildProcess {
  const which = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  const binary =
    process.env['NATS_SERVER'] ??
    (which.status === 0 && which.stdout.trim() !== '' ? which.stdout.trim() : ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((p) => existsSync(p)));
  if (binary === undefined) throw new Error('nats-server is not installed (scripts/ensure-nats-server.sh)');
  return spawn(binary, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
}

describe('market-registry follow: errors', () => {
  let plain: ChildProcess | null = null;
  afterAll(() => {
    plain?.kill('SIGKILL');
  });

  it('NATS unreachable: exit 3 within --connect-timeout, one line saying what to do, URL credentials redacted', async () => {
    const port = await freePort();
    const r = await cliResult(['follow', '--nats', `nats://alice:s3cr3t-pw@127.0.0.1:${port}`, '--connect-timeout', '500', '--json']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^market-registry follow: cannot reach NATS at nats://\\*\\*\\*@127\\.0\\.0\\.1:${port} within 500 ms \\(.+\\); start nats-server with JetStream \\(nats-server -js\\), or check --nats$`,
      ),
    );
    expect(r.stderr).not.toContain('s3cr3t-pw');
    expect(r.stderr).not.toContain('alice');
  });

  it('NATS without JetStream: exit 4, one line', async () => {
    const port = await freePort();
    plain = plainNatsServer(port);
    // The follower retries a refused connection within --connect-timeout, so the server may still be starting.
    const r = await cliResult(['follow', '--nats', `nats://127.0.0.1:${port}`, '--connect-timeout', '10000']);
    expect(r.code, r.stderr).toBe(4);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^market-registry follow: NATS at nats:\/\/127\.0\.0\.1:\d+ has no JetStream \(.+\); start it with JetStream on \(nats-server -js\)$/,
    );
  });

  it('flag errors: exit 2, one line in our words, for follow and for --publish', async () => {
    const cases: [string[], string][] = [
      [['follow'], 'market-registry: follow: follow needs --nats nats://HOST:PORT (the server the registry publishes to). See market-registry follow --help.'],
      [
        ['follow', '--nats', 'http://127.0.0.1:4222'],
        'market-registry: follow: --nats takes nats://HOST:PORT (or a comma-separated list of them). See market-registry follow --help.',
      ],
      [
        ['follow', '--nats', 'nats://127.0.0.1:4222', '--strem', 'X'],
        'market-registry: follow: unknown flag --strem (did you mean --stream?). See market-registry follow --help.',
      ],
      [
        ['follow', '--nats', 'nats://127.0.0.1:4222', '--bucket', 'a.b'],
        'market-registry: follow: --bucket takes a name of letters, digits, - and _ (at most 64). See market-registry follow --help.',
      ],
      [['follow', '--nats'], 'market-registry: follow: --nats needs a value. See market-registry follow --help.'],
      [['--publish', 'ftp://127.0.0.1'], 'market-registry: --publish takes nats://HOST:PORT (or a comma-separated list of them). See --help.'],
      [['--publish-bucket', 'b'], 'market-registry: --publish-stream, --publish-bucket and --publish-prefix need --publish. See --help.'],
      [
        ['--publish', 'nats://127.0.0.1:4222', '--publish-prefix', 'a.*'],
        'market-registry: --publish-prefix takes dot-separated tokens of letters, digits, - and _. See --help.',
      ],
    ];
    const results = await Promise.all(cases.map(([args]) => cliResult(args)));
    results.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toEqual([(cases[i] as [string[], string])[1]]);
    });
  }, 30_000);

  it('follow --help prints the subcommand’s usage and exits 0', async () => {
    const r = await cliResult(['follow', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: market-registry follow --nats URL \[flags\]/);
    expect(r.stdout).toContain('--connect-timeout MS');
  });
});
