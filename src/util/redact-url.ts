/**
 * The one URL redaction of the code base: every URL that reaches a message, a log line, an error
 * or an inspector goes through `redactUrl` (the REST client's errors, the WebSocket connection's
 * logs and chart context, the CLI's messages).
 *
 * What it removes: the user-info (`scheme://user:password@`) and the values of query parameters
 * named like credentials (`?token=…`, `?api_key=…`). A string that does not parse as a URL is not
 * returned as it came: it is scrubbed by pattern, so that `user:password@` never survives in any
 * form (a URL with a bad host or port is still a string that may carry a password).
 */

/** Query parameter names whose value is a credential (matched on the whole name or its last `-`/`_` part). */
export const SECRET_QUERY_PARAM = /(?:^|[-_])(?:key|token|secret|password|passwd|pwd|sig|signature|auth|credential|credentials|access[-_]?token|api[-_]?key)$/i;

/** What a removed secret is replaced by. */
export const REDACTED = '***';

/**
 * `scheme://` then the authority's user-info: per the URL standard the authority ends at the
 * first `/`, `?`, `#` (or `\` in special schemes) and the user-info runs to its last `@`, so the
 * greedy class takes everything up to that last `@`, spaces and colons included.
 */
const SCHEME_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^/?#\\]*@/gi;
/** `user:password@` without a scheme (e.g. `user:pw@host:1/x`, or one left in a path). */
const BARE_USERINFO = /(^|[\s/\\])[^\s/?#\\@:]+:[^\s/?#\\@]*@/g;
/** `?name=value` / `&name=value` / `;name=value` pairs, for the names SECRET_QUERY_PARAM matches. */
const QUERY_PAIR = /([?&;])([^=&;#\s]+)=([^&;#\s]*)/g;

/**
 * The URL without credentials: user-info becomes `***@`, credential-like query values become
 * `***`. A URL with nothing to remove is returned unchanged (not re-serialized). A string that
 * is not a URL is scrubbed by pattern instead: it never comes back with its `user:password@`.
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return scrub(url);
  }
  let changed = false;
  if (u.username !== '' || u.password !== '') {
    u.username = REDACTED;
    u.password = '';
    changed = true;
  }
  for (const name of [...u.searchParams.keys()]) {
    if (SECRET_QUERY_PARAM.test(name)) {
      u.searchParams.set(name, REDACTED);
      changed = true;
    }
  }
  const out = changed ? u.toString().replace(/%2A%2A%2A/g, REDACTED) : url;
  // A parsed URL can still hold `user:pw@` text outside its user-info, e.g. `http://h/x:pw@y`
  // (a password containing a raw `/` splits the authority): scrub that too.
  return out.replace(BARE_USERINFO, `$1${REDACTED}@`);
}

/** Pattern scrub of a string that did not parse as a URL. */
function scrub(text: string): string {
  return text
    .replace(SCHEME_USERINFO, `$1${REDACTED}@`)
    .replace(BARE_USERINFO, `$1${REDACTED}@`)
    .replace(QUERY_PAIR, (all, sep: string, name: string) => (SECRET_QUERY_PARAM.test(name) ? `${sep}${name}=${REDACTED}` : all));
}
