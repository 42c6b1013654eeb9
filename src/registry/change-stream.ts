/**
 * The bounded MarketChange stream (the seed's buffered channel, ChangeBufferSize = 1000).
 *
 * Every subscriber gets its own buffer of `capacity` changes. `publish` enqueues a change for all
 * subscribers at once; when any subscriber's buffer is full it returns a promise that settles
 * once every subscriber has room again, and producers await it. A slow consumer therefore slows
 * ingestion (the lifecycle handler stops reading its socket, which then pauses) and no change is
 * ever dropped. Changes keep their publish order for every subscriber, also while producers wait.
 *
 * With no subscriber, publish is synchronous and costs one branch: the 1M-market initial sync
 * does not pay for a stream nobody reads.
 */
import type { Logger } from '../log.js';
import { ListenerSet } from './listener-set.js';
import type { MarketChange } from '../domain/types.js';

export interface ChangeSubscription extends AsyncIterableIterator<MarketChange> {
  /** Stops the subscription; pending and future reads finish with `done: true`. */
  close(): void;
  /** Changes waiting to be read. */
  readonly buffered: number;
}

class Subscriber implements ChangeSubscription {
  readonly #buffer: MarketChange[] = [];
  #head = 0;
  /** Readers waiting for a change, oldest first (next() may be called again before it settles). */
  readonly #waiting: ((r: IteratorResult<MarketChange>) => void)[] = [];
  #closed = false;

  constructor(
    readonly capacity: number,
    private readonly onRoom: () => void,
    private readonly onClose: (s: Subscriber) => void,
  ) {}

  get buffered(): number {
    return this.#buffer.length - this.#head;
  }

  get full(): boolean {
    return !this.#closed && this.buffered >= this.capacity;
  }

  get closed(): boolean {
    return this.#closed;
  }

  push(change: MarketChange): void {
    if (this.#closed) return;
    const waiting = this.#waiting.shift();
    if (waiting !== undefined) {
      waiting({ value: change, done: false });
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
      if (this.buffered === this.capacity - 1) this.onRoom();
      return Promise.resolve({ value, done: false });
    }
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

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClosed?.();
    this.#buffer.length = 0;
    this.#head = 0;
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

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  get backlog(): number {
    return this.#backlog.length;
  }

  subscribe(signal?: AbortSignal): ChangeSubscription {
    const sub = new Subscriber(this.capacity, () => this.#drain(), (s) => {
      this.#subscribers.delete(s);
      this.#drain();
    });
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
    return new Promise<void>((resolve) => {
      this.#backlog.push({ change, resolve });
    });
  }

  /** Ends every subscription (on registry stop). Waiting producers are released. */
  close(): void {
    for (const sub of [...this.#subscribers]) sub.close();
    for (const item of this.#backlog.splice(0)) item.resolve();
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
  }
}
