/**
 * The order of a BackedChunkStore's writes (chunk-store.ts): one at a time, in call order, so that
 * each one validates against the committed state it will change. Puts waiting behind the same
 * write share one backend transaction (group commit, write-group.ts), and so do received batches;
 * a task queued closes both groups, so that nothing queued after it overtakes it. What a write
 * does to the records and counters is the store's: this module orders the writes and answers
 * each put with its share of the outcomes.
 */
import { AtlasError, ErrorCodes } from '../errors.js';
import { SerialQueue } from '../runtime.js';
import type { AdmissionResult } from './admission.js';
import { joined } from './admitted.js';
import { pendingOutcome, type ReceiptPart } from './received-batch.js';
import type { ReceivedBatch, ReceivedOutcome } from './received.js';
import type { PutOutcome } from './types.js';
import { WriteGroup } from './write-group.js';

/** A put waiting for its write. */
interface PutPart {
  prepared: AdmissionResult[];
  resolve: (outcomes: PutOutcome[]) => void;
  reject: (error: unknown) => void;
}

/** The error of every call made on a closed chunk store. */
export function closedError(): AtlasError {
  return new AtlasError(ErrorCodes.CLOSED, 'the chunk store is closed');
}

/** A chunk store's serial write queue and its two write groups (puts, received batches). */
export class WriteQueue {
  readonly #queue = new SerialQueue();
  readonly #puts: WriteGroup<PutPart>;
  readonly #receipts: WriteGroup<ReceiptPart>;
  readonly #isClosed: () => boolean;

  /**
   * `isClosed`: true once the store refuses writes. `store` stores admitted chunks in one backend
   * transaction; `storeReceipts` stores received batches in one, filling in each part's outcome.
   */
  constructor(
    isClosed: () => boolean,
    store: (prepared: AdmissionResult[]) => Promise<PutOutcome[]>,
    storeReceipts: (parts: ReceiptPart[]) => Promise<void>,
  ) {
    this.#isClosed = isClosed;
    this.#puts = new WriteGroup<PutPart>(
      (task) => this.run(task),
      (parts) => storeParts(parts, store),
    );
    this.#receipts = new WriteGroup<ReceiptPart>(
      (task) => this.run(task),
      (parts) => storeReceiptParts(parts, storeReceipts),
    );
  }

  /** Runs write tasks one at a time, in call order. */
  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#isClosed()) return Promise.reject(closedError());
    // puts made after this task must not overtake it
    this.#puts.close();
    this.#receipts.close();
    return this.#queue.run(task);
  }

  /** Joins the put waiting at the tail of the queue (or queues one); settles with these chunks' outcomes. */
  put(prepared: AdmissionResult[]): Promise<PutOutcome[]> {
    return new Promise((resolve, reject) => this.#puts.join({ prepared, resolve, reject }));
  }

  /** Joins the received batches' write waiting at the tail of the queue (or queues one). */
  receive(batch: ReceivedBatch): Promise<ReceivedOutcome> {
    return new Promise((resolve, reject) => this.#receipts.join({ batch, outcome: pendingOutcome(batch), resolve, reject }));
  }

  /** Resolves once no write is queued or running. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }
}

/** Writes every received part in one backend transaction; each part is answered with its outcome (filled by the write), or all are rejected. */
async function storeReceiptParts(parts: ReceiptPart[], storeReceipts: (parts: ReceiptPart[]) => Promise<void>): Promise<void> {
  try {
    await storeReceipts(parts);
  } catch (error) {
    for (const part of parts) part.reject(error);
    return;
  }
  for (const part of parts) part.resolve(part.outcome);
}

/** Stores every part's admitted chunks in one backend transaction (write-group.ts). */
async function storeParts(parts: PutPart[], store: (prepared: AdmissionResult[]) => Promise<PutOutcome[]>): Promise<void> {
  try {
    const outcomes = await store(joined(parts.map((part) => part.prepared)));
    let offset = 0;
    for (const part of parts) {
      part.resolve(outcomes.slice(offset, offset + part.prepared.length));
      offset += part.prepared.length;
    }
  } catch (error) {
    for (const part of parts) part.reject(error);
  }
}
