import type { Address } from '../address.js';

/**
 * Addresses in flight at positions that repeat (an address announced more than once), how many
 * positions each, and each such position's address, so that releasing a position uncounts what
 * claiming it counted, whatever the sequence did since. One map lookup tells whether an address is
 * in flight anywhere, where scanning its N positions made a catch-up N² (WorkPlan).
 */
export class RepeatedInFlight {
  readonly #count = new Map<Address, number>();
  readonly #at = new Map<number, Address>();

  /** Whether `address` is in flight at one of its positions (no map is asked while none is). */
  has(address: Address): boolean {
    return this.#count.size > 0 && this.#count.has(address);
  }

  /** `address` is in flight at `position`. */
  add(address: Address, position: number): void {
    this.#count.set(address, (this.#count.get(address) ?? 0) + 1);
    this.#at.set(position, address);
  }

  /** `position` is no longer in flight: its address is uncounted if add() counted it there. */
  remove(position: number): void {
    const address = this.#at.size === 0 ? undefined : this.#at.get(position);
    if (address === undefined) return;
    this.#at.delete(position);
    const count = (this.#count.get(address) ?? 1) - 1;
    if (count > 0) this.#count.set(address, count);
    else this.#count.delete(address);
  }
}
