/**
 * The ChunkStore contract, run against every implementation: each store's test file calls
 * `describeChunkStoreContract` with a factory. The expectations are computed from an independent
 * model (plain arrays and sets), never from another store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { hash160Hex } from '../../src/hash/index.js';
import { isAtlasError, type ErrorCode } from '../../src/errors.js';
import { seededRandom, randomInt, type Random } from '../../src/runtime.js';
import type { Announcement } from '../../src/chain/types.js';
import type { ChunkWrites } from '../../src/store/backend.js';
import { handOverChunks } from '../../src/store/handed-over.js';
import { digestOf } from '../../src/store/sequence-digest.js';
import { putReceived, Received } from '../../src/store/received.js';
import { checkReply, verifyReceived } from '../../src/sync/verify.js';
import type { ChunkStore, PutOutcome } from '../../src/store/types.js';
import { corpus, CORPUS_SKIP_MESSAGE } from '../support/data.js';

export interface StoreFactory {
  create(options?: { maxChunkSize?: number }): Promise<ChunkStore>;
}

export function chunkOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function addressOf(data: Uint8Array): string {
  return hash160Hex(data);
}

/** `entries` as one backend write (columns). */
export function chunkWrites(entries: readonly { key: Uint8Array; data: Uint8Array }[]): ChunkWrites {
  const keys = new Uint8Array(entries.length * 20);
  entries.forEach(({ key }, i) => keys.set(key, i * 20));
  return { count: entries.length, keys, data: entries.map(({ data }) => data) };
}

export function announcementsFor(addresses: readonly string[], start: number): Announcement[] {
  return addresses.map((address, i) => ({ position: start + i, address }));
}

export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isAtlasError(error), `expected an AtlasError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

/** Everything observable about a store, for before/after comparisons. */
export function snapshot(store: ChunkStore, addresses: readonly string[]) {
  const length = store.sequenceLength();
  return {
    length,
    sequence: Array.from({ length }, (_, i) => store.addressAt(i)),
    positions: addresses.map((a) => store.positionsOf(a)),
    has: addresses.map((a) => store.has(a)),
    chunks: addresses.map((a) => {
      const data = store.get(a);
      return data === undefined ? undefined : Buffer.from(data).toString('hex');
    }),
    count: store.chunkCount(),
    bytes: store.chunkBytes(),
    inventoryLength: store.inventory.length,
    inventory: Array.from(store.inventory.positions()),
    digests: [0, Math.floor(length / 2), length].map((l) => store.sequenceDigest(l)),
  };
}

/** An independent model of a store: the sequence and the set of stored chunks. */
export class StoreModel {
  readonly sequence: string[] = [];
  readonly stored = new Map<string, Uint8Array>();

  append(addresses: readonly string[]): void {
    this.sequence.push(...addresses.map((a) => a.toLowerCase()));
  }
  truncate(length: number): void {
    if (length < this.sequence.length) this.sequence.length = length;
  }
  put(data: Uint8Array): boolean {
    const address = addressOf(data);
    if (!this.sequence.includes(address)) return false;
    if (!this.stored.has(address)) this.stored.set(address, data.slice());
    return true;
  }
  positionsOf(address: string): number[] {
    const out: number[] = [];
    this.sequence.forEach((a, i) => {
      if (a === address) out.push(i);
    });
    return out;
  }
  inventory(): number[] {
    const out: number[] = [];
    this.sequence.forEach((a, i) => {
      if (this.stored.has(a)) out.push(i);
    });
    return out;
  }
  announcedStored(): string[] {
    return [...new Set(this.sequence)].filter((a) => this.stored.has(a));
  }
  digest(length = this.sequence.length): string {
    return Buffer.from(digestOf(this.sequence.slice(0, length).map((a) => Buffer.from(a, 'hex')))).toString('hex');
  }
}

export function expectMatchesModel(store: ChunkStore, model: StoreModel, pool: readonly Uint8Array[]): void {
  expect(store.sequenceLength()).toBe(model.sequence.length);
  for (let i = 0; i < model.sequence.length; i++) expect(store.addressAt(i)).toBe(model.sequence[i]);
  expect(store.addressAt(model.sequence.length)).toBeUndefined();
  expect(store.inventory.length).toBe(model.sequence.length);
  expect(Array.from(store.inventory.positions())).toEqual(model.inventory());
  const announcedStored = model.announcedStored();
  expect(store.chunkCount()).toBe(announcedStored.length);
  expect(store.chunkBytes()).toBe(announcedStored.reduce((sum, a) => sum + (model.stored.get(a) as Uint8Array).length, 0));
  for (const data of pool) {
    const address = addressOf(data);
    const present = announcedStored.includes(address);
    expect(store.positionsOf(address)).toEqual(model.positionsOf(address));
    expect(store.has(address)).toBe(present);
    const got = store.get(address);
    if (present) expect(Buffer.from(got as Uint8Array).equals(Buffer.from(data))).toBe(true);
    else expect(got).toBeUndefined();
  }
  expect(store.sequenceDigest()).toBe(model.digest());
  const mid = Math.floor(model.sequence.length / 3);
  expect(store.sequenceDigest(mid)).toBe(model.digest(mid));
}

/** Runs `steps` random operations on store and model alike, checking after each. */
export async function randomWalk(store: ChunkStore, random: Random, steps: number, pool: readonly Uint8Array[], model = new StoreModel()): Promise<StoreModel> {
  for (let step = 0; step < steps; step++) {
    const roll = random();
    if (roll < 0.35) {
      const n = 1 + randomInt(random, 4);
      const addresses = Array.from({ length: n }, () => {
        const address = addressOf(pool[randomInt(random, pool.length)] as Uint8Array);
        return random() < 0.3 ? address.toUpperCase() : address;
      });
      await store.append(announcementsFor(addresses, model.sequence.length));
      model.append(addresses);
    } else if (roll < 0.8) {
      const batch = Array.from({ length: 1 + randomInt(random, 3) }, () => pool[randomInt(random, pool.length)] as Uint8Array);
      const outcomes = await store.putMany(batch);
      batch.forEach((data, i) => {
        const ok = model.put(data);
        expect((outcomes[i] as PutOutcome).ok).toBe(ok);
      });
    } else {
      const length = randomInt(random, model.sequence.length + 1);
      await store.truncate(length);
      model.truncate(length);
    }
    expectMatchesModel(store, model, pool);
  }
  return model;
}

export function describeChunkStoreContract(name: string, factory: StoreFactory): void {
  describe(`ChunkStore contract: ${name}`, () => {
    const open: ChunkStore[] = [];
    const create = async (options?: { maxChunkSize?: number }) => {
      const store = await factory.create(options);
      open.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of open.splice(0)) await store.close();
    });

    const a = chunkOf('chunk a');
    const b = chunkOf('chunk b');
    const c = chunkOf('chunk c');
    const all = [a, b, c];
    const addresses = all.map(addressOf);

    it('starts empty', async () => {
      const store = await create();
      expect(store.sequenceLength()).toBe(0);
      expect(store.chunkCount()).toBe(0);
      expect(store.chunkBytes()).toBe(0);
      expect(store.inventory.length).toBe(0);
      expect(store.sequenceDigest()).toBe('00'.repeat(20));
      expect(store.maxChunkSize).toBe(40_960);
    });

    it('refuses chunks against each admission rule with its code, changing nothing', async () => {
      const store = await create({ maxChunkSize: 16 });
      await store.append(announcementsFor([addressOf(a)], 0));
      const before = snapshot(store, addresses);
      await expectCode(store.put(new Uint8Array(0)), 'CHUNK_EMPTY');
      await expectCode(store.put(new Uint8Array(17).fill(1)), 'CHUNK_TOO_LARGE');
      await expectCode(store.put(b), 'NOT_ANNOUNCED');
      await expectCode(store.put('text' as unknown as Uint8Array), 'BAD_REQUEST');
      const verified = await store.putVerified([
        { address: 'not-an-address', data: a },
        { address: addressOf(b), data: b },
        { address: addressOf(a), data: new Uint8Array(0) },
      ]);
      expect(verified.map((o) => (o.ok ? 'ok' : o.error.code))).toEqual(['BAD_ADDRESS', 'NOT_ANNOUNCED', 'CHUNK_EMPTY']);
      expect(snapshot(store, addresses)).toEqual(before);
    });

    it('admits a chunk of exactly maxChunkSize and refuses one byte more', async () => {
      const store = await create({ maxChunkSize: 64 });
      const fits = new Uint8Array(64).fill(7);
      const over = new Uint8Array(65).fill(7);
      await store.append(announcementsFor([addressOf(fits), addressOf(over)], 0));
      expect((await store.put(fits)).added).toBe(true);
      await expectCode(store.put(over), 'CHUNK_TOO_LARGE');
      expect(store.has(addressOf(over))).toBe(false);
      expect(store.chunkBytes()).toBe(64);
    });

    it('stores an announced chunk and sets its bit; storing it again is a no-op success', async () => {
      const store = await create();
      await store.append(announcementsFor([addresses[1] as string, addresses[0] as string], 0));
      const first = await store.put(a);
      expect(first).toEqual({ ok: true, address: addresses[0], added: true, positions: [1] });
      expect(store.has(addresses[0] as string)).toBe(true);
      expect(Buffer.from(store.get(addresses[0] as string) as Uint8Array).equals(Buffer.from(a))).toBe(true);
      expect(Array.from(store.inventory.positions())).toEqual([1]);
      const second = await store.put(a);
      expect(second).toEqual({ ok: true, address: addresses[0], added: false, positions: [1] });
      const viaVerified = await store.putVerified([{ address: (addresses[0] as string).toUpperCase(), data: a }]);
      expect(viaVerified).toEqual([{ ok: true, address: addresses[0], added: false, positions: [1] }]);
      expect(store.chunkCount()).toBe(1);
      expect(store.chunkBytes()).toBe(a.length);
    });

    it('takes a putVerified position only as a hint: a wrong, foreign or malformed one stores at the positions the sequence says', async () => {
      const store = await create();
      const c = chunkOf('announced twice');
      // a at 0 and 3, b at 1, c at 2.
      await store.append(announcementsFor([addressOf(a), addressOf(b), addressOf(c), addressOf(a)], 0));
      const outcomes = await store.putVerified([
        { address: addressOf(b), data: b, position: 2 }, // c's position
        { address: addressOf(a), data: a, position: 3 }, // one of two
        { address: addressOf(c), data: c, position: Number.NaN },
      ]);
      expect(outcomes).toEqual([
        { ok: true, address: addressOf(b), added: true, positions: [1] },
        { ok: true, address: addressOf(a), added: true, positions: [0, 3] },
        { ok: true, address: addressOf(c), added: true, positions: [2] },
      ]);
      expect(Array.from(store.inventory.positions())).toEqual([0, 1, 2, 3]);
      const odd = await create();
      await odd.append(announcementsFor([addressOf(c)], 0));
      for (const position of [-1, 1.5, 1e300, 7, '0' as unknown as number]) {
        expect(await odd.putVerified([{ address: addressOf(c), data: c, position }])).toEqual([{ ok: true, address: addressOf(c), added: position === -1, positions: [0] }]);
      }
      // A hint at a position holding another address admits nothing.
      expect((await odd.putVerified([{ address: addressOf(a), data: a, position: 0 }]))[0]).toMatchObject({ ok: false, error: { code: 'NOT_ANNOUNCED' } });
    });

    it('keeps its own copy of stored bytes', async () => {
      const store = await create();
      const data = chunkOf('mutable buffer');
      const address = addressOf(data);
      await store.append(announcementsFor([address], 0));
      const pending = store.put(data);
      data.fill(0);
      await pending;
      const got = store.get(address) as Uint8Array;
      expect(Buffer.from(got).toString()).toBe('mutable buffer');
      got.fill(0);
      expect(Buffer.from(store.get(address) as Uint8Array).toString()).toBe('mutable buffer');
    });

    it('keeps its own copy of bytes put as verified, each chunk apart from the buffer it was a view of', async () => {
      const store = await create();
      const texts = ['first view of a shared buffer', 'second view of a shared buffer'];
      const shared = Buffer.from(texts.join(''));
      const views = [shared.subarray(0, texts[0]!.length), shared.subarray(texts[0]!.length)];
      await store.append(announcementsFor(views.map(addressOf), 0));
      const pending = store.putVerified(views.map((data) => ({ address: addressOf(data), data })));
      shared.fill(0);
      expect((await pending).map((outcome) => outcome.ok)).toEqual([true, true]);
      texts.forEach((text) => expect(Buffer.from(store.get(addressOf(Buffer.from(text))) as Uint8Array).toString()).toBe(text));
    });

    it('keeps no view of bytes handed over once they are stored: the reply they came from can go', async () => {
      const store = await create();
      const texts = ['first chunk of a reply handed over', 'second chunk of a reply handed over', 'third'];
      const reply = Buffer.from(texts.join(''));
      let at = 0;
      const views = texts.map((text) => reply.subarray(at, (at += text.length)));
      await store.append(announcementsFor(views.map(addressOf), 0));
      const outcomes = await store.putVerified(handOverChunks(views.map((data) => ({ address: addressOf(data), data }))));
      expect(outcomes.map((outcome) => outcome.ok && outcome.added)).toEqual([true, true, true]);
      reply.fill(0);
      texts.forEach((text) => expect(Buffer.from(store.get(addressOf(Buffer.from(text))) as Uint8Array).toString()).toBe(text));
    });

    it('stores a list handed over with its digests (verifyReceived) as it stores the same list parsed: positions, repeats, refusals', async () => {
      const keyed = await create();
      const parsed = await create();
      const texts = ['announced twice', 'announced once', 'announced twice', 'never announced'];
      const reply = Buffer.from(texts.join(''));
      let at = 0;
      const chunks = texts.map((text, position) => ({ address: addressOf(Buffer.from(text)), data: reply.subarray(at, (at += text.length)), position }));
      const [twice, once, , never] = chunks.map((chunk) => chunk.address) as [string, string, string, string];
      for (const store of [keyed, parsed]) await store.append(announcementsFor([twice, once, twice], 0));
      const { verified, corrupt, digests } = verifyReceived(chunks);
      expect(corrupt).toEqual([]);
      expect(digests.map((digest) => digest.toString('hex'))).toEqual(verified.map((chunk) => chunk.address));
      const withDigests = await keyed.putVerified(handOverChunks(verified, digests));
      const withoutDigests = await parsed.putVerified(chunks.map((chunk) => ({ ...chunk })));
      const summary = (outcomes: PutOutcome[]) => outcomes.map((outcome) => (outcome.ok ? { added: outcome.added, positions: outcome.positions } : outcome.error.code));
      expect(summary(withDigests)).toEqual(summary(withoutDigests));
      expect(summary(withDigests)).toEqual([{ added: true, positions: [0, 2] }, { added: true, positions: [1] }, { added: false, positions: [0, 2] }, 'NOT_ANNOUNCED']);
      // The list handed over is frozen; digests that do not line up with it are not taken.
      expect(Object.isFrozen(verified)).toBe(true);
      const misaligned = await create();
      await misaligned.append(announcementsFor([twice, once, twice], 0));
      const again = verifyReceived(chunks);
      expect(summary(await misaligned.putVerified(handOverChunks(again.verified, again.digests.slice(1))))).toEqual(summary(withoutDigests));
      reply.fill(0);
      for (const store of [keyed, parsed]) {
        expect(Array.from(store.inventory.positions())).toEqual([0, 1, 2]);
        expect(Buffer.from(store.get(twice) as Uint8Array).toString()).toBe('announced twice');
        expect(Buffer.from(store.get(once) as Uint8Array).toString()).toBe('announced once');
        expect(store.has(never)).toBe(false);
      }
    });

    it('stores a received reply as columns (the downloader\'s entry) as putVerified stores the same chunks: positions, repeats, wrong hints, refusals', async () => {
      const columns = await create({ maxChunkSize: 20 });
      const objects = await create({ maxChunkSize: 20 });
      const texts = ['announced twice', 'announced once', 'announced twice', 'never announced', 'hinted wrongly', 'announced, too large!'];
      const reply = Buffer.from(texts.join(''));
      let at = 0;
      const chunks = texts.map((text) => ({ address: addressOf(Buffer.from(text)), data: reply.subarray(at, (at += text.length)) }));
      const [twice, once, , never, wrong, large] = chunks.map((chunk) => chunk.address) as [string, string, string, string, string, string];
      for (const store of [columns, objects]) await store.append(announcementsFor([twice, once, twice, wrong, large], 0));
      // Request indices 0..5, asked at positions 0, 1, 2, 9 (not announced: no hint helps), 0 (a wrong hint), 4.
      const check = checkReply(chunks, [0, 1, 2, 3, 4, 5], [0, 1, 2, 9, 0, 4]);
      expect(check.corrupt).toEqual([]);
      const pending = putReceived(columns, { ...check.batch, handedOver: false }, check.addresses);
      reply.fill(0); // not handed over: copied when the call was made
      const outcome = await pending;
      const statuses = Array.from(outcome.status, (status) => ({ [Received.ADDED]: 'added', [Received.HELD]: 'held', [Received.REFUSED]: 'refused' })[status]);
      expect(statuses).toEqual(['added', 'added', 'held', 'refused', 'added', 'refused']);
      expect(outcome.positions).toEqual([[0, 2], [1], undefined, undefined, [3], undefined]);
      const viaObjects = await objects.putVerified(texts.map((text, i) => ({ address: chunks[i]!.address, data: Buffer.from(text), position: [0, 1, 2, 9, 0, 4][i] })));
      expect(viaObjects.map((o) => (o.ok ? (o.added ? 'added' : 'held') : 'refused'))).toEqual(statuses);
      for (const store of [columns, objects]) {
        expect(Array.from(store.inventory.positions())).toEqual([0, 1, 2, 3]);
        expect(store.chunkCount()).toBe(3);
        expect(Buffer.from(store.get(twice) as Uint8Array).toString()).toBe('announced twice');
        expect(Buffer.from(store.get(wrong) as Uint8Array).toString()).toBe('hinted wrongly');
        expect(store.has(never) || store.has(large)).toBe(false);
      }
      expect(once).toBe(check.addresses[1]);
    });

    it('joins received replies waiting for the same write, answers each its own outcome, and refuses them once closed', async () => {
      const store = await create();
      const data = Array.from({ length: 40 }, (_, i) => chunkOf(`received ${i}`));
      await store.append(announcementsFor(data.map(addressOf), 0));
      const replies = [data.slice(0, 20), data.slice(20)].map((part, r) =>
        checkReply(part.map((bytes) => ({ address: addressOf(bytes), data: bytes })), part.map((_, i) => i), part.map((_, i) => r * 20 + i)),
      );
      const outcomes = await Promise.all(replies.map((check) => putReceived(store, { ...check.batch, handedOver: true }, check.addresses)));
      outcomes.forEach((outcome, r) => {
        expect(Array.from(outcome.status)).toEqual(new Array(20).fill(Received.ADDED));
        expect(outcome.positions).toEqual(Array.from({ length: 20 }, (_, i) => [r * 20 + i]));
      });
      expect(store.chunkCount()).toBe(40);
      await store.close();
      const late = replies[0]!;
      await expectCode(putReceived(store, { ...late.batch, handedOver: true }, late.addresses), 'CLOSED');
    });

    it('answers getShared with the bytes get answers, and nothing where get answers nothing', async () => {
      const store = await create();
      const [aa, bb] = addresses as [string, string];
      await store.append(announcementsFor([aa, bb], 0));
      await store.put(a);
      expect(Buffer.from(store.getShared?.(aa) as Uint8Array).equals(Buffer.from(store.get(aa) as Uint8Array))).toBe(true);
      expect(Buffer.from(store.getShared?.(aa.toUpperCase()) as Uint8Array).equals(Buffer.from(a))).toBe(true);
      expect(store.getShared?.(bb)).toBeUndefined();
      expect(store.getShared?.('not an address')).toBeUndefined();
      await store.truncate(0);
      expect(store.getShared?.(aa)).toBeUndefined();
    });

    it('gives the addresses at positions as bytes end to end, in memory of its own, and none when a position is not in the sequence', async () => {
      const store = await create();
      const [aa, bb, cc] = addresses as [string, string, string];
      await store.append(announcementsFor([aa, bb, cc], 0));
      const packed = store.packedAddressesAt?.([2, 0, 0]) as Uint8Array;
      expect(Buffer.from(packed).toString('hex')).toBe(cc + aa + aa);
      expect(packed.byteOffset).toBe(0);
      expect(packed.buffer.byteLength).toBe(60);
      expect(store.packedAddressesAt?.([])?.length).toBe(0);
      for (const outside of [[3], [0, -1], [1.5]]) expect(store.packedAddressesAt?.(outside)).toBeUndefined();
      await store.truncate(2);
      expect(store.packedAddressesAt?.([2])).toBeUndefined();
    });

    it('sets every position of an address announced twice, before and after the chunk is stored', async () => {
      const store = await create();
      const [aa, bb] = addresses as [string, string];
      await store.append(announcementsFor([aa, bb, aa], 0));
      expect(store.positionsOf(aa)).toEqual([0, 2]);
      const outcome = await store.put(a);
      expect(outcome.positions).toEqual([0, 2]);
      expect(Array.from(store.inventory.positions())).toEqual([0, 2]);
      await store.append(announcementsFor([aa.toUpperCase()], 3));
      expect(store.positionsOf(aa.toUpperCase())).toEqual([0, 2, 3]);
      expect(Array.from(store.inventory.positions())).toEqual([0, 2, 3]);
      expect(store.chunkCount()).toBe(1);
      expect(store.inventory.toBytes()).toEqual(new Uint8Array([0b1011_0000]));
    });

    it('truncates positions and bits but keeps bytes, so a re-announced chunk is present again', async () => {
      const store = await create();
      const [aa, bb, cc] = addresses as [string, string, string];
      await store.append(announcementsFor([aa, bb, cc, bb], 0));
      await store.putMany([a, b, c]);
      expect(store.chunkCount()).toBe(3);
      await store.truncate(3);
      expect(store.positionsOf(bb)).toEqual([1]);
      expect(store.chunkCount()).toBe(3);
      await store.truncate(1);
      expect(store.sequenceLength()).toBe(1);
      expect(store.inventory.length).toBe(1);
      expect(Array.from(store.inventory.positions())).toEqual([0]);
      expect(store.has(bb)).toBe(false);
      expect(store.get(bb)).toBeUndefined();
      expect(store.positionsOf(bb)).toEqual([]);
      expect(store.chunkCount()).toBe(1);
      expect(store.chunkBytes()).toBe(a.length);
      await expectCode(store.put(b), 'NOT_ANNOUNCED');
      await store.append(announcementsFor([cc, bb], 1));
      expect(store.has(bb)).toBe(true);
      expect(Buffer.from(store.get(cc) as Uint8Array).equals(Buffer.from(c))).toBe(true);
      expect(Array.from(store.inventory.positions())).toEqual([0, 1, 2]);
      expect(store.chunkCount()).toBe(3);
      expect((await store.put(b)).added).toBe(false);
      await store.truncate(10);
      expect(store.sequenceLength()).toBe(3);
      await expectCode(store.truncate(-1), 'BAD_REQUEST');
      await store.truncate(0);
      expect(store.chunkCount()).toBe(0);
      expect(store.chunkBytes()).toBe(0);
      expect(store.sequenceDigest()).toBe('00'.repeat(20));
    });

    it('serves a stored chunk only while announced, whichever other stored chunks a truncation left unannounced', async () => {
      const store = await create();
      const [aa, bb, cc] = addresses as [string, string, string];
      const served = () => addresses.map((address) => store.get(address) !== undefined && store.has(address));
      await store.append(announcementsFor([aa, bb, cc, bb], 0));
      await store.putMany([a, b, c]);
      expect(served()).toEqual([true, true, true]);
      await store.truncate(3); // bb is still announced at 1
      expect(served()).toEqual([true, true, true]);
      await store.truncate(2); // cc is stored and no longer announced
      expect(served()).toEqual([true, true, false]);
      await store.truncate(1); // so is bb
      expect(served()).toEqual([true, false, false]);
      await store.append(announcementsFor([cc], 1));
      expect(served()).toEqual([true, false, true]);
      await store.append(announcementsFor([bb], 2));
      expect(served()).toEqual([true, true, true]);
      expect(Buffer.from(store.get(bb) as Uint8Array).equals(Buffer.from(b))).toBe(true);
    });

    it('serves no chunk whose address a truncation has cut, even while the cut is being committed (a moment only the memory store shows)', async () => {
      const store = await create();
      const [aa, bb] = addresses as [string, string];
      await store.append(announcementsFor([aa, bb], 0));
      await store.putMany([a, b]);
      let settled = false;
      const cut = store.truncate(1).finally(() => (settled = true));
      const seen: string[] = [];
      // Reads on every microtask and every event-loop turn until the truncation settles. Only a
      // store whose backend commits without a real wait (the memory store) shows such a moment.
      const ticks = async () => {
        for (let i = 0; i < 200 && !settled; i++) {
          if (store.positionsOf(bb).length === 0) seen.push(`tick: ${store.get(bb) !== undefined} ${store.has(bb)}`);
          await null;
        }
      };
      const turns = async () => {
        while (!settled) {
          if (store.positionsOf(bb).length === 0) seen.push(`turn: ${store.get(bb) !== undefined} ${store.has(bb)}`);
          await new Promise((resolve) => setImmediate(resolve));
        }
      };
      await Promise.all([cut, ticks(), turns()]);
      expect(seen.filter((entry) => entry.includes('true'))).toEqual([]);
      expect(store.get(bb)).toBeUndefined();
      expect(store.get(aa)).toBeDefined();
    });

    it('refuses appends that do not continue the sequence exactly, changing nothing', async () => {
      const store = await create();
      const [aa, bb] = addresses as [string, string];
      await store.append(announcementsFor([aa, bb], 0));
      const before = snapshot(store, addresses);
      await expectCode(store.append([{ position: 3, address: aa }]), 'BAD_ANNOUNCEMENT'); // gap
      await expectCode(store.append([{ position: 1, address: aa }]), 'BAD_ANNOUNCEMENT'); // repeat
      await expectCode(store.append([{ position: 2, address: aa }, { position: 2, address: bb }]), 'BAD_ANNOUNCEMENT');
      await expectCode(store.append([{ position: 2, address: aa }, { position: 3, address: 'xyz' }]), 'BAD_ANNOUNCEMENT');
      await expectCode(store.append([{ position: 2.5, address: aa }]), 'BAD_ANNOUNCEMENT');
      await expectCode(store.append([null as unknown as Announcement]), 'BAD_ANNOUNCEMENT');
      await expectCode(store.append('nope' as unknown as Announcement[]), 'BAD_ANNOUNCEMENT');
      expect(snapshot(store, addresses)).toEqual(before);
      await store.append([]);
      expect(snapshot(store, addresses)).toEqual(before);
    });

    it('normalises upper-case addresses to lower case', async () => {
      const store = await create();
      const upper = (addresses[0] as string).toUpperCase();
      await store.append([{ position: 0, address: upper }]);
      expect(store.addressAt(0)).toBe(addresses[0]);
      expect(store.positionsOf(upper)).toEqual([0]);
      await store.put(a);
      expect(store.has(upper)).toBe(true);
      expect(store.get(upper)).toBeDefined();
      expect(store.has('not an address')).toBe(false);
      expect(store.get('zz')).toBeUndefined();
      expect(store.positionsOf('zz')).toEqual([]);
      expect(store.addressAt(-1)).toBeUndefined();
      expect(store.addressAt(0.5)).toBeUndefined();
    });

    it('putMany reports one outcome per chunk, in order, for a mix of good and bad chunks', async () => {
      const store = await create({ maxChunkSize: 32 });
      const [aa, , cc] = addresses as [string, string, string];
      await store.append(announcementsFor([aa, cc], 0));
      const outcomes = await store.putMany([a, b, new Uint8Array(0), c, new Uint8Array(33).fill(2), a]);
      expect(outcomes.map((o) => (o.ok ? (o.added ? 'added' : 'present') : o.error.code))).toEqual([
        'added',
        'NOT_ANNOUNCED',
        'CHUNK_EMPTY',
        'added',
        'CHUNK_TOO_LARGE',
        'present',
      ]);
      expect(outcomes[1]?.address).toBe(addresses[1]);
      expect(outcomes[2]?.address).toBeUndefined();
      expect(store.chunkCount()).toBe(2);
      expect(Array.from(store.inventory.positions())).toEqual([0, 1]);
      expect(await store.putMany([])).toEqual([]);
    });

    it('applies operations in call order even when not awaited one by one', async () => {
      const store = await create();
      const [aa, bb] = addresses as [string, string];
      const appended = store.append(announcementsFor([aa, bb], 0));
      const put = store.putMany([a, b]);
      const truncated = store.truncate(1);
      await Promise.all([appended, put, truncated]);
      expect((await put).map((o) => o.ok)).toEqual([true, true]);
      expect(store.sequenceLength()).toBe(1);
      expect(store.chunkCount()).toBe(1);
      expect(store.has(bb)).toBe(false);
    });

    it('computes the sequence digest of any prefix, across checkpoints and truncations', async () => {
      const store = await create();
      const model = new StoreModel();
      const random = seededRandom(7);
      const many = Array.from({ length: 2_600 }, (_, i) => addressOf(chunkOf(`digest ${i % 2_000} ${randomInt(random, 3)}`)));
      await store.append(announcementsFor(many, 0));
      model.append(many);
      for (const length of [0, 1, 2, 1_023, 1_024, 1_025, 2_047, 2_048, 2_049, 2_600]) {
        expect(store.sequenceDigest(length)).toBe(model.digest(length));
      }
      await expectCode(Promise.resolve().then(() => store.sequenceDigest(2_601)), 'BAD_REQUEST');
      await expectCode(Promise.resolve().then(() => store.sequenceDigest(-1)), 'BAD_REQUEST');
      await store.truncate(1_500);
      model.truncate(1_500);
      const other = Array.from({ length: 700 }, (_, i) => addressOf(chunkOf(`other ${i}`)));
      await store.append(announcementsFor(other, 1_500));
      model.append(other);
      for (const length of [1_024, 1_499, 1_500, 1_501, 2_048, 2_200]) {
        expect(store.sequenceDigest(length)).toBe(model.digest(length));
      }
      await store.truncate(1_024);
      model.truncate(1_024);
      expect(store.sequenceDigest()).toBe(model.digest());
      await store.truncate(1_023);
      model.truncate(1_023);
      expect(store.sequenceDigest()).toBe(model.digest());
    });

    it('matches an independent model through random appends, puts and truncations', async () => {
      const pool = Array.from({ length: 12 }, (_, i) => chunkOf(`pool chunk ${i} ${'x'.repeat(i * 5)}`));
      for (const seed of [1, 2, 3]) {
        const store = await create();
        await randomWalk(store, seededRandom(seed), 40, pool);
      }
    });

    it('refuses every operation once closed', async () => {
      const store = await create();
      await store.close();
      await expectCode(store.append(announcementsFor([addresses[0] as string], 0)), 'CLOSED');
      await expectCode(store.putMany([a]), 'CLOSED');
      await expectCode(Promise.resolve().then(() => store.sequenceLength()), 'CLOSED');
      await expectCode(Promise.resolve().then(() => store.get(addresses[0] as string)), 'CLOSED');
    });

    describe.skipIf(!corpus)('real corpus', () => {
      it('stores all 1,631 real zone files and returns each byte-identical', async () => {
        if (!corpus) return console.warn(CORPUS_SKIP_MESSAGE);
        const store = await create();
        await store.append(announcementsFor(corpus.map((e) => e.address), 0));
        const outcomes = await store.putMany(corpus.map((e) => e.data));
        const distinct = new Set(corpus.map((e) => e.address.toLowerCase()));
        expect(outcomes.every((o) => o.ok)).toBe(true);
        expect(outcomes.filter((o) => o.ok && o.added).length).toBe(distinct.size);
        expect(store.chunkCount()).toBe(distinct.size);
        expect(store.inventory.count).toBe(corpus.length);
        expect(store.chunkBytes()).toBe([...new Map(corpus.map((e) => [e.address.toLowerCase(), e.data.length])).values()].reduce((s, n) => s + n, 0));
        for (const entry of corpus) {
          const got = store.get(entry.address);
          expect(got, entry.address).toBeDefined();
          expect(Buffer.from(got as Uint8Array).equals(Buffer.from(entry.data))).toBe(true);
        }
      });
    });
  });
}
