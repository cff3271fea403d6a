/**
 * Never giving up on an announced zone file: an attachment that never arrives by /attachments/new
 * is fetched from a Stacks node's /v2/attachments/<hash> (or a mirror); a source whose bytes do not
 * hash to the address is refused; retries slow to a cap and never stop.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { StacksObserverChain } from '../../src/chain/stacks/observer-chain.js';
import { hash160Hex } from '../../src/hash/index.js';
import { AtlasNode } from '../../src/node/index.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { Backfiller } from '../../src/sync/sources/backfill.js';
import { mirrorSource, stacksNodeSource } from '../../src/sync/sources/http-sources.js';
import { attachmentSource } from '../../src/sync/sources/local-sources.js';
import type { ChunkSource } from '../../src/sync/sources/types.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { waitFor } from '../support/wait.js';
import { BNS, FakeChain, fakeStacksRpc } from './fake-stacks-node.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-backfill-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const zone = (name: string) => new Uint8Array(Buffer.from(`$ORIGIN ${name}\n$TTL 3600\n_http._tcp IN URI 10 1 "https://gaia.example/${name}.json"\n`));
const FAST = { intervalMs: 20, retryBaseMs: 40, retryMaxMs: 200, sourceTimeoutMs: 2_000, graceMs: 0 };

/** A virtual clock, a chain announcing `addresses`, and a store that follows it. */
async function announcing(addresses: string[]): Promise<{ clock: VirtualClock; chain: MemoryChain; store: MemoryChunkStore }> {
  const clock = new VirtualClock();
  const chain = new MemoryChain();
  const store = new MemoryChunkStore();
  await store.append(chain.announce(addresses));
  return { clock, chain, store };
}

describe('backfill from Stacks nodes and mirrors', () => {
  it('fetches a zone file /attachments/new never delivered from a Stacks node, refusing a lying one', async () => {
    const chain = await StacksObserverChain.open({ dir: join(root, 'a'), contracts: [BNS] });
    const fake = new FakeChain();
    const alice = zone('alice.id');
    chain.ingestBlock(fake.block([{ name: 'alice.id', op: 'name-register', zonefile: alice }]));
    fake.takeAttachments(); // never delivered
    const honestContent = new Map<string, Uint8Array>();
    const liar = await fakeStacksRpc('127.0.0.1', new Map([[hash160Hex(alice), alice]]), true);
    const honest = await fakeStacksRpc('127.0.0.1', honestContent);
    const node = await AtlasNode.open({
      chain,
      transport: new MemoryNetwork().transport('n'),
      sources: [attachmentSource(chain), stacksNodeSource(liar.url), stacksNodeSource(honest.url)],
      backfill: FAST,
      addressPolicy: LOCAL_ADDRESS_POLICY,
    });
    await node.start();
    try {
      expect(await node.resolve('alice.id')).toMatchObject({ status: 'zonefile-missing', zonefileHash: hash160Hex(alice) });
      // the liar answers, its bytes are refused; the honest node does not have it yet: keep trying
      await waitFor(() => (node.missing()[0]?.attempts ?? 0) >= 3, 'three rounds of attempts');
      const [missing] = node.missing();
      expect(missing).toMatchObject({ address: hash160Hex(alice), positions: [0] });
      expect(missing!.lastError).toMatch(/do not hash to the address/);
      expect(missing!.lastAttemptAt).toBeTypeOf('number');
      expect(missing!.ageMs).toBeGreaterThan(0);
      expect(node.zonefile(hash160Hex(alice))).toBeUndefined();
      honestContent.set(hash160Hex(alice), alice);
      await waitFor(async () => (await node.resolve('alice.id')).status === 'ok', 'alice.id to resolve');
      const resolved = await node.resolve('alice.id');
      expect(Buffer.from(resolved.zonefile!).equals(Buffer.from(alice))).toBe(true);
      expect(resolved.records).toEqual([{ name: '_http._tcp', type: 'URI', priority: 10, weight: 1, target: 'https://gaia.example/alice.id.json' }]);
      expect(node.missing()).toEqual([]);
      expect(honest.hits()).toBeGreaterThan(0);
    } finally {
      await node.close();
      await chain.close();
      await liar.close();
      await honest.close();
    }
  });

  it('takes the zone file from the observer as soon as /attachments/new delivers it', async () => {
    const chain = await StacksObserverChain.open({ dir: join(root, 'b'), contracts: [BNS] });
    const fake = new FakeChain();
    chain.ingestBlock(fake.block([{ name: 'bob.id', op: 'name-register', zonefile: zone('bob.id') }]));
    // a long back-off: only the observer's notification can make it due again quickly
    const node = await AtlasNode.open({ chain, transport: new MemoryNetwork().transport('n'), sources: [attachmentSource(chain)], backfill: { ...FAST, retryBaseMs: 60_000, retryMaxMs: 60_000 } });
    await node.start();
    try {
      await waitFor(() => (node.missing()[0]?.attempts ?? 0) >= 1, 'a first attempt');
      chain.ingestAttachments(fake.takeAttachments());
      await waitFor(async () => (await node.resolve('bob.id')).status === 'ok', 'bob.id to resolve', 5_000);
    } finally {
      await node.close();
      await chain.close();
    }
  });

  it('reads a mirror by URL template, bounded in size', async () => {
    const data = zone('carol.id');
    const server = http.createServer((req, res) => {
      if (req.url === `/v1/zonefiles/${hash160Hex(data)}`) res.end(data);
      else res.writeHead(200).end(Buffer.alloc(100_000));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const mirror = mirrorSource(`http://127.0.0.1:${port}/v1/zonefiles/{hash}`);
    const signal = AbortSignal.timeout(5_000);
    expect(Buffer.from((await mirror.fetch(hash160Hex(data), { signal, maxBytes: 40_960 }))!).equals(Buffer.from(data))).toBe(true);
    await expect(mirror.fetch('1'.repeat(40), { signal, maxBytes: 40_960 })).rejects.toMatchObject({ code: 'TOO_LARGE' });
    expect(() => mirrorSource('http://host/no-placeholder')).toThrow(/\{hash\}/);
    expect(() => stacksNodeSource('ftp://host')).toThrow(/http/);
    // Named by origin alone: the name reaches logs and the public missing route, and a path or
    // query may hold a provider's key.
    expect(mirrorSource('https://mirror.example/key-SECRET/{hash}?api_key=SECRET').name).toBe('mirror:https://mirror.example');
    expect(stacksNodeSource('http://127.0.0.1:20443/rpc-token-SECRET').name).toBe('stacks:http://127.0.0.1:20443');
    // What fetch would refuse at every attempt is refused when made.
    expect(() => stacksNodeSource('http://user:pass@127.0.0.1:20443')).toThrow(/credentials/);
    expect(() => mirrorSource('http://127.0.0.1:6000/{hash}')).toThrow(/port 6000/);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('gives up on a source that never answers and ignores its signal at sourceTimeoutMs, on the node\'s clock, and asks the next', async () => {
    const data = zone('late.id');
    const { clock, store } = await announcing([hash160Hex(data)]);
    const hanging: ChunkSource = { name: 'hanging', fetch: () => new Promise(() => {}) };
    const good: ChunkSource = { name: 'good', fetch: async () => data };
    const backfill = new Backfiller({ store, sources: [hanging, good], clock, random: () => 0.5, options: { ...FAST, sourceTimeoutMs: 5_000 } });
    backfill.start();
    await clock.advance(4_000);
    expect(store.has(hash160Hex(data))).toBe(false); // still waiting on the first source
    await clock.advance(2_000);
    await waitFor(() => store.has(hash160Hex(data)), 'the chunk, from the second source');
    backfill.stop();
  });

  it('rests a source that stalls, so it holds up neither the other addresses nor the sources after it', async () => {
    const files = Array.from({ length: 32 }, (_, i) => zone(`n${i}.id`));
    const byAddress = new Map(files.map((data) => [hash160Hex(data), data]));
    const { clock, store } = await announcing([...byAddress.keys()]);
    let stalled = 0;
    const stalling: ChunkSource = { name: 'stalling', fetch: () => (stalled++, new Promise(() => {})) };
    const honest: ChunkSource = { name: 'honest', fetch: async (address) => byAddress.get(address) };
    const backfill = new Backfiller({ store, sources: [stalling, honest], clock, random: () => 0.5, options: { ...FAST, sourceTimeoutMs: 1_000 } });
    backfill.start();
    // The first 8 (concurrency) wait out the stall; then it rests and the other 24 go to the honest source.
    await clock.advance(1_100);
    await waitFor(() => files.every((data) => store.has(hash160Hex(data))), 'every zone file, a second after the first stall');
    expect(stalled).toBe(8);
    backfill.stop();
  });

  it('after a rest, lets one address probe a source that still stalls, not every free slot', async () => {
    const unobtainable = Array.from({ length: 16 }, (_, i) => String(i + 1).padStart(40, '0'));
    const { clock, store } = await announcing(unobtainable);
    let stalled = 0;
    const stalling: ChunkSource = { name: 'stalling', fetch: () => (stalled++, new Promise(() => {})) };
    const backfill = new Backfiller({ store, sources: [stalling], clock, random: () => 0.5, options: { ...FAST, sourceTimeoutMs: 1_000, retryBaseMs: 100, retryMaxMs: 100 } });
    backfill.start();
    await clock.advance(1_050); // 8 slots stalled once: the source rests (100 ms here: retryMaxMs)
    expect(stalled).toBe(8);
    await clock.advance(1_000); // the rest is over: one probe, which stalls until its own timeout
    expect(stalled).toBe(9);
    backfill.stop();
  });

  it('starts an address a source says it now holds before the round\'s queue', async () => {
    const urgent = zone('urgent.id');
    const unobtainable = Array.from({ length: 10 }, (_, i) => String(i + 1).padStart(40, '0'));
    const { clock, store } = await announcing([...unobtainable, hash160Hex(urgent)]);
    let held = false;
    // Answers "not held" after 1 s (it answers: it never rests), except the urgent one once it holds it.
    const slow: ChunkSource = {
      name: 'slow',
      fetch: (address) => (address === hash160Hex(urgent) && held ? Promise.resolve(urgent) : new Promise((resolve) => clock.setTimeout(() => resolve(undefined), 1_000))),
    };
    const backfill = new Backfiller({ store, sources: [slow], clock, random: () => 0.5, options: { ...FAST, concurrency: 1, intervalMs: 60_000 } });
    backfill.start();
    await clock.advance(100); // the first address is in flight
    held = true;
    backfill.wake(hash160Hex(urgent));
    await clock.advance(1_000); // the one in flight ends; the woken one goes next, not after the other nine
    await waitFor(() => store.has(hash160Hex(urgent)), 'the woken zone file');
    backfill.stop();
  });

  it('starts first an address a source said it holds before the chain announced it', async () => {
    const early = zone('early.id');
    const unobtainable = Array.from({ length: 10 }, (_, i) => String(i + 1).padStart(40, '0'));
    const { clock, chain, store } = await announcing(unobtainable);
    const slow: ChunkSource = {
      name: 'slow',
      fetch: (address) => (address === hash160Hex(early) ? Promise.resolve(early) : new Promise((resolve) => clock.setTimeout(() => resolve(undefined), 1_000))),
    };
    const backfill = new Backfiller({ store, sources: [slow], clock, random: () => 0.5, options: { ...FAST, concurrency: 1, intervalMs: 60_000 } });
    backfill.start();
    await clock.advance(100);
    backfill.wake(hash160Hex(early)); // not announced yet: remembered
    await store.append(chain.announce([hash160Hex(early)]));
    backfill.sequenceChanged();
    await clock.advance(1_000);
    await waitFor(() => store.has(hash160Hex(early)), 'the zone file the source announced first');
    backfill.stop();
  });

  it('never stops retrying: the delay grows to the cap and stays there', async () => {
    const { clock, store } = await announcing(['ab'.repeat(20), 'cd'.repeat(20), '0'.repeat(40)]);
    let asked = 0;
    const never: ChunkSource = { name: 'never', fetch: async () => void asked++ };
    const backfill = new Backfiller({ store, sources: [never], clock, random: () => 0.5, options: { intervalMs: 1_000, retryBaseMs: 1_000, retryMaxMs: 60_000 } });
    backfill.start();
    await clock.advance(24 * 3_600_000); // a day
    const missing = backfill.missing();
    // the unbinding address (all zeros) is not a chunk and never asked for
    expect(missing.map((m) => m.address).sort()).toEqual(['ab'.repeat(20), 'cd'.repeat(20)]);
    for (const item of missing) {
      expect(item.attempts).toBeGreaterThan(1_400); // ~ 86,400 s / 60 s
      expect(item.nextAttemptAt - item.lastAttemptAt!).toBeLessThanOrEqual(60_000);
      expect(item.nextAttemptAt - item.lastAttemptAt!).toBeGreaterThanOrEqual(45_000);
    }
    backfill.stop();
    const after = asked;
    await clock.advance(3_600_000);
    expect(asked).toBe(after);
  });
});
