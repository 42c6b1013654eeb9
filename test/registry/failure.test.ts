/** Which REST failures retrying can fix, and one log line per distinct cause. */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { HttpError, NetworkError, PaginationLoopError, ResponseParseError, TimeoutError } from '../../src/kalshi/http-errors.js';
import { describeFailure, FailureLog } from '../../src/registry/failure.js';

describe('describeFailure', () => {
  const url = 'http://127.0.0.1:1/trade-api/v2/markets';
  it.each([
    [new HttpError('GET', `${url}?cursor=abc`, 1, 401, 'unauthorized'), true],
    [new HttpError('GET', url, 1, 403, ''), true],
    [new HttpError('GET', url, 4, 503, 'maintenance'), false],
    [new HttpError('GET', url, 4, 429, ''), false],
    [new ResponseParseError('GET', url, 1, 200, 'Unexpected token <', '<html>'), true],
    [new PaginationLoopError('/markets', 'CgwI', 3), true],
    [new ValidationError('GET /markets page', []), true],
    [new NetworkError('GET', url, 4, 'ECONNREFUSED', null), false],
    [new TimeoutError('GET', url, 4, 10_000), false],
    [new Error('something else'), false],
  ])('%s → permanent %s', (err, permanent) => {
    expect(describeFailure(err).permanent).toBe(permanent);
  });

  it('one cause per status and endpoint, whatever the cursor', () => {
    const a = describeFailure(new HttpError('GET', `${url}?cursor=a`, 1, 401, ''));
    const b = describeFailure(new HttpError('GET', `${url}?cursor=b`, 1, 401, ''));
    expect(a.cause).toBe(b.cause);
    const log = new FailureLog();
    expect([log.first(a.cause), log.first(b.cause), log.first('other')]).toEqual([true, false, true]);
    log.reset();
    expect(log.first(a.cause)).toBe(true);
  });
});
