import type { Address } from '../../address.js';

/** What a ChunkSource's `fetch` is given: the signal that abandons it and the largest chunk accepted. */
export interface SourceFetchOptions {
  signal: AbortSignal;
  /** Largest chunk accepted: a source sending more is cut off (TOO_LARGE). */
  maxBytes: number;
}

/**
 * Somewhere an announced chunk's bytes may be found besides the peer network's downloader:
 * atlasnet peers on demand, Stacks nodes, HTTP mirrors, a Stacks event observer. A source returns
 * the bytes it claims are the chunk, or undefined when it does not have them; it never needs to
 * be trusted: the caller checks every byte against the address (or, when the store holds the
 * chunk once the source answered, e.g. the peers source stored it, uses nothing it sent).
 */
export interface ChunkSource {
  /** Short name for logs and `missing()` ("stacks:http://host:20443", "mirror:...", "peers"). */
  readonly name: string;
  fetch(address: Address, options: SourceFetchOptions): Promise<Uint8Array | undefined>;
  /** True when `fetch` verifies and stores the chunk itself (the peers source): a chunk held once it answered is its doing. */
  readonly storesWhatItFetches?: boolean;
  /** Optional: calls `listener` when the source newly holds an address (so retries need not wait). */
  onAvailable?(listener: (address: Address) => void): () => void;
}
