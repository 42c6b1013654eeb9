/**
 * SIGINT/SIGTERM for the CLI. The first one stops gracefully (the registry stops, the snapshot is
 * written, exit 0); a second one while stopping only says "stopping, please wait" (Node's default
 * would kill the process mid-write); a third forces exit with 128 + the signal number.
 *
 * A repeat of the previous signal (the same one) within `coalesceMs` counts once: under
 * `npm start` in a terminal, one Ctrl-C reaches the registry twice (from the terminal to the
 * whole process group, and forwarded by npm). A different signal always counts.
 */

export type StopAction = 'stop' | 'wait' | 'force' | 'ignore';

const SIGNAL_NUMBERS: Readonly<Record<string, number>> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };

/** The exit code of a forced exit after `signal` (130 for SIGINT, 143 for SIGTERM). */
export function forcedExitCode(signal: string): number {
  return 128 + (SIGNAL_NUMBERS[signal] ?? 15);
}

/** Pure: what the n-th signal means. */
export class SignalCounter {
  #count = 0;
  #lastAt = -Infinity;
  #last = '';
  constructor(readonly coalesceMs = 50) {}
  get count(): number {
    return this.#count;
  }
  /** A stop that did not come from a signal (e.g. stdout closed) counts as the first signal. */
  stopRequested(): void {
    if (this.#count === 0) this.#count = 1;
  }
  receive(now: number, signal = 'SIGINT'): StopAction {
    if (this.#count > 0 && signal === this.#last && now - this.#lastAt < this.coalesceMs) return 'ignore';
    this.#lastAt = now;
    this.#last = signal;
    this.#count++;
    return this.#count === 1 ? 'stop' : this.#count === 2 ? 'wait' : 'force';
  }
}

export interface StopSignalsOptions {
  /** A graceful stop was requested (first signal, or `request()`). */
  readonly onStop: (reason: string) => void;
  /** A second signal while stopping. */
  readonly onWait: (signal: NodeJS.Signals) => void;
  /** A third: clean up synchronously, then the process exits with `code`. */
  readonly onForce: (signal: NodeJS.Signals, code: number) => void;
  readonly coalesceMs?: number;
  readonly signals?: readonly NodeJS.Signals[];
  readonly now?: () => number;
  readonly exit?: (code: number) => never;
}

export interface StopSignals {
  /** Aborted on the first signal or request. */
  readonly signal: AbortSignal;
  /** What stopped it (the signal's name or the request's reason), '' while running. */
  readonly reason: string;
  /** Stop as if a first signal had arrived. */
  request(reason: string): void;
  /** Removes the handlers. */
  dispose(): void;
}

export function installStopSignals(options: StopSignalsOptions): StopSignals {
  const controller = new AbortController();
  const counter = new SignalCounter(options.coalesceMs ?? 50);
  const signals = options.signals ?? (['SIGINT', 'SIGTERM'] as const);
  const now = options.now ?? Date.now;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopReason = '';
  const stop = (reason: string) => {
    if (controller.signal.aborted) return;
    stopReason = reason;
    options.onStop(reason);
    controller.abort();
  };
  const handler = (sig: NodeJS.Signals) => {
    switch (counter.receive(now(), sig)) {
      case 'stop':
        stop(sig);
        break;
      case 'wait':
        options.onWait(sig);
        break;
      case 'force': {
        const code = forcedExitCode(sig);
        try {
          options.onForce(sig, code);
        } finally {
          exit(code);
        }
        break;
      }
      case 'ignore':
        break;
    }
  };
  for (const s of signals) process.on(s, handler);
  return {
    signal: controller.signal,
    get reason() {
      return stopReason;
    },
    request(reason) {
      counter.stopRequested();
      stop(reason);
    },
    dispose() {
      for (const s of signals) process.off(s, handler);
    },
  };
}
