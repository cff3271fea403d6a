import { EventEmitter } from 'node:events';
import type { Address } from '../address.js';
import type { PeerRemoveReason } from '../peers/table.js';

/** A chunk stored by a node: its address, its positions and where it came from. */
export interface ChunkEvent {
  address: Address;
  positions: readonly number[];
  /** The peer it came from, or 'local' for putChunks. */
  from: string;
}

/** A stored chunk failed its hash check when read to be served: quarantined and fetched again. */
export interface CorruptChunkEvent {
  address: Address;
  /** The positions whose bits were cleared. */
  positions: readonly number[];
}

/** How far the node is from holding every announced chunk. */
export interface ProgressEvent {
  /** Announced positions whose chunk is held. */
  have: number;
  /** Announced positions that name a chunk (those announcing NO_CHUNK_ADDRESS, which binds none, are left out). */
  total: number;
  /** Positions still to fetch: total - have. */
  missing: number;
}

/** Each event's payload (every event has exactly one argument). */
export interface AtlasNodeEvents {
  /** A chunk was newly stored (put locally, or fetched from a peer). */
  chunk: ChunkEvent;
  'chunk:corrupt': CorruptChunkEvent;
  /** A peer was admitted to the peer table: a candidate that passed the admission ping, or a seed on its first answer. */
  'peer:add': { peer: string; seed: boolean };
  /** A peer answered one of our calls for the first time (since it was last removed). Admission may still refuse it. */
  'peer:reach': { peer: string };
  /** A peer left the peer table, and why (PeerRemoveReason). */
  'peer:remove': { peer: string; reason: PeerRemoveReason };
  /** Have or total changed. Throttle in the listener if you log it. */
  progress: ProgressEvent;
  /** Every announced chunk is held (have === total), after having been behind. */
  synced: ProgressEvent;
  /** A failure of the node's own machinery (the store, the chain). The node keeps running. */
  error: Error;
}

/** The node's events as Node's EventEmitter type map: event -> argument tuple. */
export type AtlasNodeEventMap = { [E in keyof AtlasNodeEvents]: [AtlasNodeEvents[E]] };

/**
 * A Node EventEmitter whose event names and payloads the compiler checks, so `on`, `once`, `off`,
 * `removeAllListeners`, `events.once(node, 'synced')` and `for await (... of on(node, 'chunk'))`
 * all work as on any emitter.
 */
export class TypedEmitter<Events extends Record<keyof Events, unknown[]>> extends EventEmitter<Events> {}
