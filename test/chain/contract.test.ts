import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { DevChain } from '../../src/chain/dev.js';
import { MemoryChain } from '../../src/chain/memory.js';
import { StacksObserverChain } from '../../src/chain/stacks/observer-chain.js';
import { hash160Hex } from '../../src/hash/index.js';
import { FakeChain } from '../stacks/fake-stacks-node.js';
import { chainAdapterContract } from './contract.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-chain-contract-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const zonefile = (key: string) => new Uint8Array(Buffer.from(`$ORIGIN ${key}\n$TTL 3600\n_http._tcp IN URI 10 1 "https://example.com/${counter++}"\n`));

chainAdapterContract('MemoryChain', async () => {
  const chain = new MemoryChain();
  return {
    chain,
    announce: async (keys) => chain.announce(keys.map((key) => ({ address: hash160Hex(zonefile(key)), key }))).map((a) => a.address),
    rollback: async (length) => chain.rollback(length),
    dispose: () => chain.close(),
  };
});

chainAdapterContract('DevChain', async () => {
  const chain = await DevChain.open(join(root, `dev-${counter++}.jsonl`));
  return {
    chain,
    announce: async (keys) => (await chain.announce(keys.map((key) => ({ address: hash160Hex(zonefile(key)), key })))).map((a) => a.address),
    rollback: (length) => chain.rollback(length),
    dispose: () => chain.close(),
  };
});

chainAdapterContract('StacksObserverChain', async () => {
  const chain = await StacksObserverChain.open({ dir: join(root, `stacks-${counter++}`) });
  const fake = new FakeChain();
  /** Canonical blocks and the sequence length at their end. */
  const ends: { hash: string; end: number }[] = [];
  return {
    chain,
    async announce(keys) {
      // One block per name, so that any length is a block boundary a fork can start from.
      return keys.map((name) => {
        const file = zonefile(name);
        const payload = fake.block([{ name, op: 'name-register', zonefile: file }], ends.at(-1)?.hash);
        chain.ingestBlock(payload);
        ends.push({ hash: payload.index_block_hash as string, end: (ends.at(-1)?.end ?? 0) + 1 });
        return hash160Hex(file);
      });
    },
    async rollback(length) {
      // A fork from the last block ending at or before `length` that outgrows the tip.
      while ((ends.at(-1)?.end ?? 0) > length) ends.pop();
      let parent = ends.at(-1)?.hash ?? fake.block([], undefined, `root-${counter++}`).index_block_hash as string;
      if (ends.length === 0) chain.ingestBlock(fake.blocks.get(parent)?.payload);
      const target = fake.height + 1;
      while ((fake.blocks.get(parent)?.height ?? 0) < target) {
        const payload = fake.block([], parent, `fork-${counter++}`);
        chain.ingestBlock(payload);
        parent = payload.index_block_hash as string;
      }
      ends.push({ hash: parent, end: length });
    },
    dispose: () => chain.close(),
  };
});
