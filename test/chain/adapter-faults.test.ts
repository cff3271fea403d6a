/**
 * A chain adapter that misbehaves (it is the embedder's code, often the client of a remote chain
 * node): calls that never answer, short or malformed reads, a length that drops without a
 * rollback, malformed or reused events, a subscribe() of another shape, failures while following.
 * Each gets a typed error or is handled; none cuts the store, stalls the node or keeps close()
 * waiting.
 */
import { describe, expect, it } from 'vitest';
import type { Announcement, ChainAdapter, ChainListener } from '../../src/chain/types.js';
import { MemoryChain } from '../../src/chain/memory.js';
import { GuardedChain } from '../../src/chain/guarded.js';
import { systemClock } from '../../src/runtime.js';
import { hash160Hex } from '../../src/hash/index.js';
import { AtlasNode } from '../../src/node/index.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { ChainFollower } from '../../src/sync/chain-follow.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { collectGarbage } from '../support/heap.js';
import { waitFor } from '../support/wait.js';

const address = (i: number) => i.toString(16).padStart(40, '0');
const announcements = (count: number): Announcement[] => Array.from({ length: count }, (_, position) => ({ position, address: address(position + 1) }));
const never = new Promise<never>(() => {});

/** An adapter over `list` whose calls the test may replace; its listener is kept for the test to call. */
function adapter(list: Announcement[], overrides: Partial<ChainAdapter> = {}): ChainAdapter & { emit: ChainListener; subscribers: number } {
  const listeners = new Set<ChainListener>();
  const chain = {
    length: async () => list.length,
    read: async (from: number, limit: number) => list.slice(from, from + limit),
    subscribe: (listener: ChainListener) => {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    emit: (event: Parameters<ChainListener>[0]) => {
      for (const listener of listeners) listener(event);
    },
    get subscribers() {
      return listeners.size;
    },
    ...overrides,
  };
  return chain;
}

/** An adapter over `list` that keeps every listener it is given for good, and answers `answer` for its unsubscribe function. */
function keepingAdapter(list: Announcement[], answer: 'a throwing unsubscribe' | 'no function'): ReturnType<typeof adapter> {
  const chain = adapter(list);
  const register = chain.subscribe;
  chain.subscribe = ((listener: ChainListener) => {
    register(listener);
    if (answer === 'no function') return 42;
    return () => {
      throw new Error('already gone');
    };
  }) as never;
  return chain;
}

/** An adapter over `list` whose reads fail with `message`: the next one (`faults.next`), or all while `faults.all`. */
function failingReads(list: Announcement[], message: string): { chain: ReturnType<typeof adapter>; faults: { next: boolean; all: boolean } } {
  const faults = { next: false, all: false };
  const chain = adapter(list, {
    read: async (from, limit) => {
      if (faults.all || faults.next) {
        faults.next = false;
        throw new Error(message);
      }
      return list.slice(from, from + limit);
    },
  });
  return { chain, faults };
}

function openNode(chain: ChainAdapter, store?: MemoryChunkStore, signal?: AbortSignal): Promise<AtlasNode> {
  return AtlasNode.open({ chain, transport: new MemoryNetwork().transport('a'), network: 'x', ...(store ? { store, closeStore: false } : {}) }, signal ? { signal } : {});
}

describe('a chain adapter that misbehaves', () => {
  it('one that never answers: open gives way to its signal, and close() completes while a re-read hangs', async () => {
    const controller = new AbortController();
    const opening = openNode(adapter([], { length: () => never }), undefined, controller.signal);
    setTimeout(() => controller.abort(), 20);
    await expect(opening).rejects.toMatchObject({ code: 'ABORTED' });

    let hang = false;
    const list = announcements(1);
    const chain = adapter(list, { length: async () => (hang ? never : list.length), read: async (from, limit) => (hang ? never : list.slice(from, from + limit)) });
    const node = await openNode(chain);
    await node.start();
    hang = true;
    chain.emit({ type: 'append', announcements: [{ position: 2, address: address(3) }] }); // a gap: the follower reads the chain again
    await new Promise((resolve) => setTimeout(resolve, 20));
    const closed = await Promise.race([node.close().then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('still closing'), 2_000))]);
    expect(closed).toBe('closed');
    expect(chain.subscribers).toBe(0);
  });

  it('a read that answers less than the chain holds, or malformed announcements, is refused and cuts nothing', async () => {
    const data = new TextEncoder().encode('zonefile');
    const list = [...announcements(99), { position: 99, address: hash160Hex(data) }];
    const cases: [string, ChainAdapter['read'], string][] = [
      ['nothing', async () => [], 'CHAIN_FAILED'],
      ['positions off by one', async (from, limit) => list.slice(from, from + limit).map((a) => ({ ...a, position: a.position + 1 })), 'BAD_ANNOUNCEMENT'],
      ['"0x" addresses', async (from, limit) => list.slice(from, from + limit).map((a) => ({ ...a, address: `0x${a.address}` })), 'BAD_ADDRESS'],
      ['not a list', async () => ({ length: 0 }) as unknown as Announcement[], 'CHAIN_FAILED'],
    ];
    for (const [what, read, code] of cases) {
      const store = new MemoryChunkStore();
      await store.append(list);
      await store.put(data);
      const digest = store.sequenceDigest();
      await expect(openNode(adapter(list, { read }), store), what).rejects.toMatchObject({ code });
      expect([store.sequenceLength(), store.chunkCount(), store.inventory.count, store.sequenceDigest()], what).toEqual([100, 1, 1, digest]);
    }
  });

  it('a length that drops while the chain still answers past it is not a rollback', async () => {
    const list = announcements(50);
    const store = new MemoryChunkStore();
    await store.append(list);
    const rollbacks: number[] = [];
    const follower = new ChainFollower(store, adapter(list, { length: async () => 0 }), { onRollback: (length) => rollbacks.push(length) });
    await expect(follower.start()).rejects.toMatchObject({ code: 'CHAIN_FAILED' });
    expect([store.sequenceLength(), rollbacks]).toEqual([50, []]);
  });

  it('events: a malformed one is BAD_ANNOUNCEMENT and changes nothing; a list the adapter reuses is read when it arrives', async () => {
    const list = announcements(5);
    const chain = adapter(list);
    const store = new MemoryChunkStore();
    const errors: unknown[] = [];
    const follower = new ChainFollower(store, chain, { onError: (error) => errors.push(error), retryMs: 60_000 });
    await follower.start();
    const malformed = [
      null,
      { type: 'append' },
      { type: 'append', announcements: list[0] },
      { type: 'reorg' },
      { type: 'rollback', length: Number.NaN },
      { type: 'rollback', length: '2' },
      // An append holding a malformed announcement, wherever it is in the list.
      { type: 'append', announcements: [null] },
      { type: 'append', announcements: [{ position: 5, address: 'x' }] },
      { type: 'append', announcements: [{ position: 5, address: address(6) }, { position: 7, address: address(8) }] },
    ];
    for (const event of malformed) chain.emit(event as never);
    await follower.idle();
    expect(errors.map((error) => (error as { code?: string }).code)).toEqual([...Array<string>(7).fill('BAD_ANNOUNCEMENT'), 'BAD_ADDRESS', 'BAD_ANNOUNCEMENT']);
    expect(store.sequenceLength()).toBe(5);
    await follower.stop();

    // A batching adapter that clears its array once it has emitted it.
    const batching = adapter(list);
    const batchStore = new MemoryChunkStore();
    const follows = new ChainFollower(batchStore, batching);
    await follows.start();
    const pending = [{ position: 5, address: address(6) }, { position: 6, address: address(7) }];
    list.push(...pending);
    batching.emit({ type: 'append', announcements: pending });
    pending.length = 0;
    await follows.idle();
    expect(batchStore.sequenceLength()).toBe(7);
    await follows.stop();
    expect(batching.subscribers).toBe(0);
  });

  it('events dropped by a stop are not counted against the queue bound of the next start', async () => {
    const list = announcements(2);
    const chain = adapter(list);
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (message: string) => void warnings.push(message) };
    const follower = new ChainFollower(new MemoryChunkStore(), chain, { maxPendingEvents: 3, logger });
    for (let cycle = 0; cycle < 2; cycle++) {
      await follower.start();
      // Held behind a store write, then dropped by the stop.
      for (let i = 0; i < 3; i++) chain.emit({ type: 'append', announcements: [list[1] as Announcement] });
      await follower.stop();
    }
    await follower.start();
    chain.emit({ type: 'append', announcements: [list[1] as Announcement] });
    await follower.idle();
    expect(warnings).toEqual([]);
    await follower.stop();
  });

  it('a failure while following is retried until the chain is read again, without waiting for another event', async () => {
    const list = announcements(3);
    const { chain, faults } = failingReads(list, '503 from the chain node');
    const store = new MemoryChunkStore();
    const errors: unknown[] = [];
    const follower = new ChainFollower(store, chain, { onError: (error) => errors.push(error), retryMs: 20 });
    await follower.start();
    list.push({ position: 3, address: address(4) }, { position: 4, address: address(5) });
    faults.next = true;
    chain.emit({ type: 'append', announcements: [{ position: 4, address: address(5) }] }); // a gap: a re-read, which fails once
    await waitFor(() => store.sequenceLength() === 5, 'the retry to catch up', 2_000);
    expect(errors).toEqual([expect.objectContaining({ code: 'CHAIN_FAILED', message: expect.stringContaining('503 from the chain node') })]);
    await follower.stop();
  });

  it('events failing while a retry is pending do not lengthen the wait: a short fault is caught up within a few retries', async () => {
    const list = announcements(3);
    const { chain, faults } = failingReads(list, 'the chain node is down');
    const store = new MemoryChunkStore();
    const follower = new ChainFollower(store, chain, { retryMs: 20, onError: () => {} });
    await follower.start();
    faults.all = true;
    for (let i = 0; i < 10; i++) {
      list.push({ position: list.length, address: address(list.length + 1) });
      chain.emit({ type: 'append', announcements: [{ position: list.length + 5, address: address(99) }] }); // a gap each time: a re-read, which fails
    }
    await new Promise((resolve) => setTimeout(resolve, 60));
    faults.all = false;
    const recovered = Date.now();
    // Ten failed events count as one failure: the next retries come 20, 40, 80 ms apart, not 64 x 20 ms.
    await waitFor(() => store.sequenceLength() === 13, 'the retry to catch up', 2_000);
    expect(Date.now() - recovered).toBeLessThan(600);
    await follower.stop();
  });

  it('subscribe(): one that throws fails the start with a typed error and can be started again; other shapes are taken or refused', async () => {
    let refuse = true;
    const chain = adapter(announcements(2));
    const subscribe = chain.subscribe;
    chain.subscribe = (listener) => {
      if (refuse) throw new Error('ECONNREFUSED ws://chain');
      return subscribe(listener);
    };
    const follower = new ChainFollower(new MemoryChunkStore(), chain);
    await expect(follower.start()).rejects.toMatchObject({ code: 'CHAIN_FAILED' });
    expect(follower.running).toBe(false);
    refuse = false;
    await follower.start();
    await follower.stop();

    // An object with unsubscribe() (as some emitters answer): taken, and called at close.
    const objectShaped = adapter(announcements(2));
    const subscribeObject = objectShaped.subscribe;
    objectShaped.subscribe = ((listener: ChainListener) => ({ unsubscribe: subscribeObject(listener) })) as never;
    const node = await openNode(objectShaped);
    await node.close();
    expect(objectShaped.subscribers).toBe(0);

    // An unsubscribe that throws does not keep close() from completing.
    const throwing = adapter(announcements(2), { subscribe: () => () => { throw new Error('already gone'); } });
    const other = await openNode(throwing);
    await expect(other.close()).resolves.toBeUndefined();

    await expect(openNode(adapter([], { subscribe: () => 42 as never }))).rejects.toMatchObject({ code: 'INVALID_OPTION', option: 'chain' });
  });

  it('subscribe(): a listener the adapter kept after a refused subscribe, or after an unsubscribe that threw, hears nothing more', () => {
    const list = announcements(4);
    const heard: string[] = [];
    const listen = (event: { type: string }) => void heard.push(event.type);
    const onBad = () => void heard.push('bad');
    // Registers the listener, then answers neither a function nor { unsubscribe }.
    const wrongShape = keepingAdapter(list, 'no function');
    expect(() => new GuardedChain(wrongShape, systemClock).subscribe(listen, onBad, () => {})).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', option: 'chain' }));
    expect(wrongShape.subscribers).toBe(1); // the adapter still holds it
    wrongShape.emit({ type: 'append', announcements: list.slice(2) });
    wrongShape.emit({ type: 'nonsense' } as never);
    expect(heard).toEqual([]);

    // An unsubscribe that throws leaves the listener with the adapter: it is told, and hears nothing after.
    const throwing = keepingAdapter(list, 'a throwing unsubscribe');
    const unsubscribeErrors: unknown[] = [];
    const unsubscribe = new GuardedChain(throwing, systemClock).subscribe(listen, onBad, (error) => void unsubscribeErrors.push(error));
    throwing.emit({ type: 'rollback', length: 1 });
    expect(heard).toEqual(['rollback']);
    unsubscribe();
    unsubscribe(); // a second call does nothing: the adapter is not asked, nor the caller told, again
    expect(unsubscribeErrors).toEqual([expect.objectContaining({ message: 'already gone' })]);
    expect(throwing.subscribers).toBe(1);
    throwing.emit({ type: 'append', announcements: list.slice(2) });
    throwing.emit({ type: 'nonsense' } as never);
    expect(heard).toEqual(['rollback']);
  });

  it('subscribe(): an onUnsubscribeError that throws too does not escape unsubscribe()', () => {
    const throwing = keepingAdapter(announcements(2), 'a throwing unsubscribe');
    let told = 0;
    const unsubscribe = new GuardedChain(throwing, systemClock).subscribe(
      () => {},
      () => {},
      () => {
        told++;
        throw new Error('the caller\'s own handler fails');
      },
    );
    expect(() => unsubscribe()).not.toThrow();
    expect(told).toBe(1);
  });

  it('subscribe(): the listener an adapter keeps holds none of the subscriber\'s callbacks once it is let go (collected)', async () => {
    const kept = keepingAdapter(announcements(2), 'a throwing unsubscribe');
    const refusing = keepingAdapter(announcements(2), 'no function');
    // Each subscriber's callbacks reach a large object of its own, as a node's reach its store.
    const subscribe = (chain: ChainAdapter): WeakRef<object> => {
      const owner = { payload: new Array(1_000).fill('node') };
      const guarded = new GuardedChain(chain, systemClock);
      try {
        guarded.subscribe(() => void owner.payload.length, () => void owner.payload.length, () => void owner.payload.length)();
      } catch {
        // the refused subscribe
      }
      return new WeakRef(owner);
    };
    const owners = [subscribe(kept), subscribe(refusing)];
    expect([kept.subscribers, refusing.subscribers]).toEqual([1, 1]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    collectGarbage();
    collectGarbage();
    expect(owners.map((owner) => owner.deref() === undefined)).toEqual([true, true]);
  });

  it('a rollback while the chain is read (during a reconcile or a catch-up) is a rollback, not a failure', async () => {
    // Between length() and the reads of the check.
    const chain = new MemoryChain({ announcements: Array.from({ length: 20 }, (_, i) => address(i + 1)) });
    const store = new MemoryChunkStore();
    await store.append(await chain.read(0, 20));
    let once = true;
    const rollingBack: ChainAdapter = {
      length: async (options) => {
        const length = await chain.length(options);
        if (once) chain.rollback(15);
        once = false;
        return length;
      },
      read: (from, limit, options) => chain.read(from, limit, options),
      subscribe: (listener) => chain.subscribe(listener),
    };
    const follower = new ChainFollower(store, rollingBack);
    await follower.start();
    expect(store.sequenceLength()).toBe(15);
    await follower.stop();

    // After the first page of a catch-up.
    const longer = new MemoryChain({ announcements: Array.from({ length: 30 }, (_, i) => address(i + 1)) });
    let reads = 0;
    const catchingUp: ChainAdapter = {
      length: (options) => longer.length(options),
      read: async (from, limit, options) => {
        const page = await longer.read(from, limit, options);
        if (++reads === 1) longer.rollback(12);
        return page;
      },
      subscribe: (listener) => longer.subscribe(listener),
    };
    const fresh = new MemoryChunkStore();
    const follows = new ChainFollower(fresh, catchingUp, { pageSize: 10 });
    await follows.start();
    expect(fresh.sequenceLength()).toBe(12);
    await follows.stop();
  });

  it('a start that does not wait for the stop before it gets none of the earlier run\'s failures', async () => {
    const list = announcements(1);
    let hang = false;
    const chain = adapter(list, { length: async () => (hang ? never : list.length) });
    const errors: unknown[] = [];
    const follower = new ChainFollower(new MemoryChunkStore(), chain, { onError: (error) => errors.push(error) });
    await follower.start();
    hang = true;
    chain.emit({ type: 'append', announcements: [{ position: 5, address: address(6) }] }); // a gap: the re-read hangs
    await new Promise((resolve) => setTimeout(resolve, 10));
    void follower.stop();
    hang = false;
    await follower.start();
    await follower.idle();
    expect(errors).toEqual([]);
    await follower.stop();
  });
});
