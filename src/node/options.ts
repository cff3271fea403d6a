import type { SubdomainIndexLimits } from '../bns/subdomain-index.js';
import type { ChainAdapter } from '../chain/types.js';
import type { AddressPolicyOptions } from '../peers/address-policy.js';
import type { PeerTableLimits } from '../peers/table.js';
import type { WalkPaceOptions } from '../peers/walk-pace.js';
import type { ProtocolLimits } from '../protocol/limits.js';
import type { RequestLimits } from '../protocol/request-guard.js';
import type { Clock, Logger, Random } from '../runtime.js';
import type { ChunkStorage, ChunkStore } from '../store/types.js';
import type { EarlyContactsOptions } from '../sync/early-contacts.js';
import type { DownloaderOptions } from '../sync/downloader-options.js';
import type { AuditOptions } from '../sync/audit.js';
import type { FollowOptions } from '../sync/chain-follow.js';
import type { BackfillOptions } from '../sync/sources/backfill-types.js';
import type { ChunkSource } from '../sync/sources/types.js';
import type { PusherOptions } from '../sync/pusher.js';
import type { Transport } from '../transport/types.js';
import type { Metrics } from './metrics.js';

/** Periods of the node's background work, in milliseconds. */
export interface NodeTimers {
  /**
   * Period of the replication pass (refreshes due, downloads, audits) and of the maintenance round
   * (admit candidates, walk, keep neighbours, evict); a round still waiting on peers is not
   * started again, and the pass does not wait for it.
   */
  roundMs: number;
  /** How often each neighbour's inventory is refreshed (incrementally). SPEC: 600 s, whole vector. */
  inventoryRefreshMs: number;
  /**
   * Longest wait between refreshes of a neighbour whose refreshes keep bringing nothing (the
   * period doubles from inventoryRefreshMs); back to inventoryRefreshMs as soon as anything changes.
   */
  quietInventoryRefreshMs: number;
  /**
   * While fewer relays than wanted offer to us because neighbours refused (their offer targets
   * were full), one neighbour, the least recently read, is pulled every this many ms instead (at
   * most one a round).
   */
  relaylessRefreshMs: number;
  /** How often one neighbour is replaced by a fresh random-walk sample. */
  neighborRenewMs: number;
  /** How long a refused candidate is not checked again. */
  refusalMs: number;
}

/** Default periods and timeouts of a node's background work. */
export const DEFAULT_TIMERS: Readonly<NodeTimers> = Object.freeze({
  roundMs: 2_000,
  inventoryRefreshMs: 15_000,
  quietInventoryRefreshMs: 60_000,
  relaylessRefreshMs: 2_000,
  neighborRenewMs: 120_000,
  refusalMs: 600_000,
});

/** An options group as given: every field optional, and nested groups field by field (their other fields keep the defaults). */
export type NestedPartial<T> = { [K in keyof T]?: T[K] extends object ? NestedPartial<T[K]> : T[K] };

/** Options of `AtlasNode.open`; every default is in the README's "Defaults and limits". */
export interface AtlasNodeOptions {
  /** Where announcements come from. */
  chain: ChainAdapter;
  /**
   * How the chain is followed (DEFAULT_FOLLOW): how long one call to the adapter may take
   * (`callTimeoutMs`, 60 s: a remote chain node slower than that needs more), the first wait
   * before a failed reconcile is tried again (`retryMs`, 1 s, doubling to 64 times), the
   * announcements read at once (`pageSize`), the last ones checked at start (`checkDepth`) and
   * the chain events queued before a reconcile (`maxPendingEvents`).
   */
  follow?: Partial<FollowOptions>;
  /** How the node reaches and serves peers. */
  transport: Transport;
  /** LMDB environment folder; omit (and omit `store`) for an in-memory store. */
  dataDir?: string;
  /**
   * Where a new store in `dataDir` keeps chunk bytes (default 'log'): 'log' appends them to one
   * file beside the LMDB environment, 'lmdb' keeps them in it (README, "Chunk storage"). An
   * existing store keeps its layout.
   */
  chunkStorage?: ChunkStorage;
  /**
   * Most memory, in bytes, the store in `dataDir` holds the sequence's addresses in, in 80 KiB
   * pages of 4,096 positions read whole on first use (default 32 MiB, every position of a
   * sequence of up to 1,675,264); 0 reads each position from LMDB (README, "Sequence pages").
   */
  sequenceCacheBytes?: number;
  /**
   * With chunks in the chunk log: the most memory, in bytes, chunks read again and again at
   * random places are kept in, so that such a chunk (a popular name's) costs no read call (default 8 MiB;
   * records of up to 4 KiB; 0 keeps none) (README, "Chunk storage").
   */
  chunkCacheBytes?: number;
  /** A store of your own; overrides dataDir. It stays yours: the node closes it only with `closeStore: true`. */
  store?: ChunkStore;
  /**
   * Whether node.close() (or a failed open) closes the store. Default: true for a store the node
   * opened itself (dataDir, or memory), false for one given as `store`.
   */
  closeStore?: boolean;
  /** Peers to start from; never evicted. */
  seeds?: readonly string[];
  /** Network id; peers of another network are refused. Default 'mainnet'. */
  network?: string;
  /** Active neighbours kept (K). Default 8. */
  neighbors?: number;
  /** Largest chunk admitted. Default 40,960. */
  maxChunkSize?: number;
  /** Protocol limits (SPEC §3); defaults are the original network's. */
  limits?: Partial<ProtocolLimits>;
  /** Which peer addresses may be dialled (SPEC §5.2). Default: public addresses only. */
  addressPolicy?: Partial<AddressPolicyOptions>;
  /** Most peers kept in the table. Default 1,000. */
  maxPeers?: number;
  /** Most candidates waiting for admission. Default 800. */
  maxPendingPeers?: number;
  /** The rest of the peer table's limits: health window, eviction, penalties (PEER_TABLE_DEFAULTS). */
  peerTable?: Partial<PeerTableLimits>;
  /** Load shedding for requests served: per-host token buckets and concurrency bounds (DEFAULT_REQUEST_LIMITS). */
  requests?: NestedPartial<RequestLimits>;
  timers?: Partial<NodeTimers>;
  /** How fast the random walk goes before and after the overlay settles (DEFAULT_WALK_PACE). */
  walk?: Partial<WalkPaceOptions>;
  /** The downloader's pace and bounds (DEFAULT_DOWNLOADER); nested groups level by level, e.g. `{ backoff: { baseMs: 500 } }`. */
  downloads?: NestedPartial<DownloaderOptions>;
  push?: Partial<PusherOptions>;
  /**
   * Offers from callers not admitted yet, kept to be replayed once they are (DEFAULT_EARLY_CONTACTS):
   * any caller can make us keep what it offers until its check ends, so how many callers, how many
   * of one host, how many positions each and for how long are bounded.
   */
  earlyContacts?: Partial<EarlyContactsOptions>;
  /** Audits of neighbours' inventory claims (sync/audit.ts); everyMs 0 turns them off. */
  audit?: Partial<AuditOptions>;
  /**
   * Where announced chunks the peers do not deliver are fetched from, retried forever with a
   * capped back-off (sync/sources): Stacks nodes, mirrors, a Stacks event observer, asked in
   * this order; peers are asked after them.
   */
  sources?: readonly ChunkSource[];
  backfill?: Partial<BackfillOptions>;
  /**
   * Bounds of what name resolution (node.resolve(), the /v1/names routes) keeps between lookups:
   * the subdomain index's parents and bytes, one parent's bytes (past them its subdomains are
   * refused, TOO_LARGE), and the pause before late zone files replay a parent again
   * (DEFAULT_SUBDOMAIN_INDEX).
   */
  names?: Partial<SubdomainIndexLimits>;
  clock?: Clock;
  random?: Random;
  logger?: Logger;
  metrics?: Metrics;
}
