/**
 * Structured logging. Every component takes a `Logger` (pino's interface) so that an embedder can
 * hand in its own pino instance; the default writes JSON lines to stderr, keeping stdout free for
 * the CLI's NDJSON output.
 */
import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';

export type Logger = PinoLogger;
export type LogLevel = LevelWithSilent;

export function createLogger(level: LogLevel = 'info', name = 'market-registry'): Logger {
  return pino({ name, level, base: { name } }, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything, for tests and embedders who want silence. */
export const silentLogger: Logger = pino({ level: 'silent' });
