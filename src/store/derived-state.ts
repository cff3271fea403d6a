/**
 * What a BackedChunkStore (chunk-store.ts) holds in memory, derived at open from its backend's
 * records: the address index, the sequence digest, the inventory and the counters.
 *
 * Crash safety. Nothing about the inventory is stored: at open, the inventory, the chunk count
 * and the byte count are DERIVED from the chunks and the positions index (bit i is set iff the
 * chunk whose address is at position i is stored). A put writes chunk records only; an append or
 * a truncation writes sequence, positions and checkpoints in one backend transaction. So after a
 * kill at any instant the stored chunks and the sequence are each a committed state, and the bits
 * computed from them can never disagree with them.
 */
import { AtlasError, ErrorCodes } from '../errors.js';
import { Inventory } from '../inventory/inventory.js';
import { silentLogger, type Logger } from '../runtime.js';
import { AddressIndex } from './address-index.js';
import type { StoreBackend } from './backend.js';
import { SequenceDigest } from './sequence-digest.js';

/** Bits set per inventory call while deriving the inventory at open. */
const DERIVE_BATCH = 65_536;

/** A store's in-memory state as its backend's records give it at open. */
export interface DerivedState {
  /** The sequence's length. */
  length: number;
  /** address -> positions of the sequence. */
  index: AddressIndex;
  digest: SequenceDigest;
  inventory: Inventory;
  /** Stored chunks whose address is announced (each counted once, however often announced). */
  count: number;
  /** Their bytes. */
  bytes: number;
  /** Every stored chunk, announced or not. */
  stored: number;
}

/**
 * Reads the sequence into the address index, restores the digest (rebuilding and writing missing or damaged
 * checkpoints, with a warning) and derives the inventory and counters; throws STORE_CORRUPT when
 * the records disagree. `details` is added to the errors and the warning.
 */
export function deriveState(backend: StoreBackend, logger: Logger | undefined, details: Readonly<Record<string, unknown>>): DerivedState {
  const length = backend.readLength();
  // Told when the length changes, not on every write: V8 inlined that call into the write path
  // without type feedback (it had run too few times), and reaching it threw the optimised code away.
  backend.expectChunks?.(length);
  const index = new AddressIndex((position, key, keyAt) => backend.isAddressAt(position, key, keyAt), { expected: length });
  let position = 0;
  for (const key of backend.addressRange(0, length)) index.add(key, position++);
  if (position !== length) {
    throw new AtlasError(ErrorCodes.STORE_CORRUPT, `the sequence has a hole: expected ${length} positions, read ${position}`, details);
  }
  const { digest, rebuilt } = SequenceDigest.restore((from, to) => backend.addressRange(from, to), length, backend.readCheckpoints());
  if (rebuilt.length > 0) {
    (logger ?? silentLogger).warn('sequence digest checkpoints were missing or damaged and have been rebuilt', { ...details, rebuilt: rebuilt.length });
    backend.writeCheckpoints(rebuilt);
  }
  return { length, index, digest, ...deriveInventory(backend, index, length, details) };
}

/** The inventory, chunk count and byte count, from the stored chunks and the positions index. */
function deriveInventory(
  backend: StoreBackend,
  index: AddressIndex,
  length: number,
  details: Readonly<Record<string, unknown>>,
): { inventory: Inventory; count: number; bytes: number; stored: number } {
  const inventory = new Inventory(length);
  let count = 0;
  let bytes = 0;
  let stored = 0;
  const bits: number[] = [];
  for (const { key, size } of backend.chunkSizes()) {
    stored++;
    const positions = index.positionsOf(key);
    if (positions.length === 0) continue;
    if ((positions[positions.length - 1] as number) >= length) {
      throw new AtlasError(ErrorCodes.STORE_CORRUPT, `chunk ${key.toString('hex')} is indexed at positions past the sequence`, details);
    }
    for (const position of positions) bits.push(position);
    if (bits.length >= DERIVE_BATCH) inventory.addMany(bits.splice(0));
    count++;
    bytes += size;
  }
  inventory.addMany(bits);
  return { inventory, count, bytes, stored };
}
