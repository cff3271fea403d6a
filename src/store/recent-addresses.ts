/**
 * The addresses of recently read sequence positions, direct-mapped (a position has one slot, the
 * next read of another position there replaces it). A catching-up node reads a position's address
 * twice within milliseconds: when it plans the request, and when the reply is stored (the address
 * index confirms a match by reading it back). At 1,000,000 positions each LMDB read is a random
 * page of the sequence, so the second one is worth keeping.
 *
 * 2^17 slots, 3 MB, allocated at the first read, so a node that never reads positions holds none.
 * It serves only the positions the sequence pages do not hold (sequence-pages.ts: past their
 * bound, or with them turned off); while the pages hold the whole sequence it is never allocated.
 */
import { ADDRESS_BYTES, copyAddressBytes } from '../address.js';

const SLOTS = 1 << 17;
const EMPTY = -1;

export class RecentAddresses {
  #positions: Int32Array | undefined;
  #addresses: Uint8Array | undefined;

  /** The cached address of `position` (a view: read it before the next call), or undefined. */
  get(position: number): Uint8Array | undefined {
    const slot = position & (SLOTS - 1);
    if (this.#positions?.[slot] !== position) return undefined;
    return (this.#addresses as Uint8Array).subarray(slot * ADDRESS_BYTES, (slot + 1) * ADDRESS_BYTES);
  }

  set(position: number, address: Uint8Array): void {
    if (this.#positions === undefined) {
      this.#positions = new Int32Array(SLOTS).fill(EMPTY);
      this.#addresses = new Uint8Array(SLOTS * ADDRESS_BYTES);
    }
    const slot = position & (SLOTS - 1);
    this.#positions[slot] = position;
    // Byte by byte: lmdb-js hands out views of a buffer that TypedArray#set refuses as a source.
    copyAddressBytes(address, 0, this.#addresses as Uint8Array, slot * ADDRESS_BYTES);
  }

  /** Forgets every position >= length (the sequence was cut there). */
  dropFrom(length: number): void {
    const positions = this.#positions;
    if (positions === undefined) return;
    for (let slot = 0; slot < SLOTS; slot++) if ((positions[slot] as number) >= length) positions[slot] = EMPTY;
  }
}
