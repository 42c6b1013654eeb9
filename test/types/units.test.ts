/**
 * The branded unit types of src/domain/types.ts, at the type level. This file is compiled by
 * `tsc --noEmit` (npm test's typecheck): every `@ts-expect-error` line below must BE an error,
 * or the directive itself is one (TS2578) — so a brand that stopped working fails the build.
 * The assertions at run time show that the brands cost nothing: a branded value is the number.
 */
import { describe, expect, it } from 'vitest';
import type { CountE2, Market, Micros, PriceE4 } from '../../src/domain/types.js';
import { asCountE2, asMicros, asPriceE4, countToE2, dollarsToE4, e4ToDollars, isoToMicros, msToMicros, secondsToMicros } from '../../src/domain/units.js';

function takesMicros(t: Micros): number {
  return t;
}
function takesPrice(p: PriceE4): number {
  return p;
}
function takesCount(c: CountE2): number {
  return c;
}

describe('branded units: mix-ups are compile errors', () => {
  it('a PriceE4 cannot be passed where Micros is expected (nor a CountE2), and the other way round', () => {
    const price = dollarsToE4('0.5600');
    const count = countToE2('18342.50');
    const time = isoToMicros('2026-05-01T14:00:00Z');
    const market = { yesBid: price, volume: count, closeTs: time } as Pick<Market, 'yesBid' | 'volume' | 'closeTs'>;

    // @ts-expect-error a price is not a time
    takesMicros(price);
    // @ts-expect-error a Market's price is not a time either
    takesMicros(market.yesBid);
    // @ts-expect-error a count is not a time
    takesMicros(count);
    // @ts-expect-error a time is not a price
    takesPrice(time);
    // @ts-expect-error a Market's close time is not a price
    takesPrice(market.closeTs);
    // @ts-expect-error a count is not a price
    takesPrice(count);
    // @ts-expect-error a price is not a count
    takesCount(price);
    // @ts-expect-error a time is not a count
    takesCount(secondsToMicros(1));
    // @ts-expect-error a bare number is not a price: it comes from dollarsToE4 / centsToE4, or asPriceE4 when already in the unit
    takesPrice(5600);
    // @ts-expect-error nor a count
    takesCount(100);
    // @ts-expect-error formatting a time as dollars
    e4ToDollars(time);

    // What is allowed, and what it is at run time: the number itself.
    expect(takesPrice(asPriceE4(5600))).toBe(5600);
    expect(takesCount(asCountE2(1_834_250))).toBe(count);
    expect(takesMicros(time)).toBe(1_777_644_000_000_000);
    expect(takesMicros(asMicros(1))).toBe(1);
    expect(takesMicros(msToMicros(2))).toBe(2000);
    // Timestamps also accept a plain number (time arithmetic is everywhere: now + 5 s), but never
    // another unit; prices and counts accept only what a converter made.
    expect(takesMicros(time + 5_000_000)).toBe(1_777_644_005_000_000);
    const plain: number = price; // every unit is a number
    expect(plain + market.volume).toBe(5600 + 1_834_250);
  });
});
