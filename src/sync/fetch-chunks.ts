import { parseAddress, type Address } from '../address.js';
import { abortedError, AtlasError, ErrorCodes, InvalidOptionError, isAtlasError } from '../errors.js';
import { Deadline } from '../protocol/deadline.js';
import type { Clock } from '../runtime.js';
import type { ChunkStore } from '../store/types.js';
import type { PeerViews } from './peer-views.js';
import type { Changes } from './changes.js';
import { fetchFromPeers, FetchResult, type FetchOptions, type FetchRequest } from './fetch.js';
import { shuffle, type Random } from '../runtime.js';

/** While waiting, peers are asked again at least this often (a neighbour may have got it meanwhile). */
export const FETCH_RETRY_MS = 1_000;

/** Reads held chunks, hash-checked (store/verified-read.ts): a corrupt chunk is not returned. */
export type LocalReader = (addresses: readonly Address[]) => readonly { address: Address; data: Uint8Array }[];

export interface FetchHost {
  store: ChunkStore;
  readLocal: LocalReader;
  clock: Clock;
  changes: Changes;
  /** Aborted when the node closes. */
  lifetime: AbortSignal;
  /** Whether peers can be asked (the node is running). */
  canFetch(): boolean;
  /**
   * The longest the passes may run before a call gives up on peers, unless its wait is longer
   * (the node gives its chunks timeout): a pass asks up to MAX_PEERS_PER_ADDRESS holders in turn,
   * each of which may stall a call until that timeout.
   */
  passBudgetMs: number;
  /** One pass over the likeliest holders of `wanted` (fetch.ts). */
  fetchPass(wanted: readonly Address[], signal: AbortSignal): Promise<Map<Address, Uint8Array>>;
}

/**
 * fetchChunks(): local chunks first, then peers; with `wait`, again at every change (and every
 * FETCH_RETRY_MS) until everything asked is held or the wait ends. Every address asked ends up in
 * the result's map, `missing` or `refused`. Rejects with ABORTED when `signal` aborts and with
 * CLOSED when the node closes meanwhile.
 */
export async function fetchChunksFor(inputs: readonly string[], options: FetchOptions, host: FetchHost): Promise<FetchResult> {
  const result = new FetchResult();
  const pending = new Map<Address, string>(); // address -> the input that named it
  for (const input of inputs) {
    try {
      const address = parseAddress(input);
      if (!pending.has(address)) pending.set(address, input);
    } catch (error) {
      result.refused.set(String(input), isAtlasError(error) ? error : new AtlasError(ErrorCodes.BAD_ADDRESS, String(error)));
    }
  }
  const waitMs = waitOf(options.wait);
  const deadline = host.clock.now() + waitMs;
  // Passes end by the wait, or by passBudgetMs when the wait is shorter (without a wait too): a
  // pass's holders may each stall a call until the chunks timeout, one after another. The same
  // signal ends them when the caller's signal aborts or the node closes.
  const passes = new Deadline(host.clock, Math.max(waitMs, host.passBudgetMs), { signal: options.signal, base: host.lifetime });
  const { signal } = passes;
  try {
    for (;;) {
      throwIfStopped(options.signal, host.lifetime);
      takeLocal(host.readLocal, pending, result);
      const announced = [...pending.keys()].filter((a) => host.store.positionsOf(a).length > 0);
      if (announced.length > 0 && host.canFetch()) {
        try {
          for (const [address, data] of await host.fetchPass(announced, signal)) {
            result.set(address, data);
            pending.delete(address);
          }
        } catch (error) {
          throwIfStopped(options.signal, host.lifetime);
          if (!passes.expired) throw error;
          takeLocal(host.readLocal, pending, result); // what the pass cut short had stored
        }
      }
      const left = deadline - host.clock.now();
      if (pending.size === 0 || left <= 0 || passes.expired) break;
      await host.changes.next(signal, Math.min(left, FETCH_RETRY_MS));
    }
  } finally {
    passes.dispose();
  }
  for (const [address, input] of pending) {
    if (host.store.positionsOf(address).length > 0) result.missing.push(address);
    else result.refused.set(input, new AtlasError(ErrorCodes.NOT_ANNOUNCED, `${address} is not announced on the chain`, { address }));
  }
  return result;
}

/** How long `wait` says to wait: true (or Infinity) until the signal aborts, a number of ms >= 0, else none. */
function waitOf(wait: unknown): number {
  if (wait === undefined || wait === false) return 0;
  if (wait === true) return Infinity;
  if (typeof wait === 'number' && wait >= 0) return wait; // NaN fails the comparison
  throw new InvalidOptionError('wait', `expected true, false or a number of milliseconds >= 0, got ${String(wait).slice(0, 40)}`);
}

function takeLocal(readLocal: LocalReader, pending: Map<Address, string>, result: FetchResult): void {
  for (const { address, data } of readLocal([...pending.keys()])) {
    result.set(address, data);
    pending.delete(address);
  }
}

function throwIfStopped(signal: AbortSignal | undefined, lifetime: AbortSignal): void {
  if (lifetime.aborted) throw new AtlasError(ErrorCodes.CLOSED, 'fetchChunks: the node closed');
  if (signal?.aborted) throw abortedError('fetchChunks', signal);
}

/** What the node's fetchChunks() works with: a fetch host's parts but its pass, a pass's peers and hooks, and where holders are found. */
export interface NodeFetchParts extends Omit<FetchHost, 'fetchPass'>, Omit<FetchRequest, 'wanted' | 'candidates' | 'signal'> {
  /** Neighbours' inventories: their holders of an address are asked first. */
  views: Pick<PeerViews, 'peers' | 'get' | 'batchSize' | 'putOffHonest' | 'packsAddresses' | 'stopPacking'>;
  /** Addresses asked of one peer at once, at most (downloads.batchSize; the peer's own bound applies too). */
  batchSize: number;
  /** Every known peer, healthiest first: asked after the known holders. */
  knownPeers(): string[];
  /** Orders the holders each pass. */
  random: Random;
}

/** The node's fetchChunks(), over its parts. */
export function nodeFetcher(parts: NodeFetchParts): (addresses: readonly string[], options: FetchOptions) => Promise<FetchResult> {
  const { store, views } = parts;
  const host: FetchHost = {
    store,
    readLocal: parts.readLocal,
    clock: parts.clock,
    changes: parts.changes,
    lifetime: parts.lifetime,
    canFetch: parts.canFetch,
    passBudgetMs: parts.passBudgetMs,
    fetchPass: (wanted, signal) => {
      // Read once per pass: the known peers are the whole table, sorted by health. The viewed
      // holders come in another order each pass: in the order they were tracked, the first one
      // (stalling every request of two addresses or more) was asked first by every fetch.
      const viewed = shuffle(views.peers(), parts.random);
      const known = parts.knownPeers();
      function* candidates(address: Address): Generator<string> {
        const positions = store.positionsOf(address);
        const holders = viewed.filter((peer) => positions.some((p) => views.get(peer)?.inventory.has(p)));
        yield* holders;
        for (const peer of known) if (!holders.includes(peer)) yield peer;
      }
      const batchSizeOf = (peer: string) => views.batchSize(peer, parts.batchSize);
      const putOffHonest = (peer: string, chunkBytes: number) => views.putOffHonest(peer, chunkBytes, store.maxChunkSize);
      return fetchFromPeers({ wanted, candidates, client: parts.client, store, limits: parts.limits, batchSizeOf, views, putOffHonest, signal, onStored: parts.onStored, onFault: parts.onFault, onCall: parts.onCall });
    },
  };
  return (addresses, options) => fetchChunksFor(addresses, options, host);
}
