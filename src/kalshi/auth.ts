/**
 * Kalshi API-key request signing (shared/kalshi-api.md §5): RSA-PSS over SHA-256 with MGF1(SHA-256)
 * and a 32-byte salt, over `timestamp + METHOD + path` where path starts at `/trade-api/...` and
 * has no query string. The same three headers authenticate the WebSocket upgrade.
 *
 * The private key is held as a `KeyObject` so it cannot be printed by accident: its
 * `toString()`/JSON form is `[object KeyObject]`, never the PEM.
 */
import { constants, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { RegistryError } from '../errors.js';

export interface KalshiCredentials {
  /** The API key id (a UUID) shown in Kalshi's account settings. */
  readonly keyId: string;
  readonly privateKey: KeyObject;
}

export class CredentialsError extends RegistryError {
  override readonly name = 'CredentialsError';
}

/** Parses a PEM private key (PKCS#1 or PKCS#8). The error never echoes the key material. */
export function credentialsFromPem(keyId: string, pem: string | Buffer): KalshiCredentials {
  if (!keyId.trim()) throw new CredentialsError('The Kalshi API key id is empty: pass --key-id or set KALSHI_API_KEY_ID.');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new CredentialsError(
      'The Kalshi private key could not be read as an RSA PEM key. Check that the file is the key Kalshi gave you (it starts with "-----BEGIN").',
    );
  }
  if (privateKey.asymmetricKeyType !== 'rsa') {
    throw new CredentialsError(`The Kalshi private key must be an RSA key, got ${privateKey.asymmetricKeyType ?? 'unknown'}.`);
  }
  return { keyId: keyId.trim(), privateKey };
}

export async function loadCredentials(keyId: string, privateKeyFile: string): Promise<KalshiCredentials> {
  let pem: Buffer;
  try {
    pem = await readFile(privateKeyFile);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CredentialsError(`Cannot read the Kalshi private key file ${privateKeyFile} (${code}). Check --private-key-file / KALSHI_PRIVATE_KEY_PATH.`);
  }
  return credentialsFromPem(keyId, pem);
}

/** The three KALSHI-ACCESS-* headers for one request. `path` must not include the query string. */
export function signKalshiRequest(
  credentials: KalshiCredentials,
  method: string,
  path: string,
  nowMs: number = Date.now(),
): Record<string, string> {
  const timestamp = String(nowMs);
  const pathOnly = path.split('?', 1)[0] ?? path;
  const signature = sign('sha256', Buffer.from(timestamp + method.toUpperCase() + pathOnly), {
    key: credentials.privateKey,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
  }).toString('base64');
  return {
    'KALSHI-ACCESS-KEY': credentials.keyId,
    'KALSHI-ACCESS-TIMESTAMP': timestamp,
    'KALSHI-ACCESS-SIGNATURE': signature,
  };
}
