/**
 * The lifecycle handler: turns raw `market_lifecycle_v2` and `multivariate_market_lifecycle`
 * (combo markets) frames, from the registry's own WebSocket or from a source the embedder
 * hands in, into validated registry updates.
 *
 * It tracks `seq` per `sid` itself, so gap detection works for any source. A seq gap, a second
 * `subscribed` for a channel (a reconnect: Kalshi has no replay) or a terminal error (code 10 or
 * 25) means events may have been lost, and it asks for a REST reconcile through `onLossSuspected`.
 *
 * Hot path: a lifecycle frame is JSON.parsed, certified by the one-pass reader of
 * src/domain/fast-frame.ts (into a reused scratch record) and applied through the core's code
 * methods; anything that reader declines — control frames, event frames, bad frames — goes
 * through the zod schemas, which decide and explain. Frames a batching source has already
 * received are applied in one synchronous run; the loop only awaits to wait for frames or for
 * a change subscriber (backpressure).
 */
import type { Logger } from '../log.js';
import { createdMarket, fastLifecycleFrame, newFastFrame } from '../domain/fast-frame.js';
import { truncateForLog } from '../domain/limits.js';
import { lifecycleUpdateFromMsg, notJson, parseLifecycleJson, type ParseFailure } from '../domain/mapping.js';
import { TERMINAL_WS_ERROR_CODES, type LifecycleSocketFrame } from '../kalshi/schemas.js';
import type { RegistryCore } from './core.js';

const textDecoder = new TextDecoder();

/** Frames taken from a batching source at a time. */
const BATCH = 4096;

/** A source that can also hand over frames it already holds without a promise per frame. */
export interface BatchingSource extends AsyncIterable<string | Uint8Array> {
  takeQueued(max?: number): (string | Uint8Array)[];
}

function isBatching(source: AsyncIterable<string | Uint8Array>): source is BatchingSource {
  return typeof (source as Partial<BatchingSource>).takeQueued === 'function';
}

export type LossReason = 'seq_gap' | 'resubscribed' | 'terminal_error' | 'source_replaced';

export type SeqVerdict = 'next' | 'duplicate' | 'gap' | 'unsequenced';

/** Per-subscription sequence tracking (sids are connection-local, so a new `subscribed` resets). */
export class SeqTracker {
  readonly #last = new Map<number, number>();

  reset(sid: number): void {
    this.#last.delete(sid);
  }

  /** A new subscription: Kalshi numbers its frames from 1, so anything else is a gap. */
  begin(sid: number): void {
    this.#last.set(sid, 0);
  }

  clear(): void {
    this.#last.clear();
  }

  check(sid: number, seq: number | undefined): SeqVerdict {
    if (seq === undefined) return 'unsequenced';
    const last = this.#last.get(sid);
    if (last !== undefined && seq <= last) return 'duplicate';
    // A jump no real gap explains (a corrupt or hostile frame) is reported as a gap, but is not
    // taken as the new baseline: it must not make every later frame look like a duplicate.
    if (last !== undefined && seq - last > MAX_PLAUSIBLE_SEQ_JUMP) return 'gap';
    this.#last.set(sid, seq);
    return last === undefined || seq === last + 1 ? 'next' : 'gap';
  }
}

/**
 * The largest forward jump of `seq` taken at face value. Kalshi's lifecycle firehose carries a
 * few hundred frames a second; a million lost frames is hours of them, past any disconnect the
 * watchdog would not have noticed.
 */
export const MAX_PLAUSIBLE_SEQ_JUMP = 1_000_000;

export interface LifecycleHandlerStats {
  frames: number;
  lifecycleMessages: number;
  eventMessages: number;
  feeUpdates: number;
  duplicates: number;
  gaps: number;
  subscriptions: number;
  errors: number;
  invalid: number;
  /** `multivariate_market_lifecycle` frames applied (combo markets; part of lifecycleMessages). */
  comboMessages: number;
  /** `multivariate_market_lifecycle` frames ignored because the registry excludes combos. */
  combosIgnored: number;
  /**
   * `sending_ts_ms` (Unix ms, when Kalshi queued it) of the last valid frame that carried one;
   * null until then. Now minus this is the lifecycle lag.
   */
  lastSendingTsMs: number | null;
}

/** What one consume session reports to whoever runs it (the lifecycle actor). */
export interface SessionHooks {
  /** Events may have been lost (Kalshi has no replay): a full REST reconcile is due. */
  readonly onLossSuspected?: (reason: LossReason, detail: string) => void;
  /** A lifecycle event named a market the registry does not know. */
  readonly onUnknownTicker?: (ticker: string) => void;
}

/**
 * The state of reading one source: its sequence numbers, the channels it subscribed, how many
 * frames were taken from it. One per `consume` call, so a replaced or restarted source starts
 * clean and cannot shift the next one's counts.
 */
interface Session {
  readonly seq: SeqTracker;
  readonly channels: Set<string>;
  consumed: number;
  readonly hooks: SessionHooks;
}

function newSession(hooks: SessionHooks): Session {
  return { seq: new SeqTracker(), channels: new Set(), consumed: 0, hooks };
}

export interface LifecycleHandlerOptions {
  readonly core: RegistryCore;
  readonly logger: Logger;
  /** Hooks of frames handled outside `consume` (handleFrame): tests and embedders feeding frames one by one. */
  readonly onLossSuspected?: (reason: LossReason, detail: string) => void;
  /**
   * Whether `multivariate_market_lifecycle` frames (combo markets, KXMVE*) are applied
   * (default) or ignored and counted (`combosIgnored`), for a registry that excludes combos.
   */
  readonly combos?: 'include' | 'exclude';
}

export class LifecycleHandler {
  readonly stats: LifecycleHandlerStats = {
    frames: 0,
    lifecycleMessages: 0,
    eventMessages: 0,
    feeUpdates: 0,
    duplicates: 0,
    gaps: 0,
    subscriptions: 0,
    errors: 0,
    invalid: 0,
    comboMessages: 0,
    combosIgnored: 0,
    lastSendingTsMs: null,
  };
  readonly #includeCombos: boolean;
  /** The session of frames fed one by one through handleFrame (consume makes its own). */
  #direct: Session;
  /** The fast path's scratch record (read into locals before anything can re-enter). */
  readonly #scratch = newFastFrame();

  constructor(private readonly options: LifecycleHandlerOptions) {
    this.#includeCombos = options.combos !== 'exclude';
    this.#direct = newSession(options.onLossSuspected ? { onLossSuspected: options.onLossSuspected } : {});
  }

  /** Handles one raw frame. Returns a promise only when the change stream applies backpressure. */
  handleFrame(raw: string | Uint8Array): Promise<void> | undefined {
    return this.#frame(this.#direct, raw);
  }

  /**
   * Reads a source to its end (or until `signal` aborts), applying backpressure by awaiting.
   * No frame is applied once `signal` has aborted, not even one already taken from the source.
   */
  async consume(source: AsyncIterable<string | Uint8Array>, signal?: AbortSignal, hooks: SessionHooks = {}): Promise<void> {
    const session = newSession(hooks);
    const { core } = this.options;
    const iterator = source[Symbol.asyncIterator]();
    const batching = isBatching(source) ? source : null;
    // Frame positions are only comparable when the source says how many it has received.
    const counted = source as Partial<{ framesReceived: number }>;
    const counters = typeof counted.framesReceived === 'number' ? { received: () => counted.framesReceived as number, consumed: () => session.consumed } : null;
    core.attachFrameCounters(counters);
    const offUnknown = hooks.onUnknownTicker ? core.onUnknownTicker(hooks.onUnknownTicker) : null;
    // A quiet source may never answer its pending next(): abort must not wait for it. One
    // wake-up slot (not a Promise.race per frame, which would pile reactions onto a promise
    // that never settles).
    let wake: ((result: IteratorResult<string | Uint8Array>) => void) | null = null;
    const onAbort = () => wake?.({ done: true, value: undefined });
    signal?.addEventListener('abort', onAbort, { once: true });
    const live = () => signal?.aborted !== true;
    try {
      outer: while (live()) {
        if (batching !== null) {
          // Everything that has already arrived, in one synchronous run (no promise per frame).
          // The abort is checked before every frame, since a backpressure wait may end after it.
          for (let batch = batching.takeQueued(BATCH); batch.length > 0; batch = batching.takeQueued(BATCH)) {
            for (let i = 0; i < batch.length; i++) {
              if (!live()) break outer;
              const blocked = this.#frame(session, batch[i] as string | Uint8Array);
              if (blocked) await blocked;
            }
          }
        }
        const step: IteratorResult<string | Uint8Array> = await new Promise<IteratorResult<string | Uint8Array>>((resolve, reject) => {
          wake = resolve;
          iterator.next().then(resolve, reject);
        });
        wake = null;
        if (step.done === true || !live()) break;
        const pending = this.#frame(session, step.value);
        if (pending) await pending;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      offUnknown?.();
      // Another session may have attached its counters meanwhile (a source swap): leave those.
      if (counters !== null) core.detachFrameCounters(counters);
      // Not awaited: a generator parked in next() only runs return() after that next() settles.
      if (!live()) void Promise.resolve(iterator.return?.()).catch(() => {});
    }
  }

  /** Forget the sequence state of frames fed through handleFrame. */
  resetSequences(): void {
    this.#direct = newSession(this.#direct.hooks);
  }

  #frame(session: Session, raw: string | Uint8Array): Promise<void> | undefined {
    this.stats.frames++;
    session.consumed++;
    const text = typeof raw === 'string' ? raw : textDecoder.decode(raw);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      return this.#invalid(notJson(text, err));
    }
    if (fastLifecycleFrame(json, this.#scratch)) {
      this.#sent((json as { sending_ts_ms?: unknown }).sending_ts_ms);
      return this.#fast(session);
    }
    const parsed = parseLifecycleJson(json);
    if (!parsed.ok) return this.#invalid(parsed);
    if ('sending_ts_ms' in parsed.value) this.#sent(parsed.value.sending_ts_ms);
    return this.#handle(session, parsed.value);
  }

  /** Records a valid frame's `sending_ts_ms` (both routes checked it is an integer or nullish). */
  #sent(sendingTsMs: unknown): void {
    if (typeof sendingTsMs === 'number') this.stats.lastSendingTsMs = sendingTsMs;
  }

  #invalid(failure: ParseFailure): undefined {
    this.stats.invalid++;
    this.options.core.quarantine('lifecycle frame', failure.error.message, failure.ticker);
    // Its seq is not trusted: a corrupt frame must not move the baseline. If it was a real
    // frame of a new kind, the next good one shows a gap and costs a reconcile, not a frame.
    return undefined;
  }

  /** A lifecycle frame the fast path certified (in the scratch record). */
  #fast(session: Session): Promise<void> | undefined {
    const f = this.#scratch;
    // Locals first: the hooks and listeners called below may feed frames re-entrantly.
    const { kind, ticker, key, closeTs, result } = f;
    const core = this.options.core;
    const market = kind === 'created' ? createdMarket(f, core.now()) : null;
    const combo = f.type === 'multivariate_market_lifecycle';
    if (!this.#sequenced(session, f.sid, f.seq)) return undefined;
    if (combo) {
      // Combo markets' lifecycle, on its own channel since 2026 (same message shape).
      if (!this.#includeCombos) {
        this.stats.combosIgnored++;
        return undefined;
      }
      this.stats.comboMessages++;
    }
    this.stats.lifecycleMessages++;
    if (market !== null) return core.applyCreated(market, session.consumed);
    if (kind === 'metadata') return core.applyMetadata(ticker, session.consumed);
    return core.applyTransitionCode(ticker, key, closeTs, result, session.consumed);
  }

  #handle(session: Session, frame: LifecycleSocketFrame): Promise<void> | undefined {
    const { core } = this.options;
    switch (frame.type) {
      case 'market_lifecycle_v2': {
        if (!this.#sequenced(session, frame.sid, frame.seq)) return undefined;
        this.stats.lifecycleMessages++;
        return core.applyLifecycle(lifecycleUpdateFromMsg(frame.msg, core.now()), session.consumed);
      }
      case 'multivariate_market_lifecycle': {
        // Combo markets' lifecycle, on its own channel since 2026 (same message shape).
        if (!this.#sequenced(session, frame.sid, frame.seq)) return undefined;
        if (!this.#includeCombos) {
          this.stats.combosIgnored++;
          return undefined;
        }
        this.stats.lifecycleMessages++;
        this.stats.comboMessages++;
        return core.applyLifecycle(lifecycleUpdateFromMsg(frame.msg, core.now()), session.consumed);
      }
      case 'event_lifecycle': {
        if (!this.#sequenced(session, frame.sid, frame.seq)) return undefined;
        this.stats.eventMessages++;
        const m = frame.msg;
        core.store.setEvent({
          eventTicker: m.event_ticker,
          seriesTicker: m.series_ticker,
          title: m.title,
          subTitle: m.subtitle ?? '',
          mutuallyExclusive: core.store.getEvent(m.event_ticker)?.mutuallyExclusive ?? false,
          updatedAt: core.now(),
        });
        return undefined;
      }
      case 'event_fee_update':
        // Fees are not part of the registry's model; the frame still counts for seq tracking.
        if (this.#sequenced(session, frame.sid, frame.seq)) this.stats.feeUpdates++;
        return undefined;
      case 'subscribed': {
        this.stats.subscriptions++;
        session.seq.begin(frame.msg.sid);
        // A channel subscribed again means a reconnect or a resubscribe: whatever happened in
        // between was not delivered. A first subscription to another channel is no such thing
        // (one subscribe for two channels gets two replies).
        const channel = frame.msg.channel;
        if (session.channels.has(channel)) this.#loss(session, 'resubscribed', `${channel} (sid ${frame.msg.sid})`);
        else session.channels.add(channel);
        return undefined;
      }
      case 'error':
        this.stats.errors++;
        // The error text is not length-limited (a terminal error must be acted on): quoted cut.
        this.options.logger.warn(
          { code: frame.msg.code, msg: frame.msg.msg == null ? frame.msg.msg : truncateForLog(frame.msg.msg), sid: frame.sid },
          'lifecycle channel error',
        );
        if (TERMINAL_WS_ERROR_CODES.has(frame.msg.code)) this.#loss(session, 'terminal_error', `code ${frame.msg.code}`);
        return undefined;
      case 'unsubscribed':
        session.seq.reset(frame.sid);
        return undefined;
      case 'ok':
        return undefined;
    }
  }

  /** False for a duplicate frame (already applied); reports gaps. */
  #sequenced(session: Session, sid: number, seq: number | undefined): boolean {
    const verdict = session.seq.check(sid, seq);
    if (verdict === 'duplicate') {
      this.stats.duplicates++;
      return false;
    }
    if (verdict === 'gap') {
      this.stats.gaps++;
      this.#loss(session, 'seq_gap', `sid ${sid} jumped to seq ${seq}`);
    }
    return true;
  }

  #loss(session: Session, reason: LossReason, detail: string): void {
    session.hooks.onLossSuspected?.(reason, detail);
  }
}
