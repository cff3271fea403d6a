/** NodeService.getChunks reads a large reply in slices (SERVE_SLICE_BYTES), the event loop free between them. */
import { describe, expect, it } from 'vitest';
import { hashReady } from '../../src/hash/index.js';
import { NodeService, SERVE_SLICE_BYTES, type ServiceHost } from '../../src/node/service.js';
import { resolveLimits } from '../../src/protocol/limits.js';
import { UNKNOWN_CALLER } from '../../src/peer-address.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { VerifiedReader } from '../../src/store/verified-read.js';
import { addressOf, announcementsFor } from '../store/contract.js';

async function serviceOf(chunks: Uint8Array[]) {
  await hashReady();
  const store = new MemoryChunkStore();
  await store.append(announcementsFor(chunks.map(addressOf), 0));
  await store.putMany(chunks);
  let pauses = 0;
  const host = {
    store,
    reader: new VerifiedReader(store),
    limits: resolveLimits({}),
    pause: () => {
      pauses++;
      return new Promise<void>((resolve) => setImmediate(resolve));
    },
  } as Partial<ServiceHost> as ServiceHost;
  return { service: new NodeService(host), pauses: () => pauses };
}

const chunkOfSize = (size: number, i: number) => new Uint8Array(size).fill(i + 1);

describe('NodeService.getChunks', () => {
  it('reads a reply of megabytes a slice at a time, letting other work run between slices, with the same reply', async () => {
    const chunks = Array.from({ length: 60 }, (_, i) => chunkOfSize(40_960, i)); // 2.4 MiB
    const { service, pauses } = await serviceOf(chunks);
    const order: string[] = [];
    const serving = service.getChunks({ addresses: chunks.map(addressOf) }, { caller: UNKNOWN_CALLER, remote: 'test' }).then((reply) => {
      order.push('reply');
      return reply;
    });
    setImmediate(() => order.push('other caller'));
    const reply = await serving;
    expect(order).toEqual(['other caller', 'reply']);
    expect(pauses()).toBe(Math.ceil((60 * 40_960) / SERVE_SLICE_BYTES) - 1);
    expect(reply.chunks.map((chunk) => chunk.address)).toEqual(chunks.map(addressOf));
    expect(reply.missing).toEqual([]);
  });

  it('answers a catch-up reply of small chunks in one go', async () => {
    const chunks = Array.from({ length: 500 }, (_, i) => chunkOfSize(170, i % 250).map((byte, at) => (at === 0 ? i % 256 : at === 1 ? i >> 8 : byte)));
    const { service, pauses } = await serviceOf(chunks);
    const reply = await service.getChunks({ addresses: chunks.map(addressOf) }, { caller: UNKNOWN_CALLER, remote: 'test' });
    expect(reply.chunks).toHaveLength(500);
    expect(pauses()).toBe(0);
  });

  it('stops reading when the caller has left', async () => {
    const chunks = Array.from({ length: 60 }, (_, i) => chunkOfSize(40_960, i));
    const { service } = await serviceOf(chunks);
    const controller = new AbortController();
    controller.abort();
    await expect(service.getChunks({ addresses: chunks.map(addressOf) }, { caller: UNKNOWN_CALLER, remote: 'test', signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
