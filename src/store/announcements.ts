/**
 * Validation of announcements appended to a store's sequence, shared by both stores: positions
 * must continue the sequence exactly and every address must parse. A refused batch changes
 * nothing, so validation runs entirely before any write.
 */
import { ADDRESS_BYTES, parseAddress, writeAddressBytes } from '../address.js';
import type { Announcement } from '../chain/types.js';
import { AtlasError, ErrorCodes } from '../errors.js';
import { MAX_INVENTORY_LENGTH } from '../inventory/codec.js';

/** The longest sequence a store holds: the inventory is a 32-bit bitmap. */
export const MAX_SEQUENCE_LENGTH = MAX_INVENTORY_LENGTH;

/**
 * An append checked and packed when it is made: its addresses as 20-byte keys end to end, so a
 * batch waiting in the write queue (or in LMDB's) holds one buffer instead of an object and a
 * string per position, which would keep the garbage collector's young generation growing.
 */
export interface PackedAppend {
  /** Position of the first announcement (meaningless when count is 0). */
  readonly first: number;
  readonly count: number;
  /** count x 20 bytes. */
  readonly keys: Buffer;
}

/** Checks that `announcements` have consecutive positions and addresses that parse, and packs them. */
export function packAppend(announcements: readonly Announcement[]): PackedAppend {
  if (!Array.isArray(announcements)) {
    throw new AtlasError(ErrorCodes.BAD_ANNOUNCEMENT, 'announcements must be an array');
  }
  const count = announcements.length;
  const keys = Buffer.allocUnsafe(count * ADDRESS_BYTES);
  let first = 0;
  for (let i = 0; i < count; i++) {
    const announcement = announcements[i] as Announcement | undefined;
    if (typeof announcement !== 'object' || announcement === null) {
      throw new AtlasError(ErrorCodes.BAD_ANNOUNCEMENT, `announcement ${i} of the batch is not an object`, { index: i });
    }
    const position = announcement.position;
    if (i === 0) {
      if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0) throw positionError(position, 0);
      first = position;
    } else if (position !== first + i) {
      throw positionError(position, first + i);
    }
    const address = announcement.address;
    if (!writeAddressBytes(address, keys, i * ADDRESS_BYTES)) {
      throw new AtlasError(ErrorCodes.BAD_ANNOUNCEMENT, `announcement at position ${first + i} has a malformed address`, { position: first + i }, { cause: addressError(address) });
    }
  }
  return { first, count, keys };
}

/** Checks that a packed append continues a sequence of `start` positions and stays within its bound. */
export function checkAppendStart(batch: PackedAppend, start: number): void {
  if (batch.count === 0) return;
  if (start + batch.count > MAX_SEQUENCE_LENGTH) {
    throw new AtlasError(ErrorCodes.BAD_ANNOUNCEMENT, `the sequence cannot grow past ${MAX_SEQUENCE_LENGTH} positions`);
  }
  if (batch.first !== start) throw positionError(batch.first, start);
}

function positionError(position: unknown, expected: number): AtlasError {
  const kind = typeof position !== 'number' || !Number.isInteger(position) ? 'malformed' : position < expected ? 'repeated' : 'gap before';
  return new AtlasError(ErrorCodes.BAD_ANNOUNCEMENT, `announcement position ${String(position)} does not continue the sequence: expected ${expected} (${kind} position)`, {
    position,
    expected,
  });
}

/** The BAD_ADDRESS error parseAddress gives for `value`. */
function addressError(value: unknown): unknown {
  try {
    parseAddress(value);
    return undefined;
  } catch (error) {
    return error;
  }
}

/** Checks a truncation target: a non-negative integer (a length past the end drops nothing). */
export function validateTruncate(length: number): void {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new AtlasError(ErrorCodes.BAD_REQUEST, `truncate length must be a non-negative integer, got ${length}`);
  }
}
