/**
 * A growable array of 20-byte addresses in one buffer: position i at bytes [20i, 20i + 20).
 * 20 bytes a position instead of a Buffer object each (~100 bytes); the in-memory store's
 * sequence.
 */
import { ADDRESS_BYTES, addressBytesAre, copyAddressBytes } from '../address.js';

export class AddressArray {
  #bytes = Buffer.alloc(ADDRESS_BYTES * 1024);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  /** A view of the address at `position` (valid until the position is truncated away), or undefined past the end. */
  at(position: number): Uint8Array | undefined {
    if (!Number.isInteger(position) || position < 0 || position >= this.#length) return undefined;
    return this.#bytes.subarray(position * ADDRESS_BYTES, (position + 1) * ADDRESS_BYTES);
  }

  /** Whether the address at `position` is the 20 bytes of `key` at `keyAt` (false past the end), compared in place. */
  isAt(position: number, key: Uint8Array, keyAt = 0): boolean {
    if (!Number.isInteger(position) || position < 0 || position >= this.#length) return false;
    return addressBytesAre(this.#bytes, position * ADDRESS_BYTES, key, keyAt);
  }

  /** Copies the address at `position` to `into` at `offset`; false past the end. */
  copyTo(position: number, into: Uint8Array, offset: number): boolean {
    if (!Number.isInteger(position) || position < 0 || position >= this.#length) return false;
    copyAddressBytes(this.#bytes, position * ADDRESS_BYTES, into, offset);
    return true;
  }

  *range(from: number, to: number): Iterable<Uint8Array> {
    const end = Math.min(to, this.#length);
    for (let position = Math.max(0, from); position < end; position++) yield this.at(position) as Uint8Array;
  }

  push(address: Uint8Array): void {
    if (address.length !== ADDRESS_BYTES) throw new RangeError(`an address is ${ADDRESS_BYTES} bytes, got ${address.length}`);
    const end = (this.#length + 1) * ADDRESS_BYTES;
    if (end > this.#bytes.length) {
      const grown = Buffer.alloc(Math.max(end, this.#bytes.length * 2));
      this.#bytes.copy(grown, 0, 0, this.#length * ADDRESS_BYTES);
      this.#bytes = grown;
    }
    this.#bytes.set(address, this.#length * ADDRESS_BYTES);
    this.#length++;
  }

  /** Keeps the first `length` addresses. */
  truncate(length: number): void {
    if (length < this.#length) this.#length = Math.max(0, length);
  }
}
