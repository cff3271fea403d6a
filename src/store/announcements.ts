/**
 * Validation of announcements appended to a store's sequence, shared by both stores: positions
 * must continue the sequence exactly and every address must parse. A refused batch changes
 * nothing, so validation runs entirely before any write.
 */
import { parseAddress, type Address } from '../address.js';
import type { Announcement } from '../chain/types.js';
import { AtlasError, ErrorCodes } from '../errors.js';
import { MAX_INVENTORY_LENGTH } from '../inventory/codec.js';

/** The longest sequence a store holds: the inventory is a 32-bit bitmap. */
export const MAX_SEQUENCE_LENGTH = MAX_INVENTORY_LENGTH;

/** Canonical lower-case addresses of `announcements`, which must start at position `start`. */
export function validateAppend(announcements: readonly Announcement[], start: number): Address[] {
  if (!Array.isArray(announcements)) {
    throw new AtlasError(ErrorCodes.BAD_ANNOUNCEMENT, 'announcements must be an array');
  }
  if (start + announcements.length > MAX_SEQUENCE_LENGTH) {
    throw new AtlasError(ErrorCodes.BAD_ANNOUNCEMENT, `the sequence cannot grow past ${MAX_SEQUENCE_LENGTH} positions`);
  }
  const addresses: Address[] = new Array(announcements.length);
  for (let i = 0; i < announcements.length; i++) {
    const announcement = announcements[i] as Announcement | undefined;
    const expected = start + i;
    if (typeof announcement !== 'object' || announcement === null) {
      throw new AtlasError(ErrorCodes.BAD_ANNOUNCEMENT, `announcement for position ${expected} is not an object`, { position: expected });
    }
    const position = announcement.position;
    if (position !== expected) {
      const kind = typeof position !== 'number' || !Number.isInteger(position) ? 'malformed' : position < expected ? 'repeated' : 'gap before';
      throw new AtlasError(ErrorCodes.BAD_ANNOUNCEMENT, `announcement position ${String(position)} does not continue the sequence: expected ${expected} (${kind} position)`, {
        position,
        expected,
      });
    }
    try {
      addresses[i] = parseAddress(announcement.address);
    } catch (error) {
      throw new AtlasError(ErrorCodes.BAD_ANNOUNCEMENT, `announcement at position ${expected} has a malformed address`, { position: expected }, { cause: error });
    }
  }
  return addresses;
}

/** Checks a truncation target: a non-negative integer (a length past the end drops nothing). */
export function validateTruncate(length: number): void {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new AtlasError(ErrorCodes.BAD_REQUEST, `truncate length must be a non-negative integer, got ${length}`);
  }
}
