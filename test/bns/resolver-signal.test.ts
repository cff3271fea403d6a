/** One caller's abort ends its own wait only: a lookup running alongside is not failed by it. */
import { getEventListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { NameResolver } from '../../src/bns/names.js';
import { MemoryChain } from '../../src/chain/memory.js';
import type { Announcement, ChainAdapter, ChainListener } from '../../src/chain/types.js';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import { hash160Hex } from '../../src/hash/index.js';

async function pause(signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(30, undefined, { signal });
  } catch {
    throw new AtlasError(ErrorCodes.ABORTED, 'aborted');
  }
}

/** A chain whose reads take a while (a remote adapter), and which honours each call's signal. */
class SlowChain implements ChainAdapter {
  constructor(private readonly inner: MemoryChain) {}
  async length(options?: { signal?: AbortSignal }): Promise<number> {
    await pause(options?.signal);
    return this.inner.length();
  }
  async read(from: number, limit: number, options?: { signal?: AbortSignal }): Promise<Announcement[]> {
    await pause(options?.signal);
    return this.inner.read(from, limit);
  }
  subscribe(listener: ChainListener): () => void {
    return this.inner.subscribe(listener);
  }
}

/** A resolver of alice.id (its zone file held) over a slow chain. */
function aliceOnSlowChain(): NameResolver {
  const file = new Uint8Array(Buffer.from('$ORIGIN alice.id\n$TTL 3600\n'));
  const memory = new MemoryChain();
  memory.announce([{ address: hash160Hex(file), key: 'alice.id' }]);
  return new NameResolver({ chain: new SlowChain(memory), chunk: (address) => (address === hash160Hex(file) ? file : undefined) });
}

describe('NameResolver and signals', () => {
  it('resolves for one caller while another caller of the same sync aborts', async () => {
    const names = aliceOnSlowChain();
    const leaving = new AbortController();
    const first = names.resolve('alice.id', { signal: leaving.signal });
    const second = names.resolve('alice.id', { signal: AbortSignal.timeout(5_000) });
    setTimeout(() => leaving.abort(), 5);
    await expect(first).rejects.toMatchObject({ code: 'ABORTED' });
    expect((await second).status).toBe('ok');
  });

  it('carries one listener on a signal shared by many lookups at once (no MaxListenersExceededWarning), none once they are done', async () => {
    const names = aliceOnSlowChain();
    const shutdown = new AbortController();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const lookups = Array.from({ length: 30 }, () => names.resolve('alice.id', { signal: shutdown.signal }));
      expect(getEventListeners(shutdown.signal, 'abort').length).toBeLessThanOrEqual(2);
      expect((await Promise.all(lookups)).every((resolution) => resolution.status === 'ok')).toBe(true);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((warning) => warning.name)).not.toContain('MaxListenersExceededWarning');
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
  });

  it('leaves no catch-up failure unhandled when the one caller had left before it began (a signal aborted already)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const failing: ChainAdapter = {
        length: async () => {
          await sleep(10);
          throw new AtlasError(ErrorCodes.CHAIN_FAILED, 'chain adapter: length() failed');
        },
        read: async () => [],
        subscribe: () => () => undefined,
      };
      const names = new NameResolver({ chain: failing, chunk: () => undefined });
      await expect(names.resolve('alice.btc', { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
      await sleep(50); // the catch-up fails meanwhile, with nobody waiting on it
      const closing = new NameResolver({ chain: new SlowChain(new MemoryChain()), chunk: () => undefined });
      await expect(closing.resolve('alice.btc', { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
      closing.close(); // its catch-up ends with CLOSED, with nobody waiting on it
      await sleep(80);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('NameResolver names', () => {
  it('refuses a name that is no ASCII before lower-casing it: the Kelvin sign is no k', async () => {
    const names = new NameResolver({ chain: new MemoryChain(), chunk: () => undefined });
    await expect(names.resolve('\u212Aate.btc')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(names.resolve('KATE.btc')).resolves.toMatchObject({ name: 'kate.btc', status: 'name-not-found' });
  });
});
