import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  isComboTicker,
  lifecycleUpdateFromMsg,
  parseEventRecord,
  parseExchangeStatus,
  parseLifecycleFrame,
  parseMarketRecord,
  sameMarketData,
  withStatus,
} from '../../src/domain/mapping.js';
import { LifecycleMsgSchema } from '../../src/kalshi/schemas.js';
import { ValidationError } from '../../src/errors.js';
import { eventRecord, exchangeStatusBody, legacyMarketRecord, lifecycleFrames, maintenanceStatusBody, marketRecord } from '../fixtures/kalshi.js';

const NOW = 1_764_000_000_000_000;

describe('REST market → Market', () => {
  it('maps every field of a current record with exact units', () => {
    const r = parseMarketRecord(marketRecord, NOW);
    if (!r.ok) throw r.error;
    expect(r.value).toEqual({
      ticker: 'KXHIGHNY-26NOV24-T52',
      eventTicker: 'KXHIGHNY-26NOV24',
      title: 'Will the high temp in NYC be >52° on Nov 24, 2026?',
      marketStatus: 'active',
      tradingStatus: 'open',
      marketType: 'binary',
      result: '',
      yesBid: 5600,
      yesAsk: 5800,
      lastPrice: 5700,
      volume: 1834250,
      openTs: Date.UTC(2026, 10, 23, 15) * 1000,
      closeTs: Date.UTC(2026, 10, 25, 4, 59) * 1000,
      // Kalshi's expected expiration (expected_expiration_time), not latest_expiration_time (Dec 2).
      expirationTs: Date.UTC(2026, 10, 25, 15) * 1000,
      updatedAt: NOW,
    });
  });

  it('maps legacy integer cents and counts', () => {
    const r = parseMarketRecord(legacyMarketRecord, NOW);
    if (!r.ok) throw r.error;
    expect(r.value).toMatchObject({ yesBid: 9900, yesAsk: 10000, lastPrice: 9900, volume: 1_200_000, result: 'yes', tradingStatus: 'settled' });
    expect(r.value.expirationTs).toBe(Date.UTC(2023, 11, 20, 19) * 1000);
    expect(r.value.updatedAt).toBe(NOW);
  });

  it('prefers dollar strings over legacy cents when both are present', () => {
    const r = parseMarketRecord({ ...marketRecord, yes_bid: 1 }, NOW);
    expect(r.ok && r.value.yesBid).toBe(5600);
  });

  it('falls back to yes_sub_title when the deprecated title is absent', () => {
    const { title: _t, ...noTitle } = marketRecord;
    const r = parseMarketRecord(noTitle, NOW);
    expect(r.ok && r.value.title).toBe('53° or above');
  });

  it('quarantines a bad record with a typed error that names the ticker', () => {
    const r = parseMarketRecord({ ...marketRecord, status: 'bogus' }, NOW);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toBeInstanceOf(ValidationError);
    expect(r.ticker).toBe('KXHIGHNY-26NOV24-T52');
    expect(r.error.message).toMatch(/status/);
  });

  it('rejects prices beyond safe integers instead of losing precision', () => {
    const r = parseMarketRecord({ ...marketRecord, yes_bid_dollars: '99999999999999.0000' }, NOW);
    expect(r.ok).toBe(false);
  });

  it('never throws on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.anything(), (raw) => {
        const r = parseMarketRecord(raw, NOW);
        expect(typeof r.ok).toBe('boolean');
      }),
    );
    fc.assert(
      fc.property(
        fc.record({ ...Object.fromEntries(Object.keys(marketRecord).map((k) => [k, fc.oneof(fc.string(), fc.integer(), fc.constant(null))])) }),
        (raw) => {
          const r = parseMarketRecord({ ...marketRecord, ...raw }, NOW);
          if (r.ok) expect(Number.isSafeInteger(r.value.yesBid) && Number.isSafeInteger(r.value.volume)).toBe(true);
        },
      ),
    );
  });

  it('reads "result": null as "" and keeps result and market_type strings Kalshi does not document', () => {
    const nullResult = parseMarketRecord({ ...marketRecord, result: null }, NOW);
    expect(nullResult.ok && nullResult.value.result).toBe('');
    const absent = parseMarketRecord({ ...marketRecord, result: undefined, market_type: null }, NOW);
    expect(absent.ok && [absent.value.result, absent.value.marketType]).toEqual(['', 'binary']);
    const unknown = parseMarketRecord({ ...marketRecord, status: 'determined', result: 'void', market_type: 'categorical' }, NOW);
    expect(unknown.ok && [unknown.value.result, unknown.value.marketType]).toEqual(['void', 'categorical']);
  });

  it('takes expirationTs from expected_expiration_time, then latest_expiration_time, expiration_time, close_time', () => {
    const exp = (rec: Record<string, unknown>) => {
      const r = parseMarketRecord(rec, NOW);
      if (!r.ok) throw r.error;
      return r.value.expirationTs;
    };
    expect(exp(marketRecord)).toBe(Date.UTC(2026, 10, 25, 15) * 1000);
    expect(exp({ ...marketRecord, expected_expiration_time: null })).toBe(Date.UTC(2026, 11, 2, 15) * 1000);
    expect(exp({ ...marketRecord, expected_expiration_time: null, latest_expiration_time: null, expiration_time: '2026-12-09T15:00:00Z' })).toBe(
      Date.UTC(2026, 11, 9, 15) * 1000,
    );
    expect(exp({ ...marketRecord, expected_expiration_time: undefined, latest_expiration_time: undefined })).toBe(Date.UTC(2026, 10, 25, 4, 59) * 1000);
    const bad = parseMarketRecord({ ...marketRecord, expected_expiration_time: '2026-02-30T25:00:00Z' }, NOW);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toMatch(/expected_expiration_time: not a valid date/);
  });

  it('null in every optional field is absent: zero prices, no quarantine', () => {
    const required = new Set(['ticker', 'event_ticker', 'status', 'open_time', 'close_time']);
    const nulled = Object.fromEntries(Object.entries(marketRecord).map(([k, v]) => [k, required.has(k) ? v : null]));
    const r = parseMarketRecord(nulled, NOW);
    if (!r.ok) throw r.error;
    expect(r.value).toMatchObject({
      title: '',
      marketType: 'binary',
      result: '',
      yesBid: 0,
      yesAsk: 0,
      lastPrice: 0,
      volume: 0,
      expirationTs: r.value.closeTs,
    });
  });

  it('falls back to legacy cents when a dollar string is null', () => {
    const r = parseMarketRecord({ ...marketRecord, yes_bid_dollars: null, yes_bid: 55 }, NOW);
    expect(r.ok && r.value.yesBid).toBe(5500);
  });

  it('isComboTicker: KXMVE* tickers are multivariate (combo) markets', () => {
    expect(isComboTicker('KXMVESPORTSMULTIGAMEEXTENDED-S2026-1')).toBe(true);
    expect(isComboTicker('KXMVENFLSINGLEGAME-S2025')).toBe(true);
    expect(isComboTicker('KXHIGHNY-26NOV24-T52')).toBe(false);
    expect(isComboTicker('KXMV')).toBe(false);
  });

  it('withStatus keeps tradingStatus consistent and leaves the original untouched', () => {
    const r = parseMarketRecord(marketRecord, NOW);
    if (!r.ok) throw r.error;
    const closed = withStatus(r.value, 'determined', NOW + 1);
    expect(closed).toMatchObject({ marketStatus: 'determined', tradingStatus: 'closed', updatedAt: NOW + 1 });
    expect(r.value.marketStatus).toBe('active');
    expect(sameMarketData(r.value, closed)).toBe(false);
    expect(sameMarketData(r.value, { ...r.value, updatedAt: 0 })).toBe(true);
  });
});

describe('events and exchange status', () => {
  it('maps an event', () => {
    const r = parseEventRecord(eventRecord);
    expect(r.ok && r.value).toEqual({
      eventTicker: 'KXHIGHNY-26NOV24',
      seriesTicker: 'KXHIGHNY',
      title: 'Highest temperature in NYC on Nov 24, 2026?',
      subTitle: 'On Nov 24, 2026',
      mutuallyExclusive: true,
      updatedAt: Date.UTC(2026, 10, 22, 15) * 1000,
    });
    const bad = parseEventRecord({ title: 'x' });
    expect(bad.ok).toBe(false);
  });

  it('an event needs only its event_ticker; null fields read as empty', () => {
    const r = parseEventRecord({
      event_ticker: 'EV',
      series_ticker: null,
      title: null,
      sub_title: null,
      mutually_exclusive: null,
      last_updated_ts: null,
      strike_date: 17,
    });
    expect(r.ok && r.value).toEqual({ eventTicker: 'EV', seriesTicker: '', title: '', subTitle: '', mutuallyExclusive: false, updatedAt: 0 });
  });

  it('exchange status tolerates null and unknown extras, needs the two flags', () => {
    const r = parseExchangeStatus({ ...exchangeStatusBody, intra_exchange_transfers_active: null, exchange_index_statuses: null, new_flag: 1 }, NOW, false);
    expect(r.ok).toBe(true);
    const bad = parseExchangeStatus({ trading_active: true }, NOW, false);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toMatch(/exchange_active/);
  });

  it('maps exchange status, including a maintenance body', () => {
    const ok = parseExchangeStatus(exchangeStatusBody, NOW, false);
    expect(ok.ok && ok.value).toEqual({ exchangeActive: true, tradingActive: true, estimatedResumeTs: null, observedAt: NOW, maintenance: false });
    const down = parseExchangeStatus(maintenanceStatusBody, NOW, true);
    expect(down.ok && down.value).toMatchObject({ exchangeActive: false, maintenance: true, estimatedResumeTs: Date.UTC(2026, 10, 26, 10) * 1000 });
  });
});

describe('WebSocket frames → lifecycle updates', () => {
  it('parses text and bytes alike', () => {
    const text = JSON.stringify(lifecycleFrames.settled);
    const a = parseLifecycleFrame(text);
    const b = parseLifecycleFrame(new TextEncoder().encode(text));
    expect(a).toEqual(b);
    expect(a.ok).toBe(true);
  });

  it('reports non-JSON and unknown frames as typed errors, never throwing', () => {
    const notJson = parseLifecycleFrame('{"type":');
    expect(notJson.ok).toBe(false);
    if (!notJson.ok) expect(notJson.error.message).toMatch(/not JSON/);
    const unknown = parseLifecycleFrame(
      JSON.stringify({ type: 'market_lifecycle_v2', sid: 1, seq: 1, msg: { market_ticker: 'ABC', event_type: 'new_thing' } }),
    );
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(unknown.ticker).toBe('ABC');
    fc.assert(fc.property(fc.string(), (s) => void parseLifecycleFrame(s)));
    fc.assert(fc.property(fc.json(), (s) => void parseLifecycleFrame(s)));
  });

  it('returns multivariate_market_lifecycle frames (combo markets) as their own type', () => {
    const frame = {
      ...lifecycleFrames.determined,
      type: 'multivariate_market_lifecycle',
      msg: { ...lifecycleFrames.determined.msg, market_ticker: 'KXMVEX-1' },
    };
    const r = parseLifecycleFrame(JSON.stringify(frame));
    expect(r.ok && r.value.type).toBe('multivariate_market_lifecycle');
    if (r.ok && r.value.type === 'multivariate_market_lifecycle') {
      expect(lifecycleUpdateFromMsg(r.value.msg, NOW)).toEqual({ kind: 'transition', ticker: 'KXMVEX-1', key: 'determined', patch: { result: 'yes' } });
    }
  });

  it('a determined without a result (null or absent) leaves the result alone; an unknown one is kept', () => {
    const base = lifecycleFrames.determined.msg;
    expect(lifecycleUpdateFromMsg(LifecycleMsgSchema.parse({ ...base, result: null }), NOW)).toMatchObject({ patch: {} });
    expect(lifecycleUpdateFromMsg(LifecycleMsgSchema.parse({ ...base, result: undefined }), NOW)).toMatchObject({ patch: {} });
    expect(lifecycleUpdateFromMsg(LifecycleMsgSchema.parse({ ...base, result: '0.42' }), NOW)).toMatchObject({ patch: { result: '0.42' } });
  });

  it('a created without expected_expiration_ts expires at its close', () => {
    const msg = { ...lifecycleFrames.created.msg, additional_metadata: { ...lifecycleFrames.created.msg.additional_metadata, expected_expiration_ts: null } };
    const u = lifecycleUpdateFromMsg(LifecycleMsgSchema.parse(msg), NOW);
    expect(u.kind === 'created' && u.market.expirationTs).toBe(1764046740_000_000);
  });

  const msgOf = (frame: { msg: unknown }) => LifecycleMsgSchema.parse(frame.msg);

  it('created builds a complete initialized market from the message alone', () => {
    const u = lifecycleUpdateFromMsg(msgOf(lifecycleFrames.created), NOW);
    expect(u).toEqual({
      kind: 'created',
      ticker: 'KXHIGHNY-26NOV24-T52',
      market: {
        ticker: 'KXHIGHNY-26NOV24-T52',
        eventTicker: 'KXHIGHNY-26NOV24',
        title: 'Will the high temp in NYC be >52° on Nov 24, 2026?',
        marketStatus: 'initialized',
        tradingStatus: 'unopened',
        marketType: 'binary',
        result: '',
        yesBid: 0,
        yesAsk: 0,
        lastPrice: 0,
        volume: 0,
        openTs: 1763910000_000_000,
        closeTs: 1764046740_000_000,
        expirationTs: 1764082800_000_000,
        updatedAt: NOW,
      },
    });
  });

  it.each([
    ['activated', { kind: 'transition', key: 'activated', patch: {} }],
    ['deactivated', { kind: 'transition', key: 'deactivated', patch: {} }],
    ['close_date_updated', { kind: 'transition', key: 'close_date_updated', patch: { closeTs: 1764100000_000_000 } }],
    ['determined', { kind: 'transition', key: 'determined', patch: { result: 'yes' } }],
    ['settled', { kind: 'transition', key: 'settled', patch: {} }],
    ['price_level_structure_updated', { kind: 'metadata', eventType: 'price_level_structure_updated' }],
    ['metadata_updated', { kind: 'metadata', eventType: 'metadata_updated' }],
  ] as const)('%s maps to its update', (name, expected) => {
    expect(lifecycleUpdateFromMsg(msgOf(lifecycleFrames[name]), NOW)).toEqual({ ticker: 'KXHIGHNY-26NOV24-T52', ...expected });
  });
});
