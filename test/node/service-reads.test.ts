// Which read the getChunks service makes: bytes shared with the store's read cache only for a
// transport that reads each answer once and keeps none of it (Transport.readsRepliesOnce).
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';
import { NodeService, type ServiceHost } from '../../src/node/service.js';
import type { VerifiedRead, VerifiedReader } from '../../src/store/verified-read.js';
import { HttpTransport } from '../../src/transport/http.js';
import { MemoryNetwork } from '../../src/transport/memory.js';

function serviceReading(sharesReplyBytes: boolean) {
  const calls: string[] = [];
  const answer = (kind: string) => (addresses: readonly string[], maxBytes?: number): VerifiedRead => {
    calls.push(`${kind} ${addresses.length} ${maxBytes}`);
    return { chunks: [], missing: [...addresses] };
  };
  const reader = { read: answer('read'), serve: answer('serve') } as unknown as VerifiedReader;
  const host = { reader, limits: DEFAULT_LIMITS, sharesReplyBytes } as unknown as ServiceHost;
  return { service: new NodeService(host), calls };
}

describe('the getChunks service', () => {
  it('serves shared bytes only when the transport says it reads each answer once, and copies otherwise', async () => {
    const address = 'ab'.repeat(20);
    for (const shares of [true, false]) {
      const { service, calls } = serviceReading(shares);
      await service.getChunks({ addresses: [address] });
      expect(calls).toEqual([`${shares ? 'serve' : 'read'} 1 ${DEFAULT_LIMITS.maxGetChunksBytes}`]);
    }
  });

  it('is told so by both built-in transports', async () => {
    const http = new HttpTransport({ listen: '127.0.0.1:0' });
    const memory = new MemoryNetwork().transport('m0');
    try {
      expect([http.readsRepliesOnce, memory.readsRepliesOnce]).toEqual([true, true]);
    } finally {
      await Promise.all([http.close(), memory.close()]);
    }
  });
});
