/**
 * Every recorded lifecycle frame (shared/real-kalshi/ws: 10 real frames, 4 docs examples, 3
 * frames constructed to the AsyncAPI schema) goes through the registry's frame entry point,
 * parseLifecycleFrame, and maps to the expected registry update. Also: a WebSocket `created`
 * and a REST read of the same market agree on `expirationTs`, and combo-market frames of the
 * `multivariate_market_lifecycle` channel are parsed as such.
 */
import { describe, expect, it } from 'vitest';
import {
  isComboTicker,
  lifecycleUpdateFromMsg,
  parseLifecycleFrame,
  parseMarketRecord,
  sameMarketData,
  type LifecycleUpdate,
} from '../../src/domain/mapping.js';
import { LifecycleMsgSchema, type LifecycleMsg, type LifecycleSocketFrame } from '../../src/kalshi/schemas.js';
import type { Market } from '../../src/domain/types.js';
import { loadRealCorpus, type FrameSample } from '../fixtures/real-kalshi.js';

const corpus = loadRealCorpus();
const NOW = 1_800_000_000_000_000;
const real = corpus.frames.filter((f) => f.file === 'ws/real-lifecycle-frames.jsonl');
const docs = corpus.frames.filter((f) => f.file === 'ws/docs-example-frames.jsonl');

function parsed(f: FrameSample | string): LifecycleSocketFrame {
  const r = parseLifecycleFrame(typeof f === 'string' ? f : f.text);
  if (!r.ok) throw new Error(`${typeof f === 'string' ? f : `${f.file}:${f.line}`}: ${r.error.message}`);
  return r.value;
}
function updateOf(f: FrameSample | string): LifecycleUpdate {
  const frame = parsed(f);
  if (frame.type !== 'market_lifecycle_v2' && frame.type !== 'multivariate_market_lifecycle') throw new Error(`not a lifecycle message: ${frame.type}`);
  return lifecycleUpdateFromMsg(frame.msg, NOW);
}
const line = (n: number) => real.find((f) => f.line === n) as FrameSample;
const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

describe('recorded WebSocket frames', () => {
  it('has the frames PROVENANCE.md lists', () => {
    expect(real).toHaveLength(10);
    expect(docs).toHaveLength(7);
    expect(docs.filter((f) => f.constructed)).toHaveLength(3);
    const kinds = real.map((f) => (f.frame.type === 'market_lifecycle_v2' ? (f.frame.msg as { event_type: string }).event_type : String(f.frame.type))).sort();
    expect(kinds).toEqual([
      'close_date_updated',
      'created',
      'created',
      'created',
      'deactivated',
      'determined',
      'determined',
      'event_lifecycle',
      'settled',
      'settled',
    ]);
  });

  it.each(corpus.frames.map((f) => [`${f.file}:${f.line}`, f] as const))('%s parses, as text and as bytes', (_name, f) => {
    const frame = parsed(f);
    expect(frame.type).toBe(f.frame.type);
    expect(parseLifecycleFrame(new TextEncoder().encode(f.text))).toEqual({ ok: true, value: frame });
  });

  it('frames without seq (Oct-2025 shape) parse with seq undefined; sid and seq are kept', () => {
    expect(parsed(line(1))).toMatchObject({ type: 'event_lifecycle', sid: 1 });
    expect((parsed(line(1)) as { seq?: number }).seq).toBeUndefined();
    expect((parsed(line(2)) as { seq?: number }).seq).toBeUndefined();
    expect(parsed(line(9))).toMatchObject({ sid: 1, seq: 279597 });
  });

  it('each real lifecycle message maps to the right update (hand-computed)', () => {
    expect(updateOf(line(2))).toEqual({ kind: 'transition', ticker: 'KXMLBGAME-25OCT01DETCLE-DET', key: 'determined', patch: { result: 'no' } });
    expect(updateOf(line(3))).toEqual({ kind: 'transition', ticker: 'KXMLBTOTAL-25OCT01DETCLE-5', key: 'settled', patch: {} });
    expect(updateOf(line(4))).toEqual({
      kind: 'transition',
      ticker: 'KXMLBWINS-NYM-25-T80',
      key: 'close_date_updated',
      patch: { closeTs: 1_759_353_839_000_000 },
    });
    expect(updateOf(line(5))).toEqual({ kind: 'transition', ticker: 'KXNFLFIRSTTD-25OCT05MIACAR-CARCHUBBARD30', key: 'deactivated', patch: {} });
    expect(updateOf(line(9))).toEqual({ kind: 'transition', ticker: 'KXMLBSPREAD-26JUL191605WSHATH-ATH4', key: 'determined', patch: { result: 'no' } });
    expect(updateOf(line(10))).toEqual({ kind: 'transition', ticker: 'KXBNB15M-26JUL191830-30', key: 'settled', patch: {} });
  });

  it('a real created builds the whole market; expirationTs is expected_expiration_ts, not the close two weeks later', () => {
    expect(updateOf(line(6))).toEqual({
      kind: 'created',
      ticker: 'KXWTAMATCH-25OCT02LYSGAU-LYS',
      market: {
        ticker: 'KXWTAMATCH-25OCT02LYSGAU-LYS',
        eventTicker: 'KXWTAMATCH-25OCT02LYSGAU',
        title: 'Will Eva Lys win the Lys vs Gauff match?',
        marketStatus: 'initialized',
        tradingStatus: 'unopened',
        marketType: 'binary',
        result: '',
        yesBid: 0,
        yesAsk: 0,
        lastPrice: 0,
        volume: 0,
        openTs: 1_759_352_700_000_000,
        closeTs: 1_760_598_000_000_000,
        expirationTs: 1_759_399_200_000_000,
        updatedAt: NOW,
      },
    });
    const lighter = updateOf(line(8));
    expect(lighter.kind === 'created' && lighter.market).toMatchObject({ closeTs: 1_767_200_340_000_000, expirationTs: 1_767_200_400_000_000 });
    const swift = updateOf(line(7));
    expect(swift.kind === 'created' && swift.market.expirationTs).toBe(1_759_672_800_000_000);
  });

  it('the docs examples map too (created, metadata_updated) and the other frames parse to their types', () => {
    const created = updateOf(docs[0] as FrameSample);
    expect(created.kind === 'created' && created.market).toMatchObject({
      ticker: 'INXD-23SEP14-B4487',
      eventTicker: 'INXD-23SEP14',
      expirationTs: 1_694_721_600_000_000,
    });
    expect(updateOf(docs[1] as FrameSample)).toEqual({ kind: 'metadata', ticker: 'KXBTC-25APR30-T0915-B95000', eventType: 'metadata_updated' });
    expect(docs.map((f) => parsed(f).type)).toEqual([
      'market_lifecycle_v2',
      'market_lifecycle_v2',
      'event_lifecycle',
      'event_fee_update',
      'subscribed',
      'error',
      'error',
    ]);
  });

  it('null in any optional field of a real frame is read as absent', () => {
    for (const f of real) {
      const frame = structuredClone(f.frame) as Record<string, unknown> & { msg: Record<string, unknown> };
      const required = new Set(['market_ticker', 'event_type', 'open_ts', 'close_ts', 'event_ticker', 'title', 'series_ticker']);
      for (const k of Object.keys(frame.msg)) if (!required.has(k)) frame.msg[k] = null;
      if ('seq' in frame) frame.seq = null;
      const r = parseLifecycleFrame(JSON.stringify(frame));
      expect(r.ok, `${f.line}: ${r.ok ? '' : r.error.message}`).toBe(true);
    }
    const created = structuredClone(line(6).frame) as { msg: { additional_metadata: Record<string, unknown> } };
    for (const k of Object.keys(created.msg.additional_metadata)) created.msg.additional_metadata[k] = null;
    const u = updateOf(JSON.stringify(created));
    // Without an expected expiration the close time stands in; without a title, ''.
    expect(u.kind === 'created' && u.market).toMatchObject({ eventTicker: '', title: '', expirationTs: 1_760_598_000_000_000 });
  });
});

describe('multivariate_market_lifecycle (combo markets, KXMVE*)', () => {
  // No real frame of this channel is recorded: these are the real market_lifecycle_v2 frames
  // with `type` switched and the ticker of a real combo market (kalshi-api.md §7.5: same msg).
  const combo = corpus.markets.find((s) => s.file === 'rest/markets/borat14011-wom.all_markets.json')?.record.ticker as string;

  it('isComboTicker knows combo tickers', () => {
    const borat = corpus.markets.filter((s) => s.file === 'rest/markets/borat14011-wom.all_markets.json');
    expect(borat).toHaveLength(200);
    for (const s of borat) expect(isComboTicker(s.record.ticker as string)).toBe(true);
    for (const f of real.filter((x) => x.frame.type === 'market_lifecycle_v2')) {
      expect(isComboTicker((f.frame.msg as { market_ticker: string }).market_ticker)).toBe(false);
    }
  });

  it.each(real.filter((f) => f.frame.type === 'market_lifecycle_v2').map((f) => [f.line, f] as const))(
    'line %s as a combo frame parses as multivariate_market_lifecycle and maps like its v2 twin',
    (_n, f) => {
      const msg = { ...(f.frame.msg as Record<string, unknown>), market_ticker: combo };
      const text = JSON.stringify({ ...f.frame, type: 'multivariate_market_lifecycle', msg });
      const frame = parsed(text);
      expect(frame.type).toBe('multivariate_market_lifecycle');
      const twin = updateOf(JSON.stringify({ ...f.frame, msg }));
      expect(updateOf(text)).toEqual(twin);
    },
  );

  it('the six documented combo event types parse; an unknown event type is refused, naming it', () => {
    for (const eventType of ['created', 'activated', 'deactivated', 'close_date_updated', 'determined', 'settled']) {
      const msg: Record<string, unknown> = { market_ticker: combo, event_type: eventType, open_ts: 1, close_ts: 2 };
      expect(parseLifecycleFrame(JSON.stringify({ type: 'multivariate_market_lifecycle', sid: 2, seq: 1, msg })).ok, eventType).toBe(true);
    }
    const bad = parseLifecycleFrame(
      JSON.stringify({ type: 'multivariate_market_lifecycle', sid: 2, seq: 1, msg: { market_ticker: combo, event_type: 'new_thing' } }),
    );
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.ticker).toBe(combo);
      expect(bad.error.message).toMatch(/msg\.event_type/);
    }
  });
});

describe('a WebSocket created and a REST read of the same market agree', () => {
  const secs = (iso: string) => Date.parse(iso) / 1000;
  /** The created frame Kalshi sends for a market, built from its REST record (kalshi-api.md §7.2). */
  function createdFor(r: Record<string, unknown>): LifecycleMsg {
    return LifecycleMsgSchema.parse({
      market_ticker: r.ticker,
      event_type: 'created',
      open_ts: Math.floor(secs(r.open_time as string)),
      close_ts: Math.floor(secs(r.close_time as string)),
      additional_metadata: {
        name: r.yes_sub_title,
        title: r.title,
        yes_sub_title: r.yes_sub_title,
        no_sub_title: r.no_sub_title,
        rules_primary: r.rules_primary,
        rules_secondary: r.rules_secondary,
        can_close_early: r.can_close_early,
        event_ticker: r.event_ticker,
        expected_expiration_ts: secs(r.expected_expiration_time as string),
      },
    });
  }
  const market = (u: LifecycleUpdate): Market => {
    if (u.kind !== 'created') throw new Error(u.kind);
    return u.market;
  };

  it('for every real REST record, the created built from it gives the same expirationTs', () => {
    const records = corpus.markets.filter((s) => !s.trimmed);
    expect(records).toHaveLength(353);
    for (const s of records) {
      const rest = parseMarketRecord(s.record, NOW);
      if (!rest.ok) throw rest.error;
      expect(market(lifecycleUpdateFromMsg(createdFor(s.record), NOW)).expirationTs, s.record.ticker as string).toBe(rest.value.expirationTs);
    }
  });

  it('for each real created frame, the REST read that follows changes nothing (no jump of expirationTs)', () => {
    for (const f of real.filter((x) => (x.frame.msg as { event_type?: string }).event_type === 'created')) {
      const ws = market(updateOf(f));
      const msg = f.frame.msg as { market_ticker: string; open_ts: number; close_ts: number; additional_metadata: Record<string, unknown> };
      const meta = msg.additional_metadata;
      // What GET /markets/{ticker} answers right after: latest_expiration_time is a different,
      // later instant (here: close + 7 days), which the registry used to report.
      const restRecord = {
        ticker: msg.market_ticker,
        event_ticker: meta.event_ticker,
        market_type: 'binary',
        title: meta.title,
        yes_sub_title: meta.yes_sub_title,
        status: 'initialized',
        open_time: iso(msg.open_ts),
        close_time: iso(msg.close_ts),
        expected_expiration_time: iso(meta.expected_expiration_ts as number),
        latest_expiration_time: iso(msg.close_ts + 7 * 86_400),
        expiration_time: iso(msg.close_ts + 7 * 86_400),
        result: '',
        yes_bid_dollars: '0.0000',
        yes_ask_dollars: '0.0000',
        last_price_dollars: '0.0000',
        volume_fp: '0.00',
      };
      const rest = parseMarketRecord(restRecord, NOW + 1);
      if (!rest.ok) throw rest.error;
      expect(rest.value.expirationTs).toBe(ws.expirationTs);
      expect(sameMarketData(ws, rest.value), msg.market_ticker).toBe(true);
    }
  });
});
