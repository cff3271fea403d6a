/** What the chain adapter counts (ChainAdapter.counts) shows in node.stats().chain, where an operator reads it. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { StacksObserverChain } from '../../src/chain/stacks/observer-chain.js';
import { AtlasNode } from '../../src/node/atlas-node.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { BNS, FakeChain } from '../stacks/fake-stacks-node.js';

describe('node.stats().chain', () => {
  it('shows the Stacks observer\'s counts: a block it could not place is there, not only in a log line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atlas-chain-counts-'));
    const chain = await StacksObserverChain.open({ dir: join(dir, 'stacks'), contracts: [BNS] });
    const node = await AtlasNode.open({ chain, transport: new MemoryNetwork().transport('a') });
    try {
      const fake = new FakeChain();
      chain.ingestBlock(fake.block([{ name: 'alice.id', op: 'name-register', zonefile: new Uint8Array(Buffer.from('$ORIGIN alice.id\n')) }]));
      chain.ingestBlock(fake.block([], `0x${'ee'.repeat(32)}`, 'orphan')); // a parent nobody delivered
      expect(node.stats().chain).toMatchObject({ blocks: 1, ignoredBlocks: 1, announcements: 1, badEvents: 0 });
    } finally {
      await node.close();
      await chain.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps only finite numbers, and leaves the field out when the adapter counts nothing or its counts() throws', async () => {
    const odd = Object.assign(new MemoryChain(), { counts: () => ({ reads: 3, label: 'x', broken: Number.NaN }) });
    const throwing = Object.assign(new MemoryChain(), {
      counts: () => {
        throw new Error('no counts today');
      },
    });
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (message: string) => void warnings.push(message) };
    const nodes = await Promise.all([odd, throwing, new MemoryChain()].map((chain, i) => AtlasNode.open({ chain, transport: new MemoryNetwork().transport(`n${i}`), logger })));
    try {
      expect(nodes.map((node) => node.stats().chain)).toEqual([{ reads: 3 }, undefined, undefined]);
      expect(warnings).toEqual(["the chain adapter's counts() threw"]);
    } finally {
      await Promise.all(nodes.map((node) => node.close()));
    }
  });
});
