/** The simulator counts chunk bytes on the wire outside the node, in both getChunks reply forms. */
import { describe, expect, it } from 'vitest';
import { ObservedTransport } from '../../src/sim/observed-transport.js';
import type { Transport } from '../../src/transport/types.js';

function replying(reply: unknown): Transport {
  return { address: 'me', listen: async () => 'me', close: async () => {}, call: async () => reply };
}

describe('ObservedTransport', () => {
  it('counts the chunks of listed and in-order getChunks replies, and nothing of other calls', async () => {
    const listed = new ObservedTransport(replying({ chunks: [{ address: 'a'.repeat(40), data: new Uint8Array(5) }], missing: [] }));
    await listed.call('peer', 'getChunks', {});
    expect(listed.received).toMatchObject({ fetchedBytes: 5, fetchedChunks: 1 });

    const inOrder = new ObservedTransport(replying({ inOrder: [new Uint8Array(3), null, new Uint8Array(4)] }));
    await inOrder.call('peer', 'getChunks', {});
    expect(inOrder.received).toMatchObject({ fetchedBytes: 7, fetchedChunks: 2 });

    await inOrder.call('peer', 'inventory', {});
    expect(inOrder.received).toMatchObject({ fetchedBytes: 7, fetchedChunks: 2 });
  });
});
