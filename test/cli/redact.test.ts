/** No secret in any message: URL credentials, key material, signatures. */
import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { describeArg, redactSecrets, redactUrl, urlSecrets } from '../../src/cli/redact.js';
import { credentialsFromPem, signKalshiRequest } from '../../src/kalshi/auth.js';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PEM_BODY_LINE = PEM.split('\n')[1] as string;

describe('redactUrl', () => {
  it('removes user-info and credential-like query values, keeps the rest', () => {
    expect(redactUrl('http://user:pw12345@127.0.0.1:8080/trade-api/v2')).toBe('http://***@127.0.0.1:8080/trade-api/v2');
    expect(redactUrl('https://token-only@host.example/x')).toBe('https://***@host.example/x');
    expect(redactUrl('wss://h.example/ws?api_key=abc123&x=1')).toBe('wss://h.example/ws?api_key=***&x=1');
    expect(redactUrl('http://127.0.0.1:8080/trade-api/v2')).toBe('http://127.0.0.1:8080/trade-api/v2');
    expect(redactUrl('not a url://u:p@x')).not.toContain('u:p');
  });

  it('urlSecrets lists what must never be printed, decoded or not', () => {
    expect(urlSecrets('http://al%69ce:p%40ss!word@h/x').sort()).toEqual(['al%69ce', 'alice', 'p%40ss!word', 'p@ss!word'].sort());
    expect(urlSecrets(undefined)).toEqual([]);
  });
});

describe('redactSecrets', () => {
  it('removes PEM blocks, whole or cut, and PEM body lines on their own', () => {
    for (const text of [`bad key ${PEM} here`, `cut: ${PEM.slice(0, 200)}`, `body only ${PEM_BODY_LINE}`]) {
      const out = redactSecrets(text);
      expect(out).not.toContain(PEM_BODY_LINE);
      expect(out).not.toContain(PEM_BODY_LINE.slice(0, 32));
    }
  });

  it('removes KALSHI-ACCESS-SIGNATURE values and any long base64 signature', () => {
    const creds = credentialsFromPem('key-id', PEM);
    const sig = signKalshiRequest(creds, 'GET', '/trade-api/v2/exchange/status')['KALSHI-ACCESS-SIGNATURE'] as string;
    for (const text of [`{"KALSHI-ACCESS-SIGNATURE":"${sig}"}`, `kalshi-access-signature: ${sig}`, `HTTP 401: bad signature ${sig}`]) {
      expect(redactSecrets(text)).not.toContain(sig.slice(0, 40));
    }
  });

  it('removes user-info from every URL in a text, and the named secrets anywhere', () => {
    const out = redactSecrets('GET http://bob:hunter22@h:1/x failed; retry ws://bob:hunter22@h:1/ws (password hunter22)', ['hunter22', 'bob']);
    expect(out).not.toContain('hunter22');
    expect(out).not.toMatch(/bob:/);
  });

  it('leaves ordinary messages alone', () => {
    const msg = 'GET http://127.0.0.1:9/trade-api/v2/exchange/status failed: network error ECONNREFUSED; KXHIGHNY-26NOV24-T52 /home/me/keys/kalshi.pem';
    expect(redactSecrets(msg)).toBe(msg);
  });
});

describe('describeArg', () => {
  it('quotes short values, hides key material, cuts long values, keeps one line', () => {
    expect(describeArg('foo')).toBe('"foo"');
    expect(describeArg(PEM)).not.toContain(PEM_BODY_LINE.slice(0, 20));
    expect(describeArg('a\nb')).toBe('"a?b"');
    expect(describeArg('z'.repeat(1000)).length).toBeLessThan(80);
    expect(describeArg('http://u:pass-word@h/x')).not.toContain('pass-word');
  });
});
