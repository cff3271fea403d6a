/**
 * Security review, peer exchange (SPEC §5.2): it cannot stuff the peer table, and it cannot make
 * a node dial addresses that are not publicly routable (with the default address policy).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import { AtlasNode } from '../../src/node/index.js';
import { AddressPolicy } from '../../src/peers/address-policy.js';
import { seededRandom } from '../../src/runtime.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import type { Transport, TransportService } from '../../src/transport/types.js';
import { FAST_TIMERS } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import { CaptureTransport } from './hostile/capture-transport.js';
import { liveBytes } from '../support/heap.js';
import { LyingTransport } from './hostile/lying-transport.js';
import { TestNodes } from './hostile/nodes.js';
import { contextFrom } from '../support/caller.js';

const nodes = new TestNodes();
const extra: AtlasNode[] = [];
afterEach(async () => {
  await nodes.closeAll();
  await Promise.all(extra.splice(0).map((n) => n.close()));
});

/** 100,000 distinct, syntactically valid, publicly routable addresses. */
function bogusPublicAddress(i: number): string {
  return `${11 + (i % 150)}.${(i >> 8) & 255}.${i & 255}.${1 + ((i * 7) % 250)}:${1_024 + (i % 60_000)}`;
}

const NON_PUBLIC = [
  '127.0.0.1:6264', '127.1.2.3:80', '10.0.0.7:6264', '172.16.5.5:6264', '192.168.0.10:6264', '100.64.0.1:6264', '169.254.169.254:80',
  '0.0.0.0:6264', '224.0.0.251:5353', '255.255.255.255:6264', '192.0.2.10:6264', '198.18.0.1:6264', '240.0.0.1:6264',
  '[::1]:6264', '[fe80::1]:6264', '[fc00::5]:6264', '[ff02::1]:6264', '[::ffff:10.0.0.1]:6264', '[64:ff9b::a00:1]:6264', '[2002:a00:1::]:6264',
  'localhost:6264', 'metadata.google.internal:80', 'router.lan:80', 'some-node', '8.8.8.8:0',
];

describe('peer exchange cannot stuff the peer table', () => {
  it('100,000 bogus addresses from callers (ping, peers, offer) keep the pending list within its bound', async () => {
    const transport = new CaptureTransport('198.51.100.200:6264');
    const node = await AtlasNode.open({ chain: new MemoryChain(), transport, network: 'testnet', timers: FAST_TIMERS, maxPendingPeers: 800 });
    extra.push(node);
    await node.start();
    const service = transport.service!;
    const before = liveBytes();
    let refused = 0;
    for (let i = 0; i < 100_000; i++) {
      const from = bogusPublicAddress(i);
      const remote = `${from.split(':')[0]}:40000`; // a botnet: every address calls from itself
      const call = i % 3 === 0 ? ['ping', { network: 'testnet', sequenceLength: 0, from }] : i % 3 === 1 ? ['peers', { from }] : ['offer', { from, added: new Uint8Array([1]) }];
      try {
        await service.handle(call[0] as string, call[1], contextFrom(remote));
      } catch (error) {
        if (!(error instanceof AtlasError)) throw error;
        refused++;
      }
      if (i % 10_000 === 0) expect(node.stats().pendingPeers).toBeLessThanOrEqual(800);
    }
    expect(refused).toBe(0);
    expect(node.stats().pendingPeers).toBeLessThanOrEqual(800);
    expect(node.stats().pendingPeers).toBeGreaterThan(700); // the flood did reach it
    expect(node.stats().peers).toBe(0); // nobody answers a ping: nobody is admitted
    expect(liveBytes() - before).toBeLessThan(32 * 1024 * 1024);
  });

  it('a neighbour feeding 100,000 fresh addresses through its peer lists keeps pending, table and memory bounded', async () => {
    const clock = new VirtualClock();
    const network = new MemoryNetwork({ clock, random: seededRandom(41) });
    const chain = new MemoryChain();
    let fed = 0;
    const options = { chain, network: 'testnet', clock, timers: FAST_TIMERS, addressPolicy: { allowBareNames: true, allowLoopback: true, allowPrivate: true }, maxPendingPeers: 800 };
    const liarTransport = new LyingTransport(network.transport('liar'), async (method, _params, answer) => {
      if (method !== 'peers') return answer();
      const peers = Array.from({ length: 80 }, () => `bogus-${fed++}`);
      return { peers };
    });
    const liar = await AtlasNode.open({ ...options, transport: liarTransport, random: seededRandom(42) });
    const victim = await AtlasNode.open({ ...options, transport: network.transport('victim'), seeds: ['liar'], random: seededRandom(43) });
    extra.push(liar, victim);
    await liar.start();
    await victim.start();
    let maxPending = 0;
    let maxPeers = 0;
    const before = liveBytes();
    for (let step = 0; step < 20_000 && fed < 100_000; step++) {
      await clock.advance(FAST_TIMERS.roundMs);
      maxPending = Math.max(maxPending, victim.stats().pendingPeers);
      maxPeers = Math.max(maxPeers, victim.stats().peers);
    }
    expect(fed).toBeGreaterThanOrEqual(100_000);
    expect(maxPending).toBeLessThanOrEqual(800);
    expect(maxPeers).toBeLessThanOrEqual(2); // the liar (a seed) and nothing else: the bogus never answer
    expect(victim.stats().peers).toBe(1);
    expect(liveBytes() - before).toBeLessThan(32 * 1024 * 1024);
  });
});

/**
 * Routes a node's calls to in-process services by address, as if over a network, and records
 * every address dialled.
 */
class RoutingTransport implements Transport {
  readonly dialled: string[] = [];
  service: TransportService | undefined;
  constructor(
    readonly address: string,
    private readonly services: Map<string, TransportService>,
  ) {}
  async listen(service: TransportService): Promise<string> {
    this.service = service;
    return this.address;
  }
  async call(peer: string, method: string, params: unknown): Promise<unknown> {
    this.dialled.push(peer);
    const service = this.services.get(peer);
    if (service === undefined) throw new AtlasError(ErrorCodes.UNREACHABLE, `${peer} is unreachable`);
    return service.handle(method, structuredClone(params), contextFrom(this.address));
  }
  async close(): Promise<void> {}
}

describe('peer exchange cannot make a node dial non-public addresses', () => {
  it('with the default policy, addresses from peer lists and callers that are not public are never dialled', async () => {
    const chain = new MemoryChain();
    const seed = '198.51.100.7:6264'; // documentation range: not public, but a seed is the host's own choice
    const publicPeers = ['8.8.4.4:6264', '1.1.1.1:6264', '9.9.9.9:6264'];
    const services = new Map<string, TransportService>();
    for (const [i, address] of [seed, ...publicPeers].entries()) {
      const capture = new CaptureTransport(address);
      const responder = await AtlasNode.open({ chain, transport: capture, network: 'testnet', timers: { ...FAST_TIMERS, roundMs: 3_600_000 }, random: seededRandom(50 + i) });
      extra.push(responder);
      await responder.start();
      const honest = capture.service!;
      services.set(address, {
        ...honest,
        handle: async (method, params, context) =>
          method === 'peers' ? { peers: [...publicPeers.filter((p) => p !== address), ...NON_PUBLIC].slice(0, 80) } : honest.handle(method, params, context),
      });
    }
    const routing = new RoutingTransport('203.0.113.50:6264', services);
    const victim = await AtlasNode.open({ chain, transport: routing, network: 'testnet', seeds: [seed], timers: FAST_TIMERS, random: seededRandom(60) });
    extra.push(victim);
    await victim.start();
    // Callers claim non-public addresses as their own, too.
    for (const from of NON_PUBLIC) {
      await routing.service!.handle('ping', { network: 'testnet', sequenceLength: 0, from }, contextFrom('203.0.113.99:1')).catch(() => undefined);
      await routing.service!.handle('peers', { from }, contextFrom('203.0.113.99:1')).catch(() => undefined);
    }
    await waitFor(() => victim.stats().peers === 1 + publicPeers.length, 'the victim to admit the public peers it heard of');
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // many more rounds and walk steps
    const policy = new AddressPolicy();
    const dialled = new Set(routing.dialled);
    expect([...dialled].filter((peer) => peer !== seed && !policy.allows(peer))).toEqual([]);
    for (const peer of publicPeers) expect(dialled.has(peer)).toBe(true);
  });
});
