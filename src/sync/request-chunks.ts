/**
 * One getChunks call as the downloader, on-demand fetches and audits all make it, so that a peer
 * cannot tell them apart by their encoding (an audit still asks one address, a download up to a
 * batch): the addresses go packed when the peer's inventory replies said it reads them, as hex
 * otherwise.
 */
import type { Address } from '../address.js';
import { ErrorCodes, isAtlasError } from '../errors.js';
import type { ClientCallOptions, ProtocolClient } from '../protocol/client.js';
import type { GetChunksResult } from '../protocol/messages.js';
import type { PeerViews } from './peer-views.js';

/**
 * A peer that said it reads packed addresses and refuses them (BAD_REQUEST: it restarted as an
 * older version) is asked again at once in hex, with no failure counted against it, and is sent
 * hex for as long as it is tracked (PeerViews.stopPacking): one extra call for each request in
 * flight to it when it first refuses. The hex call has a timeout of its own.
 */
export async function requestChunks(
  client: Pick<ProtocolClient, 'getChunks'>,
  views: Pick<PeerViews, 'packsAddresses' | 'stopPacking'>,
  peer: string,
  addresses: Address[],
  options: ClientCallOptions,
): Promise<GetChunksResult> {
  if (!views.packsAddresses(peer)) return client.getChunks(peer, { addresses }, options);
  try {
    return await client.getChunks(peer, { addresses }, { ...options, packed: true });
  } catch (error) {
    if (!isAtlasError(error) || error.code !== ErrorCodes.BAD_REQUEST || options.signal?.aborted === true) throw error;
    views.stopPacking(peer);
    return client.getChunks(peer, { addresses }, options);
  }
}
