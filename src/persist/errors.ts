/**
 * The one error a state directory raises: which file, and what is wrong with it. A registry
 * never starts on a state it cannot trust, and never silently starts empty instead.
 */
import { RegistryError } from '../errors.js';

export type StateDirProblem =
  /** The path exists and is not a directory, or cannot be created or written. */
  | 'not_a_directory'
  | 'unwritable'
  /** Another live process holds the state directory (its lock file names it). */
  | 'locked'
  /** The file is not an SQLite database at all. */
  | 'not_sqlite'
  /** An SQLite database that this program did not write (another application's file). */
  | 'foreign'
  /** Written by a newer version of this program (schema version above ours). */
  | 'newer_schema'
  /** SQLite reports corruption, or a stored row fails validation. */
  | 'corrupt'
  /** Written for another Kalshi environment (prod vs demo vs a custom URL). */
  | 'other_exchange';

export class StateDirError extends RegistryError {
  override readonly name = 'StateDirError';
  override readonly code = 'E_STATE_DIR';
  constructor(
    /** The file (or directory) the problem is about. */
    readonly file: string,
    readonly problem: StateDirProblem,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`state directory: ${file}: ${detail}`, options);
  }
}
