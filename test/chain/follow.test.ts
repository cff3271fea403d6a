import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChainFollower } from '../../src/sync/chain-follow.js';
import { MemoryChain } from '../../src/chain/memory.js';
import type { Announcement, ChainAdapter, ChainEvent, ChainListener } from '../../src/chain/types.js';
import { LmdbChunkStore } from '../../src/store/lmdb.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import type { ChunkStore } from '../../src/store/types.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-follow-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const addr = (i: number) => i.toString(16).padStart(40, '0');
const addrs = (from: number, count: number) => Array.from({ length: count }, (_, i) => addr(from + i));

function sequenceOf(store: ChunkStore): string[] {
  return Array.from({ length: store.sequenceLength() }, (_, i) => store.addressAt(i) as string);
}

async function chainSequence(chain: ChainAdapter): Promise<string[]> {
  const out: string[] = [];
  const length = await chain.length();
  while (out.length < length) out.push(...(await chain.read(out.length, 1_000)).map((a) => a.address));
  return out;
}

/** Records callbacks and checks that the store is never written by two calls at once. */
function recorder() {
  const calls: string[] = [];
  return {
    calls,
    onAppend: (from: number, count: number) => void calls.push(`append ${from}+${count}`),
    onRollback: (length: number) => void calls.push(`rollback ${length}`),
  };
}

/** A store whose writes are slow, and that records how many writes ever overlapped. */
function slowStore(inner: ChunkStore): ChunkStore & { maxConcurrent: number } {
  let active = 0;
  const state = { maxConcurrent: 0 };
  const guard =
    <A extends unknown[]>(fn: (...args: A) => Promise<void>) =>
    async (...args: A) => {
      active++;
      state.maxConcurrent = Math.max(state.maxConcurrent, active);
      try {
        await new Promise((resolve) => setTimeout(resolve, 1));
        await fn.apply(inner, args);
      } finally {
        active--;
      }
    };
  const append = guard(inner.append);
  const truncate = guard(inner.truncate);
  return new Proxy(inner, {
    get(target, key) {
      if (key === 'append') return append;
      if (key === 'truncate') return truncate;
      if (key === 'maxConcurrent') return state.maxConcurrent;
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as ChunkStore & { maxConcurrent: number };
}

/** A MemoryChain seen through an adapter that can drop events or stall reads. */
class FilteredChain implements ChainAdapter {
  drop = 0;
  stall: Promise<void> | undefined;
  constructor(readonly inner: MemoryChain) {}
  length(options?: { signal?: AbortSignal }) {
    return this.inner.length(options);
  }
  async read(from: number, limit: number, options?: { signal?: AbortSignal }): Promise<Announcement[]> {
    if (this.stall) await this.stall;
    return this.inner.read(from, limit, options);
  }
  subscribe(listener: ChainListener) {
    return this.inner.subscribe((event: ChainEvent) => {
      if (this.drop > 0) {
        this.drop--;
        return;
      }
      listener(event);
    });
  }
}

describe('ChainFollower', () => {
  it('catches up in bounded pages, then applies live appends and rollbacks in order', async () => {
    const chain = new MemoryChain({ announcements: addrs(0, 25_000) });
    const store = new MemoryChunkStore();
    const rec = recorder();
    const follower = new ChainFollower({ store, chain, pageSize: 10_000, ...rec });
    await follower.start();
    expect(rec.calls).toEqual(['append 0+10000', 'append 10000+10000', 'append 20000+5000']);
    expect(store.sequenceLength()).toBe(25_000);
    chain.announce(addrs(25_000, 3));
    chain.rollback(24_990);
    chain.announce(addrs(90_000, 2));
    await follower.idle();
    expect(rec.calls.slice(3)).toEqual(['append 25000+3', 'rollback 24990', 'append 24990+2']);
    expect(sequenceOf(store)).toEqual(await chainSequence(chain));
    await follower.stop();
    chain.announce(addr(5));
    await follower.idle();
    expect(store.sequenceLength()).toBe(24_992);
  });

  it('sets the inventory bit of a stored chunk when the follower re-announces it', async () => {
    const store = new MemoryChunkStore();
    const data = new TextEncoder().encode('followed chunk');
    const { hash160Hex } = await import('../../src/hash/index.js');
    const chain = new MemoryChain({ announcements: [hash160Hex(data)] });
    const follower = new ChainFollower({ store, chain });
    await follower.start();
    await store.put(data);
    chain.rollback(0);
    chain.announce([addr(1), hash160Hex(data)]);
    await follower.idle();
    expect(Array.from(store.inventory.positions())).toEqual([1]);
    await follower.stop();
  });

  it('detects a reorganisation that happened while it was offline, shallow or deep', async () => {
    for (const depth of [3, 40, 1_000]) {
      const chain = new MemoryChain({ announcements: addrs(0, 1_000) });
      const store = new MemoryChunkStore();
      const first = new ChainFollower({ store, chain, checkDepth: 16 });
      await first.start();
      await first.stop();
      chain.rollback(1_000 - depth);
      chain.announce(addrs(50_000, depth + 5));
      const rec = recorder();
      const second = new ChainFollower({ store, chain, checkDepth: 16, ...rec });
      await second.start();
      expect(rec.calls).toEqual([`rollback ${1_000 - depth}`, `append ${1_000 - depth}+${depth + 5}`]);
      expect(sequenceOf(store)).toEqual(await chainSequence(chain));
      await second.stop();
    }
  });

  it('truncates a store longer than the chain, and leaves an agreeing store alone', async () => {
    const chain = new MemoryChain({ announcements: addrs(0, 50) });
    const store = new MemoryChunkStore();
    await store.append(addrs(0, 60).map((address, position) => ({ position, address })));
    const rec = recorder();
    const follower = new ChainFollower({ store, chain, ...rec });
    await follower.start();
    expect(rec.calls).toEqual(['rollback 50']);
    await follower.stop();
    const again = recorder();
    const quiet = new ChainFollower(store, chain, again); // the positional form

    await quiet.start();
    expect(again.calls).toEqual([]);
    await quiet.stop();
  });

  it('follows a persisted store across a restart and an offline reorganisation (LMDB)', async () => {
    const path = join(root, 'follow-lmdb');
    const chain = new MemoryChain({ announcements: addrs(0, 3_000) });
    let store = await LmdbChunkStore.open({ path, noSync: true });
    const follower = new ChainFollower({ store, chain });
    await follower.start();
    await follower.stop();
    await store.close();
    chain.rollback(2_990);
    chain.announce(addrs(70_000, 20));
    store = await LmdbChunkStore.open({ path, noSync: true });
    const rec = recorder();
    const restarted = new ChainFollower({ store, chain, ...rec });
    await restarted.start();
    expect(rec.calls).toEqual(['rollback 2990', 'append 2990+20']);
    expect(sequenceOf(store)).toEqual(await chainSequence(chain));
    await restarted.stop();
    await store.close();
  });

  it('never writes the store concurrently, even under a burst of events', async () => {
    const chain = new MemoryChain();
    const store = slowStore(new MemoryChunkStore());
    const follower = new ChainFollower({ store, chain });
    await follower.start();
    for (let i = 0; i < 30; i++) {
      chain.announce(addrs(i * 10, 3));
      if (i % 7 === 6) chain.rollback(chain.size - 2);
    }
    await follower.idle();
    expect(store.maxConcurrent).toBe(1);
    expect(sequenceOf(store)).toEqual(await chainSequence(chain));
    await follower.stop();
  });

  it('idle() also waits for events that arrive while it waits', async () => {
    const chain = new MemoryChain();
    const store = slowStore(new MemoryChunkStore());
    let chained = false;
    const follower = new ChainFollower({
      store,
      chain,
      // The first append announces more: an event queued while idle() is already waiting.
      onAppend: () => {
        if (chained) return;
        chained = true;
        chain.announce(addrs(100, 2));
      },
    });
    await follower.start();
    chain.announce(addrs(0, 3));
    await follower.idle();
    expect(sequenceOf(store)).toEqual([...addrs(0, 3), ...addrs(100, 2)]);
    await follower.stop();
  });

  it('re-reads the chain when an event is missing (a gap) or the event queue overflows', async () => {
    const inner = new MemoryChain();
    const chain = new FilteredChain(inner);
    const store = new MemoryChunkStore();
    const follower = new ChainFollower({ store, chain });
    await follower.start();
    chain.drop = 1;
    inner.announce(addrs(0, 2)); // dropped
    inner.announce(addrs(2, 2)); // starts at 2 while the store has 0: a gap
    await follower.idle();
    expect(sequenceOf(store)).toEqual(addrs(0, 4));
    await follower.stop();

    const burstChain = new MemoryChain();
    const burstStore = slowStore(new MemoryChunkStore());
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (m: string) => void warnings.push(m) };
    const burst = new ChainFollower({ store: burstStore, chain: burstChain, maxPendingEvents: 5, logger });
    await burst.start();
    for (let i = 0; i < 50; i++) burstChain.announce(addr(i));
    await burst.idle();
    expect(warnings.length).toBeGreaterThan(0);
    expect(sequenceOf(burstStore)).toEqual(addrs(0, 50));
    expect(burstStore.maxConcurrent).toBe(1);
    await burst.stop();
  });

  it('stops when its signal aborts, and start() then rejects with ABORTED', async () => {
    const inner = new MemoryChain({ announcements: addrs(0, 100) });
    const chain = new FilteredChain(inner);
    let release!: () => void;
    chain.stall = new Promise((resolve) => (release = resolve));
    const store = new MemoryChunkStore();
    const controller = new AbortController();
    const follower = new ChainFollower({ store, chain, pageSize: 10 });
    const started = follower.start({ signal: controller.signal });
    controller.abort();
    release();
    await expect(started).rejects.toMatchObject({ code: 'ABORTED' });
    expect(follower.running).toBe(false);
    expect(store.sequenceLength()).toBeLessThanOrEqual(10);
    inner.announce(addr(500));
    await follower.idle();
    expect(store.sequenceLength()).toBeLessThanOrEqual(10);
    await expect(new ChainFollower({ store, chain }).start({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('reports bad chain data: start() rejects, and a live error reaches onError then heals on the next event', async () => {
    const bad: ChainAdapter = {
      length: async () => 2,
      read: async (from) => (from === 0 ? [{ position: 0, address: addr(1) }, { position: 5, address: addr(2) }] : []),
      subscribe: () => () => {},
    };
    const follower = new ChainFollower({ store: new MemoryChunkStore(), chain: bad });
    await expect(follower.start()).rejects.toMatchObject({ code: 'BAD_ANNOUNCEMENT' });
    expect(follower.running).toBe(false);

    const chain = new MemoryChain();
    const store = new MemoryChunkStore();
    const errors: unknown[] = [];
    const live = new ChainFollower({ store, chain, onError: (e) => void errors.push(e) });
    await live.start();
    const broken = store.append.bind(store);
    let failures = 1;
    store.append = async (announcements) => {
      if (failures-- > 0) throw new Error('disk full');
      return broken(announcements);
    };
    chain.announce(addr(1));
    await live.idle();
    expect(errors.map(String)).toEqual(['Error: disk full']);
    expect(store.sequenceLength()).toBe(0);
    chain.announce(addr(2));
    await live.idle();
    expect(sequenceOf(store)).toEqual(addrs(1, 2));
    await live.stop();
  });
});
