/**
 * The bounded log of positions added to a node's own inventory, so that a neighbour can ask "what
 * changed since version V" and receive bytes in proportion to the change, not the whole vector.
 *
 * The version counts positions: every recorded position bumps it by one. So the log is simply the
 * last `maxEntries` recorded positions, and version V's changes are entries [V, version): any
 * `since` is answered by index arithmetic, with no search. An epoch names one run of the log; a
 * peer holding a version of another epoch (we restarted, or rolled back) must fetch the whole
 * vector.
 */
/** Identifies one run of a node's inventory log; a new epoch means "fetch the whole vector". */
export interface InventoryVersion {
  epoch: string;
  version: number;
}

/** Options of `new InventoryLog(...)`. */
export interface InventoryLogOptions {
  /** Positions remembered; older changes can no longer be answered incrementally. */
  maxEntries: number;
  /** Names this run of the log, e.g. random hex drawn at start-up. */
  epoch: string;
}

/** Options of `InventoryLog.since`. */
export interface SinceOptions {
  /** Answer undefined (fetch the whole vector instead) when more positions than this changed. */
  maxCount?: number;
}

/** Capacity of the first buffer; it doubles up to maxEntries, so a quiet node stays small. */
const INITIAL_CAPACITY = 1024;

/** What a node shows of its inventory log (`node.log`): reads only, since a reset or a record from outside would lie to every peer. */
export type ReadonlyInventoryLog = Pick<InventoryLog, 'maxEntries' | 'epoch' | 'version' | 'oldestVersion' | 'current' | 'since' | 'countSince'>;

/** The recent changes of an inventory, bounded, so that peers can ask for what changed since a version. */
export class InventoryLog {
  readonly maxEntries: number;
  #epoch: string;
  #version = 0;
  /** Ring of the last min(version, maxEntries) positions; entry of version v is at v % capacity once full. */
  #ring: Uint32Array;

  constructor(options: InventoryLogOptions) {
    if (!Number.isSafeInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${options.maxEntries}`);
    }
    this.maxEntries = options.maxEntries;
    this.#epoch = options.epoch;
    this.#ring = new Uint32Array(Math.min(INITIAL_CAPACITY, options.maxEntries));
  }

  get epoch(): string {
    return this.#epoch;
  }

  /** Number of positions recorded in this epoch. */
  get version(): number {
    return this.#version;
  }

  /** The oldest version `since` can still answer. */
  get oldestVersion(): number {
    return Math.max(0, this.#version - this.maxEntries);
  }

  /** The version to advertise: { epoch, version }. */
  current(): InventoryVersion {
    return { epoch: this.#epoch, version: this.#version };
  }

  /** Records positions newly set in the inventory; the version grows by `positions.length`. */
  record(positions: readonly number[] | Uint32Array): void {
    for (let k = 0; k < positions.length; k++) {
      const position = positions[k] as number;
      if (!Number.isInteger(position) || position < 0 || position > 0xffff_ffff) {
        throw new RangeError(`position ${position} is not an unsigned 32-bit integer`);
      }
    }
    const needed = Math.min(this.#version + positions.length, this.maxEntries);
    if (needed > this.#ring.length) this.#grow(needed);
    const capacity = this.#ring.length;
    // Only the last `capacity` positions of a large record can survive.
    const first = Math.max(0, positions.length - capacity);
    for (let k = first; k < positions.length; k++) {
      this.#ring[(this.#version + k) % capacity] = positions[k] as number;
    }
    this.#version += positions.length;
  }

  /**
   * Positions recorded after `since` (a version of this epoch), ascending and without duplicates;
   * empty when nothing changed. Undefined when the log no longer reaches back that far, when the
   * version is from the future or from another epoch, or when more than `maxCount` changed.
   */
  since(since: number | InventoryVersion, options: SinceOptions = {}): Uint32Array | undefined {
    const count = this.countSince(since, options);
    if (count === undefined) return undefined;
    const from = this.#version - count;
    const out = new Uint32Array(count);
    const capacity = this.#ring.length;
    for (let k = 0; k < count; k++) out[k] = this.#ring[(from + k) % capacity] as number;
    out.sort();
    return dedupSorted(out);
  }

  /**
   * How many entries since() would read for `since` (before duplicates are dropped), without
   * reading them; undefined when since() answers undefined. What pricing a request by its work needs.
   */
  countSince(since: number | InventoryVersion, options: SinceOptions = {}): number | undefined {
    let from: number;
    if (typeof since === 'number') {
      from = since;
    } else {
      if (since.epoch !== this.#epoch) return undefined;
      from = since.version;
    }
    if (!Number.isSafeInteger(from) || from < this.oldestVersion || from > this.#version) return undefined;
    const count = this.#version - from;
    return options.maxCount !== undefined && count > options.maxCount ? undefined : count;
  }

  /** Forgets everything and starts a new epoch at version 0 (after a truncate or rollback). */
  reset(epoch: string): void {
    this.#epoch = epoch;
    this.#version = 0;
    this.#ring = new Uint32Array(Math.min(INITIAL_CAPACITY, this.maxEntries));
  }

  /** Before the ring first fills, entries sit at their version as index, so growing is a copy. */
  #grow(needed: number): void {
    let capacity = this.#ring.length;
    while (capacity < needed) capacity = Math.min(capacity * 2, this.maxEntries);
    const ring = new Uint32Array(capacity);
    ring.set(this.#ring.subarray(0, this.#version));
    this.#ring = ring;
  }
}

function dedupSorted(values: Uint32Array): Uint32Array {
  if (values.length < 2) return values;
  let kept = 1;
  for (let k = 1; k < values.length; k++) {
    if (values[k] !== values[kept - 1]) values[kept++] = values[k] as number;
  }
  return kept === values.length ? values : values.subarray(0, kept);
}
