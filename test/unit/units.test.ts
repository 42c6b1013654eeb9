import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  asCountE2,
  asPriceE4,
  countToE2,
  dollarsToE4,
  e2ToCount,
  e4ToDollars,
  isoToMicros,
  parseScaledDecimal,
  secondsToMicros,
} from '../../src/domain/units.js';

describe('fixed-point parsing', () => {
  it('parses Kalshi dollar strings exactly into units of $0.0001', () => {
    expect(dollarsToE4('0.5600')).toBe(5600);
    expect(dollarsToE4('1.0000')).toBe(10000);
    expect(dollarsToE4('0.0010')).toBe(10);
    expect(dollarsToE4('0.0001')).toBe(1);
    expect(dollarsToE4('0')).toBe(0);
    expect(dollarsToE4('0.07')).toBe(700);
    // 0.1 + 0.2 style float error cannot happen: 0.3 is 3000 exactly.
    expect(dollarsToE4('0.3000')).toBe(3000);
  });

  it('rounds digits beyond the unit half away from zero', () => {
    expect(dollarsToE4('0.123449')).toBe(1234);
    expect(dollarsToE4('0.123450')).toBe(1235);
    expect(dollarsToE4('-0.000050')).toBe(-1);
  });

  it('parses count strings into hundredths of a contract', () => {
    expect(countToE2('18342.50')).toBe(1834250);
    expect(countToE2('0.01')).toBe(1);
    expect(countToE2('300.00')).toBe(30000);
  });

  it('returns NaN for anything that is not a plain decimal', () => {
    for (const bad of ['', 'abc', '1e3', '0x10', '.5', '5.', ' 1.0', '1,000.00', 'NaN', 'Infinity']) {
      expect(parseScaledDecimal(bad, 4), bad).toBeNaN();
    }
    expect(parseScaledDecimal('9'.repeat(20), 4)).toBeNaN();
  });

  it('round-trips every 4-decimal dollar string (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }), (units) => {
        expect(dollarsToE4(e4ToDollars(asPriceE4(units)))).toBe(units);
        expect(countToE2(e2ToCount(asCountE2(units)))).toBe(units);
      }),
    );
  });

  it('formats back to Kalshi strings', () => {
    expect(e4ToDollars(asPriceE4(5600))).toBe('0.5600');
    expect(e4ToDollars(asPriceE4(10))).toBe('0.0010');
    expect(e4ToDollars(asPriceE4(-1))).toBe('-0.0001');
    expect(e2ToCount(asCountE2(1834250))).toBe('18342.50');
  });
});

describe('timestamps', () => {
  it('converts ISO strings to microseconds keeping sub-millisecond digits', () => {
    expect(isoToMicros('2026-11-23T09:30:12Z')).toBe(Date.UTC(2026, 10, 23, 9, 30, 12) * 1000);
    expect(isoToMicros('2026-11-23T09:30:12.123456Z')).toBe(Date.UTC(2026, 10, 23, 9, 30, 12, 123) * 1000 + 456);
    expect(isoToMicros('2026-11-23T09:30:12.1Z')).toBe(Date.UTC(2026, 10, 23, 9, 30, 12, 100) * 1000);
    expect(isoToMicros('2026-11-23T09:30:12.1234567Z')).toBe(Date.UTC(2026, 10, 23, 9, 30, 12, 123) * 1000 + 456);
    expect(isoToMicros('2026-11-23T04:30:12-05:00')).toBe(Date.UTC(2026, 10, 23, 9, 30, 12) * 1000);
    expect(isoToMicros('not a date')).toBeNaN();
  });

  it('converts WebSocket Unix seconds to microseconds', () => {
    expect(secondsToMicros(1764046740)).toBe(1764046740_000_000);
    expect(Number.isSafeInteger(secondsToMicros(1764046740))).toBe(true);
  });

  it('agrees with Date for every millisecond instant (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8_000_000_000_000 }), fc.integer({ min: 0, max: 999 }), (ms, micro) => {
        const iso = new Date(ms).toISOString().replace('Z', `${String(micro).padStart(3, '0')}Z`);
        expect(isoToMicros(iso)).toBe(ms * 1000 + micro);
      }),
    );
  });
});
