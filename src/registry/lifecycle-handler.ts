/**
 * The lifecycle handler: turns raw `market_lifecycle_v2` frames (from the registry's own
 * WebSocket or from a source the embedder hands in) into validated registry updates.
 *
 * It tracks `seq` per `sid` itself, so gap detection works for any source. A seq gap, a new
 * `subscribed` frame (a reconnect: Kalshi has no replay) or a terminal error (code 10 or 25)
 * means events may have been lost, and it asks for a REST reconcile through `onLossSuspected`.
 */
import type { Logger } from '../log.js';
import { lifecycleUpdateFromMsg, parseLifecycleFrame } from '../domain/mapping.js';
import { TERMINAL_WS_ERROR_CODES, type LifecycleSocketFrame } from '../kalshi/schemas.js';
import type { RegistryCore } from './core.js';

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
    this.#last.set(sid, seq);
    return last === undefined || seq === last + 1 ? 'next' : 'gap';
  }
}

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
}

export interface LifecycleHandlerOptions {
  readonly core: RegistryCore;
  readonly logger: Logger;
  readonly onLossSuspected: (reason: LossReason, detail: string) => void;
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
  };
  readonly #seq = new SeqTracker();
  /** Frames taken from the current source (its position, see FrameCounters). */
  #consumed = 0;

  constructor(private readonly options: LifecycleHandlerOptions) {}

  /** Handles one raw frame. Returns a promise only when the change stream applies backpressure. */
  handleFrame(raw: string | Uint8Array): Promise<void> | undefined {
    this.stats.frames++;
    this.#consumed++;
    const parsed = parseLifecycleFrame(raw);
    if (!parsed.ok) {
      this.stats.invalid++;
      this.options.core.quarantine('market_lifecycle_v2 frame', parsed.error.message, parsed.ticker);
      // A frame we cannot use (say a new event type Kalshi added) still used up its seq number:
      // record it, or the next good frame would look like a gap and cost a full reconcile.
      const sequence = sequenceOf(raw);
      if (sequence !== null) this.#sequenced(sequence.sid, sequence.seq);
      return undefined;
    }
    return this.#handle(parsed.value);
  }

  /** Reads a source to its end (or until `signal` aborts), applying backpressure by awaiting. */
  async consume(source: AsyncIterable<string | Uint8Array>, signal?: AbortSignal): Promise<void> {
    const iterator = source[Symbol.asyncIterator]();
    const batching = isBatching(source) ? source : null;
    // Frame positions are only comparable when the source says how many it has received.
    this.#consumed = 0;
    const counted = source as Partial<{ framesReceived: number }>;
    this.options.core.attachFrameCounters(
      typeof counted.framesReceived === 'number' ? { received: () => counted.framesReceived as number, consumed: () => this.#consumed } : null,
    );
    // A quiet source may never answer its pending next(): abort must not wait for it. One
    // wake-up slot (not a Promise.race per frame, which would pile reactions onto a promise
    // that never settles).
    let wake: ((result: IteratorResult<string | Uint8Array>) => void) | null = null;
    const onAbort = () => wake?.({ done: true, value: undefined });
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal?.aborted) {
        const { value, done } = await new Promise<IteratorResult<string | Uint8Array>>((resolve, reject) => {
          wake = resolve;
          iterator.next().then(resolve, reject);
        });
        wake = null;
        if (done || signal?.aborted) break;
        const pending = this.handleFrame(value);
        if (pending) await pending;
        if (batching === null) continue;
        // Whatever else has arrived meanwhile, without a promise per frame.
        for (let batch = batching.takeQueued(1024); batch.length > 0 && !signal?.aborted; batch = batching.takeQueued(1024)) {
          for (const frame of batch) {
            const blocked = this.handleFrame(frame);
            if (blocked) await blocked;
          }
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      // Not awaited: a generator parked in next() only runs return() after that next() settles.
      if (signal?.aborted) void Promise.resolve(iterator.return?.()).catch(() => {});
    }
  }

  /** Forget sequence state, e.g. when the source is replaced. */
  resetSequences(): void {
    this.#seq.clear();
  }

  #handle(frame: LifecycleSocketFrame): Promise<void> | undefined {
    const { core } = this.options;
    switch (frame.type) {
      case 'market_lifecycle_v2': {
        if (!this.#sequenced(frame.sid, frame.seq)) return undefined;
        this.stats.lifecycleMessages++;
        return core.applyLifecycle(lifecycleUpdateFromMsg(frame.msg, core.now()), this.#consumed);
      }
      case 'event_lifecycle': {
        if (!this.#sequenced(frame.sid, frame.seq)) return undefined;
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
        if (this.#sequenced(frame.sid, frame.seq)) this.stats.feeUpdates++;
        return undefined;
      case 'subscribed':
        this.stats.subscriptions++;
        this.#seq.begin(frame.msg.sid);
        // Every subscription after the first means a reconnect or a resubscribe: whatever
        // happened in between was not delivered.
        if (this.stats.subscriptions > 1) this.options.onLossSuspected('resubscribed', `sid ${frame.msg.sid}`);
        return undefined;
      case 'error':
        this.stats.errors++;
        this.options.logger.warn({ code: frame.msg.code, msg: frame.msg.msg, sid: frame.sid }, 'lifecycle channel error');
        if (TERMINAL_WS_ERROR_CODES.has(frame.msg.code)) this.options.onLossSuspected('terminal_error', `code ${frame.msg.code}`);
        return undefined;
      case 'unsubscribed':
        this.#seq.reset(frame.sid);
        return undefined;
      case 'ok':
        return undefined;
    }
  }

  /** False for a duplicate frame (already applied); reports gaps. */
  #sequenced(sid: number, seq: number | undefined): boolean {
    const verdict = this.#seq.check(sid, seq);
    if (verdict === 'duplicate') {
      this.stats.duplicates++;
      return false;
    }
    if (verdict === 'gap') {
      this.stats.gaps++;
      this.options.onLossSuspected('seq_gap', `sid ${sid} jumped to seq ${seq}`);
    }
    return true;
  }
}

/** The sid/seq of a frame that failed validation, when its JSON still carries them. */
function sequenceOf(raw: string | Uint8Array): { sid: number; seq: number } | null {
  try {
    const json: unknown = JSON.parse(typeof raw === 'string' ? raw : new TextDecoder().decode(raw));
    if (typeof json !== 'object' || json === null) return null;
    const { sid, seq } = json as { sid?: unknown; seq?: unknown };
    return Number.isInteger(sid) && Number.isInteger(seq) && (seq as number) > 0 ? { sid: sid as number, seq: seq as number } : null;
  } catch {
    return null;
  }
}
