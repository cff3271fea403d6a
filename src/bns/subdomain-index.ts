/**
 * Each parent name's subdomains, kept between lookups. Replaying a parent's zone files (parse,
 * base64, hash160 of every subdomain zone file) costs about 0.7 ms per zone file, so a public GET
 * of a subdomain of a name with 1,000 updates used to cost most of a second. The index replays a
 * parent once, then only the zone files announced since, and starts over only when a zone file it
 * had to skip (not held then) has arrived since, or after a reorganisation (`clear`).
 */
import { extendsHistory, subdomainRecords, type SubdomainRecord } from './subdomains.js';
import { parseZoneFile } from './zonefile.js';

/** Parents whose subdomains are kept; past it the least recently asked one is dropped (and replayed when asked again), never for a cheaper one. */
export const MAX_INDEXED_PARENTS = 1_024;
/**
 * Bytes of subdomain records kept over all parents (zone files, names, hashes, ~200 bytes of
 * overhead each); past it the least recently asked parents are dropped. A parent's subdomains are
 * as many as its zone files name, so anyone asking for the largest parents one after another
 * would otherwise make us keep all of them.
 */
export const MAX_INDEXED_BYTES = 64 * 1024 * 1024;
/** What a skipped zone file's hash counts for (a 40-character string in a set). */
const SKIPPED_BYTES = 120;
/** What a kept record counts for besides its zone file and strings. */
const RECORD_OVERHEAD_BYTES = 200;

/** Bounds of the SubdomainIndex (AtlasNode option `names`). */
export interface SubdomainIndexLimits {
  /** Parents whose subdomains are kept (MAX_INDEXED_PARENTS). */
  maxParents: number;
  /** Bytes of subdomain records kept over all parents (MAX_INDEXED_BYTES). */
  maxBytes: number;
}

/** Defaults of SubdomainIndexLimits. */
export const DEFAULT_SUBDOMAIN_INDEX: Readonly<SubdomainIndexLimits> = Object.freeze({ maxParents: MAX_INDEXED_PARENTS, maxBytes: MAX_INDEXED_BYTES });

/** One change of the parent name, as far as subdomains care: the zone file it bound, if any. */
export interface ParentEntry {
  zonefileHash?: string;
}

interface ParentSubdomains {
  /** How many of the parent's entries have been replayed. */
  replayed: number;
  /** Zone files skipped because they were not held: if one arrives, the replay starts over. */
  skipped: Set<string>;
  /** Each subdomain's current record. */
  current: Map<string, SubdomainRecord>;
  /** What `current` and `skipped` hold, as counted by recordBytes and SKIPPED_BYTES. */
  bytes: number;
}

function recordBytes(record: SubdomainRecord): number {
  return RECORD_OVERHEAD_BYTES + record.zonefile.byteLength + 2 * (record.name.length + record.owner.length + record.zonefileHash.length + (record.signature?.length ?? 0));
}

export class SubdomainIndex {
  readonly #chunk: (address: string) => Uint8Array | undefined;
  readonly #limits: Readonly<SubdomainIndexLimits>;
  readonly #parents = new Map<string, ParentSubdomains>();
  /** Bytes over every kept parent. */
  #bytes = 0;

  constructor(chunk: (address: string) => Uint8Array | undefined, limits: Partial<SubdomainIndexLimits> = {}) {
    this.#chunk = chunk;
    this.#limits = { ...DEFAULT_SUBDOMAIN_INDEX, ...limits };
  }

  /** Bytes of records kept now (at most maxBytes, or one parent's when that alone is larger). */
  get bytes(): number {
    return this.#bytes;
  }

  /** The current record of `name` ("sub.parent"), given the parent's entries in chain order. */
  lookup(name: string, parent: string, entries: readonly ParentEntry[]): SubdomainRecord | undefined {
    let state = this.#parents.get(parent);
    if (state !== undefined) this.#drop(parent, state);
    if (state === undefined || state.replayed > entries.length || this.#anyArrived(state.skipped)) {
      state = { replayed: 0, skipped: new Set(), current: new Map(), bytes: 0 };
    }
    for (; state.replayed < entries.length; state.replayed++) this.#replay(state, parent, entries[state.replayed] as ParentEntry);
    this.#parents.set(parent, state);
    this.#bytes += state.bytes;
    this.#makeRoom(parent, state);
    return state.current.get(name);
  }

  /**
   * Back within the bounds after `asked` was kept: the least recently asked parents go first, but
   * never one that costs more to replay (more zone files) than `asked` does; when that is not
   * enough, `asked` itself is not kept (it is the cheaper one to replay). Otherwise a parent too
   * large to share the bounds would be replayed whole at every other lookup, by anyone asking for
   * it and for any other parent in turn. A parent alone is kept, even past maxBytes.
   */
  #makeRoom(asked: string, state: ParentSubdomains): void {
    const within = () => this.#parents.size <= this.#limits.maxParents && this.#bytes <= this.#limits.maxBytes;
    for (const [oldest, kept] of this.#parents) {
      if (within()) return;
      if (oldest !== asked && kept.replayed <= state.replayed) this.#drop(oldest, kept);
    }
    if (!within() && this.#parents.size > 1) this.#drop(asked, state);
  }

  #drop(parent: string, state: ParentSubdomains): void {
    this.#parents.delete(parent);
    this.#bytes -= state.bytes;
  }

  #anyArrived(skipped: ReadonlySet<string>): boolean {
    for (const hash of skipped) if (this.#chunk(hash) !== undefined) return true;
    return false;
  }

  /** Forgets every parent (the chain was reorganised). */
  clear(): void {
    this.#parents.clear();
    this.#bytes = 0;
  }

  #replay(state: ParentSubdomains, parent: string, entry: ParentEntry): void {
    if (entry.zonefileHash === undefined) return;
    const bytes = this.#chunk(entry.zonefileHash);
    if (bytes === undefined) {
      if (!state.skipped.has(entry.zonefileHash)) state.bytes += SKIPPED_BYTES;
      state.skipped.add(entry.zonefileHash);
      return;
    }
    let records: SubdomainRecord[];
    try {
      records = subdomainRecords(parseZoneFile(bytes), parent);
    } catch {
      return; // a parent zone file that does not parse names no subdomains
    }
    for (const record of records) {
      const previous = state.current.get(record.name);
      if (!extendsHistory(previous, record)) continue;
      state.current.set(record.name, record);
      state.bytes += recordBytes(record) - (previous === undefined ? 0 : recordBytes(previous));
    }
  }
}
