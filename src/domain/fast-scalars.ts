/**
 * Hand-written readers of Kalshi's wire scalars for the hot paths: one pass over the characters
 * that both checks the form the zod schema requires and computes the value the mapper would
 * compute from it, with no regex, no substring and no intermediate string.
 *
 * They are deliberately narrower than the schemas: each returns NaN (or false) for anything it
 * does not certify, and the caller then hands the whole record to zod, which stays the schema
 * of record — it accepts or refuses, and explains every refusal. So for every input a reader
 * accepts, its value is exactly what `units.ts` computes after the zod regex accepted it
 * (test/perf-equivalence/ proves it); for the rest, nothing is claimed.
 */
import type { Micros } from './types.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * A decimal string of FixedPointDollarsSchema / FixedPointCountSchema (`^-?\d+(\.\d+)?$`)
 * scaled by 10^scale exactly as `parseScaledDecimal` does (digits beyond `scale` rounded half
 * away from zero). NaN when the text is not of that form, when the value is not a safe integer,
 * or when the integer part has more digits than this reader vouches for.
 */
export function fastScaled(text: string, scale: number): number {
  const n = text.length;
  let i = 0;
  let negative = false;
  if (n > 0 && text.charCodeAt(0) === 45 /* - */) {
    negative = true;
    i = 1;
  }
  let whole = 0;
  const wholeStart = i;
  for (; i < n; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    whole = whole * 10 + d;
  }
  const wholeDigits = i - wholeStart;
  // 15 digits keep `whole` exact; longer integer parts are left to the reference path.
  if (wholeDigits === 0 || wholeDigits > 15) return Number.NaN;
  let frac = 0;
  let fracDigits = 0;
  let roundUp = false;
  if (i < n) {
    if (text.charCodeAt(i) !== 46 /* . */) return Number.NaN;
    i++;
    for (; i < n; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return Number.NaN;
      if (fracDigits < scale) frac = frac * 10 + d;
      else if (fracDigits === scale) roundUp = d >= 5;
      fracDigits++;
    }
    if (fracDigits === 0) return Number.NaN;
  }
  for (let k = fracDigits; k < scale; k++) frac *= 10;
  let scaled = 1;
  for (let k = 0; k < scale; k++) scaled *= 10;
  let value = whole * scaled + frac;
  if (roundUp) value += 1;
  if (!(value <= MAX_SAFE)) return Number.NaN;
  return negative && value !== 0 ? -value : value;
}

/** True when `text` matches `^-?\d+(\.\d+)?$` (a FixedPointDollars string the registry does not map). */
export function isDecimalText(text: string): boolean {
  const n = text.length;
  let i = n > 0 && text.charCodeAt(0) === 45 ? 1 : 0;
  const start = i;
  while (i < n && isDigit(text.charCodeAt(i))) i++;
  if (i === start) return false;
  if (i === n) return true;
  if (text.charCodeAt(i) !== 46) return false;
  const fracStart = ++i;
  while (i < n && isDigit(text.charCodeAt(i))) i++;
  return i === n && i > fracStart;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function two(text: string, i: number): number {
  const a = text.charCodeAt(i) - 48;
  const b = text.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const mp = m > 2 ? m - 3 : m + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/**
 * Kalshi's REST date-time in its canonical UTC form, `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (upper-case
 * T and Z, a real calendar date and time of day, years 1900–2199), to microseconds since the epoch:
 * exactly `isoToMicros` (Date.parse's milliseconds, then fraction digits 4–6; later ones ignored).
 * NaN for every other spelling the schema's regex allows (offsets, lower case, hour 24, 31 April…):
 * those go to the reference path, which decides what they mean.
 */
export function fastIsoMicros(text: string): Micros {
  const n = text.length;
  if (n < 20 || text.charCodeAt(n - 1) !== 90 /* Z */) return Number.NaN;
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84 /* T */) return Number.NaN;
  if (text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return Number.NaN;
  const c = two(text, 0);
  const yl = two(text, 2);
  const month = two(text, 5);
  const day = two(text, 8);
  const hour = two(text, 11);
  const minute = two(text, 14);
  const second = two(text, 17);
  if (c < 19 || c > 21 || yl < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
    return Number.NaN;
  }
  const year = c * 100 + yl;
  if (day > daysInMonth(year, month)) return Number.NaN;
  let ms = 0;
  let us = 0;
  if (n > 20) {
    if (text.charCodeAt(19) !== 46 /* . */) return Number.NaN;
    // Fraction digits sit in 20 … n-2; at least one.
    const last = n - 2;
    if (last < 20) return Number.NaN;
    for (let i = 20; i <= last; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return Number.NaN;
      const pos = i - 20;
      if (pos < 3) ms = ms * 10 + d;
      else if (pos < 6) us = us * 10 + d;
    }
    const digits = last - 19;
    for (let k = digits; k < 3; k++) ms *= 10;
    if (digits > 3) for (let k = digits; k < 6; k++) us *= 10;
  }
  const seconds = daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
  return (seconds * 1000 + ms) * 1000 + us;
}
