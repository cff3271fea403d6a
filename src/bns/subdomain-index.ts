/**
 * Each parent name's subdomains, kept between lookups. Replaying a parent's zone files (parse,
 * base64, hash160 of every subdomain zone file) costs about 0.7 ms per zone file, so a public GET
 * of a subdomain of a name with 1,000 updates used to cost most of a second. The index replays a
 * parent once, then only the zone files announced since, and starts over only when a zone file it
 * had to skip (not held then) has arrived since, or after a reorganisation (`clear`).
 */
import { extendsHistory, subdomainRecords, type SubdomainRecord } from './subdomains.js';
import { parseZoneFile } from './zonefile.js';

/** Parents whose subdomains are kept; past it the least recently asked one is dropped (and replayed when asked again). */
export const MAX_INDEXED_PARENTS = 1_024;

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
}

export class SubdomainIndex {
  readonly #chunk: (address: string) => Uint8Array | undefined;
  readonly #maxParents: number;
  readonly #parents = new Map<string, ParentSubdomains>();

  constructor(chunk: (address: string) => Uint8Array | undefined, maxParents = MAX_INDEXED_PARENTS) {
    this.#chunk = chunk;
    this.#maxParents = maxParents;
  }

  /** The current record of `name` ("sub.parent"), given the parent's entries in chain order. */
  lookup(name: string, parent: string, entries: readonly ParentEntry[]): SubdomainRecord | undefined {
    let state = this.#parents.get(parent);
    this.#parents.delete(parent);
    if (state === undefined || state.replayed > entries.length || this.#anyArrived(state.skipped)) {
      state = { replayed: 0, skipped: new Set(), current: new Map() };
    }
    for (; state.replayed < entries.length; state.replayed++) this.#replay(state, parent, entries[state.replayed] as ParentEntry);
    this.#parents.set(parent, state);
    if (this.#parents.size > this.#maxParents) this.#parents.delete(this.#parents.keys().next().value as string);
    return state.current.get(name);
  }

  #anyArrived(skipped: ReadonlySet<string>): boolean {
    for (const hash of skipped) if (this.#chunk(hash) !== undefined) return true;
    return false;
  }

  /** Forgets every parent (the chain was reorganised). */
  clear(): void {
    this.#parents.clear();
  }

  #replay(state: ParentSubdomains, parent: string, entry: ParentEntry): void {
    if (entry.zonefileHash === undefined) return;
    const bytes = this.#chunk(entry.zonefileHash);
    if (bytes === undefined) {
      state.skipped.add(entry.zonefileHash);
      return;
    }
    let records: SubdomainRecord[];
    try {
      records = subdomainRecords(parseZoneFile(bytes), parent);
    } catch {
      return; // a parent zone file that does not parse names no subdomains
    }
    for (const record of records) if (extendsHistory(state.current.get(record.name), record)) state.current.set(record.name, record);
  }
}
