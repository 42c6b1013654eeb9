/** Tickers as NATS subject tokens and KV keys: reversible, and always valid for both. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REGISTRY_KEY, changeMsgId, changeSubject, parseAnnouncement, parseChangeSubject } from '../../src/publish/layout.js';
import { TickerCodecError, decodeTicker, encodeTicker } from '../../src/publish/ticker-codec.js';

/** NATS KV keys: `[-/_=.A-Za-z0-9]+`, not starting or ending with `.`; a subject token has no `.`, `*`, `>` or whitespace. */
const KV_KEY = /^[-/_=.a-zA-Z0-9]+$/;
const validToken = (t: string) => t.length > 0 && KV_KEY.test(t) && !/[.*>\s]/.test(t);

const layout = { stream: 'KALSHI_MARKETS', subjectPrefix: 'kalshi.markets', bucket: 'kalshi-markets' };

describe('ticker codec', () => {
  it('encodes real tickers with dots readably and reversibly', () => {
    const cases: [string, string][] = [
      ['KXCPI-26MAR17-T0.7', 'KXCPI-26MAR17-T0_2E7'],
      ['KXBTCD-26JUL19-T90749.99', 'KXBTCD-26JUL19-T90749_2E99'],
      ['KXHIGHNY-26NOV24-T52', 'KXHIGHNY-26NOV24-T52'],
      ['KXMVE_X', 'KXMVE_5FX'],
      ['A B*>', 'A_20B_2A_3E'],
      ['KX Ü', 'KX_20_C3_9C'],
      ['', '_'],
    ];
    for (const [ticker, token] of cases) {
      expect(encodeTicker(ticker)).toBe(token);
      expect(decodeTicker(token)).toBe(ticker);
      expect(validToken(token), token).toBe(true);
    }
  });

  it('round-trips every string, always to one valid subject token and KV key', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (ticker) => {
        const token = encodeTicker(ticker);
        expect(validToken(token)).toBe(true);
        expect(decodeTicker(token)).toBe(ticker);
      }),
      { numRuns: 500 },
    );
  });

  it('is injective: distinct tickers never share a token', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 12 }), (a, b) => {
        fc.pre(a !== b);
        expect(encodeTicker(a)).not.toBe(encodeTicker(b));
      }),
      { numRuns: 500 },
    );
  });

  it('never writes the reserved key _registry: it is no encoded ticker, and no ticker encodes to it', () => {
    expect(REGISTRY_KEY).toBe('_registry');
    expect(validToken(REGISTRY_KEY)).toBe(true);
    expect(() => decodeTicker(REGISTRY_KEY)).toThrow(TickerCodecError);
    // The tickers closest to it: its own text, with a leading '_', with the escape the codec writes for '_'.
    for (const t of ['_registry', 'registry', '_5Fregistry', '\u0000registry', '_', '']) expect(encodeTicker(t)).not.toBe(REGISTRY_KEY);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 12 }), (ticker) => {
        const token = encodeTicker(ticker);
        // Every '_' the codec writes starts an upper-case hex escape (or is the whole token).
        expect(token === '_' || /^([A-Za-z0-9-]|_[0-9A-F]{2})+$/.test(token)).toBe(true);
        expect(token).not.toBe(REGISTRY_KEY);
      }),
      { numRuns: 500 },
    );
  });

  it('reads a registry announcement, and nothing else as one', () => {
    const syncing = { version: 1, instance: 'i1', startedAt: 10, synced: false, syncedAt: null, markets: null, warm: null, at: 11 };
    const synced = { ...syncing, synced: true, syncedAt: 12, markets: 300, warm: false, at: 13 };
    expect(parseAnnouncement(syncing)).toEqual(syncing);
    expect(parseAnnouncement(synced)).toEqual(synced);
    for (const bad of [null, 'x', { ...synced, version: 2 }, { ...synced, markets: null }, { ...synced, instance: 3 }, { ...syncing, warm: 'no' }])
      expect(parseAnnouncement(bad), JSON.stringify(bad)).toBeNull();
  });

  it('refuses what no ticker encodes to', () => {
    for (const bad of ['A.B', 'A_2', 'A_2e', 'A_ZZ', 'A*', '_C3']) expect(() => decodeTicker(bad), bad).toThrow(TickerCodecError);
  });

  it('puts each change on <prefix>.<eventType>.<token> and dedups it by ticker, status and record time', () => {
    const market = { ticker: 'KXCPI-26MAR17-T0.7', updatedAt: 1_795_489_658_219_000 } as never;
    const change = { ticker: 'KXCPI-26MAR17-T0.7', eventType: 'status_change', oldStatus: 'active', newStatus: 'inactive', market } as const;
    const subject = changeSubject(layout, change);
    expect(subject).toBe('kalshi.markets.status_change.KXCPI-26MAR17-T0_2E7');
    expect(parseChangeSubject(layout, subject)).toEqual({ eventType: 'status_change', ticker: 'KXCPI-26MAR17-T0.7' });
    expect(parseChangeSubject(layout, 'kalshi.markets.other.X')).toBeNull();
    expect(parseChangeSubject(layout, 'elsewhere.created.X')).toBeNull();
    expect(changeMsgId(change, undefined)).toBe('KXCPI-26MAR17-T0.7|status_change|inactive|1795489658219000');
    expect(changeMsgId({ ticker: 'T', eventType: 'settled', oldStatus: 'determined', newStatus: 'finalized' }, { updatedAt: 7 } as never)).toBe(
      'T|settled|finalized|7',
    );
  });
});
