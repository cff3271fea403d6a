/** Fork choice and bounded memory: old blocks are forgotten, the journal is compacted as blocks come. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JOURNAL_FILE } from '../../src/chain/stacks/journal.js';
import { StacksObserverChain } from '../../src/chain/stacks/observer-chain.js';
import { BNS, FakeChain } from './fake-stacks-node.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-block-tree-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const zone = (n: number) => new Uint8Array(Buffer.from(`$ORIGIN n${n}.id\n`));

describe('StacksObserverChain block tree', () => {
  it('forgets blocks past the reorg window, compacts its journal as blocks come and keeps the sequence', async () => {
    const dir = join(root, 'a');
    let chain = await StacksObserverChain.open({ dir, contracts: [BNS], reorgWindow: 10 });
    const fake = new FakeChain();
    const journalLines = () => readFileSync(join(dir, JOURNAL_FILE), 'utf8').trim().split('\n').length;
    let longest = 0;
    for (let i = 0; i < 3_000; i++) {
      chain.ingestBlock(fake.block(i % 100 === 0 ? [{ name: `n${i}.id`, op: 'name-register', zonefile: zone(i) }] : []));
      if (i % 500 === 499) longest = Math.max(longest, journalLines());
    }
    const sequence = await chain.read(0, 100);
    expect(sequence).toHaveLength(30);
    // Named blocks and the recent window, and at most 2,000 records more (twice what is retained
    // plus 1,000, checked every 1,000 blocks): the journal was rewritten at 2,000 blocks.
    expect(longest).toBeLessThanOrEqual(2_000);
    expect(journalLines()).toBeLessThan(1_500);
    await chain.close();
    chain = await StacksObserverChain.open({ dir, contracts: [BNS], reorgWindow: 10 });
    expect(await chain.read(0, 100)).toEqual(sequence);
    // it goes on from the same tip after the compaction
    chain.ingestBlock(fake.block([{ name: 'late.id', op: 'name-register', zonefile: zone(9_999) }]));
    expect((await chain.read(30, 1))[0]).toMatchObject({ key: 'late.id', position: 30 });
    await chain.close();
  });

  it('takes a redelivered block older than the reorg window as the duplicate it is: journaled once', async () => {
    const dir = join(root, 'redelivered');
    const chain = await StacksObserverChain.open({ dir, contracts: [BNS], reorgWindow: 100 });
    const fake = new FakeChain();
    chain.ingestBlock(fake.block([{ name: 'a.id', op: 'name-register', zonefile: zone(1) }]));
    const named = fake.block([{ name: 'b.id', op: 'name-register', zonefile: zone(2) }]);
    chain.ingestBlock(named);
    const nameless = fake.block([]); // its parent is the named block, which stays remembered
    chain.ingestBlock(nameless);
    for (let i = 0; i < 700; i++) chain.ingestBlock(fake.block([])); // past the window: the named block is pruned to the canonical index, the nameless one forgotten
    const journalLines = () => readFileSync(join(dir, JOURNAL_FILE), 'utf8').trim().split('\n').length;
    const before = { lines: journalLines(), blocks: chain.stats.blocks, ignored: chain.stats.ignoredBlocks };
    // A stacks-node retrying or replaying old payloads.
    for (let i = 0; i < 5; i++) {
      chain.ingestBlock(named);
      chain.ingestBlock(nameless);
    }
    expect(journalLines()).toBe(before.lines);
    expect(chain.stats).toMatchObject({ blocks: before.blocks, duplicateBlocks: 5, ignoredBlocks: before.ignored + 5 });
    expect((await chain.read(0, 10)).map((a) => a.key)).toEqual(['a.id', 'b.id']);
    await chain.close();
  });

  it('ignores a fork from before the reorg window', async () => {
    const chain = await StacksObserverChain.open({ dir: join(root, 'b'), contracts: [BNS], reorgWindow: 5 });
    const fake = new FakeChain();
    const first = fake.block([{ name: 'a.id', op: 'name-register', zonefile: zone(1) }]);
    chain.ingestBlock(first);
    let mainTip = '';
    for (let i = 0; i < 300; i++) {
      const block = fake.block([]);
      chain.ingestBlock(block);
      mainTip = block.index_block_hash as string;
    }
    // a fork from `first`, longer than the chain: beyond the window, so never canonical
    let parent = first.index_block_hash as string;
    for (let i = 0; i < 305; i++) {
      const block = fake.block(i === 0 ? [{ name: 'b.id', op: 'name-register', zonefile: zone(2) }] : [], parent, `deep-${i}`);
      chain.ingestBlock(block);
      parent = block.index_block_hash as string;
    }
    expect((await chain.read(0, 10)).map((a) => a.key)).toEqual(['a.id']);
    expect(chain.tip?.hash).toBe(mainTip);
    await chain.close();
  });

  it('follows a one-block fork whatever the reorg window: the bound counts side blocks, not the recent canonical ones', async () => {
    // 240 blocks in a line: with a window of 50, about 50 + 240 recent canonical blocks are kept
    // until the next prune, more than 4 x 50, and the fork was refused as "too many side blocks".
    const chain = await StacksObserverChain.open({ dir: join(root, 'small-window'), contracts: [BNS], reorgWindow: 50 });
    const fake = new FakeChain();
    let parentOfTip = '';
    for (let i = 0; i < 240; i++) {
      const block = fake.block([]);
      parentOfTip = block.parent_index_block_hash as string;
      chain.ingestBlock(block);
    }
    const sibling = fake.block([{ name: 'x.id', op: 'name-update', zonefile: zone(9) }], parentOfTip, 'sibling');
    chain.ingestBlock(sibling);
    const child = fake.block([], sibling.index_block_hash as string, 'child');
    chain.ingestBlock(child);
    expect(chain.stats.ignoredBlocks).toBe(0);
    expect(chain.tip?.hash).toBe(child.index_block_hash);
    expect((await chain.read(0, 10)).map((a) => a.key)).toEqual(['x.id']);
    await chain.close();
  });

  it('takes a fork that wins after a long run of stale one-block forks: those below the window do not fill the side-block bound', async () => {
    // A losing sibling every 4th height: 47 of them by height 190, past 4 x 10, though all but
    // the last few are below the window and can never win. Counted, they had the winning fork's
    // first block refused, then every later block as "parent unknown": the tip froze for good.
    const chain = await StacksObserverChain.open({ dir: join(root, 'stale-forks'), contracts: [BNS], reorgWindow: 10 });
    const fake = new FakeChain();
    for (let height = 1; height <= 190; height++) {
      const parent = fake.tip;
      const canonical = fake.block([], parent);
      chain.ingestBlock(canonical);
      if (height % 4 === 0) chain.ingestBlock(fake.block([], parent, `stale-${height}`));
      fake.tip = canonical.index_block_hash as string;
    }
    const forkBase = fake.blocks.get(chain.tip!.hash)!.payload.parent_index_block_hash as string;
    const first = fake.block([], forkBase, 'fork-1');
    let last = fake.block([{ name: 'alice.id', op: 'name-register', zonefile: zone(1) }], first.index_block_hash as string, 'fork-2');
    chain.ingestBlock(first);
    chain.ingestBlock(last);
    for (let i = 0; i < 20; i++) chain.ingestBlock((last = fake.block([], last.index_block_hash as string, `after-${i}`)));
    expect(chain.stats.ignoredBlocks).toBe(0);
    expect(chain.tip).toMatchObject({ hash: last.index_block_hash, height: 211 });
    expect((await chain.read(0, 10)).map((a) => a.key)).toEqual(['alice.id']);
    await chain.close();
  });

  it('ignores blocks that cannot be placed: a forged height, an unknown parent, side blocks past the bound', async () => {
    const chain = await StacksObserverChain.open({ dir: join(root, 'forged'), contracts: [BNS], reorgWindow: 5 });
    const fake = new FakeChain();
    chain.ingestBlock(fake.block([{ name: 'a.id', op: 'name-register', zonefile: zone(1) }], undefined, 'A'));
    const first = fake.tip;
    chain.ingestBlock(fake.block([], first, 'B'));
    const realTip = fake.tip;
    // On the tip, but claiming a height far past its parent's: it would freeze the chain.
    const forged = fake.block([{ name: 'forged.id', op: 'name-register', zonefile: zone(2) }], realTip, 'forged');
    forged.block_height = Number.MAX_SAFE_INTEGER;
    chain.ingestBlock(forged);
    // A parent nobody delivered.
    chain.ingestBlock(fake.block([{ name: 'orphan.id', op: 'name-register', zonefile: zone(3) }], '0x' + 'ee'.repeat(32), 'orphan'));
    // Siblings of the tip (side blocks), far more than the 4 x reorgWindow blocks kept.
    for (let i = 0; i < 50; i++) chain.ingestBlock(fake.block([], first, `side${i}`));
    expect(chain.stats.ignoredBlocks).toBeGreaterThanOrEqual(2 + 50 - 4 * 5);
    // The real chain goes on from its tip.
    chain.ingestBlock(fake.block([{ name: 'b.id', op: 'name-register', zonefile: zone(4) }], realTip, 'C'));
    expect((await chain.read(0, 10)).map((a) => a.key)).toEqual(['a.id', 'b.id']);
    await chain.close();
  });
});
