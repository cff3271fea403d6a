/**
 * A position announcing NO_CHUNK_ADDRESS binds nothing (BNS: a name revoked, or transferred without
 * a zone file): no chunk can hash to it, so it counts neither as held nor as missing, and a node
 * that holds every other announced chunk is synced.
 */
import { describe, expect, it } from 'vitest';
import { NO_CHUNK_ADDRESS } from '../../src/address.js';
import { MemoryChain } from '../../src/chain/memory.js';
import { hash160Hex } from '../../src/hash/index.js';
import { AtlasNode } from '../../src/node/atlas-node.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { waitFor } from '../support/wait.js';

describe('positions that name no chunk', () => {
  it('are left out of total and missing: holding every other chunk, the node is synced, says so once, and whenSynced resolves', async () => {
    const chunks = ['alice', 'bob'].map((name) => new Uint8Array(Buffer.from(`$ORIGIN ${name}.id\n`)));
    const chain = new MemoryChain();
    chain.announce([hash160Hex(chunks[0]!), NO_CHUNK_ADDRESS, hash160Hex(chunks[1]!), NO_CHUNK_ADDRESS]);
    const node = await AtlasNode.open({ chain, transport: new MemoryNetwork().transport('a') });
    try {
      let synced = 0;
      node.on('synced', () => synced++);
      await node.start();
      expect(node.stats()).toMatchObject({ sequenceLength: 4, have: 0, total: 2 });
      await node.putChunks(chunks);
      await expect(node.whenSynced()).resolves.toEqual({ have: 2, total: 2, missing: 0 });
      expect(synced).toBe(1);
      expect(node.stats()).toMatchObject({ have: 2, total: 2 });
      expect(node.missing()).toEqual([]);
    } finally {
      await node.close();
    }
  });

  it('are counted again when the chain is reorganised to the same length: a position that now names a chunk counts in total', async () => {
    const chunks = ['alice', 'bob'].map((name) => new Uint8Array(Buffer.from(`$ORIGIN ${name}.id\n`)));
    const chain = new MemoryChain();
    chain.announce([hash160Hex(chunks[0]!), NO_CHUNK_ADDRESS]);
    const node = await AtlasNode.open({ chain, transport: new MemoryNetwork().transport('a') });
    try {
      await node.start();
      expect(node.progress()).toMatchObject({ total: 1 });
      chain.rollback(1);
      chain.announce([hash160Hex(chunks[1]!)]);
      await waitFor(() => node.progress().total === 2, 'the reorganised sequence counted', 5_000);
      expect(node.stats()).toMatchObject({ sequenceLength: 2, total: 2 });
    } finally {
      await node.close();
    }
  });
});
