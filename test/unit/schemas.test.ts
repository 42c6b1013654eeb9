import { describe, expect, it } from 'vitest';
import {
  EventsPageSchema,
  KalshiEventSchema,
  KalshiExchangeStatusSchema,
  KalshiMarketCoreSchema,
  KalshiMarketSchema,
  LIFECYCLE_EVENT_TYPES,
  LifecycleSocketFrameSchema,
  MarketsPageEnvelopeSchema,
  MarketsPageSchema,
} from '../../src/kalshi/schemas.js';
import { eventRecord, exchangeStatusBody, legacyMarketRecord, lifecycleFrames, maintenanceStatusBody, marketRecord } from '../fixtures/kalshi.js';

const issuesOf = (r: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) =>
  r.success ? [] : (r.error?.issues.map((i) => i.path.join('.')) ?? []);

describe('Market record schema', () => {
  it('accepts a current (OpenAPI 3.30) record and keeps unknown fields', () => {
    const parsed = KalshiMarketSchema.parse(marketRecord);
    expect(parsed.ticker).toBe('KXHIGHNY-26NOV24-T52');
    expect(parsed.yes_bid_dollars).toBe('0.5600');
    expect((parsed as Record<string, unknown>)['some_future_field']).toEqual({ added: 'by Kalshi next month' });
  });

  it('accepts a legacy integer-cent record', () => {
    expect(KalshiMarketSchema.parse(legacyMarketRecord).yes_bid).toBe(99);
  });

  it.each([
    ['missing ticker', { ...marketRecord, ticker: undefined }, 'ticker'],
    ['empty ticker', { ...marketRecord, ticker: '' }, 'ticker'],
    ['unknown status', { ...marketRecord, status: 'open' }, 'status'],
    ['price that is not a decimal', { ...marketRecord, yes_bid_dollars: 'abc' }, 'yes_bid_dollars'],
    ['price as a float number', { ...marketRecord, yes_bid_dollars: 0.56 }, 'yes_bid_dollars'],
    ['count with an exponent', { ...marketRecord, volume_fp: '1e5' }, 'volume_fp'],
    ['bad close_time', { ...marketRecord, close_time: 'tomorrow' }, 'close_time'],
    ['missing open_time', { ...marketRecord, open_time: undefined }, 'open_time'],
    ['fractional legacy cents', { ...legacyMarketRecord, yes_bid: 99.5 }, 'yes_bid'],
  ])('rejects a record with %s, naming the field', (_name, record, field) => {
    const result = KalshiMarketSchema.safeParse(record);
    expect(result.success).toBe(false);
    expect(issuesOf(result)).toContain(field);
  });

  it('accepts null for every optional field, and new values of the open enumerations', () => {
    const required = new Set(['ticker', 'event_ticker', 'status', 'open_time', 'close_time']);
    const nulled = Object.fromEntries(Object.entries(marketRecord).map(([k, v]) => [k, required.has(k) ? v : null]));
    expect(KalshiMarketSchema.safeParse(nulled).success).toBe(true);
    expect(KalshiMarketCoreSchema.safeParse(nulled).success).toBe(true);
    const open = { ...marketRecord, result: 'void', market_type: 'categorical', strike_type: 'weird', price_level_structure: 'center_milli_edge_cent' };
    expect(KalshiMarketSchema.safeParse(open).success).toBe(true);
    expect(KalshiMarketSchema.safeParse({ ...marketRecord, yes_bid_dollars: '0.512345678' }).success).toBe(true);
  });

  it('rejects non-objects without throwing', () => {
    for (const bad of [null, undefined, 42, 'market', [], true]) {
      expect(KalshiMarketSchema.safeParse(bad).success).toBe(false);
    }
  });
});

describe('GET /markets page', () => {
  it('accepts a page; empty, null and absent cursors all parse', () => {
    expect(MarketsPageSchema.parse({ markets: [marketRecord], cursor: 'abc' }).cursor).toBe('abc');
    expect(MarketsPageSchema.parse({ markets: [], cursor: '' }).cursor).toBe('');
    expect(MarketsPageSchema.parse({ markets: [], cursor: null }).cursor).toBeNull();
    expect(MarketsPageSchema.parse({ markets: [] }).cursor).toBeUndefined();
  });

  it('the envelope keeps records raw so one bad record does not fail the page', () => {
    const page = MarketsPageEnvelopeSchema.parse({ markets: [marketRecord, { ticker: 7 }], cursor: 'x' });
    expect(page.markets).toHaveLength(2);
  });

  it('rejects a page without a markets array', () => {
    expect(issuesOf(MarketsPageEnvelopeSchema.safeParse({ cursor: 'x' }))).toContain('markets');
    expect(issuesOf(MarketsPageEnvelopeSchema.safeParse({ markets: {}, cursor: 'x' }))).toContain('markets');
    expect(issuesOf(MarketsPageEnvelopeSchema.safeParse({ markets: [], cursor: 5 }))).toContain('cursor');
  });
});

describe('GET /events', () => {
  it('accepts an event and a page', () => {
    expect(KalshiEventSchema.parse(eventRecord).series_ticker).toBe('KXHIGHNY');
    expect(EventsPageSchema.parse({ events: [eventRecord], cursor: '' }).events).toHaveLength(1);
  });
  it('rejects an event without a ticker or with a title that is not a string', () => {
    expect(issuesOf(KalshiEventSchema.safeParse({ ...eventRecord, event_ticker: undefined }))).toContain('event_ticker');
    expect(issuesOf(KalshiEventSchema.safeParse({ ...eventRecord, title: 3 }))).toContain('title');
  });
});

describe('GET /exchange/status', () => {
  it('accepts the normal and the maintenance body', () => {
    expect(KalshiExchangeStatusSchema.parse(exchangeStatusBody).trading_active).toBe(true);
    expect(KalshiExchangeStatusSchema.parse(maintenanceStatusBody).exchange_active).toBe(false);
  });
  it('rejects a body without the required flags', () => {
    expect(issuesOf(KalshiExchangeStatusSchema.safeParse({ trading_active: true }))).toContain('exchange_active');
    expect(issuesOf(KalshiExchangeStatusSchema.safeParse({ exchange_active: 'yes', trading_active: true }))).toContain('exchange_active');
  });
});

describe('market_lifecycle_v2 socket frames', () => {
  it.each(Object.entries(lifecycleFrames))('accepts a %s frame', (_name, frame) => {
    const parsed = LifecycleSocketFrameSchema.parse(frame);
    expect(parsed.type).toBe(frame.type);
  });

  it('covers all 8 lifecycle event types', () => {
    const covered = Object.values(lifecycleFrames)
      .filter((f) => f.type === 'market_lifecycle_v2')
      .map((f) => (f.msg as { event_type: string }).event_type)
      .sort();
    expect(covered).toEqual([...LIFECYCLE_EVENT_TYPES].sort());
  });

  it('accepts multivariate_market_lifecycle frames (combo markets), with the same msg shape', () => {
    for (const name of ['created', 'activated', 'deactivated', 'close_date_updated', 'determined', 'settled'] as const) {
      const parsed = LifecycleSocketFrameSchema.parse({ ...lifecycleFrames[name], type: 'multivariate_market_lifecycle' });
      expect(parsed.type).toBe('multivariate_market_lifecycle');
    }
  });

  it('reads a null seq as absent', () => {
    const parsed = LifecycleSocketFrameSchema.parse({ ...lifecycleFrames.activated, seq: null });
    expect(parsed.type === 'market_lifecycle_v2' && parsed.seq).toBeUndefined();
  });

  it('accepts lifecycle frames without seq (the March-2026 shape)', () => {
    const { seq: _seq, ...noSeq } = lifecycleFrames.activated;
    expect(LifecycleSocketFrameSchema.safeParse(noSeq).success).toBe(true);
  });

  it.each([
    ['an unknown frame type', { type: 'ticker_v2', sid: 1, msg: {} }, 'type'],
    [
      'an unknown lifecycle event type',
      { type: 'market_lifecycle_v2', sid: 1, seq: 1, msg: { market_ticker: 'X', event_type: 'fractional_trading_updated' } },
      'msg.event_type',
    ],
    ['a lifecycle message without a ticker', { type: 'market_lifecycle_v2', sid: 1, seq: 1, msg: { event_type: 'activated' } }, 'msg.market_ticker'],
    ['created without open_ts', { ...lifecycleFrames.created, msg: { ...lifecycleFrames.created.msg, open_ts: undefined } }, 'msg.open_ts'],
    [
      'close_ts in milliseconds as a string',
      { ...lifecycleFrames.close_date_updated, msg: { ...lifecycleFrames.close_date_updated.msg, close_ts: '1764100000' } },
      'msg.close_ts',
    ],
    ['a negative seq', { ...lifecycleFrames.activated, seq: -1 }, 'seq'],
    [
      'a fee update without event_ticker',
      { type: 'event_fee_update', sid: 1, seq: 1, msg: { fee_type_override: null, fee_multiplier_override: null } },
      'msg.event_ticker',
    ],
    ['an error without a code', { type: 'error', msg: { msg: 'x' } }, 'msg.code'],
  ])('rejects %s, naming the field', (_name, frame, path) => {
    const result = LifecycleSocketFrameSchema.safeParse(frame);
    expect(result.success).toBe(false);
    expect(issuesOf(result)).toContain(path);
  });
});
