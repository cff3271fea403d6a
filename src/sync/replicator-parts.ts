/**
 * What the replicator works with and reports, apart from the replicator itself: its components
 * (the store, the client and the narrow views of the peer overlay and of the node it reaches),
 * its options and its stats.
 */
import type { Address } from '../address.js';
import type { ProtocolClient } from '../protocol/client.js';
import type { Clock, Logger, Random } from '../runtime.js';
import type { ChunkStore } from '../store/types.js';
import type { CorruptChunk } from '../store/verified-read.js';
import type { AuditOptions, AuditStats } from './audit.js';
import type { DownloaderOptions } from './downloader-options.js';
import type { DownloaderStats } from './downloader.js';
import type { EarlyContactsOptions } from './early-contacts.js';
import type { PusherOptions } from './pusher.js';
import type { StoredChunks } from './stored-chunks.js';

export type { StoredChunks, StoredOutcome } from './stored-chunks.js';

/** What the replicator needs from the peer overlay. */
export interface ReplicatorPeers {
  /** A call to `peer` succeeded or failed, for its health. */
  recordCall(peer: string, ok: boolean): void;
  /** The peer's health, 0..1 (higher is asked first). */
  health(peer: string): number;
  /** The peer stalled its audits: it should stop being a neighbour for a while. */
  dropStaller(peer: string): void;
  /** The peer sent bad data (`code` says what). */
  penalise(peer: string, code: string): void;
  /** Admitted into the peer table. */
  isKnownPeer(peer: string): boolean;
  /** A caller we have not admitted: check it, and admit it if it qualifies. */
  contact(peer: string): void;
  isSeed(peer: string): boolean;
  /** Up to `max` live peers of the table, shuffled: where an extra relay is sought. */
  livePeers(max: number): string[];
}

/** What the replicator tells the node, which turns it into events and metrics. */
export interface ReplicatorEvents {
  /** Chunks newly stored, already logged and relayed to neighbours. */
  stored(chunks: StoredChunks, from: string): void;
  /** The chain grew or rolled back to `length`: have and total changed. */
  sequenceChanged(length: number): void;
  /** A stored chunk failed its hash check and was removed. */
  quarantined(chunk: CorruptChunk): void;
  /** An inventory (whole or changes) of `bytes` bytes was read from a peer. */
  inventoryRead(bytes: number): void;
  /** Storing verified chunks failed locally: not a peer's fault. */
  failed(error: unknown): void;
}

export interface ReplicatorComponents {
  store: ChunkStore;
  /**
   * A stored chunk's bytes as they may leave the node: hashed again and found intact (the node's
   * VerifiedReader, which quarantines a chunk that fails); undefined when not held or not intact.
   * What a push sends.
   */
  readVerified: (address: Address) => Uint8Array | undefined;
  client: ProtocolClient;
  clock: Clock;
  random: Random;
  logger: Logger;
  peers: ReplicatorPeers;
  /** Our own address, once listening. */
  self: () => string | undefined;
  events: ReplicatorEvents;
}

export interface ReplicatorOptions {
  /** Active neighbours wanted; views are kept for four times as many peers. Default 8. */
  neighbors?: number;
  /** A view older than this is refreshed at the next tick. Default 15 s. */
  inventoryRefreshMs?: number;
  /**
   * A neighbour whose refreshes keep bringing nothing is refreshed less often, the period doubling
   * up to this bound, and at inventoryRefreshMs again as soon as anything changes (see wake()).
   * Keep it well below peers' push.pullerTtlMs: a refresh is also how a relay keeps offering to
   * us. Default 60 s.
   */
  quietInventoryRefreshMs?: number;
  /**
   * While fewer relays than wanted offer to us because tracked peers refused (their offer targets
   * were full), few or none tell us of new chunks: one tracked peer, the least recently read, is
   * pulled every this many ms instead (at most one a tick). Default 2 s.
   */
  relaylessRefreshMs?: number;
  downloads?: Partial<DownloaderOptions>;
  audit?: Partial<AuditOptions>;
  push?: Partial<PusherOptions>;
  /** Bounds on offers kept from callers not admitted yet (DEFAULT_EARLY_CONTACTS). */
  earlyContacts?: Partial<EarlyContactsOptions>;
}

/** The replicator's figures (within NodeStats): downloads, audits, offers and pushes. */
export interface ReplicatorStats {
  downloads: DownloaderStats & { inFlight: number };
  /** Offer calls made, chunks in push calls answered, and offer and push calls that failed. */
  pushes: { offersSent: number; chunksPushed: number; failedCalls: number };
  /** Audits of neighbours' claims: run, passed, failed. */
  audits: AuditStats;
  inventoryBytesReceived: number;
  inventoryRefreshes: number;
}
