/**
 * A malformed event from the chain adapter may have been a rollback the resolver cannot read: the
 * resolver reads the chain again from the start, since comparing the last entry misses a
 * reorganisation whose last transaction was mined again.
 */
import { describe, expect, it } from 'vitest';
import { NameResolver } from '../../src/bns/names.js';
import type { Announcement, ChainAdapter, ChainListener } from '../../src/chain/types.js';
import { hash160Hex } from '../../src/hash/index.js';

/** A chain whose announcements the test rewrites, telling subscribers whatever it likes. */
class RewritableChain implements ChainAdapter {
  announcements: Announcement[] = [];
  listeners = new Set<ChainListener>();
  async length(): Promise<number> {
    return this.announcements.length;
  }
  async read(from: number, limit: number): Promise<Announcement[]> {
    return this.announcements.slice(from, from + limit);
  }
  subscribe(listener: ChainListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  tell(event: unknown): void {
    for (const listener of this.listeners) listener(event as Parameters<ChainListener>[0]);
  }
}

const zone = (text: string) => new Uint8Array(Buffer.from(`$ORIGIN ${text}\n`));

describe('NameResolver and a malformed chain event', () => {
  it('reads the chain again from the start: a reorganisation ending in the same transaction is seen', async () => {
    const files = [zone('bob.id'), zone('bob.id again'), zone('alice.id')];
    const byHash = new Map(files.map((file) => [hash160Hex(file), file]));
    const chain = new RewritableChain();
    const alice = { position: 1, address: hash160Hex(files[2]!), key: 'alice.id', txid: '0xa1' };
    chain.announcements = [{ position: 0, address: hash160Hex(files[0]!), key: 'bob.id', txid: '0xb1' }, alice];
    const names = new NameResolver({ chain, chunk: (address) => byHash.get(address) });
    try {
      expect((await names.resolve('bob.id')).zonefileHash).toBe(hash160Hex(files[0]!));
      // A fork replaced bob's update and mined alice's transaction again, last as before; the
      // adapter's rollback event came out malformed.
      chain.announcements = [{ position: 0, address: hash160Hex(files[1]!), key: 'bob.id', txid: '0xb2' }, alice];
      chain.tell({ type: 'rollback', length: -1 });
      expect((await names.resolve('bob.id')).zonefileHash).toBe(hash160Hex(files[1]!));
    } finally {
      names.close();
    }
  });
});
