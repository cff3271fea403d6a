/**
 * What the downloader may do, and its defaults (AtlasNode option `downloads`): the bounds on
 * requests in flight and on replies held, how many addresses a request asks, planning, backoff,
 * omissions, hedging and the pause after a store refusal.
 */
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { DEFAULT_HEDGE, type HedgeOptions } from './hedge.js';
import { DEFAULT_OMISSIONS, type OmissionOptions } from './omissions.js';

/** How chunks are fetched from neighbours: in-flight caps, batch size, planning, backoff, omissions and hedging (AtlasNode option `downloads`). */
export interface DownloaderOptions {
  /** getChunks requests in flight across all peers (Stacks used 6). */
  maxInFlight: number;
  /** getChunks requests in flight to one peer. */
  maxInFlightPerPeer: number;
  /**
   * Addresses per getChunks request, at most what the peer answers (its inventory replies say
   * how many; GET_ADDRESSES_UNADVERTISED when they do not). Fewer, larger requests cost both
   * sides less CPU per chunk; the peer bounds a reply's bytes (limits.maxGetChunksBytes).
   */
  batchSize: number;
  /**
   * Addresses per getChunks request to a peer whose round trip is at least longRoundTripMs (at
   * most what it answers). Three requests of batchSize in flight would leave such a link idle
   * most of the time: a catch-up from it goes at requests in flight × addresses a request per
   * round trip. Never fewer than batchSize: the node raises the default to a larger batchSize
   * given, and refuses a wideBatchSize given below a batchSize given.
   */
  wideBatchSize: number;
  /** The round trip (PeerViews.roundTripMs: the shortest of its last inventory calls) from which a peer is asked wideBatchSize addresses at once, ms. */
  longRoundTripMs: number;
  /** Replies waiting to be stored; no new request starts beyond it (bounds memory). */
  maxPendingWrites: number;
  /** Positions planned rarest-first at once. */
  planWindow: number;
  /** Least time between re-plans caused by changed peer inventories. */
  replanMs: number;
  backoff: BackoffOptions;
  /** When withholding claimed chunks becomes a fault (omissions.ts). */
  omissions: OmissionOptions;
  /** When a slow request's addresses go to another holder (hedge.ts). */
  hedge: HedgeOptions;
  /**
   * How long a peer's claim to a position it sent corrupt bytes for is not believed again,
   * whatever its inventory or offers say (default 600 s). Peers we never block (seeds) would
   * otherwise be asked again, and could waste a transfer again, after each inventory refresh.
   */
  refutedClaimMs: number;
  /**
   * After our store refuses a write (a full disk, an I/O error: STORE_IO), no request starts for
   * this long (default 1 s), then twice as long after each further refusal, up to
   * `maxStoreRetryMs` (default 30 s); a write that succeeds starts over. The addresses are not
   * backed off: the disk failed, not the chunks or the peers, and a chunk backed off through a long
   * outage waited up to `backoff.maxMs` (10 min) after the disk had room again. Meanwhile no
   * reply is fetched only to be thrown away.
   */
  storeRetryMs: number;
  maxStoreRetryMs: number;
}

/** Defaults of DownloaderOptions. */
export const DEFAULT_DOWNLOADER: Readonly<DownloaderOptions> = Object.freeze({
  maxInFlight: 6,
  maxInFlightPerPeer: 3,
  batchSize: 500,
  wideBatchSize: 1_000,
  longRoundTripMs: 50,
  maxPendingWrites: 32,
  planWindow: 10_000,
  replanMs: 250,
  backoff: DEFAULT_BACKOFF,
  omissions: DEFAULT_OMISSIONS,
  hedge: DEFAULT_HEDGE,
  refutedClaimMs: 600_000,
  storeRetryMs: 1_000,
  maxStoreRetryMs: 30_000,
});

