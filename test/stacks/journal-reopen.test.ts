/** A compacted observer journal replays to the same sequence on every later open, not only the first. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StacksObserverChain } from '../../src/chain/stacks/observer-chain.js';
import { BNS, FakeChain } from './fake-stacks-node.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-journal-reopen-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const zone = (n: number) => new Uint8Array(Buffer.from(`$ORIGIN n${n}.id\n`));

describe('StacksObserverChain journal compaction', () => {
  it('keeps the sequence and the tip over two reopenings after a compaction', async () => {
    const dir = join(root, 'a');
    let chain = await StacksObserverChain.open({ dir, contracts: [BNS], reorgWindow: 10 });
    const fake = new FakeChain();
    for (let i = 0; i < 3_000; i++) chain.ingestBlock(fake.block(i % 100 === 0 ? [{ name: `n${i}.id`, op: 'name-register', zonefile: zone(i) }] : []));
    const sequence = await chain.read(0, 100);
    const tip = chain.tip;
    await chain.close();
    for (let open = 0; open < 2; open++) {
      chain = await StacksObserverChain.open({ dir, contracts: [BNS], reorgWindow: 10 });
      expect(await chain.read(0, 100)).toEqual(sequence);
      expect(chain.tip).toEqual(tip);
      await chain.close();
    }
    chain = await StacksObserverChain.open({ dir, contracts: [BNS], reorgWindow: 10 });
    chain.ingestBlock(fake.block([{ name: 'late.id', op: 'name-register', zonefile: zone(9_999) }]));
    expect((await chain.read(30, 1))[0]).toMatchObject({ key: 'late.id', position: 30 });
    await chain.close();
  });
});
