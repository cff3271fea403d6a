/**
 * Each method's reply bound (reply-bounds.ts) takes the largest valid reply in either codec, and a
 * peer answering past it is cut off there: a ping, an offer or a peer exchange answered with
 * megabytes costs us the bound, not the transport's 8 MiB.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { DEFAULT_LIMITS, type ProtocolLimits } from '../../src/protocol/limits.js';
import { FIXED_REPLY_BYTES, maxReplyBytesOf } from '../../src/protocol/reply-bounds.js';
import { validateResult } from '../../src/protocol/validate.js';
import { binaryCodec, jsonCodec } from '../../src/transport/codec.js';
import { HttpTransport } from '../../src/transport/http.js';

/** The largest valid reply of each bounded method under `limits`. */
function largestReplies(limits: ProtocolLimits): Record<string, unknown> {
  const inventory = { epoch: 'e'.repeat(64), version: Number.MAX_SAFE_INTEGER };
  const host = (i: number) => `${'h'.repeat(limits.maxPeerAddressLength - 12)}${String(i).padStart(5, '0')}:65535`;
  return {
    ping: { protocol: 1, network: 'n'.repeat(limits.maxNetworkIdLength), sequenceLength: 2 ** 32, chunkCount: 2 ** 32, digestLength: 2 ** 32, digest: 'ab'.repeat(20), inventory },
    offer: { wanted: Number.MAX_SAFE_INTEGER },
    putChunks: { saved: new Array(limits.maxPutChunks).fill(false) },
    peers: { peers: Array.from({ length: limits.maxPeersReply }, (_, i) => host(i)) },
    inventory: { sequenceLength: limits.maxInventoryBytes * 8, inventory, bytes: new Uint8Array(limits.maxInventoryBytes).fill(255) },
    inventoryChanges: { complete: true, sequenceLength: 2 ** 32, inventory, added: new Uint8Array(limits.maxInventoryChanges * 5).fill(0x7f), offering: true },
  };
}

describe('reply bounds', () => {
  for (const limits of [DEFAULT_LIMITS, { ...DEFAULT_LIMITS, maxPeersReply: 500, maxInventoryBytes: 2 * 1024 * 1024, maxPutChunks: 100 }]) {
    it(`take the largest valid reply of every bounded method in msgpack and JSON (maxPeersReply ${limits.maxPeersReply})`, () => {
      for (const [method, reply] of Object.entries(largestReplies(limits))) {
        const bound = maxReplyBytesOf(method as never, limits) as number;
        for (const codec of [binaryCodec, jsonCodec]) expect(codec.encode(reply).byteLength, `${method} in ${codec.contentType}`).toBeLessThanOrEqual(bound);
      }
      expect(() => validateResult('peers', largestReplies(limits).peers, limits)).not.toThrow();
      expect(maxReplyBytesOf('getChunks', limits)).toBeUndefined();
    });
  }

  describe('over HTTP', () => {
    const servers: http.Server[] = [];
    afterEach(async () => {
      await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
    });

    it('an offer answered with 8 MiB is cut off at its bound: BAD_REPLY naming the bound, read no further', async () => {
      let bytesSent = 0;
      const server = http.createServer((req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 8 * 1024 * 1024 });
        res.write('{"wanted":0}');
        const chunk = Buffer.alloc(64 * 1024, 0x20); // JSON whitespace
        const pump = (): void => {
          while (bytesSent < 8 * 1024 * 1024 - 64 * 1024 && !res.destroyed) {
            bytesSent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
        };
        res.on('close', () => res.removeAllListeners('drain'));
        pump();
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const transport = new HttpTransport({ format: 'json' });
      const client = new ProtocolClient(transport);
      const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      await expect(client.offer(address, { from: '127.0.0.1:1', added: new Uint8Array(0) })).rejects.toMatchObject({ code: ErrorCodes.BAD_REPLY, details: { limit: FIXED_REPLY_BYTES } });
      await transport.close();
      // The socket's buffers hold what was written before the cut; nothing like the whole reply.
      expect(bytesSent).toBeLessThan(4 * 1024 * 1024);
    });
  });
});
