/**
 * The simulator's bodies and frames held against the REAL recorded Kalshi output in
 * shared/real-kalshi (PROVENANCE.md), so the simulator cannot drift from Kalshi again. Every
 * reference below is derived from the recording files at test time:
 *  - field set: every field the newest-generation recordings (Mar–Aug 2026: *_dollars/*_fp only)
 *    always carry is present; no field appears that neither a recording nor Kalshi's spec has;
 *  - JSON type per field, null vs absent (the newest recordings omit rather than send null),
 *    value formats of prices, counts and times;
 *  - key order: alphabetical at every depth as recorded, cursor first in pages;
 *  - WebSocket frames per event type against ws/real-lifecycle-frames.jsonl (docs examples and
 *    the AsyncAPI schema only widen what is allowed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimExchange, type SimExchange } from '../../src/sim/index.js';
import { connectWs, getJson, type Frame, type WsClient } from './helpers.js';
import {
  LEGACY_INTEGER_FIELDS,
  formatClass,
  isNewestGeneration,
  jsonType,
  keysSortedDeep,
  loadCorpus,
  openapiSchemaProps,
  restrictTo,
  shapeOf,
  typeFits,
  type Corpus,
  type Json,
  type JsonType,
  type Rec,
  type Shape,
  text,
} from './real-kalshi.js';

type SchemaProp = { type?: string | string[]; anyOf?: Array<{ type?: string }>; enum?: unknown[]; $ref?: string };
function specTypes(p: SchemaProp | undefined): Set<JsonType> {
  const out = new Set<JsonType>();
  const add = (t: string | undefined): void => {
    if (t !== undefined) out.add(t as JsonType);
  };
  if (!p) return out;
  if (Array.isArray(p.type)) p.type.forEach(add);
  else add(p.type);
  for (const a of p.anyOf ?? []) add(a.type);
  if (p.enum) out.add('string');
  if (p.$ref) out.add('object');
  return out;
}

interface Reference {
  /** Fields the newest recordings always carry. */
  always: Set<string>;
  /** Fields that exist at all (newest recordings ∪ spec). */
  allowed: Set<string>;
  /** JSON types per field (recordings, else spec). */
  types: Map<string, Set<JsonType>>;
  /** Fields the newest recordings carry as null at least once. */
  nullable: Set<string>;
  /** String formats per field (recordings). */
  formats: Map<string, Set<string>>;
  /** Time fields: share of recorded values with a fractional second. */
  fraction: Map<string, number>;
}

function reference(newest: Shape, older: Shape | undefined, specProps: Record<string, unknown> | undefined, extraAllowed: Iterable<string> = []): Reference {
  const allowed = new Set<string>([...newest.fields.keys(), ...Object.keys(specProps ?? {}), ...extraAllowed]);
  const types = new Map<string, Set<JsonType>>();
  const formats = new Map<string, Set<string>>();
  const fraction = new Map<string, number>();
  const nullable = new Set<string>();
  for (const k of allowed) {
    const n = newest.fields.get(k);
    const o = older?.fields.get(k);
    const t = new Set<JsonType>(n?.types ?? o?.types ?? specTypes(specProps?.[k] as SchemaProp | undefined));
    types.set(k, t);
    if (n?.types.has('null')) nullable.add(k);
    const f = new Set<string>([...(n?.formats ?? []), ...(o?.formats ?? [])]);
    if (f.size > 0) formats.set(k, f);
    const src = n ?? o;
    if (src && src.formats.size > 0 && [...src.formats].some((x) => x.includes('T'))) fraction.set(k, src.withFraction / src.count);
  }
  return { always: new Set(newest.always), allowed, types, nullable, formats, fraction };
}

/** Every difference of `records` from `ref`, as readable lines (empty = conforming). */
function differences(records: readonly Rec[], ref: Reference, what: string): string[] {
  const out = new Set<string>();
  const fracSeen = new Map<string, [number, number]>();
  for (const r of records) {
    const id = text(r.ticker ?? r.event_ticker ?? '');
    for (const k of ref.always) if (!(k in r)) out.add(`${what} ${id}: missing ${k} (every newest recording carries it)`);
    for (const [k, v] of Object.entries(r)) {
      if (!ref.allowed.has(k)) out.add(`${what}: field ${k} is in no recording and no spec`);
      const t = jsonType(v);
      if (t === 'null') {
        if (!ref.nullable.has(k)) out.add(`${what}: ${k} is null, the newest recordings omit it instead`);
        continue;
      }
      const rt = ref.types.get(k);
      if (rt && rt.size > 0 && !typeFits(t, rt)) out.add(`${what}: ${k} is ${t}, recorded as ${[...rt].join('|')}`);
      if (typeof v === 'string' && /(_dollars|_fp|_time|_ts|_datetime)$/.test(k)) {
        const fmts = ref.formats.get(k);
        const fc = formatClass(v);
        if (fmts && !fmts.has(fc)) out.add(`${what}: ${k}=${JSON.stringify(v)} has format ${fc}, recorded ${[...fmts].join(' ')}`);
        if (ref.fraction.has(k)) {
          const c = fracSeen.get(k) ?? [0, 0];
          c[0]++;
          if (/\.\d+Z$/.test(v)) c[1]++;
          fracSeen.set(k, c);
        }
      }
    }
    const bad = keysSortedDeep(r);
    if (bad) out.add(`${what} ${id}: keys not alphabetical at ${bad}`);
  }
  for (const [k, [n, withFrac]] of fracSeen) {
    const rec = ref.fraction.get(k) ?? 0;
    if (rec === 1 && withFrac / n < 0.95) out.add(`${what}: ${k} has a fractional second in ${withFrac}/${n}, every recording has microseconds`);
    if (rec === 0 && withFrac > 0) out.add(`${what}: ${k} has a fractional second in ${withFrac}/${n}, no recording has one`);
  }
  return [...out];
}

async function walkRaw(url: string, listKey: 'markets' | 'events'): Promise<{ bodies: Rec[]; records: Rec[] }> {
  const bodies: Rec[] = [];
  const records: Rec[] = [];
  let cursor = '';
  do {
    const r = await getJson(`${url}${url.includes('?') ? '&' : '?'}${cursor ? `cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(r.status, r.text.slice(0, 200)).toBe(200);
    const body = r.body as Rec;
    bodies.push(body);
    records.push(...((body[listKey] as Rec[] | undefined) ?? []));
    cursor = text(body.cursor ?? '');
  } while (cursor);
  return { bodies, records };
}

describe('simulator vs the recorded Kalshi API', () => {
  let corpus: Corpus;
  let sim: SimExchange;
  let markets: Rec[];
  let pages: Rec[];
  beforeAll(async () => {
    corpus = loadCorpus(); // throws a clear error when shared/real-kalshi is missing
    sim = await startSimExchange({ markets: 3000, seed: 23 });
    // Some runtime history too: created, determined, disputed, amended, settled markets.
    sim.createMarket();
    sim.createComboMarket();
    for (let k = 0; k < 300; k++) sim.randomOp();
    const walked = await walkRaw(`${sim.restUrl}/markets?limit=1000`, 'markets');
    markets = walked.records;
    pages = walked.bodies;
  });
  afterAll(async () => {
    await sim?.close();
  });

  const newestMarkets = (combo: boolean): Rec[] =>
    corpus.markets.map((m) => m.record).filter((r) => isNewestGeneration(r) && 'mve_collection_ticker' in r === combo);
  const olderShape = (): Shape => shapeOf(corpus.markets.map((m) => m.record));
  const marketSpec = (): Record<string, unknown> => corpus.tsSchema.Market?.properties ?? {};

  it('the recordings hold what this test derives its references from', () => {
    expect(newestMarkets(false).length).toBeGreaterThanOrEqual(10);
    expect(newestMarkets(true).length).toBeGreaterThanOrEqual(1);
    // the newest generation is alphabetical at every depth: that is the key order the sim must use
    for (const r of [...newestMarkets(false), ...newestMarkets(true)]) expect(keysSortedDeep(r)).toBeUndefined();
    for (const r of newestMarkets(false)) for (const k of LEGACY_INTEGER_FIELDS) expect(r).not.toHaveProperty(k);
    expect(corpus.marketsPageKeys.length).toBeGreaterThan(0);
    expect(corpus.realFrames.length).toBeGreaterThan(0);
  });

  it('GET /markets pages: the recorded envelope, cursor first', () => {
    const recorded = new Set(corpus.marketsPageKeys.map((k) => k.join(',')));
    for (const p of pages) expect(recorded).toContain(Object.keys(p).join(','));
    expect(Object.keys(pages[0] as Rec)[0]).toBe('cursor');
    expect(pages.at(-1)?.cursor).toBe('');
  });

  it('GET /markets records (ordinary markets) have the shape of the newest recordings', () => {
    const ref = reference(shapeOf(newestMarkets(false)), olderShape(), marketSpec());
    const plain = markets.filter((m) => !('mve_collection_ticker' in m));
    expect(plain.length).toBeGreaterThan(2000);
    expect(differences(plain, ref, 'market')).toEqual([]);
    // no legacy integer cents / counts, and none of the fields only the recorded combos carry
    const comboOnly = [...shapeOf(newestMarkets(true)).always].filter((k) => !shapeOf(newestMarkets(false)).fields.has(k));
    expect(comboOnly).toEqual(expect.arrayContaining(['is_provisional', 'mve_collection_ticker', 'mve_selected_legs']));
    for (const m of plain) for (const k of [...LEGACY_INTEGER_FIELDS, ...comboOnly]) expect(m, `${text(m.ticker)} ${k}`).not.toHaveProperty(k);
  });

  it('GET /markets records (combo markets) have the shape of the newest recorded combos', () => {
    const recorded = newestMarkets(true);
    const ref = reference(shapeOf(recorded), olderShape(), marketSpec());
    const combos = markets.filter((m) => 'mve_collection_ticker' in m);
    expect(combos.length).toBeGreaterThanOrEqual(300);
    expect(differences(combos, ref, 'combo')).toEqual([]);
    // tickers, legs and strikes as recorded (the patterns are checked against the recordings first)
    const eventRe = /^KXMVE[A-Z]+-S\d{4}[0-9A-F]{11}$/;
    const legKeys = new Set<string>();
    const strikeKeys = new Set<string>();
    for (const r of recorded) {
      expect(text(r.event_ticker)).toMatch(eventRe);
      expect(text(r.ticker).startsWith(`${text(r.event_ticker)}-`)).toBe(true);
      expect(text(r.ticker).slice(text(r.event_ticker).length + 1)).toMatch(/^[0-9A-F]{11}$/);
      for (const l of r.mve_selected_legs as Rec[]) Object.keys(l).forEach((k) => legKeys.add(k));
      Object.keys(r.custom_strike as Rec).forEach((k) => strikeKeys.add(k));
      expect((r.custom_strike as Rec)['Multivariate Event Ticker']).toBe(r.event_ticker);
    }
    const plainTickers = new Map(markets.filter((m) => !('mve_collection_ticker' in m)).map((m) => [m.ticker as string, m.event_ticker as string]));
    for (const c of combos) {
      expect(text(c.event_ticker)).toMatch(eventRe);
      expect(text(c.ticker).slice(text(c.event_ticker).length + 1)).toMatch(/^[0-9A-F]{11}$/);
      const legs = c.mve_selected_legs as Rec[];
      expect(legs.length).toBeGreaterThan(0);
      for (const l of legs) {
        expect(new Set(Object.keys(l))).toEqual(legKeys);
        // every leg is a real, non-combo market of the sim, in the event named
        expect(plainTickers.get(text(l.market_ticker))).toBe(l.event_ticker);
      }
      const cs = c.custom_strike as Record<string, string>;
      expect(new Set(Object.keys(cs))).toEqual(strikeKeys);
      expect(cs['Multivariate Event Ticker']).toBe(c.event_ticker);
      expect(cs['Associated Markets']).toBe(legs.map((l) => text(l.market_ticker)).join(','));
      expect(c.is_provisional).toBe(true);
    }
  });

  it('fields that only determined/settled markets carry are absent before (derived from the recordings)', () => {
    const newest = [...newestMarkets(false), ...newestMarkets(true)];
    const active = newest.filter((r) => r.status === 'active');
    const settled = newest.filter((r) => r.status === 'finalized');
    expect(active.length).toBeGreaterThan(0);
    expect(settled.length).toBeGreaterThan(0);
    const afterOnly = new Set(settled.flatMap((r) => Object.keys(r)).filter((k) => active.every((a) => !(k in a))));
    expect(afterOnly.size).toBeGreaterThan(0); // settlement_value_dollars, settlement_ts
    for (const m of markets) {
      const live = ['initialized', 'active', 'inactive', 'closed'].includes(text(m.status));
      for (const k of afterOnly) {
        if (live) expect(m, `${text(m.ticker)} (${text(m.status)}) ${k}`).not.toHaveProperty(k);
        if (m.status === 'finalized') expect(m, `${text(m.ticker)} ${k}`).toHaveProperty(k);
      }
    }
  });

  it('price_ranges are the recorded ranges of each price level structure, and prices sit on them', () => {
    const recordedRanges = new Map<string, string>();
    for (const { record: r } of corpus.markets) {
      if (typeof r.price_level_structure !== 'string' || !Array.isArray(r.price_ranges)) continue;
      const j = JSON.stringify(r.price_ranges);
      const prev = recordedRanges.get(r.price_level_structure);
      if (prev !== undefined) expect(prev, `recordings disagree on ${r.price_level_structure}`).toBe(j);
      recordedRanges.set(r.price_level_structure, j);
    }
    expect(recordedRanges.size).toBeGreaterThanOrEqual(3);
    const onGrid = (p: string, ranges: Array<{ start: string; end: string; step: string }>): boolean =>
      ranges.some((x) => {
        const v = Math.round(Number(p) * 10_000);
        const s = Math.round(Number(x.start) * 10_000);
        const e = Math.round(Number(x.end) * 10_000);
        const st = Math.round(Number(x.step) * 10_000);
        return v >= s && v <= e && (v - s) % st === 0;
      });
    const seen = new Set<string>();
    for (const m of markets) {
      const pls = text(m.price_level_structure);
      const rec = recordedRanges.get(pls);
      if (rec !== undefined) {
        expect(JSON.stringify(m.price_ranges), `${text(m.ticker)} ${pls}`).toBe(rec);
        seen.add(pls);
      }
      const ranges = m.price_ranges as Array<{ start: string; end: string; step: string }>;
      for (const k of ['yes_bid_dollars', 'yes_ask_dollars', 'no_bid_dollars', 'no_ask_dollars', 'last_price_dollars']) {
        expect(onGrid(text(m[k]), ranges), `${text(m.ticker)} ${k}=${text(m[k])} not on ${pls}`).toBe(true);
      }
    }
    expect([...seen].sort()).toEqual(['deci_cent', 'linear_cent', 'tapered_deci_cent']);
  });

  it('realistic values: sub-cent prices, fractional counts, microsecond times, dotted tickers, custom strikes', () => {
    const subCent = markets.filter((m) => ['yes_bid_dollars', 'yes_ask_dollars'].some((k) => /\.\d\d[1-9]\d$|\.\d\d\d[1-9]$/.test(text(m[k]))));
    expect(subCent.length).toBeGreaterThan(20);
    for (const m of subCent) expect(['deci_cent', 'tapered_deci_cent']).toContain(m.price_level_structure);
    expect(markets.filter((m) => /\.(?!00)\d\d$/.test(text(m.volume_fp))).length).toBeGreaterThan(200);
    expect(markets.filter((m) => /\.\d{6}Z$/.test(text(m.created_time))).length).toBeGreaterThan(2000);
    expect(markets.filter((m) => text(m.ticker).includes('.')).length).toBeGreaterThan(10);
    const sports = markets.filter((m) => m.strike_type === 'structured');
    expect(sports.length).toBeGreaterThan(10);
    for (const m of sports) expect(Object.values(m.custom_strike as Rec)[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('GET /markets/{ticker}: the recorded body', async () => {
    const recorded = new Set(corpus.singleMarketKeys.map((k) => k.join(',')));
    for (const t of [sim.tickers()[0], sim.comboTickers()[0]] as string[]) {
      const r = await getJson(`${sim.restUrl}/markets/${t}`);
      expect(recorded).toContain(Object.keys(r.body as Rec).join(','));
      expect(r.body).toEqual({ market: markets.find((m) => m.ticker === t) });
    }
  });

  it('GET /events pages and records (and nested markets) have the recorded shape', async () => {
    const { bodies, records } = await walkRaw(`${sim.restUrl}/events?with_nested_markets=true&limit=200`, 'events');
    const recordedPages = new Set(corpus.eventsPageKeys.map((k) => k.join(',')));
    for (const b of bodies) {
      expect(recordedPages).toContain(Object.keys(b).join(','));
      expect(b.milestones).toEqual([]);
    }
    // newest event records: those whose nested markets are of the newest generation
    const newestEvents = corpus.events
      .map((e) => e.record)
      .filter((e) => Array.isArray(e.markets) && (e.markets as Rec[]).length > 0 && (e.markets as Rec[]).every((m) => isNewestGeneration(m)));
    expect(newestEvents.length).toBeGreaterThan(0);
    const ref = reference(shapeOf(newestEvents), shapeOf(corpus.events.map((e) => e.record)), corpus.tsSchema.EventData?.properties);
    expect(differences(records, ref, 'event')).toEqual([]);
    // nested markets are the same records as GET /markets
    const byTicker = new Map(markets.map((m) => [m.ticker, m]));
    let nested = 0;
    for (const e of records)
      for (const m of e.markets as Rec[]) {
        nested++;
        expect(byTicker.get(m.ticker)?.event_ticker).toBe(e.event_ticker);
      }
    expect(nested).toBeGreaterThan(2000);
    // without nesting: no markets key; single event: {event, markets} as recorded
    const flat = (await getJson(`${sim.restUrl}/events?limit=5`)).body as { events: Rec[] };
    const plainRef = reference(shapeOf(newestEvents.map(({ markets: _m, ...rest }) => rest)), undefined, corpus.tsSchema.EventData?.properties);
    expect(differences(flat.events, plainRef, 'event')).toEqual([]);
    const single = (await getJson(`${sim.restUrl}/events/${text(flat.events[0]?.event_ticker)}`)).body as Rec;
    expect(new Set(corpus.singleEventKeys.map((k) => k.join(',')))).toContain(Object.keys(single).join(','));
  });

  it('GET /events/multivariate: the spec envelope (cursor, events), combo events only', async () => {
    const specKeys = openapiSchemaProps(corpus.openapi, 'GetMultivariateEventsResponse').sort();
    expect(specKeys).toEqual(['cursor', 'events']);
    const { bodies, records } = await walkRaw(`${sim.restUrl}/events/multivariate?limit=200`, 'events');
    for (const b of bodies) expect(Object.keys(b)).toEqual(specKeys);
    expect(records.length).toBeGreaterThan(0);
    const known = new Set([...corpus.events.flatMap((x) => Object.keys(x.record)), ...Object.keys(corpus.tsSchema.EventData?.properties ?? {})]);
    for (const e of records) {
      expect(text(e.event_ticker)).toMatch(/^KXMVE/);
      expect(keysSortedDeep(e as Json)).toBeUndefined();
      for (const k of Object.keys(e)) expect(known, `event key ${k}`).toContain(k);
    }
  });

  it('GET /exchange/status has the recorded shape', async () => {
    const r = await getJson(`${sim.restUrl}/exchange/status`);
    const body = r.body as Rec;
    const ref = reference(shapeOf(corpus.exchangeStatus), undefined, corpus.tsSchema.ExchangeStatus?.properties);
    expect(differences([body], ref, 'exchange status')).toEqual([]);
    const idx = body.exchange_index_statuses as Rec[];
    const required = corpus.tsSchema.ExchangeIndexStatus?.required ?? [];
    for (const s of idx) expect(Object.keys(s).sort()).toEqual([...required].sort());
  });

  it('GET /series and /series/{ticker} have the recorded / spec shape (no cursor)', async () => {
    const listKeys = openapiSchemaProps(corpus.openapi, 'GetSeriesListResponse');
    const r = await getJson(`${sim.restUrl}/series`);
    expect(Object.keys(r.body as Rec)).toEqual(listKeys);
    const series = (r.body as { series: Rec[] }).series;
    expect(series.length).toBeGreaterThan(5);
    expect(corpus.series.length).toBeGreaterThan(0);
    const specProps = Object.fromEntries(openapiSchemaProps(corpus.openapi, 'Series').map((k) => [k, {}]));
    const ref = reference(shapeOf(corpus.series.map((s) => s.record)), undefined, specProps);
    ref.nullable.clear(); // a recorded "tags": null is not a shape to copy
    expect(differences(series, ref, 'series')).toEqual([]);
    const one = await getJson(`${sim.restUrl}/series/${text(series[0]?.ticker)}?include_volume=true`);
    expect(Object.keys(one.body as Rec)).toEqual(openapiSchemaProps(corpus.openapi, 'GetSeriesResponse'));
    expect(differences([(one.body as { series: Rec }).series], ref, 'series')).toEqual([]);
  });

  it('REST errors have the ErrorResponse shape of the spec, wrapped in "error"', async () => {
    const props = new Set(openapiSchemaProps(corpus.openapi, 'ErrorResponse'));
    expect(props.has('code') && props.has('message')).toBe(true);
    for (const url of [`${sim.restUrl}/markets?limit=5000`, `${sim.restUrl}/markets/NOPE-1`, `${sim.restUrl}/events/NOPE`, `${sim.restUrl}/nope`]) {
      const r = await getJson(url);
      expect(r.status).toBeGreaterThanOrEqual(400);
      const body = r.body as { error: Rec };
      expect(Object.keys(body)).toEqual(['error']);
      for (const [k, v] of Object.entries(body.error)) {
        expect(props, url).toContain(k);
        expect(typeof v).toBe('string');
      }
      expect(keysSortedDeep(body as unknown as Json)).toBeUndefined();
    }
  });

  describe('WebSocket frames', () => {
    let c: WsClient;
    let frames: Frame[];
    beforeAll(async () => {
      c = await connectWs(sim.wsUrl);
      c.send({ id: 1, cmd: 'subscribe', params: { channels: ['market_lifecycle_v2', 'multivariate_market_lifecycle'] } });
      await c.collect(2, (f) => f.type === 'subscribed');
      const before = c.frames.length;
      const now = Math.floor(Date.now() / 1000);
      // every kind of frame, for an ordinary, a sports (custom strike) and a combo market
      const plain = sim.createMarket({ eventTicker: 'KXSHAPETEST-26DEC24', openTs: now - 5, closeTs: now + 3600 }).ticker as string;
      const sports = sim.createMarket({ seriesTicker: 'KXEPLGAME', openTs: now - 5, closeTs: now + 3600 }).ticker as string;
      const combo = sim.createComboMarket({ openTs: now - 5, closeTs: now + 3600 }).ticker as string;
      for (const t of [plain, sports, combo]) {
        sim.deactivate(t);
        sim.activate(t);
        sim.updateCloseTime(t, now - 1);
        sim.determine(t, 'no');
        sim.dispute(t);
        sim.amend(t, 'yes');
        sim.settle(t);
      }
      const open = sim.tickers().find((t) => sim.getMarket(t)?.status === 'active' && !sim.comboTickers().includes(t)) as string;
      sim.updatePriceLevelStructure(open, 'deci_cent');
      sim.updateMetadata(open, { floor_strike: 5, cap_strike: 6, strike_type: 'between' });
      sim.feeUpdate('KXSHAPETEST-26DEC24', { fee_type_override: 'quadratic', fee_multiplier_override: 1 });
      const n = sim.stats.lifecycleFramesBroadcast;
      await c.collect(n, (f) => f.type !== 'subscribed', 5000).catch(() => undefined);
      frames = c.frames.slice(before).filter((f) => f.type !== 'subscribed');
    });
    afterAll(async () => {
      await c?.close();
    });

    const groupOf = (f: Rec): string => {
      const t = text(f.type);
      const msg = f.msg as Rec | undefined;
      return t === 'market_lifecycle_v2' || t === 'multivariate_market_lifecycle' ? `lifecycle/${text(msg?.event_type)}` : t;
    };

    it('every sim frame matches the real frames (or, without a real one, the docs example) of its event type', () => {
      const real = corpus.realFrames;
      const groups = new Map<string, Array<{ frame: Rec; date: string }>>();
      for (const r of real) groups.set(groupOf(r.frame), [...(groups.get(groupOf(r.frame)) ?? []), r]);
      const docs = new Map<string, Rec[]>();
      for (const d of corpus.docsFrames) docs.set(groupOf(d), [...(docs.get(groupOf(d)) ?? []), d]);
      const schemaOf = (g: string): Record<string, unknown> => {
        const def =
          g === 'lifecycle/metadata_updated'
            ? 'marketMetadataUpdatedPayload'
            : g.startsWith('lifecycle/')
              ? 'marketLifecycleV2Payload'
              : g === 'event_lifecycle'
                ? 'eventLifecyclePayload'
                : 'eventFeeUpdatePayload';
        return corpus.asyncapi[def]?.properties?.msg?.properties ?? {};
      };
      const envelopeSchema = Object.keys(corpus.asyncapi.marketLifecycleV2Payload?.properties ?? {});
      const problems = new Set<string>();
      const covered = new Set<string>();
      for (const f of frames as Rec[]) {
        const g = groupOf(f);
        // `activated` is recorded nowhere; it is documented with the fields of its pair `deactivated`.
        const like = g === 'lifecycle/activated' ? 'lifecycle/deactivated' : g;
        const recorded = groups.get(like) ?? [];
        const examples = docs.get(like) ?? [];
        const refs = [...recorded.map((r) => r.frame), ...examples];
        covered.add(g);
        if (refs.length === 0) {
          // Neither recorded nor exemplified (price_level_structure_updated): the AsyncAPI schema
          // decides fields, types and order (its property order is Kalshi's field order).
          const schema = schemaOf(g);
          const order = Object.keys(schema);
          const msg = f.msg as Rec;
          if (order.length === 0) problems.add(`${g}: no real frame, docs example or schema to compare with`);
          for (const [k, v] of Object.entries(msg)) {
            if (!order.includes(k)) problems.add(`${g}: msg field ${k} is not in the schema`);
            const types = specTypes(schema[k] as SchemaProp);
            if (types.size > 0 && !typeFits(jsonType(v), types)) problems.add(`${g}: msg.${k} is ${jsonType(v)}, schema ${[...types].join('|')}`);
          }
          const keys = Object.keys(msg);
          if (restrictTo(order, new Set(keys)).join() !== keys.join()) problems.add(`${g}: msg order ${keys.join(',')} vs schema ${order.join(',')}`);
          continue;
        }
        // required: what the newest real frames of this kind always carry (else the docs example)
        const newestDate = recorded
          .map((r) => r.date)
          .sort()
          .at(-1);
        const newest = recorded.length > 0 ? recorded.filter((r) => r.date === newestDate).map((r) => r.frame) : examples;
        const msg = f.msg as Rec;
        const schema = schemaOf(g);
        const allowedMsg = new Set([...refs.flatMap((r) => Object.keys(r.msg as Rec)), ...Object.keys(schema)]);
        const envAllowed = new Set([...refs.flatMap((r) => Object.keys(r)), ...envelopeSchema]);
        for (const k of Object.keys(f)) if (!envAllowed.has(k)) problems.add(`${g}: envelope field ${k} is in no frame or schema`);
        for (const r of newest) {
          for (const k of Object.keys(r)) if (!(k in f)) problems.add(`${g}: envelope lacks ${k}`);
          for (const k of Object.keys(r.msg as Rec)) if (!(k in msg)) problems.add(`${g}: msg lacks ${k}`);
        }
        for (const [k, v] of Object.entries(msg)) {
          if (!allowedMsg.has(k)) problems.add(`${g}: msg field ${k} is in no frame or schema`);
          const recTypes = new Set<JsonType>(refs.filter((r) => k in (r.msg as Rec)).map((r) => jsonType((r.msg as Rec)[k])));
          const types = recTypes.size > 0 ? recTypes : specTypes(schema[k] as SchemaProp);
          if (types.size > 0 && !typeFits(jsonType(v), types)) problems.add(`${g}: msg.${k} is ${jsonType(v)}, recorded ${[...types].join('|')}`);
        }
        // key order, wherever a recorded frame has the same keys: envelope, msg, additional_metadata
        for (const r of refs) {
          const env = new Set(Object.keys(r));
          if (restrictTo(Object.keys(f), env).join() !== restrictTo(Object.keys(r), new Set(Object.keys(f))).join()) {
            problems.add(`${g}: envelope order ${Object.keys(f).join(',')} vs recorded ${Object.keys(r).join(',')}`);
          }
          const rm = r.msg as Rec;
          const common = new Set(Object.keys(rm).filter((k) => k in msg));
          if (restrictTo(Object.keys(msg), common).join() !== restrictTo(Object.keys(rm), common).join()) {
            problems.add(`${g}: msg order ${Object.keys(msg).join(',')} vs recorded ${Object.keys(rm).join(',')}`);
          }
          const am = msg.additional_metadata as Rec | undefined;
          const ram = rm.additional_metadata as Rec | undefined;
          if (am && ram) {
            const ca = new Set(Object.keys(ram).filter((k) => k in am));
            if (restrictTo(Object.keys(am), ca).join() !== restrictTo(Object.keys(ram), ca).join()) {
              problems.add(`${g}: additional_metadata order ${Object.keys(am).join(',')} vs recorded ${Object.keys(ram).join(',')}`);
            }
            const amSchema = Object.keys((schema.additional_metadata as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
            for (const k of Object.keys(am)) if (!(k in ram) && !amSchema.includes(k)) problems.add(`${g}: additional_metadata.${k} is in no frame or schema`);
          }
        }
        if (g === 'lifecycle/created') {
          const meta = msg.additional_metadata as Rec;
          const always = recorded.map((r) => Object.keys((r.frame.msg as Rec).additional_metadata as Rec));
          const req = always.reduce((a, b) => a.filter((k) => b.includes(k)));
          for (const k of req) if (!(k in meta)) problems.add(`created: additional_metadata lacks ${k}`);
        }
        // the newest recordings send no nulls in lifecycle frames
        if (g.startsWith('lifecycle/') || g === 'event_lifecycle')
          for (const [k, v] of Object.entries(msg)) if (v === null) problems.add(`${g}: msg.${k} is null`);
      }
      expect([...problems]).toEqual([]);
      // the sim produced every kind the recordings have
      for (const g of groups.keys()) expect(covered, g).toContain(g);
    });

    it('custom_strike appears in created frames (as in the real created frames), combos only on their own channel', () => {
      const realCustom = corpus.realFrames.filter(
        (r) => groupOf(r.frame) === 'lifecycle/created' && ((r.frame.msg as Rec).additional_metadata as Rec).custom_strike !== undefined,
      );
      expect(realCustom.length).toBeGreaterThan(0);
      const created = frames.filter((f) => f.msg?.event_type === 'created');
      const withCustom = created.filter((f) => typeof (f.msg?.additional_metadata as Rec | undefined)?.custom_strike === 'object');
      expect(withCustom.length).toBeGreaterThanOrEqual(2); // the sports market and the combo
      const combos = new Set(sim.comboTickers());
      for (const f of frames) {
        const t = text(f.msg?.market_ticker ?? '');
        if (f.type === 'multivariate_market_lifecycle') {
          expect(combos.has(t)).toBe(true);
          expect(f.sid).toBe(2);
        }
        if (f.type === 'market_lifecycle_v2') {
          expect(combos.has(t)).toBe(false);
          expect(f.sid).toBe(1);
        }
      }
      expect(frames.filter((f) => f.type === 'multivariate_market_lifecycle').map((f) => f.msg?.event_type)).toEqual([
        'created',
        'deactivated',
        'activated',
        'close_date_updated',
        'determined',
        'settled',
      ]);
    });
  });
});
