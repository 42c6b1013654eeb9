/**
 * The `change` lines of `--json`, shared by the registry CLI and `follow`: a change subscription
 * written to stdout as NDJSON, and a way to wait until every change published so far has been
 * written, so that the `synced` line comes after the changes of the sync it reports (the
 * subscription lags behind the registry by up to its buffer).
 */
import type { MarketChange } from '../domain/types.js';
import type { JsonOut } from './run.js';

export class ChangeLines {
  #published = 0;
  #written = 0;
  #waiter: { readonly target: number; readonly resolve: () => void } | null = null;
  /** Ends with the subscription (the registry stopped, or stdout closed and the writes became no-ops). */
  readonly finished: Promise<void>;

  constructor(subscription: AsyncIterable<MarketChange>, json: JsonOut) {
    this.finished = (async () => {
      for await (const change of subscription) {
        await json.write({ kind: 'change', ...change });
        this.#written++;
        if (this.#waiter && this.#written >= this.#waiter.target) this.#waiter.resolve();
      }
      this.#waiter?.resolve();
    })();
  }

  /** Call for every change the source publishes (from its `onChange`), before its subscription sees it. */
  countPublished(): void {
    this.#published++;
  }

  /** Resolves once every change published before this call is on stdout, or when `stopped` settles first. */
  async drained(stopped: Promise<unknown>): Promise<void> {
    const target = this.#published;
    if (this.#written < target) await Promise.race([new Promise<void>((resolve) => (this.#waiter = { target, resolve })), stopped]);
    this.#waiter = null;
  }
}
