/**
 * The sequence's addresses in memory, in pages of 4,096 positions (80 KiB each), each read from
 * LMDB in one range scan on its first use and kept until the sequence is cut below it.
 *
 * A node catching up reads positions in random order (rarest first, ties at random): the store
 * confirms each chunk it stores against its position's address, and the address index confirms
 * each match by reading its position back (for every chunk served too, while some stored chunk is
 * unannounced). At a million positions each LMDB read is then a random walk down the tree: about
 * 1.2 µs on its own, twice that between the writes of a sync, where a range scan reads a position
 * for 0.25-0.7 µs. Paging the sequence in cut a 1,000,000 × 170 B catch-up's CPU by about a fifth.
 *
 * Bounded: at most `maxBytes` of pages (LmdbChunkStoreOptions.sequenceCacheBytes). A page is
 * never evicted to make room for another, so reads cannot thrash: past the bound a position is
 * read from LMDB as before (through the recent-addresses cache). The sequence comes from the
 * chain, not from peers, and only positions the store holds are ever read: a remote party cannot
 * make a node page in more than its own sequence. A request naming addresses all over the
 * sequence can make the node read its pages sooner, never more than once each: a page costs
 * about 1-3 ms, and the whole default bound (32 MiB, 1.6 million positions) under a second once.
 */
import { ADDRESS_BYTES, addressBytesAre, copyAddressBytes } from '../address.js';
import type { AddressRangeReader } from './sequence-digest.js';

/** Positions in one page: small enough that reading one is a short pause (1-3 ms), large enough that a scan's setup is nothing beside it. */
export const SEQUENCE_PAGE_POSITIONS = 4_096;
/** Bytes of one page: 80 KiB. */
export const SEQUENCE_PAGE_BYTES = SEQUENCE_PAGE_POSITIONS * ADDRESS_BYTES;
/** Default bound of the pages held: 32 MiB, 409 pages, every position of a sequence of up to 1,675,264. */
export const DEFAULT_SEQUENCE_CACHE_BYTES = 32 * 1024 * 1024;

interface Page {
  addresses: Buffer;
  /** Positions read into it, from its first. */
  filled: number;
}

export class SequencePages {
  readonly #read: AddressRangeReader;
  readonly #maxPages: number;
  /** Page index -> its addresses, 20 bytes a position from the page's first. */
  readonly #pages = new Map<number, Page>();
  /** What #locate answers, reused: a read makes no object. */
  readonly #located: { addresses: Buffer; offset: number } = { addresses: Buffer.alloc(0), offset: 0 };

  /** `maxBytes`: the most memory held in pages (0 holds none: every read goes to LMDB). */
  constructor(read: AddressRangeReader, maxBytes: number) {
    this.#read = read;
    this.#maxPages = Math.floor(maxBytes / SEQUENCE_PAGE_BYTES);
  }

  /** The most bytes held in pages (whole pages within the bound it was given). */
  get maxBytes(): number {
    return this.#maxPages * SEQUENCE_PAGE_BYTES;
  }

  /** Bytes held in pages. */
  get bytes(): number {
    return this.#pages.size * SEQUENCE_PAGE_BYTES;
  }

  /**
   * Whether the address at `position` is the 20 bytes of `key`, compared in the page; undefined
   * when its page is not held and there is no room for it, or the position is past the stored
   * sequence (the caller reads LMDB then).
   */
  matches(position: number, key: Uint8Array, keyAt = 0): boolean | undefined {
    const at = this.#locate(position);
    if (at === undefined) return undefined;
    return addressBytesAre(at.addresses, at.offset, key, keyAt);
  }

  /** Copies the address at `position` to `into` at `offset`: true, or undefined as for matches(). */
  copyTo(position: number, into: Uint8Array, offset: number): true | undefined {
    const at = this.#locate(position);
    if (at === undefined) return undefined;
    copyAddressBytes(at.addresses, at.offset, into, offset);
    return true;
  }

  /** The address at `position` as lower-case hex, or undefined as for matches(). */
  hexAt(position: number): string | undefined {
    const at = this.#locate(position);
    return at === undefined ? undefined : at.addresses.toString('hex', at.offset, at.offset + ADDRESS_BYTES);
  }

  /** The page holding `position` and the byte offset of its address there. */
  #locate(position: number): { addresses: Buffer; offset: number } | undefined {
    const index = Math.floor(position / SEQUENCE_PAGE_POSITIONS);
    const offset = position - index * SEQUENCE_PAGE_POSITIONS;
    let page = this.#pages.get(index);
    if (page === undefined) {
      if (this.#pages.size >= this.#maxPages) return undefined;
      page = { addresses: Buffer.alloc(SEQUENCE_PAGE_BYTES), filled: 0 };
      this.#fill(index, page);
      // Nothing stored there (a position past the end): no page is kept for it.
      if (page.filled === 0) return undefined;
      this.#pages.set(index, page);
    } else if (offset >= page.filled) {
      // The sequence grew into this page since it was read: read the rest.
      this.#fill(index, page);
    }
    if (offset >= page.filled) return undefined;
    this.#located.addresses = page.addresses;
    this.#located.offset = offset * ADDRESS_BYTES;
    return this.#located;
  }

  /**
   * Addresses just committed at `start` (20 bytes each, end to end): copied into the page they
   * continue, or into a new page they begin while there is room, so a node planning over what it
   * has just appended (a fresh node plans over every position) does not read it back from LMDB.
   * A run that starts inside a page not held, or after a part of it not yet read, is left to the
   * first read, as before.
   */
  appended(start: number, keys: Uint8Array): void {
    const count = Math.floor(keys.length / ADDRESS_BYTES);
    for (let done = 0; done < count; ) {
      const index = Math.floor((start + done) / SEQUENCE_PAGE_POSITIONS);
      const offset = start + done - index * SEQUENCE_PAGE_POSITIONS;
      const run = Math.min(count - done, SEQUENCE_PAGE_POSITIONS - offset);
      let page = this.#pages.get(index);
      if (page === undefined && offset === 0 && this.#pages.size < this.#maxPages) {
        page = { addresses: Buffer.alloc(SEQUENCE_PAGE_BYTES), filled: 0 };
        this.#pages.set(index, page);
      }
      if (page !== undefined && page.filled === offset) {
        page.addresses.set(keys.subarray(done * ADDRESS_BYTES, (done + run) * ADDRESS_BYTES), offset * ADDRESS_BYTES);
        page.filled += run;
      }
      done += run;
    }
  }

  /** Forgets every position >= length (the sequence was cut there). */
  dropFrom(length: number): void {
    for (const [index, page] of this.#pages) {
      const first = index * SEQUENCE_PAGE_POSITIONS;
      if (first >= length) this.#pages.delete(index);
      else page.filled = Math.min(page.filled, length - first);
    }
  }

  #fill(index: number, page: Page): void {
    const first = index * SEQUENCE_PAGE_POSITIONS;
    let at = page.filled * ADDRESS_BYTES;
    for (const address of this.#read(first + page.filled, first + SEQUENCE_PAGE_POSITIONS)) {
      if (address.length !== ADDRESS_BYTES) break; // a damaged record: read (and refused) on its own
      page.addresses.set(address, at);
      at += ADDRESS_BYTES;
    }
    page.filled = at / ADDRESS_BYTES;
  }
}
