/**
 * Address lists a getChunks request sends without checking them again.
 *
 * The client checks every request as if a stranger had written it: each address's 40 hex digits,
 * lower-cased, duplicates dropped (the reply check depends on it). A node's own downloads already
 * hold that form: each address is read from the sequence the node accepted from its chain, and
 * the planner never puts one address in a request twice. Checking them again cost about 150 ns
 * a chunk, a fortieth of a catch-up's CPU.
 *
 * A list is vouched for once it is complete, and frozen then: it cannot change after. The
 * client still bounds its length (maxGetAddresses). Only code inside the library can vouch: the
 * functions are not part of the package's exports.
 */
import { ADDRESS_BYTES, type Address } from '../address.js';

/** Distinct, canonical (lower-case hex) addresses, fixed for good. */
export type CheckedAddresses = readonly Address[] & { readonly __checkedAddresses: true };

/** Each list vouched for, with its packed form when the voucher had it (undefined: none). */
const vouched = new WeakMap<readonly Address[], Uint8Array | undefined>();

/**
 * Freezes `addresses` and marks them as needing no check. The caller answers for them: every one
 * canonical (as the store's sequence gives them) and none twice; and, with `packed`, for those
 * bytes being the same addresses, 20 bytes each, end to end, in memory nothing else writes: a
 * packed request then sends them as they are instead of turning the hex back into bytes.
 */
export function vouchForAddresses(addresses: Address[], packed?: Uint8Array): CheckedAddresses {
  Object.freeze(addresses);
  vouched.set(addresses, packed !== undefined && packed.length === addresses.length * ADDRESS_BYTES ? packed : undefined);
  return addresses as readonly Address[] as CheckedAddresses;
}

/** Whether `addresses` was vouched for (vouchForAddresses). */
export function isCheckedAddresses(addresses: readonly Address[]): addresses is CheckedAddresses {
  return vouched.has(addresses);
}

/** The packed form `addresses` was vouched for with, if any. */
export function packedFormOf(addresses: readonly Address[]): Uint8Array | undefined {
  return vouched.get(addresses);
}
