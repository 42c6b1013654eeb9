/**
 * Property tests over the real records: whatever Kalshi does with an optional field (omit it,
 * send null, keep it) or with an open enumeration (a new value), the record is not quarantined;
 * only a missing or unusable ticker, event_ticker, status, open_time or close_time is, and the
 * error names that field.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseEventRecord, parseLifecycleFrame, parseMarketRecord } from '../../src/domain/mapping.js';
import { KalshiMarketSchema } from '../../src/kalshi/schemas.js';
import { loadRealCorpus } from '../fixtures/real-kalshi.js';
import { marketRecord } from '../fixtures/kalshi.js';

const corpus = loadRealCorpus();
const NOW = 1_800_000_000_000_000;
const REQUIRED = ['ticker', 'event_ticker', 'status', 'open_time', 'close_time'] as const;
const records = [...corpus.markets.filter((s) => !s.trimmed).map((s) => s.record), marketRecord as unknown as Record<string, unknown>];

type Fate = 'keep' | 'null' | 'absent';
const fate: fc.Arbitrary<Fate> = fc.constantFrom('keep', 'null', 'absent');

/** A real record with each optional field kept, nulled or dropped, plus unknown extra keys. */
const mangled = fc
  .integer({ min: 0, max: records.length - 1 })
  .chain((i) => {
    const rec = records[i] as Record<string, unknown>;
    const optional = Object.keys(rec).filter((k) => !(REQUIRED as readonly string[]).includes(k));
    return fc.tuple(
      fc.constant(rec),
      fc.array(fate, { minLength: optional.length, maxLength: optional.length }).map((fates) => optional.map((k, j) => [k, fates[j]] as const)),
      fc.dictionary(
        fc.string({ minLength: 1, maxLength: 12 }).map((k) => `x_${k}`),
        fc.jsonValue(),
        { maxKeys: 4 },
      ),
    );
  })
  .map(([rec, fates, extra]) => {
    const out: Record<string, unknown> = { ...extra };
    for (const k of REQUIRED) out[k] = rec[k];
    for (const [k, f] of fates)
      if (f === 'keep') out[k] = rec[k];
      else if (f === 'null') out[k] = null;
    return out;
  });

describe('tolerance of optional fields and open enumerations (property)', () => {
  it('absent, null or present optional fields and unknown keys never quarantine a real record', () => {
    fc.assert(
      fc.property(mangled, (rec) => {
        const r = parseMarketRecord(rec, NOW);
        if (!r.ok) throw new Error(`${String(rec.ticker)}: ${r.error.message}`);
        expect(r.value.ticker).toBe(rec.ticker);
        expect(r.value.marketStatus).toBe(rec.status);
        for (const v of [r.value.yesBid, r.value.yesAsk, r.value.lastPrice, r.value.volume, r.value.openTs, r.value.closeTs, r.value.expirationTs]) {
          expect(Number.isSafeInteger(v)).toBe(true);
        }
        if (rec.result == null) expect(r.value.result).toBe('');
        if (rec.market_type == null) expect(r.value.marketType).toBe('binary');
        expect(KalshiMarketSchema.safeParse(rec).success).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('new values of open enumerations are kept (result, market_type) or ignored (strike_type, price_level_structure)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...records), fc.string(), fc.string(), fc.string(), fc.string(), (rec, result, marketType, strike, pls) => {
        const r = parseMarketRecord({ ...rec, result, market_type: marketType, strike_type: strike, price_level_structure: pls }, NOW);
        if (!r.ok) throw r.error;
        expect(r.value.result).toBe(result);
        expect(r.value.marketType).toBe(marketType);
        expect(KalshiMarketSchema.safeParse({ ...rec, result, market_type: marketType, strike_type: strike, price_level_structure: pls }).success).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('a missing or unusable required field quarantines the record, and the error names it', () => {
    const common = [null, undefined, '', 42, true, { x: 1 }, ['A']];
    const extra: Record<(typeof REQUIRED)[number], unknown[]> = {
      ticker: [],
      event_ticker: [],
      status: ['open', 'settled', 'ACTIVE', 'bogus'],
      open_time: ['not-a-date', '2026-05-01', '1764000000', '2026-05-01 14:00:00Z'],
      close_time: ['not-a-date', '2026-05-01', '1764000000', '2026-05-01 14:00:00Z'],
    };
    const broken = fc.constantFrom(...REQUIRED).chain((field) => fc.tuple(fc.constant(field), fc.constantFrom(...common, ...extra[field])));
    fc.assert(
      fc.property(fc.constantFrom(...records), broken, (rec, [field, value]) => {
        const r = parseMarketRecord({ ...rec, [field]: value }, NOW);
        expect(r.ok).toBe(false);
        if (r.ok) return;
        expect(r.error.message).toContain(`${field}: `);
        if (field !== 'ticker') expect(r.ticker).toBe(rec.ticker);
      }),
      { numRuns: 300 },
    );
  });

  it('a well-formed but impossible date in a required field is quarantined, naming it', () => {
    const r = parseMarketRecord({ ...records[0], close_time: '2026-13-40T25:00:00Z' }, NOW);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/close_time: not a valid date/);
  });

  it('events: only event_ticker is required', () => {
    const events = corpus.events.filter((s) => !s.trimmed).map((s) => s.record);
    fc.assert(
      fc.property(fc.constantFrom(...events), fc.array(fate, { minLength: 20, maxLength: 20 }), (ev, fates) => {
        const out: Record<string, unknown> = { event_ticker: ev.event_ticker };
        Object.keys(ev)
          .filter((k) => k !== 'event_ticker')
          .forEach((k, j) => {
            const f = fates[j % fates.length];
            if (f === 'keep') out[k] = ev[k];
            else if (f === 'null') out[k] = null;
          });
        const r = parseEventRecord(out);
        if (!r.ok) throw r.error;
        expect(r.value.eventTicker).toBe(ev.event_ticker);
      }),
      { numRuns: 300 },
    );
    const bad = parseEventRecord({ ...events[0], event_ticker: null });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toMatch(/event_ticker: /);
  });

  it('frames: optional msg fields absent or null never refuse a real frame', () => {
    const REQUIRED_MSG = new Set(['market_ticker', 'event_type', 'open_ts', 'close_ts', 'event_ticker', 'title', 'series_ticker', 'code', 'channel', 'sid']);
    const frames = corpus.frames.map((f) => f.frame);
    fc.assert(
      fc.property(fc.constantFrom(...frames), fc.array(fate, { minLength: 16, maxLength: 16 }), (frame, fates) => {
        const msg = frame.msg as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        Object.keys(msg).forEach((k, j) => {
          const f = REQUIRED_MSG.has(k) ? 'keep' : fates[j % fates.length];
          if (f === 'keep') out[k] = msg[k];
          else if (f === 'null') out[k] = null;
        });
        const r = parseLifecycleFrame(JSON.stringify({ ...frame, msg: out }));
        if (!r.ok) throw r.error;
      }),
      { numRuns: 300 },
    );
  });
});
