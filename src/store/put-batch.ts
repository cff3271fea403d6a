/**
 * One write of the store's put path (chunk-store.ts, `#store`) around its one await: the admitted
 * chunks checked against the sequence and turned into the backend's writes (`admitBatch`), then,
 * once the backend has written them, each chunk's outcome and the inventory bits it sets
 * (`settleBatch`). Plain functions of one loop each, outside the async write, for the same
 * reason as chunk-log-batch.ts: V8 compiles a long loop inside a function not yet optimised once
 * more for that loop, and compiled the store's async write four times in a 20,000-chunk catch-up.
 */
import { ADDRESS_BYTES, addressKey, copyAddressBytes } from '../address.js';
import type { ChunkWrites } from './backend.js';
import { notAnnouncedError, type AdmissionResult, type AdmittedChunk } from './admission.js';
import type { ChunkWriteAnswer } from './quarantine.js';
import type { PutOutcome } from './types.js';

/**
 * The positions of an address (the 20 bytes of `key` at `keyAt`, default 0) in the sequence near
 * `hint`; empty when it is not announced. Read-only, and possibly shared with other answers (a
 * repeated address's list is not copied per chunk): it goes into outcomes as it is.
 */
export type PositionsNear = (key: Uint8Array, hint: number | undefined, keyAt?: number) => readonly number[];

/** What one write asks of the backend, and what its outcomes are built from. */
export interface PutBatch {
  /** Per chunk: admitted, or refused (a refusal made here: NOT_ANNOUNCED). */
  results: AdmissionResult[];
  /** Per admitted chunk: the positions it is announced at. */
  positions: (readonly number[])[];
  /** The admitted chunks, in order, as the backend writes them. */
  writes: ChunkWrites;
}

/** Rule 2 for a batch: every admitted chunk whose address is not in the sequence is refused (NOT_ANNOUNCED); the others are written. */
export function admitBatch(results: AdmissionResult[], positionsNear: PositionsNear): PutBatch {
  const positions: (readonly number[])[] = new Array<readonly number[]>(results.length);
  const keys = Buffer.allocUnsafe(results.length * ADDRESS_BYTES);
  const data: Uint8Array[] = [];
  for (let i = 0; i < results.length; i++) {
    const result = results[i] as AdmissionResult;
    if (!result.ok) continue;
    const admitted = result as AdmittedChunk;
    const key = admitted.key ?? addressKey(admitted.address);
    const at = key === undefined ? [] : positionsNear(key, admitted.position);
    if (at.length === 0) {
      results[i] = { ok: false, address: admitted.address, error: notAnnouncedError(admitted.address) };
      continue;
    }
    positions[i] = at;
    copyAddressBytes(key as Buffer, 0, keys, data.length * ADDRESS_BYTES);
    data.push(admitted.data);
  }
  return { results, positions, writes: { count: data.length, keys, data } };
}

/** What a written batch changed. */
export interface SettledBatch {
  /** Per chunk, in the order put. */
  outcomes: PutOutcome[];
  /** The positions of the chunks added, for the inventory. */
  bits: number[];
  /** Chunks added, and their bytes. */
  added: number;
  addedBytes: number;
}

/**
 * Each chunk's outcome once the backend answered `written` (per write: whether it added the chunk,
 * or the failure that kept that chunk alone from being written: an `ok: false` outcome).
 */
export function settleBatch(batch: PutBatch, written: readonly ChunkWriteAnswer[]): SettledBatch {
  const { results, positions } = batch;
  const outcomes: PutOutcome[] = new Array<PutOutcome>(results.length);
  const bits: number[] = [];
  let next = 0;
  let added = 0;
  let addedBytes = 0;
  // A loop, not Array#map: map's results came in more than one elements kind as V8 warmed up, deoptimising their readers.
  for (let i = 0; i < results.length; i++) {
    const result = results[i] as AdmissionResult;
    if (!result.ok) {
      outcomes[i] = result;
      continue;
    }
    const at = positions[i] as readonly number[];
    const answer = written[next++];
    const isNew = answer === true;
    if (typeof answer === 'object') {
      outcomes[i] = { ok: false, address: result.address, error: answer };
      continue;
    }
    if (isNew) {
      for (let j = 0; j < at.length; j++) bits.push(at[j] as number);
      added++;
      addedBytes += result.data.length;
    }
    outcomes[i] = { ok: true, address: result.address, added: isNew, positions: at };
  }
  return { outcomes, bits, added, addedBytes };
}
