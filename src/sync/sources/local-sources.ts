/**
 * Chunk sources inside the process: whatever holds attachments (a Stacks event observer keeps the
 * zone files `/attachments/new` delivered), and the atlasnet peers asked on demand.
 */
import type { Address } from '../../address.js';
import type { ChunkSource } from './types.js';

/** Anything that keeps attachments by hash, e.g. StacksObserverChain. */
export interface AttachmentHolder {
  attachment(address: string): Uint8Array | undefined;
  onAttachment?(listener: (address: string) => void): () => void;
}

/** A ChunkSource (named `name`, default "observer") serving the attachments an AttachmentHolder such as StacksObserverChain keeps, told when it newly holds one. */
export function attachmentSource(holder: AttachmentHolder, name = 'observer'): ChunkSource {
  const source: ChunkSource = { name, fetch: async (address) => holder.attachment(address) };
  if (holder.onAttachment) {
    const subscribe = holder.onAttachment.bind(holder);
    source.onAvailable = (listener) => subscribe(listener);
  }
  return source;
}

/** Peers asked on demand: `fetch` is e.g. AtlasNode.fetchChunks. */
export function peerSource(fetch: (addresses: readonly string[], options: { signal?: AbortSignal }) => Promise<Map<Address, Uint8Array>>): ChunkSource {
  return {
    name: 'peers',
    storesWhatItFetches: true,
    async fetch(address, options) {
      return (await fetch([address], { signal: options.signal })).get(address);
    },
  };
}
