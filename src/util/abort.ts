/** AbortSignal helpers shared by the rate limiter and the REST client. */

/** The reason an aborted signal carries, always as an Error (an AbortError DOMException if none). */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const text = typeof reason === 'string' || typeof reason === 'number' || typeof reason === 'boolean' ? String(reason) : 'This operation was aborted';
  return new DOMException(text, 'AbortError');
}

/**
 * One signal that aborts when either input does (with that input's reason); `dispose` removes
 * the listeners. Cheaper than `AbortSignal.any` for the per-request case and never leaks a
 * listener on the long-lived `closed` signal.
 */
export function linkSignals(outer: AbortSignal | undefined, closed: AbortSignal): { signal: AbortSignal; dispose: () => void } {
  if (!outer) return { signal: closed, dispose: noop };
  const ctrl = new AbortController();
  if (outer.aborted || closed.aborted) {
    ctrl.abort(abortReason(outer.aborted ? outer : closed));
    return { signal: ctrl.signal, dispose: noop };
  }
  const onOuter = (): void => ctrl.abort(abortReason(outer));
  const onClosed = (): void => ctrl.abort(abortReason(closed));
  outer.addEventListener('abort', onOuter, { once: true });
  closed.addEventListener('abort', onClosed, { once: true });
  return {
    signal: ctrl.signal,
    dispose: () => {
      outer.removeEventListener('abort', onOuter);
      closed.removeEventListener('abort', onClosed);
    },
  };
}

function noop(): void {}
