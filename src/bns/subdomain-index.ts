/**
 * Each parent name's subdomains, kept between lookups. Replaying a parent's zone files (parse,
 * base64, hash160 of every subdomain zone file) costs about 0.7 ms per zone file, so a public GET
 * of a subdomain of a name with 1,000 updates used to cost most of a second. The index replays a
 * parent once, then only the zone files announced since, and starts over only when a zone file it
 * had to skip (not held then) has arrived since (no sooner than lateReplayFactor times the last
 * such replay's duration), or after a reorganisation (`clear`). A parent whose records pass
 * maxParentBytes is not kept: its lookups are refused (TOO_LARGE) until its zone files change.
 */
import { extendsHistory, replacesInZoneFile, subdomainRecord, type SubdomainRecord } from './subdomains.js';
import { parseZoneFile, type ZoneRecord } from './zonefile.js';
import { SerialQueue, systemClock, type Clock } from '../runtime.js';
import { abortedError, AtlasError, ErrorCodes } from '../errors.js';
import { numberRule, overlayChecked, type OverlayRules } from '../options-overlay.js';
import { followSignal } from '../transport/abort.js';

/** Parents whose subdomains are kept; past it one is dropped (and replayed when asked again), by replay cost and recency (SubdomainIndex.#makeRoom). */
export const MAX_INDEXED_PARENTS = 1_024;
/**
 * Bytes of subdomain records kept over all parents (zone files, names, hashes, ~200 bytes of
 * overhead each); past it the least recently asked parents are dropped. A parent's subdomains are
 * as many as its zone files name, so anyone asking for the largest parents one after another
 * would otherwise make us keep all of them.
 */
export const MAX_INDEXED_BYTES = 64 * 1024 * 1024;
/**
 * Bytes of subdomain records one parent may have (counted as for MAX_INDEXED_BYTES, and never more
 * than maxBytes): its replay stops there. Anyone owning a name can fill its zone files with
 * minimal subdomain records (~870 in 40 KB, ~320 bytes each once decoded), so one parent's
 * records would otherwise grow without bound.
 */
export const MAX_PARENT_BYTES = 64 * 1024 * 1024;
/**
 * A replay from a parent's first zone file that took d ms is not started again for zone files
 * that arrived late (announced earlier, not held then) until LATE_REPLAY_FACTOR * d ms after it
 * ended: an owner releasing held-back zone files one at a time gets at most about 1/11 of the
 * node's time for each of its parents, not a full replay per lookup.
 */
export const LATE_REPLAY_FACTOR = 10;
/**
 * The work a replay does between two turns of the event loop, counted in bytes of zone files
 * parsed plus RECORD_WORK a record and ENTRY_WORK an entry: about 1 ms, whatever the zone files
 * hold (a record's decoding and hash160 cost about as much as parsing RECORD_WORK bytes; one zone
 * file's parse, at most 40 KB, is not cut).
 */
const SLICE_WORK = 32 * 1024;
const RECORD_WORK = 128;
const ENTRY_WORK = 64;
/**
 * Parents whose replay may wait or run at once: lookups of yet other parents beyond it are
 * refused (BUSY) rather than queued without end; as many as the request guard lets run at once by
 * default. A replay every lookup of which has left (aborted) stops at its next slice, or ends
 * without running when its turn comes (holding its place until then, so the queue stays within
 * the bound): callers that ask and leave hold places only as long as the replays ahead of them run.
 */
export const MAX_REPLAYS = 64;
/**
 * Replays that lookups from one host may have started and not finished (of MAX_REPLAYS): one host
 * asking for subdomains of 64 parents (even ones that do not exist) and leaving held every place,
 * and every other host's lookup of a parent not indexed was BUSY until those replays ran.
 */
export const MAX_REPLAYS_PER_HOST = 8;
/** Least time between two looks for whether a parent's skipped zone files arrived (#restartDue), ms. */
export const SKIPPED_RECHECK_MS = 1_000;
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
  /** Bytes of subdomain records of one parent, at most maxBytes; a larger parent's lookups are refused, TOO_LARGE (MAX_PARENT_BYTES). */
  maxParentBytes: number;
  /** How long after a replay from a parent's first zone file, in times its duration, late zone files may start another (LATE_REPLAY_FACTOR). */
  lateReplayFactor: number;
  /** Parents whose replay may wait or run at once; a lookup needing another is refused, BUSY (MAX_REPLAYS). */
  maxReplays: number;
  /** Of those, the most lookups from one host may have started; its lookup needing another is refused, BUSY (MAX_REPLAYS_PER_HOST). */
  maxReplaysPerHost: number;
}

/** What each subdomain index limit must be (the node checks its `names` option by them too). */
export const SUBDOMAIN_INDEX_RULES: OverlayRules = {
  numbers: numberRule({ positiveIntegers: ['maxParents', 'maxBytes', 'maxParentBytes', 'maxReplays', 'maxReplaysPerHost'], positive: ['lateReplayFactor'] }),
};

/** Defaults of SubdomainIndexLimits. */
export const DEFAULT_SUBDOMAIN_INDEX: Readonly<SubdomainIndexLimits> = Object.freeze({
  maxParents: MAX_INDEXED_PARENTS,
  maxBytes: MAX_INDEXED_BYTES,
  maxParentBytes: MAX_PARENT_BYTES,
  lateReplayFactor: LATE_REPLAY_FACTOR,
  maxReplays: MAX_REPLAYS,
  maxReplaysPerHost: MAX_REPLAYS_PER_HOST,
});

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
  /** Before it (clock time), skipped zone files that arrived do not start the replay over. */
  restartAt: number;
}

/** A replay asked for, with the lookups waiting on it: none left, it stops (see MAX_REPLAYS). */
interface Replay {
  done: Promise<ParentSubdomains>;
  waiting: number;
  /** Its turn in the queue has come. */
  started: boolean;
}

/** A parent refused for its size: refused again while it has as many entries, and until `retryAt`. */
interface Refusal {
  entries: number;
  retryAt: number;
}

function recordBytes(record: SubdomainRecord): number {
  return RECORD_OVERHEAD_BYTES + record.zonefile.byteLength + 2 * (record.name.length + record.owner.length + record.zonefileHash.length + (record.signature?.length ?? 0));
}

function zoneRecords(bytes: Uint8Array): readonly ZoneRecord[] {
  try {
    return parseZoneFile(bytes).records;
  } catch {
    return []; // a parent zone file that does not parse names no subdomains
  }
}

export class SubdomainIndex {
  readonly #chunk: (address: string) => Uint8Array | undefined;
  readonly #limits: Readonly<SubdomainIndexLimits>;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #parents = new Map<string, ParentSubdomains>();
  /** Parents refused for their size, at most maxParents (the oldest refusal is forgotten first). */
  readonly #refused = new Map<string, Refusal>();
  /** Bytes over every kept parent. */
  #bytes = 0;
  /** The priority of the last parent dropped (see #makeRoom). */
  #inflation = 0;
  /** Replays asked for, one a parent: lookups of it meanwhile share it. */
  readonly #replays = new Map<string, Replay>();
  /**
   * Replays queued or running, those every lookup left before their turn included (each ends at
   * once when its turn comes, holding its place until then): at most maxReplays.
   */
  #unfinished = 0;
  /** Replays started by lookups of each host and not finished (at most maxReplaysPerHost each; a host leaves the map at 0). */
  readonly #unfinishedByHost = new Map<string, number>();
  /** Runs the replays one at a time. */
  readonly #queue = new SerialQueue();
  /** Counts clear(): a replay that saw it change starts over. */
  #epoch = 0;

  constructor(chunk: (address: string) => Uint8Array | undefined, limits: Partial<SubdomainIndexLimits> = {}, clock: Pick<Clock, 'now'> = systemClock) {
    this.#chunk = chunk;
    this.#limits = overlayChecked('names', DEFAULT_SUBDOMAIN_INDEX, limits, SUBDOMAIN_INDEX_RULES);
    this.#clock = clock;
  }

  /** Bytes of records kept now, at most maxBytes (a replay under way holds at most maxParentBytes more). */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The current record of `name` ("sub.parent"), given the parent's entries in chain order
   * (`entriesOf`, read again should the index be cleared meanwhile). A kept parent with nothing
   * new answers at once. Otherwise its zone files are replayed, one parent at a time (what replays
   * hold in memory is then one parent's records, however many lookups ask for others meanwhile),
   * yielding to the event loop every SLICE_WORK, so a parent with thousands of zone files does not
   * stop the node for seconds; lookups of a parent being replayed wait for that replay. TOO_LARGE
   * when the parent's records pass maxParentBytes; BUSY when maxReplays other parents wait.
   * `signal`: the lookup leaves when it aborts (ABORTED); a replay all of whose lookups have left
   * stops at its next slice (what it replayed is kept, and the next lookup goes on from there).
   * `host`: who asks (a route's caller), held to maxReplaysPerHost replays started (BUSY beyond);
   * joining a replay already waiting or running starts none.
   */
  lookup(name: string, parent: string, entriesOf: () => readonly ParentEntry[], signal?: AbortSignal, host?: string): Promise<SubdomainRecord | undefined> {
    if (signal?.aborted) return Promise.reject(abortedError('subdomain lookup', signal));
    let replay = this.#replays.get(parent);
    if (replay === undefined) {
      const entries = entriesOf().length;
      const refusal = this.#refused.get(parent);
      if (refusal !== undefined && (refusal.entries === entries || this.#clock.now() < refusal.retryAt)) return Promise.reject(this.#tooLarge(parent));
      const kept = this.#parents.get(parent);
      if (kept !== undefined && kept.replayed === entries && !this.#restartDue(kept)) {
        this.#keep(parent, kept);
        return Promise.resolve(kept.current.get(name));
      }
      const { maxReplays, maxReplaysPerHost } = this.#limits;
      if (this.#unfinished >= maxReplays) return Promise.reject(new AtlasError(ErrorCodes.BUSY, `${maxReplays} subdomain replays are waiting (names.maxReplays); ask again later`));
      const byHost = host === undefined ? 0 : (this.#unfinishedByHost.get(host) ?? 0);
      if (byHost >= maxReplaysPerHost) {
        return Promise.reject(new AtlasError(ErrorCodes.BUSY, `${maxReplaysPerHost} subdomain replays this host asked for are waiting (names.maxReplaysPerHost); ask again later`));
      }
      const asked: Replay = { done: Promise.resolve() as unknown as Promise<ParentSubdomains>, waiting: 0, started: false };
      this.#unfinished++;
      if (host !== undefined) this.#unfinishedByHost.set(host, byHost + 1);
      asked.done = this.#queue.run(() => this.#bringUpToDate(parent, entriesOf, asked)).finally(() => {
        this.#unfinished--;
        if (host !== undefined) {
          const left = (this.#unfinishedByHost.get(host) ?? 1) - 1;
          if (left > 0) this.#unfinishedByHost.set(host, left);
          else this.#unfinishedByHost.delete(host);
        }
        this.#forgetReplay(parent, asked);
      });
      this.#replays.set(parent, asked);
      replay = asked;
    }
    const waited = replay;
    // A replay not started yet that every lookup left gives its place back at once (it will not run).
    return waitFor(waited, signal, () => {
      if (!waited.started) this.#forgetReplay(parent, waited);
    }).then((state) => state.current.get(name));
  }

  #forgetReplay(parent: string, replay: Replay): void {
    if (this.#replays.get(parent) === replay) this.#replays.delete(parent);
  }

  /** `state` as the parent's kept subdomains, asked just now: last in the order, its priority renewed (see #makeRoom). */
  #keep(parent: string, state: ParentSubdomains): void {
    this.#parents.delete(parent);
    state.priority = this.#inflation + Math.max(1, state.replayed);
    this.#parents.set(parent, state);
  }

  async #bringUpToDate(parent: string, entriesOf: () => readonly ParentEntry[], replay: Replay): Promise<ParentSubdomains> {
    replay.started = true;
    for (;;) {
      if (replay.waiting === 0) throw abandoned(parent); // every lookup left while it waited its turn
      const epoch = this.#epoch;
      const entries = entriesOf();
      let state = this.#parents.get(parent);
      if (state !== undefined) this.#drop(parent, state);
      const fromStart = state === undefined || state.replayed > entries.length || this.#restartDue(state);
      if (fromStart || state === undefined) state = { replayed: 0, skipped: new Set(), current: new Map(), bytes: 0, priority: 0, restartAt: 0 };
      const started = this.#clock.now();
      const outcome = await this.#replayEntries(state, parent, entries, epoch, replay);
      if (outcome === 'cleared') continue; // a reorganisation meanwhile: start over
      const ended = this.#clock.now();
      const restartAt = ended + this.#limits.lateReplayFactor * (ended - started);
      if (outcome === 'too-large') {
        // What it built goes with it; the refusal stands until the parent's zone files change.
        this.#refused.delete(parent);
        this.#refused.set(parent, { entries: entries.length, retryAt: restartAt });
        if (this.#refused.size > this.#limits.maxParents) this.#refused.delete(this.#refused.keys().next().value as string);
        throw this.#tooLarge(parent);
      }
      this.#refused.delete(parent);
      // A replay from the start left part way counts as one: late zone files wait as after a whole one.
      if (fromStart) state.restartAt = restartAt;
      // Left part way: kept as far as it went (a lookup later goes on from there, as after new zone files).
      this.#keep(parent, state);
      this.#bytes += state.bytes;
      this.#makeRoom(parent);
      if (outcome === 'abandoned') throw abandoned(parent);
      return state;
    }
  }

  /**
   * Replays `entries` from `state.replayed` into `state`, yielding to the event loop after each
   * SLICE_WORK of work: 'too-large' as soon as its records pass the parent bound, 'cleared' when
   * the index was cleared during a yield, 'abandoned' when every lookup waiting on it left. A zone
   * file's records are decoded one at a time (one kept a subdomain: replacesInZoneFile), applied
   * once it is read to the end, and only then counted in `state.replayed`: a replay left part way
   * through a zone file reads it again next time rather than lose the rest of it.
   */
  async #replayEntries(state: ParentSubdomains, parent: string, entries: readonly ParentEntry[], epoch: number, replay: Replay): Promise<'done' | 'cleared' | 'too-large' | 'abandoned'> {
    const bound = Math.min(this.#limits.maxParentBytes, this.#limits.maxBytes);
    let records: readonly ZoneRecord[] = [];
    let next = 0;
    let reading = false;
    /** The records of the zone file being read, one a subdomain (at most one zone file's worth). */
    const kept = new Map<string, SubdomainRecord>();
    let work = 0;
    for (;;) {
      if (next < records.length) {
        const record = subdomainRecord(records[next++] as ZoneRecord, parent);
        if (record !== undefined && replacesInZoneFile(kept.get(record.name), record)) kept.set(record.name, record);
        work += RECORD_WORK;
      } else if (reading) {
        for (const record of kept.values()) this.#apply(state, record);
        kept.clear();
        reading = false;
        state.replayed++;
      } else if (state.replayed < entries.length) {
        const hash = (entries[state.replayed] as ParentEntry).zonefileHash;
        const bytes = hash === undefined ? undefined : this.#chunk(hash);
        work += ENTRY_WORK + (bytes?.byteLength ?? 0);
        records = bytes === undefined ? [] : zoneRecords(bytes);
        next = 0;
        reading = true;
        if (hash !== undefined && bytes === undefined && !state.skipped.has(hash)) {
          state.skipped.add(hash);
          state.bytes += SKIPPED_BYTES;
        }
      } else {
        return 'done';
      }
      if (state.bytes > bound) return 'too-large';
      if (work >= SLICE_WORK) {
        work = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.#epoch !== epoch) return 'cleared';
        if (replay.waiting === 0) return 'abandoned';
      }
    }
  }

  /** `record`, the one a zone file holds for its subdomain, as that subdomain's change if it follows the last one (extendsHistory). */
  #apply(state: ParentSubdomains, record: SubdomainRecord): void {
    const previous = state.current.get(record.name);
    if (!extendsHistory(previous, record)) return;
    state.current.set(record.name, record);
    state.bytes += recordBytes(record) - (previous === undefined ? 0 : recordBytes(previous));
  }

  /**
   * True when a zone file the parent's replay skipped has arrived and the pause after its last
   * replay from the start is over. A look that finds none is not made again before
   * SKIPPED_RECHECK_MS: it reads every skipped hash (tens of thousands for a parent whose zone
   * files never arrived, or whose owner announced hashes it never published), and made at every
   * lookup it cost 10 ms a lookup, a subdomain that does not exist included.
   */
  #restartDue(state: ParentSubdomains): boolean {
    const now = this.#clock.now();
    if (now < state.restartAt) return false;
    for (const hash of state.skipped) if (this.#chunk(hash) !== undefined) return true;
    state.restartAt = now + SKIPPED_RECHECK_MS;
    return false;
  }

  #tooLarge(parent: string): AtlasError {
    const bound = Math.min(this.#limits.maxParentBytes, this.#limits.maxBytes);
    return new AtlasError(ErrorCodes.TOO_LARGE, `the subdomains of ${parent} take more than ${bound} bytes (names.maxParentBytes); this node does not index them`, { parent, maxParentBytes: bound });
  }

  /**
   * Back within the bounds after `asked` was kept, by cost and recency together (GreedyDual): a
   * parent's priority is its replay cost (zone files) plus the inflation at its last lookup, the
   * lowest is dropped first (the least recently asked among equals), `asked` included, and the
   * inflation rises to what was dropped. A parent costly to replay then outlives cheap ones asked
   * after it, but not for ever: once the cheap ones' replays have cost as much as its own, it goes.
   * Alternating lookups of a large parent and small ones replay the small ones; one lookup of a
   * large parent cannot make every later lookup of a slightly cheaper one replay it whole. (No
   * parent alone passes maxBytes: its replay stops at maxParentBytes, at most maxBytes.)
   */
  #makeRoom(asked: string): void {
    while (this.#parents.size > this.#limits.maxParents || this.#bytes > this.#limits.maxBytes) {
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

  /**
   * Forgets what `parents` had (their entries were cut by a reorganisation): kept records and
   * refusals. A replay under way for one of them starts over.
   */
  forget(parents: Iterable<string>): void {
    let replaying = false;
    for (const parent of parents) {
      const state = this.#parents.get(parent);
      if (state !== undefined) this.#drop(parent, state);
      this.#refused.delete(parent);
      replaying ||= this.#replays.has(parent);
    }
    if (replaying) this.#epoch++;
  }

  /** Forgets every parent and refusal (the chain was reorganised). */
  clear(): void {
    this.#parents.clear();
    this.#refused.clear();
    this.#bytes = 0;
    this.#inflation = 0;
    this.#epoch++;
  }
}

/**
 * `replay`'s outcome for one lookup, counted among its waiting lookups until it settles or
 * `signal` aborts; `onAllLeft` when an abort leaves none waiting. Follows `signal` through
 * followSignal: however many lookups share it, it carries one listener, removed when they settle
 * (a listener each made Node warn, MaxListenersExceededWarning, past 10 lookups under one signal).
 */
function waitFor(replay: Replay, signal: AbortSignal | undefined, onAllLeft: () => void): Promise<ParentSubdomains> {
  replay.waiting++;
  let left = false;
  const leave = (): void => {
    if (left) return;
    left = true;
    replay.waiting--;
  };
  if (signal === undefined) return replay.done.finally(leave);
  return new Promise<ParentSubdomains>((resolve, reject) => {
    const onAbort = (): void => {
      leave();
      if (replay.waiting === 0) onAllLeft();
      reject(abortedError('subdomain lookup', signal));
    };
    const unfollow = followSignal(signal, onAbort);
    replay.done.then(resolve, reject).finally(() => {
      unfollow();
      leave();
    });
  });
}

/** The error of a replay every lookup left (no caller is there to see it). */
function abandoned(parent: string): AtlasError {
  return new AtlasError(ErrorCodes.ABORTED, `the subdomain replay of ${parent} stopped: every lookup waiting on it left`, { parent });
}
