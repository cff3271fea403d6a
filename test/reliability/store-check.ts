/**
 * Consistency check of a node's LMDB data dir after a crash: the store opens, every stored chunk
 * hashes to its address, the inventory agrees with the sequence and the chunks, and the counters
 * agree with both.
 */
import { hash160Hex } from '../../src/hash/index.js';
import { LmdbChunkStore } from '../../src/store/lmdb.js';

export interface StoreSnapshot {
  /** The stored sequence, position -> address. */
  sequence: string[];
  /** Distinct addresses of the sequence whose chunk is held. */
  held: Set<string>;
  inventory: Uint8Array;
}

/** Opens the store at `path`, checks it, closes it; throws an Error naming the first disagreement. */
export async function checkStore(path: string): Promise<StoreSnapshot> {
  const store = await LmdbChunkStore.open({ path });
  try {
    const length = store.sequenceLength();
    const sequence: string[] = [];
    for (let position = 0; position < length; position++) {
      const address = store.addressAt(position);
      if (address === undefined) throw new Error(`position ${position} of ${length} has no address`);
      sequence.push(address);
    }
    if (store.inventory.length !== length) throw new Error(`inventory length ${store.inventory.length}, sequence length ${length}`);
    const held = new Set<string>();
    let bytes = 0;
    let bits = 0;
    const checked = new Map<string, boolean>();
    sequence.forEach((address, position) => {
      let has = checked.get(address);
      if (has === undefined) {
        has = store.has(address);
        checked.set(address, has);
        if (has) {
          const data = store.get(address);
          if (data === undefined) throw new Error(`has(${address}) but get() finds nothing`);
          if (hash160Hex(data) !== address) throw new Error(`chunk stored under ${address} hashes to ${hash160Hex(data)}`);
          held.add(address);
          bytes += data.byteLength;
        }
        const positions = store.positionsOf(address);
        if (!positions.includes(position)) throw new Error(`positionsOf(${address}) misses position ${position}`);
      }
      if (store.inventory.has(position) !== has) throw new Error(`inventory bit ${position} is ${!has}, chunk held: ${has}`);
      if (has) bits++;
    });
    if (store.inventory.count !== bits) throw new Error(`inventory counts ${store.inventory.count} bits, ${bits} expected`);
    if (store.chunkCount() !== held.size) throw new Error(`chunkCount ${store.chunkCount()}, ${held.size} held`);
    if (store.chunkBytes() !== bytes) throw new Error(`chunkBytes ${store.chunkBytes()}, ${bytes} held`);
    return { sequence, held, inventory: store.inventory.toBytes() };
  } finally {
    await store.close();
  }
}
