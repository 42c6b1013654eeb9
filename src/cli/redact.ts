/**
 * No secret in any message. Every line the CLI writes to stderr (its own messages, error texts
 * from the library, pino logs) goes through `redactSecrets`; values from the command line are
 * echoed only through `describeArg`; URLs are shown through `redactUrl`.
 *
 * What counts as a secret: a URL's user-info (`http://user:pw@host`), query parameters named like
 * credentials (`?token=…`), PEM blocks and long base64 runs (a private key, a signature), the
 * value of a KALSHI-ACCESS-SIGNATURE header, and any string the caller names (the passwords of
 * the URLs it was given, decoded or not).
 */
import { looksLikeKeyMaterial } from '../kalshi/auth.js';
import { REDACTED, SECRET_QUERY_PARAM, redactUrl } from '../util/redact-url.js';

/** The URL without credentials (the one redaction of the code base; re-exported for the CLI's modules). */
export { redactUrl };

/** The secrets carried by a URL (user name, password, credential-like query values), raw and decoded. */
export function urlSecrets(url: string | undefined): string[] {
  if (url === undefined) return [];
  const out = new Set<string>();
  const add = (v: string) => {
    if (v.length < 3) return; // too short to search for without mangling ordinary text
    out.add(v);
    try {
      out.add(decodeURIComponent(v));
    } catch {
      /* not percent-encoded */
    }
  };
  try {
    const u = new URL(url);
    add(u.username);
    add(u.password);
    for (const [name, value] of u.searchParams) if (SECRET_QUERY_PARAM.test(name)) add(value);
  } catch {
    const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#\s]*)@/i.exec(url);
    if (m?.[1]) for (const part of m[1].split(':')) add(part);
  }
  return [...out];
}

/**
 * `text` with every secret replaced: PEM blocks (complete or cut), long base64 runs with mixed
 * case and digits, KALSHI-ACCESS-SIGNATURE values, user-info in any URL, credential-like query
 * values, and every string of `secrets`.
 */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= 3) out = out.split(secret).join(REDACTED);
  }
  out = out
    .replace(/-----BEGIN [^-\n]*-----[\s\S]*?(?:-----END [^-\n]*-----|$)/g, '[redacted key]')
    .replace(/-----(?:BEGIN|END) [^-\n]*-----/g, '[redacted key]')
    .replace(/(KALSHI-ACCESS-SIGNATURE["']?\s*[:=]\s*["']?)[^\s"',;}]+/gi, `$1${REDACTED}`)
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"']+@/gi, `$1${REDACTED}@`)
    .replace(/([?&])([^=&\s"']+)=([^&\s"'#]+)/g, (all, sep: string, name: string) => (SECRET_QUERY_PARAM.test(name) ? `${sep}${name}=${REDACTED}` : all));
  out = out.replace(/[A-Za-z0-9+/]{64,}={0,2}/g, (run) => (/[A-Z]/.test(run) && /[a-z]/.test(run) && /\d/.test(run) ? '[redacted]' : run));
  return out;
}

/**
 * A command-line value as it may appear in a message: quoted, on one line, at most ~60
 * characters, URL credentials removed, and never key material.
 */
export function describeArg(value: string): string {
  if (looksLikeKeyMaterial(value)) return '(a value that looks like key material, not shown)';
  let v = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? redactUrl(value) : value;
  v = v.replace(/[\u0000-\u001f\u007f]/g, '?');
  if (v.length > 60) v = `${v.slice(0, 40)}… (${value.length} characters)`;
  return `"${v}"`;
}
