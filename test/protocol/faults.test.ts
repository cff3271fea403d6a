/** One reading of a failed call for every component that calls peers. */
import { describe, expect, it } from 'vitest';
import { AtlasError, ErrorCodes, errorFromWire, type ErrorCode } from '../../src/errors.js';
import { asAtlasError, classifyFailure, type CallFailure } from '../../src/protocol/faults.js';

const failureOf = (code: ErrorCode, signal?: AbortSignal) => classifyFailure(new AtlasError(code, 'x'), signal);

describe('classifyFailure', () => {
  it('reads bad replies as faults, BUSY as busy, TIMEOUT as slow, and everything else as unreachable', () => {
    const table: [ErrorCode, CallFailure][] = [
      [ErrorCodes.BAD_REPLY, 'fault'],
      [ErrorCodes.BUSY, 'busy'],
      [ErrorCodes.TIMEOUT, 'slow'],
      [ErrorCodes.UNREACHABLE, 'unreachable'],
      [ErrorCodes.BLOCKED, 'unreachable'],
      [ErrorCodes.ADDRESS_REFUSED, 'unreachable'],
      [ErrorCodes.INTERNAL, 'unreachable'],
    ];
    for (const [code, failure] of table) expect([code, failureOf(code)]).toEqual([code, failure]);
    expect(classifyFailure(new TypeError('not ours'))).toBe('unreachable');
  });

  it('excuses a call only when our own signal gave it up, never for a code the peer sent', () => {
    for (const code of [ErrorCodes.ABORTED, ErrorCodes.CLOSED]) expect(failureOf(code)).toBe('unreachable');
    const controller = new AbortController();
    controller.abort();
    expect(failureOf(ErrorCodes.BAD_REPLY, controller.signal)).toBe('aborted');
    expect(failureOf(ErrorCodes.TIMEOUT, new AbortController().signal)).toBe('slow');
  });

  it('keeps an AtlasError as it is and wraps anything else as INTERNAL, its cause kept', () => {
    const error = new AtlasError(ErrorCodes.TIMEOUT, 'late');
    expect(asAtlasError(error)).toBe(error);
    const wrapped = asAtlasError(new RangeError('odd'));
    expect([wrapped.code, wrapped.message, (wrapped.cause as Error).message]).toEqual([ErrorCodes.INTERNAL, 'RangeError: odd', 'odd']);
  });
});

describe('errorFromWire', () => {
  it('keeps a known code and at most 500 characters of the message, without control characters; an invented code is BAD_REPLY', () => {
    const error = errorFromWire({ code: 'BAD_REQUEST', message: '\x1b]0;owned\x07\x1b[2Jclear\u009bscreen' + 'x'.repeat(600) });
    expect(error.code).toBe(ErrorCodes.BAD_REQUEST);
    expect(error.message).toHaveLength(500);
    expect(error.message.startsWith('?]0;owned??[2Jclear?screen')).toBe(true);
    expect(errorFromWire({ code: 'PWNED', message: 'hi' }).code).toBe(ErrorCodes.BAD_REPLY);
    expect(errorFromWire({ code: 'BUSY', message: 'later', retryAfterMs: 1_500 }).details).toEqual({ retryAfterMs: 1_500 });
  });
});
