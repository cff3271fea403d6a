/** The legacy layer's calls to the node go through the node's service with the request's caller, signal and admission. */
import { describe, expect, it } from 'vitest';
import { callNode } from '../../src/legacy/node-calls.js';
import { UNKNOWN_CALLER } from '../../src/peer-address.js';

describe('callNode', () => {
  it('passes the caller, the signal and `admitted` on (the guard refuses an admitted call whose request has gone)', async () => {
    const calls: unknown[] = [];
    const service = { handle: async (_method: string, _params: unknown, context: unknown) => (calls.push(context), { sequenceLength: 0 }) };
    const signal = new AbortController().signal;
    await callNode({ service, caller: UNKNOWN_CALLER, remote: 'x', signal, admitted: true }, 'inventory', { offset: 0, length: 0 });
    await callNode({ service, caller: UNKNOWN_CALLER, remote: 'x' }, 'inventory', { offset: 0, length: 0 });
    expect(calls).toEqual([{ caller: UNKNOWN_CALLER, remote: 'x', signal, admitted: true }, { caller: UNKNOWN_CALLER, remote: 'x' }]);
  });
});
