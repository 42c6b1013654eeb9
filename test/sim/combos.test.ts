/**
 * Combo (multivariate, KXMVE*) markets, the multivariate_market_lifecycle channel, GET
 * /events/multivariate, GET /series, and subscriptions to both lifecycle channels (§6.2, §7.5).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimExchange, SimOperationError, type SimExchange } from '../../src/sim/index.js';
import { connectWs, getJson, sleep, until, type Frame, type WsClient } from './helpers.js';

const BOTH = ['market_lifecycle_v2', 'multivariate_market_lifecycle'];
const isData = (f: Frame): boolean => f.type !== 'subscribed' && f.type !== 'ok' && f.type !== 'unsubscribed' && f.type !== 'error';

async function subscribeBoth(sim: SimExchange): Promise<WsClient> {
  const c = await connectWs(sim.wsUrl);
  c.send({ id: 1, cmd: 'subscribe', params: { channels: BOTH } });
  const acks = await c.collect(2, (f) => f.type === 'subscribed');
  expect(acks).toEqual([
    { id: 1, type: 'subscribed', msg: { channel: 'market_lifecycle_v2', sid: 1 } },
    { id: 1, type: 'subscribed', msg: { channel: 'multivariate_market_lifecycle', sid: 2 } },
  ]);
  return c;
}

describe('sim combo markets and the multivariate channel', () => {
  let sim: SimExchange;
  beforeAll(async () => {
    sim = await startSimExchange({ markets: 3000, seed: 31 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('one subscribe for both channels: a subscribed reply and a sid each; resubscribe is a no-op; list; unsubscribe by sids', async () => {
    const c = await subscribeBoth(sim);
    c.send({ id: 2, cmd: 'subscribe', params: { channels: BOTH } });
    const again = await c.collect(4, (f) => f.type === 'subscribed');
    expect(again.slice(2).map((f) => f.msg)).toEqual([
      { channel: 'market_lifecycle_v2', sid: 1 },
      { channel: 'multivariate_market_lifecycle', sid: 2 },
    ]);
    c.send({ id: 3, cmd: 'list_subscriptions' });
    expect(await c.next((f) => f.id === 3)).toEqual({
      id: 3,
      type: 'ok',
      msg: [
        { channel: 'market_lifecycle_v2', sid: 1 },
        { channel: 'multivariate_market_lifecycle', sid: 2 },
      ],
    });
    expect(c.frames.filter((f) => f.type === 'error')).toEqual([]);
    // seq counts per sid from 1
    sim.createMarket();
    sim.createComboMarket();
    const data = await c.collect(3, isData); // (event_lifecycle +) created, (event_lifecycle +) created
    await sleep(30);
    const bySid = (sid: number): Frame[] => c.frames.filter((f) => isData(f) && f.sid === sid);
    expect(bySid(1).map((f) => f.seq)).toEqual(bySid(1).map((_, k) => k + 1));
    expect(bySid(2).map((f) => f.seq)).toEqual(bySid(2).map((_, k) => k + 1));
    expect(bySid(2).at(-1)).toMatchObject({ type: 'multivariate_market_lifecycle', msg: { event_type: 'created' } });
    expect(data.length).toBeGreaterThanOrEqual(3);
    c.send({ id: 4, cmd: 'unsubscribe', params: { sids: [1, 2] } });
    const uns = await c.collect(2, (f) => f.type === 'unsubscribed');
    expect(uns.map((f) => f.sid)).toEqual([1, 2]);
    c.send({ id: 5, cmd: 'list_subscriptions' });
    expect((await c.next((f) => f.id === 5)).msg).toEqual([]);
    // a single-channel subscribe still works as before, with a fresh sid
    c.send({ id: 6, cmd: 'subscribe', params: { channels: ['multivariate_market_lifecycle'] } });
    expect((await c.next((f) => f.id === 6)).msg).toEqual({ channel: 'multivariate_market_lifecycle', sid: 3 });
    await c.close();
  });

  it('combo lifecycle frames go out on multivariate_market_lifecycle only; dispute/amend are REST-only for every market', async () => {
    const c = await subscribeBoth(sim);
    const now = Math.floor(Date.now() / 1000);
    const r = sim.createComboMarket({ openTs: now - 5, closeTs: now + 3600 });
    const t = r.ticker as string;
    expect(t).toMatch(/^KXMVESPORTSMULTIGAMEEXTENDED-S\d{4}[0-9A-F]{11}-[0-9A-F]{11}$/);
    expect(r.frames.map((f) => f.type)).toEqual(['event_lifecycle', 'multivariate_market_lifecycle']);
    const market = sim.getMarket(t);
    expect(market).toMatchObject({ status: 'active', is_provisional: true, mve_collection_ticker: 'KXMVESPORTSMULTIGAMEEXTENDED-R', strike_type: 'custom' });
    sim.deactivate(t);
    sim.activate(t);
    sim.updateCloseTime(t, now - 1);
    sim.determine(t, 'no');
    expect(sim.dispute(t).frames).toEqual([]);
    expect((await getJson(`${sim.restUrl}/markets/${t}`)).body).toMatchObject({ market: { status: 'disputed', result: 'no' } });
    expect(sim.amend(t, 'yes').frames).toEqual([]);
    expect((await getJson(`${sim.restUrl}/markets/${t}`)).body).toMatchObject({
      market: { status: 'amended', result: 'yes', settlement_value_dollars: '1.0000' },
    });
    sim.settle(t);
    await until(() => c.frames.filter((f) => f.sid === 2 && isData(f)).length >= 7, 3000);
    await sleep(30);
    const mve = c.frames.filter((f) => f.sid === 2 && isData(f));
    expect(mve.map((f) => [f.type, f.msg?.event_type ?? null])).toEqual([
      ['event_lifecycle', null],
      ['multivariate_market_lifecycle', 'created'],
      ['multivariate_market_lifecycle', 'deactivated'],
      ['multivariate_market_lifecycle', 'activated'],
      ['multivariate_market_lifecycle', 'close_date_updated'],
      ['multivariate_market_lifecycle', 'determined'],
      ['multivariate_market_lifecycle', 'settled'],
    ]);
    // nothing about the combo on market_lifecycle_v2, and (list above) no frame for dispute/amend
    expect(c.frames.filter((f) => f.sid === 1 && isData(f))).toEqual([]);
    expect((await getJson(`${sim.restUrl}/markets/${t}`)).body).toMatchObject({ market: { status: 'finalized' } });

    // an ordinary market: dispute/amend change REST only, too
    const closed = sim.tickers().find((x) => sim.getMarket(x)?.status === 'determined' && !sim.comboTickers().includes(x)) as string;
    const n = c.frames.length;
    sim.dispute(closed);
    sim.amend(closed, 'no');
    await sleep(50);
    expect(c.frames.length).toBe(n);
    expect(sim.getMarket(closed)).toMatchObject({ status: 'amended', result: 'no' });
    await c.close();
  });

  it('combos accept only the lifecycle events of §7.5; their events take no fee updates', () => {
    const t = sim.comboTickers().find((x) => sim.getMarket(x)?.status === 'active') as string;
    expect(() => sim.updateMetadata(t)).toThrow(SimOperationError);
    expect(() => sim.updatePriceLevelStructure(t, 'linear_cent')).toThrow(/not available for combo/);
    expect(() => sim.feeUpdate(sim.getMarket(t)?.event_ticker as string)).toThrow(/combo event/);
    expect(() => sim.createComboMarket({ legs: [{ marketTicker: t }] })).toThrow(/is a combo market/);
    expect(() => sim.createMarket({ eventTicker: sim.getMarket(t)?.event_ticker as string })).toThrow(/createComboMarket/);
    // explicit legs
    const legs = sim
      .tickers()
      .filter((x) => !sim.comboTickers().includes(x))
      .slice(0, 3);
    const c = sim.createComboMarket({
      legs: legs.map((l, k) => ({ marketTicker: l, side: k === 1 ? 'no' : 'yes' })),
      collectionTicker: 'KXMVECROSSCATEGORY-R',
    });
    const m = sim.getMarket(c.ticker as string);
    expect(m?.mve_collection_ticker).toBe('KXMVECROSSCATEGORY-R');
    expect((m as { mve_selected_legs: Array<{ market_ticker: string; side: string }> }).mve_selected_legs.map((l) => [l.market_ticker, l.side])).toEqual([
      [legs[0], 'yes'],
      [legs[1], 'no'],
      [legs[2], 'yes'],
    ]);
    expect(() => sim.createComboMarket({ collectionTicker: 'NOPE-R' })).toThrow(/unknown combo collection/);
    expect(() => sim.updatePriceLevelStructure(legs[0] as string, 'bogus_cent')).toThrow(/unknown price level structure/);
  });

  it('GET /markets mve_filter and event_ticker on combo events', async () => {
    const t = sim.comboTickers()[5] as string;
    const ev = sim.getMarket(t)?.event_ticker as string;
    const only = (await getJson(`${sim.restUrl}/markets?event_ticker=${ev}&mve_filter=only`)).body as { markets: Array<{ ticker: string }> };
    expect(only.markets.map((m) => m.ticker)).toContain(t);
    const excl = (await getJson(`${sim.restUrl}/markets?event_ticker=${ev}&mve_filter=exclude`)).body as { markets: unknown[] };
    expect(excl.markets).toEqual([]);
  });

  it('GET /events/multivariate: combo events only, limit default 100 / max 200, cursor, collection_ticker, series_ticker, nested markets', async () => {
    const comboEvents = new Set(sim.comboTickers().map((t) => sim.getMarket(t)?.event_ticker as string));
    expect(comboEvents.size).toBeGreaterThan(200);
    const first = (await getJson(`${sim.restUrl}/events/multivariate`)).body as { events: Array<{ event_ticker: string }>; cursor: string };
    expect(first.events).toHaveLength(100);
    expect(first.cursor).not.toBe('');
    expect((await getJson(`${sim.restUrl}/events/multivariate?limit=201`)).status).toBe(400);
    const seen: string[] = [];
    let cursor = '';
    do {
      const r = (await getJson(`${sim.restUrl}/events/multivariate?limit=200&with_nested_markets=true${cursor ? `&cursor=${cursor}` : ''}`)).body as {
        events: Array<{ event_ticker: string; markets: Array<{ ticker: string; event_ticker: string; mve_collection_ticker?: string }> }>;
        cursor: string;
      };
      for (const e of r.events) {
        seen.push(e.event_ticker);
        expect(e.markets.length).toBeGreaterThan(0);
        for (const m of e.markets) {
          expect(m.event_ticker).toBe(e.event_ticker);
          expect(m.mve_collection_ticker).toMatch(/^KXMVE/);
        }
      }
      cursor = r.cursor;
    } while (cursor);
    expect(new Set(seen)).toEqual(comboEvents);
    expect(seen).toHaveLength(comboEvents.size);
    const byColl = (await getJson(`${sim.restUrl}/events/multivariate?collection_ticker=KXMVECROSSCATEGORY-R&limit=200`)).body as {
      events: Array<{ series_ticker: string }>;
    };
    expect(byColl.events.length).toBeGreaterThan(0);
    for (const e of byColl.events) expect(e.series_ticker).toBe('KXMVECROSSCATEGORY');
    const bySeries = (await getJson(`${sim.restUrl}/events/multivariate?series_ticker=KXMVESPORTSMULTIGAMEEXTENDED&limit=200`)).body as {
      events: Array<{ series_ticker: string }>;
    };
    expect(bySeries.events.length).toBeGreaterThan(0);
    for (const e of bySeries.events) expect(e.series_ticker).toBe('KXMVESPORTSMULTIGAMEEXTENDED');
    const both = await getJson(`${sim.restUrl}/events/multivariate?series_ticker=KXMVECROSSCATEGORY&collection_ticker=KXMVECROSSCATEGORY-R`);
    expect(both.status).toBe(400);
    expect((both.body as { error: { code: string } }).error.code).toBe('invalid_parameters');
    // GET /events never returns them
    const ev = (await getJson(`${sim.restUrl}/events?series_ticker=KXMVESPORTSMULTIGAMEEXTENDED`)).body as { events: unknown[] };
    expect(ev.events).toEqual([]);
  });

  it('GET /series (no cursor) with filters, GET /series/{ticker}', async () => {
    const all = (await getJson(`${sim.restUrl}/series`)).body as { series: Array<{ ticker: string; category: string; tags: string[] }> };
    expect(Object.keys(all)).toEqual(['series']);
    const tickers = all.series.map((s) => s.ticker);
    expect(tickers).toEqual(expect.arrayContaining(['KXHIGHNY', 'KXBTCD', 'KXEPLGAME', 'KXMVESPORTSMULTIGAMEEXTENDED']));
    for (const t of sim.tickers().slice(0, 50)) expect(tickers).toContain(sim.getMarket(t)?.event_ticker.split('-')[0]);
    const crypto = (await getJson(`${sim.restUrl}/series?category=Crypto`)).body as { series: Array<{ category: string }> };
    expect(crypto.series.length).toBeGreaterThan(0);
    for (const s of crypto.series) expect(s.category).toBe('Crypto');
    const soccer = (await getJson(`${sim.restUrl}/series?tags=Soccer,Nothing`)).body as { series: Array<{ tags: string[] }> };
    expect(soccer.series.length).toBeGreaterThan(0);
    for (const s of soccer.series) expect(s.tags).toContain('Soccer');
    expect(((await getJson(`${sim.restUrl}/series?min_updated_ts=${Math.floor(Date.now() / 1000) + 86_400}`)).body as { series: unknown[] }).series).toEqual(
      [],
    );
    const one = (await getJson(`${sim.restUrl}/series/KXBTCD?include_volume=true`)).body as { series: { ticker: string; volume_fp: string } };
    expect(one.series.ticker).toBe('KXBTCD');
    expect(one.series.volume_fp).toMatch(/^\d+\.\d\d$/);
    expect(((await getJson(`${sim.restUrl}/series/KXBTCD`)).body as { series: object }).series).not.toHaveProperty('volume_fp');
    expect((await getJson(`${sim.restUrl}/series/NOPE`)).status).toBe(404);
  });

  it('the random lifecycle drives combo markets too (on their channel)', async () => {
    const c = await subscribeBoth(sim);
    for (let k = 0; k < 1500; k++) sim.randomOp();
    await sleep(100);
    const kinds = new Set(c.frames.filter((f) => f.type === 'multivariate_market_lifecycle').map((f) => String(f.msg?.event_type)));
    for (const k of ['created', 'deactivated', 'activated', 'close_date_updated', 'determined', 'settled']) expect(kinds, k).toContain(k);
    await c.close();
  });

  it('comboShare: 0 turns combos off (also in the random lifecycle); bad values are rejected', async () => {
    const s0 = await startSimExchange({ markets: 400, seed: 4, comboShare: 0 });
    try {
      expect(s0.comboTickers()).toEqual([]);
      for (let k = 0; k < 400; k++) s0.randomOp();
      expect(s0.comboTickers()).toEqual([]);
      expect((await getJson(`${s0.restUrl}/events/multivariate`)).body).toEqual({ cursor: '', events: [] });
      expect(((await getJson(`${s0.restUrl}/markets?mve_filter=only`)).body as { markets: unknown[] }).markets).toEqual([]);
    } finally {
      await s0.close();
    }
    const s1 = await startSimExchange({ markets: 1000, seed: 4, comboShare: 0.25 });
    try {
      expect(s1.comboTickers()).toHaveLength(250);
    } finally {
      await s1.close();
    }
    await expect(startSimExchange({ markets: 10, comboShare: 1 })).rejects.toThrow(/comboShare/);
    await expect(startSimExchange({ markets: 10, comboShare: -0.1 })).rejects.toThrow(/comboShare/);
  });
});
