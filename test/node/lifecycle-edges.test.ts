/**
 * The node's lifecycle at its edges: close() called twice at once or failing halfway, start()
 * overtaken by close(), an open that fails or is aborted, a put answered while the node closes,
 * whenSynced with a signal already aborted. Each leaves the store free to open again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { ErrorCodes } from '../../src/errors.js';
import { hash160Hex } from '../../src/hash/index.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { AtlasNode } from '../../src/node/atlas-node.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { LmdbChunkStore } from '../../src/store/lmdb.js';
import { HttpTransport } from '../../src/transport/http.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { waitFor } from '../support/wait.js';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function dataDir(): string {
  const folder = mkdtempSync(join(tmpdir(), 'atlas-lifecycle-'));
  folders.push(folder);
  return join(folder, 'store');
}

/** A port nothing listens on now (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Opens the store at `dir` and closes it again: throws BUSY while a node still holds it. */
async function storeIsFree(dir: string): Promise<void> {
  const store = await LmdbChunkStore.open({ path: dir });
  await store.close();
}

describe('AtlasNode lifecycle edges', () => {
  it('reads of a closed node say CLOSED, as every other use does', async () => {
    const node = await AtlasNode.open({ chain: new MemoryChain(), transport: new MemoryNetwork().transport('a') });
    await node.close();
    for (const read of [() => node.inventory(), () => node.zonefile('ab'.repeat(20)), () => node.missing(), () => node.missingCount]) {
      expect(read).toThrow(expect.objectContaining({ code: ErrorCodes.CLOSED }));
    }
  });

  it('stats() of a closed node says CLOSED in the node\'s words, whether the node closed its store or the host keeps it open', async () => {
    const own = await AtlasNode.open({ chain: new MemoryChain(), transport: new MemoryNetwork().transport('a') });
    await own.close();
    expect(() => own.stats()).toThrow(expect.objectContaining({ code: ErrorCodes.CLOSED, message: 'cannot read stats: node is closed' }));
    const store = new MemoryChunkStore();
    const hosted = await AtlasNode.open({ chain: new MemoryChain(), transport: new MemoryNetwork().transport('b'), store });
    expect(hosted.stats().state).toBe('open');
    await hosted.close();
    expect(() => hosted.stats()).toThrow(expect.objectContaining({ code: ErrorCodes.CLOSED, message: 'cannot read stats: node is closed' }));
    expect(store.sequenceLength()).toBe(0); // the host's store is still open
    await store.close();

    // While close() waits for the store to close, stats() already says so.
    let release!: () => void;
    const closing = new MemoryChunkStore();
    const closeStore = closing.close.bind(closing);
    let closeCalled = false;
    closing.close = async () => {
      closeCalled = true;
      await new Promise<void>((resolve) => (release = resolve));
      await closeStore();
    };
    const closingNode = await AtlasNode.open({ chain: new MemoryChain(), transport: new MemoryNetwork().transport('c'), store: closing, closeStore: true });
    const closed = closingNode.close();
    await waitFor(() => closeCalled, 'close() to reach the store');
    expect(() => closingNode.stats()).toThrow(expect.objectContaining({ code: ErrorCodes.CLOSED, message: 'cannot read stats: node is closing' }));
    release();
    await closed;
  });

  it('two close() calls at once share one promise, and both settle once the store is released', async () => {
    const dir = dataDir();
    const node = await AtlasNode.open({ chain: new MemoryChain(), transport: new MemoryNetwork().transport('a'), dataDir: dir, network: 'x' });
    await node.start();
    const first = node.close();
    const second = node.close();
    expect(second).toBe(first);
    await second;
    expect(node.state).toBe('closed');
    await storeIsFree(dir);
  });

  it('a close() whose transport fails still closes the store, rejects with that error, and leaves the node closed', async () => {
    const dir = dataDir();
    const transport = new MemoryNetwork().transport('a');
    const closeTransport = transport.close.bind(transport);
    transport.close = async () => {
      await closeTransport();
      throw new Error('transport close failed');
    };
    const node = await AtlasNode.open({ chain: new MemoryChain(), transport, dataDir: dir, network: 'x' });
    await node.start();
    await expect(node.close()).rejects.toThrow('transport close failed');
    expect(node.state).toBe('closed');
    await expect(node.close()).rejects.toThrow('transport close failed'); // the same answer again
    await storeIsFree(dir);
  });

  it('start() overtaken by close() while the HTTP server starts to listen rejects with CLOSED and leaves nothing listening', async () => {
    const port = await freePort();
    const transport = new HttpTransport({ listen: `127.0.0.1:${port}` });
    const node = await AtlasNode.open({ chain: new MemoryChain(), transport, network: 'x', addressPolicy: LOCAL_ADDRESS_POLICY });
    const started = node.start().then(
      () => 'resolved',
      (error: { code?: string }) => error.code,
    );
    await node.close();
    await expect(started).resolves.toBe(ErrorCodes.CLOSED);
    // Nothing holds the port: a server of our own binds it (EADDRINUSE if the node's were left listening).
    await new Promise((resolve) => setTimeout(resolve, 50));
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });

  it('an open whose chain catch-up fails closes the store it opened, even with closeStore: false', async () => {
    const dir = dataDir();
    const chain = new MemoryChain();
    chain.length = async () => {
      throw new Error('chain unreachable');
    };
    await expect(AtlasNode.open({ chain, transport: new MemoryNetwork().transport('a'), dataDir: dir, network: 'x', closeStore: false })).rejects.toThrow('chain unreachable');
    await storeIsFree(dir);
  });

  it('open({ signal }) rejects with ABORTED when the signal aborts during the chain catch-up, and frees the store', async () => {
    const dir = dataDir();
    const chain = new MemoryChain();
    let asked: () => void = () => {};
    const lengthAsked = new Promise<void>((resolve) => (asked = resolve));
    // A chain that never answers, and gives up when the call's signal aborts (as adapters do).
    chain.length = (options) => {
      asked();
      return new Promise<number>((_, reject) => options?.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true }));
    };
    const controller = new AbortController();
    const opened = AtlasNode.open({ chain, transport: new MemoryNetwork().transport('a'), dataDir: dir, network: 'x' }, { signal: controller.signal });
    await lengthAsked;
    controller.abort();
    await expect(opened).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
    await storeIsFree(dir);
    await expect(AtlasNode.open({ chain: new MemoryChain(), transport: new MemoryNetwork().transport('b'), network: 'x' }, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: ErrorCodes.ABORTED,
    });
  });

  it('open refuses a second argument that is not { signal } with INVALID_OPTION, before it takes the transport or the store', async () => {
    const dir = dataDir();
    const transport = new MemoryNetwork().transport('a');
    for (const [init, option] of [
      ['not options', 'options'],
      [{ signal: 'soon' }, 'signal'],
      [{ sigal: AbortSignal.timeout(1_000) }, 'sigal'],
    ] as const) {
      await expect(AtlasNode.open({ chain: new MemoryChain(), transport, dataDir: dir, network: 'x' }, init as never)).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION, option });
    }
    // Neither the transport nor the store was taken: the same ones open a node now.
    const node = await AtlasNode.open({ chain: new MemoryChain(), transport, dataDir: dir, network: 'x' });
    await node.close();
  });

  it('a put answered while the node closes resolves with its outcomes: the chunks are stored', async () => {
    const dir = dataDir();
    const chain = new MemoryChain();
    const chunks = Array.from({ length: 5 }, (_, i) => new TextEncoder().encode(`chunk ${i}`));
    for (const chunk of chunks) chain.announce(hash160Hex(chunk));
    const node = await AtlasNode.open({ chain, transport: new MemoryNetwork().transport('a'), dataDir: dir, network: 'x' });
    await node.start();
    const put = node.putChunks(chunks);
    const closed = node.close();
    await expect(put).resolves.toEqual([true, true, true, true, true]);
    await closed;
    const store = await LmdbChunkStore.open({ path: dir });
    expect(store.chunkCount()).toBe(5);
    await store.close();
  });

  it('whenSynced with a signal already aborted rejects with ABORTED, even when nothing is missing', async () => {
    const node = await AtlasNode.open({ chain: new MemoryChain(), transport: new MemoryNetwork().transport('a'), network: 'x' });
    await node.start(); // before start() whenSynced is NOT_STARTED
    expect(node.progress().missing).toBe(0);
    await expect(node.whenSynced({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
    await expect(node.whenSynced()).resolves.toMatchObject({ missing: 0 });
    await node.close();
  });
});
