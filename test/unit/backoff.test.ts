/** The one retry delay (src/util/backoff.ts): exponential, capped, full jitter. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/util/backoff.js';

describe('backoffDelay', () => {
  it('is uniform in [0, min(max, base·2^(n-1))] (full jitter)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 80 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (failures, r) => {
        const ceiling = Math.min(30_000, 500 * 2 ** Math.min(failures - 1, 30));
        const d = backoffDelay(failures, { baseMs: 500, maxMs: 30_000 }, () => r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(ceiling);
        expect(d).toBe(Math.floor(r * ceiling));
      }),
    );
  });

  it('grows exponentially up to the cap', () => {
    const top = (n: number) => backoffDelay(n, { baseMs: 100, maxMs: 1000 }, () => 0.999999);
    expect([top(1), top(2), top(3), top(4), top(5), top(50)]).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelay(3, { baseMs: 100, maxMs: 1000 }, () => 0)).toBe(0);
  });

  it('treats a first attempt (0 failures) like the first retry', () => {
    expect(backoffDelay(0, { baseMs: 100, maxMs: 1000 }, () => 0.5)).toBe(50);
  });
});
