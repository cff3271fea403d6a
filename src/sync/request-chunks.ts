/**
 * One getChunks call as the downloader, on-demand fetches and audits all make it, so that a peer
 * cannot tell them apart by their encoding (an audit still asks one address, a download up to a
 * batch): the addresses go packed when the peer's inventory replies said it reads them, as hex
 * otherwise.
 */
import type { Address } from '../address.js';
import { ErrorCodes, isAtlasError } from '../errors.js';
import type { ClientCallOptions, ProtocolClient, ProtocolTimeouts } from '../protocol/client.js';
import type { GetChunksResult } from '../protocol/messages.js';
import type { Clock } from '../runtime.js';
import type { PeerViews } from './peer-views.js';

/**
 * What `requestChunks` calls with: without `views`, every peer is asked in hex; `clock` lets a hex
 * retry keep within the first call's timeout (its `timeoutMs`, else the client's `timeouts.chunks`).
 */
export interface ChunkRequestParts {
  client: Pick<ProtocolClient, 'getChunks'> & { readonly timeouts?: Pick<ProtocolTimeouts, 'chunks'> };
  views?: Pick<PeerViews, 'packsAddresses' | 'stopPacking'>;
  clock?: Clock;
}

/** Options of one `requestChunks` call. */
export interface ChunkRequestOptions extends ClientCallOptions {
  /**
   * Called once, right before a refused packed call is retried in hex: false throws the refusal
   * instead (a download whose addresses went to other holders meanwhile must not fetch them again).
   */
  beforeRetry?: () => boolean;
}

/**
 * A peer that said it reads packed addresses and refuses them (BAD_REQUEST: it restarted as an
 * older version) is asked again at once in hex, with no failure counted against it, and is sent
 * hex for as long as it is tracked (PeerViews.stopPacking): one extra call for each request in
 * flight to it when it first refuses. With a clock, both calls together keep within the first
 * one's timeout, so a peer cannot stretch one request to two timeouts.
 */
export async function requestChunks(parts: ChunkRequestParts, peer: string, addresses: readonly Address[], options: ChunkRequestOptions): Promise<GetChunksResult> {
  const { client, views, clock } = parts;
  const { beforeRetry, ...callOptions } = options;
  if (views?.packsAddresses(peer) !== true) return client.getChunks(peer, { addresses }, callOptions);
  const startedAt = clock?.now();
  try {
    return await client.getChunks(peer, { addresses }, { ...callOptions, packed: true });
  } catch (error) {
    if (!isAtlasError(error) || error.code !== ErrorCodes.BAD_REQUEST || callOptions.signal?.aborted === true) throw error;
    views.stopPacking(peer);
    if (beforeRetry?.() === false) throw error;
    const timeoutMs = callOptions.timeoutMs ?? client.timeouts?.chunks;
    if (timeoutMs === undefined || clock === undefined || startedAt === undefined) return client.getChunks(peer, { addresses }, callOptions);
    const left = timeoutMs - (clock.now() - startedAt);
    if (left <= 0) throw error;
    return client.getChunks(peer, { addresses }, { ...callOptions, timeoutMs: left });
  }
}
