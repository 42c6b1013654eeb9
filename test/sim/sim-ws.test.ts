import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KalshiMarketSchema, LifecycleSocketFrameSchema, type KalshiMarket } from '../../src/kalshi/schemas.js';
import { startSimExchange, SimOperationError, type SimExchange } from '../../src/sim/index.js';
import { connectWs, getJson, sleep, until, type Frame, type WsClient } from './helpers.js';

const isLifecycle = (f: Frame): boolean => f.type === 'market_lifecycle_v2' || f.type === 'event_lifecycle' || f.type === 'event_fee_update';

async function subscribed(sim: SimExchange): Promise<WsClient> {
  const c = await connectWs(sim.wsUrl);
  c.send({ id: 1, cmd: 'subscribe', params: { channels: ['market_lifecycle_v2'] } });
  const ack = await c.next((f) => f.type === 'subscribed');
  expect(ack).toEqual({ id: 1, type: 'subscribed', msg: { channel: 'market_lifecycle_v2', sid: 1 } });
  return c;
}

function findStatus(sim: SimExchange, status: string): string {
  const t = sim.tickers().find((x) => sim.getMarket(x)?.status === status);
  if (!t) throw new Error(`no ${status} market`);
  return t;
}

describe('sim exchange WebSocket + lifecycle', () => {
  let sim: SimExchange;
  beforeAll(async () => {
    sim = await startSimExchange({ markets: 400, seed: 7, pingIntervalMs: 100 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('command protocol: subscribe, errors 1/2/3/5/8, list, unsubscribe', async () => {
    const c = await subscribed(sim);
    c.send({ id: 2, cmd: 'subscribe', params: { channels: ['market_lifecycle_v2'] } });
    expect((await c.next()).msg).toEqual({ channel: 'market_lifecycle_v2', sid: 1 }); // resubscribe is a no-op
    c.send('{not json');
    expect(await c.next()).toMatchObject({ type: 'error', msg: { code: 1 } });
    c.send({ id: 3, cmd: 'frobnicate' });
    expect(await c.next()).toMatchObject({ id: 3, type: 'error', msg: { code: 5 } });
    c.send({ id: 4, cmd: 'subscribe', params: { channels: ['ticker_v2'] } });
    expect(await c.next()).toMatchObject({ id: 4, type: 'error', msg: { code: 8 } });
    c.send({ id: 5, cmd: 'subscribe' });
    expect(await c.next()).toMatchObject({ id: 5, type: 'error', msg: { code: 2 } });
    c.send({ id: 6, cmd: 'subscribe', params: { channels: [] } });
    expect(await c.next()).toMatchObject({ id: 6, type: 'error', msg: { code: 3 } });
    c.send({ id: 7, cmd: 'list_subscriptions' });
    expect(await c.next()).toEqual({ id: 7, type: 'ok', msg: [{ channel: 'market_lifecycle_v2', sid: 1 }] });
    c.send({ id: 8, cmd: 'unsubscribe', params: { sids: [1] } });
    expect(await c.next()).toMatchObject({ id: 8, sid: 1, type: 'unsubscribed' });
    c.send({ id: 9, cmd: 'unsubscribe', params: { sids: [1] } });
    expect(await c.next()).toMatchObject({ id: 9, type: 'error', msg: { code: 7 } });
    // after unsubscribing no lifecycle frames arrive; a new subscription gets sid 2
    sim.createMarket();
    c.send({ id: 10, cmd: 'subscribe', params: { channels: ['market_lifecycle_v2'] } });
    expect(await c.next()).toMatchObject({ id: 10, type: 'subscribed', msg: { sid: 2 } });
    expect(c.frames.filter(isLifecycle)).toHaveLength(0);
    // Kalshi answers unsubscribe with type "unsubscribed" (§6.3), which LifecycleSocketFrameSchema does not list.
    for (const f of c.frames) if (f.type !== 'unsubscribed') LifecycleSocketFrameSchema.parse(f);
    await c.close();
  });

  it('each lifecycle op sends the right frame and updates REST truth; seq is gap-free', async () => {
    const c = await subscribed(sim);
    const now = Math.floor(Date.now() / 1000);
    const frames: Frame[] = [];
    const expectFrames = async (n: number): Promise<Frame[]> => {
      const got: Frame[] = [];
      for (let k = 0; k < n; k++) got.push(await c.next(isLifecycle));
      frames.push(...got);
      return got;
    };
    const rest = async (t: string): Promise<KalshiMarket> =>
      KalshiMarketSchema.parse(((await getJson(`${sim.restUrl}/markets/${t}`)).body as { market: unknown }).market);

    // created in a new event → event_lifecycle then created
    const created = sim.createMarket({ eventTicker: 'KXWSTEST-26DEC24', openTs: now - 5, closeTs: now + 3600 });
    const [evf, cf] = await expectFrames(2);
    expect(evf).toMatchObject({ type: 'event_lifecycle', msg: { event_ticker: 'KXWSTEST-26DEC24', series_ticker: 'KXWSTEST' } });
    expect(cf).toMatchObject({
      type: 'market_lifecycle_v2',
      msg: { market_ticker: created.ticker, event_type: 'created', open_ts: now - 5, close_ts: now + 3600 },
    });
    expect((cf?.msg as { additional_metadata: { event_ticker: string } }).additional_metadata.event_ticker).toBe('KXWSTEST-26DEC24');
    const t = created.ticker as string;
    expect((await rest(t)).status).toBe('active'); // open_ts already passed
    // a second market in the same event: no event_lifecycle
    sim.createMarket({ eventTicker: 'KXWSTEST-26DEC24' });
    expect((await expectFrames(1))[0]).toMatchObject({ msg: { event_type: 'created' } });

    expect(sim.deactivate(t).to).toBe('inactive');
    expect((await expectFrames(1))[0]?.msg).toEqual({ market_ticker: t, event_type: 'deactivated', is_deactivated: true });
    expect((await rest(t)).status).toBe('inactive');

    sim.activate(t);
    expect((await expectFrames(1))[0]?.msg).toEqual({ market_ticker: t, event_type: 'activated', is_deactivated: false });
    expect((await rest(t)).status).toBe('active');

    sim.updateCloseTime(t, now + 7200);
    expect((await expectFrames(1))[0]?.msg).toEqual({ market_ticker: t, event_type: 'close_date_updated', close_ts: now + 7200 });
    expect(Date.parse((await rest(t)).close_time)).toBe((now + 7200) * 1000);

    // early close: close time in the past → closed implicitly (no extra frame)
    sim.updateCloseTime(t, now - 1);
    await expectFrames(1);
    expect((await rest(t)).status).toBe('closed');

    // reopen: close_date_updated then activated
    const re = sim.reopen(t, now + 9000);
    expect(re.frames.map((f) => f.msg.event_type)).toEqual(['close_date_updated', 'activated']);
    const [r1, r2] = await expectFrames(2);
    expect(r1?.msg).toMatchObject({ event_type: 'close_date_updated', close_ts: now + 9000 });
    expect(r2?.msg).toMatchObject({ event_type: 'activated' });
    expect((await rest(t)).status).toBe('active');

    sim.updateCloseTime(t, now - 1);
    await expectFrames(1);
    sim.determine(t, 'yes');
    const [det] = await expectFrames(1);
    expect(det?.msg).toMatchObject({ market_ticker: t, event_type: 'determined', result: 'yes', settlement_value: '1.0000' });
    expect(typeof (det?.msg as { determination_ts: unknown }).determination_ts).toBe('number');
    expect(await rest(t)).toMatchObject({ status: 'determined', result: 'yes', settlement_value_dollars: '1.0000' });

    // dispute / amend: REST changes, no frame
    const before = c.frames.length;
    expect(sim.dispute(t).frames).toEqual([]);
    expect((await rest(t)).status).toBe('disputed');
    expect(sim.amend(t, 'no').frames).toEqual([]);
    expect(await rest(t)).toMatchObject({ status: 'amended', result: 'no' });
    await sleep(50);
    expect(c.frames.length).toBe(before);

    sim.settle(t);
    const [set] = await expectFrames(1);
    expect(set?.msg).toMatchObject({ market_ticker: t, event_type: 'settled' });
    const fin = await rest(t);
    expect(fin.status).toBe('finalized');
    expect(fin.settlement_ts).toBeTruthy();

    const other = findStatus(sim, 'active');
    sim.updatePriceLevelStructure(other, 'deci_cent');
    expect((await expectFrames(1))[0]?.msg).toEqual({
      market_ticker: other,
      event_type: 'price_level_structure_updated',
      price_level_structure: 'deci_cent',
      price_ranges: [{ start: '0.0000', end: '1.0000', step: '0.0010' }],
    });
    expect((await rest(other)).price_level_structure).toBe('deci_cent');
    sim.updateMetadata(other, { floor_strike: 77, yes_sub_title: '77 or above' });
    expect((await expectFrames(1))[0]?.msg).toEqual({ market_ticker: other, event_type: 'metadata_updated', floor_strike: 77, yes_sub_title: '77 or above' });
    expect(await rest(other)).toMatchObject({ floor_strike: 77, yes_sub_title: '77 or above' });

    sim.feeUpdate('KXWSTEST-26DEC24', { fee_type_override: 'quadratic', fee_multiplier_override: 0.5 });
    expect((await expectFrames(1))[0]).toMatchObject({ type: 'event_fee_update', msg: { event_ticker: 'KXWSTEST-26DEC24', fee_multiplier_override: 0.5 } });

    // every frame is valid, sid 1, seq 1..n with no gaps
    for (const f of frames) {
      LifecycleSocketFrameSchema.parse(f);
      expect(f.sid).toBe(1);
      expect(typeof f.sending_ts_ms).toBe('number');
    }
    expect(frames.map((f) => f.seq)).toEqual(frames.map((_, k) => k + 1));
    await c.close();
  });

  it('illegal operations throw and leave the truth unchanged', () => {
    const fin = findStatus(sim, 'finalized');
    const active = findStatus(sim, 'active');
    const init = findStatus(sim, 'initialized');
    const before = sim.getMarket(active);
    expect(() => sim.activate(active)).toThrow(SimOperationError);
    expect(() => sim.determine(active, 'yes')).toThrow(/illegal/);
    expect(() => sim.settle(active)).toThrow(/illegal/);
    expect(() => sim.dispute(active)).toThrow(/illegal/);
    expect(() => sim.amend(active)).toThrow(/illegal/);
    expect(() => sim.reopen(active, Math.floor(Date.now() / 1000) + 100)).toThrow(/illegal/);
    expect(() => sim.deactivate(init)).toThrow(/illegal/);
    expect(() => sim.updateCloseTime(fin, Math.floor(Date.now() / 1000) + 100)).toThrow(/illegal/);
    expect(() => sim.updateMetadata(fin)).toThrow(/illegal/);
    expect(() => sim.deactivate('NOPE-1')).toThrow(/unknown market/);
    expect(() => sim.feeUpdate('NOPE')).toThrow(/unknown event/);
    expect(() => sim.createMarket({ ticker: active })).toThrow(/already exists/);
    const closed = findStatus(sim, 'closed');
    expect(() => sim.reopen(closed, Math.floor(Date.now() / 1000) - 10)).toThrow(/future/);
    expect(sim.getMarket(active)).toEqual(before);
  });

  it('implicit open/close by time: no frames, REST flips, updated_time not bumped', async () => {
    const c = await subscribed(sim);
    const now = Math.floor(Date.now() / 1000);
    const { ticker } = sim.createMarket({ openTs: now + 1, closeTs: now + 2 });
    const t = ticker as string;
    await c.next((f) => f.type === 'market_lifecycle_v2');
    const m0 = sim.getMarket(t) as KalshiMarket;
    expect(m0.status).toBe('initialized');
    await until(() => sim.getMarket(t)?.status === 'active', 3000);
    await until(async () => ((await getJson(`${sim.restUrl}/markets/${t}`)).body as { market: KalshiMarket }).market.status === 'closed', 3000);
    const m2 = sim.getMarket(t) as KalshiMarket;
    expect(m2.updated_time).toBe(m0.updated_time);
    const closedPage = await getJson(`${sim.restUrl}/markets?status=closed&tickers=${t}`);
    expect((closedPage.body as { markets: KalshiMarket[] }).markets[0]?.ticker).toBe(t);
    expect(c.frames.filter(isLifecycle)).toHaveLength(1);
    await c.close();
  });

  it('faults: skipSeq gap, duplicateNext, sendRaw, wsError, dropConnections; pings', async () => {
    const c = await subscribed(sim);
    const t = sim.createMarket().ticker as string;
    const first = await c.next((f) => f.type === 'market_lifecycle_v2');
    const s0 = first.seq as number;
    sim.skipSeq(2);
    sim.deactivate(findStatus(sim, 'active'));
    sim.deactivate(findStatus(sim, 'active'));
    sim.updateMetadata(t);
    const after = await c.next(isLifecycle);
    expect(after.seq).toBe(s0 + 3); // s0+1, s0+2 were skipped
    sim.duplicateNext(1);
    sim.updateMetadata(t, { yes_sub_title: 'dup' });
    const d1 = await c.next(isLifecycle);
    const d2 = await c.next(isLifecycle);
    expect(d1).toEqual(d2);
    sim.sendRaw('{"type":"mystery","sid":1}');
    expect(await c.next((f) => f.type === 'mystery')).toEqual({ type: 'mystery', sid: 1 });
    sim.sendRaw('not json at all');
    expect(await c.next((f) => f.type === '__unparseable__')).toMatchObject({ text: 'not json at all' });
    await until(() => c.pings.length > 0, 3000);
    expect(c.pings[0]).toBe('heartbeat');

    sim.wsError(10);
    const err = await c.next((f) => f.type === 'error');
    expect(err).toMatchObject({ type: 'error', sid: 1, msg: { code: 10 } });
    LifecycleSocketFrameSchema.parse(err);
    sim.updateMetadata(t);
    await sleep(50);
    expect(c.frames.slice(c.frames.indexOf(err) + 1).filter(isLifecycle)).toHaveLength(0);

    const closedP = new Promise<void>((resolve) => c.ws.once('close', () => resolve()));
    sim.dropConnections();
    await closedP;
    await until(() => sim.stats.wsConnectionsOpen === 0, 2000);
    expect(sim.stats.wsFramesSent).toBeGreaterThan(0);
  });

  it('a subscriber that stops reading gets error 25 and loses its subscription', async () => {
    const sim3 = await startSimExchange({ markets: 10, wsBufferLimitBytes: 64 * 1024 });
    try {
      const c = await subscribed(sim3);
      c.ws.pause();
      const t = sim3.tickers().find((x) => sim3.getMarket(x)?.status !== 'finalized') as string;
      const big = 'x'.repeat(400_000);
      for (let k = 0; k < 80 && sim3.stats.wsOverflows === 0; k++) sim3.updateMetadata(t, { yes_sub_title: `${big}${k}` });
      expect(sim3.stats.wsOverflows).toBe(1);
      c.ws.resume();
      const err = await c.next((f) => f.type === 'error', 10_000);
      expect(err).toMatchObject({ type: 'error', sid: 1, msg: { code: 25 } });
      expect(sim3.stats.wsSubscriptions).toBe(0);
      await c.close();
    } finally {
      await sim3.close();
    }
  });

  it('random lifecycle emits only valid, gap-free frames and keeps the truth legal', async () => {
    const sim2 = await startSimExchange({ markets: 300, seed: 11 });
    try {
      const c = await connectWs(sim2.wsUrl);
      c.send({ id: 1, cmd: 'subscribe', params: { channels: ['market_lifecycle_v2', 'multivariate_market_lifecycle'] } });
      await c.collect(2, (f) => f.type === 'subscribed');
      sim2.startRandomLifecycle({ eventsPerSecond: 400, seed: 5 });
      await until(() => sim2.stats.randomOps >= 150, 8000);
      sim2.stopRandomLifecycle();
      const n = sim2.stats.lifecycleFramesBroadcast;
      const all = await c.collect(n, (f) => isLifecycle(f) || f.type === 'multivariate_market_lifecycle', 5000);
      const combos = new Set(sim2.comboTickers());
      const frames = all.filter((f) => f.sid === 1);
      const mve = all.filter((f) => f.sid === 2);
      expect(frames.length + mve.length).toBe(n);
      // seq counts per sid, from 1, without gaps
      expect(frames.map((f) => f.seq)).toEqual(frames.map((_, k) => k + 1));
      expect(mve.map((f) => f.seq)).toEqual(mve.map((_, k) => k + 1));
      expect(mve.length).toBeGreaterThan(0);
      for (const f of mve) {
        expect(['multivariate_market_lifecycle', 'event_lifecycle']).toContain(f.type);
        if (f.type === 'multivariate_market_lifecycle') {
          expect(combos.has(String(f.msg?.market_ticker))).toBe(true);
          expect(['created', 'activated', 'deactivated', 'close_date_updated', 'determined', 'settled']).toContain(f.msg?.event_type);
        } else expect(String(f.msg?.event_ticker)).toMatch(/^KXMVE/);
      }
      const kinds = new Set<string>();
      for (const f of frames) {
        LifecycleSocketFrameSchema.parse(f);
        if (f.type === 'market_lifecycle_v2') expect(combos.has(String(f.msg?.market_ticker))).toBe(false);
        if (f.type === 'event_lifecycle') expect(String(f.msg?.event_ticker)).not.toMatch(/^KXMVE/);
        kinds.add(f.type === 'market_lifecycle_v2' ? String(f.msg?.event_type) : String(f.type));
      }
      expect(kinds.size).toBeGreaterThanOrEqual(6);
      for (const m of sim2.snapshot().values()) {
        KalshiMarketSchema.parse(m);
        if (m.status === 'finalized') expect(m.settlement_ts).toBeTruthy();
        if (['determined', 'disputed', 'amended', 'finalized'].includes(m.status)) expect(m.result).not.toBe('');
        if (m.status === 'initialized') expect(Date.parse(m.open_time)).toBeGreaterThan(Date.now() - 1000);
      }
      await c.close();
    } finally {
      await sim2.close();
    }
  });

  it('close() leaves no listening servers or timers behind', async () => {
    const count = (): Record<string, number> => {
      const r: Record<string, number> = {};
      for (const k of process.getActiveResourcesInfo()) r[k] = (r[k] ?? 0) + 1;
      return r;
    };
    const base = count();
    const s = await startSimExchange({ markets: 20, pingIntervalMs: 50 });
    s.startRandomLifecycle({ eventsPerSecond: 50 });
    const c = await connectWs(s.wsUrl);
    c.send({ id: 1, cmd: 'subscribe', params: { channels: ['market_lifecycle_v2'] } });
    await c.next();
    await s.close();
    await until(() => c.ws.readyState === c.ws.CLOSED, 2000);
    await sleep(20);
    const after = count();
    expect(after.TCPServerWrap ?? 0).toBeLessThanOrEqual(base.TCPServerWrap ?? 0);
    expect(after.Timeout ?? 0).toBeLessThanOrEqual(base.Timeout ?? 0);
  });

  it('standalone main.ts prints its URL line and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/sim/main.ts', '--markets', '200', '--port', '0', '--seed', '3', '--random-events-per-sec', '5'],
      {
        cwd: new URL('../../', import.meta.url).pathname,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const rl = createInterface({ input: child.stdout });
        rl.once('line', resolve);
        child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
        setTimeout(() => reject(new Error('no URL line within 15 s')), 15_000);
      });
      const info = JSON.parse(line) as { restUrl: string; wsUrl: string; port: number };
      expect(info.restUrl).toBe(`http://127.0.0.1:${info.port}/trade-api/v2`);
      expect(info.wsUrl).toBe(`ws://127.0.0.1:${info.port}/trade-api/ws/v2`);
      const r = await getJson(`${info.restUrl}/markets?limit=1000`);
      expect((r.body as { markets: unknown[] }).markets.length).toBeGreaterThanOrEqual(200);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
