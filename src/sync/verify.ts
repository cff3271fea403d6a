import { ADDRESS_BYTES, digestAtIs, type Address } from '../address.js';
import { hash160Digests } from '../hash/index.js';
import type { ReceivedBatch } from '../store/received.js';

export interface ReceivedChunk {
  address: Address;
  data: Uint8Array;
}

/** What verifyReceived found. */
export interface ReceivedCheck<T> {
  verified: T[];
  corrupt: T[];
  /** Each verified chunk's hash160, the bytes of its address (digests[i] is verified[i]'s). */
  digests: Buffer[];
}

/** Splits chunks from a peer into those that hash to their address and those that do not (one batch hash). */
export function verifyReceived<T extends ReceivedChunk>(chunks: readonly T[]): ReceivedCheck<T> {
  const hashes = hash160Digests(chunks.map((c) => c.data));
  const bytes = Buffer.from(hashes.buffer, hashes.byteOffset, hashes.byteLength);
  const verified: T[] = [];
  const corrupt: T[] = [];
  const digests: Buffer[] = [];
  for (let i = 0, at = 0; i < chunks.length; i++, at += ADDRESS_BYTES) {
    const chunk = chunks[i] as T;
    if (digestAtIs(hashes, at, chunk.address)) {
      verified.push(chunk);
      digests.push(bytes.subarray(at, at + ADDRESS_BYTES));
    } else corrupt.push(chunk);
  }
  return { verified, corrupt, digests };
}

/** A reply's chunks checked against the addresses they were asked for, as the store takes them (store/received.ts). */
export interface ReplyCheck {
  /** The chunks that hash to their address, as columns (without `handedOver`: the caller knows). */
  batch: Omit<ReceivedBatch, 'handedOver'>;
  /** Each of those chunks' address (the hex of its key). */
  addresses: Address[];
  /** The chunks that do not, with the index each was asked at in the request and its position there. */
  corrupt: { address: Address; index: number | undefined; position: number | undefined }[];
  /** The bytes of every chunk of the reply. */
  chunkBytes: number;
}

/**
 * Hashes a reply's chunks (one batch call) and keeps those whose hash is their address. `at[i]`:
 * chunk i's index in the request, whose positions are `positions` (the position hint given to the
 * store); undefined for a chunk not found in it.
 */
export function checkReply(chunks: readonly ReceivedChunk[], at: readonly (number | undefined)[], positions: readonly number[]): ReplyCheck {
  const count = chunks.length;
  const data = new Array<Uint8Array>(count);
  let chunkBytes = 0;
  for (let i = 0; i < count; i++) {
    const bytes = (chunks[i] as ReceivedChunk).data;
    data[i] = bytes;
    chunkBytes += bytes.byteLength;
  }
  const keys = hash160Digests(data);
  const addresses = new Array<Address>(count);
  const hints = new Array<number>(count);
  let corrupt: ReplyCheck['corrupt'] | undefined;
  let kept: number[] | undefined; // the chunks that hash right, once one does not
  for (let i = 0; i < count; i++) {
    const { address } = chunks[i] as ReceivedChunk;
    const index = at[i];
    const hint = index === undefined ? -1 : (positions[index] as number);
    addresses[i] = address;
    hints[i] = hint;
    if (digestAtIs(keys, i * ADDRESS_BYTES, address)) kept?.push(i);
    else {
      kept ??= Array.from({ length: i }, (_, j) => j);
      (corrupt ??= []).push({ address, index, position: hint < 0 ? undefined : hint });
    }
  }
  if (corrupt === undefined || kept === undefined) return { batch: { count, data, keys, hints }, addresses, corrupt: [], chunkBytes };
  return { ...onlyKept(kept, keys, data, addresses, hints), corrupt, chunkBytes };
}

/**
 * The checked chunks as the store takes them. One object literal, not a spread of `check.batch`:
 * the spread's objects changed map during a catch-up, and the store's three loops over the batch
 * were each thrown away and compiled again (--trace-deopt).
 */
export function receivedBatch(check: ReplyCheck, handedOver: boolean): ReceivedBatch {
  const { count, data, keys, hints } = check.batch;
  return { count, data, keys, hints, handedOver };
}

/** The columns of the chunks at `kept` (a reply with corrupt chunks: rare). */
function onlyKept(kept: readonly number[], keys: Uint8Array, data: Uint8Array[], addresses: Address[], hints: number[]): Pick<ReplyCheck, 'batch' | 'addresses'> {
  const keptKeys = new Uint8Array(kept.length * ADDRESS_BYTES);
  kept.forEach((i, j) => keptKeys.set(keys.subarray(i * ADDRESS_BYTES, (i + 1) * ADDRESS_BYTES), j * ADDRESS_BYTES));
  return {
    batch: { count: kept.length, data: kept.map((i) => data[i] as Uint8Array), keys: keptKeys, hints: kept.map((i) => hints[i] as number) },
    addresses: kept.map((i) => addresses[i] as Address),
  };
}
