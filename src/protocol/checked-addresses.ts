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
import type { Address } from '../address.js';

/** Distinct, canonical (lower-case hex) addresses, fixed for good. */
export type CheckedAddresses = readonly Address[] & { readonly __checkedAddresses: true };

const vouched = new WeakSet<readonly Address[]>();

/**
 * Freezes `addresses` and marks them as needing no check. The caller answers for them: every one
 * canonical (as the store's sequence gives them) and none twice.
 */
export function vouchForAddresses(addresses: Address[]): CheckedAddresses {
  Object.freeze(addresses);
  vouched.add(addresses);
  return addresses as readonly Address[] as CheckedAddresses;
}

/** Whether `addresses` was vouched for (vouchForAddresses). */
export function isCheckedAddresses(addresses: readonly Address[]): addresses is CheckedAddresses {
  return vouched.has(addresses);
}
