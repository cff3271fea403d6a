/** The legacy layer's calls to the node: none runs once the client of the request has gone. */
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { callNode } from '../../src/legacy/node-calls.js';
import { UNKNOWN_CALLER } from '../../src/peer-address.js';

describe('callNode', () => {
  it('refuses with ABORTED, calling nothing, once the request\'s signal has aborted; passes `admitted` on otherwise', async () => {
    const calls: unknown[] = [];
    const service = { handle: async (_method: string, _params: unknown, context: unknown) => (calls.push(context), { sequenceLength: 0 }) };
    const gone = new AbortController();
    gone.abort();
    await expect(callNode({ service, caller: UNKNOWN_CALLER, remote: 'x', signal: gone.signal, admitted: true }, 'inventory', { offset: 0, length: 0 })).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
    expect(calls).toEqual([]);
    await callNode({ service, caller: UNKNOWN_CALLER, remote: 'x', signal: new AbortController().signal, admitted: true }, 'inventory', { offset: 0, length: 0 });
    expect(calls).toEqual([expect.objectContaining({ admitted: true })]);
  });
});
