/**
 * The one URL redaction (src/util/redact-url.ts): what it removes from URLs that parse, and that a
 * string that does not parse never comes back with its `user:password@` (the REST client's old
 * helper returned such a string as it came; the CLI's missed user-info with a space or a second
 * `@`, and user-info without a scheme).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactUrl as cliRedactUrl } from '../../src/cli/redact.js';
import { publicWsUrl } from '../../src/kalshi/ws-connection.js';
import { redactUrl } from '../../src/util/redact-url.js';

describe('redactUrl', () => {
  it('is the one helper behind the CLI, the WebSocket connection and the REST client', () => {
    expect(cliRedactUrl).toBe(redactUrl);
    expect(publicWsUrl).toBe(redactUrl);
  });

  it('masks user-info and credential-like query values of a URL, keeps the rest, leaves a clean URL as it came', () => {
    expect(redactUrl('http://user:pw12345@127.0.0.1:8080/trade-api/v2')).toBe('http://***@127.0.0.1:8080/trade-api/v2');
    expect(redactUrl('wss://tok@h.example/trade-api/ws/v2')).toBe('wss://***@h.example/trade-api/ws/v2');
    expect(redactUrl('wss://h.example/ws?api_key=abc123&x=1&access_token=t0k')).toBe('wss://h.example/ws?api_key=***&x=1&access_token=***');
    expect(redactUrl('http://127.0.0.1:8080/trade-api/v2')).toBe('http://127.0.0.1:8080/trade-api/v2');
    expect(redactUrl('ws://127.0.0.1:1')).toBe('ws://127.0.0.1:1'); // not re-serialized (no trailing slash added)
    expect(redactUrl('https://h.example/markets?status=open&cursor=abc')).toBe('https://h.example/markets?status=open&cursor=abc');
  });

  it.each([
    ['http://user:hunter22@[bad/x', 'hunter22'], // bad IPv6 host
    ['http://user:hunter22@host:99999/x', 'hunter22'], // port out of range
    ['http://us er:hunter22@[x', 'hunter22'], // a space in the user-info
    ['http://a:b@c:hunter22@host:bad/x', 'hunter22'], // a second @ (the user-info runs to the last one)
    ['user:hunter22@host:1/x', 'hunter22'], // no scheme
    ['//user:hunter22@h:x', 'hunter22'], // scheme-relative
    ['not a url://u:hunter22@x', 'hunter22'],
    ['ht tp://h.example/x?token=hunter22&y=2', 'hunter22'], // a credential query value
    ['http://h/x:hunter22@y', 'hunter22'], // parses, but a raw / split the authority: user-info text left in the path
  ])('never returns %j with its credentials', (input, secret) => {
    const out = redactUrl(input);
    expect(out).not.toContain(secret);
    expect(out).not.toMatch(/[^\s/@*]+:[^\s/@*]*@/);
  });

  it('never returns user:password@ text, whatever the host and path around it (property)', () => {
    const word = fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/);
    const password = fc.stringMatching(/^[A-Za-z0-9]{6,16}$/);
    // Hosts and tails that make the URL unparsable as often as not.
    const host = fc.constantFrom('127.0.0.1:8080', 'h.example', '[bad', 'h:99999', 'h st', '', '[::1]:1', 'h%zz', 'host:port');
    const tail = fc.constantFrom('', '/trade-api/v2', '/x?y=1', '/a b', '#f', '/p:q@r');
    const scheme = fc.constantFrom('http://', 'https://', 'ws://', 'wss://', '', '//', 'h ttp://');
    fc.assert(
      fc.property(scheme, word, password, host, tail, (s, user, pw, h, t) => {
        const input = `${s}${user}:${pw}@${h}${t}`;
        const out = redactUrl(input);
        expect(out).not.toContain(`${user}:${pw}@`);
        expect(out).not.toContain(pw);
      }),
      { numRuns: 300 },
    );
  });
});
