/**
 * Every recorded real Kalshi REST record (shared/real-kalshi, see PROVENANCE.md there) goes
 * through the registry's real entry points — parseMarketRecord, parseEventRecord,
 * parseExchangeStatus — and must be accepted and mapped exactly: each value checked against an
 * independent computation from the raw text, plus hand-computed expectations for a handful.
 *
 * Excluded from the "must be accepted" counts, as PROVENANCE.md says: gnome-classifier's
 * events[3..5] and their 6 nested markets, which that repository trimmed by hand (no
 * `open_time`, …). They are asserted separately: quarantined, naming the field.
 *
 * The data folder is required: without it this file fails (see test/fixtures/real-kalshi.ts).
 */
import { describe, expect, it } from 'vitest';
import { parseEventRecord, parseExchangeStatus, parseMarketRecord } from '../../src/domain/mapping.js';
import { KalshiEventSchema, KalshiExchangeStatusSchema, KalshiMarketSchema } from '../../src/kalshi/schemas.js';
import type { Market } from '../../src/domain/types.js';
import { loadRealCorpus, marketSample, type Sample } from '../fixtures/real-kalshi.js';
import { asCountE2, asPriceE4 } from '../../src/domain/units.js';

const corpus = loadRealCorpus();
const NOW = 1_800_000_000_000_000;

const accepted = corpus.markets.filter((s) => !s.trimmed);
const trimmed = corpus.markets.filter((s) => s.trimmed);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const at = (s: Sample) => `${s.file} ${s.where}`;

// ---------------------------------------------------------------------------------------------
// Independent oracles (different arithmetic from src/domain/units.ts)

/** Dollars → units of $0.0001 through a float: exact for every real price (≤ 4 decimals, small). */
const e4 = (s: string): number => Math.round(Number(s) * 10_000);
/** Counts → hundredths. */
const e2 = (s: string): number => Math.round(Number(s) * 100);
/** ISO → microseconds: whole seconds by Date.parse without the fraction, the fraction's first 6 digits added. */
function micros(iso: string): number {
  const m = /^(.+T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-].+)$/i.exec(iso);
  if (!m) throw new Error(`not an ISO time: ${iso}`);
  return Date.parse(`${m[1]}${m[3]}`) * 1000 + Number(`${m[2] ?? ''}000000`.slice(0, 6));
}
const TRADING: Record<string, string> = {
  initialized: 'unopened',
  active: 'open',
  inactive: 'paused',
  closed: 'closed',
  determined: 'closed',
  disputed: 'closed',
  amended: 'closed',
  finalized: 'settled',
};

function expectedMarket(r: Record<string, unknown>): Market {
  const p = (d: string, c: string) => (str(r[d]) !== undefined ? e4(r[d] as string) : num(r[c]) !== undefined ? (r[c] as number) * 100 : 0);
  const closeTs = micros(r.close_time as string);
  const exp = str(r.expected_expiration_time) ?? str(r.latest_expiration_time) ?? str(r.expiration_time);
  return {
    ticker: r.ticker as string,
    eventTicker: r.event_ticker as string,
    title: str(r.title) ?? str(r.yes_sub_title) ?? '',
    marketStatus: r.status as Market['marketStatus'],
    tradingStatus: TRADING[r.status as string] as Market['tradingStatus'],
    marketType: str(r.market_type) ?? 'binary',
    result: str(r.result) ?? '',
    yesBid: asPriceE4(p('yes_bid_dollars', 'yes_bid')),
    yesAsk: asPriceE4(p('yes_ask_dollars', 'yes_ask')),
    lastPrice: asPriceE4(p('last_price_dollars', 'last_price')),
    volume: asCountE2(str(r.volume_fp) !== undefined ? e2(r.volume_fp as string) : (num(r.volume) ?? 0) * 100),
    openTs: micros(r.open_time as string),
    closeTs,
    expirationTs: exp === undefined ? closeTs : micros(exp),
    updatedAt: NOW,
  };
}

function mapped(s: Sample): Market {
  const r = parseMarketRecord(s.record, NOW);
  if (!r.ok) throw new Error(`${at(s)}: ${r.error.message}`);
  return r.value;
}

// ---------------------------------------------------------------------------------------------

describe('the recorded corpus (shared/real-kalshi)', () => {
  it('is found and has what PROVENANCE.md counts', () => {
    expect(accepted).toHaveLength(353);
    expect(new Set(accepted.map((s) => s.record.ticker)).size).toBe(349);
    expect(trimmed).toHaveLength(6);
    expect(corpus.events.filter((s) => !s.trimmed)).toHaveLength(315);
    expect(corpus.events.filter((s) => s.trimmed)).toHaveLength(3);
    expect(corpus.exchangeStatus).toHaveLength(1);
  });

  it('every REST file is read; only the exchange schedule holds nothing the registry reads', () => {
    const empty = [...corpus.files].filter(([, f]) => f.markets + f.events + f.exchangeStatus === 0).map(([name, f]) => [name, f.other]);
    expect(empty).toEqual([['rest/golden/exchange_schedule_response.json', 'schedule']]);
    expect(corpus.files.size).toBe(21);
  });

  it('spans the three shape generations (integer cents → cents + *_fp → *_dollars/*_fp only)', () => {
    const gen = (r: Record<string, unknown>) => `${'yes_bid' in r ? 'cents' : ''}${'yes_bid_dollars' in r ? '+dollars' : ''}${'volume_fp' in r ? '+fp' : ''}`;
    const counts: Record<string, number> = {};
    for (const s of accepted) counts[gen(s.record)] = (counts[gen(s.record)] ?? 0) + 1;
    expect(counts).toEqual({ 'cents+dollars': 117, 'cents+dollars+fp': 203, '+dollars+fp': 33 });
  });
});

describe('every real market record is accepted and mapped exactly', () => {
  const byFile = [...new Set(accepted.map((s) => s.file))];

  it.each(byFile)('%s: every record accepted by parseMarketRecord and the full schema', (file) => {
    const failures: string[] = [];
    for (const s of accepted.filter((x) => x.file === file)) {
      const r = parseMarketRecord(s.record, NOW);
      if (!r.ok) failures.push(`${s.where}: ${r.error.message}`);
      const full = KalshiMarketSchema.safeParse(s.record);
      if (!full.success) failures.push(`${s.where} (full schema): ${full.error.issues.map((i) => i.path.join('.')).join(', ')}`);
    }
    expect(failures).toEqual([]);
  });

  it.each(byFile)('%s: every field equals an independent computation from the raw record', (file) => {
    for (const s of accepted.filter((x) => x.file === file)) {
      expect(mapped(s), at(s)).toEqual(expectedMarket(s.record));
    }
  });

  it('dollar strings win over the legacy cents, which are their truncation (sub-cent prices)', () => {
    let compared = 0;
    let subCent = 0;
    for (const s of accepted) {
      const m = mapped(s);
      for (const [e, cents] of [
        [m.yesBid, s.record.yes_bid],
        [m.yesAsk, s.record.yes_ask],
        [m.lastPrice, s.record.last_price],
      ] as const) {
        if (typeof cents !== 'number') continue;
        compared++;
        expect(Math.trunc(e / 100), at(s)).toBe(cents);
        if (e % 100 !== 0) subCent++;
      }
      if (typeof s.record.volume === 'number' && typeof s.record.volume_fp === 'string') expect(m.volume, at(s)).toBe(s.record.volume * 100);
    }
    expect(compared).toBe(3 * 320);
    expect(subCent).toBeGreaterThan(15);
  });

  it('"result": null (88 of the 100 Oct-2025 jonasgebele records) is accepted as ""', () => {
    const nulls = accepted.filter((s) => s.record.result === null);
    expect(nulls).toHaveLength(88);
    expect(new Set(nulls.map((s) => s.file))).toEqual(new Set(['rest/markets/jonasgebele-tail-end-analysis.kalshi_markets.json']));
    for (const s of nulls) expect(mapped(s).result).toBe('');
  });

  it('recorder-added fields (lokkitbabu: yes_price, yes_bid_norm, yes_ask_norm) are ignored', () => {
    const lokki = accepted.filter((s) => s.file === 'rest/markets/lokkitbabu-gemini.kalshi_crypto_data.json');
    expect(lokki).toHaveLength(2);
    for (const s of lokki) {
      expect(Object.keys(s.record)).toEqual(expect.arrayContaining(['yes_price', 'yes_bid_norm', 'yes_ask_norm']));
      const { yes_price: _a, yes_bid_norm: _b, yes_ask_norm: _c, ...api } = s.record;
      expect(parseMarketRecord(api, NOW)).toEqual(parseMarketRecord(s.record, NOW));
    }
  });

  it('the hand-trimmed gnome-classifier markets (not API output) are quarantined, naming open_time', () => {
    for (const s of trimmed) {
      const r = parseMarketRecord(s.record, NOW);
      expect(r.ok, at(s)).toBe(false);
      if (r.ok) continue;
      expect(r.ticker).toBe(s.record.ticker);
      expect(r.error.message).toMatch(/^GET \/markets record failed validation: open_time: /);
    }
  });
});

describe('hand-computed values', () => {
  const T = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0) => Date.UTC(y, mo - 1, d, h, mi, s, ms) * 1000;

  it('a sub-cent deci_cent price: "0.5120" → 5120, not the 51 cents beside it; microsecond open_time', () => {
    const s = marketSample(corpus, 'rest/markets/borat14011-wom.all_markets.json', 'KXMVESPORTSMULTIGAMEEXTENDED-S202630392E8B89E-821F2312A70');
    expect(s.record).toMatchObject({ yes_ask_dollars: '0.5120', yes_ask: 51, open_time: '2026-02-13T02:48:32.790453Z', price_level_structure: 'deci_cent' });
    expect(mapped(s)).toEqual({
      ticker: 'KXMVESPORTSMULTIGAMEEXTENDED-S202630392E8B89E-821F2312A70',
      eventTicker: 'KXMVESPORTSMULTIGAMEEXTENDED-S202630392E8B89E',
      title: 'yes Austin Reaves: 2+,yes LeBron James: 1+,yes Austin Reaves: 20+,no Over 247.5 points scored',
      marketStatus: 'active',
      tradingStatus: 'open',
      marketType: 'binary',
      result: '',
      yesBid: 0,
      yesAsk: 5120,
      lastPrice: 0,
      volume: 0,
      openTs: T(2026, 2, 13, 2, 48, 32, 790) + 453,
      closeTs: T(2026, 2, 27, 3),
      expirationTs: T(2026, 2, 13, 6), // expected_expiration_time, not latest (Feb 27)
      updatedAt: NOW,
    });
  });

  it('a fractional volume_fp: "10160.15" → 1016015 hundredths (Aug-2026 shape, no integer fields)', () => {
    const s = marketSample(corpus, 'rest/markets/bobaoxu2001.kalshi-market.json', 'KXMLBGAME-26AUG092020HOUSD-SD');
    expect(mapped(s)).toEqual({
      ticker: 'KXMLBGAME-26AUG092020HOUSD-SD',
      eventTicker: 'KXMLBGAME-26AUG092020HOUSD',
      title: 'Houston vs San Diego Winner?',
      marketStatus: 'active',
      tradingStatus: 'open',
      marketType: 'binary',
      result: '',
      yesBid: 5300,
      yesAsk: 5400,
      lastPrice: 5400,
      volume: 1_016_015,
      openTs: T(2026, 8, 7, 0, 40),
      closeTs: T(2026, 8, 13, 0, 20),
      expirationTs: T(2026, 8, 10, 3, 20),
      updatedAt: NOW,
    });
  });

  it('a microsecond close_time "2025-09-17T03:56:01.983581Z" → exact micros; a finalized Sep-2025 record', () => {
    const s = marketSample(corpus, 'rest/markets/mxgordon-kalshi-rust.sample_markets.json', 'KXWNBAGAME-25SEP16LVSEA-SEA');
    expect(mapped(s)).toEqual({
      ticker: 'KXWNBAGAME-25SEP16LVSEA-SEA',
      eventTicker: 'KXWNBAGAME-25SEP16LVSEA',
      title: 'Las Vegas vs Seattle Winner?',
      marketStatus: 'finalized',
      tradingStatus: 'settled',
      marketType: 'binary',
      result: 'yes',
      yesBid: 0,
      yesAsk: 10_000,
      lastPrice: 9900,
      volume: 42_562_900, // integer `volume` 425629 contracts (no volume_fp in this generation)
      openTs: T(2025, 9, 15, 12),
      closeTs: 1_758_081_361_983_581,
      expirationTs: T(2025, 9, 17, 4, 30),
      updatedAt: NOW,
    });
    expect(mapped(s).closeTs).toBe(T(2025, 9, 17, 3, 56, 1, 983) + 581);
  });

  it('a ticker containing "." (KXBTCD-26JUL2502-T74299.99)', () => {
    const s = marketSample(corpus, 'rest/markets/bobaoxu2001.kalshi_markets.json', 'KXBTCD-26JUL2502-T74299.99');
    expect(mapped(s)).toMatchObject({
      ticker: 'KXBTCD-26JUL2502-T74299.99',
      eventTicker: 'KXBTCD-26JUL2502',
      yesBid: 0,
      yesAsk: 100,
      volume: 0,
      openTs: T(2026, 7, 25, 5),
      closeTs: T(2026, 7, 25, 6),
      expirationTs: T(2026, 7, 25, 6, 5),
    });
  });

  it('the legacy-cents generation (Oct 2025: cents + *_dollars, integer volume, "result": null)', () => {
    const s = marketSample(corpus, 'rest/markets/jonasgebele-tail-end-analysis.kalshi_markets.json', 'KXBOND-30-CAL');
    expect(s.record).toMatchObject({ result: null, yes_bid: 9, volume: 1658 });
    expect('volume_fp' in s.record).toBe(false);
    const expected = {
      ticker: 'KXBOND-30-CAL',
      eventTicker: 'KXBOND-30',
      title: 'Will Callum Turner be the next James Bond?',
      marketStatus: 'active',
      tradingStatus: 'open',
      marketType: 'binary',
      result: '',
      yesBid: 900,
      yesAsk: 1600,
      lastPrice: 1900,
      volume: 165_800,
      openTs: T(2025, 9, 2, 22, 50, 55),
      closeTs: T(2030, 1, 1, 15),
      expirationTs: T(2030, 1, 1, 15),
      updatedAt: NOW,
    };
    expect(mapped(s)).toEqual(expected);
    // The cents alone (the *_dollars stripped) give the same prices.
    const { yes_bid_dollars: _a, yes_ask_dollars: _b, last_price_dollars: _c, ...centsOnly } = s.record;
    expect(parseMarketRecord(centsOnly, NOW)).toEqual({ ok: true, value: expected });
  });

  it('a recorded GET /markets/{ticker} golden body: microsecond open_time of a combo market', () => {
    const s = marketSample(corpus, 'rest/golden/market_single_response.json', 'KXMVENFLSINGLEGAME-S202513E70FA7695-688BECB3826');
    expect(mapped(s)).toMatchObject({
      openTs: T(2026, 1, 12, 22, 8, 10, 402) + 546,
      closeTs: T(2026, 1, 27, 1, 15),
      expirationTs: T(2026, 1, 13, 4, 15),
    });
  });
});

describe("Market.expirationTs is Kalshi's expected expiration", () => {
  it('is expected_expiration_time for every real record (which all carry it)', () => {
    for (const s of accepted) expect(mapped(s).expirationTs, at(s)).toBe(micros(s.record.expected_expiration_time as string));
  });

  it('differs from latest_expiration_time by more than a day in 297 of the 353 records (why it matters)', () => {
    const far = accepted.filter(
      (s) => Math.abs(micros(s.record.expected_expiration_time as string) - micros(s.record.latest_expiration_time as string)) > 86_400_000_000,
    );
    expect(far).toHaveLength(297);
  });

  it('falls back to latest_expiration_time, expiration_time, then close_time when the expected one is null or absent', () => {
    const s = marketSample(corpus, 'rest/markets/bobaoxu2001.kalshi-market.json', 'KXMLBGAME-26AUG092020HOUSD-SD');
    const r = s.record;
    const exp = (rec: Record<string, unknown>) => {
      const p = parseMarketRecord(rec, NOW);
      if (!p.ok) throw p.error;
      return p.value.expirationTs;
    };
    for (const missing of [null, undefined]) {
      const base = { ...r, expected_expiration_time: missing };
      expect(exp(base)).toBe(micros(r.latest_expiration_time as string));
      expect(exp({ ...base, latest_expiration_time: missing, expiration_time: '2026-08-20T00:00:00Z' })).toBe(Date.UTC(2026, 7, 20) * 1000);
      expect(exp({ ...base, latest_expiration_time: missing, expiration_time: missing })).toBe(micros(r.close_time as string));
    }
  });
});

describe('every real event record is accepted and mapped', () => {
  const events = corpus.events.filter((s) => !s.trimmed);

  it('parseEventRecord and the full schema accept all 315', () => {
    const failures: string[] = [];
    for (const s of events) {
      const r = parseEventRecord(s.record);
      if (!r.ok) failures.push(`${at(s)}: ${r.error.message}`);
      const full = KalshiEventSchema.safeParse(s.record);
      if (!full.success) failures.push(`${at(s)} (full schema): ${full.error.issues.map((i) => i.path.join('.')).join(', ')}`);
    }
    expect(failures).toEqual([]);
  });

  it('maps each exactly', () => {
    for (const s of events) {
      const r = s.record;
      const p = parseEventRecord(r);
      expect(p.ok && p.value, at(s)).toEqual({
        eventTicker: r.event_ticker,
        seriesTicker: r.series_ticker,
        title: r.title,
        subTitle: r.sub_title,
        mutuallyExclusive: r.mutually_exclusive,
        updatedAt: typeof r.last_updated_ts === 'string' ? micros(r.last_updated_ts) : 0,
      });
    }
  });

  it('a microsecond last_updated_ts, hand-computed', () => {
    const s = corpus.events.find((e) => e.file === 'rest/events/bobaoxu2001.kalshi_events.json' && e.record.event_ticker === 'KXELONMARS-99');
    expect(s?.record.last_updated_ts).toBe('2026-05-10T00:33:53.337123Z');
    const p = parseEventRecord(s?.record);
    expect(p.ok && p.value.updatedAt).toBe(Date.UTC(2026, 4, 10, 0, 33, 53, 337) * 1000 + 123);
  });

  it('the hand-trimmed gnome-classifier events still parse (only their markets lack required fields)', () => {
    for (const s of corpus.events.filter((e) => e.trimmed)) expect(parseEventRecord(s.record).ok, at(s)).toBe(true);
  });
});

describe('the real exchange status body', () => {
  it('is accepted and mapped', () => {
    const [s] = corpus.exchangeStatus;
    expect(s?.file).toBe('rest/golden/exchange_status_response.json');
    expect(KalshiExchangeStatusSchema.safeParse(s?.record).success).toBe(true);
    expect(parseExchangeStatus(s?.record, NOW, false)).toEqual({
      ok: true,
      value: { exchangeActive: true, tradingActive: true, estimatedResumeTs: null, observedAt: NOW, maintenance: false },
    });
  });
});
