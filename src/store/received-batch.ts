/**
 * One write of received batches (received.ts) around the store's one await, in plain functions of
 * one loop each, outside the async write (see put-batch.ts for why): the batches checked against
 * the sequence and turned into the backend's writes (`admitReceived`), then, once the backend has
 * written them, each chunk's status and the inventory bits it sets (`settleReceived`).
 */
import { ADDRESS_BYTES, copyAddressBytes } from '../address.js';
import { sizeError } from './admission.js';
import { copiedIntoSlab } from './admitted.js';
import type { ChunkWrites } from './backend.js';
import type { PositionsNear } from './put-batch.js';
import type { ChunkWriteAnswer } from './quarantine.js';
import { Received, type ReceivedBatch, type ReceivedOutcome } from './received.js';

/** Not settled yet: admitted, waiting for the backend's answer. */
const PENDING = 0;

/** One received batch of a write, and the outcome being filled for it. */
export interface ReceivedPart {
  batch: ReceivedBatch;
  outcome: ReceivedOutcome;
}

/** A received batch waiting for its write (the store's group commit: write-group.ts). */
export interface ReceiptPart extends ReceivedPart {
  resolve: (outcome: ReceivedOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * One write of received batches: each admitted (`admitReceived`), the chunks admitted written by
 * `store` in one transaction, then each settled. Answers what the store's counters and inventory
 * gain; the outcomes are filled in the parts.
 */
export async function writeReceived(
  parts: readonly ReceivedPart[],
  maxChunkSize: number,
  positionsNear: PositionsNear,
  store: (writes: ChunkWrites) => Promise<readonly ChunkWriteAnswer[]>,
): Promise<{ added: number; addedBytes: number; bits: number[] }> {
  let count = 0;
  for (const part of parts) count += part.batch.count;
  const writes = { count: 0, keys: new Uint8Array(count * ADDRESS_BYTES), data: [] as Uint8Array[] };
  for (const part of parts) admitReceived(part, maxChunkSize, positionsNear, writes);
  writes.count = writes.data.length;
  const written = writes.count > 0 ? await store(writes) : [];
  const bits: number[] = [];
  let next = 0;
  let added = 0;
  let addedBytes = 0;
  for (const part of parts) {
    const settled = settleReceived(part, written, next, bits);
    next = settled.next;
    added += settled.added;
    addedBytes += settled.addedBytes;
  }
  return { added, addedBytes, bits };
}

/** A fresh outcome for `batch`: every chunk pending. */
export function pendingOutcome(batch: ReceivedBatch): ReceivedOutcome {
  return { status: new Uint8Array(batch.count), positions: new Array<readonly number[] | undefined>(batch.count) };
}

/**
 * Rules 1 and 2 for a received batch (its hashes were checked by the caller): a chunk of no bytes
 * or more than `maxChunkSize`, or whose address is not in the sequence, is refused; the others are
 * added to `writes` (whose `keys` has room for them), their positions noted.
 */
export function admitReceived(part: ReceivedPart, maxChunkSize: number, positionsNear: PositionsNear, writes: { keys: Uint8Array; data: Uint8Array[] }): void {
  const { batch, outcome } = part;
  const { data, hints, keys } = batch;
  for (let i = 0; i < batch.count; i++) {
    const bytes = data[i] as Uint8Array;
    if (sizeError(bytes, maxChunkSize) !== undefined) {
      outcome.status[i] = Received.REFUSED;
      continue;
    }
    const hint = hints[i] as number;
    const at = positionsNear(keys, hint < 0 ? undefined : hint, i * ADDRESS_BYTES);
    if (at.length === 0) {
      outcome.status[i] = Received.REFUSED;
      continue;
    }
    outcome.positions[i] = at;
    copyAddressBytes(keys, i * ADDRESS_BYTES, writes.keys, writes.data.length * ADDRESS_BYTES);
    writes.data.push(bytes);
  }
}

/** What a write of received batches changed. */
export interface SettledReceived {
  /** The next answer of `written` to read (the parts after this one read on from it). */
  next: number;
  /** Chunks added, and their bytes. */
  added: number;
  addedBytes: number;
}

/**
 * Each pending chunk of `part` ADDED, HELD or REFUSED, as the backend answered `written` (per
 * write, from `next`: whether it added the chunk, or the failure that kept that chunk alone from
 * being written); the positions of those added pushed to `bits`.
 */
export function settleReceived(part: ReceivedPart, written: readonly ChunkWriteAnswer[], next: number, bits: number[]): SettledReceived {
  const { batch, outcome } = part;
  const { status, positions } = outcome;
  let added = 0;
  let addedBytes = 0;
  for (let i = 0; i < batch.count; i++) {
    if (status[i] !== PENDING) continue;
    const answer = written[next++];
    if (answer === true) {
      status[i] = Received.ADDED;
      const at = positions[i] as readonly number[];
      for (let j = 0; j < at.length; j++) bits.push(at[j] as number);
      added++;
      addedBytes += (batch.data[i] as Uint8Array).length;
    } else {
      status[i] = typeof answer === 'object' ? Received.REFUSED : Received.HELD;
      positions[i] = undefined;
    }
  }
  return { next, added, addedBytes };
}

/** `batch` with its bytes copied into one buffer of its own (for a batch not handed over, or a backend keeping what it is given). */
export function copyReceived(batch: ReceivedBatch): ReceivedBatch {
  return { ...batch, data: copiedIntoSlab(batch.data), keys: Uint8Array.from(batch.keys), hints: batch.hints.slice() };
}
