/**
 * The sequence in LMDB, in runs: key k (uint32) holds the addresses of positions
 * k * SEQUENCE_RUN_POSITIONS onwards, 20 bytes each, end to end. Every run is full but the last,
 * which holds 1 to SEQUENCE_RUN_POSITIONS addresses; positions are exactly 0 .. length - 1.
 *
 * One entry per position (the layout before store format 4) cost an LMDB put per announcement,
 * about a fifth of what appending the chain costs, and a million entries read back one by one
 * at every open. A run is one put for 1,024 positions; appending a few positions rewrites the
 * last run (at most 20 KiB), and a cut rewrites the run it falls in.
 *
 * Writes happen inside the caller's LMDB transaction (`appendInTransaction`,
 * `truncateInTransaction`), so the sequence commits with its checkpoints, whole or not at all.
 */
import type { Database } from 'lmdb';
import { ADDRESS_BYTES } from '../address.js';
import { AtlasError, ErrorCodes } from '../errors.js';
import { damagedRecords, entryCount } from './lmdb-chunks.js';

/** Positions in one LMDB value: 20 KiB, what one append rewrites at most besides its own. */
export const SEQUENCE_RUN_POSITIONS = 1_024;
const RUN_BYTES = SEQUENCE_RUN_POSITIONS * ADDRESS_BYTES;

/** The sub-database of runs (store format 4 on). */
export const SEQUENCE_RUNS_DB = 'sequenceRuns';

export type RunDatabase = Database<Buffer, number>;

export class LmdbSequence {
  readonly #db: RunDatabase;
  readonly #path: string;

  constructor(db: RunDatabase, path: string) {
    this.#db = db;
    this.#path = path;
  }

  /**
   * The sequence length, checked: runs numbered 0 .. n - 1 with no hole, the last holding whole
   * addresses. The other runs' sizes are checked as they are read (`range`, at open).
   */
  readLength(): number {
    const count = this.#db.getCount();
    const expected = entryCount(this.#db);
    if (count !== expected) throw damagedRecords('sequence', count, expected, this.#path);
    if (count === 0) return 0;
    // With `count` keys and no hole, the only key >= count - 1 is count - 1 itself.
    const tail = [...this.#db.getRange({ start: count - 1, limit: 2 })];
    const last = tail[0];
    if (tail.length !== 1 || last === undefined || last.key !== count - 1) {
      throw this.#damaged(`the stored sequence has holes: ${count} runs, not numbered 0 to ${count - 1}`);
    }
    const size = last.value.length;
    if (size === 0 || size > RUN_BYTES || size % ADDRESS_BYTES !== 0) throw this.#damaged(`the sequence's last run holds ${size} bytes, not 1 to ${SEQUENCE_RUN_POSITIONS} addresses`);
    return (count - 1) * SEQUENCE_RUN_POSITIONS + size / ADDRESS_BYTES;
  }

  /** The address at `position` (its own copy), or undefined past the end. */
  address(position: number): Uint8Array | undefined {
    // The run is not copied (20 KiB): lmdb-js lends its bytes until the next read, with `length` the value's size.
    const run = this.#db.getBinaryFast(Math.floor(position / SEQUENCE_RUN_POSITIONS));
    if (run === undefined) return undefined;
    const offset = (position % SEQUENCE_RUN_POSITIONS) * ADDRESS_BYTES;
    if (offset + ADDRESS_BYTES > run.length) return undefined;
    return Uint8Array.prototype.slice.call(run, offset, offset + ADDRESS_BYTES);
  }

  /** The addresses at positions from .. to - 1, in order (views the caller may keep). */
  *range(from: number, to: number): Iterable<Uint8Array> {
    if (to <= from) return;
    const firstRun = Math.floor(from / SEQUENCE_RUN_POSITIONS);
    const lastRun = Math.floor((to - 1) / SEQUENCE_RUN_POSITIONS);
    let position = from;
    for (const { key, value } of this.#db.getRange({ start: firstRun, end: lastRun + 1 })) {
      if (key !== Math.floor(position / SEQUENCE_RUN_POSITIONS)) throw this.#damaged(`the stored sequence has a hole before run ${key}`);
      const runStart = key * SEQUENCE_RUN_POSITIONS;
      const held = value.length / ADDRESS_BYTES;
      if (!Number.isInteger(held) || held === 0 || held > SEQUENCE_RUN_POSITIONS) throw this.#damaged(`run ${key} of the sequence holds ${value.length} bytes`);
      const end = Math.min(to, runStart + held);
      for (; position < end; position++) {
        const offset = (position - runStart) * ADDRESS_BYTES;
        yield value.subarray(offset, offset + ADDRESS_BYTES);
      }
      // A run short of full ends the sequence: a run after it fails the key check above.
    }
  }

  /** Inside a write transaction: the addresses packed in `keys` at positions start .. (start = the length). */
  appendInTransaction(start: number, keys: Buffer): void {
    let position = start;
    let offset = 0;
    while (offset < keys.length) {
      const run = Math.floor(position / SEQUENCE_RUN_POSITIONS);
      const within = position % SEQUENCE_RUN_POSITIONS;
      const take = Math.min(keys.length - offset, (SEQUENCE_RUN_POSITIONS - within) * ADDRESS_BYTES);
      const added = keys.subarray(offset, offset + take);
      if (within === 0) this.#db.putSync(run, added);
      else {
        const held = this.#db.getBinary(run);
        if (held === undefined || held.length !== within * ADDRESS_BYTES) throw this.#damaged(`run ${run} of the sequence holds ${held?.length ?? 0} bytes, expected ${within * ADDRESS_BYTES}`);
        this.#db.putSync(run, Buffer.concat([held, added]));
      }
      position += take / ADDRESS_BYTES;
      offset += take;
    }
  }

  /** Inside a write transaction: drops positions >= length of a sequence of `old`. */
  truncateInTransaction(length: number, old: number): void {
    if (length >= old) return;
    const keptRuns = Math.ceil(length / SEQUENCE_RUN_POSITIONS);
    const oldRuns = Math.ceil(old / SEQUENCE_RUN_POSITIONS);
    for (let run = keptRuns; run < oldRuns; run++) this.#db.removeSync(run);
    const within = length % SEQUENCE_RUN_POSITIONS;
    if (within === 0) return;
    const run = keptRuns - 1;
    const held = this.#db.getBinary(run);
    if (held === undefined || held.length < within * ADDRESS_BYTES) throw this.#damaged(`run ${run} of the sequence holds ${held?.length ?? 0} bytes, expected at least ${within * ADDRESS_BYTES}`);
    this.#db.putSync(run, Buffer.from(held.subarray(0, within * ADDRESS_BYTES)));
  }

  #damaged(message: string): AtlasError {
    return new AtlasError(ErrorCodes.STORE_CORRUPT, `${message} (${this.#path})`, { path: this.#path });
  }
}

/**
 * Rewrites a sequence kept one entry a position (store formats 1 to 3) into runs, in
 * transactions of RUNS_PER_MIGRATION_STEP runs (LMDB bounds how much one transaction may write).
 * The old entries stay until the caller's final transaction drops them and writes the new format
 * record: a process killed before that leaves the old format whole, and the next open starts
 * again from a cleared `runs`.
 */
export function migrateToRuns(positions: RunDatabase, runs: RunDatabase, path: string): void {
  runs.clearSync();
  const sequence = new LmdbSequence(runs, path);
  const count = positions.getCount();
  const step = RUNS_PER_MIGRATION_STEP * SEQUENCE_RUN_POSITIONS;
  for (let from = 0; from < count; from += step) {
    const end = Math.min(count, from + step);
    const keys = Buffer.allocUnsafe((end - from) * ADDRESS_BYTES);
    let next = from;
    for (const { key, value } of positions.getRange({ start: from, end })) {
      if (key !== next || value.length !== ADDRESS_BYTES) {
        throw new AtlasError(ErrorCodes.STORE_CORRUPT, `the stored sequence is damaged at position ${next} (${path})`, { path, position: next });
      }
      value.copy(keys, (next - from) * ADDRESS_BYTES);
      next++;
    }
    if (next < end) throw new AtlasError(ErrorCodes.STORE_CORRUPT, `the stored sequence has holes: ${count} positions, not numbered 0 to ${count - 1} (${path})`, { path });
    runs.transactionSync(() => sequence.appendInTransaction(from, keys));
  }
}

/** Runs written per transaction while migrating: 256 runs, 5 MiB of addresses. */
const RUNS_PER_MIGRATION_STEP = 256;
