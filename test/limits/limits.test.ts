/**
 * Length limits (src/domain/limits.ts; issue #10 item 7): each limited field is accepted at its
 * limit and refused one character past it — by the zod schema, which names the field, and by the
 * fast path, which then declines (so both routes agree at the edge, not only somewhere near it).
 * A refused input's ticker and raw text reach the quarantine and the log cut by truncateForLog.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  LOG_QUOTE_HEAD,
  LOG_QUOTE_MAX,
  MAX_RULES_LENGTH,
  MAX_TEXT_LENGTH,
  MAX_TICKER_LENGTH,
  MAX_WORD_LENGTH,
  truncateForLog,
} from '../../src/domain/limits.js';
import { parseEventRecordWithZod, parseLifecycleFrame, parseLifecycleJson, parseMarketRecord, parseMarketRecordWithZod } from '../../src/domain/mapping.js';
import { fastMarketFromRecord } from '../../src/domain/fast-market.js';
import { fastEventFromRecord } from '../../src/domain/fast-event.js';
import { fastLifecycleFrame, newFastFrame } from '../../src/domain/fast-frame.js';
import { ErrorFrameSchema, KalshiMarketSchema } from '../../src/kalshi/schemas.js';
import { LifecycleHandler } from '../../src/registry/lifecycle-handler.js';
import { RegistryCore } from '../../src/registry/core.js';
import { ChangeStream } from '../../src/registry/change-stream.js';
import { MarketStore } from '../../src/store/market-store.js';
import { eventRecord, lifecycleFrames, marketRecord } from '../fixtures/kalshi.js';

const NOW = 1_764_000_000_000_000;
const s = (n: number) => 'K'.repeat(n);

describe('truncateForLog', () => {
  it('keeps every string up to the quote limit whole (every valid ticker), cuts longer ones to a bounded head and the length', () => {
    expect(LOG_QUOTE_MAX).toBeGreaterThanOrEqual(MAX_TICKER_LENGTH);
    expect(truncateForLog('')).toBe('');
    expect(truncateForLog(s(LOG_QUOTE_MAX))).toBe(s(LOG_QUOTE_MAX));
    expect(truncateForLog(s(LOG_QUOTE_MAX + 1))).toBe(`${s(LOG_QUOTE_HEAD)}…(${LOG_QUOTE_MAX + 1} chars)`);
    const huge = truncateForLog(s(1 << 20));
    expect(huge).toBe(`${s(64)}…(1048576 chars)`);
  });
});

/** [field, limit] of each limited field the registry maps from a REST market record. */
const MARKET_FIELDS: [string, number][] = [
  ['ticker', MAX_TICKER_LENGTH],
  ['event_ticker', MAX_TICKER_LENGTH],
  ['title', MAX_TEXT_LENGTH],
  ['yes_sub_title', MAX_TEXT_LENGTH],
  ['result', MAX_WORD_LENGTH],
  ['market_type', MAX_WORD_LENGTH],
];

describe('REST market records', () => {
  it.each(MARKET_FIELDS)('%s: accepted at %i characters by both routes, refused past it by zod (naming it) and declined by the fast path', (field, limit) => {
    const atLimit = { ...marketRecord, [field]: s(limit) };
    expect(parseMarketRecordWithZod(atLimit, NOW).ok).toBe(true);
    expect(fastMarketFromRecord(atLimit, NOW), 'the fast path takes a record at the limit').toBeDefined();

    const over = { ...marketRecord, [field]: s(limit + 1) };
    expect(fastMarketFromRecord(over, NOW)).toBeUndefined();
    const ref = parseMarketRecord(over, NOW);
    expect(ref.ok).toBe(false);
    if (ref.ok) return;
    expect(ref.error.code).toBe('E_VALIDATION');
    expect(ref.error.message).toContain(`${field}: longer than ${limit} characters`);
    expect(ref.error.message.length).toBeLessThan(200);
  });

  it("a refused record's over-long ticker is handed on cut (quarantine, log)", () => {
    const ref = parseMarketRecord({ ...marketRecord, ticker: s(1 << 20) }, NOW);
    expect(ref.ok).toBe(false);
    if (!ref.ok) expect(ref.ticker).toBe(`${s(64)}…(1048576 chars)`);
    // A valid ticker of a record refused for another reason is shown whole.
    const other = parseMarketRecord({ ...marketRecord, ticker: s(MAX_TICKER_LENGTH), title: s(MAX_TEXT_LENGTH + 1) }, NOW);
    if (!other.ok) expect(other.ticker).toBe(s(MAX_TICKER_LENGTH));
    else throw new Error('expected a refusal');
  });

  it('the full documentation schema applies the limits to the fields it adds (rules, subtitles, collection ticker)', () => {
    for (const [field, limit] of [
      ['rules_primary', MAX_RULES_LENGTH],
      ['rules_secondary', MAX_RULES_LENGTH],
      ['no_sub_title', MAX_TEXT_LENGTH],
      ['subtitle', MAX_TEXT_LENGTH],
      ['mve_collection_ticker', MAX_TICKER_LENGTH],
      ['strike_type', MAX_WORD_LENGTH],
      ['price_level_structure', MAX_WORD_LENGTH],
    ] as const) {
      expect(KalshiMarketSchema.safeParse({ ...marketRecord, [field]: s(limit) }).success, field).toBe(true);
      expect(KalshiMarketSchema.safeParse({ ...marketRecord, [field]: s(limit + 1) }).success, field).toBe(false);
    }
  });
});

describe('REST event records', () => {
  it.each([
    ['event_ticker', MAX_TICKER_LENGTH],
    ['series_ticker', MAX_TICKER_LENGTH],
    ['title', MAX_TEXT_LENGTH],
    ['sub_title', MAX_TEXT_LENGTH],
  ] as [string, number][])('%s: at %i accepted by both routes, past it refused and declined', (field, limit) => {
    const atLimit = { ...eventRecord, [field]: s(limit) };
    expect(parseEventRecordWithZod(atLimit).ok).toBe(true);
    expect(fastEventFromRecord(atLimit)).toBeDefined();
    const over = { ...eventRecord, [field]: s(limit + 1) };
    expect(fastEventFromRecord(over)).toBeUndefined();
    const ref = parseEventRecordWithZod(over);
    expect(ref.ok).toBe(false);
    if (!ref.ok) expect(ref.error.message).toContain(`${field}: longer than ${limit} characters`);
  });
});

type Json = Record<string, unknown>;
const clone = (v: unknown): Json => JSON.parse(JSON.stringify(v)) as Json;

/** [what, fixture frame, path inside msg, limit] for every limited string of a lifecycle frame. */
const FRAME_FIELDS: [string, keyof typeof lifecycleFrames, string[], number][] = [
  ['market_ticker (activated)', 'activated', ['market_ticker'], MAX_TICKER_LENGTH],
  ['market_ticker (created)', 'created', ['market_ticker'], MAX_TICKER_LENGTH],
  ['additional_metadata.event_ticker', 'created', ['additional_metadata', 'event_ticker'], MAX_TICKER_LENGTH],
  ['additional_metadata.title', 'created', ['additional_metadata', 'title'], MAX_TEXT_LENGTH],
  ['additional_metadata.name', 'created', ['additional_metadata', 'name'], MAX_TEXT_LENGTH],
  ['additional_metadata.yes_sub_title', 'created', ['additional_metadata', 'yes_sub_title'], MAX_TEXT_LENGTH],
  ['additional_metadata.no_sub_title', 'created', ['additional_metadata', 'no_sub_title'], MAX_TEXT_LENGTH],
  ['additional_metadata.rules_primary', 'created', ['additional_metadata', 'rules_primary'], MAX_RULES_LENGTH],
  ['additional_metadata.rules_secondary', 'created', ['additional_metadata', 'rules_secondary'], MAX_RULES_LENGTH],
  ['additional_metadata.strike_type', 'created', ['additional_metadata', 'strike_type'], MAX_WORD_LENGTH],
  ['price_level_structure (created)', 'created', ['price_level_structure'], MAX_WORD_LENGTH],
  ['result (determined)', 'determined', ['result'], MAX_WORD_LENGTH],
  ['price_level_structure (updated)', 'price_level_structure_updated', ['price_level_structure'], MAX_WORD_LENGTH],
  ['strike_type (metadata_updated)', 'metadata_updated', ['strike_type'], MAX_WORD_LENGTH],
  ['yes_sub_title (metadata_updated)', 'metadata_updated', ['yes_sub_title'], MAX_TEXT_LENGTH],
];

function withField(name: keyof typeof lifecycleFrames, path: string[], value: string): Json {
  const f = clone(lifecycleFrames[name]);
  let o = f.msg as Json;
  for (const k of path.slice(0, -1)) o = o[k] as Json;
  o[path[path.length - 1] as string] = value;
  return f;
}

describe('lifecycle frames', () => {
  const out = newFastFrame();
  it.each(FRAME_FIELDS)('%s: at the limit certified and accepted, past it declined and refused', (_what, name, path, limit) => {
    for (const type of ['market_lifecycle_v2', 'multivariate_market_lifecycle']) {
      const atLimit = { ...withField(name, path, s(limit)), type };
      expect(parseLifecycleJson(atLimit).ok).toBe(true);
      expect(fastLifecycleFrame(atLimit, out)).toBe(true);
      const over = { ...withField(name, path, s(limit + 1)), type };
      expect(fastLifecycleFrame(over, out)).toBe(false);
      const ref = parseLifecycleJson(over);
      expect(ref.ok).toBe(false);
      if (!ref.ok) expect(ref.error.message).toContain(`msg.${path.join('.')}: longer than ${limit} characters`);
    }
  });

  it('event frames and subscription replies: tickers, titles and channel names are limited too', () => {
    const ev = (msg: Json) => ({ ...clone(lifecycleFrames.event_lifecycle), msg: { ...(clone(lifecycleFrames.event_lifecycle).msg as Json), ...msg } });
    expect(parseLifecycleJson(ev({ event_ticker: s(MAX_TICKER_LENGTH), series_ticker: s(MAX_TICKER_LENGTH), title: s(MAX_TEXT_LENGTH) })).ok).toBe(true);
    expect(parseLifecycleJson(ev({ event_ticker: s(MAX_TICKER_LENGTH + 1) })).ok).toBe(false);
    expect(parseLifecycleJson(ev({ series_ticker: s(MAX_TICKER_LENGTH + 1) })).ok).toBe(false);
    expect(parseLifecycleJson(ev({ title: s(MAX_TEXT_LENGTH + 1) })).ok).toBe(false);
    const fee = clone(lifecycleFrames.event_fee_update);
    (fee.msg as Json).event_ticker = s(MAX_TICKER_LENGTH + 1);
    expect(parseLifecycleJson(fee).ok).toBe(false);
    expect(parseLifecycleJson({ type: 'subscribed', id: 1, msg: { channel: s(MAX_WORD_LENGTH + 1), sid: 1 } }).ok).toBe(false);
  });

  it('an error frame is accepted whatever the length of its text (a terminal error must be acted on)', () => {
    expect(ErrorFrameSchema.safeParse({ type: 'error', sid: 1, msg: { code: 10, msg: s(1 << 20) } }).success).toBe(true);
  });

  it('a frame that is not JSON: the quoted input is cut', () => {
    const ref = parseLifecycleFrame(`x${s(1 << 20)}`);
    expect(ref.ok).toBe(false);
    if (ref.ok) return;
    expect(ref.error.message.length).toBeLessThan(300);
    expect(String(ref.error.issues[0]?.input)).toBe(`x${s(63)}…(1048577 chars)`);
  });
});

describe('the lifecycle handler: over-long inputs are quarantined and logged cut', () => {
  function setup() {
    const lines: string[] = [];
    const logger = pino({ level: 'trace' }, { write: (l: string) => void lines.push(l) });
    const core = new RegistryCore({ store: new MarketStore(), changes: new ChangeStream(100), now: () => NOW, logger });
    const unknown: string[] = [];
    core.onUnknownTicker((t) => unknown.push(t));
    const handler = new LifecycleHandler({ core, logger });
    return { core, handler, lines, unknown };
  }

  it('a 1 MiB ticker: counted (invalid, quarantined), never an unknown ticker to fetch, every log line bounded', () => {
    const { core, handler, lines, unknown } = setup();
    for (let i = 0; i < 6; i++) {
      void handler.handleFrame(
        JSON.stringify({ type: 'market_lifecycle_v2', sid: 1, seq: i + 1, msg: { market_ticker: s(1 << 20) + i, event_type: 'activated' } }),
      );
    }
    expect(handler.stats.invalid).toBe(6);
    expect(core.counters.quarantined).toBe(6);
    expect(unknown).toEqual([]);
    expect(core.counters.unknownTickerEvents).toBe(0);
    for (const q of core.quarantined()) {
      expect(q.ticker).toBe(`${s(64)}…(1048577 chars)`);
      expect(q.reason).toMatch(/market_ticker: longer than 256 characters/);
    }
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l.length).toBeLessThan(1024);
    expect(lines.join('')).not.toMatch(/K{65}/);
  });

  it('a ticker at the limit is applied as any other (a created market)', () => {
    const { core, handler } = setup();
    const f = withField('created', ['market_ticker'], s(MAX_TICKER_LENGTH));
    void handler.handleFrame(JSON.stringify(f));
    expect(handler.stats.invalid).toBe(0);
    expect(core.store.get(s(MAX_TICKER_LENGTH))?.marketStatus).toBeDefined();
  });

  it('an error frame with a 1 MiB text is handled (counted) and logged cut', () => {
    const { handler, lines } = setup();
    void handler.handleFrame(JSON.stringify({ type: 'error', sid: 1, msg: { code: 10, msg: s(1 << 20) } }));
    expect(handler.stats.errors).toBe(1);
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; [k: string]: unknown }).find((l) => l.msg === 'lifecycle channel error');
    expect(logged).toBeDefined();
    expect(lines.join('').length).toBeLessThan(4096);
  });
});
