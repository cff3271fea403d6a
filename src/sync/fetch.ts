import type { Address } from '../address.js';
import { AtlasError, ErrorCodes } from '../errors.js';
import type { ProtocolClient } from '../protocol/client.js';
import { asAtlasError, classifyFailure } from '../protocol/faults.js';
import { GET_ADDRESSES_UNADVERTISED, type ProtocolLimits } from '../protocol/limits.js';
import type { ChunkStore, PutOutcome } from '../store/types.js';
import type { PeerViews } from './peer-views.js';
import { requestChunks } from './request-chunks.js';
import { verifyReceived } from './verify.js';

/** Options of `AtlasNode.fetchChunks`: a signal to abandon it and whether to wait for chunks no peer can give yet. */
export interface FetchOptions {
  signal?: AbortSignal;
  /**
   * Wait for chunks that no peer can give yet: `true` until the signal aborts, a number for at
   * most that many milliseconds. Waiting also covers addresses not announced yet: they are
   * fetched once the chain announces them. Default false: one pass over the likeliest holders.
   */
  wait?: boolean | number;
}

/**
 * What fetchChunks() got: a Map of the chunks obtained (address -> bytes), plus a word on every
 * other address asked. Every address asked is in exactly one of the map, `missing` and `refused`.
 */
export class FetchResult extends Map<Address, Uint8Array> {
  /** Announced, but no peer gave it (in the time allowed). */
  readonly missing: Address[] = [];
  /** Input -> why it cannot be fetched: BAD_ADDRESS, or NOT_ANNOUNCED (not on the chain, and not waited for). */
  readonly refused = new Map<string, AtlasError>();

  /** Every address asked was obtained. */
  get complete(): boolean {
    return this.missing.length === 0 && this.refused.size === 0;
  }
}

export interface FetchRequest {
  wanted: readonly Address[];
  /** Peers to ask for one address, most likely holders first; read only as far as the next untried one. */
  candidates(address: Address): Iterable<string>;
  client: Pick<ProtocolClient, 'getChunks'>;
  store: ChunkStore;
  limits: Readonly<ProtocolLimits>;
  /** Addresses one call to `peer` may carry; default min(limits.maxGetAddresses, GET_ADDRESSES_UNADVERTISED). */
  batchSizeOf?(peer: string): number;
  /** Whether addresses go to `peer` packed, and what to do when it refuses them (request-chunks.ts); default: never packed. */
  views?: Pick<PeerViews, 'packsAddresses' | 'stopPacking'>;
  /** Whether `peer` could honestly put addresses off after `chunkBytes` of chunks (PeerViews.putOffHonest); default no. */
  putOffHonest?(peer: string, chunkBytes: number): boolean;
  signal: AbortSignal;
  onStored(outcomes: readonly (PutOutcome & { ok: true })[], peer: string): void;
  onFault(peer: string, error: AtlasError): void;
  /** A call to `peer` succeeded or failed, for its health. */
  onCall(peer: string, ok: boolean): void;
}

/** Peers tried per address in one pass before the pass gives up on it. */
export const MAX_PEERS_PER_ADDRESS = 8;

/**
 * One on-demand pass for fetchChunks(): asks the likeliest holders, every address in batches of
 * at most what the peer answers per call, verifies every chunk against its address and stores it. An
 * address is asked of up to MAX_PEERS_PER_ADDRESS peers; there is no cap on how many addresses.
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
      const peer = firstUntried(request.candidates(address), seen);
      if (peer === undefined) continue;
      seen.add(peer);
      const batch = byPeer.get(peer) ?? [];
      batch.push(address);
      byPeer.set(peer, batch);
    }
    if (byPeer.size === 0) break;
    await Promise.all([...byPeer].map(([peer, addresses]) => fetchFromPeer(request, peer, addresses, found)));
    remaining = remaining.filter((a) => !found.has(a));
  }
  return found;
}

function firstUntried(candidates: Iterable<string>, tried: ReadonlySet<string>): string | undefined {
  for (const peer of candidates) if (!tried.has(peer)) return peer;
  return undefined;
}

/**
 * All of `addresses` from one peer, a batch per call, one call at a time (the peer's concurrency
 * is bounded). Addresses a reply honestly puts off for its size are asked again; every such reply
 * carries a chunk, so this ends. Addresses put off otherwise go to the next candidate.
 */
async function fetchFromPeer(request: FetchRequest, peer: string, addresses: Address[], found: Map<Address, Uint8Array>): Promise<void> {
  const size = request.batchSizeOf?.(peer) ?? Math.min(request.limits.maxGetAddresses, GET_ADDRESSES_UNADVERTISED);
  const queue = [...addresses];
  while (queue.length > 0 && !request.signal.aborted) {
    const later = await fetchBatch(request, peer, queue.splice(0, size), found);
    if (later === undefined) return;
    queue.push(...later);
  }
}

/**
 * The addresses put off for later, or undefined when the peer failed: the rest of its share goes
 * to the next candidate. A store that refuses the write (STORE_IO) is not the peer's failure: it
 * fails the fetch, and the peer's health is untouched.
 */
async function fetchBatch(request: FetchRequest, peer: string, addresses: Address[], found: Map<Address, Uint8Array>): Promise<readonly Address[] | undefined> {
  let reply: Awaited<ReturnType<typeof requestChunks>>;
  try {
    reply = await requestChunks(request, peer, addresses, { signal: request.signal });
  } catch (error) {
    const failure = classifyFailure(error, request.signal);
    if (failure === 'fault') request.onFault(peer, asAtlasError(error));
    else if (failure === 'slow' || failure === 'unreachable') request.onCall(peer, false);
    return undefined; // unreachable or slow: the next attempt asks another peer
  }
  request.onCall(peer, true);
  const { verified, corrupt } = verifyReceived(reply.chunks);
  if (corrupt.length > 0) {
    request.onFault(peer, new AtlasError(ErrorCodes.HASH_MISMATCH, `${corrupt.length} chunk(s) from ${peer} do not hash to their address`));
  }
  let chunkBytes = 0;
  for (const chunk of reply.chunks) chunkBytes += chunk.data.byteLength;
  const putOff = corrupt.length === 0 && reply.later !== undefined && request.putOffHonest?.(peer, chunkBytes) === true ? reply.later : [];
  const outcomes = await request.store.putVerified(verified);
  const added: (PutOutcome & { ok: true })[] = [];
  outcomes.forEach((outcome, i) => {
    const chunk = verified[i];
    if (!outcome.ok || !chunk) return;
    found.set(chunk.address, chunk.data);
    if (outcome.added) added.push(outcome);
  });
  if (added.length > 0) request.onStored(added, peer);
  return corrupt.length > 0 ? undefined : putOff; // a peer that sent bad bytes is not asked again in this pass
}
