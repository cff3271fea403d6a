/**
 * Each parent name's subdomains, kept between lookups. Replaying a parent's zone files (parse,
 * base64, hash160 of every subdomain zone file) costs about 0.7 ms per zone file, so a public GET
 * of a subdomain of a name with 1,000 updates used to cost most of a second. The index replays a
 * parent once, then only the zone files announced since, and starts over only when a zone file it
 * had to skip (not held then) has arrived since, or after a reorganisation (`clear`).
 */
import { extendsHistory, subdomainRecords, type SubdomainRecord } from './subdomains.js';
import { parseZoneFile } from './zonefile.js';
import { SerialQueue } from '../runtime.js';
import { AtlasError, ErrorCodes } from '../errors.js';

/** Parents whose subdomains are kept; past it one is dropped (and replayed when asked again), by replay cost and recency (SubdomainIndex.#makeRoom). */
export const MAX_INDEXED_PARENTS = 1_024;
/**
 * Bytes of subdomain records kept over all parents (zone files, names, hashes, ~200 bytes of
 * overhead each); past it the least recently asked parents are dropped. A parent's subdomains are
 * as many as its zone files name, so anyone asking for the largest parents one after another
 * would otherwise make us keep all of them.
 */
export const MAX_INDEXED_BYTES = 64 * 1024 * 1024;
/** Zone files a replay reads between two turns of the event loop (about 35 ms of work). */
const REPLAY_SLICE = 50;
/**
 * Parents whose replay may wait or run at once. A replay outlives the lookup that asked for it (a
 * caller may leave), so lookups of yet other parents beyond it are refused (BUSY) rather than
 * queued without end: as many as the request guard lets run at once by default.
 */
export const MAX_REPLAYS = 64;
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
  /** Its place in the eviction order (see SubdomainIndex.#makeRoom): the lowest goes first. */
  priority: number;
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
  /** The priority of the last parent dropped (see #makeRoom). */
  #inflation = 0;
  /** Replays asked for, one a parent: lookups of it meanwhile share it. */
  readonly #replays = new Map<string, Promise<ParentSubdomains>>();
  /** Runs the replays one at a time. */
  readonly #queue = new SerialQueue();
  /** Counts clear(): a replay that saw it change starts over. */
  #epoch = 0;

  constructor(chunk: (address: string) => Uint8Array | undefined, limits: Partial<SubdomainIndexLimits> = {}) {
    this.#chunk = chunk;
    this.#limits = { ...DEFAULT_SUBDOMAIN_INDEX, ...limits };
  }

  /** Bytes of records kept now (at most maxBytes, or one parent's when that alone is larger). */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The current record of `name` ("sub.parent"), given the parent's entries in chain order
   * (`entriesOf`, read again should the index be cleared meanwhile). A kept parent with nothing
   * new answers at once. Otherwise its zone files are replayed, one parent at a time (what replays
   * hold in memory is then one parent's records, however many lookups ask for others meanwhile),
   * yielding to the event loop every REPLAY_SLICE zone files, so a parent with thousands of them
   * does not stop the node for seconds; lookups of a parent being replayed wait for that replay.
   */
  lookup(name: string, parent: string, entriesOf: () => readonly ParentEntry[]): Promise<SubdomainRecord | undefined> {
    let replay = this.#replays.get(parent);
    if (replay === undefined) {
      const kept = this.#parents.get(parent);
      if (kept !== undefined && kept.replayed === entriesOf().length && !this.#anyArrived(kept.skipped)) {
        this.#keep(parent, kept);
        return Promise.resolve(kept.current.get(name));
      }
      if (this.#replays.size >= MAX_REPLAYS) return Promise.reject(new AtlasError(ErrorCodes.BUSY, `${MAX_REPLAYS} subdomain replays are waiting; ask again later`));
      replay = this.#queue.run(() => this.#bringUpToDate(parent, entriesOf)).finally(() => this.#replays.delete(parent));
      this.#replays.set(parent, replay);
    }
    return replay.then((state) => state.current.get(name));
  }

  /** `state` as the parent's kept subdomains, asked just now: last in the order, its priority renewed (see #makeRoom). */
  #keep(parent: string, state: ParentSubdomains): void {
    this.#parents.delete(parent);
    state.priority = this.#inflation + Math.max(1, state.replayed);
    this.#parents.set(parent, state);
  }

  async #bringUpToDate(parent: string, entriesOf: () => readonly ParentEntry[]): Promise<ParentSubdomains> {
    for (;;) {
      const epoch = this.#epoch;
      const entries = entriesOf();
      let state = this.#parents.get(parent);
      if (state !== undefined) this.#drop(parent, state);
      if (state === undefined || state.replayed > entries.length || this.#anyArrived(state.skipped)) {
        state = { replayed: 0, skipped: new Set(), current: new Map(), bytes: 0, priority: 0 };
      }
      for (let slice = 0; state.replayed < entries.length && this.#epoch === epoch; state.replayed++) {
        this.#replay(state, parent, entries[state.replayed] as ParentEntry);
        if (++slice === REPLAY_SLICE && state.replayed + 1 < entries.length) {
          slice = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
      if (this.#epoch !== epoch) continue; // cleared (a reorganisation) meanwhile: start over
      this.#keep(parent, state);
      this.#bytes += state.bytes;
      this.#makeRoom(parent);
      return state;
    }
  }

  /**
   * Back within the bounds after `asked` was kept, by cost and recency together (GreedyDual): a
   * parent's priority is its replay cost (zone files) plus the inflation at its last lookup, the
   * lowest is dropped first (the least recently asked among equals), `asked` included, and the
   * inflation rises to what was dropped. A parent costly to replay then outlives cheap ones asked
   * after it, but not for ever: once the cheap ones' replays have cost as much as its own, it goes.
   * Alternating lookups of a large parent and small ones replay the small ones; one lookup of a
   * large parent cannot make every later lookup of a slightly cheaper one replay it whole. A parent
   * alone is kept, even past maxBytes.
   */
  #makeRoom(asked: string): void {
    while (this.#parents.size > 1 && (this.#parents.size > this.#limits.maxParents || this.#bytes > this.#limits.maxBytes)) {
      let lowest: [string, ParentSubdomains] | undefined;
      for (const entry of this.#parents) if (lowest === undefined || entry[1].priority < lowest[1].priority) lowest = entry;
      const [parent, state] = lowest as [string, ParentSubdomains];
      this.#inflation = state.priority;
      this.#drop(parent, state);
      if (parent === asked) return; // the others were within the bounds before it came
    }
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
    this.#inflation = 0;
    this.#epoch++;
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
