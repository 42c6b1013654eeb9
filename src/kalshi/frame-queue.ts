/**
 * FrameQueue: the bounded FIFO between a WebSocket connection and the lifecycle handler (data
 * plane: plain code, no actor, no allocation per frame beyond the array slot).
 *
 * One queue belongs to one lifecycle-connection invocation and outlives its reconnects, so the
 * frames of connection n are consumed before those of connection n+1, in arrival order. It counts
 * what it received (`framesReceived`), which is how the registry orders REST reads against
 * frames (see RegistryCore.observe).
 *
 * Backpressure: above `highWaterMark` queued frames the attached transport is paused (`ws.pause()`
 * stops reading from TCP, so the server's send buffer fills instead of our heap); it is resumed
 * once the consumer has drained the queue to half. Frames already parsed when the pause happens
 * are still queued: nothing is dropped.
 */

/** What the queue pauses and resumes (the live socket). */
export interface FlowControl {
  pause(): void;
  resume(): void;
}

interface Waiter {
  resolve: (r: IteratorResult<string, undefined>) => void;
  reject: (err: unknown) => void;
}

export class FrameQueue implements AsyncIterable<string> {
  #items: string[] = [];
  #head = 0;
  readonly #waiters: Waiter[] = [];
  #received = 0;
  #pauses = 0;
  #ended = false;
  #failure: Error | null = null;
  #flow: FlowControl | null = null;
  #paused = false;
  #iterating = false;

  constructor(readonly highWaterMark = 10_000) {}

  /** Frames pushed since the queue was created (consumed or not). */
  get framesReceived(): number {
    return this.#received;
  }

  /** Frames waiting to be consumed. */
  get queued(): number {
    return this.#items.length - this.#head;
  }

  /** Times the transport was paused because the consumer fell behind. */
  get pauses(): number {
    return this.#pauses;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Attaches the transport to pause/resume (null detaches, e.g. when its connection closed). */
  attach(flow: FlowControl | null): void {
    this.#flow = flow;
    if (flow === null) this.#paused = false;
    else if (this.queued > this.highWaterMark) this.#pause();
  }

  /** A received frame. Ignored once the queue has ended. */
  push(frame: string): void {
    if (this.#ended) return;
    this.#received++;
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve({ done: false, value: frame });
      return;
    }
    this.#items.push(frame);
    if (!this.#paused && this.queued > this.highWaterMark) this.#pause();
  }

  /** No more frames will come: readers get what is queued, then `done`. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const w of this.#waiters.splice(0)) w.resolve({ done: true, value: undefined });
  }

  /** The source failed for good: readers get `err` once, after what is already queued. */
  fail(err: Error): void {
    if (this.#ended) return;
    this.#failure = err;
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#failure = null;
      this.#ended = true;
      waiter.reject(err);
    }
  }

  /**
   * Takes up to `max` frames that have already arrived, synchronously: a consumer that handles a
   * batch without awaiting each frame saves a promise round trip per frame.
   */
  takeQueued(max = Number.POSITIVE_INFINITY): string[] {
    const n = Math.min(max, this.queued);
    if (n <= 0) return [];
    const out = this.#items.slice(this.#head, this.#head + n);
    this.#head += n;
    this.#compact();
    return out;
  }

  /** One consumer at a time (the lifecycle handler). */
  [Symbol.asyncIterator](): AsyncIterator<string, undefined, undefined> {
    if (this.#iterating) throw new Error('FrameQueue supports one consumer at a time');
    this.#iterating = true;
    return {
      next: () => this.#next(),
      return: () => {
        this.#iterating = false;
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  /** Inspection (the queue sits in a statechart's context): counts, never the frames. */
  toJSON(): { queued: number; received: number; paused: boolean } {
    return { queued: this.queued, received: this.#received, paused: this.#paused };
  }

  #next(): Promise<IteratorResult<string, undefined>> {
    if (this.queued > 0) {
      const value = this.#items[this.#head] as string;
      this.#head++;
      this.#compact();
      return Promise.resolve({ done: false, value });
    }
    if (this.#failure !== null) {
      const err = this.#failure;
      this.#failure = null;
      this.#ended = true;
      return Promise.reject(err);
    }
    if (this.#ended) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  #compact(): void {
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 4096 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    if (this.#paused && this.queued <= this.highWaterMark / 2) {
      this.#paused = false;
      this.#flow?.resume();
    }
  }

  #pause(): void {
    if (this.#flow === null) return;
    this.#paused = true;
    this.#pauses++;
    this.#flow.pause();
  }
}
