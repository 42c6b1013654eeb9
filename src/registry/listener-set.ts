/**
 * A set of embedder callbacks that cannot hurt the registry: every call is isolated. A listener
 * that throws is counted, logged once (its first failure; later ones are only counted), and the
 * caller — an ingestion path — goes on as if it had returned.
 */
import type { Logger } from '../log.js';

export class ListenerSet<T> {
  readonly #listeners = new Set<(value: T) => void>();
  /** Listeners already logged as failing, so a listener throwing on every change logs once. */
  readonly #reported = new WeakSet<(value: T) => void>();
  #errors = 0;

  /** `what` names the callback in the log line, e.g. "onChange listener". */
  constructor(
    private readonly what: string,
    private readonly logger: Pick<Logger, 'error'> | null,
  ) {}

  /** Calls that threw, over the registry's life. */
  get errors(): number {
    return this.#errors;
  }

  get size(): number {
    return this.#listeners.size;
  }

  /** Adds a listener; returns the function that removes it. */
  add(listener: (value: T) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  emit(value: T): void {
    for (const listener of this.#listeners) {
      try {
        listener(value);
      } catch (err) {
        this.#errors++;
        if (!this.#reported.has(listener)) {
          this.#reported.add(listener);
          this.logger?.error({ err }, `${this.what} threw; the registry goes on (later failures of this listener are only counted in stats().listenerErrors)`);
        }
      }
    }
  }
}
