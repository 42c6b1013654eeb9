/**
 * Typed errors. Each says what went wrong and, where the reader can act, what to do about it.
 */
import type { z } from 'zod';

export class RegistryError extends Error {
  override readonly name: string = 'RegistryError';
}

/** Input that crossed a boundary (REST body, WS frame, options) and failed its schema. */
export class ValidationError extends RegistryError {
  override readonly name = 'ValidationError';
  constructor(
    /** Where the input came from, e.g. "GET /markets page" or "market_lifecycle_v2 frame". */
    readonly source: string,
    readonly issues: readonly z.core.$ZodIssue[],
    message = `${source} failed validation: ${formatIssues(issues)}`,
  ) {
    super(message);
  }
}

/** Invalid options passed to createRegistry / the CLI. */
export class OptionsError extends RegistryError {
  override readonly name = 'OptionsError';
}

export function formatIssues(issues: readonly z.core.$ZodIssue[], max = 3): string {
  const shown = issues
    .slice(0, max)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
  return issues.length > max ? `${shown}; …and ${issues.length - max} more` : shown;
}
