/**
 * The fast path of a REST event record (src/domain/fast-event.ts) against the zod route
 * (KalshiEventCoreSchema + eventFromRecord = parseEventRecordWithZod): same answer for anything,
 * the same MarketEvent whenever the fast path vouches, and the fast path taken for every real
 * recorded event and every simulator event.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseEventRecord, parseEventRecordWithZod } from '../../src/domain/mapping.js';
import { fastEventFromRecord } from '../../src/domain/fast-event.js';
import { generateStore } from '../../src/sim/store.js';
import type { MarketEvent } from '../../src/domain/types.js';
import { loadRealCorpus } from '../fixtures/real-kalshi.js';
import { limitEdgeString } from './long-strings.js';
import { eventRecord } from '../fixtures/kalshi.js';

const FIELDS = ['eventTicker', 'seriesTicker', 'title', 'subTitle', 'mutuallyExclusive', 'updatedAt'] as const satisfies readonly (keyof MarketEvent)[];

function check(raw: unknown, what = 'event'): boolean {
  const fast = fastEventFromRecord(raw);
  const ref = parseEventRecordWithZod(raw);
  if (fast !== undefined) {
    if (!ref.ok) throw new Error(`${what}: the fast path accepted what zod refuses (${ref.error.message})`);
    expect(Object.keys(fast), what).toEqual(Object.keys(ref.value));
    for (const f of FIELDS)
      if (!Object.is(fast[f], ref.value[f])) throw new Error(`${what}: ${f} is ${String(fast[f])} on the fast path, ${String(ref.value[f])} through zod`);
  }
  const combined = parseEventRecord(raw);
  expect(combined.ok, what).toBe(ref.ok);
  if (!combined.ok && !ref.ok) expect(combined.error.message).toBe(ref.error.message);
  if (combined.ok && ref.ok) expect(combined.value).toEqual(ref.value);
  return fast !== undefined;
}

const corpus = loadRealCorpus();

describe('fast event record = zod route', () => {
  it('every recorded real Kalshi event (all 315, trimmed ones too) and the fixture: same answer, fast path taken', () => {
    for (const s of corpus.events) expect(check(s.record, `${s.file} ${s.where}`), `${s.file} ${s.where} declined`).toBe(parseEventRecordWithZod(s.record).ok);
    expect(corpus.events.length).toBeGreaterThanOrEqual(315);
    expect(check(eventRecord, 'fixture')).toBe(true);
  });

  it('every event of a generated simulator exchange', () => {
    const nowMs = Date.UTC(2026, 10, 24, 12);
    const store = generateStore({
      markets: 3000,
      seed: 3,
      marketsPerEvent: { min: 1, max: 12 },
      statusMix: { active: 1, finalized: 1 },
      bumpOnImplicit: false,
      nowMs,
      comboShare: 0.1,
    });
    let n = 0;
    for (let e = 0; e < store.evTicker.length; e++) {
      const rec = JSON.parse(store.eventJson(e, null)) as unknown;
      expect(check(rec, `sim event ${e}`), `sim event ${e} declined`).toBe(true);
      n++;
    }
    expect(n).toBeGreaterThan(100);
  });

  it('for mutated real events and for anything at all (property)', () => {
    const base = corpus.events.map((s) => s.record);
    const junk = fc.oneof(
      fc.constant(null),
      fc.constant(undefined),
      fc.boolean(),
      fc.integer(),
      fc.string(),
      fc.constant('2026-05-01T14:00:00.123456Z'),
      fc.constant('2026-13-01T00:00:00Z'),
      fc.constant('2026-05-01T14:00:00+01:00'),
      fc.constant(''),
      fc.dictionary(fc.string(), fc.integer(), { maxKeys: 1 }),
      limitEdgeString,
    );
    const keys = ['event_ticker', 'series_ticker', 'title', 'sub_title', 'mutually_exclusive', 'last_updated_ts'];
    let fast = 0;
    let total = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...base),
        fc.dictionary(fc.constantFrom(...keys), fc.oneof(junk, fc.constant('__delete__')), { maxKeys: 3 }),
        (ev, changes) => {
          const rec: Record<string, unknown> = { ...ev };
          for (const [k, v] of Object.entries(changes)) {
            if (v === '__delete__') delete rec[k];
            else rec[k] = v;
          }
          total++;
          if (check(rec)) fast++;
        },
      ),
      { numRuns: 3000 },
    );
    expect(fast).toBeGreaterThan(total * 0.05);
    expect(fast).toBeLessThan(total);
    fc.assert(
      fc.property(fc.anything(), (raw) => void check(raw)),
      { numRuns: 1000 },
    );
  });
});
