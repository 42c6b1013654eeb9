/**
 * The fast path of a REST market record (src/domain/fast-market.ts) against the zod route, the
 * schema of record (KalshiMarketCoreSchema + marketFromRecord = parseMarketRecordWithZod):
 *
 *  - whenever the fast path returns a Market, zod accepts the record and maps it to the very
 *    same Market (every field, compared with Object.is: -0, NaN and types included);
 *  - parseMarketRecord (fast, else zod) answers exactly what zod answers, for anything;
 *  - on real data it is the path taken: every real Kalshi record zod accepts, every fixture
 *    and every simulator record is accepted by the fast path itself.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseMarketRecord, parseMarketRecordWithZod } from '../../src/domain/mapping.js';
import { fastMarketFromRecord } from '../../src/domain/fast-market.js';
import { fastIsoMicros, fastScaled, isDecimalText } from '../../src/domain/fast-scalars.js';
import { dollarsToE4, countToE2, isoToMicros } from '../../src/domain/units.js';
import { FixedPointDollarsSchema, IsoDateTimeSchema } from '../../src/kalshi/schemas.js';
import { generateStore } from '../../src/sim/store.js';
import type { Market } from '../../src/domain/types.js';
import { loadRealCorpus } from '../fixtures/real-kalshi.js';
import { legacyMarketRecord, marketRecord } from '../fixtures/kalshi.js';
import { limitEdgeString } from './long-strings.js';

const NOW = 1_800_000_000_123_456;
const FIELDS = [
  'ticker',
  'eventTicker',
  'title',
  'marketStatus',
  'tradingStatus',
  'marketType',
  'result',
  'yesBid',
  'yesAsk',
  'lastPrice',
  'volume',
  'openTs',
  'closeTs',
  'expirationTs',
  'updatedAt',
] as const satisfies readonly (keyof Market)[];

/** Same keys, and every value identical by Object.is. */
function expectSameMarket(actual: Market, expected: Market, what: string): void {
  expect(Object.keys(actual), what).toEqual(Object.keys(expected));
  for (const f of FIELDS) {
    if (!Object.is(actual[f], expected[f])) throw new Error(`${what}: ${f} is ${String(actual[f])} on the fast path, ${String(expected[f])} through zod`);
  }
}

/** The equivalence on one input; returns whether the fast path vouched for it. */
function check(raw: unknown, what = 'record'): boolean {
  const fast = fastMarketFromRecord(raw, NOW);
  const ref = parseMarketRecordWithZod(raw, NOW);
  if (fast !== undefined) {
    if (!ref.ok) throw new Error(`${what}: the fast path accepted what zod refuses (${ref.error.message})`);
    expectSameMarket(fast, ref.value, what);
  }
  const combined = parseMarketRecord(raw, NOW);
  expect(combined.ok, what).toBe(ref.ok);
  if (combined.ok && ref.ok) expectSameMarket(combined.value, ref.value, what);
  if (!combined.ok && !ref.ok) {
    expect(combined.error.message, what).toBe(ref.error.message);
    expect(combined.ticker, what).toBe(ref.ticker);
  }
  return fast !== undefined;
}

const corpus = loadRealCorpus();

describe('fast market record = zod route: recorded and generated data', () => {
  it('every recorded real Kalshi market (all files, trimmed ones too): same answer, and the fast path takes every one zod accepts', () => {
    let accepted = 0;
    let refused = 0;
    for (const s of corpus.markets) {
      const what = `${s.file} ${s.where}`;
      const fast = check(s.record, what);
      const ref = parseMarketRecordWithZod(s.record, NOW);
      if (ref.ok) {
        expect(fast, `${what}: the fast path declined a real record zod accepts`).toBe(true);
        accepted++;
      } else refused++;
    }
    expect(accepted).toBeGreaterThanOrEqual(353);
    // The hand-trimmed gnome-classifier records (no open_time) are the only refusals.
    expect(refused).toBe(corpus.markets.filter((s) => s.trimmed).length);
  });

  it('the fixtures, current and legacy', () => {
    expect(check(marketRecord, 'marketRecord')).toBe(true);
    expect(check(legacyMarketRecord, 'legacyMarketRecord')).toBe(true);
  });

  it('every record of a generated simulator exchange (every status, combos, custom strikes)', () => {
    const nowMs = Date.UTC(2026, 10, 24, 12);
    const store = generateStore({
      markets: 4000,
      seed: 7,
      marketsPerEvent: { min: 1, max: 12 },
      statusMix: { initialized: 1, active: 3, inactive: 1, closed: 1, determined: 1, disputed: 1, amended: 1, finalized: 2 },
      bumpOnImplicit: false,
      nowMs,
      comboShare: 0.1,
    });
    let n = 0;
    for (let i = 0; i < store.count; i++) {
      store.effStatus(i, nowMs);
      const rec = JSON.parse(store.marketJson(i)) as unknown;
      expect(check(rec, `sim market ${i}`), `sim market ${i} declined`).toBe(true);
      n++;
    }
    expect(n).toBe(4000);
  });
});

// ---- property tests -----------------------------------------------------------------------

const digits = (min: number, max: number) => fc.stringMatching(new RegExp(`^[0-9]{${min},${max}}$`));
const pad2 = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map((n) => String(n).padStart(2, '0'));

/** Date-times of every spelling: canonical, odd but valid for the regex, impossible, and junk. */
const isoText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.integer({ min: 1890, max: 2300 }),
        pad2(0, 13),
        pad2(0, 32),
        pad2(0, 25),
        pad2(0, 60),
        pad2(0, 61),
        fc.option(digits(0, 9), { nil: undefined }),
        fc.constantFrom('Z', 'z', '+00:00', '-05:30', '+0130', ''),
        fc.constantFrom('T', 't', ' '),
      )
      .map(
        ([y, mo, d, h, mi, s, frac, zone, t]) => `${String(y).padStart(4, '0')}-${mo}-${d}${t}${h}:${mi}:${s}${frac === undefined ? '' : `.${frac}`}${zone}`,
      ),
  },
  {
    weight: 1,
    arbitrary: fc.date({ min: new Date(Date.UTC(1900, 0, 1)), max: new Date(Date.UTC(2199, 11, 31)), noInvalidDate: true }).map((d) => d.toISOString()),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '2026-02-29T00:00:00Z',
      '2024-02-29T23:59:59.999999Z',
      '2026-04-31T00:00:00Z',
      '2026-05-01T24:00:00Z',
      '1969-12-31T23:59:59.5005Z',
      '2026-05-01T14:00:00.Z',
      '2026-05-01',
      '',
      'not-a-date',
      '２０２６-05-01T00:00:00Z',
    ),
  },
  { weight: 1, arbitrary: fc.string() },
);

/** Decimal strings of every spelling: ordinary prices, rounding edges, signs, huge, malformed. */
const decimalText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom('', '', '', '-'), digits(1, 4), fc.option(digits(0, 8), { nil: undefined }))
      .map(([sign, w, f]) => `${sign}${w}${f === undefined ? '' : `.${f}`}`),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom('', '-'), digits(10, 22), fc.option(digits(1, 6), { nil: undefined }))
      .map(([sign, w, f]) => `${sign}${w}${f === undefined ? '' : `.${f}`}`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('0.5600', '-0.0000', '0.00005', '0.99995', '900719925474.0991', '900719925474.09905', '1.', '.5', '+1', '1e3', ' 1', '١'),
  },
  { weight: 1, arbitrary: fc.string() },
);

/** Any JSON-ish value a field might hold. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string(),
  fc.constant(-0),
  fc.constant(2 ** 53),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string(), fc.integer(), { maxKeys: 2 }),
  limitEdgeString,
);
const legacyInt: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -100, max: 10_000 }),
  fc.maxSafeInteger(),
  fc.constant(-0),
  fc.double(),
  fc.constant(2 ** 60),
  fc.constant(null),
  fc.constant(undefined),
);

const fieldValue: Record<string, fc.Arbitrary<unknown>> = {
  ticker: fc.oneof(fc.string(), limitEdgeString, junk),
  event_ticker: fc.oneof(fc.string(), limitEdgeString, junk),
  status: fc.oneof(fc.constantFrom('initialized', 'inactive', 'active', 'closed', 'determined', 'disputed', 'amended', 'finalized', 'open', 'Active'), junk),
  open_time: fc.oneof(isoText, junk),
  close_time: fc.oneof(isoText, junk),
  expected_expiration_time: fc.oneof(isoText, junk),
  latest_expiration_time: fc.oneof(isoText, junk),
  expiration_time: fc.oneof(isoText, junk),
  market_type: fc.oneof(fc.constantFrom('binary', 'scalar', 'categorical'), limitEdgeString, junk),
  title: fc.oneof(fc.string(), limitEdgeString, junk),
  yes_sub_title: fc.oneof(fc.string(), limitEdgeString, junk),
  result: fc.oneof(fc.constantFrom('', 'yes', 'no', 'scalar', 'void'), limitEdgeString, junk),
  yes_bid_dollars: fc.oneof(decimalText, junk),
  yes_ask_dollars: fc.oneof(decimalText, junk),
  last_price_dollars: fc.oneof(decimalText, junk),
  volume_fp: fc.oneof(decimalText, junk),
  yes_bid: legacyInt,
  yes_ask: legacyInt,
  last_price: legacyInt,
  volume: legacyInt,
};

const baseRecords: Record<string, unknown>[] = [...corpus.markets.map((s) => s.record), marketRecord, legacyMarketRecord];

/** A real record with some of the mapped fields replaced, removed or nulled, plus stray keys. */
const mutated = fc
  .tuple(
    fc.constantFrom(...baseRecords),
    fc
      .dictionary(fc.constantFrom(...Object.keys(fieldValue)), fc.constant(0), { maxKeys: 6 })
      .chain((picked) =>
        fc.record(Object.fromEntries(Object.keys(picked).map((k) => [k, fc.oneof(fieldValue[k] as fc.Arbitrary<unknown>, fc.constant('__delete__'))]))),
      ),
    fc.dictionary(
      fc.string({ maxLength: 8 }).map((k) => `x_${k}`),
      fc.jsonValue(),
      { maxKeys: 3 },
    ),
  )
  .map(([base, changes, extra]) => {
    const rec: Record<string, unknown> = { ...base, ...extra };
    for (const [k, v] of Object.entries(changes)) {
      if (v === '__delete__') delete rec[k];
      else rec[k] = v;
    }
    return rec;
  });

describe('fast market record = zod route (property)', () => {
  it('for mutated real records: the fast path never accepts what zod refuses, never maps differently', () => {
    let fastCount = 0;
    let total = 0;
    fc.assert(
      fc.property(mutated, (rec) => {
        total++;
        if (check(rec)) fastCount++;
      }),
      { numRuns: 4000 },
    );
    // Both branches are exercised: most mutated records are still common enough for the fast path.
    expect(fastCount).toBeGreaterThan(total * 0.05);
    expect(fastCount).toBeLessThan(total);
  });

  it('for anything at all (fc.anything)', () => {
    fc.assert(
      fc.property(fc.anything(), (raw) => void check(raw)),
      { numRuns: 2000 },
    );
  });

  it('scalars: fastIsoMicros = isoToMicros after the schema regex; fastScaled = dollarsToE4/countToE2 after it', () => {
    fc.assert(
      fc.property(isoText, (t) => {
        const fast = fastIsoMicros(t);
        if (Number.isNaN(fast)) return;
        expect(IsoDateTimeSchema.safeParse(t).success, t).toBe(true);
        expect(Object.is(fast, isoToMicros(t)), `${t}: ${fast} vs ${isoToMicros(t)}`).toBe(true);
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(decimalText, (t) => {
        expect(isDecimalText(t), t).toBe(FixedPointDollarsSchema.safeParse(t).success);
        for (const [scale, ref] of [
          [4, dollarsToE4],
          [2, countToE2],
        ] as const) {
          const fast = fastScaled(t, scale);
          if (Number.isNaN(fast)) continue;
          expect(FixedPointDollarsSchema.safeParse(t).success, t).toBe(true);
          expect(Object.is(fast, ref(t)), `${t} scale ${scale}: ${fast} vs ${ref(t)}`).toBe(true);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('every canonical date-time of 1900–2199 is taken by the fast path (sampled, with 0–9 fraction digits)', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date(Date.UTC(1900, 0, 1)), max: new Date(Date.UTC(2199, 11, 31, 23, 59, 59)), noInvalidDate: true }),
        digits(0, 9),
        (d, frac) => {
          const t = `${d.toISOString().slice(0, 19)}${frac === '' ? '' : `.${frac}`}Z`;
          expect(fastIsoMicros(t), t).toBe(isoToMicros(t));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
