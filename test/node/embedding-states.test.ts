/**
 * What the embedding API answers at each point of a node's life: before start() (NOT_STARTED for
 * what asks peers or waits on them, local reads and puts as usual), once close() has begun
 * (CLOSED for progress() and log, no address), and the options that would leave a node with a
 * seed it can never dial or a store another node writes to.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import type { ChainAdapter } from '../../src/chain/types.js';
import { ErrorCodes, isAtlasError } from '../../src/errors.js';
import { hash160Hex } from '../../src/hash/index.js';
import { AtlasNode } from '../../src/node/atlas-node.js';
import { resolveNodeOptions } from '../../src/node/resolve-options.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { HttpTransport } from '../../src/transport/http.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import type { Transport } from '../../src/transport/types.js';

const nodes: AtlasNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((node) => node.close()));
});

async function open(options: Parameters<typeof AtlasNode.open>[0]): Promise<AtlasNode> {
  const node = await AtlasNode.open(options);
  nodes.push(node);
  return node;
}

const encoder = new TextEncoder();

describe('a node opened and not started', () => {
  it('whenSynced() and fetchChunks() reject with NOT_STARTED instead of waiting for ever or calling every address missing', async () => {
    const chain = new MemoryChain();
    const held = encoder.encode('held');
    const absent = hash160Hex(encoder.encode('absent'));
    chain.announce([hash160Hex(held), absent]);
    const node = await open({ chain, transport: new MemoryNetwork().transport('a'), network: 'x' });
    expect(await node.putChunks([held])).toEqual([true]); // a put stores locally before start
    await expect(node.whenSynced()).rejects.toMatchObject({ code: ErrorCodes.NOT_STARTED });
    await expect(node.whenSynced({ signal: AbortSignal.timeout(5_000) })).rejects.toMatchObject({ code: ErrorCodes.NOT_STARTED });
    await expect(node.fetchChunks([absent])).rejects.toMatchObject({ code: ErrorCodes.NOT_STARTED });
    await expect(node.fetchChunks([absent], { wait: 10 })).rejects.toMatchObject({ code: ErrorCodes.NOT_STARTED });
    await expect(node.fetchChunks([hash160Hex(held)])).rejects.toMatchObject({ code: ErrorCodes.NOT_STARTED });
    // What reads the store alone answers as before.
    expect((await node.getChunks([hash160Hex(held)])).get(hash160Hex(held))).toEqual(held);
    expect(node.progress()).toEqual({ have: 1, total: 2, missing: 1 });
    expect(node.missing().map((chunk) => chunk.address)).toEqual([absent]);
    expect((await node.resolve('nobody.id')).status).toBe('name-not-found');

    await node.start();
    const fetched = await node.fetchChunks([hash160Hex(held), absent]);
    expect(fetched.get(hash160Hex(held))).toEqual(held);
    expect(fetched.missing).toEqual([absent]); // no peer to ask: missing, as a running node says
    await node.putChunks([encoder.encode('absent')]);
    await expect(node.whenSynced({ signal: AbortSignal.timeout(5_000) })).resolves.toEqual({ have: 2, total: 2, missing: 0 });
  });

  it('says NOT_STARTED while start() is still listening, and answers once it has resolved', async () => {
    const inner = new MemoryNetwork().transport('a');
    let listened!: () => void;
    const gate = new Promise<void>((resolve) => (listened = resolve));
    const slowListen: Transport = {
      get address() {
        return inner.address;
      },
      listen: async (service) => {
        await gate;
        return inner.listen(service);
      },
      call: (peer, method, params, options) => inner.call(peer, method, params, options),
      close: () => inner.close(),
    };
    const node = await open({ chain: new MemoryChain(), transport: slowListen, network: 'x' });
    const started = node.start();
    expect(node.state).toBe('starting');
    await expect(node.whenSynced()).rejects.toMatchObject({ code: ErrorCodes.NOT_STARTED });
    await expect(node.fetchChunks(['11'.repeat(20)])).rejects.toMatchObject({ code: ErrorCodes.NOT_STARTED });
    listened();
    await started;
    await expect(node.whenSynced()).resolves.toEqual({ have: 0, total: 0, missing: 0 });
  });

  it('after close() says CLOSED, not NOT_STARTED', async () => {
    const node = await AtlasNode.open({ chain: new MemoryChain(), transport: new MemoryNetwork().transport('a'), network: 'x' });
    await node.close();
    await expect(node.whenSynced()).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
    await expect(node.fetchChunks(['11'.repeat(20)])).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
  });
});

describe('a node once close() has begun', () => {
  it('progress() and log throw CLOSED as stats() does, and address is undefined', async () => {
    const node = await AtlasNode.open({ chain: new MemoryChain(), transport: new HttpTransport({ listen: '127.0.0.1:0' }), network: 'x' });
    expect(node.address).toBeUndefined(); // not listening yet
    await node.start();
    expect(node.address).toMatch(/^127\.0\.0\.1:[1-9][0-9]*$/);
    expect(node.progress()).toEqual({ have: 0, total: 0, missing: 0 });
    expect(node.log.version).toBeTypeOf('number');
    const closing = node.close();
    expect(node.state).toBe('closing');
    for (const state of ['closing', 'closed']) {
      expect(node.state).toBe(state);
      expect(() => node.stats()).toThrow(expect.objectContaining({ code: ErrorCodes.CLOSED }));
      expect(() => node.progress()).toThrow(expect.objectContaining({ code: ErrorCodes.CLOSED, message: `cannot read progress: node is ${state}` }));
      expect(() => node.log).toThrow(expect.objectContaining({ code: ErrorCodes.CLOSED }));
      expect(node.address).toBeUndefined();
      await closing;
    }
  });
});

describe('seeds', () => {
  const chain = new MemoryChain();
  const transport = new MemoryNetwork().transport('me');

  /** The option an INVALID_OPTION names, and its message; undefined when the options are taken. */
  function refusal(seeds: string[], local = false): { option: string; message: string } | undefined {
    try {
      resolveNodeOptions({ chain, transport, seeds, ...(local ? { addressPolicy: LOCAL_ADDRESS_POLICY } : {}) });
      return undefined;
    } catch (error) {
      if (!isAtlasError(error, ErrorCodes.INVALID_OPTION)) throw error;
      return { option: (error as unknown as { option: string }).option, message: error.message };
    }
  }

  it('refuses port 0 and a host without a port with INVALID_OPTION naming the entry', () => {
    for (const [seeds, option, bad] of [
      [['a:0'], 'seeds[0]', 'a:0'],
      [['8.8.8.8:6264', '8.8.4.4:0'], 'seeds[1]', '8.8.4.4:0'],
      [['[2001:db8::1]:0'], 'seeds[0]', '[2001:db8::1]:0'],
      [['8.8.8.8'], 'seeds[0]', '8.8.8.8'],
      [['seed.example.org'], 'seeds[0]', 'seed.example.org'],
      [['8.8.8.8:6264', 'a'], 'seeds[1]', 'a'],
    ] as const) {
      const refused = refusal([...seeds]);
      expect(refused?.option, String(seeds)).toBe(option);
      expect(refused?.message).toContain(JSON.stringify(bad));
    }
    expect(refusal(['a:0'])?.message).toMatch(/port 0/);
    expect(refusal(['8.8.8.8'])?.message).toMatch(/has no port/);
    expect(refusal(['seed.example.org'])?.message).toMatch(/has no port/);
    expect(refusal(['not an address'])?.message).toMatch(/not a peer address/);
  });

  it('takes host:port from 1 to 65535, and a bare name where the address policy allows bare names (a MemoryNetwork node)', () => {
    expect(refusal(['8.8.8.8:1', 'seed.example.org:65535', '[2001:db8::1]:6264'])).toBeUndefined();
    expect(refusal(['a', 'b:1'], true)).toBeUndefined();
    expect(refusal(['a:0'], true)?.option).toBe('seeds[0]'); // port 0 is never dialled, whatever the policy
  });

  it('a refused seed leaves the transport free for the next open', async () => {
    const free = new MemoryNetwork().transport('free');
    await expect(AtlasNode.open({ chain, transport: free, seeds: ['a:0'] })).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION, option: 'seeds[0]' });
    await open({ chain, transport: free });
  });
});

describe('a store given to a node', () => {
  it('serves one open node at a time: a second open is BUSY, before it takes its transport; the store is free once the first closes', async () => {
    const store = new MemoryChunkStore();
    const chain = new MemoryChain();
    const network = new MemoryNetwork();
    const first = await AtlasNode.open({ chain, transport: network.transport('a'), store });
    const second = network.transport('b');
    await expect(AtlasNode.open({ chain, transport: second, store })).rejects.toMatchObject({ code: ErrorCodes.BUSY, details: { option: 'store' } });
    await expect(AtlasNode.open({ chain, transport: network.transport('c'), store })).rejects.toMatchObject({ code: ErrorCodes.BUSY });
    await first.start();
    await expect(AtlasNode.open({ chain, transport: network.transport('d'), store })).rejects.toMatchObject({ code: ErrorCodes.BUSY });
    await first.close();
    await open({ chain, transport: second, store }); // the store, and the refused open's transport, are free
  });

  it('is free again after an open that failed part way: aborted in its chain catch-up, or refused its transport', async () => {
    const store = new MemoryChunkStore();
    const stalled: ChainAdapter = {
      length: ({ signal } = {}) => new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true })),
      read: async () => [],
      subscribe: () => () => undefined,
    };
    const controller = new AbortController();
    const opening = AtlasNode.open({ chain: stalled, transport: new MemoryNetwork().transport('a'), store }, { signal: controller.signal });
    await expect(AtlasNode.open({ chain: new MemoryChain(), transport: new MemoryNetwork().transport('b'), store })).rejects.toMatchObject({ code: ErrorCodes.BUSY });
    controller.abort();
    await expect(opening).rejects.toMatchObject({ code: ErrorCodes.ABORTED });

    const taken = new MemoryNetwork().transport('c');
    const holder = await open({ chain: new MemoryChain(), transport: taken });
    await expect(AtlasNode.open({ chain: new MemoryChain(), transport: taken, store })).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION, option: 'transport' });
    expect(holder.state).toBe('open');
    await open({ chain: new MemoryChain(), transport: new MemoryNetwork().transport('d'), store });
  });
});
