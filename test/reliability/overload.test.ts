/**
 * Load shedding (issue 6, item 3): a node over real HTTP, flooded by one host (127.0.0.2, 32
 * connections firing getChunks as fast as it answers), keeps serving another host (127.0.0.1)
 * without a single refusal, while the flooder gets 503 BUSY with Retry-After, and no more
 * successes than its token bucket allows. Loopback only.
 */
import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { AtlasNode } from '../../src/node/index.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { seededRandom } from '../../src/runtime.js';
import { generateChunks } from '../../src/sim/workload.js';
import { encodeBinary } from '../../src/transport/codec.js';
import { HttpTransport, splitHostPort } from '../../src/transport/http.js';

const RATE = 100;
const BURST = 200;
const FLOOD_MS = 1_500;
const MAX_FLOOD_MS = 15_000;

describe('a node flooded by one host', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('sheds the flood with 503 BUSY and keeps serving everyone else', async () => {
    const chunks = generateChunks(300, seededRandom(91));
    const chain = new MemoryChain();
    chain.announce(chunks.map((c) => c.address));
    const node = await AtlasNode.open({
      chain,
      transport: new HttpTransport({ listen: '127.0.0.1:0' }),
      network: 'testnet',
      requests: { ratePerSecond: RATE, burst: BURST, maxConcurrentPerHost: 8 },
    });
    cleanup.push(() => node.close());
    await node.putChunks(chunks.map((c) => c.data));
    await node.start();
    const { port } = splitHostPort(node.address!);

    const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
    cleanup.push(async () => agent.destroy());
    const body = encodeBinary({ addresses: chunks.slice(0, 10).map((c) => c.address) });
    const flood = { ok: 0, busy: 0, retryAfter: 0, other: 0 };
    const floodOnce = () =>
      new Promise<void>((resolve) => {
        const req = http.request(
          { host: '127.0.0.1', port, localAddress: '127.0.0.2', agent, method: 'POST', path: '/atlas/v1/getChunks', headers: { 'content-type': 'application/msgpack', 'content-length': body.byteLength } },
          (res) => {
            res.resume();
            res.on('end', () => {
              if (res.statusCode === 200) flood.ok++;
              else if (res.statusCode === 503) {
                flood.busy++;
                if (res.headers['retry-after'] !== undefined) flood.retryAfter++;
              } else flood.other++;
              resolve();
            });
          },
        );
        req.on('error', () => {
          flood.other++;
          resolve();
        });
        req.end(body);
      });
    const started = performance.now();
    // At least FLOOD_MS, longer on a slow machine until the flood has met the limit (bounded).
    const stopAt = started + FLOOD_MS;
    const hardStopAt = started + MAX_FLOOD_MS;
    const flooding = () => performance.now() < hardStopAt && (performance.now() < stopAt || flood.busy <= 100);
    const flooders = Array.from({ length: 32 }, async () => {
      while (flooding()) await floodOnce();
    });

    // Meanwhile, another host syncs normally.
    const client = new ProtocolClient(new HttpTransport());
    let served = 0;
    const honest = (async () => {
      for (let i = 0; i < 30; i++) {
        const batch = chunks.slice(i * 10, i * 10 + 10);
        const reply = await client.getChunks(node.address!, { addresses: batch.map((c) => c.address) });
        expect(reply.chunks.map((c) => c.address).sort()).toEqual(batch.map((c) => c.address).sort());
        served++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    await Promise.all([...flooders, honest]);
    const elapsedSeconds = (performance.now() - started) / 1000;

    expect(served).toBe(30);
    expect(flood.busy).toBeGreaterThan(100);
    expect(flood.retryAfter).toBe(flood.busy);
    expect(flood.other).toBe(0);
    // The token bucket is the only way through: its burst plus its rate over the run.
    expect(flood.ok).toBeLessThanOrEqual(BURST + RATE * elapsedSeconds + 32);
    expect(flood.ok).toBeGreaterThanOrEqual(BURST);
  });
});
