/**
 * The store's entry for a downloader's verified reply, as columns: one array of bytes, one buffer
 * of addresses, one array of position hints, and outcomes as one status a chunk. `putVerified`
 * takes the same chunks as objects (an object a chunk on the way in, another on the way out, each
 * with a hex address parsed and printed again); a catch-up made and dropped several of them a
 * chunk, which V8 then collected.
 *
 * Inside the library only: the symbol is not part of the package's exports. A store without it
 * (an embedder's own ChunkStore) is given the same chunks through `putVerified` (`putReceived`).
 */
import { ADDRESS_BYTES, type Address } from '../address.js';
import { handOverChunks } from './handed-over.js';
import type { ChunkStore, PutOutcome, VerifiedChunk } from './types.js';

/** A verified reply's chunks as columns. */
export interface ReceivedBatch {
  count: number;
  /** The chunks' bytes. */
  data: readonly Uint8Array[];
  /** count × 20 bytes: each chunk's hash160, found equal to the address it was asked for. */
  keys: Uint8Array;
  /** Per chunk: the position it was asked at, or -1 (the store then looks its address up). */
  hints: readonly number[];
  /** Nothing else holds or will change the bytes (Transport.handsOverReplies): they are stored without a copy. */
  handedOver: boolean;
}

/** What became of a received chunk. */
export const Received = Object.freeze({ ADDED: 1, HELD: 2, REFUSED: 3 });

/** The store's answer, chunk by chunk. */
export interface ReceivedOutcome {
  /**
   * Per chunk: Received.ADDED (stored now), HELD (stored before) or REFUSED (not announced, not a
   * chunk this store takes, or not written for a store failure of its own: a damaged record of it
   * the store could not remove). A downloader backs a refused address off, and asks for it again.
   */
  status: Uint8Array;
  /** Per chunk added: the positions it is announced at (undefined for the others). */
  positions: (readonly number[] | undefined)[];
}

/** The method a store of the library's own answers a received batch with. */
export const storeReceived: unique symbol = Symbol('atlasnet.storeReceived');
/** The `putVerified` that method stands for: a subclass overriding `putVerified` is given its own. */
export const receivedAsPutVerified: unique symbol = Symbol('atlasnet.receivedAsPutVerified');

interface ReceivingStore {
  [storeReceived](batch: ReceivedBatch): Promise<ReceivedOutcome>;
  readonly [receivedAsPutVerified]: ChunkStore['putVerified'];
}

type Store = Pick<ChunkStore, 'putVerified'>;

/**
 * Stores a verified reply's chunks: through the columns when `store` is one of the library's and
 * its `putVerified` is the library's own, else as objects through `putVerified`. `addresses[i]`
 * is chunk i's address (the hex of keys[i]).
 */
export function putReceived(store: Store, batch: ReceivedBatch, addresses: readonly Address[]): Promise<ReceivedOutcome> {
  const receiving = store as Partial<ReceivingStore>;
  const columns = receiving[storeReceived];
  if (typeof columns === 'function' && store.putVerified === receiving[receivedAsPutVerified]) return columns.call(store, batch);
  return putAsObjects(store, batch, addresses);
}

async function putAsObjects(store: Store, batch: ReceivedBatch, addresses: readonly Address[]): Promise<ReceivedOutcome> {
  const chunks: VerifiedChunk[] = new Array<VerifiedChunk>(batch.count);
  const digests: Buffer[] = new Array<Buffer>(batch.count);
  const keys = Buffer.from(batch.keys.buffer, batch.keys.byteOffset, batch.keys.byteLength);
  for (let i = 0; i < batch.count; i++) {
    const hint = batch.hints[i] as number;
    chunks[i] = { address: addresses[i] as Address, data: batch.data[i] as Uint8Array, position: hint < 0 ? undefined : hint };
    digests[i] = keys.subarray(i * ADDRESS_BYTES, (i + 1) * ADDRESS_BYTES);
  }
  const outcomes = await store.putVerified(batch.handedOver ? handOverChunks(chunks, digests) : chunks);
  return outcomeOf(outcomes, batch.count);
}

function outcomeOf(outcomes: readonly PutOutcome[], count: number): ReceivedOutcome {
  const status = new Uint8Array(count);
  const positions = new Array<readonly number[] | undefined>(count);
  for (let i = 0; i < count; i++) {
    const outcome = outcomes[i];
    if (outcome === undefined || !outcome.ok) status[i] = Received.REFUSED;
    else if (outcome.added) {
      status[i] = Received.ADDED;
      positions[i] = outcome.positions;
    } else status[i] = Received.HELD;
  }
  return { status, positions };
}
