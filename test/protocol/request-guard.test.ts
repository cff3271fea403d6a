/**
 * RequestGuard.wrap: every request it admits gives its slot back however the handler ends (a
 * value, a rejection, a synchronous throw), and every refusal or failure reaches the caller as a
 * rejected promise, never as an exception thrown at it.
 */
import { describe, expect, it } from 'vitest';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import { peerAddressNamed } from '../../src/peer-address.js';
import { RequestGuard } from '../../src/protocol/request-guard.js';
import type { ProtocolHandler } from '../../src/protocol/server.js';
import { systemClock } from '../../src/runtime.js';
import type { RequestContext } from '../../src/transport/types.js';

const context: RequestContext = { remote: 'a', caller: peerAddressNamed('a'), signal: new AbortController().signal };

async function outcome(promise: Promise<unknown>): Promise<unknown> {
  return promise.then((value) => ({ value }), (error: unknown) => ({ error: (error as AtlasError).code ?? String(error) }));
}

describe('RequestGuard.wrap', () => {
  it('releases the slot after a reply, a rejection and a synchronous throw, each a settled promise', async () => {
    const guard = new RequestGuard(systemClock, { maxConcurrentPerHost: 1 });
    const handlers: ProtocolHandler[] = [
      async () => 'ok',
      async () => {
        throw new AtlasError(ErrorCodes.BAD_REQUEST, 'no');
      },
      () => {
        throw new AtlasError(ErrorCodes.INTERNAL, 'thrown before any promise');
      },
    ];
    const outcomes: unknown[] = [];
    for (const handler of handlers) {
      let result: Promise<unknown> | undefined;
      expect(() => (result = guard.wrap(handler)('ping', {}, context))).not.toThrow();
      outcomes.push(await outcome(result as Promise<unknown>));
      expect(guard.stats().inFlight).toBe(0);
    }
    expect(outcomes).toEqual([{ value: 'ok' }, { error: ErrorCodes.BAD_REQUEST }, { error: ErrorCodes.INTERNAL }]);
  });

  it('refuses with a rejected BUSY while the host holds its slots, and admits again once one is free', async () => {
    const guard = new RequestGuard(systemClock, { maxConcurrentPerHost: 1 });
    let finish: (value: unknown) => void = () => undefined;
    const slow = guard.wrap(() => new Promise((resolve) => (finish = resolve)))('ping', {}, context);
    let refused: Promise<unknown> | undefined;
    expect(() => (refused = guard.wrap(async () => 'never')('ping', {}, context))).not.toThrow();
    expect(await outcome(refused as Promise<unknown>)).toEqual({ error: ErrorCodes.BUSY });
    finish('done');
    expect(await slow).toBe('done');
    expect(await guard.wrap(async () => 'again')('ping', {}, context)).toBe('again');
    expect(guard.stats().inFlight).toBe(0);
  });
});
