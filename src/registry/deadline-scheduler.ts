/**
 * One timer structure for every market's open/close deadline (Kalshi sends no WebSocket message
 * when a market opens at open_time or closes at close_time, so the registry performs those
 * transitions itself).
 *
 * A binary min-heap (struct of arrays: deadlines and store cell ids) drives a single `setTimeout`
 * armed for the earliest deadline. Only deadlines inside a horizon (default 10 min) are kept in
 * the heap, so 1M markets that close next week cost nothing here; a sweep every half horizon asks
 * the registry for deadlines that have moved into it. Entries are hints, not truth: when one
 * fires the registry re-reads the cell and applies whatever time transitions are due, so a stale
 * entry (the close date moved, the market was settled, the cell was freed and reused) is harmless.
 *
 * Keyed by cell id rather than ticker: the "already queued" check is a typed-array slot instead
 * of a string-keyed Map, and the registry does not look the ticker up again when an entry fires.
 * Everything due at one clock reading fires in one synchronous batch (one clock read per batch,
 * not per entry); the clock is read again only after a batch, or after onDue applied backpressure.
 */
import type { Micros } from '../domain/types.js';

/** How a DeadlineScheduler reads the clock and reaches the registry. */
export interface DeadlineSchedulerOptions {
  /** Current time in microseconds. */
  readonly now: () => Micros;
  /** Deadlines further away than this are left to the sweep. */
  readonly horizonMs?: number;
  /** Every (cell id, deadline) with a deadline before `until`, for the periodic sweep. */
  readonly collect: (until: Micros) => Iterable<readonly [number, Micros]>;
  /**
   * Called for each cell whose deadline has passed, with the clock reading that found it due
   * (the whole batch shares it); may return a promise (backpressure).
   */
  readonly onDue: (id: number, now: Micros) => void | Promise<void>;
  readonly onError?: (err: unknown) => void;
}

const MAX_TIMER_MS = 2_147_483_647;

/** The timer behind the registry's implicit opens and closes (see the module comment). */
export class DeadlineScheduler {
  readonly #deadlines: number[] = [];
  readonly #ids: number[] = [];
  /**
   * Earliest deadline queued per cell id (NaN: none), to avoid queueing the same one twice.
   * Grown on demand to the highest id armed, so a registry with nothing inside the horizon pays
   * nothing; at most 8 bytes per cell.
   */
  #queued = new Float64Array(0);
  /** The deadline of the entry #pop() returned last (saves a tuple per pop). */
  #popped = 0;
  readonly #horizonUs: number;
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Number.POSITIVE_INFINITY;
  #nextSweepAt = 0;
  #running = false;
  #firing = false;
  #fired = 0;

  constructor(private readonly options: DeadlineSchedulerOptions) {
    this.#horizonUs = (options.horizonMs ?? 600_000) * 1000;
  }

  get size(): number {
    return this.#deadlines.length;
  }

  /** Cells handed to onDue so far. */
  get fired(): number {
    return this.#fired;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#sweep();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  /** Schedules a check of cell `id` (≥ 0) at `deadline` (µs). Cheap to call on every market write. */
  arm(id: number, deadline: Micros): void {
    if (!Number.isFinite(deadline)) return;
    // Before start() and beyond the horizon the sweep will pick it up.
    if (!this.#running || deadline > this.#nextSweepAt + this.#horizonUs / 2) return;
    if (!this.#enqueue(id, deadline)) return;
    if (!this.#firing) this.#arm();
  }

  /** Queues (id, deadline) unless the same or an earlier deadline is queued for `id`. */
  #enqueue(id: number, deadline: Micros): boolean {
    let queued = this.#queued;
    if (id >= queued.length) {
      const grown = new Float64Array(Math.max(1024, queued.length * 2, id + 1)).fill(Number.NaN);
      grown.set(queued);
      this.#queued = queued = grown;
    }
    // NaN (nothing queued) compares false: queued.
    if ((queued[id] as number) <= deadline) return false;
    queued[id] = deadline;
    this.#push(deadline, id);
    return true;
  }

  #sweep(): void {
    const now = this.options.now();
    this.#nextSweepAt = now + this.#horizonUs / 2;
    for (const [id, deadline] of this.options.collect(now + this.#horizonUs)) this.#enqueue(id, deadline);
    this.#arm();
  }

  #arm(): void {
    if (!this.#running) return;
    const next = Math.min(this.#deadlines[0] ?? Number.POSITIVE_INFINITY, this.#nextSweepAt);
    if (next >= this.#timerAt && this.#timer !== null) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = next;
    const delayMs = Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil((next - this.options.now()) / 1000)));
    this.#timer = setTimeout(() => void this.#onTimer(), delayMs);
    this.#timer.unref();
  }

  async #onTimer(): Promise<void> {
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    if (!this.#running) return;
    this.#firing = true;
    try {
      await this.#fireDue();
      if (this.options.now() >= this.#nextSweepAt) this.#sweep();
    } catch (err) {
      this.options.onError?.(err);
    } finally {
      this.#firing = false;
    }
    this.#arm();
  }

  /** Hands every passed deadline to onDue, in deadline order. Exposed for tests and benches. */
  async fireDue(): Promise<number> {
    return this.#fireDue();
  }

  async #fireDue(): Promise<number> {
    const deadlines = this.#deadlines;
    let count = 0;
    let now = this.options.now();
    while (this.#running && deadlines.length > 0 && (deadlines[0] as number) <= now) {
      // One synchronous batch: everything due at this clock reading.
      do {
        const id = this.#pop();
        const deadline = this.#popped;
        if (this.#queued[id] === deadline) this.#queued[id] = Number.NaN;
        count++;
        this.#fired++;
        const pending = this.options.onDue(id, now);
        if (pending) {
          await pending;
          // Time went on while we waited.
          now = this.options.now();
        }
      } while (this.#running && deadlines.length > 0 && (deadlines[0] as number) <= now);
      // What came due while the batch ran.
      now = this.options.now();
    }
    return count;
  }

  // Binary heap -------------------------------------------------------------------------------

  #push(deadline: number, id: number): void {
    const d = this.#deadlines;
    const t = this.#ids;
    let i = d.length;
    d.push(deadline);
    t.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((d[parent] as number) <= deadline) break;
      d[i] = d[parent] as number;
      t[i] = t[parent] as number;
      i = parent;
    }
    d[i] = deadline;
    t[i] = id;
  }

  /** Removes the earliest entry; returns its id (its deadline is left in #popped). */
  #pop(): number {
    const d = this.#deadlines;
    const t = this.#ids;
    const top = t[0] as number;
    this.#popped = d[0] as number;
    const lastD = d.pop() as number;
    const lastT = t.pop() as number;
    const n = d.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && (d[r] as number) < (d[l] as number) ? r : l;
        if ((d[c] as number) >= lastD) break;
        d[i] = d[c] as number;
        t[i] = t[c] as number;
        i = c;
      }
      d[i] = lastD;
      t[i] = lastT;
    }
    return top;
  }
}
