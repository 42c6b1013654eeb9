/**
 * The fast path of a lifecycle frame (src/domain/fast-frame.ts) against the zod route, the schema
 * of record (LifecycleSocketFrameSchema, then lifecycleUpdateFromMsg):
 *
 *  - whenever the fast path certifies a frame, zod accepts it with the same type, sid and seq,
 *    and the update it describes is exactly the one lifecycleUpdateFromMsg builds;
 *  - every recorded real lifecycle frame, every docs example and every fixture that zod
 *    accepts as a lifecycle message is certified by the fast path itself (it is the path taken).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { lifecycleUpdateFromMsg, parseLifecycleJson, type LifecycleUpdate } from '../../src/domain/mapping.js';
import { fastFrameUpdate, fastLifecycleFrame, newFastFrame } from '../../src/domain/fast-frame.js';
import { loadRealCorpus } from '../fixtures/real-kalshi.js';
import { lifecycleFrames } from '../fixtures/kalshi.js';
import { limitEdgeString } from './long-strings.js';

const NOW = 1_764_000_000_123_456;
const out = newFastFrame();

function sameValue(a: unknown, b: unknown, path: string): void {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    expect(Object.keys(a).sort(), path).toEqual(Object.keys(b).sort());
    for (const k of Object.keys(a)) sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
    return;
  }
  if (!Object.is(a, b)) throw new Error(`${path}: ${String(a)} on the fast path, ${String(b)} through zod`);
}

/** The equivalence on one parsed frame; returns whether the fast path certified it. */
function check(json: unknown, what = 'frame'): boolean {
  const fast = fastLifecycleFrame(json, out);
  if (!fast) return false;
  const ref = parseLifecycleJson(json);
  if (!ref.ok) throw new Error(`${what}: the fast path accepted what zod refuses (${ref.error.message})`);
  const frame = ref.value;
  if (frame.type !== 'market_lifecycle_v2' && frame.type !== 'multivariate_market_lifecycle') throw new Error(`${what}: certified a ${frame.type} frame`);
  expect(out.type, what).toBe(frame.type);
  expect(Object.is(out.sid, frame.sid), what).toBe(true);
  expect(Object.is(out.seq, frame.seq), `${what} seq`).toBe(true);
  expect(out.eventType, what).toBe(frame.msg.event_type);
  const expected: LifecycleUpdate = lifecycleUpdateFromMsg(frame.msg, NOW);
  sameValue(fastFrameUpdate(out, NOW), expected, what);
  return true;
}

const corpus = loadRealCorpus();

describe('fast lifecycle frame = zod route: recorded data and fixtures', () => {
  it('every recorded real frame and docs example: same answer; every lifecycle message zod accepts is certified', () => {
    let certified = 0;
    for (const f of corpus.frames) {
      const what = `${f.file}:${f.line}`;
      const json = JSON.parse(f.text) as unknown;
      const fast = check(json, what);
      const ref = parseLifecycleJson(json);
      const lifecycle = ref.ok && (ref.value.type === 'market_lifecycle_v2' || ref.value.type === 'multivariate_market_lifecycle');
      expect(fast, `${what}: ${lifecycle ? 'declined a lifecycle frame zod accepts' : 'certified a frame that is not one'}`).toBe(lifecycle);
      if (fast) certified++;
    }
    expect(certified).toBeGreaterThanOrEqual(10);
  });

  it('the fixtures (every event type), also on the multivariate channel', () => {
    for (const [name, frame] of Object.entries(lifecycleFrames)) {
      const json = JSON.parse(JSON.stringify(frame)) as Record<string, unknown>;
      const isLifecycle = json.type === 'market_lifecycle_v2';
      expect(check(json, name), name).toBe(isLifecycle);
      if (isLifecycle) expect(check({ ...json, type: 'multivariate_market_lifecycle' }, `${name} (combo)`)).toBe(true);
    }
  });
});

// ---- property tests -----------------------------------------------------------------------

/** Objects no JSON text produces, but zod has an opinion about (symbol keys, other prototypes). */
const oddObjects: unknown[] = [
  Object.assign(Object.create(null) as object, { a: 1 }),
  { [Symbol('k')]: 1 },
  { constructor: { prototype: 1 } },
  { constructor: 'x' },
  new Date(0),
  new Map([['a', 1]]),
];
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.integer({ min: -3, max: 3 }),
  fc.integer({ min: -5, max: 2_000_000_000 }),
  fc.double(),
  fc.string({ maxLength: 6 }),
  fc.constant(-0),
  fc.constant(2 ** 53),
  fc.constant(1.5),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
  fc.constantFrom(...oddObjects),
  limitEdgeString,
);
const seconds = fc.oneof(fc.integer({ min: 0, max: 4_000_000_000 }), junk);
const decimal = fc.oneof(fc.constantFrom('0.5600', '1', '-0.01', '1.', '.5', 'abc', ''), junk);
const priceRanges = fc.oneof(
  fc.constant([{ start: '0.0000', end: '1.0000', step: '0.0100' }]),
  fc.array(fc.oneof(fc.record({ start: decimal, end: decimal, step: decimal }), junk), { maxLength: 2 }),
  junk,
);
const meta = fc.oneof(
  fc.record(
    {
      name: fc.oneof(fc.string(), limitEdgeString, junk),
      title: fc.oneof(fc.string(), limitEdgeString, junk),
      yes_sub_title: fc.oneof(fc.string(), limitEdgeString, junk),
      no_sub_title: fc.oneof(fc.string(), limitEdgeString, junk),
      rules_primary: fc.oneof(fc.string(), limitEdgeString, junk),
      rules_secondary: fc.oneof(fc.string(), limitEdgeString, junk),
      can_close_early: fc.oneof(fc.boolean(), junk),
      event_ticker: fc.oneof(fc.string(), limitEdgeString, junk),
      expected_expiration_ts: seconds,
      strike_type: fc.oneof(fc.string(), limitEdgeString, junk),
      floor_strike: fc.oneof(fc.double(), junk),
      cap_strike: fc.oneof(fc.double(), junk),
      custom_strike: fc.oneof(fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue(), { maxKeys: 3 }), junk),
    },
    { requiredKeys: [] },
  ),
  junk,
);
const msgFields: Record<string, fc.Arbitrary<unknown>> = {
  market_ticker: fc.oneof(fc.constantFrom('KXHIGHNY-26NOV24-T52', 'KXMVE-X', ''), limitEdgeString, junk),
  event_type: fc.oneof(
    fc.constantFrom(
      'created',
      'activated',
      'deactivated',
      'close_date_updated',
      'determined',
      'settled',
      'price_level_structure_updated',
      'metadata_updated',
      'event_fee_update',
      'Created',
    ),
    junk,
  ),
  exchange_index: fc.oneof(fc.integer({ min: 0, max: 3 }), junk),
  is_deactivated: fc.oneof(fc.boolean(), junk),
  open_ts: seconds,
  close_ts: seconds,
  result: fc.oneof(fc.constantFrom('yes', 'no', '', 'scalar', 'void'), limitEdgeString, junk),
  determination_ts: seconds,
  settlement_value: decimal,
  settled_ts: seconds,
  price_level_structure: fc.oneof(fc.constantFrom('linear_cent', 'deci_cent'), limitEdgeString, junk),
  price_ranges: priceRanges,
  additional_metadata: meta,
  strike_type: fc.oneof(fc.string(), limitEdgeString, junk),
  floor_strike: fc.oneof(fc.double(), junk),
  cap_strike: fc.oneof(fc.double(), junk),
  custom_strike: fc.oneof(fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue(), { maxKeys: 3 }), junk),
  yes_sub_title: fc.oneof(fc.string(), limitEdgeString, junk),
};
const topFields: Record<string, fc.Arbitrary<unknown>> = {
  type: fc.oneof(fc.constantFrom('market_lifecycle_v2', 'multivariate_market_lifecycle', 'event_lifecycle', 'subscribed', 'error'), junk),
  sid: fc.oneof(fc.integer({ min: 1, max: 50 }), junk),
  seq: fc.oneof(fc.integer({ min: 1, max: 1_000_000 }), junk),
  sending_ts_ms: fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), junk),
};

const bases: Record<string, unknown>[] = [
  ...corpus.frames.map((f) => JSON.parse(f.text) as Record<string, unknown>),
  ...Object.values(lifecycleFrames).map((f) => JSON.parse(JSON.stringify(f)) as Record<string, unknown>),
];

function pick(fields: Record<string, fc.Arbitrary<unknown>>, maxKeys: number) {
  return fc
    .dictionary(fc.constantFrom(...Object.keys(fields)), fc.constant(0), { maxKeys })
    .chain((picked) =>
      fc.record(Object.fromEntries(Object.keys(picked).map((k) => [k, fc.oneof(fields[k] as fc.Arbitrary<unknown>, fc.constant('__delete__'))]))),
    );
}
function apply(target: Record<string, unknown>, changes: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(changes)) {
    if (v === '__delete__') delete target[k];
    else target[k] = v;
  }
}

const mutatedFrame = fc
  .tuple(
    fc.constantFrom(...bases),
    pick(topFields, 2),
    pick(msgFields, 4),
    fc.dictionary(
      fc.string({ maxLength: 6 }).map((k) => `x_${k}`),
      fc.jsonValue(),
      { maxKeys: 2 },
    ),
  )
  .map(([base, top, msgChanges, extra]) => {
    const frame: Record<string, unknown> = { ...base, ...extra };
    apply(frame, top);
    if (typeof base.msg === 'object' && base.msg !== null) {
      const msg: Record<string, unknown> = { ...(base.msg as Record<string, unknown>) };
      apply(msg, msgChanges);
      frame.msg = msg;
    }
    return frame;
  });

/** The fields each event type carries, with a valid value for each. */
const VALID: Record<string, Record<string, unknown>> = {
  created: {
    open_ts: 1_763_910_000,
    close_ts: 1_764_046_740,
    price_level_structure: 'linear_cent',
    price_ranges: [{ start: '0.0000', end: '1.0000', step: '0.0100' }],
    additional_metadata: { title: 'T', event_ticker: 'EV', expected_expiration_ts: 1_764_082_800, custom_strike: { a: 1 } },
  },
  activated: { is_deactivated: false },
  deactivated: { is_deactivated: true },
  close_date_updated: { close_ts: 1_764_100_000 },
  determined: { result: 'yes', determination_ts: 1_764_000_000, settlement_value: '1.0000' },
  settled: { settled_ts: 1_764_000_000 },
  price_level_structure_updated: { price_level_structure: 'deci_cent', price_ranges: [{ start: '0.0000', end: '1.0000', step: '0.0010' }] },
  metadata_updated: { strike_type: 'between', floor_strike: 1, cap_strike: 2, custom_strike: { k: 'v' }, yes_sub_title: 'x' },
};
const META_VALID: Record<string, unknown> = {
  name: 'N',
  title: 'T',
  yes_sub_title: 'Y',
  no_sub_title: 'N',
  rules_primary: 'R',
  rules_secondary: '',
  can_close_early: true,
  event_ticker: 'EV',
  expected_expiration_ts: 1_764_082_800,
  strike_type: 'greater',
  floor_strike: 52,
  cap_strike: 60,
  custom_strike: { a: 1 },
};
const metaFields: Record<string, fc.Arbitrary<unknown>> = {
  name: fc.oneof(fc.string(), limitEdgeString),
  title: fc.oneof(fc.string(), limitEdgeString),
  yes_sub_title: fc.oneof(fc.string(), limitEdgeString),
  no_sub_title: fc.oneof(fc.string(), limitEdgeString),
  rules_primary: fc.oneof(fc.string(), limitEdgeString),
  rules_secondary: fc.oneof(fc.string(), limitEdgeString),
  can_close_early: fc.boolean(),
  event_ticker: fc.oneof(fc.string(), limitEdgeString),
  expected_expiration_ts: seconds,
  strike_type: fc.oneof(fc.string(), limitEdgeString),
  floor_strike: fc.double(),
  cap_strike: fc.double(),
  custom_strike: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue(), { maxKeys: 3 }),
};
/** An object with each field of `valid` kept, removed, drawn from its arbitrary, or odd. */
function perField(valid: Record<string, unknown>, arbs: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  const gens = Object.fromEntries(
    Object.entries(valid).map(([k, v]) => [
      k,
      fc.oneof(
        { weight: 4, arbitrary: k === 'additional_metadata' ? perField(META_VALID, metaFields) : fc.constant(v) },
        { weight: 1, arbitrary: fc.constant('__delete__') },
        { weight: 1, arbitrary: arbs[k] ?? junk },
        { weight: 1, arbitrary: junk },
      ),
    ]),
  );
  return fc.record(gens).map((changes) => {
    const o: Record<string, unknown> = {};
    apply(o, changes);
    return o;
  });
}
/** A frame of one event type with each of its fields (nested metadata too) valid, absent or odd. */
const targetedFrame = fc
  .constantFrom(...Object.keys(VALID))
  .chain((eventType) =>
    fc
      .tuple(
        perField({ market_ticker: 'KXHIGHNY-26NOV24-T52', exchange_index: 0, ...VALID[eventType] }, msgFields),
        fc.oneof(fc.constant(1), topFields.sid as fc.Arbitrary<unknown>),
        fc.oneof(fc.constant(5), topFields.seq as fc.Arbitrary<unknown>),
        fc.constantFrom('market_lifecycle_v2', 'multivariate_market_lifecycle'),
      )
      .map(([m, sid, seq, type]) => ({ type, sid, seq, msg: { event_type: eventType, ...m } })),
  );

describe('fast lifecycle frame = zod route: objects no JSON produces', () => {
  it('symbol keys, null prototypes, class instances in every object-valued place', () => {
    for (const odd of oddObjects) {
      const frames = [
        { type: 'market_lifecycle_v2', sid: 1, seq: 1, msg: { market_ticker: 'A', event_type: 'metadata_updated', custom_strike: odd } },
        {
          type: 'market_lifecycle_v2',
          sid: 1,
          seq: 1,
          msg: { market_ticker: 'A', event_type: 'created', open_ts: 1, close_ts: 2, additional_metadata: { custom_strike: odd } },
        },
        { type: 'market_lifecycle_v2', sid: 1, seq: 1, msg: { market_ticker: 'A', event_type: 'created', open_ts: 1, close_ts: 2, additional_metadata: odd } },
        { type: 'market_lifecycle_v2', sid: 1, seq: 1, msg: { market_ticker: 'A', event_type: 'created', open_ts: 1, close_ts: 2, price_ranges: [odd] } },
        { type: 'market_lifecycle_v2', sid: 1, seq: 1, msg: odd },
        odd,
      ];
      for (const f of frames) check(f, `odd object ${String(Object.prototype.toString.call(odd))}`);
    }
  });
});

describe('fast lifecycle frame = zod route (property)', () => {
  it('for frames built per event type, each field valid, absent or odd', () => {
    let certified = 0;
    let total = 0;
    fc.assert(
      fc.property(targetedFrame, (frame) => {
        total++;
        if (check(frame)) certified++;
      }),
      { numRuns: 8000 },
    );
    expect(certified).toBeGreaterThan(total * 0.05);
    expect(certified).toBeLessThan(total);
  });

  it('for mutated real and fixture frames: never accepts what zod refuses, never reads it differently', () => {
    let certified = 0;
    let total = 0;
    fc.assert(
      fc.property(mutatedFrame, (frame) => {
        total++;
        if (check(frame)) certified++;
      }),
      { numRuns: 5000 },
    );
    expect(certified).toBeGreaterThan(total * 0.05);
    expect(certified).toBeLessThan(total);
  });

  it('for anything at all (fc.anything), and anything as msg', () => {
    fc.assert(
      fc.property(fc.anything(), (raw) => void check(raw)),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(
        fc.anything(),
        fc.constantFrom('market_lifecycle_v2', 'multivariate_market_lifecycle'),
        (msg, type) => void check({ type, sid: 1, seq: 2, msg }),
      ),
      { numRuns: 1000 },
    );
  });
});
