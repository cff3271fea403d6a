import { once, on, EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { ErrorCodes, InvalidOptionError } from '../../src/errors.js';
import { AtlasNode, type AtlasNodeOptions } from '../../src/node/index.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { seededRandom, type Logger } from '../../src/runtime.js';
import { generateChunks } from '../../src/sim/workload.js';
import { HttpTransport } from '../../src/transport/http.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { LmdbChunkStore } from '../../src/store/lmdb.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { FAST_TIMERS, closeAll, startCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

const open: AtlasNode[] = [];
afterEach(async () => {
  await closeAll(open.splice(0));
});

function chainWith(chunks: readonly { address: string }[]): MemoryChain {
  const chain = new MemoryChain();
  chain.announce(chunks.map((c) => c.address));
  return chain;
}

/** A node of 2 announced chunks whose logged errors and 'error' events are collected. */
async function nodeLoggingErrors(seed: number) {
  const chunks = generateChunks(2, seededRandom(seed));
  const logged: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn() {}, error: (message) => logged.push(message) };
  const node = await AtlasNode.open({ chain: chainWith(chunks), transport: new MemoryNetwork().transport('t'), logger });
  open.push(node);
  const errors: Error[] = [];
  node.on('error', (error) => errors.push(error));
  return { chunks, node, logged, errors };
}

/** Downloads off and slow refreshes: chunks move only when fetchChunks asks. */
const QUIET = { timers: { ...FAST_TIMERS, inventoryRefreshMs: 600_000 }, downloads: { maxInFlight: 0 } } as const;

describe('fetchChunks reports every address asked', () => {
  it('returns all of 900 addresses from a single peer (no cap of 8 x 100)', async () => {
    const chunks = generateChunks(900, seededRandom(11), { maxSize: 64 });
    const network = new MemoryNetwork();
    const nodes = await startCluster(2, chainWith(chunks), (i) => network.transport(`c${i}`), () => QUIET);
    open.push(...nodes);
    await nodes[0]!.putChunks(chunks.map((c) => c.data));
    await waitFor(() => nodes[1]!.stats().peers > 0, 'the second node to know the first');
    const got = await nodes[1]!.fetchChunks(chunks.map((c) => c.address));
    expect(got.size).toBe(900);
    expect(got.missing).toEqual([]);
    expect(got.complete).toBe(true);
  });

  it('says which are missing, not announced or not addresses', async () => {
    const [held, unheld, unannounced] = generateChunks(3, seededRandom(12));
    const chain = chainWith([held!, unheld!]);
    const network = new MemoryNetwork();
    const nodes = await startCluster(2, chain, (i) => network.transport(`m${i}`), () => QUIET);
    open.push(...nodes);
    await nodes[0]!.putChunks([held!.data]);
    await waitFor(() => nodes[1]!.stats().peers > 0, 'the second node to know the first');
    const got = await nodes[1]!.fetchChunks([held!.address, unheld!.address, unannounced!.address, 'not-an-address']);
    expect([...got.keys()]).toEqual([held!.address]);
    expect(got.missing).toEqual([unheld!.address]);
    expect(got.refused.get(unannounced!.address)?.code).toBe(ErrorCodes.NOT_ANNOUNCED);
    expect(got.refused.get('not-an-address')?.code).toBe(ErrorCodes.BAD_ADDRESS);
    expect(got.complete).toBe(false);
  });

  it('with wait, returns a chunk put elsewhere later, and an address announced later', async () => {
    const [early, late] = generateChunks(2, seededRandom(13));
    const chain = chainWith([early!]);
    const network = new MemoryNetwork();
    const nodes = await startCluster(2, chain, (i) => network.transport(`w${i}`), () => QUIET);
    open.push(...nodes);
    const waiting = nodes[1]!.fetchChunks([early!.address, late!.address], { wait: 10_000 });
    setTimeout(() => {
      void nodes[0]!.putChunks([early!.data]);
      chain.announce([late!.address]);
      setTimeout(() => void nodes[0]!.putChunks([late!.data]), 200);
    }, 300);
    const got = await waiting;
    expect(got.complete).toBe(true);
    expect(got.size).toBe(2);
  });

  it('a wait ends at its deadline with the address reported missing; a signal rejects with ABORTED', async () => {
    const [chunk] = generateChunks(1, seededRandom(14));
    const network = new MemoryNetwork();
    const nodes = await startCluster(2, chainWith([chunk!]), (i) => network.transport(`d${i}`), () => QUIET);
    open.push(...nodes);
    const started = Date.now();
    const got = await nodes[1]!.fetchChunks([chunk!.address], { wait: 300 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(got.missing).toEqual([chunk!.address]);
    await expect(nodes[1]!.fetchChunks([chunk!.address], { wait: true, signal: AbortSignal.timeout(200) })).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
    const pending = nodes[1]!.fetchChunks([chunk!.address], { wait: true });
    await nodes[1]!.close();
    await expect(pending).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
  });
});

describe('whenSynced and the synced event', () => {
  it('resolves and emits once every announced chunk is held; progress says what is left', async () => {
    const chunks = generateChunks(20, seededRandom(15));
    const network = new MemoryNetwork();
    const nodes = await startCluster(2, chainWith(chunks), (i) => network.transport(`s${i}`));
    open.push(...nodes);
    const lefts: number[] = [];
    nodes[1]!.on('progress', ({ have, total, missing }) => {
      expect(missing).toBe(total - have);
      lefts.push(missing);
    });
    const synced = once(nodes[1]!, 'synced');
    expect(nodes[1]!.progress()).toEqual({ have: 0, total: 20, missing: 20 });
    await expect(nodes[1]!.whenSynced({ signal: AbortSignal.timeout(100) })).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
    await nodes[0]!.putChunks(chunks.map((c) => c.data));
    expect(await nodes[1]!.whenSynced({ signal: AbortSignal.timeout(10_000) })).toEqual({ have: 20, total: 20, missing: 0 });
    const [event] = await synced;
    expect(event).toEqual({ have: 20, total: 20, missing: 0 });
    expect(lefts.at(-1)).toBe(0);
  });
});

describe('events work with Node’s tools', () => {
  it('is an EventEmitter: events.once, for await over events.on, removeAllListeners', async () => {
    const chunks = generateChunks(3, seededRandom(16));
    const node = await AtlasNode.open({ chain: chainWith(chunks), transport: new MemoryNetwork().transport('e') });
    open.push(node);
    expect(node).toBeInstanceOf(EventEmitter);
    const first = once(node, 'chunk');
    await node.putChunks([chunks[0]!.data]);
    expect((await first)[0]).toMatchObject({ address: chunks[0]!.address, from: 'local' });

    const seen: string[] = [];
    const iterate = (async () => {
      for await (const [event] of on(node, 'chunk')) {
        seen.push((event as { address: string }).address);
        if (seen.length === 2) break; // leaving the loop removes its listener
      }
    })();
    await node.putChunks([chunks[1]!.data, chunks[2]!.data]);
    await iterate;
    expect(seen).toEqual([chunks[1]!.address, chunks[2]!.address]);
    expect(node.listenerCount('chunk')).toBe(0);
    node.on('progress', () => {});
    node.removeAllListeners();
    expect(node.listenerCount('progress')).toBe(0);
  });

  it('a throwing listener neither breaks the node nor escapes: logged and reported on error', async () => {
    const { chunks, node, logged, errors } = await nodeLoggingErrors(17);
    const heard: string[] = [];
    node.on('chunk', () => {
      throw new Error('listener bug');
    });
    node.on('chunk', ({ address }) => heard.push(address)); // after the throwing one, it still hears every chunk
    node.once('chunk', ({ address }) => heard.push(`once ${address}`));
    expect(await node.putChunks(chunks.map((c) => c.data))).toEqual([true, true]);
    expect(node.stats().chunks).toBe(2);
    expect(logged).toContain('event listener threw');
    expect(errors.map((e) => e.message)).toEqual(['listener bug', 'listener bug']);
    expect(heard).toEqual([chunks[0]!.address, `once ${chunks[0]!.address}`, chunks[1]!.address]);
    expect(node.listenerCount('chunk')).toBe(2);
  });

  it('an async listener that rejects is a throwing listener: logged and reported on error, no unhandled rejection', async () => {
    const { chunks, node, logged, errors } = await nodeLoggingErrors(18);
    node.on('chunk', async () => {
      await Promise.resolve();
      throw new Error('async listener bug');
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      expect(await node.putChunks(chunks.map((c) => c.data))).toEqual([true, true]);
      await waitFor(() => errors.length === 2, 'both rejections reported', 2_000);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual(['async listener bug', 'async listener bug']);
    expect(logged.filter((m) => m === 'event listener threw')).toHaveLength(2);
    expect(node.stats().chunks).toBe(2);
  });

  it('a listener that closes the node: the listeners after it hear nothing more (no event once close() has begun)', async () => {
    const chunks = generateChunks(2, seededRandom(19));
    const node = await AtlasNode.open({ chain: chainWith(chunks), transport: new MemoryNetwork().transport('t') });
    open.push(node);
    const heard: string[] = [];
    node.on('chunk', ({ address }) => heard.push(`first ${address}`));
    node.on('chunk', () => void node.close());
    node.on('chunk', ({ address }) => heard.push(`after ${address}`));
    await node.putChunks(chunks.map((c) => c.data));
    expect(heard).toEqual([`first ${chunks[0]!.address}`]);
  });

  it('peer:add means admitted; a seed that never answers is never added; reading stats emits nothing', async () => {
    const network = new MemoryNetwork();
    const chain = new MemoryChain();
    const lonely = await AtlasNode.open({
      chain,
      transport: network.transport('lonely'),
      seeds: ['nobody-home'],
      network: 'testnet',
      timers: FAST_TIMERS,
      addressPolicy: LOCAL_ADDRESS_POLICY,
    });
    open.push(lonely);
    const events: string[] = [];
    for (const name of ['peer:add', 'peer:reach', 'peer:remove'] as const) lonely.on(name, ({ peer }: { peer: string }) => events.push(`${name} ${peer}`));
    await lonely.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let i = 0; i < 5; i++) lonely.stats();
    expect(events).toEqual([]);

    const nodes = await startCluster(2, chain, (i) => network.transport(`p${i}`));
    open.push(...nodes);
    const added: { peer: string; seed: boolean }[] = [];
    const reached: string[] = [];
    nodes[1]!.on('peer:add', (e) => added.push(e));
    nodes[1]!.on('peer:reach', ({ peer }) => reached.push(peer));
    await waitFor(() => added.length > 0, 'the seed to answer');
    expect(added[0]).toEqual({ peer: 'p0', seed: true });
    expect(reached).toContain('p0');
  });
});

describe('lifecycle and typed errors', () => {
  it('a start on a port in use fails with ADDRESS_IN_USE, goes back to open, and may be retried', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const node = await AtlasNode.open({ chain: new MemoryChain(), transport: new HttpTransport({ listen: `127.0.0.1:${port}` }) });
    open.push(node);
    const states: string[] = [];
    const starting = node.start();
    states.push(node.state);
    await expect(starting).rejects.toMatchObject({ code: ErrorCodes.ADDRESS_IN_USE });
    expect(node.state).toBe('open');
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    await node.start();
    expect(states).toEqual(['starting']);
    expect(node.state).toBe('running');
    await expect(node.start()).rejects.toMatchObject({ code: ErrorCodes.ALREADY_STARTED });
    await node.close();
    await expect(node.start()).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
  });

  it('a start its signal aborts fails with ABORTED, serves nothing, goes back to open, and may be retried', async () => {
    const node = await AtlasNode.open({ chain: new MemoryChain(), transport: new HttpTransport({ listen: '127.0.0.1:0' }) });
    open.push(node);
    await expect(node.start({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
    expect(node.state).toBe('open');
    const controller = new AbortController();
    const starting = node.start({ signal: controller.signal });
    controller.abort(new Error('shutting down'));
    await expect(starting).rejects.toMatchObject({ code: ErrorCodes.ABORTED, cause: new Error('shutting down') });
    expect([node.state, node.address]).toEqual(['open', undefined]);
    await expect(node.start({ signal: 'soon' } as never)).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION, option: 'signal' });
    await node.start({ signal: new AbortController().signal });
    expect(node.state).toBe('running');
    const status = await fetch(`http://${node.address}/status`);
    expect(status.ok).toBe(true);
  });

  it('follows the chain with the follow option: a call to the adapter longer than follow.callTimeoutMs fails the open with TIMEOUT', async () => {
    const hanging = { length: () => new Promise<number>(() => {}), read: async () => [], subscribe: () => () => {} };
    const started = Date.now();
    await expect(AtlasNode.open({ chain: hanging, transport: new MemoryNetwork().transport('f'), follow: { callTimeoutMs: 50 } })).rejects.toMatchObject({ code: ErrorCodes.TIMEOUT });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('putChunks with an aborted signal stores nothing (ABORTED); a signal that is none is an option error', async () => {
    const chunks = generateChunks(1, seededRandom(23));
    const node = await AtlasNode.open({ chain: chainWith(chunks), transport: new MemoryNetwork().transport('put') });
    open.push(node);
    await expect(node.putChunks(chunks.map((c) => c.data), { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
    expect(node.stats().chunks).toBe(0);
    await expect(node.putChunksDetailed(chunks.map((c) => c.data), { signal: 5 } as never)).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION, option: 'signal' });
    expect(await node.putChunks(chunks.map((c) => c.data), { signal: new AbortController().signal })).toEqual([true]);
  });

  it('refuses a transport another node has, or had (a node closes its transport when it closes); a failed open gives it back', async () => {
    const transport = new MemoryNetwork().transport('shared');
    const first = await AtlasNode.open({ chain: new MemoryChain(), transport });
    open.push(first);
    await expect(AtlasNode.open({ chain: new MemoryChain(), transport })).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION, option: 'transport' });
    await first.start();
    await first.close();
    await expect(AtlasNode.open({ chain: new MemoryChain(), transport })).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION, option: 'transport' });
    const spare = new MemoryNetwork().transport('spare');
    const hanging = { length: () => new Promise<number>(() => {}), read: async () => [], subscribe: () => () => {} };
    await expect(AtlasNode.open({ chain: hanging, transport: spare }, { signal: AbortSignal.timeout(50) })).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
    const second = await AtlasNode.open({ chain: new MemoryChain(), transport: spare });
    open.push(second);
    await second.start();
    expect(second.state).toBe('running');
  });

  it('missing or wrong options are INVALID_OPTION errors naming the option', async () => {
    const transport = new MemoryNetwork().transport('o');
    const chain = new MemoryChain();
    const cases: [Partial<AtlasNodeOptions> | undefined, string][] = [
      [undefined, 'options'],
      [{ transport }, 'chain'],
      [{ chain }, 'transport'],
      [{ chain, transport, neighbors: 0 }, 'neighbors'],
      [{ chain, transport, dataDir: '' }, 'dataDir'],
      [{ chain, transport, closeStore: 'yes' as unknown as boolean }, 'closeStore'],
      [{ chain, transport, seeds: ['a:1', 3 as unknown as string] }, 'seeds[1]'],
      [{ chain, transport, timers: { roundMs: '10s' as unknown as number } }, 'timers.roundMs'],
    ];
    for (const [options, option] of cases) {
      const error = await AtlasNode.open(options as AtlasNodeOptions).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error).toMatchObject({ code: ErrorCodes.INVALID_OPTION, option });
    }
  });

  it('a data directory that cannot be created fails with STORE_PERMISSION at once, on any path', async () => {
    for (const dataDir of ['/proc/atlas-x/y', '/sys/atlas-x']) {
      const error = await AtlasNode.open({ chain: new MemoryChain(), transport: new MemoryNetwork().transport('x'), dataDir }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: ErrorCodes.STORE_PERMISSION });
    }
    const dir = mkdtempSync(join(tmpdir(), 'atlas-perm-'));
    try {
      const node = await AtlasNode.open({ chain: new MemoryChain(), transport: new MemoryNetwork().transport('y'), dataDir: join(dir, 'a', 'b') });
      await node.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('node.store reads what the node holds and offers no way to write, truncate, discard or close it', async () => {
    const [chunk, other] = generateChunks(2, seededRandom(8));
    const chain = chainWith([chunk!, other!]);
    const node = await AtlasNode.open({ chain, transport: new MemoryNetwork().transport('reader') });
    try {
      await node.putChunks([chunk!.data]);
      const { store } = node;
      expect([store.sequenceLength(), store.addressAt(0), store.positionsOf(chunk!.address), store.has(chunk!.address), store.has(other!.address)]).toEqual([2, chunk!.address, [0], true, false]);
      expect(Buffer.from(store.get(chunk!.address)!).equals(Buffer.from(chunk!.data))).toBe(true);
      expect([store.chunkCount(), store.chunkBytes(), store.inventory.count, store.maxChunkSize]).toEqual([1, chunk!.data.byteLength, 1, node.limits.maxChunkSize]);
      expect(store.sequenceDigest()).toMatch(/^[0-9a-f]{40}$/);
      expect(store.chunkStorage).toBeUndefined(); // in memory: no data directory, no layout or caches to report
      // Not there even for plain JavaScript or a cast, and the view cannot be given them.
      const loose = store as unknown as Record<string, unknown>;
      for (const write of ['put', 'putMany', 'putVerified', 'append', 'truncate', 'discard', 'close', 'getShared']) expect(loose[write], write).toBeUndefined();
      expect(Object.isFrozen(store)).toBe(true);
      expect(() => {
        loose.truncate = () => undefined;
      }).toThrow(TypeError);
      // The node itself still writes, and the view sees it.
      await node.putChunks([other!.data]);
      expect(store.has(other!.address)).toBe(true);
    } finally {
      await node.close();
    }
  });

  it('closes the store it opened itself, and a store it was given only with closeStore: true', async () => {
    const [chunk] = generateChunks(1, seededRandom(7));
    const chain = chainWith([chunk!]);
    const network = new MemoryNetwork();
    // Given: it stays usable after node.close(), and holds what the node stored.
    const given = new MemoryChunkStore();
    const first = await AtlasNode.open({ chain, transport: network.transport('given'), store: given });
    await first.putChunks([chunk!.data]);
    await first.close();
    expect(given.has(chunk!.address)).toBe(true);
    // A second node on the same store (a restart) sees it at once.
    const second = await AtlasNode.open({ chain, transport: network.transport('again'), store: given, closeStore: true });
    expect(second.stats().have).toBe(1);
    await second.close();
    expect(() => given.has(chunk!.address)).toThrow(expect.objectContaining({ code: ErrorCodes.CLOSED }));
    // Opened by the node (dataDir): closed with it, so the data directory can be opened again.
    const dir = mkdtempSync(join(tmpdir(), 'atlas-own-'));
    try {
      const own = await AtlasNode.open({ chain, transport: network.transport('own'), dataDir: dir });
      await own.putChunks([chunk!.data]);
      await own.close();
      expect(() => own.store.sequenceLength()).toThrow(expect.objectContaining({ code: ErrorCodes.CLOSED }));
      const reopened = await LmdbChunkStore.open({ path: dir });
      expect(reopened.has(chunk!.address)).toBe(true);
      await reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
