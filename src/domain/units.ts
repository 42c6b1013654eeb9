/**
 * Exact conversions from Kalshi's wire units into the registry's integer units (see types.ts).
 * All of them work on the decimal string digits, never through a float, so "0.5600" is exactly
 * 5600 and "1234.57" contracts exactly 123457 hundredths.
 *
 * These are the producers of the branded unit types: a `PriceE4` or a `CountE2` comes from a
 * converter here, or from `asPriceE4` / `asCountE2` for a number that is already in that unit.
 */
import type { CountE2, Micros, PriceE4 } from './types.js';

/** The value is already in units of $0.0001 (a stored, computed or literal price): brands it, converts nothing. */
export function asPriceE4(value: number): PriceE4 {
  return value as PriceE4;
}

/** The value is already in hundredths of a contract: brands it, converts nothing. */
export function asCountE2(value: number): CountE2 {
  return value as CountE2;
}

/**
 * The value is already in microseconds since the epoch: converts nothing. (A plain number is
 * accepted as Micros anyway — see types.ts — so this only says so where it helps the reader.)
 */
export function asMicros(value: number): Micros {
  return value;
}

/** Kalshi's legacy integer cents (`yes_bid`, …) → units of $0.0001: 56 → 5600. */
export function centsToE4(cents: number): PriceE4 {
  return (cents * 100) as PriceE4;
}

/** Kalshi's legacy whole-contract count (`volume`) → hundredths of a contract: 18 → 1800. */
export function contractsToE2(contracts: number): CountE2 {
  return (contracts * 100) as CountE2;
}

/**
 * Parses a non-negative-or-negative decimal string into an integer scaled by 10^scale.
 * Digits beyond `scale` are rounded half away from zero (Kalshi documents up to 4 decimals for
 * market prices and 2 for counts, but has sent 6 elsewhere). Returns NaN for anything that is not
 * a plain decimal number, so the caller can quarantine the record.
 */
export function parseScaledDecimal(text: string, scale: number): number {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return Number.NaN;
  const negative = m[1] === '-';
  const whole = m[2] as string;
  const frac = m[3] ?? '';
  const kept = frac.length >= scale ? frac.slice(0, scale) : frac.padEnd(scale, '0');
  let value = Number(whole + kept);
  if (frac.length > scale && frac.charCodeAt(scale) >= 53 /* '5' */) value += 1;
  if (!Number.isSafeInteger(value)) return Number.NaN;
  return negative && value !== 0 ? -value : value;
}

/** "0.5600" → 5600 (units of $0.0001). */
export function dollarsToE4(text: string): PriceE4 {
  return parseScaledDecimal(text, 4) as PriceE4;
}

/** "1234.50" → 123450 (hundredths of a contract). */
export function countToE2(text: string): CountE2 {
  return parseScaledDecimal(text, 2) as CountE2;
}

/** Formats units of $0.0001 back to Kalshi's 4-decimal string: 5600 → "0.5600". */
export function e4ToDollars(value: PriceE4): string {
  return formatScaled(value, 4);
}

/** Formats hundredths of a contract back to Kalshi's 2-decimal string: 123450 → "1234.50". */
export function e2ToCount(value: CountE2): string {
  return formatScaled(value, 2);
}

function formatScaled(value: number, scale: number): string {
  const negative = value < 0;
  const digits = String(Math.abs(value)).padStart(scale + 1, '0');
  const text = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

const FRACTION = /\.(\d+)/;

/**
 * ISO-8601 date-time → microseconds since the epoch, keeping sub-millisecond digits that
 * `Date.parse` drops ("2026-05-01T14:00:00.123456Z" → …123456). NaN when unparseable.
 */
export function isoToMicros(iso: string): Micros {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return Number.NaN;
  const frac = FRACTION.exec(iso)?.[1];
  if (frac === undefined || frac.length <= 3) return ms * 1000;
  // Date.parse truncates to whole milliseconds (towards -Infinity for pre-1970 dates).
  const micros = Number(frac.slice(3, 6).padEnd(3, '0'));
  return ms * 1000 + micros;
}

/** Unix seconds (the WebSocket's unit) → microseconds. */
export function secondsToMicros(seconds: number): Micros {
  return seconds * 1_000_000;
}

/** Milliseconds (Date.now()) → microseconds. */
export function msToMicros(ms: number): Micros {
  return Math.trunc(ms * 1000);
}

export function microsToIso(micros: Micros): string {
  return new Date(Math.floor(micros / 1000)).toISOString();
}
