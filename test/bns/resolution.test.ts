/** What a resolution carries: the zone file's bytes at once, its records when first read (the routes send the bytes and never read them). */
import { describe, expect, it } from 'vitest';
import { NameResolver } from '../../src/bns/names.js';
import { MemoryChain } from '../../src/chain/memory.js';
import { hash160Hex } from '../../src/hash/index.js';

describe('a resolution', () => {
  it('parses its zone file only when its records, origin or parse error are first read, and then once', async () => {
    const good = new Uint8Array(Buffer.from('$ORIGIN alice.id\n$TTL 3600\n_http._tcp IN URI 10 1 "https://example.org/a.json"\n'));
    const bad = new Uint8Array(Buffer.from('$ORIGIN bob.id\nthis is not a record\n'));
    const chain = new MemoryChain();
    chain.announce([
      { address: hash160Hex(good), key: 'alice.id' },
      { address: hash160Hex(bad), key: 'bob.id' },
    ]);
    const held = new Map([good, bad].map((file) => [hash160Hex(file), file]));
    const names = new NameResolver({ chain, chunk: (address) => held.get(address) });
    const alice = await names.resolve('alice.id');
    expect(alice.zonefile).toBe(good);
    // Not parsed yet: each is a getter that has not run.
    for (const key of ['records', 'origin', 'parseError'] as const) expect(typeof Object.getOwnPropertyDescriptor(alice, key)?.get).toBe('function');
    expect(alice.origin).toBe('alice.id');
    expect(alice.records).toEqual([{ name: '_http._tcp', type: 'URI', priority: 10, weight: 1, target: 'https://example.org/a.json' }]);
    expect(alice.records).toBe(alice.records); // parsed once
    expect(alice.parseError).toBeUndefined();
    const bob = await names.resolve('bob.id');
    expect(bob.parseError).toMatch(/line 2/);
    expect(bob.records).toBeUndefined();
    // Serialised, it reads as before: the fields a zone file gives, and no others.
    expect(JSON.parse(JSON.stringify(alice))).toMatchObject({ name: 'alice.id', status: 'ok', origin: 'alice.id', records: [{ type: 'URI' }] });
    expect(Object.keys(JSON.parse(JSON.stringify(bob)))).not.toContain('records');
  });
});
