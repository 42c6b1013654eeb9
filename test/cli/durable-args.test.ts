/** The durable and shared flags, parsed: the state directory's default, --publish, follow's flags, the lag in words. */
import { describe, expect, it } from 'vitest';
import { defaultStateDir, parseCli, parseCommand, parseFollowCli } from '../../src/cli/args.js';
import { renderLag } from '../../src/cli/follow.js';

const REST = ['--rest-url', 'http://127.0.0.1:1/trade-api/v2'];

describe('the state directory', () => {
  it('defaults per Kalshi environment under an absolute XDG_STATE_HOME, else ~/.local/state, else none', () => {
    expect(defaultStateDir('prod', { XDG_STATE_HOME: '/var/state', HOME: '/home/u' })).toBe('/var/state/kalshi-market-registry/prod');
    // The XDG Base Directory spec: a relative path is invalid and ignored.
    expect(defaultStateDir('demo', { XDG_STATE_HOME: 'rel/state', HOME: '/home/u' })).toBe('/home/u/.local/state/kalshi-market-registry/demo');
    expect(defaultStateDir('demo', { HOME: '/home/u' })).toBe('/home/u/.local/state/kalshi-market-registry/demo');
    expect(defaultStateDir('prod', {})).toBeNull();
  });

  it('--env uses the default; --state-dir replaces it; --no-state-dir turns it off', () => {
    const vars = { HOME: '/home/u' };
    expect(parseCli(['--env', 'demo'], vars)).toMatchObject({ stateDir: '/home/u/.local/state/kalshi-market-registry/demo', stateDirIsDefault: true });
    expect(parseCli(['--env', 'demo', '--state-dir', '/srv/reg'], vars)).toMatchObject({ stateDir: '/srv/reg', stateDirIsDefault: false });
    expect(parseCli(['--env', 'prod', '--no-state-dir'], vars)).toMatchObject({ stateDir: null, stateDirIsDefault: false });
  });

  it('no default with --rest-url (any exchange) or the embedded simulator', () => {
    expect(parseCli(REST, { HOME: '/home/u' })).toMatchObject({ stateDir: null, stateDirIsDefault: false });
    expect(parseCli([], { HOME: '/home/u' })).toMatchObject({ stateDir: null, useSimulator: true });
    expect(parseCli([...REST, '--state-dir', 'rel/dir'])).toMatchObject({ stateDir: 'rel/dir' });
  });
});

describe('--publish', () => {
  it('gives the registry its publish option, with only the names given', () => {
    expect(parseCli(REST).publish).toBeNull();
    expect(parseCli([...REST, '--publish', 'nats://127.0.0.1:4222']).publish).toEqual({ url: 'nats://127.0.0.1:4222' });
    expect(
      parseCli([...REST, '--publish', 'nats://a:4222,nats://b:4222', '--publish-stream', 'S1', '--publish-bucket', 'b-1', '--publish-prefix', 'x.y']).publish,
    ).toEqual({ url: 'nats://a:4222,nats://b:4222', stream: 'S1', bucket: 'b-1', subjectPrefix: 'x.y' });
  });
});

describe('follow', () => {
  it('is the first word only; its flags have defaults', () => {
    expect(parseCommand(['follow', '--nats', 'nats://127.0.0.1:4222'])).toEqual({
      command: 'follow',
      options: { nats: 'nats://127.0.0.1:4222', json: false, connectTimeout: 10_000, help: false },
    });
    expect(parseCommand(REST).command).toBe('run');
    expect(() => parseCommand([...REST, 'follow'])).toThrow('unexpected argument "follow". See --help.');
    expect(
      parseFollowCli(['--nats', 'tls://h:1', '--stream', 'S', '--bucket', 'B', '--prefix', 'p.q', '--name', 'me', '--json', '--connect-timeout', '250']),
    ).toEqual({
      nats: 'tls://h:1',
      stream: 'S',
      bucket: 'B',
      subjectPrefix: 'p.q',
      name: 'me',
      json: true,
      connectTimeout: 250,
      help: false,
    });
    expect(parseFollowCli(['--help'])).toMatchObject({ help: true });
  });

  it('says the lag in words', () => {
    expect(renderLag({ connected: true, sequence: 0, pending: 0, lastPublishedAt: null, behindMs: 0 })).toBe('no change yet, caught up');
    expect(renderLag({ connected: true, sequence: 1234, pending: 0, lastPublishedAt: 1, behindMs: 0 })).toBe('seq 1,234, caught up');
    expect(renderLag({ connected: false, sequence: 1234, pending: 56, lastPublishedAt: 1, behindMs: 3210 })).toBe(
      'DISCONNECTED (retrying), seq 1,234, 56 pending, 3.2 s behind',
    );
  });
});
