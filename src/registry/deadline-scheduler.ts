/**
 * One timer structure for every market's open/close deadline (Kalshi sends no WebSocket message
 * when a market opens at open_time or closes at close_time, so the registry performs those
 * transitions itself).
 *
 * A binary min-heap (struct of arrays: deadlines and tickers) drives a single `setTimeout` armed
 * for the earliest deadline. Only deadlines inside a horizon (default 10 min) are kept in the
 * heap, so 1M markets that close next week cost nothing here; a sweep every half horizon asks
 * the registry for deadlines that have moved into it. Entries are hints, not truth: when one
 * fires the registry re-reads the market and applies whatever time transitions are due, so a
 * stale entry (the close date moved, the market was settled) is harmless.
 */
import type { Micros } from '../domain/types.js';

export interface DeadlineSchedulerOptions {
  /** Current time in microseconds. */
  readonly now: () => Micros;
  /** Deadlines further away than this are left to the sweep. */
  readonly horizonMs?: number;
  /** Every (ticker, deadline) with a deadline before `until`, for the periodic sweep. */
  readonly collect: (until: Micros) => Iterable<readonly [string, Micros]>;
  /** Called for each market whose deadline has passed; may return a promise (backpressure). */
  readonly onDue: (ticker: string) => void | Promise<void>;
  readonly onError?: (err: unknown) => void;
}

const MAX_TIMER_MS = 2_147_483_647;

export class DeadlineScheduler {
  readonly #deadlines: number[] = [];
  readonly #tickers: string[] = [];
  /** Earliest deadline queued per ticker, to avoid queueing the same one twice. */
  readonly #queued = new Map<string, Micros>();
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

  /** Markets handed to onDue so far. */
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

  /** Schedules a check of `ticker` at `deadline` (µs). Cheap to call on every market write. */
  arm(ticker: string, deadline: Micros): void {
    if (!Number.isFinite(deadline)) return;
    // Before start() and beyond the horizon the sweep will pick it up.
    if (!this.#running || deadline > this.#nextSweepAt + this.#horizonUs / 2) return;
    const queued = this.#queued.get(ticker);
    if (queued !== undefined && queued <= deadline) return;
    this.#queued.set(ticker, deadline);
    this.#push(deadline, ticker);
    if (!this.#firing) this.#arm();
  }

  #sweep(): void {
    const now = this.options.now();
    this.#nextSweepAt = now + this.#horizonUs / 2;
    for (const [ticker, deadline] of this.options.collect(now + this.#horizonUs)) {
      const queued = this.#queued.get(ticker);
      if (queued !== undefined && queued <= deadline) continue;
      this.#queued.set(ticker, deadline);
      this.#push(deadline, ticker);
    }
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
    let count = 0;
    while (this.#running && this.#deadlines.length > 0 && (this.#deadlines[0] as number) <= this.options.now()) {
      const [deadline, ticker] = this.#pop();
      if (this.#queued.get(ticker) === deadline) this.#queued.delete(ticker);
      count++;
      this.#fired++;
      const pending = this.options.onDue(ticker);
      if (pending) await pending;
    }
    return count;
  }

  // Binary heap -------------------------------------------------------------------------------

  #push(deadline: number, ticker: string): void {
    const d = this.#deadlines;
    const t = this.#tickers;
    let i = d.length;
    d.push(deadline);
    t.push(ticker);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((d[parent] as number) <= deadline) break;
      d[i] = d[parent] as number;
      t[i] = t[parent] as string;
      i = parent;
    }
    d[i] = deadline;
    t[i] = ticker;
  }

  #pop(): [number, string] {
    const d = this.#deadlines;
    const t = this.#tickers;
    const top: [number, string] = [d[0] as number, t[0] as string];
    const lastD = d.pop() as number;
    const lastT = t.pop() as string;
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
        t[i] = t[c] as string;
        i = c;
      }
      d[i] = lastD;
      t[i] = lastT;
    }
    return top;
  }
}
