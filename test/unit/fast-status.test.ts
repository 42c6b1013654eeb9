/** The status/transition codes (src/domain/fast-status.ts) equal their string forms, exhaustively. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  KEY_BY_CODE,
  KEY_COUNT,
  K_OBSERVED,
  REJECTED,
  STATUS_BY_CODE,
  STATUS_COUNT,
  TRADING_BY_CODE,
  closeDue,
  keyCode,
  nextDeadlineCode,
  nextStatus,
  openDue,
  statusCode,
  timeAdjustedCode,
  timeEventsDue,
} from '../../src/domain/fast-status.js';
import { TRADING_STATUS_BY_MARKET_STATUS } from '../../src/domain/mapping.js';
import { MARKET_STATUSES } from '../../src/domain/vocabulary.js';
import { MARKET_TRANSITIONS, TRANSITION_KEYS } from '../../src/lifecycle/transition-table.js';
import { dueTimeEvents, nextDeadline, timeAdjustedStatus } from '../../src/lifecycle/time-rules.js';

describe('fast-status codes', () => {
  it('cover the vocabulary one to one', () => {
    expect(STATUS_BY_CODE).toEqual([...MARKET_STATUSES]);
    expect(STATUS_COUNT).toBe(8);
    for (const s of MARKET_STATUSES) {
      expect(STATUS_BY_CODE[statusCode(s)]).toBe(s);
      expect(TRADING_BY_CODE[statusCode(s)]).toBe(TRADING_STATUS_BY_MARKET_STATUS[s]);
    }
    for (const junk of ['', 'open', 'Active', 'toString', '__proto__', 3, null, undefined]) expect(statusCode(junk)).toBe(-1);
    expect(KEY_BY_CODE).toEqual([...TRANSITION_KEYS]);
    expect(KEY_COUNT).toBe(TRANSITION_KEYS.length);
    for (const s of MARKET_STATUSES) expect(KEY_BY_CODE[K_OBSERVED[statusCode(s)]!]).toBe(`observed:${s}`);
  });

  it('the code table is the derived transition table, for every (status, key)', () => {
    for (const s of MARKET_STATUSES) {
      for (const k of TRANSITION_KEYS) {
        const to = MARKET_TRANSITIONS[s][k];
        const code = nextStatus(statusCode(s), keyCode(k));
        expect(code === REJECTED ? null : STATUS_BY_CODE[code], `${s} + ${k}`).toBe(to);
      }
    }
  });

  it('the time rules over codes are time-rules.ts (property over statuses and time orderings)', () => {
    const t = fc.integer({ min: -3, max: 3 });
    fc.assert(
      fc.property(fc.constantFrom(...MARKET_STATUSES), t, t, t, (s, open, close, now) => {
        const c = statusCode(s);
        const due = dueTimeEvents(s, open, close, now);
        expect(timeEventsDue(c, open, close, now)).toBe(due.length > 0);
        expect(openDue(c, open, now)).toBe(due[0] === 'open_time_reached');
        const afterOpen = due[0] === 'open_time_reached' ? statusCode(MARKET_TRANSITIONS[s].open_time_reached) : c;
        expect(closeDue(afterOpen, close, now)).toBe(due.includes('close_time_reached'));
        expect(STATUS_BY_CODE[timeAdjustedCode(c, open, close, now)]).toBe(timeAdjustedStatus(s, open, close, now));
        const d = nextDeadlineCode(c, open, close);
        expect(Number.isNaN(d) ? null : d).toBe(nextDeadline(s, open, close));
      }),
      { numRuns: 3000 },
    );
  });
});
