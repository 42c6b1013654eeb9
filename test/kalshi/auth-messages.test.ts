/** loadCredentials: no key material in any error, a warning for a key file others can read. */
import { afterAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialsError, credentialsFromPem, loadCredentials, looksLikeKeyMaterial } from '../../src/kalshi/auth.js';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const BODY = PEM.split('\n')[1] as string;
const dir = mkdtempSync(join(tmpdir(), 'registry-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function failure(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CredentialsError);
  return (err as Error).message;
}

describe('loadCredentials messages', () => {
  it('refuses PEM text where the path belongs without echoing it', async () => {
    for (const path of [PEM, PEM.trim(), BODY, `  ${PEM}`]) {
      const msg = await failure(loadCredentials('key-id', path));
      expect(msg).not.toContain(BODY.slice(0, 24));
      expect(msg).not.toContain('BEGIN');
      expect(msg).toMatch(/looks like the key itself/);
    }
  });

  it('does not echo a very long path', async () => {
    const msg = await failure(loadCredentials('key-id', `/tmp/${'x'.repeat(5000)}`));
    expect(msg).not.toContain('x'.repeat(100));
    expect(msg).toMatch(/5005-character path/);
  });

  it('names an ordinary missing path and the error code', async () => {
    expect(await failure(loadCredentials('key-id', join(dir, 'missing.pem')))).toMatch(/Cannot read the Kalshi private key file .*missing\.pem \(ENOENT\)/);
    expect(await failure(loadCredentials('key-id', dir))).toMatch(/\(EISDIR\)/);
  });

  it('refuses PEM text as the key id without echoing it', () => {
    expect(() => credentialsFromPem(PEM, PEM)).toThrow(/looks like key material/);
    try {
      credentialsFromPem(PEM, PEM);
    } catch (err) {
      expect((err as Error).message).not.toContain(BODY.slice(0, 24));
    }
  });

  it('warns once when the key file is readable by group or others, not when it is 0600', async () => {
    const file = join(dir, 'key.pem');
    writeFileSync(file, PEM);
    chmodSync(file, 0o644);
    const warnings: string[] = [];
    const creds = await loadCredentials('key-id', file, { onWarning: (m) => warnings.push(m) });
    expect(creds.keyId).toBe('key-id');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/key\.pem is accessible by group or others \(mode 0644\): run chmod 600 on it/);
    expect(warnings[0]).not.toContain('\n');
    chmodSync(file, 0o600);
    warnings.length = 0;
    await loadCredentials('key-id', file, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
  });
});

describe('looksLikeKeyMaterial', () => {
  it('spots PEM and base64 blobs, not paths or tickers', () => {
    expect(looksLikeKeyMaterial(PEM)).toBe(true);
    expect(looksLikeKeyMaterial(BODY)).toBe(true);
    for (const s of ['/home/me/.kalshi/private key.pem', 'KXHIGHNY-26NOV24-T52', 'C:\\keys\\kalshi.pem', 'a'.repeat(100)])
      expect(looksLikeKeyMaterial(s)).toBe(false);
  });
});
