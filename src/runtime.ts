/**
 * The few things a node takes from its environment, injected so that the simulator can run many
 * nodes in virtual time, reproducibly from one seed.
 */
export type TimerHandle = unknown;

/** Time and timers, injected so that tests and the simulator can run on virtual time. */
export interface Clock {
  /** Milliseconds; only differences matter. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Returns a float in [0, 1), like Math.random. */
export type Random = () => number;

/** The levels of a `Logger`. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where a node writes its log lines; `silentLogger` drops them. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The longest delay a timer holds (2^31 - 1 ms): a longer one fires at once, so delays are capped to it. */
export const MAX_TIMER_MS = 2_147_483_647;

/** The real clock: `Date.now()` and the global timers. */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: (callback, ms) => {
    const handle = setTimeout(callback, Math.min(ms, MAX_TIMER_MS));
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The library is silent unless the host gives it a logger. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Murmur3's 32-bit finaliser: spreads every input bit over the whole output (for hashing, not for secrets). */
export function mix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** mulberry32: a small, fast, seedable PRNG; good enough for simulation and tie-breaking. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt(random: Random, below: number): number {
  return Math.floor(random() * below);
}

/** In-place Fisher-Yates shuffle. */
export function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    const t = items[i] as T;
    items[i] = items[j] as T;
    items[j] = t;
  }
  return items;
}

/** Appends `items` to `target` one at a time: `push(...items)` overflows the stack past some 100,000 items. */
export function pushAll<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item);
}

/** The fields of `values` that are set: a partial options object to spread over defaults. */
export function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** Runs tasks one at a time, in the order they were queued; a task that fails does not stop the next. */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Queues `task` after every task queued before it; settles as the task does. */
  run<T>(task: () => T | Promise<T>): Promise<T> {
    const run = this.#tail.then(task);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** Resolves once no task is queued or running, tasks queued while it waited included. */
  async idle(): Promise<void> {
    let tail: Promise<unknown>;
    do {
      tail = this.#tail;
      await tail;
    } while (tail !== this.#tail);
  }
}

/** A cap on the keys of one group (e.g. the peer addresses of one host) in an `ExpiringMap`. */
export interface GroupCap<K> {
  groupOf(key: K): string;
  /** Most live keys one group may hold; a new key of a full group is refused. */
  maxPerGroup: number;
}

/**
 * Keys remembered until a deadline, at most `maxEntries` of them. An entry read after its deadline
 * is forgotten then. Beyond the bound one entry is forgotten to make room, never the one being
 * set: the least recently set entry with a finite deadline, or, when there is none, the least
 * recently set of those kept for good (deadline Infinity). So a remote party that makes us
 * remember keys holds at most `maxEntries`, and cannot push out what the host chose to keep for
 * good while other temporary entries remain. With a `GroupCap`, one group (one host naming many
 * ports) holds at most `maxPerGroup` keys: a new key of a full group is refused, so it cannot
 * push out the others' entries either. Every operation is O(1), O(maxPerGroup) with a group cap.
 */
export class ExpiringMap<K, V = true> {
  /** Finite deadlines and deadline Infinity apart, each in the order set (oldest first). */
  readonly #temporary = new Map<K, { until: number; value: V }>();
  readonly #permanent = new Map<K, V>();
  readonly #cap: GroupCap<K> | undefined;
  /** Group -> its keys, when capped. */
  readonly #groups = new Map<string, Set<K>>();
  /** Key -> the group it was set in, when capped (set() may name one other than groupOf's). */
  readonly #groupOfKey = new Map<K, string>();

  constructor(
    readonly maxEntries: number,
    cap?: GroupCap<K>,
  ) {
    if (!(maxEntries >= 1)) throw new RangeError(`ExpiringMap: maxEntries must be at least 1, not ${maxEntries}`);
    if (cap !== undefined && !(cap.maxPerGroup >= 1)) throw new RangeError(`ExpiringMap: maxPerGroup must be at least 1, not ${cap.maxPerGroup}`);
    this.#cap = cap;
  }

  get size(): number {
    return this.#temporary.size + this.#permanent.size;
  }

  /**
   * Remembers `key` (with `value`) until clock time `until`; Infinity remembers it for good.
   * Setting a key again makes it the newest. False, and nothing changed, when `key` is new and its
   * group already holds maxPerGroup keys live at `now` (without it, every key not yet read as
   * expired counts). `group`: the group the key counts in, when its own word cannot tell (the
   * cap's groupOf(key) otherwise); a key set again moves to the group named then.
   */
  set(key: K, until: number, value: V, now: number = Number.NEGATIVE_INFINITY, group?: string): boolean {
    const groupOfKey = this.#cap === undefined ? undefined : (group ?? this.#cap.groupOf(key));
    if (groupOfKey !== undefined && this.#groupOfKey.get(key) !== groupOfKey && this.#groupFull(groupOfKey, now)) return false;
    this.delete(key);
    if (until === Number.POSITIVE_INFINITY) this.#permanent.set(key, value);
    else this.#temporary.set(key, { until, value });
    if (groupOfKey !== undefined) {
      this.#groupOfKey.set(key, groupOfKey);
      const keys = this.#groups.get(groupOfKey);
      if (keys === undefined) this.#groups.set(groupOfKey, new Set([key]));
      else keys.add(key);
    }
    if (this.size > this.maxEntries) {
      // The key just set is the newest of its kind, so the oldest of the kind chosen is another.
      const otherTemporary = this.#temporary.size > (until === Number.POSITIVE_INFINITY ? 0 : 1);
      this.delete((otherTemporary ? this.#temporary : this.#permanent).keys().next().value as K);
    }
    return true;
  }

  /** The value of `key` while its deadline is after `now`; undefined once it has passed. */
  get(key: K, now: number): V | undefined {
    // An empty side is not asked: a lookup hashes its key, and most maps here are empty most of
    // the time (a catch-up reads back-offs for hundreds of thousands of addresses, none failing).
    if (this.#permanent.size > 0 && this.#permanent.has(key)) return this.#permanent.get(key);
    if (this.#temporary.size === 0) return undefined;
    const entry = this.#temporary.get(key);
    if (entry === undefined) return undefined;
    if (entry.until > now) return entry.value;
    this.delete(key);
    return undefined;
  }

  has(key: K, now: number): boolean {
    return this.get(key, now) !== undefined;
  }

  /** The deadline of `key` while it is after `now` (Infinity when kept for good); undefined otherwise. */
  deadline(key: K, now: number): number | undefined {
    if (this.#permanent.has(key)) return Number.POSITIVE_INFINITY;
    return this.get(key, now) === undefined ? undefined : this.#temporary.get(key)?.until;
  }

  /** The earliest deadline after `now` (Infinity when none); O(entries), forgetting the expired ones. */
  earliestDeadline(now: number): number {
    let earliest = Number.POSITIVE_INFINITY;
    for (const [key, { until }] of [...this.#temporary]) {
      if (until <= now) this.delete(key);
      else if (until < earliest) earliest = until;
    }
    return earliest;
  }

  delete(key: K): boolean {
    const deleted = (this.#temporary.size > 0 && this.#temporary.delete(key)) || (this.#permanent.size > 0 && this.#permanent.delete(key));
    const group = deleted ? this.#groupOfKey.get(key) : undefined;
    if (group !== undefined) {
      this.#groupOfKey.delete(key);
      const keys = this.#groups.get(group);
      keys?.delete(key);
      if (keys?.size === 0) this.#groups.delete(group);
    }
    return deleted;
  }

  /** Whether `group` holds maxPerGroup keys live at `now`; its expired keys are forgotten on the way. */
  #groupFull(group: string, now: number): boolean {
    const keys = this.#groups.get(group);
    if (keys === undefined || keys.size < (this.#cap as GroupCap<K>).maxPerGroup) return false;
    for (const key of [...keys]) this.get(key, now);
    return (this.#groups.get(group)?.size ?? 0) >= (this.#cap as GroupCap<K>).maxPerGroup;
  }
}
