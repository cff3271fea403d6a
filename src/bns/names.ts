/**
 * Name resolution over any ChainAdapter whose announcements carry a key ("name.namespace"): the
 * history of every name, in chain order, and its current state joined with the zone file bytes
 * the node holds. Announcements from a Stacks observer also carry op and owner; others resolve
 * with what they have. Subdomains ("sub.name.namespace") are read from the parent's zone files.
 * bns/ does not know the node: it sees a chain and a way to read chunks (NameSources).
 */
import { NO_CHUNK_ADDRESS } from '../address.js';
import type { Announcement, ChainAdapter } from '../chain/types.js';
import { AtlasError, ErrorCodes, abortedError } from '../errors.js';
import { GuardedChain } from '../chain/guarded.js';
import { systemClock, type Clock } from '../runtime.js';
import { followSignal } from '../transport/abort.js';
import { SubdomainIndex, type SubdomainIndexLimits } from './subdomain-index.js';
import { parseZoneFile, type ZoneFile } from './zonefile.js';

const PAGE = 10_000;
const NAME = /^[a-z0-9_.+-]{1,255}$/;

/**
 * A name's state in a Resolution: `ok` (zone file held), `zonefile-missing` (unbound, or bound to a
 * zone file this node does not hold), `name-not-found` or `revoked`.
 */
export type NameStatus = 'ok' | 'zonefile-missing' | 'name-not-found' | 'revoked';

/** One change of a name, as the chain announced it. */
export interface NameEntry {
  position: number;
  /** The zone file hash bound by this change; undefined when it unbinds the zone file. */
  zonefileHash?: string;
  op?: string;
  owner?: string;
  height?: number;
  txid?: string;
}

/** Options of a lookup (NameResolver.resolve, AtlasNode.resolve). */
export interface ResolveOptions {
  /** Gives up waiting (ABORTED); what the lookup started goes on for the next. */
  signal?: AbortSignal;
  /**
   * Who asks (an HTTP route's caller host): a subdomain lookup may start at most
   * `names.maxReplaysPerHost` replays of parents for one host at once (BUSY beyond).
   */
  host?: string;
}

/** What `NameResolver.resolve` answers: a name's status, current zone file hash, owner and last operation, and the zone file with its records when held. */
export interface Resolution {
  name: string;
  status: NameStatus;
  /** The zone file hash the name is bound to now (absent when unbound or not found). */
  zonefileHash?: string;
  owner?: string;
  lastTxid?: string;
  lastOp?: string;
  /** The zone file bytes, when held. */
  zonefile?: Uint8Array;
  /** Its records, when it parses (see parseError otherwise); the zone file is parsed when this, `origin` or `parseError` is first read. */
  records?: ZoneFile['records'];
  origin?: string;
  parseError?: string;
}

/** What the resolver needs: the chain, and the chunk bytes held locally. */
export interface NameSources {
  chain: ChainAdapter;
  chunk(address: string): Uint8Array | undefined;
}

type Keyed = Announcement & { op?: string; owner?: string };

/**
 * Resolves BNS names from any ChainAdapter whose announcements carry a "name.namespace" key: keeps
 * each name's history in chain order and joins its current state with the zone file bytes held;
 * subdomains resolve through their parent's zone files.
 */
export class NameResolver {
  readonly #sources: NameSources;
  /** The last announcement indexed: a chain whose tail differs was reorganised. */
  #tail: { address: string; txid: string | undefined } | undefined;
  #length = 0;
  readonly #byName = new Map<string, NameEntry[]>();
  /** The shortest length the chain was rolled back to since the last catch-up (its entries from there on are cut). */
  #rolledBackTo: number | undefined;
  #unsubscribe: (() => void) | undefined;
  #syncing: Promise<void> | undefined;
  readonly #subdomains: SubdomainIndex;
  /** The chain as read here: every call bounded (callTimeoutMs, close()) and typed (chain/guarded.ts). */
  readonly #chain: GuardedChain;
  /** Aborted by close(): a catch-up under way ends at once, whatever the adapter does. */
  readonly #lifetime = new AbortController();

  /**
   * `subdomains`: bounds of the subdomain index kept between lookups (DEFAULT_SUBDOMAIN_INDEX);
   * `clock`: what times its replays and its chain calls (the system clock by default);
   * `callTimeoutMs`: how long one chain call may take (60 s; INVALID_OPTION unless a positive number): a
   * catch-up that fails (TIMEOUT, CHAIN_FAILED) fails the lookups waiting for it, and the next
   * lookup tries again.
   */
  constructor(sources: NameSources, options: { subdomains?: Partial<SubdomainIndexLimits>; clock?: Clock; callTimeoutMs?: number } = {}) {
    this.#sources = sources;
    const clock = options.clock ?? systemClock;
    this.#chain = new GuardedChain(sources.chain, clock, options.callTimeoutMs);
    this.#subdomains = new SubdomainIndex((address) => sources.chunk(address), options.subdomains, clock);
  }

  /** The name's current zone file, owner and status. Subdomains resolve through their parent. */
  async resolve(name: string, options: ResolveOptions = {}): Promise<Resolution> {
    const key = checkName(name);
    await this.sync(options);
    const history = this.#byName.get(key);
    // A first replay of a large parent takes time: the caller may leave meanwhile (it goes on for the next).
    if (history === undefined && key.split('.').length === 3) return this.#resolveSubdomain(key, options.signal, options.host);
    const last = history?.[history.length - 1];
    if (last === undefined) return { name: key, status: 'name-not-found' };
    const out: Resolution = { name: key, status: 'zonefile-missing' };
    if (last.owner !== undefined) out.owner = last.owner;
    if (last.txid !== undefined) out.lastTxid = last.txid;
    if (last.op !== undefined) out.lastOp = last.op;
    if (last.op === 'name-revoke') {
      out.status = 'revoked';
      return out;
    }
    if (last.zonefileHash === undefined) return out;
    out.zonefileHash = last.zonefileHash;
    const bytes = this.#sources.chunk(last.zonefileHash);
    if (bytes === undefined) return out;
    out.status = 'ok';
    return withZonefile(out, bytes);
  }

  /** Every change of `name`, oldest first (empty when unknown). */
  async history(name: string, options: { signal?: AbortSignal } = {}): Promise<NameEntry[]> {
    const key = checkName(name);
    await this.sync(options);
    return (this.#byName.get(key) ?? []).map((entry) => ({ ...entry }));
  }

  /** True when `hash` was bound to `name` at some point. */
  async hadZonefile(name: string, hash: string): Promise<boolean> {
    return (await this.history(name)).some((entry) => entry.zonefileHash === hash.toLowerCase());
  }

  /** Catches up with the chain (a rollback, or a tail that changed, rebuilds the index). */
  sync(options: { signal?: AbortSignal } = {}): Promise<void> {
    // One catch-up serves every caller, so it runs under no caller's signal: each leaves on its own.
    if (this.#syncing === undefined) {
      this.#syncing = this.#sync(this.#lifetime.signal).finally(() => (this.#syncing = undefined));
      // Its failure is each caller's to see; one that left first (a signal aborted already) must
      // not leave it unhandled, which ends the process.
      this.#syncing.catch(() => undefined);
    }
    return untilAborted(this.#syncing, options.signal);
  }

  close(): void {
    this.#lifetime.abort(new AtlasError(ErrorCodes.CLOSED, 'name resolution is closed'));
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  async #sync(signal: AbortSignal): Promise<void> {
    this.#unsubscribe ??= this.#chain.subscribe(
      (event) => {
        if (event.type === 'rollback') this.#rolledBackTo = Math.min(this.#rolledBackTo ?? Infinity, event.length);
      },
      // A malformed event may have been a rollback: the tail compared at the next catch-up misses
      // one whose last transaction was mined again, so everything is read again from the start.
      () => {
        this.#rolledBackTo = 0;
      },
      () => {},
    );
    let length = await this.#catchUpLength(signal);
    while (this.#length < length) {
      const page = (await this.#chain.read(this.#length, Math.min(PAGE, length - this.#length), signal)) as Keyed[];
      if (page.length === 0) break;
      for (const announcement of page) this.#add(announcement);
      this.#length += page.length;
      this.#tail = tailOf(page[page.length - 1] as Keyed);
      if (this.#length >= length) break;
      // A chain that answers at once (one in memory) would otherwise hold the event loop for the
      // whole catch-up: over a second for a million announcements. The chain may move meanwhile.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.#rolledBackTo !== undefined) length = await this.#catchUpLength(signal);
    }
  }

  /** The chain's length, once the index is cut back to a rollback seen, or rebuilt when its tail no longer matches the chain. */
  async #catchUpLength(signal: AbortSignal): Promise<number> {
    if (this.#rolledBackTo !== undefined) await this.#cut(this.#rolledBackTo, signal);
    const length = await this.#chain.length(signal);
    if (length < this.#length || !(await this.#tailMatches(signal))) this.#reset();
    return length;
  }

  /**
   * The chain was rolled back to `length`: the entries from there on are cut, and only the parents
   * that had some forget their subdomains (a reorganisation of one block kept the whole index
   * before, and every parent's replay after it).
   */
  async #cut(length: number, signal: AbortSignal): Promise<void> {
    this.#rolledBackTo = undefined;
    if (length >= this.#length) return;
    const cut: string[] = [];
    for (const [key, history] of this.#byName) {
      let kept = history.length;
      while (kept > 0 && (history[kept - 1] as NameEntry).position >= length) kept--;
      if (kept === history.length) continue;
      cut.push(key);
      if (kept === 0) this.#byName.delete(key);
      else history.length = kept;
    }
    this.#subdomains.forget(cut);
    this.#length = length;
    const [last] = length === 0 ? [] : await this.#chain.read(length - 1, 1, signal);
    this.#tail = last === undefined ? undefined : tailOf(last as Keyed);
  }

  async #tailMatches(signal: AbortSignal): Promise<boolean> {
    if (this.#length === 0) return true;
    const [last] = await this.#chain.read(this.#length - 1, 1, signal);
    return last !== undefined && last.address === this.#tail?.address && last.txid === this.#tail.txid;
  }

  #reset(): void {
    this.#length = 0;
    this.#tail = undefined;
    this.#byName.clear();
    this.#subdomains.clear();
  }

  #add(announcement: Keyed): void {
    if (announcement.key === undefined) return;
    const key = announcement.key.toLowerCase();
    const entry: NameEntry = { position: announcement.position };
    if (announcement.address !== NO_CHUNK_ADDRESS) entry.zonefileHash = announcement.address;
    if (announcement.op !== undefined) entry.op = announcement.op;
    if (announcement.owner !== undefined) entry.owner = announcement.owner;
    if (announcement.height !== undefined) entry.height = announcement.height;
    if (announcement.txid !== undefined) entry.txid = announcement.txid;
    const history = this.#byName.get(key);
    if (history) history.push(entry);
    else this.#byName.set(key, [entry]);
  }

  /** A subdomain's current record, from its parent's zone files (those held) under the seqn rules. */
  async #resolveSubdomain(key: string, signal: AbortSignal | undefined, host: string | undefined): Promise<Resolution> {
    const parent = key.slice(key.indexOf('.') + 1);
    // The lookup leaves the replay when `signal` aborts; a replay every lookup left stops.
    const last = await this.#subdomains.lookup(key, parent, () => this.#byName.get(parent) ?? [], signal, host);
    if (last === undefined) return { name: key, status: 'name-not-found' };
    return withZonefile({ name: key, status: 'ok', zonefileHash: last.zonefileHash, owner: last.owner }, last.zonefile);
  }
}

function tailOf(announcement: Keyed): { address: string; txid: string | undefined } {
  return { address: announcement.address, txid: announcement.txid };
}

/**
 * `promise`, or ABORTED as soon as `signal` aborts (the promise itself goes on). Followed through
 * followSignal, one listener however many lookups share the signal: a listener each made Node
 * warn (MaxListenersExceededWarning) past 10 lookups at once under one shutdown signal.
 */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  const aborted = () => abortedError('name lookup', signal);
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise<T>((resolve, reject) => {
    const unfollow = followSignal(signal, () => reject(aborted()));
    promise.then(resolve, reject).finally(unfollow);
  });
}

/**
 * `out` with its zone file, whose records, origin and parse error are read when first asked for:
 * the HTTP routes send the bytes and never ask, and parsing a 40 KB zone file at every lookup
 * cost 2-4 ms, which any owner of a name could make every request of theirs cost.
 */
function withZonefile(out: Resolution, bytes: Uint8Array): Resolution {
  out.zonefile = bytes;
  let parsed: Pick<Resolution, 'records' | 'origin' | 'parseError'> | undefined;
  const read = () => (parsed ??= parsedZonefile(bytes));
  for (const key of ['records', 'origin', 'parseError'] as const) {
    Object.defineProperty(out, key, { get: () => read()[key], enumerable: true, configurable: true });
  }
  return out;
}

function parsedZonefile(bytes: Uint8Array): Pick<Resolution, 'records' | 'origin' | 'parseError'> {
  try {
    const zone = parseZoneFile(bytes);
    return zone.origin === undefined ? { records: zone.records } : { records: zone.records, origin: zone.origin };
  } catch (error) {
    return { parseError: (error as Error).message };
  }
}

/** Lower-cases and checks a name; BAD_REQUEST when it cannot be a BNS name. */
export function checkName(name: string): string {
  // ASCII first: lower-casing maps some other letters onto ASCII (the Kelvin sign K to k), and
  // another spelling of a name would get its answer.
  const key = typeof name === 'string' && /^[\x20-\x7e]*$/.test(name) ? name.toLowerCase() : '';
  if (!NAME.test(key) || !key.includes('.') || key.startsWith('.') || key.endsWith('.') || key.includes('..')) {
    throw new AtlasError(ErrorCodes.BAD_REQUEST, `not a BNS name: ${JSON.stringify(String(name).slice(0, 100))}`);
  }
  return key;
}
