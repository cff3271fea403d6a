/**
 * A flipped byte inside a stored chunk. LMDB keeps no checksums, so the damage is invisible to
 * the store: the node must find it when the chunk is about to leave (verify-on-serve), never
 * serve it by any path, quarantine it and fetch it again from a peer.
 */
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { hash160Hex } from '../../src/hash/index.js';
import { AtlasNode } from '../../src/node/index.js';
import { legacyRoutes } from '../../src/legacy/index.js';
import type { CorruptChunkEvent } from '../../src/node/events.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { HttpTransport } from '../../src/transport/http.js';
import { FAST_TIMERS } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-corrupt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Chunks with a unique, greppable body each. */
function chunks(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => Buffer.from(`integrity chunk #${i} ${'abcdefghij'.repeat(30 + i)} end of ${i}`));
}

function open(dataDir: string, chain: MemoryChain, seeds: string[] = []): Promise<AtlasNode> {
  return AtlasNode.open({
    dataDir,
    chain,
    seeds,
    network: 'testnet',
    transport: new HttpTransport({ listen: '127.0.0.1:0', routes: legacyRoutes(true) }),
    timers: FAST_TIMERS,
    addressPolicy: LOCAL_ADDRESS_POLICY,
  });
}

describe('a byte flipped inside a stored chunk', () => {
  it('is never served (protocol, HTTP, legacy routes, embedder API), is quarantined with an event, and is repaired from a peer', async () => {
    const data = chunks(12);
    const chain = new MemoryChain();
    chain.announce(data.map((chunk) => hash160Hex(chunk)));
    const target = data[5] as Uint8Array;
    const address = hash160Hex(target);

    // The victim stores everything, then is closed.
    const dir = join(root, 'victim');
    const first = await open(dir, chain);
    await first.putChunks(data);
    await first.close();

    // Flip one byte inside the chunk, found in data.mdb by its content.
    const file = join(dir, 'data.mdb');
    const bytes = readFileSync(file);
    const at = bytes.indexOf(target);
    expect(at).toBeGreaterThan(0);
    expect(bytes.indexOf(target, at + 1)).toBe(-1);
    bytes[at + 40] = (bytes[at + 40] as number) ^ 0x01;
    writeFileSync(file, bytes);

    // A peer holding every chunk.
    const peer = await open(join(root, 'peer'), chain);
    await peer.putChunks(data);
    await peer.start();

    const victim = await open(dir, chain, [peer.address as string]);
    const events: CorruptChunkEvent[] = [];
    victim.on('chunk:corrupt', (event) => events.push(event));
    const clientTransport = new HttpTransport({});
    const client = new ProtocolClient(clientTransport);
    const served: Uint8Array[] = [];
    const check = (bytesOut: Uint8Array | undefined) => {
      if (bytesOut !== undefined) served.push(bytesOut);
    };
    try {
      expect(victim.stats().have).toBe(data.length); // the store cannot see the damage by itself
      // Embedder API, before the node even serves.
      const local = await victim.getChunks([address, hash160Hex(data[0] as Uint8Array)]);
      expect(local.has(address)).toBe(false);
      expect(local.size).toBe(1);
      await waitFor(() => events.length === 1, 'the chunk:corrupt event');
      expect(events[0]).toEqual({ address, positions: [5] });
      expect(victim.store.has(address)).toBe(false);
      expect(victim.stats().have).toBe(data.length - 1);

      await victim.start();
      const base = `http://${victim.address}`;
      // While it is being repaired, and after: every answer is either absent or the right bytes.
      await waitFor(
        async () => {
          const reply = await client.getChunks(victim.address as string, { addresses: [address] });
          check(reply.chunks[0]?.data);
          const response = await fetch(`${base}/chunks/${address}`);
          if (response.status === 200) check(new Uint8Array(await response.arrayBuffer()));
          else expect(response.status).toBe(404);
          // The legacy routes: the original Atlas REST API and Stacks 2.x attachments.
          const zonefile = await fetch(`${base}/v1/zonefiles/${address}`);
          if (zonefile.status === 200) check(new Uint8Array(await zonefile.arrayBuffer()));
          else expect(zonefile.status).toBe(404);
          const attachment = await fetch(`${base}/v2/attachments/${address}`);
          if (attachment.status === 200) check(Buffer.from((await attachment.json()) as string, 'hex'));
          else expect(attachment.status).toBe(404);
          return victim.stats().have === data.length && response.status === 200;
        },
        'the chunk fetched again from the peer',
        20_000,
        50,
      );
      for (const bytesOut of served) expect(hash160Hex(bytesOut)).toBe(address);
      expect(Buffer.from((await victim.getChunks([address])).get(address) as Uint8Array).equals(Buffer.from(target))).toBe(true);
      expect(events).toHaveLength(1);
    } finally {
      await victim.close();
      await peer.close();
      await clientTransport.close();
    }

    // Repaired for good: the bytes on disk hash right after a restart.
    const again = await open(dir, chain);
    try {
      expect(Buffer.from((await again.getChunks([address])).get(address) as Uint8Array).equals(Buffer.from(target))).toBe(true);
    } finally {
      await again.close();
    }
  }, 40_000);
});
