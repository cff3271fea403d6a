/** Every request carries a caller; one a transport cannot identify is UNKNOWN_CALLER, never undefined. */
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { callNode } from '../../src/legacy/node-calls.js';
import { UNKNOWN_CALLER, formatCaller, parsePeerAddress, peerAddressNamed, type Caller } from '../../src/peer-address.js';
import { RequestGuard } from '../../src/protocol/request-guard.js';
import { checkSender, senderMatches } from '../../src/protocol/sender-check.js';
import { systemClock } from '../../src/runtime.js';
import { callerOf } from '../../src/transport/http-io.js';
import { hostKey } from '../../src/transport/rate-limit.js';
import type { RequestContext } from '../../src/transport/types.js';

const socket = (remoteAddress: string | undefined, remotePort: number | undefined) => ({ remoteAddress, remotePort });
const unknown = (): RequestContext => ({ caller: UNKNOWN_CALLER, remote: formatCaller(UNKNOWN_CALLER) });

describe('the caller of a request', () => {
  it('is the socket address over HTTP, and UNKNOWN_CALLER once the socket has lost it', () => {
    expect(callerOf(socket('192.0.2.1', 5000))).toEqual({ host: '192.0.2.1', port: 5000, family: 4 });
    expect(callerOf(socket('2001:db8::1', 5000))).toEqual({ host: '2001:db8::1', port: 5000, family: 6 });
    expect(callerOf(socket(undefined, undefined))).toBe(UNKNOWN_CALLER);
  });

  it('when unknown, has a text form no peer address reads as, and a limit key no node name takes', () => {
    expect(formatCaller(UNKNOWN_CALLER)).toBe('[unknown]');
    expect(parsePeerAddress(formatCaller(UNKNOWN_CALLER))).toBeUndefined();
    expect(hostKey(UNKNOWN_CALLER)).not.toBe(hostKey(peerAddressNamed('unknown')));
  });

  it('when unknown, shares one per-host bound with every other unknown caller', () => {
    const guard = new RequestGuard(systemClock, { maxConcurrent: 10, maxConcurrentPerHost: 1 });
    const release = guard.enter(UNKNOWN_CALLER, 'ping');
    expect(() => guard.enter(UNKNOWN_CALLER, 'ping')).toThrow(expect.objectContaining({ code: ErrorCodes.BUSY }));
    guard.enter(peerAddressNamed('unknown'), 'ping')(); // a node that happens to be named so is another host
    release();
    guard.enter(UNKNOWN_CALLER, 'ping')();
  });

  it('when unknown, vouches for no sender: a sender-bound request is refused, a hint dropped', async () => {
    expect(senderMatches('192.0.2.1:6264', UNKNOWN_CALLER)).toBe(false);
    expect(senderMatches('[unknown]', UNKNOWN_CALLER)).toBe(false);
    const seen: unknown[] = [];
    const handler = checkSender(async (_method, params) => seen.push(params));
    await expect(handler('offer', { from: '192.0.2.1:6264' }, unknown())).rejects.toMatchObject({ code: ErrorCodes.BAD_REQUEST });
    await handler('ping', { network: 'n', from: '192.0.2.1:6264' }, unknown());
    expect(seen).toEqual([{ network: 'n' }]);
  });

  it('reaches the node unchanged through the legacy API', async () => {
    const callers: Caller[] = [];
    const service = { handle: async (_method: string, _params: unknown, context: RequestContext) => callers.push(context.caller) };
    const caller = peerAddressNamed('198.51.100.4:7000');
    await callNode({ service, caller, remote: formatCaller(caller) }, 'inventory', { offset: 0, length: 0 });
    await callNode({ service, caller: UNKNOWN_CALLER, remote: '[unknown]' }, 'inventory', { offset: 0, length: 0 });
    expect(callers).toEqual([caller, UNKNOWN_CALLER]);
  });
});
