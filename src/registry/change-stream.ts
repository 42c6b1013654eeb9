/**
 * The bounded MarketChange stream (the seed's buffered channel, ChangeBufferSize = 1000).
 *
 * Every subscriber gets its own buffer of `capacity` changes. `publish` enqueues a change for all
 * subscribers at once; when any subscriber's buffer is full it returns a promise that settles
 * once every subscriber has room again, and producers await it. A slow consumer therefore slows
 * ingestion (the lifecycle handler stops reading its socket, which then pauses) and no change is
 * ever dropped. Changes keep their publish order for every subscriber, also while producers wait.
 *
 * With no subscriber, publish is synchronous and costs one branch; with no audience at all
 * (hasAudience) the producer does not even build the change: the 1M-market initial sync does not
 * pay for a stream nobody reads.
 */
import type { Logger } from '../log.js';
import { ListenerSet } from './listener-set.js';
import type { MarketChange } from '../domain/types.js';

/**
 * What a subscription does when its buffer is full:
 *  - `block` (default; the seed's buffered channel): the registry waits for the reader. No change
 *    is ever dropped or merged, but a reader that stops reading holds ingestion still (and the
 *    registry reports itself degraded after `stuckSubscriberMs`).
 *  - `conflate`: the registry never waits for this reader. While it lags, only the latest change
 *    per market is kept; when it catches up it receives, per market that changed meanwhile, one
 *    change from the status it last saw to the current one, marked `conflated: true`. Memory is
 *    bounded by the number of markets. A connection manager that only needs to know what to
 *    (un)subscribe wants this one.
 *
 * @public Part of the public `subscribeChanges` options.
 */
export type OverflowPolicy = 'block' | 'conflate';

export interface SubscribeOptions {
  readonly signal?: AbortSignal;
  /** Default `block`. */
  readonly overflow?: OverflowPolicy;
}

export interface ChangeSubscription extends AsyncIterableIterator<MarketChange> {
  /** Stops the subscription; pending and future reads finish with `done: true`. */
  close(): void;
  /** Changes waiting to be read. */
  readonly buffered: number;
  /** Markets with a conflated change waiting (always 0 for `block`). */
  readonly lagging: number;
  readonly overflow: OverflowPolicy;
}

/** One change from what the lagging reader last saw (`first`) to now (`latest`). */
function conflate(first: MarketChange, latest: MarketChange): MarketChange {
  if (latest.eventType === 'settled') return { ...latest, oldStatus: first.oldStatus ?? latest.oldStatus, conflated: true };
  if (first.eventType === 'created')
    return { ticker: latest.ticker, eventType: 'created', oldStatus: null, newStatus: latest.newStatus, market: latest.market, conflated: true };
  return { ticker: latest.ticker, eventType: 'status_change', oldStatus: first.oldStatus, newStatus: latest.newStatus, market: latest.market, conflated: true };
}

class Subscriber implements ChangeSubscription {
  readonly #buffer: MarketChange[] = [];
  #head = 0;
  /** Readers waiting for a change, oldest first (next() may be called again before it settles). */
  readonly #waiting: ((r: IteratorResult<MarketChange>) => void)[] = [];
  #closed = false;
  /** `conflate` only: ticker → [first change missed, latest change], in order of first miss. */
  readonly #lagging = new Map<string, [MarketChange, MarketChange]>();

  constructor(
    readonly capacity: number,
    readonly overflow: OverflowPolicy,
    private readonly onRoom: () => void,
    private readonly onClose: (s: Subscriber) => void,
  ) {}

  get buffered(): number {
    return this.#buffer.length - this.#head;
  }

  get lagging(): number {
    return this.#lagging.size;
  }

  /** Full for the producer: a conflating reader never is (it never makes the registry wait). */
  get full(): boolean {
    return !this.#closed && !this.#ending && this.overflow === 'block' && this.buffered >= this.capacity;
  }

  get closed(): boolean {
    return this.#closed;
  }

  push(change: MarketChange): void {
    if (this.#closed || this.#ending) return;
    const waiting = this.#waiting.shift();
    if (waiting !== undefined) {
      waiting({ value: change, done: false });
      return;
    }
    if (this.overflow === 'conflate' && (this.#lagging.size > 0 || this.buffered >= this.capacity)) {
      const missed = this.#lagging.get(change.ticker);
      this.#lagging.set(change.ticker, [missed?.[0] ?? change, change]);
      return;
    }
    this.#buffer.push(change);
  }

  next(): Promise<IteratorResult<MarketChange>> {
    if (this.buffered > 0) {
      const value = this.#buffer[this.#head] as MarketChange;
      this.#buffer[this.#head++] = undefined as unknown as MarketChange;
      if (this.#head > 1024 && this.#head * 2 > this.#buffer.length) {
        this.#buffer.splice(0, this.#head);
        this.#head = 0;
      }
      if (this.overflow === 'block' && this.buffered === this.capacity - 1) this.onRoom();
      return Promise.resolve({ value, done: false });
    }
    if (this.#lagging.size > 0) {
      // Caught up with the buffer: one change per market that moved while the reader lagged.
      const [ticker, [first, latest]] = this.#lagging.entries().next().value as [string, [MarketChange, MarketChange]];
      this.#lagging.delete(ticker);
      return Promise.resolve({ value: first === latest ? { ...latest, conflated: true } : conflate(first, latest), done: false });
    }
    if (this.#ending) this.close();
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      // Someone is reading: producers blocked on this subscriber may go on.
      this.onRoom();
    });
  }

  return(): Promise<IteratorResult<MarketChange>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  #onClosed: (() => void) | null = null;

  /** Runs `fn` once when this subscription closes (used to detach an abort listener). */
  onClosed(fn: () => void): void {
    this.#onClosed = fn;
  }

  /**
   * The registry stops: no more changes, but what is already buffered (or conflated) is still
   * delivered; then reads finish with `done: true`.
   */
  end(): void {
    if (this.#closed) return;
    if (this.buffered === 0 && this.#lagging.size === 0) {
      this.close();
      return;
    }
    this.#ending = true;
  }

  #ending = false;

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClosed?.();
    this.#buffer.length = 0;
    this.#head = 0;
    this.#lagging.clear();
    for (const waiting of this.#waiting.splice(0)) waiting({ value: undefined, done: true });
    this.onClose(this);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

export type ChangeListener = (change: MarketChange) => void;

export class ChangeStream {
  readonly #subscribers = new Set<Subscriber>();
  readonly #listeners: ListenerSet<MarketChange>;
  /** Changes accepted by publish but not yet delivered because a buffer was full (FIFO). */
  readonly #backlog: { change: MarketChange; resolve: () => void }[] = [];
  #published = 0;
  #blockedPublishes = 0;
  /** When the producer started waiting for a `block` reader (performance.now() ms), or null. */
  #blockedSince: number | null = null;

  constructor(
    readonly capacity: number,
    logger: Pick<Logger, 'error'> | null = null,
  ) {
    this.#listeners = new ListenerSet('onChange listener', logger);
  }

  /** onChange listener calls that threw (each was isolated: the change went on to everyone else). */
  get listenerErrors(): number {
    return this.#listeners.errors;
  }

  get published(): number {
    return this.#published;
  }

  /** How many publishes had to wait for a slow subscriber (backpressure events). */
  get blockedPublishes(): number {
    return this.#blockedPublishes;
  }

  /**
   * Whether a change published now would reach anyone: an onChange listener or an open
   * subscription (persistence and NATS publishing register as one of those, so they count).
   * When false a producer may skip building the change (and its Market snapshot) and call
   * `countUnheard()` instead, which keeps `published` the same as if it had been published.
   */
  get hasAudience(): boolean {
    return this.#listeners.size > 0 || this.#subscribers.size > 0;
  }

  /** Counts one change that nobody could receive (see hasAudience) and was therefore not built. */
  countUnheard(): void {
    this.#published++;
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  get backlog(): number {
    return this.#backlog.length;
  }

  /** How long the producer has been waiting for a slow `block` subscriber (0 when it is not). */
  blockedForMs(now = performance.now()): number {
    return this.#blockedSince === null ? 0 : now - this.#blockedSince;
  }

  subscribe(options: SubscribeOptions = {}): ChangeSubscription {
    const signal = options.signal;
    const sub = new Subscriber(
      this.capacity,
      options.overflow ?? 'block',
      () => this.#drain(),
      (s) => {
        this.#subscribers.delete(s);
        this.#drain();
      },
    );
    this.#subscribers.add(sub);
    if (signal) {
      if (signal.aborted) sub.close();
      else {
        const onAbort = () => sub.close();
        signal.addEventListener('abort', onAbort, { once: true });
        sub.onClosed(() => signal.removeEventListener('abort', onAbort));
      }
    }
    return sub;
  }

  /** Registers a synchronous listener; returns the function that removes it. */
  onChange(listener: ChangeListener): () => void {
    return this.#listeners.add(listener);
  }

  /**
   * Publishes one change. Returns `undefined` when it was delivered at once, or a promise that
   * resolves when it has been delivered to every subscriber; await it before publishing more.
   */
  publish(change: MarketChange): Promise<void> | undefined {
    this.#published++;
    if (this.#listeners.size > 0) this.#listeners.emit(change);
    if (this.#subscribers.size === 0) return undefined;
    if (this.#backlog.length === 0 && !this.#anyFull()) {
      for (const sub of this.#subscribers) sub.push(change);
      return undefined;
    }
    this.#blockedPublishes++;
    this.#blockedSince ??= performance.now();
    return new Promise<void>((resolve) => {
      this.#backlog.push({ change, resolve });
    });
  }

  /**
   * Ends every subscription (on registry stop): each still delivers what it has buffered, then
   * finishes. Waiting producers are released (their changes were already buffered or are dropped
   * with the stop: nothing new is published after it).
   */
  close(): void {
    for (const sub of [...this.#subscribers]) sub.end();
    for (const item of this.#backlog.splice(0)) item.resolve();
    this.#blockedSince = null;
  }

  #anyFull(): boolean {
    for (const sub of this.#subscribers) if (sub.full) return true;
    return false;
  }

  #drain(): void {
    while (this.#backlog.length > 0 && !this.#anyFull()) {
      const item = this.#backlog.shift() as { change: MarketChange; resolve: () => void };
      for (const sub of this.#subscribers) sub.push(item.change);
      item.resolve();
    }
    if (this.#backlog.length === 0) this.#blockedSince = null;
  }
}
