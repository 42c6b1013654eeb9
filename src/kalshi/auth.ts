/**
 * Kalshi API-key request signing (shared/kalshi-api.md §5): RSA-PSS over SHA-256 with MGF1(SHA-256)
 * and a 32-byte salt, over `timestamp + METHOD + path` where path starts at `/trade-api/...` and
 * has no query string. The same three headers authenticate the WebSocket upgrade.
 *
 * The private key is held as a `KeyObject` so it cannot be printed by accident: its
 * `toString()`/JSON form is `[object KeyObject]`, never the PEM.
 */
import { constants, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { open } from 'node:fs/promises';
import { RegistryError } from '../errors.js';

export interface KalshiCredentials {
  /** The API key id (a UUID) shown in Kalshi's account settings. */
  readonly keyId: string;
  readonly privateKey: KeyObject;
}

export class CredentialsError extends RegistryError {
  override readonly name = 'CredentialsError';
}

/**
 * True for text that may be key material and must never be echoed: a PEM block (or a piece of
 * one), or a long run of base64 (a PEM body line, a signature, a token).
 */
export function looksLikeKeyMaterial(text: string): boolean {
  if (/-----(BEGIN|END) /.test(text)) return true;
  for (const run of text.match(/[A-Za-z0-9+/=]{64,}/g) ?? []) if (/[A-Z]/.test(run) && /[a-z]/.test(run) && /\d/.test(run)) return true;
  return false;
}

/** Key files larger than this are not a PEM key (and /dev/zero must not hang us). */
const MAX_KEY_FILE_BYTES = 1 << 20;
/** Paths longer than this are not echoed in messages. */
const MAX_ECHOED_PATH = 200;

/** How a key file path may appear in a message: never key material, never a huge blob. */
function describeKeyPath(path: string): string {
  if (path.length > MAX_ECHOED_PATH) return `(a ${path.length}-character path, not shown)`;
  // Control characters would break the one-line message.
  return path.replace(/[\u0000-\u001f\u007f]/g, '?');
}

export interface LoadCredentialsOptions {
  /** Called with a one-line warning, e.g. when the key file is readable by group or others. */
  readonly onWarning?: (message: string) => void;
}

/** Parses a PEM private key (PKCS#1 or PKCS#8). The error never echoes the key material. */
export function credentialsFromPem(keyId: string, pem: string | Buffer): KalshiCredentials {
  if (!keyId.trim()) throw new CredentialsError('The Kalshi API key id is empty: pass --key-id or set KALSHI_API_KEY_ID.');
  if (looksLikeKeyMaterial(keyId) || /[\s\u0000-\u001f\u007f]/.test(keyId.trim())) {
    throw new CredentialsError(
      'The Kalshi API key id looks like key material, not a key id: pass the key id (a UUID) to --key-id and the path of the private key file to --private-key-file.',
    );
  }
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

/**
 * Reads a PEM key file. Errors name the file but never echo key material: a "path" that is
 * really the key itself (pasted where the path belongs) is refused without being shown.
 * Warns (one line, through `onWarning`) when the file is readable by group or others.
 */
export async function loadCredentials(keyId: string, privateKeyFile: string, options: LoadCredentialsOptions = {}): Promise<KalshiCredentials> {
  if (looksLikeKeyMaterial(privateKeyFile)) {
    throw new CredentialsError(
      'The Kalshi private key file name looks like the key itself (not shown): save the key to a file (chmod 600) and pass its path to --private-key-file / KALSHI_PRIVATE_KEY_PATH.',
    );
  }
  const shown = describeKeyPath(privateKeyFile);
  let pem: Buffer;
  let mode: number;
  try {
    const file = await open(privateKeyFile, 'r');
    try {
      const st = await file.stat();
      if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: st.isDirectory() ? 'EISDIR' : 'not a regular file' });
      if (st.size > MAX_KEY_FILE_BYTES) throw Object.assign(new Error('too large'), { code: `${st.size} bytes, too large for a PEM key` });
      mode = st.mode;
      pem = await file.readFile();
    } finally {
      await file.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CredentialsError(`Cannot read the Kalshi private key file ${shown} (${code}). Check --private-key-file / KALSHI_PRIVATE_KEY_PATH.`);
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    options.onWarning?.(
      `the Kalshi private key file ${shown} is accessible by group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): run chmod 600 on it`,
    );
  }
  return credentialsFromPem(keyId, pem);
}

/** The three KALSHI-ACCESS-* headers for one request. `path` must not include the query string. */
export function signKalshiRequest(credentials: KalshiCredentials, method: string, path: string, nowMs: number = Date.now()): Record<string, string> {
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
