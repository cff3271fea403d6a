import type { Address } from '../address.js';
import { AtlasError, ErrorCodes, isAtlasError } from '../errors.js';
import { verifyReceived } from '../sync/verify.js';
import type { ProtocolClient } from '../protocol/client.js';
import type { ProtocolLimits } from '../protocol/limits.js';
import type { ChunkStore, PutOutcome } from '../store/types.js';

export interface FetchRequest {
  wanted: readonly Address[];
  /** Peers to ask for one address, most likely holders first. */
  candidates(address: Address): string[];
  client: ProtocolClient;
  store: ChunkStore;
  limits: Readonly<ProtocolLimits>;
  signal: AbortSignal;
  onStored(outcomes: readonly (PutOutcome & { ok: true })[], peer: string): void;
  onFault(peer: string, error: AtlasError): void;
  /** A call to `peer` succeeded or failed, for its health. */
  onCall(peer: string, ok: boolean): void;
}

/** Peers tried per address before fetchChunks gives up on it. */
const MAX_PEERS_PER_ADDRESS = 8;

/**
 * On-demand fetch for fetchChunks(): asks the likeliest holders, a batch per peer, verifies every
 * chunk against its address and stores it. Gives up on an address after MAX_PEERS_PER_ADDRESS.
 */
export async function fetchFromPeers(request: FetchRequest): Promise<Map<Address, Uint8Array>> {
  const found = new Map<Address, Uint8Array>();
  const tried = new Map<Address, Set<string>>();
  let remaining = [...request.wanted];
  for (let attempt = 0; attempt < MAX_PEERS_PER_ADDRESS && remaining.length > 0; attempt++) {
    if (request.signal.aborted) throw new AtlasError(ErrorCodes.ABORTED, 'fetchChunks aborted');
    const byPeer = new Map<string, Address[]>();
    for (const address of remaining) {
      const seen = tried.get(address) ?? new Set<string>();
      tried.set(address, seen);
      const peer = request.candidates(address).find((p) => !seen.has(p) && (byPeer.get(p)?.length ?? 0) < request.limits.maxGetAddresses);
      if (peer === undefined) continue;
      seen.add(peer);
      const batch = byPeer.get(peer) ?? [];
      batch.push(address);
      byPeer.set(peer, batch);
    }
    if (byPeer.size === 0) break;
    await Promise.all([...byPeer].map(([peer, addresses]) => fetchBatch(request, peer, addresses, found)));
    remaining = remaining.filter((a) => !found.has(a));
  }
  return found;
}

async function fetchBatch(request: FetchRequest, peer: string, addresses: Address[], found: Map<Address, Uint8Array>): Promise<void> {
  try {
    const reply = await request.client.getChunks(peer, { addresses }, { signal: request.signal });
    request.onCall(peer, true);
    const { verified, corrupt } = verifyReceived(reply.chunks);
    if (corrupt.length > 0) {
      request.onFault(peer, new AtlasError(ErrorCodes.HASH_MISMATCH, `${corrupt.length} chunk(s) from ${peer} do not hash to their address`));
    }
    const outcomes = await request.store.putVerified(verified);
    const added: (PutOutcome & { ok: true })[] = [];
    outcomes.forEach((outcome, i) => {
      const chunk = verified[i];
      if (!outcome.ok || !chunk) return;
      found.set(chunk.address, chunk.data);
      if (outcome.added) added.push(outcome);
    });
    if (added.length > 0) request.onStored(added, peer);
  } catch (error) {
    if (isAtlasError(error, ErrorCodes.BAD_REPLY)) request.onFault(peer, error);
    else if (!request.signal.aborted && !isAtlasError(error, ErrorCodes.BUSY)) request.onCall(peer, false);
    // Unreachable or slow: the next attempt asks another peer.
  }
}
