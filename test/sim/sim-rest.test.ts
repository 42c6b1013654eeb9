import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { EventsPageSchema, KalshiExchangeStatusSchema, KalshiMarketCoreSchema, KalshiMarketSchema, type KalshiMarket } from '../../src/kalshi/schemas.js';
import { MARKET_STATUS_FILTERS } from '../../src/domain/vocabulary.js';
import { signKalshiRequest } from '../../src/kalshi/auth.js';
import { startSimExchange, type SimExchange } from '../../src/sim/index.js';
import { getJson, postJson, connectWs } from './helpers.js';

interface Page {
  markets: unknown[];
  cursor: string;
}

async function walk(sim: SimExchange, query = '', limit = 1000): Promise<{ markets: KalshiMarket[]; pages: number }> {
  const out: KalshiMarket[] = [];
  let cursor = '';
  let pages = 0;
  do {
    const r = await getJson(`${sim.restUrl}/markets?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(r.status).toBe(200);
    const page = r.body as Page;
    for (const m of page.markets) out.push(KalshiMarketSchema.parse(m));
    cursor = page.cursor;
    pages++;
    expect(pages).toBeLessThan(10_000);
  } while (cursor);
  return { markets: out, pages };
}

const FILTER_STATUSES: Record<string, string[]> = {
  unopened: ['initialized'],
  open: ['active'],
  paused: ['inactive'],
  closed: ['closed', 'determined', 'disputed', 'amended'],
  settled: ['finalized'],
};

describe('sim exchange REST', () => {
  let sim: SimExchange;
  beforeAll(async () => {
    sim = await startSimExchange({ markets: 2500, seed: 42 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('serves the documented URLs on 127.0.0.1', () => {
    expect(sim.restUrl).toBe(`http://127.0.0.1:${sim.port}/trade-api/v2`);
    expect(sim.wsUrl).toBe(`ws://127.0.0.1:${sim.port}/trade-api/ws/v2`);
    expect(sim.marketCount).toBe(2500);
  });

  it('pagination walks every market exactly once, records pass KalshiMarketSchema, last cursor is ""', async () => {
    const { markets, pages } = await walk(sim);
    expect(pages).toBe(3);
    const tickers = markets.map((m) => m.ticker);
    expect(new Set(tickers).size).toBe(2500);
    expect(new Set(tickers)).toEqual(new Set(sim.tickers()));
    // realistic shapes
    const m = markets[0] as KalshiMarket;
    expect(m.ticker.startsWith(`${m.event_ticker}-`)).toBe(true);
    expect(m.event_ticker).toMatch(/^KX[A-Z0-9]+-\d{2}[A-Z]{3}\d{2}$/);
    expect(m.yes_bid_dollars).toMatch(/^\d\.\d{4}$/);
    expect(m.volume_fp).toMatch(/^\d+\.\d{2}$/);
    expect(m).not.toHaveProperty('yes_bid');
    for (const x of markets)
      expect(x.result === '' || x.status === 'determined' || x.status === 'finalized' || x.status === 'disputed' || x.status === 'amended').toBe(true);
    // default limit is 100
    const first = await getJson(`${sim.restUrl}/markets`);
    expect((first.body as Page).markets).toHaveLength(100);
    expect((first.body as Page).cursor).not.toBe('');
  });

  it('markets created between pages show up exactly once', async () => {
    const sim2 = await startSimExchange({ markets: 150, seed: 3 });
    try {
      const seen: string[] = [];
      let cursor = '';
      let created = 0;
      do {
        const r = await getJson(`${sim2.restUrl}/markets?limit=50${cursor ? `&cursor=${cursor}` : ''}`);
        const page = r.body as { markets: KalshiMarket[]; cursor: string };
        seen.push(...page.markets.map((m) => m.ticker));
        cursor = page.cursor;
        if (created < 3) {
          sim2.createMarket();
          created++;
        }
      } while (cursor);
      expect(seen).toHaveLength(153);
      expect(new Set(seen).size).toBe(153);
    } finally {
      await sim2.close();
    }
  });

  it('status filter maps filter words to statuses (§2.2) and partitions the markets', async () => {
    const counts = sim.statusCounts();
    let total = 0;
    for (const f of MARKET_STATUS_FILTERS) {
      const { markets } = await walk(sim, `&status=${f}`);
      const allowed = FILTER_STATUSES[f] ?? [];
      for (const m of markets) expect(allowed).toContain(m.status);
      expect(markets.length).toBe(allowed.reduce((a, s) => a + counts[s as keyof typeof counts], 0));
      total += markets.length;
    }
    expect(total).toBe(2500);
    // default mix has every status
    for (const v of Object.values(counts)) expect(v).toBeGreaterThan(0);
  });

  it('tickers, event_ticker, series_ticker and min_updated_ts filters', async () => {
    const all = sim.tickers();
    const pick = [all[5], all[700], all[2400]] as string[];
    const r = await getJson(`${sim.restUrl}/markets?tickers=${pick.join(',')}`);
    expect(((r.body as Page).markets as KalshiMarket[]).map((m) => m.ticker).sort()).toEqual([...pick].sort());

    const m = sim.getMarket(all[700] as string) as KalshiMarket;
    const ev = await walk(sim, `&event_ticker=${m.event_ticker}`, 3);
    expect(ev.markets.length).toBeGreaterThan(0);
    for (const x of ev.markets) expect(x.event_ticker).toBe(m.event_ticker);
    expect(ev.markets.map((x) => x.ticker)).toContain(m.ticker);

    const series = m.event_ticker.split('-')[0] as string;
    const sr = await walk(sim, `&series_ticker=${series}`);
    for (const x of sr.markets) expect(x.event_ticker.startsWith(`${series}-`)).toBe(true);

    const since = Math.floor(Date.now() / 1000);
    sim.updateMetadata(all[10] as string, { yes_sub_title: 'New label ✓' });
    const upd = await walk(sim, `&min_updated_ts=${since}&mve_filter=exclude`);
    expect(upd.markets.map((x) => x.ticker)).toEqual([all[10]]);
    expect(upd.markets[0]?.yes_sub_title).toBe('New label ✓');

    const none = await getJson(`${sim.restUrl}/markets?event_ticker=NOPE-26JAN01`);
    expect(none.body).toEqual({ markets: [], cursor: '' });
    expect(none.text).toBe('{"cursor":"","markets":[]}');

    // mve_filter: only → the combo markets, exclude → everything else, absent → both.
    const combos = new Set(sim.comboTickers());
    expect(combos.size).toBe(250); // default comboShare 0.1
    const only = await walk(sim, '&mve_filter=only');
    expect(new Set(only.markets.map((x) => x.ticker))).toEqual(combos);
    for (const x of only.markets) expect(x.mve_collection_ticker).toMatch(/^KXMVE[A-Z]+-R$/);
    const exclude = await walk(sim, '&mve_filter=exclude');
    expect(exclude.markets).toHaveLength(2500 - combos.size);
    for (const x of exclude.markets) expect(combos.has(x.ticker)).toBe(false);
    // min_updated_ts also sees combos unless mve_filter=exclude
    const c = sim.tickers().find((x) => combos.has(x) && sim.getMarket(x)?.status === 'active') as string;
    const since2 = Math.floor(Date.now() / 1000);
    sim.deactivate(c);
    expect((await walk(sim, `&min_updated_ts=${since2}`)).markets.map((x) => x.ticker)).toContain(c);
    expect((await walk(sim, `&min_updated_ts=${since2}&mve_filter=exclude`)).markets.map((x) => x.ticker)).not.toContain(c);
  });

  it('rejects invalid filters and combinations with 400 {"error":...}', async () => {
    const bad = [
      'limit=1001',
      'limit=abc',
      'status=open,closed',
      'status=active',
      'status=open&status=closed',
      'event_ticker=A,B',
      'min_updated_ts=1&status=open',
      'min_updated_ts=1&series_ticker=KXHIGHNY',
      'min_created_ts=1&status=closed',
      'min_close_ts=1&status=open',
      'min_settled_ts=1&min_close_ts=1',
      'cursor=garbage',
      'mve_filter=maybe',
      'min_updated_ts=1&mve_filter=only',
    ];
    for (const q of bad) {
      const r = await getJson(`${sim.restUrl}/markets?${q}`);
      expect(r.status, q).toBe(400);
      // Kalshi's ErrorResponse, wrapped in "error" (keys alphabetical)
      const err = (r.body as { error: { code: string; message: string; details: string } }).error;
      expect(Object.keys(err), q).toEqual(['code', 'details', 'message']);
      expect(err.code, q).toBe('invalid_parameters');
      expect(typeof err.details, q).toBe('string');
    }
    const ok = await getJson(`${sim.restUrl}/markets?min_updated_ts=1&series_ticker=KXHIGHNY&mve_filter=exclude&limit=1`);
    expect(ok.status).toBe(200);
  });

  it('GET /markets/{ticker}, unknown routes, and the 404 window after create', async () => {
    const t = sim.tickers()[3] as string;
    const r = await getJson(`${sim.restUrl}/markets/${t}`);
    expect(r.status).toBe(200);
    expect(KalshiMarketSchema.parse((r.body as { market: unknown }).market)).toEqual(sim.getMarket(t));
    expect((await getJson(`${sim.restUrl}/markets/NOPE-1`)).body).toEqual({
      error: { code: 'not_found', details: 'market NOPE-1 not found', message: 'not found' },
    });
    for (const url of [`${sim.restUrl}/nope`, `http://127.0.0.1:${sim.port}/other`, `${sim.restUrl}/events/NOPE`, `${sim.restUrl}/series/NOPE`]) {
      const r = await getJson(url);
      expect(r.status, url).toBe(404);
      expect((r.body as { error: { code: string } }).error.code, url).toBe('not_found');
    }

    const sim2 = await startSimExchange({ markets: 5, notFoundAfterCreateMs: 300 });
    try {
      const { ticker } = sim2.createMarket();
      expect((await getJson(`${sim2.restUrl}/markets/${ticker}`)).status).toBe(404);
      await new Promise((res) => setTimeout(res, 350));
      expect((await getJson(`${sim2.restUrl}/markets/${ticker}`)).status).toBe(200);
    } finally {
      await sim2.close();
    }
  });

  it('events: pages, nested markets, single event, status filter', async () => {
    let cursor = '';
    const seen = new Set<string>();
    let nestedCount = 0;
    do {
      const r = await getJson(`${sim.restUrl}/events?with_nested_markets=true${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      const page = EventsPageSchema.parse(r.body);
      for (const e of page.events) {
        seen.add(e.event_ticker);
        for (const m of e.markets ?? []) {
          KalshiMarketSchema.parse(m);
          nestedCount++;
        }
      }
      cursor = page.cursor ?? '';
    } while (cursor);
    // GET /events leaves the combo events out (they are at /events/multivariate)
    const comboEvents = new Set(sim.comboTickers().map((t) => sim.getMarket(t)?.event_ticker));
    expect(seen.size).toBe(sim.eventCount - comboEvents.size);
    for (const e of comboEvents) expect(seen.has(e as string)).toBe(false);
    expect(nestedCount).toBe(2500 - sim.comboTickers().length);
    const et = [...seen][0] as string;
    const single = await getJson(`${sim.restUrl}/events/${et}?with_nested_markets=true`);
    const body = single.body as { event: { event_ticker: string; markets: unknown[] }; markets: unknown[] };
    expect(body.event.event_ticker).toBe(et);
    expect(body.event.markets.length).toBe(body.markets.length);
    expect((await getJson(`${sim.restUrl}/events/NOPE`)).status).toBe(404);
    expect((await getJson(`${sim.restUrl}/events?limit=201`)).status).toBe(400);
    expect((await getJson(`${sim.restUrl}/events?status=paused`)).status).toBe(400);
    const settled = await getJson(`${sim.restUrl}/events?status=settled&with_nested_markets=true`);
    for (const e of (settled.body as { events: Array<{ markets: KalshiMarket[] }> }).events) {
      expect(e.markets.some((m) => m.status === 'finalized')).toBe(true);
    }
  });

  it('exchange status, maintenance, 429 and 5xx faults', async () => {
    const ok = await getJson(`${sim.restUrl}/exchange/status`);
    expect(KalshiExchangeStatusSchema.parse(ok.body)).toMatchObject({ exchange_active: true, trading_active: true });

    sim.rest429(2);
    for (let k = 0; k < 2; k++) {
      const r = await getJson(`${sim.restUrl}/markets?limit=1`);
      expect(r.status).toBe(429);
      expect(r.body).toEqual({ error: { code: 'too_many_requests', message: 'too many requests' } });
      expect(r.headers['retry-after']).toBeUndefined();
    }
    expect((await getJson(`${sim.restUrl}/markets?limit=1`)).status).toBe(200);

    sim.rest5xx(1, 502);
    const bad = await getJson(`${sim.restUrl}/markets?limit=1`);
    expect(bad.status).toBe(502);
    expect(bad.body).toEqual({ error: { code: 'internal_server_error', message: 'internal server error' } });
    expect((await getJson(`${sim.restUrl}/markets?limit=1`)).status).toBe(200);

    sim.maintenance(true);
    const m = await getJson(`${sim.restUrl}/exchange/status`);
    expect(m.status).toBe(503);
    const st = KalshiExchangeStatusSchema.parse(m.body);
    expect(st.exchange_active).toBe(false);
    expect(st.trading_active).toBe(false);
    expect(typeof st.exchange_estimated_resume_time).toBe('string');
    const down = await getJson(`${sim.restUrl}/markets`);
    expect(down.status).toBe(503);
    expect(down.body).toEqual({ error: { code: 'service_unavailable', details: 'exchange is under maintenance', message: 'service unavailable' } });
    await expect(connectWs(sim.wsUrl)).rejects.toThrow(/503/);
    sim.maintenance(false);
    expect((await getJson(`${sim.restUrl}/exchange/status`)).status).toBe(200);
    expect(sim.stats.rest429Served).toBe(2);
    expect(sim.stats.rest['GET /markets']).toBeGreaterThan(0);
  });

  it('malformed records are broken while the rest of the page is intact', async () => {
    const all = sim.tickers();
    const broken = [all[1], all[2], all[3]] as string[];
    sim.malformRecords(broken);
    try {
      const r = await getJson(`${sim.restUrl}/markets?limit=10`);
      const page = r.body as Page;
      expect(page.markets).toHaveLength(10);
      let bad = 0;
      for (const m of page.markets) {
        const ok = KalshiMarketCoreSchema.safeParse(m).success;
        if (!ok) bad++;
        else expect(broken).not.toContain((m as KalshiMarket).ticker);
      }
      expect(bad).toBe(3);
      sim.clearFaults();
      sim.malformRecords(0.1);
      const r2 = await getJson(`${sim.restUrl}/markets?limit=1000`);
      const failures = (r2.body as Page).markets.filter((m) => !KalshiMarketCoreSchema.safeParse(m).success).length;
      expect(failures).toBeGreaterThan(40);
      expect(failures).toBeLessThan(200);
    } finally {
      sim.clearFaults();
    }
  });

  it('admin API drives ops and faults, validates requests', async () => {
    const base = `http://127.0.0.1:${sim.port}/_sim`;
    const active = sim.tickers().find((t) => sim.getMarket(t)?.status === 'active') as string;
    const r = await postJson(`${base}/control`, { op: 'deactivate', args: [active] });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, result: { ticker: active, from: 'active', to: 'inactive' } });
    const m = await getJson(`${base}/markets/${active}`);
    expect((m.body as { market: KalshiMarket }).market.status).toBe('inactive');
    // illegal op → 409, unknown op / bad args / bad JSON → 400
    const illegal = await postJson(`${base}/control`, { op: 'deactivate', args: [active] });
    expect(illegal.status).toBe(409);
    expect((illegal.body as { error: string }).error).toMatch(/illegal/);
    expect((await postJson(`${base}/control`, { op: 'explode' })).status).toBe(400);
    const badArgs = await postJson(`${base}/control`, { op: 'updateCloseTime', args: [active, 'soon'] });
    expect(badArgs.status).toBe(400);
    expect((badArgs.body as { error: string }).error).toMatch(/updateCloseTime/);
    expect((await postJson(`${base}/control`, '{nope')).status).toBe(400);
    expect((await postJson(`${base}/control`, { op: 'rest429', args: [1] })).status).toBe(200);
    expect((await getJson(`${sim.restUrl}/exchange/status`)).status).toBe(429);
    const created = await postJson(`${base}/control`, { op: 'createMarket', args: [{ eventTicker: 'KXADMIN-26DEC01' }] });
    expect((created.body as { result: { eventTicker: string } }).result.eventTicker).toBe('KXADMIN-26DEC01');
    const state = await getJson(`${base}/state`);
    expect(state.body).toMatchObject({ marketCount: sim.marketCount, statusCounts: sim.statusCounts() });
    expect((await getJson(`${base}/markets/NOPE`)).status).toBe(404);
    expect((await postJson(`${base}/control`, { op: 'activate', args: [active] })).status).toBe(200);
  });

  it('gzip responses when enabled and requested', async () => {
    const sim2 = await startSimExchange({ markets: 50, gzip: true });
    try {
      const r = await request(`${sim2.restUrl}/markets`, { headers: { 'accept-encoding': 'gzip' } });
      expect(r.headers['content-encoding']).toBe('gzip');
      const { gunzipSync } = await import('node:zlib');
      const body = JSON.parse(gunzipSync(Buffer.from(await r.body.arrayBuffer())).toString()) as Page;
      expect(body.markets).toHaveLength(50);
      const plain = await getJson(`${sim2.restUrl}/markets`);
      expect(plain.headers['content-encoding']).toBeUndefined();
    } finally {
      await sim2.close();
    }
  });

  it('requireAuth verifies KALSHI-ACCESS-* headers (REST and WS upgrade)', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const sim2 = await startSimExchange({ markets: 5, requireAuth: true, publicKey });
    try {
      expect((await getJson(`${sim2.restUrl}/markets`)).status).toBe(401);
      const creds = { keyId: 'k-1', privateKey };
      const ok = await getJson(`${sim2.restUrl}/markets?limit=2`, signKalshiRequest(creds, 'GET', '/trade-api/v2/markets'));
      expect(ok.status).toBe(200);
      const wrongPath = await getJson(`${sim2.restUrl}/markets`, signKalshiRequest(creds, 'GET', '/trade-api/v2/events'));
      expect(wrongPath.status).toBe(401);
      await expect(connectWs(sim2.wsUrl)).rejects.toThrow(/401/);
      const c = await connectWs(sim2.wsUrl, signKalshiRequest(creds, 'GET', '/trade-api/ws/v2'));
      await c.close();
    } finally {
      await sim2.close();
    }
  });

  it('rejects non-loopback hosts and bad options', async () => {
    await expect(startSimExchange({ host: '0.0.0.0' } as never)).rejects.toThrow(/loopback/);
    await expect(startSimExchange({ markets: -1 })).rejects.toThrow(/markets/);
  });
});
