/**
 * The simulated exchange: truth (MarketStore), lifecycle operations that broadcast
 * `market_lifecycle_v2` frames exactly as Kalshi does (shared/kalshi-api.md §7, §8) — and, for
 * combo (multivariate) markets, `multivariate_market_lifecycle` frames on that channel only
 * (§7.5) — fault switches, stats, and the random lifecycle generator. The HTTP/WS front end lives
 * in ./server.ts.
 */
import type { WebSocket } from 'ws';
import type { KalshiMarket, MarketStatus } from '../kalshi/schemas.js';
import { MARKET_STATUSES } from '../kalshi/schemas.js';
import type { Logger } from '../log.js';
import { createRng, type Rng } from './prng.js';
import {
  MarketStore,
  PRICE_LEVEL_STRUCTURES,
  RESULTS,
  STRIKE_TYPES,
  ST_ACTIVE,
  ST_AMENDED,
  ST_CLOSED,
  ST_DETERMINED,
  ST_DISPUTED,
  ST_FINALIZED,
  ST_INACTIVE,
  ST_INITIALIZED,
  COMBO_TEMPLATES,
  TEMPLATES,
  addComboEvent,
  asciiJson,
  comboTicker,
  isKnownPriceLevelStructure,
  pickLegs,
  priceRangesFor,
  priceStr,
  statusName,
  type SimResult,
} from './store.js';

/** Thrown when an operation is not legal in the market's current state (§8.2) or names nothing. */
export class SimOperationError extends Error {
  override readonly name = 'SimOperationError';
}

/** The WebSocket channels the sim serves. */
export const LIFECYCLE_CHANNELS = ['market_lifecycle_v2', 'multivariate_market_lifecycle'] as const;
export type LifecycleChannel = (typeof LIFECYCLE_CHANNELS)[number];

/**
 * One frame the sim broadcast (without the per-subscription sid/seq envelope). Combo markets'
 * frames have type `multivariate_market_lifecycle`; an `event_lifecycle` frame goes out on the
 * channel of its event (combo events: multivariate_market_lifecycle).
 */
export interface SimFrame {
  type: 'market_lifecycle_v2' | 'multivariate_market_lifecycle' | 'event_lifecycle' | 'event_fee_update';
  msg: Record<string, unknown>;
}

/** What a lifecycle operation did. */
export interface SimOpResult {
  ticker?: string;
  eventTicker?: string;
  /** Status before and after (market operations only). */
  from?: MarketStatus;
  to?: MarketStatus;
  /** Frames broadcast, in order (empty for dispute/amend: Kalshi sends none). */
  frames: SimFrame[];
}

export interface CreateMarketInput {
  ticker?: string;
  eventTicker?: string;
  seriesTicker?: string;
  /** Unix seconds; default now + 5..120 s (so it opens implicitly soon). */
  openTs?: number;
  /** Unix seconds; default openTs + 1 h..7 d. */
  closeTs?: number;
  strikeType?: (typeof STRIKE_TYPES)[number];
  floorStrike?: number;
  capStrike?: number | null;
  yesSubTitle?: string;
  priceLevelStructure?: string;
  canCloseEarly?: boolean;
}

/** A combo market: legs are existing non-combo market tickers (default: 2–6 random live markets). */
export interface CreateComboMarketInput {
  legs?: Array<{ marketTicker: string; side?: 'yes' | 'no' }>;
  /** An existing combo event, or a new one is created in the collection's series. */
  eventTicker?: string;
  /** Combo collection (default KXMVESPORTSMULTIGAMEEXTENDED-R). */
  collectionTicker?: string;
  openTs?: number;
  closeTs?: number;
}

export interface MetadataUpdate {
  yes_sub_title?: string;
  floor_strike?: number;
  cap_strike?: number | null;
  strike_type?: (typeof STRIKE_TYPES)[number];
}

export interface FeeOverride {
  fee_type_override: string | null;
  fee_multiplier_override: number | null;
}

export interface SimStats {
  /** REST requests per route, e.g. "GET /markets". */
  rest: Record<string, number>;
  rest429Served: number;
  rest5xxServed: number;
  restMaintenance503: number;
  restUnauthorized: number;
  wsConnectionsTotal: number;
  wsConnectionsOpen: number;
  wsSubscriptions: number;
  /** Lifecycle/event frames sent to subscribers (after skip/duplicate faults). */
  wsFramesSent: number;
  /** Lifecycle operations broadcast (once per operation frame, regardless of subscribers). */
  lifecycleFramesBroadcast: number;
  wsOverflows: number;
  randomOps: number;
  /** GET /markets pages served with 200 and the total time spent building them (ms). */
  marketsPagesServed: number;
  marketsPageBuildMs: number;
}

export interface SimFaultState {
  rest429: number;
  rest5xx: number;
  rest5xxStatus: number;
  maintenance: boolean;
  maintenanceResumeTime: string | null;
  malformTickers: Set<string>;
  malformRate: number;
  skipSeq: number;
  duplicateNext: number;
}

interface Subscription {
  channel: LifecycleChannel;
  sid: number;
  seq: number;
}
export interface SimConnection {
  ws: WebSocket;
  nextSid: number;
  /** Subscriptions by channel (at most one per channel; seq is counted per sid). */
  subs: Map<LifecycleChannel, Subscription>;
}

export interface RandomLifecycleOptions {
  eventsPerSecond?: number;
  seed?: number;
}

const NOW_S = (): number => Math.floor(Date.now() / 1000);

export class SimCore {
  readonly connections = new Set<SimConnection>();
  readonly faults: SimFaultState = {
    rest429: 0,
    rest5xx: 0,
    rest5xxStatus: 500,
    maintenance: false,
    maintenanceResumeTime: null,
    malformTickers: new Set(),
    malformRate: 0,
    skipSeq: 0,
    duplicateNext: 0,
  };
  readonly stats: SimStats = {
    rest: {},
    rest429Served: 0,
    rest5xxServed: 0,
    restMaintenance503: 0,
    restUnauthorized: 0,
    wsConnectionsTotal: 0,
    wsConnectionsOpen: 0,
    wsSubscriptions: 0,
    wsFramesSent: 0,
    lifecycleFramesBroadcast: 0,
    wsOverflows: 0,
    randomOps: 0,
    marketsPagesServed: 0,
    marketsPageBuildMs: 0,
  };
  /** ms creation time of runtime-created markets (for notFoundAfterCreateMs). */
  readonly runtimeCreatedAt = new Map<number, number>();
  private opRng: Rng;
  private randomTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly store: MarketStore,
    readonly seed: number,
    readonly log: Logger,
    private readonly wsBufferLimit: number,
    /** Share of combo markets; > 0 lets the random lifecycle create combos too. */
    readonly comboShare = 0,
  ) {
    this.opRng = createRng(seed ^ 0x5eed);
  }

  // -------------------------------------------------------------------------------------------
  // Truth

  index(ticker: string): number {
    const i = this.store.byTicker.get(ticker);
    if (i === undefined) throw new SimOperationError(`unknown market ticker ${JSON.stringify(ticker)}`);
    return i;
  }

  getMarket(ticker: string): KalshiMarket | undefined {
    const i = this.store.byTicker.get(ticker);
    if (i === undefined) return undefined;
    this.store.effStatus(i, Date.now());
    return JSON.parse(this.store.marketJson(i)) as KalshiMarket;
  }

  statusCounts(): Record<MarketStatus, number> {
    const counts = new Array<number>(MARKET_STATUSES.length).fill(0);
    const now = Date.now();
    for (let i = 0; i < this.store.count; i++) {
      const s = this.store.effStatus(i, now);
      counts[s] = (counts[s] ?? 0) + 1;
    }
    return Object.fromEntries(MARKET_STATUSES.map((s, k) => [s, counts[k] ?? 0])) as Record<MarketStatus, number>;
  }

  // -------------------------------------------------------------------------------------------
  // Broadcasting

  /** The channel a frame goes out on (combo markets and combo events: multivariate_market_lifecycle). */
  channelOf(f: SimFrame): LifecycleChannel {
    if (f.type === 'multivariate_market_lifecycle') return 'multivariate_market_lifecycle';
    if (f.type === 'event_lifecycle') {
      const e = this.store.byEvent.get(String(f.msg.event_ticker));
      if (e !== undefined && this.store.evMve[e] === true) return 'multivariate_market_lifecycle';
    }
    return 'market_lifecycle_v2';
  }

  private broadcast(frames: SimFrame[]): void {
    for (const f of frames) {
      this.stats.lifecycleFramesBroadcast++;
      const skip = this.faults.skipSeq > 0;
      if (skip) this.faults.skipSeq--;
      const dup = !skip && this.faults.duplicateNext > 0;
      if (dup) this.faults.duplicateNext--;
      const channel = this.channelOf(f);
      const msgJson = asciiJson(f.msg);
      const ts = Date.now();
      for (const c of this.connections) {
        const sub = c.subs.get(channel);
        if (!sub) continue;
        sub.seq++;
        if (skip) continue;
        if (c.ws.bufferedAmount > this.wsBufferLimit) {
          this.overflow(c, sub);
          continue;
        }
        // Envelope key order as in Kalshi's documented example: type, sending_ts_ms, sid, seq, msg.
        const text = `{"type":"${f.type}","sending_ts_ms":${ts},"sid":${sub.sid},"seq":${sub.seq},"msg":${msgJson}}`;
        this.send(c, text);
        if (dup) this.send(c, text);
      }
    }
  }

  send(c: SimConnection, text: string): void {
    if (c.ws.readyState !== 1) return;
    c.ws.send(text);
    this.stats.wsFramesSent++;
  }

  /** Error 25 and drop the subscription (Kalshi's behaviour for slow readers). */
  overflow(c: SimConnection, sub: Subscription): void {
    this.stats.wsOverflows++;
    this.dropSubscription(c, 25, 'Subscription buffer overflow', sub.channel);
  }

  /** Sends error `code` for the subscription on `channel` (default: every subscription) and drops it. */
  dropSubscription(c: SimConnection, code: number, message: string, channel?: LifecycleChannel): void {
    for (const sub of [...c.subs.values()].sort((a, b) => a.sid - b.sid)) {
      if (channel !== undefined && sub.channel !== channel) continue;
      c.subs.delete(sub.channel);
      this.stats.wsSubscriptions--;
      this.send(c, JSON.stringify({ type: 'error', sid: sub.sid, msg: { code, msg: message } }));
    }
  }

  private run(frames: SimFrame[]): SimFrame[] {
    this.broadcast(frames);
    return frames;
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle operations (§8.2). Each validates, mutates the truth, then broadcasts.

  private status(i: number): number {
    return this.store.effStatus(i, Date.now());
  }

  private illegal(ticker: string, op: string, s: number, expected: string): never {
    throw new SimOperationError(`${op} is illegal for ${ticker}: status is ${statusName(s)}, expected ${expected}`);
  }

  private result(i: number, from: number, frames: SimFrame[]): SimOpResult {
    const to = this.status(i);
    return {
      ticker: this.store.ticker[i] ?? '',
      eventTicker: this.store.evTicker[this.store.event[i] ?? 0] ?? '',
      from: statusName(from),
      to: statusName(to),
      frames,
    };
  }

  private touch(i: number): void {
    this.store.updated[i] = Math.max(Date.now(), (this.store.updated[i] ?? 0) + 1);
  }

  createMarket(input: CreateMarketInput = {}): SimOpResult {
    const st = this.store;
    const rng = this.opRng;
    const now = Date.now();
    const frames: SimFrame[] = [];
    if (input.ticker !== undefined) {
      if (!TICKER_RE.test(input.ticker)) throw new SimOperationError(`invalid market ticker ${JSON.stringify(input.ticker)}`);
      if (st.byTicker.has(input.ticker)) throw new SimOperationError(`market ${input.ticker} already exists`);
    }
    if (input.priceLevelStructure !== undefined && !isKnownPriceLevelStructure(input.priceLevelStructure)) {
      throw new SimOperationError(
        `unknown price level structure ${JSON.stringify(input.priceLevelStructure)}: expected one of ${PRICE_LEVEL_STRUCTURES.join(', ')}`,
      );
    }
    // Resolve (or create) the series and event.
    let e: number | undefined;
    if (input.eventTicker !== undefined) {
      e = st.byEvent.get(input.eventTicker);
      if (e !== undefined && st.evMve[e] === true) throw new SimOperationError(`${input.eventTicker} is a combo event: use createComboMarket`);
      if (e !== undefined && (st.evMarkets[e]?.length ?? 0) >= st.eventCapacity(e)) {
        throw new SimOperationError(`event ${input.eventTicker} has no outcome left for a new market`);
      }
    }
    if (e === undefined) {
      let s: number;
      const seriesTicker = input.seriesTicker ?? input.eventTicker?.split('-')[0];
      if (seriesTicker !== undefined) {
        if (!TICKER_RE.test(seriesTicker)) throw new SimOperationError(`invalid series ticker ${JSON.stringify(seriesTicker)}`);
        s =
          st.bySeries.get(seriesTicker) ??
          st.addSeries(seriesTicker, MarketStore.simpleTemplate(rng.int(0, 1000)), Date.UTC(2026, 0, 1) + rng.int(0, 300) * 86_400_000, now);
        if (st.seriesTemplate(s).kind === 'M') throw new SimOperationError(`${seriesTicker} is a combo series: use createComboMarket`);
      } else if (st.srTicker.length > 0 && rng.next() < 0.9) {
        s = rng.int(0, st.srTicker.length - 1);
        if (st.seriesTemplate(s).kind === 'M') s = st.evSeries[0] ?? 0;
        if (st.seriesTemplate(s).kind === 'M')
          s = st.addSeries(
            MarketStore.seriesTickerFor(st.srTicker.length).ticker,
            MarketStore.seriesTickerFor(st.srTicker.length).template,
            Date.UTC(2026, 0, 1),
            now,
          );
      } else {
        const { ticker, template } = MarketStore.seriesTickerFor(st.srTicker.length);
        s = st.addSeries(ticker, template, Date.UTC(2026, 0, 1) + rng.int(0, 300) * 86_400_000, now);
      }
      const evs = st.srEvents[s] ?? [];
      const last = evs[evs.length - 1];
      if (
        input.eventTicker === undefined &&
        last !== undefined &&
        (st.evMarkets[last]?.length ?? 0) < Math.min(10, st.eventCapacity(last)) &&
        rng.next() < 0.65
      ) {
        e = last;
      } else {
        let eventTicker = input.eventTicker;
        let dateMs = now + rng.int(1, 30) * 86_400_000;
        let teams: number[] | null = null;
        if (eventTicker === undefined) ({ ticker: eventTicker, dateMs, teams } = st.nextEventTicker(s));
        else if (!TICKER_RE.test(eventTicker)) throw new SimOperationError(`invalid event ticker ${JSON.stringify(eventTicker)}`);
        e = st.addEvent(eventTicker, s, dateMs, now, rng, teams);
        frames.push(eventLifecycleFrame(st, e, dateMs));
      }
    }
    const ev = e;
    const tp = st.templateOfEvent(ev);
    const sports = tp.kind === 'S';
    const openS = input.openTs ?? NOW_S() + rng.int(5, 120);
    const closeS = input.closeTs ?? openS + rng.int(3600, 7 * 86_400);
    if (!(closeS > openS)) throw new SimOperationError(`closeTs (${closeS}) must be after openTs (${openS})`);
    const strikeType = input.strikeType ?? (sports ? 'structured' : tp.kind === 'B' ? 'between' : 'greater');
    const stCode = STRIKE_TYPES.indexOf(strikeType);
    const existing = st.evMarkets[ev]?.length ?? 0;
    let floor = input.floorStrike ?? (sports ? NaN : Math.round((tp.lo + existing * tp.step) * 100) / 100);
    let ticker = input.ticker;
    if (ticker === undefined && sports) ticker = `${st.evTicker[ev]}-${st.outcomeCode(ev, existing) ?? `O${existing + 1}`}`;
    if (ticker === undefined) {
      const kind = strikeType === 'between' ? 'B' : 'T';
      const step = tp.step > 0 ? tp.step : 1;
      if (Number.isNaN(floor)) floor = existing + 1;
      ticker = `${st.evTicker[ev]}-${kind}${floor}`;
      while (st.byTicker.has(ticker)) {
        floor = Math.round((floor + step) * 100) / 100;
        ticker = `${st.evTicker[ev]}-${kind}${floor}`;
      }
    }
    if (st.byTicker.has(ticker)) throw new SimOperationError(`market ${ticker} already exists`);
    const cap = input.capStrike === undefined ? (stCode === 1 ? Math.round((floor + tp.step) * 100) / 100 : NaN) : (input.capStrike ?? NaN);
    const pls = input.priceLevelStructure ?? 'linear_cent';
    const i = st.addMarket(
      {
        event: ev,
        ticker,
        status: ST_INITIALIZED,
        openMs: openS * 1000,
        closeMs: closeS * 1000,
        createdMs: now,
        strikeType: stCode,
        floor,
        cap,
        pls,
        marketType: 0,
        canCloseEarly: input.canCloseEarly ?? (sports || rng.next() < 0.3),
      },
      rng,
    );
    if (input.yesSubTitle !== undefined) st.subTitleOverride.set(i, input.yesSubTitle);
    this.runtimeCreatedAt.set(i, now);
    frames.push(this.createdFrame(i, openS, closeS));
    this.run(frames);
    return { ticker, eventTicker: st.evTicker[ev] ?? '', from: 'initialized', to: statusName(this.status(i)), frames };
  }

  /**
   * A new combo (multivariate) market whose legs are existing non-combo markets; its frames go out
   * on the multivariate_market_lifecycle channel only (§7.5).
   */
  createComboMarket(input: CreateComboMarketInput = {}): SimOpResult {
    const st = this.store;
    const rng = this.opRng;
    const now = Date.now();
    const frames: SimFrame[] = [];
    let legs: number[];
    let sides: number[];
    if (input.legs !== undefined) {
      if (input.legs.length === 0) throw new SimOperationError('a combo needs at least one leg');
      legs = input.legs.map((l) => {
        const i = this.index(l.marketTicker);
        if (st.isCombo(i)) throw new SimOperationError(`leg ${l.marketTicker} is a combo market`);
        return i;
      });
      sides = input.legs.map((l) => (l.side === 'no' ? 0 : 1));
    } else {
      const pool: number[] = [];
      const t = Date.now();
      for (let k = 0; k < 400 && pool.length < 60; k++) {
        const i = rng.int(0, st.count - 1);
        if (!st.isCombo(i) && st.effStatus(i, t) <= ST_ACTIVE) pool.push(i);
      }
      if (pool.length === 0) throw new SimOperationError('no live non-combo market to use as a leg');
      ({ legs, sides } = pickLegs(st, rng, pool, st.count));
    }
    let e: number | undefined;
    if (input.eventTicker !== undefined) {
      e = st.byEvent.get(input.eventTicker);
      if (e === undefined) throw new SimOperationError(`unknown combo event ${JSON.stringify(input.eventTicker)}`);
      if (st.evMve[e] !== true) throw new SimOperationError(`${input.eventTicker} is not a combo event`);
    } else {
      const collection = input.collectionTicker ?? 'KXMVESPORTSMULTIGAMEEXTENDED-R';
      const k = COMBO_TEMPLATES.findIndex((tk) => TEMPLATES[tk]?.collection === collection);
      if (k < 0) throw new SimOperationError(`unknown combo collection ${JSON.stringify(collection)}`);
      const s = st.comboSeries(k, now);
      e = addComboEvent(st, s, now, rng);
      frames.push(eventLifecycleFrame(st, e, NaN));
    }
    const openS = input.openTs ?? NOW_S();
    const closeS = input.closeTs ?? openS + rng.int(3 * 86_400, 14 * 86_400);
    if (!(closeS > openS)) throw new SimOperationError(`closeTs (${closeS}) must be after openTs (${openS})`);
    const i = st.addMarket(
      {
        event: e,
        ticker: comboTicker(st, e),
        status: ST_INITIALIZED,
        openMs: openS * 1000,
        closeMs: closeS * 1000,
        createdMs: now,
        strikeType: STRIKE_TYPES.indexOf('custom'),
        floor: NaN,
        cap: NaN,
        pls: 'deci_cent',
        marketType: 0,
        canCloseEarly: true,
      },
      rng,
    );
    st.setComboLegs(i, legs, sides);
    this.runtimeCreatedAt.set(i, now);
    frames.push(this.createdFrame(i, openS, closeS));
    this.run(frames);
    return { ticker: st.ticker[i] ?? '', eventTicker: st.evTicker[e] ?? '', from: 'initialized', to: statusName(this.status(i)), frames };
  }

  /** The `created` frame of market i (key order as in Kalshi's recorded and documented frames). */
  private createdFrame(i: number, openS: number, closeS: number): SimFrame {
    const st = this.store;
    const ev = st.event[i] ?? 0;
    const rules = st.eventRules(ev, st.slot[i] ?? 0);
    const stype = STRIKE_TYPES[st.strikeType[i] ?? 0] ?? 'greater';
    const meta: Record<string, unknown> = {
      name: st.isCombo(i) ? st.marketTitle(i) : `${st.evTitle[ev]} ${st.yesSubTitle(i)}`,
      title: st.marketTitle(i),
      yes_sub_title: st.yesSubTitle(i),
      no_sub_title: st.yesSubTitle(i),
      rules_primary: rules.rules_primary,
      rules_secondary: rules.rules_secondary,
      can_close_early: st.canCloseEarly[i] === 1,
      event_ticker: st.evTicker[ev] ?? '',
      expected_expiration_ts: closeS + 3600,
      strike_type: stype,
    };
    const floor = st.floor[i] ?? NaN;
    const cap = st.cap_[i] ?? NaN;
    if (Number.isFinite(floor)) meta.floor_strike = floor;
    if (Number.isFinite(cap)) meta.cap_strike = cap;
    const custom = st.customStrike(i);
    if (custom !== undefined) meta.custom_strike = custom;
    const pls = st.plsNames[st.pls[i] ?? 0] ?? 'linear_cent';
    return {
      type: st.isCombo(i) ? 'multivariate_market_lifecycle' : 'market_lifecycle_v2',
      msg: {
        market_ticker: st.ticker[i] ?? '',
        exchange_index: 0,
        open_ts: openS,
        close_ts: closeS,
        additional_metadata: meta,
        event_type: 'created',
        price_level_structure: pls,
        price_ranges: priceRangesFor(pls),
      },
    };
  }

  deactivate(ticker: string): SimOpResult {
    const i = this.index(ticker);
    const s = this.status(i);
    if (s !== ST_ACTIVE) this.illegal(ticker, 'deactivate', s, 'active');
    this.store.status[i] = ST_INACTIVE;
    this.touch(i);
    return this.result(i, s, this.run([this.lc(i, 'deactivated', { is_deactivated: true })]));
  }

  activate(ticker: string): SimOpResult {
    const i = this.index(ticker);
    const s = this.status(i);
    const reopenable = s === ST_CLOSED && (this.store.close[i] ?? 0) > Date.now();
    if (s !== ST_INACTIVE && !reopenable) {
      this.illegal(ticker, 'activate', s, 'inactive, or closed with close_time moved into the future (see reopen)');
    }
    this.store.status[i] = ST_ACTIVE;
    this.touch(i);
    return this.result(i, s, this.run([this.lc(i, 'activated', { is_deactivated: false })]));
  }

  updateCloseTime(ticker: string, closeTs: number): SimOpResult {
    const i = this.index(ticker);
    const s = this.status(i);
    if (s > ST_CLOSED) this.illegal(ticker, 'updateCloseTime', s, 'initialized, active, inactive or closed');
    if (!Number.isInteger(closeTs) || closeTs < 0) throw new SimOperationError(`closeTs must be Unix seconds, got ${closeTs}`);
    const openS = Math.floor((this.store.open[i] ?? 0) / 1000);
    if (closeTs <= openS) throw new SimOperationError(`closeTs ${closeTs} must be after open_ts ${openS}`);
    this.store.close[i] = closeTs * 1000;
    this.touch(i);
    return this.result(i, s, this.run([this.lc(i, 'close_date_updated', { close_ts: closeTs })]));
  }

  /** closed → active: close_date_updated (into the future) then activated (§8.2 #7). */
  reopen(ticker: string, newCloseTs: number): SimOpResult {
    const i = this.index(ticker);
    const s = this.status(i);
    if (s !== ST_CLOSED) this.illegal(ticker, 'reopen', s, 'closed');
    if (newCloseTs * 1000 <= Date.now()) throw new SimOperationError(`reopen needs a close time in the future, got ${newCloseTs}`);
    const a = this.updateCloseTime(ticker, newCloseTs);
    const b = this.activate(ticker);
    return { ...b, from: statusName(s), frames: [...a.frames, ...b.frames] };
  }

  determine(ticker: string, result: SimResult = 'yes', settlementValue?: string): SimOpResult {
    const i = this.index(ticker);
    const s = this.status(i);
    if (s !== ST_CLOSED) this.illegal(ticker, 'determine', s, 'closed');
    if (result === '' || !RESULTS.includes(result)) throw new SimOperationError(`invalid result ${JSON.stringify(result)}`);
    const scalarE4 = settlementValue === undefined ? undefined : parsePriceE4(settlementValue);
    const now = Date.now();
    this.store.setResult(i, result, now, scalarE4);
    this.store.status[i] = ST_DETERMINED;
    this.touch(i);
    return this.result(
      i,
      s,
      this.run([
        this.lc(i, 'determined', {
          determination_ts: Math.floor(now / 1000),
          result,
          settlement_value: priceStr(this.store.settlementValue[i] ?? 0),
        }),
      ]),
    );
  }

  /** determined → disputed. Kalshi sends no WS frame (§8.2 #9). */
  dispute(ticker: string): SimOpResult {
    const i = this.index(ticker);
    const s = this.status(i);
    if (s !== ST_DETERMINED) this.illegal(ticker, 'dispute', s, 'determined');
    this.store.status[i] = ST_DISPUTED;
    this.touch(i);
    return this.result(i, s, []);
  }

  /** disputed → amended, optionally with a new result. No WS frame (§8.2 #10). */
  amend(ticker: string, result?: SimResult): SimOpResult {
    const i = this.index(ticker);
    const s = this.status(i);
    if (s !== ST_DISPUTED) this.illegal(ticker, 'amend', s, 'disputed');
    if (result !== undefined) {
      if (result === '' || !RESULTS.includes(result)) throw new SimOperationError(`invalid result ${JSON.stringify(result)}`);
      this.store.setResult(i, result, Date.now());
    }
    this.store.status[i] = ST_AMENDED;
    this.touch(i);
    return this.result(i, s, []);
  }

  settle(ticker: string): SimOpResult {
    const i = this.index(ticker);
    const s = this.status(i);
    if (s !== ST_DETERMINED && s !== ST_AMENDED) this.illegal(ticker, 'settle', s, 'determined or amended');
    const now = Date.now();
    this.store.settled[i] = now;
    this.store.status[i] = ST_FINALIZED;
    this.touch(i);
    return this.result(i, s, this.run([this.lc(i, 'settled', { settled_ts: Math.floor(now / 1000) })]));
  }

  updatePriceLevelStructure(ticker: string, priceLevelStructure = 'deci_cent'): SimOpResult {
    const i = this.index(ticker);
    const s = this.status(i);
    if (s === ST_FINALIZED) this.illegal(ticker, 'updatePriceLevelStructure', s, 'not finalized');
    this.notCombo(i, 'updatePriceLevelStructure');
    if (!isKnownPriceLevelStructure(priceLevelStructure)) {
      throw new SimOperationError(`unknown price level structure ${JSON.stringify(priceLevelStructure)}: expected one of ${PRICE_LEVEL_STRUCTURES.join(', ')}`);
    }
    this.store.setPriceLevelStructure(i, priceLevelStructure);
    this.touch(i);
    return this.result(
      i,
      s,
      this.run([
        {
          type: 'market_lifecycle_v2',
          msg: {
            market_ticker: ticker,
            event_type: 'price_level_structure_updated',
            price_level_structure: priceLevelStructure,
            price_ranges: priceRangesFor(priceLevelStructure),
          },
        },
      ]),
    );
  }

  updateMetadata(ticker: string, update: MetadataUpdate = {}): SimOpResult {
    const i = this.index(ticker);
    const s = this.status(i);
    if (s === ST_FINALIZED) this.illegal(ticker, 'updateMetadata', s, 'not finalized');
    this.notCombo(i, 'updateMetadata');
    const st = this.store;
    const u: MetadataUpdate = { ...update };
    if (Object.keys(u).length === 0) u.yes_sub_title = `${st.yesSubTitle(i)} (updated)`;
    // Key order of Kalshi's documented metadata_updated example: event_type, market_ticker, fields.
    const msg: Record<string, unknown> = { event_type: 'metadata_updated', market_ticker: ticker };
    if (u.strike_type !== undefined) {
      const code = STRIKE_TYPES.indexOf(u.strike_type);
      if (code < 0) throw new SimOperationError(`unknown strike_type ${JSON.stringify(u.strike_type)}`);
      st.strikeType[i] = code;
      msg.strike_type = u.strike_type;
    }
    if (u.floor_strike !== undefined) {
      st.floor[i] = u.floor_strike;
      msg.floor_strike = u.floor_strike;
    }
    if (u.cap_strike !== undefined) {
      st.cap_[i] = u.cap_strike ?? NaN;
      msg.cap_strike = u.cap_strike;
    }
    if (u.yes_sub_title !== undefined) {
      st.subTitleOverride.set(i, u.yes_sub_title);
      msg.yes_sub_title = u.yes_sub_title;
    }
    this.touch(i);
    return this.result(i, s, this.run([{ type: 'market_lifecycle_v2', msg }]));
  }

  feeUpdate(eventTicker: string, fee?: FeeOverride): SimOpResult {
    const e = this.store.byEvent.get(eventTicker);
    if (e === undefined) throw new SimOperationError(`unknown event ticker ${JSON.stringify(eventTicker)}`);
    if (this.store.evMve[e] === true)
      throw new SimOperationError(`feeUpdate: ${eventTicker} is a combo event (event_fee_update is a market_lifecycle_v2 frame)`);
    const f: FeeOverride =
      fee ??
      (this.store.evFeeType[e] == null
        ? { fee_type_override: 'quadratic', fee_multiplier_override: 0.5 }
        : { fee_type_override: null, fee_multiplier_override: null });
    this.store.evFeeType[e] = f.fee_type_override;
    this.store.evFeeMult[e] = f.fee_multiplier_override;
    this.store.evUpdated[e] = Date.now();
    const frames = this.run([{ type: 'event_fee_update', msg: { event_ticker: eventTicker, ...f } }]);
    return { eventTicker, frames };
  }

  // -------------------------------------------------------------------------------------------
  // Random lifecycle

  get randomLifecycleRunning(): boolean {
    return this.randomTimer !== null;
  }

  startRandomLifecycle(opts: RandomLifecycleOptions = {}): void {
    this.stopRandomLifecycle();
    const eps = opts.eventsPerSecond ?? 5;
    if (!(eps > 0) || eps > 100_000) throw new SimOperationError('eventsPerSecond must be in (0, 100000]');
    const rng = createRng(opts.seed ?? this.seed + 7);
    const tickMs = Math.max(10, Math.min(1000, Math.floor(1000 / eps)));
    let budget = 0;
    let last = Date.now();
    this.randomTimer = setInterval(() => {
      const now = Date.now();
      budget += ((now - last) / 1000) * eps;
      last = now;
      let guard = 0;
      while (budget >= 1 && guard++ < 10_000) {
        budget -= 1;
        try {
          this.randomOp(rng);
        } catch (err) {
          this.log.warn({ err }, 'sim random lifecycle op failed');
        }
      }
    }, tickMs);
    this.randomTimer.unref();
  }

  stopRandomLifecycle(): void {
    if (this.randomTimer) clearInterval(this.randomTimer);
    this.randomTimer = null;
  }

  /** Finds a random market whose effective status is in `mask` (bounded sampling); `plainOnly` skips combos. */
  private sample(rng: Rng, mask: number, plainOnly = false, tries = 200): number | undefined {
    const n = this.store.count;
    if (n === 0) return undefined;
    const now = Date.now();
    // Recent markets are more likely to be "live"; bias half the samples to the newest 1000.
    for (let k = 0; k < tries; k++) {
      const i = k % 2 === 0 ? rng.int(0, n - 1) : rng.int(Math.max(0, n - 1000), n - 1);
      if (plainOnly && this.store.isCombo(i)) continue;
      if (((1 << this.store.effStatus(i, now)) & mask) !== 0) return i;
    }
    return undefined;
  }

  /** Combo markets only have the lifecycle events of §7.5 (no price level / metadata updates). */
  private notCombo(i: number, op: string): void {
    if (this.store.isCombo(i)) {
      throw new SimOperationError(
        `${op} is not available for combo market ${this.store.ticker[i]}: multivariate_market_lifecycle carries only created, activated, deactivated, close_date_updated, determined and settled`,
      );
    }
  }

  /** A lifecycle frame for market i: msg keys market_ticker, extra…, event_type (as recorded). */
  private lc(i: number, eventType: string, extra: Record<string, unknown>): SimFrame {
    return {
      type: this.store.isCombo(i) ? 'multivariate_market_lifecycle' : 'market_lifecycle_v2',
      msg: { market_ticker: this.store.ticker[i] ?? '', ...extra, event_type: eventType },
    };
  }

  /** One random, always-legal operation. Returns what it did, or undefined when nothing fit. */
  randomOp(rng: Rng = this.opRng): SimOpResult | undefined {
    const r = rng.next();
    const nowS = NOW_S();
    const t = (i: number): string => this.store.ticker[i] ?? '';
    let res: SimOpResult | undefined;
    let i: number | undefined;
    if (r < 0.14) {
      const open = nowS + rng.int(1, 30);
      const close = nowS + rng.int(60, 3 * 3600);
      res =
        this.comboShare > 0 && rng.next() < Math.min(0.5, this.comboShare * 2)
          ? this.createComboMarket({ openTs: open, closeTs: close })
          : this.createMarket({ openTs: open, closeTs: close });
    } else if (r < 0.24) {
      if ((i = this.sample(rng, 1 << ST_ACTIVE)) !== undefined) res = this.deactivate(t(i));
    } else if (r < 0.34) {
      if ((i = this.sample(rng, 1 << ST_INACTIVE)) !== undefined) res = this.activate(t(i));
    } else if (r < 0.44) {
      // Early close / extension of a live market.
      if ((i = this.sample(rng, (1 << ST_ACTIVE) | (1 << ST_INACTIVE) | (1 << ST_INITIALIZED))) !== undefined) {
        const openS = Math.floor((this.store.open[i] ?? 0) / 1000);
        const target = rng.next() < 0.6 ? nowS + rng.int(1, 20) : nowS + rng.int(3600, 30 * 86_400);
        res = this.updateCloseTime(t(i), Math.max(openS + 1, target));
      }
    } else if (r < 0.49) {
      if ((i = this.sample(rng, 1 << ST_CLOSED)) !== undefined) res = this.reopen(t(i), nowS + rng.int(60, 7 * 86_400));
    } else if (r < 0.66) {
      if ((i = this.sample(rng, 1 << ST_CLOSED)) !== undefined) res = this.determine(t(i), rng.next() < 0.5 ? 'yes' : 'no');
    } else if (r < 0.69) {
      if ((i = this.sample(rng, 1 << ST_DETERMINED)) !== undefined) res = this.dispute(t(i));
    } else if (r < 0.72) {
      if ((i = this.sample(rng, 1 << ST_DISPUTED)) !== undefined) res = this.amend(t(i), rng.next() < 0.5 ? 'yes' : 'no');
    } else if (r < 0.88) {
      if ((i = this.sample(rng, (1 << ST_DETERMINED) | (1 << ST_AMENDED))) !== undefined) res = this.settle(t(i));
    } else if (r < 0.93) {
      if ((i = this.sample(rng, ~(1 << ST_FINALIZED) & 0xff, true)) !== undefined) res = this.updateMetadata(t(i));
    } else if (r < 0.96) {
      if ((i = this.sample(rng, ~(1 << ST_FINALIZED) & 0xff, true)) !== undefined)
        res = this.updatePriceLevelStructure(t(i), rng.pick(['linear_cent', 'deci_cent', 'tapered_deci_cent']));
    } else if (this.store.evTicker.length > 0) {
      let e = rng.int(0, this.store.evTicker.length - 1);
      for (let k = 0; k < 20 && this.store.evMve[e] === true; k++) e = rng.int(0, this.store.evTicker.length - 1);
      if (this.store.evMve[e] !== true) res = this.feeUpdate(this.store.evTicker[e] ?? '');
    }
    if (res) this.stats.randomOps++;
    return res;
  }
}

/** event_lifecycle for event e (combo events: on the multivariate_market_lifecycle channel). */
function eventLifecycleFrame(st: MarketStore, e: number, dateMs: number): SimFrame {
  const msg: Record<string, unknown> = {
    event_ticker: st.evTicker[e] ?? '',
    exchange_index: 0,
    title: st.evTitle[e] ?? '',
    subtitle: st.evSubTitle[e] ?? '',
    collateral_return_type: st.evCollateral[e] ?? '',
    series_ticker: st.srTicker[st.evSeries[e] ?? 0] ?? '',
  };
  if (Number.isFinite(dateMs)) msg.strike_date = Math.floor(dateMs / 1000);
  return { type: 'event_lifecycle', msg };
}

const TICKER_RE = /^[A-Z0-9][A-Z0-9.\-]*$/;

function parsePriceE4(s: string): number {
  if (!/^\d+(\.\d{1,4})?$/.test(s)) throw new SimOperationError(`invalid settlement value ${JSON.stringify(s)}`);
  const v = Math.round(Number(s) * 10_000);
  if (v > 10_000) throw new SimOperationError(`settlement value must be <= 1.0000, got ${s}`);
  return v;
}
