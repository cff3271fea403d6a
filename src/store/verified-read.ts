/**
 * Every chunk that leaves the node passes here. LMDB keeps no page checksums, so a flipped bit
 * in data.mdb (bad disk, bad RAM, a stray write) would otherwise be served as the chunk, with
 * `Cache-Control: immutable`, and the peers receiving it would penalise us. So bytes read for
 * serving are hashed again (one batch call to the hash backend per read) and compared with the
 * address they are stored under.
 *
 * A chunk that fails is quarantined: it is answered as missing at once, removed from the store
 * (its bits cleared, so the downloader fetches it again), and reported through `corrupt`.
 */
import { ADDRESS_BYTES, digestAtIs, type Address } from '../address.js';
import { hash160Digests } from '../hash/index.js';
import { stoppedServing } from './quarantine.js';
import type { ChunkStore, DiscardOutcome } from './types.js';

export interface CorruptChunk {
  address: Address;
  /** The bits the quarantine cleared (empty when it was already gone). */
  positions: readonly number[];
}

export interface VerifiedReaderOptions {
  /** A stored chunk failed its check and was quarantined. */
  corrupt?: (chunk: CorruptChunk) => void;
  /** Removing it from the store failed (a store error): it is still never served (with its bits cleared, by a BackedChunkStore). */
  discardFailed?: (address: Address, error: unknown) => void;
  /** Hash every chunk before it is served (default true). false exists to measure the cost. */
  verify?: boolean;
}

export interface VerifiedRead {
  chunks: { address: Address; data: Uint8Array }[];
  /** Not held, or held but corrupt (quarantined). */
  missing: Address[];
  /** Not looked at: the chunks before them reached the byte bound. Absent when none. */
  later?: Address[];
}

export class VerifiedReader {
  /** Addresses being quarantined: answered missing until the store has removed them. */
  readonly #quarantining = new Set<Address>();
  #corruptFound = 0;

  constructor(
    private readonly store: ChunkStore,
    private readonly options: VerifiedReaderOptions = {},
  ) {}

  readonly #get = (address: Address): Uint8Array | undefined => this.store.get(address);
  readonly #getShared = (address: Address): Uint8Array | undefined => (this.store.getShared === undefined ? this.store.get(address) : this.store.getShared(address));

  /** Corrupt chunks found since this reader was made. */
  get corruptFound(): number {
    return this.#corruptFound;
  }

  /**
   * The chunks of `addresses` that are stored and intact; every other address is missing. With
   * `maxBytes`, reading stops before the chunk that would take the chunks past it (the first chunk
   * found is always read), and the addresses not read yet are `later`.
   */
  read(addresses: readonly Address[], maxBytes = Infinity): VerifiedRead {
    return this.#read(addresses, maxBytes, this.#get);
  }

  /**
   * read(), for a reply: its bytes may be shared with the store's read cache (ChunkStore.getShared)
   * and other answers, so they are only hashed and sent, never changed, and never handed to an
   * embedder (every other reader gets memory of its own).
   */
  serve(addresses: readonly Address[], maxBytes = Infinity): VerifiedRead {
    return this.#read(addresses, maxBytes, this.#getShared);
  }

  #read(addresses: readonly Address[], maxBytes: number, get: (address: Address) => Uint8Array | undefined): VerifiedRead {
    const missing: Address[] = [];
    let next = 0;
    for (;;) {
      const { chunks, end } = this.#collect(addresses, next, maxBytes, missing, get);
      const intact = this.#verify(chunks, missing);
      if (end === addresses.length) return { chunks: intact, missing };
      // Every chunk read was corrupt: read on, so that a reply putting addresses off carries a chunk.
      if (intact.length > 0) return { chunks: intact, missing, later: addresses.slice(end) };
      next = end;
    }
  }

  /**
   * The held chunks of addresses[from..], up to the one that would take them past `maxBytes` (the
   * first always taken); the addresses not held go to `missing`. `end`: the first address not looked at.
   */
  #collect(
    addresses: readonly Address[],
    from: number,
    maxBytes: number,
    missing: Address[],
    get: (address: Address) => Uint8Array | undefined,
  ): { chunks: VerifiedRead['chunks']; end: number } {
    const chunks: VerifiedRead['chunks'] = [];
    let bytes = 0;
    for (let i = from; i < addresses.length; i++) {
      const address = addresses[i] as Address;
      const data = this.#isQuarantining(address) ? undefined : get(address);
      if (data === undefined) missing.push(address);
      else if (chunks.length > 0 && bytes + data.length > maxBytes) return { chunks, end: i };
      else {
        chunks.push({ address, data });
        bytes += data.length;
      }
    }
    return { chunks, end: addresses.length };
  }

  /** The intact ones of `chunks`; each corrupt one is quarantined and added to `missing`. */
  #verify(chunks: VerifiedRead['chunks'], missing: Address[]): VerifiedRead['chunks'] {
    if (this.options.verify === false || chunks.length === 0) return chunks;
    const digests = hash160Digests(chunks.map((chunk) => chunk.data));
    const intact: VerifiedRead['chunks'] = [];
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i] as VerifiedRead['chunks'][number];
      if (hashesTo(digests, ADDRESS_BYTES * i, chunk.address)) intact.push(chunk);
      else {
        missing.push(chunk.address);
        this.#quarantine(chunk.address);
      }
    }
    return intact;
  }

  /** One chunk, verified; undefined when not held or corrupt. */
  readOne(address: Address): Uint8Array | undefined {
    return this.read([address]).chunks[0]?.data;
  }

  /** Whether `address` (either case) is being quarantined; nothing is lower-cased while none is. */
  #isQuarantining(address: Address): boolean {
    return this.#quarantining.size > 0 && this.#quarantining.has(address.toLowerCase());
  }

  /** Quarantines under the canonical (lower-case) address, whatever case the read was asked in. */
  #quarantine(asked: Address): void {
    const address = asked.toLowerCase();
    if (this.#quarantining.has(address)) return;
    this.#quarantining.add(address);
    this.#corruptFound++;
    this.store.discard(address).then(
      (outcome: DiscardOutcome) => {
        this.#quarantining.delete(address);
        if (outcome.discarded) this.options.corrupt?.({ address, positions: outcome.positions });
      },
      (error: unknown) => {
        // Reported first, whatever follows; then kept in quarantine while the store may still
        // answer the bad bytes: they must not be served. A store that no longer does (BackedChunkStore:
        // a failed removal stops serving the chunk and clears its bits) serves the good bytes once
        // they are fetched again.
        try {
          this.options.discardFailed?.(address, error);
        } catch {
          // A reporting hook that throws must not end the process: nothing awaits this promise.
        }
        if (!this.#mayServe(address, error)) this.#quarantining.delete(address);
      },
    );
  }

  /**
   * Whether the store may still answer `address` after its removal failed with `error`; never
   * throws. The error says so itself when the store stopped serving the chunk (stoppedServing);
   * else the store is asked, and a store that cannot answer (closed meanwhile) is taken to serve it.
   */
  #mayServe(address: Address, error: unknown): boolean {
    if (stoppedServing(error)) return false;
    try {
      return this.store.has(address);
    } catch {
      return true;
    }
  }
}

/**
 * Whether the chunk read for `address` hashes to it, compared in place (no string made a chunk).
 * The store answers an address in either case, so one that is not lower-case is compared in its
 * canonical form before a good chunk is taken for a corrupt one.
 */
function hashesTo(digests: Uint8Array, offset: number, address: Address): boolean {
  return digestAtIs(digests, offset, address) || digestAtIs(digests, offset, address.toLowerCase());
}
