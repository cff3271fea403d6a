import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import { RateLimiter, remoteHost } from '../../src/transport/rate-limit.js';
import { offeredPositions, RequestGuard } from '../../src/protocol/request-guard.js';
import { encodePositions } from '../../src/inventory/varint.js';
import { InventoryLog } from '../../src/inventory/change-log.js';
import { changesAnswered, inventoryBytesAnswered } from '../../src/node/service.js';
import { Inventory } from '../../src/inventory/inventory.js';
import { systemClock } from '../../src/runtime.js';
import type { ProtocolHandler } from '../../src/protocol/server.js';
import { peerAddressNamed } from '../../src/peer-address.js';
import { contextFrom } from '../support/caller.js';
import { steppedClock } from '../support/clock.js';


/** A call's outcome as data: its value, or its error's code. */
async function outcome(promise: Promise<unknown>): Promise<unknown> {
  return promise.then((value) => ({ value }), (error: unknown) => ({ error: (error as AtlasError).code ?? String(error) }));
}

function busyCode(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error instanceof AtlasError ? error.code : 'not an AtlasError';
  }
}

describe('remoteHost', () => {
  it('keys IPv4 callers by address, without the port', () => {
    expect(remoteHost('127.0.0.1:51234')).toBe('127.0.0.1');
    expect(remoteHost('203.0.113.9:1')).toBe('203.0.113.9');
  });

  it('keys IPv6 callers by /64 and IPv4-mapped ones by their IPv4 address', () => {
    expect(remoteHost('[2001:db8:1:2:3:4:5:6]:80')).toBe('2001:db8:1:2::/64');
    expect(remoteHost('[2001:db8:1:2::9]:80')).toBe('2001:db8:1:2::/64');
    expect(remoteHost('[2001:0db8:0001:0002:ffff::1]:443')).toBe('2001:db8:1:2::/64');
    expect(remoteHost('[::ffff:127.0.0.1]:9')).toBe('127.0.0.1');
    expect(remoteHost('[::1]:9')).toBe('0:0:0:0::/64');
  });

  it('keeps non-IP identities (MemoryNetwork names) as they are', () => {
    expect(remoteHost('node-7')).toBe('node-7');
    expect(remoteHost('unknown:0')).toBe('unknown:0');
  });

  it('never throws and stays short, whatever the remote string', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (remote) => {
        expect(remoteHost(remote).length).toBeLessThanOrEqual(Math.max(remote.length, 45));
      }),
      { numRuns: 2_000, seed: 11 },
    );
  });
});

describe('RateLimiter', () => {
  it('allows a burst, then refuses until tokens come back at the configured rate', () => {
    const clock = steppedClock();
    const limiter = new RateLimiter(clock, { ratePerSecond: 10, burst: 5, maxKeys: 10 });
    expect(Array.from({ length: 8 }, () => limiter.take('a'))).toEqual([true, true, true, true, true, false, false, false]);
    expect(limiter.retryAfterMs('a')).toBe(100);
    clock.advance(99);
    expect(limiter.take('a')).toBe(false);
    clock.advance(1);
    expect(limiter.take('a')).toBe(true);
    clock.advance(60_000);
    expect(limiter.tokens('a')).toBe(5); // never more than the burst
  });

  it('keeps one bucket per key: a flooding key does not spend another key\'s tokens', () => {
    const limiter = new RateLimiter(steppedClock(), { ratePerSecond: 1, burst: 3, maxKeys: 10 });
    for (let i = 0; i < 100; i++) limiter.take('flooder');
    expect(limiter.take('flooder')).toBe(false);
    expect(limiter.take('honest')).toBe(true);
  });

  it('remembers at most maxKeys keys, forgetting the least recently seen', () => {
    const limiter = new RateLimiter(steppedClock(), { ratePerSecond: 1, burst: 2, maxKeys: 100 });
    limiter.take('kept');
    limiter.take('kept');
    for (let i = 0; i < 100_000; i++) {
      limiter.take(`k${i}`);
      if (i % 50 === 0) limiter.take('kept'); // touched often: stays remembered
    }
    expect(limiter.size).toBe(100);
    expect(limiter.take('kept')).toBe(false);
  });

  it('never forgets a debt: a new key cannot push an indebted key out, it is refused instead', () => {
    const clock = steppedClock();
    const limiter = new RateLimiter(clock, { ratePerSecond: 1_000, burst: 1_000, maxKeys: 4 });
    // An attacker's /64 keys, every one in debt after one large reply each.
    const keys = ['2001:db8:0:0::/64', '2001:db8:0:1::/64', '2001:db8:0:2::/64', '2001:db8:0:3::/64'];
    for (const key of keys) expect(limiter.charge(key, 5_000)).toBe(true);
    // Cycling more /64s through the table neither forgets a debt nor wins a fresh burst.
    for (let i = 4; i < 1_000; i++) {
      expect(limiter.take(`2001:db8:0:${i.toString(16)}::/64`)).toBe(false);
      expect(limiter.hold(`2001:db8:0:${i.toString(16)}::/64`)).toBe(false);
      expect(limiter.charge(`2001:db8:0:${i.toString(16)}::/64`, 1)).toBe(false);
    }
    expect(limiter.size).toBe(4);
    for (const key of keys) expect(limiter.tokens(key)).toBe(-4_000);
    // Once a debt is earned back, that key's place can be taken.
    clock.advance(4_500);
    expect(limiter.take('newcomer')).toBe(true);
    expect(limiter.size).toBe(4);
  });

  it('when full, forgets a full bucket first, then one partly spent, never one in debt or in use', () => {
    const clock = steppedClock();
    const busy = new Set(['in-use']);
    const limiter = new RateLimiter(clock, { ratePerSecond: 1, burst: 10, maxKeys: 4 }, { inUse: (key) => busy.has(key) });
    limiter.charge('in-use', 1); // oldest, partly spent, but in use
    limiter.charge('debtor', 20); // in debt
    limiter.take('spent'); // partly spent
    limiter.hold('idle'); // full: carries nothing
    expect(limiter.take('new-1')).toBe(true);
    expect(limiter.tokens('idle')).toBe(10); // forgotten (an unknown key reads as full) ...
    expect(limiter.tokens('spent')).toBe(9); // ... while the partly spent one is still remembered
    expect(limiter.take('new-2')).toBe(true); // no full bucket left: 'spent' goes, not 'in-use' or 'debtor'
    expect(limiter.tokens('spent')).toBe(10);
    expect(limiter.tokens('in-use')).toBe(9);
    expect(limiter.tokens('debtor')).toBe(-10);
    busy.clear();
    limiter.take('new-1');
    limiter.take('new-2');
    expect(limiter.take('new-3')).toBe(true); // 'in-use' is no longer in use: the oldest not in debt
    expect(limiter.tokens('in-use')).toBe(10);
    expect(limiter.tokens('debtor')).toBe(-10);
  });

  it('bounds the work a flood of new keys causes when the table is full of debts', () => {
    const clock = steppedClock();
    const maxKeys = 4_096;
    const busy = new Set<string>();
    const limiter = new RateLimiter(clock, { ratePerSecond: 1_000, burst: 1_000, maxKeys }, { inUse: (key) => busy.has(key) });
    // Count every bucket a search visits (the limiter's map is private; this reaches in on purpose).
    let visits = 0;
    const buckets = (limiter as unknown as { buckets: Map<string, unknown> }).buckets;
    Object.defineProperty(buckets, Symbol.iterator, {
      value: function* () {
        for (const entry of Map.prototype.entries.call(buckets)) {
          visits++;
          yield entry;
        }
      },
    });
    // The oldest keys are in debt; the newest few carry nothing.
    for (let i = 0; i < maxKeys - 64; i++) limiter.charge(`debtor-${i}`, 5_000);
    for (let i = 0; i < 64; i++) limiter.hold(`idle-${i}`);
    // New keys keep arriving. Each search looks at 256 keys at most, moving the debts it passes
    // to the recent end: the first arrivals are refused, then each takes an idle key's place.
    let admitted = 0;
    let refused = 0;
    for (let i = 0; admitted < 64 && i < 200; i++) {
      visits = 0;
      if (limiter.take(`new-${i}`)) {
        busy.add(`new-${i}`);
        admitted++;
      } else refused++;
      expect(visits).toBeLessThanOrEqual(256 + 16);
    }
    expect(admitted).toBe(64);
    expect(refused).toBeLessThanOrEqual(Math.ceil(maxKeys / 256));
    // Now every key is in debt or in use: 10,000 more arrivals at once cost one walk of the table
    // in all, not one per arrival.
    visits = 0;
    for (let i = 0; i < 10_000; i++) expect(limiter.take(`flood-${i}`)).toBe(false);
    expect(visits).toBeLessThanOrEqual(maxKeys + 256);
    // Keys in use are looked at again a little later; once released, a newcomer gets in.
    busy.clear();
    expect(limiter.take('newcomer')).toBe(false);
    clock.advance(100);
    let tries = 0;
    while (!limiter.take('newcomer') && tries < 20) tries++;
    expect(tries).toBeLessThan(20);
    // No debt was forgotten meanwhile.
    for (let i = 0; i < maxKeys - 64; i += 97) expect(limiter.tokens(`debtor-${i}`)).toBeLessThan(0);
  });

  it('costs and the Infinity rate', () => {
    const limiter = new RateLimiter(steppedClock(), { ratePerSecond: 1, burst: 10, maxKeys: 1 });
    expect(limiter.take('a', 7)).toBe(true);
    expect(limiter.take('a', 4)).toBe(false);
    expect(limiter.take('a', 3)).toBe(true);
    const off = new RateLimiter(steppedClock(), { ratePerSecond: Infinity });
    for (let i = 0; i < 10_000; i++) expect(off.take('a')).toBe(true);
    expect(off.size).toBe(0);
  });

  it('refuses nonsense options', () => {
    expect(() => new RateLimiter(steppedClock(), { ratePerSecond: 0 })).toThrow(RangeError);
    expect(() => new RateLimiter(steppedClock(), { burst: 0 })).toThrow(RangeError);
    expect(() => new RateLimiter(steppedClock(), { maxKeys: 0.5 })).toThrow(RangeError);
  });
});

describe('RequestGuard', () => {
  it('keys a wrapped request on its structured caller, not on the remote text', async () => {
    const guard = new RequestGuard(steppedClock(), { maxConcurrent: 10, maxConcurrentPerHost: 1 });
    const waiting: (() => void)[] = [];
    const handler = guard.wrap(() => new Promise<unknown>((resolve) => waiting.push(() => resolve('done'))));
    const caller = { host: '10.0.0.1', port: 1, family: 4 } as const;
    const first = handler('ping', {}, { remote: 'display-a', caller });
    // Another remote text, another port: the same host all the same.
    await expect(handler('ping', {}, { remote: 'display-b', caller: { ...caller, port: 2 } })).rejects.toMatchObject({ code: ErrorCodes.BUSY });
    // Same remote text, another host: served.
    const other = handler('ping', {}, { remote: 'display-a', caller: { host: '10.0.0.2', port: 1, family: 4 } });
    await Promise.resolve();
    expect(waiting).toHaveLength(2);
    for (const open of waiting) open();
    await expect(first).resolves.toBe('done');
    await expect(other).resolves.toBe('done');
  });

  it('runs an admitted call within its request\'s place: none once that request\'s signal has aborted, and no token spent', async () => {
    const guard = new RequestGuard(steppedClock(), { ratePerSecond: 1, burst: 2 });
    const ran: string[] = [];
    const handler = guard.wrap(async (method) => (ran.push(method), method));
    const caller = { host: '10.0.0.1', port: 1, family: 4 } as const;
    const gone = new AbortController();
    gone.abort();
    for (let i = 0; i < 5; i++) {
      await expect(handler('inventory', {}, { remote: 'a', caller, admitted: true, signal: gone.signal })).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
    }
    expect(ran).toEqual([]);
    // The two tokens of the burst are still there for calls whose client is still waiting.
    await expect(handler('inventory', {}, { remote: 'a', caller, admitted: true, signal: new AbortController().signal })).resolves.toBe('inventory');
    await expect(handler('ping', {}, { remote: 'a', caller, admitted: true })).resolves.toBe('ping');
    await expect(handler('ping', {}, { remote: 'a', caller, admitted: true })).rejects.toMatchObject({ code: ErrorCodes.BUSY });
    expect(guard.stats()).toMatchObject({ inFlight: 0, admitted: 0, refusedRate: 1 });
  });

  it('refuses with BUSY beyond maxConcurrent and maxConcurrentPerHost, and recovers on release', () => {
    const guard = new RequestGuard(steppedClock(), { maxConcurrent: 3, maxConcurrentPerHost: 2 });
    const a1 = guard.enter(peerAddressNamed('10.0.0.1:1'), 'ping');
    const a2 = guard.enter(peerAddressNamed('10.0.0.1:2'), 'ping');
    expect(busyCode(() => guard.enter(peerAddressNamed('10.0.0.1:3'), 'ping'))).toBe(ErrorCodes.BUSY); // same host, other port
    const b1 = guard.enter(peerAddressNamed('10.0.0.2:1'), 'ping');
    expect(busyCode(() => guard.enter(peerAddressNamed('10.0.0.3:1'), 'ping'))).toBe(ErrorCodes.BUSY); // global bound
    a1();
    a1(); // a second release changes nothing
    expect(guard.stats().inFlight).toBe(2);
    guard.enter(peerAddressNamed('10.0.0.3:1'), 'ping');
    a2();
    b1();
    expect(guard.stats()).toMatchObject({ inFlight: 1, refusedConcurrency: 2, refusedRate: 0, admitted: 4 });
  });

  it('refuses with BUSY and a retry hint once a host has spent its tokens; other hosts are served', async () => {
    const clock = steppedClock();
    const guard = new RequestGuard(clock, { ratePerSecond: 2, burst: 4, methodCost: { getChunks: 2 } });
    const handler = guard.wrap(async (method) => method);
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => handler('getChunks', {}, contextFrom('192.0.2.1:5'))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected']);
    const refusal = (results[2] as PromiseRejectedResult).reason as AtlasError;
    expect(refusal.code).toBe(ErrorCodes.BUSY);
    expect(refusal.details).toEqual({ retryAfterMs: 1_000 });
    await expect(handler('ping', {}, contextFrom('192.0.2.2:5'))).resolves.toBe('ping');
    clock.advance(1_000);
    await expect(handler('getChunks', {}, contextFrom('192.0.2.1:6'))).resolves.toBe('getChunks');
    expect(guard.stats().refusedRate).toBe(2);
  });

  it('prices a getChunks by the addresses it asks: one token per addressesPerToken, at least one', async () => {
    const clock = steppedClock();
    const guard = new RequestGuard(clock, { ratePerSecond: 1, burst: 10, addressesPerToken: 250 });
    const handler = guard.wrap(async (method) => method);
    const ask = (count: number) => handler('getChunks', { addresses: new Array(count).fill('a'.repeat(40)) }, contextFrom('192.0.2.1:5'));
    await expect(ask(1_000)).resolves.toBe('getChunks'); // 4 tokens
    await expect(ask(1_000)).resolves.toBe('getChunks'); // 4 more: 2 left
    await expect(ask(501)).rejects.toMatchObject({ code: ErrorCodes.BUSY }); // 3 tokens
    await expect(ask(250)).resolves.toBe('getChunks'); // 1 token
    await expect(handler('getChunks', { addresses: 'not a list' }, contextFrom('192.0.2.1:5'))).resolves.toBe('getChunks'); // 1: validation refuses it later
    await expect(ask(1)).rejects.toMatchObject({ code: ErrorCodes.BUSY }); // the bucket is empty
    expect(() => new RequestGuard(clock, { addressesPerToken: 0 })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION, option: 'requests.addressesPerToken' }));
  });

  it('prices an offer by the positions it names: 65,536 in a 64 KiB body cost 656 tokens, so one host\'s flood of them is BUSY after 7, a small one 1', async () => {
    const guard = new RequestGuard(steppedClock()); // the defaults: a burst of 5,000, 100 positions a token
    const handler = guard.wrap(async (method) => method);
    const added = encodePositions(Uint32Array.from({ length: 65_536 }, (_, i) => i));
    expect(added.length).toBe(65_536);
    const attacker = contextFrom('192.0.2.1:5');
    let admitted = 0;
    for (let i = 0; i < 50; i++) admitted += await handler('offer', { from: '192.0.2.1:6264', added }, attacker).then(() => 1, () => 0);
    expect(admitted).toBe(Math.floor(5_000 / 656));
    expect(guard.stats().refusedRate).toBe(50 - admitted);
    // Counted by position, not by byte: sparse positions take more bytes each and cost no more.
    expect(offeredPositions(encodePositions(Uint32Array.of(0, 1_000, 4_000_000_000)))).toBe(3);
    expect(offeredPositions(added)).toBe(65_536);
    // What is no byte string names nothing (validation refuses it later).
    for (const params of ['x', [1, 2], undefined]) expect(offeredPositions(params)).toBe(0);
    const honest = contextFrom('192.0.2.2:5');
    const small = (count: number) => handler('offer', { from: '192.0.2.2:6264', added: encodePositions(Uint32Array.from({ length: count }, (_, i) => i * 3)) }, honest);
    for (let i = 0; i < 4_990; i++) await small(100); // 1 token each
    for (let i = 0; i < 4; i++) await expect(small(101)).resolves.toBe('offer'); // 2 tokens each: 2 left
    await expect(small(201)).rejects.toMatchObject({ code: ErrorCodes.BUSY }); // 3 tokens
    await expect(handler('offer', { from: '192.0.2.2:6264', added: 'not bytes' }, honest)).resolves.toBe('offer'); // 1
    await expect(small(1)).resolves.toBe('offer');
    await expect(small(1)).rejects.toMatchObject({ code: ErrorCodes.BUSY });
  });

  it('prices an inventory read by the bytes of our vector it will be answered: 512 KiB cost 128 tokens, a read past the end 1', async () => {
    const inventory = new Inventory(4 * 1024 * 1024); // 512 KiB of vector
    const guard = new RequestGuard(steppedClock(), { ratePerSecond: 1, burst: 5_000 }, { inventoryBytesAnswered: (params) => inventoryBytesAnswered(inventory, params) });
    const handler = guard.wrap(async (method) => method);
    const attacker = contextFrom('192.0.2.1:5');
    let admitted = 0;
    for (let i = 0; i < 60; i++) admitted += await handler('inventory', { offset: 0, length: 524_288 }, attacker).then(() => 1, () => 0);
    expect(admitted).toBe(Math.floor(5_000 / 128));
    // Clamped to the vector: a length past its end costs what the vector holds from the offset.
    expect(inventoryBytesAnswered(inventory, { offset: 524_000, length: 524_288 })).toBe(288);
    expect(inventoryBytesAnswered(inventory, { offset: 600_000, length: 10 })).toBe(0);
    for (const params of [undefined, 'x', { offset: 'a', length: 1 }, { offset: -1, length: 5 }]) expect(inventoryBytesAnswered(inventory, params)).toBe(0);
    const honest = contextFrom('192.0.2.2:5');
    for (let i = 0; i < 4_999; i++) await handler('inventory', { offset: 0, length: 4_096 }, honest); // 1 token each
    await expect(handler('inventory', { offset: 0, length: 4_097 }, honest)).rejects.toMatchObject({ code: ErrorCodes.BUSY }); // 2 tokens, 1 left
    await expect(handler('inventory', { offset: 600_000, length: 4_096 }, honest)).resolves.toBe('inventory'); // past the end: 1
  });

  it('prices an inventoryChanges by the positions its reply will list: a 60-byte request for 65,536 changes costs 656 tokens, a small one 1', async () => {
    const log = new InventoryLog({ maxEntries: 1 << 20, epoch: 'e' });
    log.record(Uint32Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 1_000_000));
    const guard = new RequestGuard(steppedClock(), { ratePerSecond: 1, burst: 5_000 }, { changesAnswered: (params) => changesAnswered(log, params, 65_536) });
    const handler = guard.wrap(async (method) => method);
    const since = (version: number, epoch = 'e') => ({ since: { epoch, version } });
    const attacker = contextFrom('192.0.2.1:5');
    let admitted = 0;
    for (let i = 0; i < 20; i++) admitted += await handler('inventoryChanges', since(log.version - 65_536), attacker).then(() => 1, () => 0);
    expect(admitted).toBe(Math.floor(5_000 / 656));
    // What lists nothing costs 1: past maxCount, another epoch, the future, params that are no request.
    for (const params of [since(0), since(log.version - 10, 'other'), since(log.version + 5), { since: 'x' }, undefined]) {
      expect(changesAnswered(log, params, 65_536)).toBe(0);
    }
    const honest = contextFrom('192.0.2.2:5');
    for (let i = 0; i < 4_999; i++) await handler('inventoryChanges', since(log.version - 100), honest);
    await expect(handler('inventoryChanges', since(log.version - 100), honest)).resolves.toBe('inventoryChanges');
    await expect(handler('inventoryChanges', since(log.version - 100), honest)).rejects.toMatchObject({ code: ErrorCodes.BUSY });
  });

  it('never prices a request above a full bucket: with a small burst, the largest request is still admitted once the bucket is full', async () => {
    const clock = steppedClock();
    const log = new InventoryLog({ maxEntries: 1 << 20, epoch: 'e' });
    log.record(Uint32Array.from({ length: 70_000 }, (_, i) => i));
    const guard = new RequestGuard(clock, { ratePerSecond: 10, burst: 20 }, { changesAnswered: (params) => changesAnswered(log, params, 65_536) });
    const handler = guard.wrap(async (method) => method);
    const caller = contextFrom('192.0.2.1:5');
    await expect(handler('getChunks', { addresses: new Array(1_000).fill('a'.repeat(40)) }, caller)).resolves.toBe('getChunks'); // 10 tokens
    await expect(handler('inventoryChanges', { since: { epoch: 'e', version: log.version - 65_536 } }, caller)).rejects.toMatchObject({ code: ErrorCodes.BUSY });
    clock.advance(1_000); // full again
    await expect(handler('inventoryChanges', { since: { epoch: 'e', version: log.version - 65_536 } }, caller)).resolves.toBe('inventoryChanges'); // 656, priced 20
    await expect(handler('ping', {}, caller)).rejects.toMatchObject({ code: ErrorCodes.BUSY }); // it took the whole bucket
    // A method priced above the burst, and a body whose size is: each admitted once the bucket is full.
    const pricey = new RequestGuard(clock, { ratePerSecond: 1, burst: 5, methodCost: { ping: 10 }, bodyBytesPerToken: 1_000 });
    const pings = pricey.wrap(async (method) => method);
    const other = contextFrom('192.0.2.2:5');
    await expect(pings('ping', {}, other)).resolves.toBe('ping');
    await expect(pings('ping', {}, other)).rejects.toMatchObject({ code: ErrorCodes.BUSY });
    clock.advance(5_000);
    pricey.admit({ caller: other.caller, call: false, bodyBytes: 205_000 })(); // 206 tokens, charged 5
    expect(() => pricey.admit({ caller: other.caller, call: false, bodyBytes: 205_000 })).toThrow(expect.objectContaining({ code: ErrorCodes.BUSY }));
  });

  it('prices packed addresses (20 bytes each) as the same addresses in a list', async () => {
    const clock = steppedClock();
    const guard = new RequestGuard(clock, { ratePerSecond: 1, burst: 10, addressesPerToken: 250 });
    const handler = guard.wrap(async (method) => method);
    const ask = (bytes: number) => handler('getChunks', { addresses: new Uint8Array(bytes) }, contextFrom('192.0.2.1:5'));
    await expect(ask(1_000 * 20)).resolves.toBe('getChunks'); // 4 tokens
    await expect(ask(1_000 * 20)).resolves.toBe('getChunks'); // 4 more: 2 left
    await expect(ask(500 * 20 + 1)).rejects.toMatchObject({ code: ErrorCodes.BUSY }); // 501 addresses, part of one counted whole: 3 tokens
    await expect(ask(250 * 20)).resolves.toBe('getChunks'); // 1 token
    await expect(ask(20)).resolves.toBe('getChunks'); // 1 token
    await expect(ask(0)).rejects.toMatchObject({ code: ErrorCodes.BUSY }); // at least one: the bucket is empty
  });

  it('releases its slot when the handler throws', async () => {
    const guard = new RequestGuard(steppedClock(), { maxConcurrent: 1 });
    const handler = guard.wrap(async () => {
      throw new AtlasError(ErrorCodes.BAD_REQUEST, 'no');
    });
    for (let i = 0; i < 5; i++) await expect(handler('x', {}, contextFrom('a'))).rejects.toMatchObject({ code: ErrorCodes.BAD_REQUEST });
    expect(guard.stats().inFlight).toBe(0);
  });

  it('wrap: releases the slot after a reply, a rejection and a synchronous throw, each a settled promise', async () => {
    const guard = new RequestGuard(systemClock, { maxConcurrentPerHost: 1 });
    const handlers: ProtocolHandler[] = [
      async () => 'ok',
      async () => {
        throw new AtlasError(ErrorCodes.BAD_REQUEST, 'no');
      },
      () => {
        throw new AtlasError(ErrorCodes.INTERNAL, 'thrown before any promise');
      },
    ];
    const outcomes: unknown[] = [];
    for (const handler of handlers) {
      let result: Promise<unknown> | undefined;
      expect(() => (result = guard.wrap(handler)('ping', {}, contextFrom('a')))).not.toThrow();
      outcomes.push(await outcome(result as Promise<unknown>));
      expect(guard.stats().inFlight).toBe(0);
    }
    expect(outcomes).toEqual([{ value: 'ok' }, { error: ErrorCodes.BAD_REQUEST }, { error: ErrorCodes.INTERNAL }]);
  });

  it('wrap: refuses with a rejected BUSY while the host holds its slots, and admits again once one is free', async () => {
    const guard = new RequestGuard(systemClock, { maxConcurrentPerHost: 1 });
    let finish: (value: unknown) => void = () => undefined;
    const slow = guard.wrap(() => new Promise((resolve) => (finish = resolve)))('ping', {}, contextFrom('a'));
    let refused: Promise<unknown> | undefined;
    expect(() => (refused = guard.wrap(async () => 'never')('ping', {}, contextFrom('a')))).not.toThrow();
    expect(await outcome(refused as Promise<unknown>)).toEqual({ error: ErrorCodes.BUSY });
    finish('done');
    expect(await slow).toBe('done');
    expect(await guard.wrap(async () => 'again')('ping', {}, contextFrom('a'))).toBe('again');
    expect(guard.stats().inFlight).toBe(0);
  });
});
