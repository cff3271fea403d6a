/** Which asked addresses a getChunks reply answered, and where each answer sits in the request (downloader.ts). */
import type { Address } from '../address.js';
import type { GetChunksResult } from '../protocol/messages.js';

/**
 * Where each of `found` (addresses of the request `asked`, as a reply names them) sits in
 * `asked`. Replies answer in request order, so one walk forward finds them; from the first one out
 * of that order (any order is valid) on, they are found through a map of the request, built once:
 * linear whatever order a peer chooses.
 */
export function requestIndices(asked: readonly Address[], found: readonly { address: Address }[]): (number | undefined)[] {
  const out = new Array<number | undefined>(found.length);
  let next = 0;
  let byAddress: Map<Address, number> | undefined;
  for (let i = 0; i < found.length; i++) {
    const { address } = found[i] as { address: Address };
    if (byAddress !== undefined) {
      out[i] = byAddress.get(address);
      continue;
    }
    let at = next;
    while (at < asked.length && asked[at] !== address) at++;
    if (at < asked.length) {
      out[i] = at;
      next = at + 1;
      continue;
    }
    byAddress ??= new Map(asked.map((a, j) => [a, j]));
    out[i] = byAddress.get(address);
  }
  return out;
}

/**
 * The asked addresses a reply withheld: said missing, or left unanswered (neither a chunk nor put
 * off). The reply parsers refuse an address answered twice or not asked, so when the answers add
 * up to the request every address was answered once, and the withheld ones are those said missing.
 */
export function withheld(asked: readonly Address[], reply: GetChunksResult, putOff: readonly Address[]): readonly Address[] {
  if (reply.chunks.length + reply.missing.length + putOff.length === asked.length) return reply.missing;
  const answered = new Set<Address>(putOff);
  for (const chunk of reply.chunks) answered.add(chunk.address);
  return asked.filter((address) => !answered.has(address));
}
