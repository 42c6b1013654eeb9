/**
 * Strings at and just past every length limit of src/domain/limits.ts, for the equivalence
 * generators: the fast paths and zod must agree on each side of each limit (a fast path that
 * forgot a limit would certify what zod refuses; one off by one would be caught at the edge).
 */
import fc from 'fast-check';
import { MAX_RULES_LENGTH, MAX_TEXT_LENGTH, MAX_TICKER_LENGTH, MAX_WORD_LENGTH } from '../../src/domain/limits.js';

const LIMITS = [...new Set([MAX_TICKER_LENGTH, MAX_WORD_LENGTH, MAX_TEXT_LENGTH, MAX_RULES_LENGTH])];

/** For each limit: a string of exactly that length and one a character longer; plus 1 MiB. */
const LIMIT_EDGE_STRINGS: readonly string[] = [...LIMITS.flatMap((n) => ['K'.repeat(n), 'K'.repeat(n + 1)]), 'K'.repeat(1 << 20)];

/** One of LIMIT_EDGE_STRINGS (the strings are built once and shared between runs). */
export const limitEdgeString: fc.Arbitrary<string> = fc.constantFrom(...LIMIT_EDGE_STRINGS);
