/** CLI flags: every error is one line in our words, values echoed safely; --version, --combos. */
import { describe, expect, it } from 'vitest';
import { parseCli, UsageError } from '../../src/cli/args.js';

const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDQmZ2XxS7lXbPq\n-----END PRIVATE KEY-----\n';

function usageError(argv: string[]): string {
  try {
    parseCli(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`parseCli(${JSON.stringify(argv)}) did not throw`);
}

describe('parseCli errors', () => {
  it.each([
    [['--bogus'], 'unknown flag --bogus. See --help.'],
    [['--sim-market', '5'], 'unknown flag --sim-market (did you mean --sim-markets?). See --help.'],
    [['--jsno'], 'unknown flag --jsno (did you mean --json?). See --help.'],
    [['-x'], 'unknown flag -x. See --help.'],
    [['--env'], '--env needs a value. See --help.'],
    [['--rest-url', '--json'], '--rest-url needs a value. See --help.'],
    [['--json=yes'], '--json takes no value. See --help.'],
    [['--no-ws=1'], '--no-ws takes no value. See --help.'],
    [['stray'], 'unexpected argument "stray". See --help.'],
    [['--', '--json'], 'unexpected argument "--json" after "--". See --help.'],
    [['--combos', 'maybe'], '--combos takes include or exclude. See --help.'],
    [['--log-level', 'loud'], '--log-level takes fatal, error, warn, info, debug, trace or silent. See --help.'],
    [['--sim-port', '70000'], '--sim-port must be at most 65535. See --help.'],
    [['--env', 'staging'], '--env takes prod or demo. See --help.'],
    [['--rest-url', 'ftp://x'], '--rest-url must be an http(s) URL. See --help.'],
    [['--reconcile-interval', 'soon', '--rest-url', 'http://127.0.0.1:1/trade-api/v2'], '--reconcile-interval takes a whole number. See --help.'],
  ])('%j → %s', (argv, message) => {
    expect(usageError(argv)).toBe(message);
  });

  it('never uses parseArgs wording, and every message is one line', () => {
    const cases = [
      ['--bogus'],
      ['--env'],
      ['--json=1'],
      ['-q'],
      ['x'],
      ['--private-key-file'],
      ['--visualize', '--no-visualize'],
      ['--env', 'demo', '--rest-url', 'http://x'],
    ];
    for (const argv of cases) {
      const msg = usageError(argv);
      expect(msg).not.toMatch(/Unknown option|argument missing|does not take an argument|ambiguous|To specify|positional/);
      expect(msg).not.toContain('\n');
    }
  });

  it('never echoes key material or URL credentials, nor a huge value', () => {
    for (const argv of [[PEM], [`--${PEM}`], ['--key-id', 'k', PEM], [`--env=${PEM}`]]) {
      const msg = usageError(argv);
      expect(msg).not.toContain('MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDQmZ2XxS7lXbPq');
      expect(msg).not.toContain('BEGIN');
      expect(msg).not.toContain('\n');
    }
    const url = usageError(['http://alice:s3cr3t-pw@example.com/x']);
    expect(url).not.toContain('s3cr3t-pw');
    expect(url).not.toContain('alice');
    const long = usageError(['y'.repeat(5000)]);
    expect(long.length).toBeLessThan(150);
  });

  it('takes a PEM-looking value (it starts with dashes) as the value of --private-key-file, for auth to refuse', () => {
    expect(parseCli(['--key-id', 'k', '--private-key-file', PEM, '--env', 'demo']).privateKeyFile).toBe(PEM);
  });
});

describe('parseCli flags', () => {
  it('--version and -v', () => {
    expect(parseCli(['--version']).version).toBe(true);
    expect(parseCli(['-v']).version).toBe(true);
    expect(parseCli([]).version).toBe(false);
  });

  it('--combos include|exclude, default include', () => {
    expect(parseCli([]).combos).toBe('include');
    expect(parseCli(['--combos', 'exclude']).combos).toBe('exclude');
    expect(parseCli(['--combos=include']).combos).toBe('include');
  });

  it('last value wins; --flag=value and --flag value are the same', () => {
    expect(parseCli(['--sim-markets', '5', '--sim-markets=7']).simMarkets).toBe(7);
    expect(parseCli(['--env=demo']).env).toBe('demo');
    expect(parseCli(['-h']).help).toBe(true);
  });

  it('env credentials count when the flags are absent; empty ones do not', () => {
    expect(parseCli(['--env', 'demo'], { KALSHI_API_KEY_ID: 'id', KALSHI_PRIVATE_KEY_PATH: '/k.pem' })).toMatchObject({
      keyId: 'id',
      privateKeyFile: '/k.pem',
    });
    expect(parseCli([], { KALSHI_API_KEY_ID: '', KALSHI_PRIVATE_KEY_PATH: '' }).keyId).toBeUndefined();
  });
});

describe('packageVersion', () => {
  it("is package.json's version, found from src/cli (and from dist/src/cli once built)", async () => {
    const { packageVersion } = await import('../../src/cli/version.js');
    const { readFileSync } = await import('node:fs');
    const path = await import('node:path');
    const root = path.join(import.meta.dirname, '../..');
    const expected = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
    expect(packageVersion()).toBe(expected);
    expect(packageVersion(path.join(root, 'dist/src/cli'))).toBe(expected);
    expect(packageVersion('/')).toBe('unknown');
  });
});
