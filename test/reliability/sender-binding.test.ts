/** Every `from` a peer states is bound to the connection it came on (protocol/sender-check.ts). */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { ErrorCodes } from '../../src/errors.js';
import { AtlasNode } from '../../src/node/index.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { checkSender } from '../../src/protocol/sender-check.js';
import { seededRandom } from '../../src/runtime.js';
import { generateChunks } from '../../src/sim/workload.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { contextFrom } from '../support/caller.js';

const nodes: AtlasNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((node) => node.close()));
});

describe('sender binding', () => {
  const seen: unknown[] = [];
  const handler = checkSender(async (_method, params) => {
    seen.push(params);
    return 'ok';
  });

  it('refuses offer, inventoryChanges and putChunks in another host’s name; allows the caller’s own', async () => {
    for (const method of ['offer', 'inventoryChanges', 'putChunks']) {
      await expect(handler(method, { from: '203.0.113.9:6264' }, contextFrom('198.51.100.7:51000'))).rejects.toMatchObject({ code: ErrorCodes.BAD_REQUEST });
      await expect(handler(method, { from: '198.51.100.7:6264' }, contextFrom('198.51.100.7:51000'))).resolves.toBe('ok');
    }
  });

  it('drops a ping’s or peers’ `from` naming another host, and answers as if it named nobody', async () => {
    for (const method of ['ping', 'peers']) {
      seen.length = 0;
      await expect(handler(method, { network: 'n', from: '203.0.113.9:6264' }, contextFrom('198.51.100.7:51000'))).resolves.toBe('ok');
      expect(seen[0]).toEqual({ network: 'n' });
      await handler(method, { network: 'n', from: '198.51.100.7:6264' }, contextFrom('198.51.100.7:51000'));
      expect(seen[1]).toEqual({ network: 'n', from: '198.51.100.7:6264' });
    }
  });

  it('a node never queues a candidate, nor credits a push, in a third party’s name', async () => {
    const [chunk] = generateChunks(1, seededRandom(7));
    const chain = new MemoryChain();
    chain.announce([chunk!.address]);
    const network = new MemoryNetwork();
    // The local policy lets bare names in: the binding, not the policy, must keep 'innocent' out.
    const node = await AtlasNode.open({ chain, transport: network.transport('target'), network: 'testnet', addressPolicy: LOCAL_ADDRESS_POLICY });
    nodes.push(node);
    await node.start();
    const attacker = new ProtocolClient(network.transport('attacker'));
    await attacker.ping('target', { network: 'testnet', sequenceLength: 1, from: 'innocent' });
    await attacker.peers('target', { from: 'innocent' });
    expect(node.stats().pendingPeers).toBe(0);
    await expect(attacker.putChunks('target', { chunks: [chunk!.data], from: 'innocent' })).rejects.toMatchObject({ code: ErrorCodes.BAD_REQUEST });
    expect(node.stats().chunks).toBe(0);
    // In its own name the same calls work.
    await attacker.ping('target', { network: 'testnet', sequenceLength: 1, from: 'attacker' });
    expect(node.stats().pendingPeers).toBe(1);
    expect((await attacker.putChunks('target', { chunks: [chunk!.data], from: 'attacker' })).saved).toEqual([true]);
  });
});
