import { describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import type { ChainEvent } from '../../src/chain/types.js';
import { isAtlasError } from '../../src/errors.js';

const addr = (i: number) => i.toString(16).padStart(40, '0');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isAtlasError(error) ? error.code : `not an AtlasError: ${String(error)}`;
  }
  return undefined;
}

describe('MemoryChain', () => {
  it('appends addresses and objects at consecutive positions, normalising case', async () => {
    const chain = new MemoryChain();
    expect(chain.announce('AB'.repeat(20))).toEqual([{ position: 0, address: 'ab'.repeat(20) }]);
    const added = chain.announce([{ address: addr(2), key: 'alice.id', height: 7, txid: 'ab' }, addr(3)]);
    expect(added).toEqual([
      { position: 1, address: addr(2), key: 'alice.id', height: 7, txid: 'ab' },
      { position: 2, address: addr(3) },
    ]);
    expect(await chain.length()).toBe(3);
    expect(chain.size).toBe(3);
    expect(await chain.read(1, 10)).toEqual(added);
    expect((await chain.read(0, 1))[0]?.address).toBe('ab'.repeat(20));
    expect(await chain.read(3, 10)).toEqual([]);
    expect(await chain.read(0, 0)).toEqual([]);
    expect(chain.announce([])).toEqual([]);
    const seeded = new MemoryChain({ announcements: [addr(9), addr(8)] });
    expect((await seeded.read(0, 5)).map((a) => a.address)).toEqual([addr(9), addr(8)]);
  });

  it('refuses malformed announcements without appending any of the batch', () => {
    const chain = new MemoryChain();
    expect(codeOf(() => chain.announce('xyz'))).toBe('BAD_ADDRESS');
    expect(codeOf(() => chain.announce([addr(1), { address: 'nope' }]))).toBe('BAD_ADDRESS');
    expect(codeOf(() => chain.announce([addr(1), 42 as unknown as string]))).toBe('BAD_ANNOUNCEMENT');
    expect(codeOf(() => chain.announce({ address: addr(1), height: -1 }))).toBe('BAD_ANNOUNCEMENT');
    expect(codeOf(() => chain.announce({ address: addr(1), key: 'k'.repeat(2_000) }))).toBe('BAD_ANNOUNCEMENT');
    expect(codeOf(() => chain.announce({ address: addr(1), txid: 5 as unknown as string }))).toBe('BAD_ANNOUNCEMENT');
    expect(chain.size).toBe(0);
  });

  it('caps reads at maxReadLimit and checks read arguments', async () => {
    const chain = new MemoryChain({ maxReadLimit: 3 });
    chain.announce(Array.from({ length: 10 }, (_, i) => addr(i)));
    expect((await chain.read(2, 100)).map((a) => a.position)).toEqual([2, 3, 4]);
    await expect(chain.read(-1, 1)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(chain.read(0, 1.5)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const aborted = AbortSignal.abort();
    await expect(chain.read(0, 1, { signal: aborted })).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(chain.length({ signal: aborted })).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('tells subscribers about appends and rollbacks, in order, until they unsubscribe', async () => {
    const chain = new MemoryChain();
    const seen: ChainEvent[] = [];
    const other: ChainEvent[] = [];
    const unsubscribe = chain.subscribe((e) => seen.push(e));
    const listener = (e: ChainEvent) => other.push(e);
    chain.subscribe(listener);
    chain.subscribe(() => {
      throw new Error('a broken listener does not break the chain');
    });
    chain.announce([addr(1), addr(2), addr(3)]);
    chain.rollback(1);
    chain.rollback(1); // no change, no event
    chain.announce(addr(4));
    unsubscribe();
    chain.unsubscribe(listener);
    chain.announce(addr(5));
    expect(seen).toEqual([
      { type: 'append', announcements: [0, 1, 2].map((p) => ({ position: p, address: addr(p + 1) })) },
      { type: 'rollback', length: 1 },
      { type: 'append', announcements: [{ position: 1, address: addr(4) }] },
    ]);
    expect(other).toEqual(seen);
    expect((await chain.read(0, 10)).map((a) => a.address)).toEqual([addr(1), addr(4), addr(5)]);
    expect(codeOf(() => chain.rollback(4))).toBe('BAD_REQUEST');
    expect(codeOf(() => chain.rollback(-1))).toBe('BAD_REQUEST');
  });

  it('hands out announcements nobody can change behind its back', async () => {
    const chain = new MemoryChain();
    chain.announce(addr(1));
    const [read] = await chain.read(0, 1);
    expect(() => {
      (read as { address: string }).address = addr(2);
    }).toThrow();
    expect(chain.at(0)?.address).toBe(addr(1));
  });

  it('refuses use once closed', async () => {
    const chain = new MemoryChain();
    await chain.close();
    expect(codeOf(() => chain.announce(addr(1)))).toBe('CLOSED');
    await expect(chain.length()).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
