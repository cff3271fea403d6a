import type { Address } from '../address.js';
import type { Caller } from '../peer-address.js';
import type { InventoryVersion } from '../inventory/change-log.js';

export type { InventoryVersion } from '../inventory/change-log.js';

/** Bumped on incompatible wire changes; peers with another major version are refused. */
export const PROTOCOL_VERSION = 1;

/** Parameters of `ping`: the caller's network id, sequence length and own address. */
export interface PingParams {
  network: string;
  /** The caller's sequence length: the reply's digest covers min(this, the callee's length). */
  sequenceLength: number;
  /** The caller's own reachable address, when it has one (it becomes a candidate peer). */
  from?: string;
}

/** Result of `ping`: the peer's network, version, sequence length and digest. */
export interface PingResult {
  protocol: number;
  network: string;
  sequenceLength: number;
  chunkCount: number;
  /** Length of the sequence prefix that `digest` covers. */
  digestLength: number;
  digest: string;
  /** Inventory version, for inventoryChanges. */
  inventory: InventoryVersion;
}


/** Parameters of `peers`: the caller's own reachable address, if any. */
export interface PeersParams {
  from?: string;
}
/** Result of `peers`: healthy peers the callee knows. */
export interface PeersResult {
  peers: string[];
}

/** Byte range of the inventory vector (SPEC §4). */
export interface InventoryParams {
  offset: number;
  length: number;
}
/** Result of `inventory`: a byte range of the inventory vector and the sequence length. */
export interface InventoryResult {
  sequenceLength: number;
  inventory: InventoryVersion;
  bytes: Uint8Array;
  /**
   * The most addresses the peer answers in one getChunks call (its limits.maxGetAddresses).
   * Absent (an older peer): ask it for at most GET_ADDRESSES_UNADVERTISED at once.
   */
  maxGetAddresses?: number;
  /** The peer's bound on chunk bytes in one getChunks reply (its limits.maxGetChunksBytes). Absent: the default's. */
  maxGetChunksBytes?: number;
  /**
   * true: the peer reads a getChunks request's addresses packed, as one byte string of 20 bytes an
   * address (get-chunks.ts). Absent (an older peer): send them as hex strings.
   */
  packedAddresses?: boolean;
}

/** Parameters of `inventoryChanges`: the inventory version the caller already has. */
export interface InventoryChangesParams {
  since: InventoryVersion;
  /** The caller's own reachable address: it is offered new chunks while it keeps pulling. */
  from?: string;
  /**
   * false: the caller pulls us but wants no offers (it takes them from a few other peers, so a new
   * chunk costs the network a few offers per node, not one per link). Absent means true.
   */
  offers?: boolean;
}
/** Result of `inventoryChanges`: the positions added since, or a request to read the whole vector. */
export type InventoryChangesResult = (
  | {
      complete: true;
      sequenceLength: number;
      inventory: InventoryVersion;
      /** Positions set since `since`, ascending, delta-varint encoded. */
      added: Uint8Array;
    }
  /** The log does not reach back to `since` (or another epoch): fetch the whole vector. */
  | { complete: false; sequenceLength: number; inventory: InventoryVersion }
) & {
  /**
   * Sent when the caller named itself (`from`): whether it hears our offers from now on. false
   * when it asked for none, or asked while our offer targets were full: it should ask another
   * peer. Absent (an older peer): unknown.
   */
  offering?: boolean;
};

/** Parameters of `getChunks`: the addresses wanted. */
export interface GetChunksParams {
  addresses: readonly Address[];
  /**
   * Answer in order, without the addresses: { inOrder: [bytes | null, ...] } (get-chunks.ts).
   * A peer that does not know it answers in the listed form. Absent means false.
   */
  inOrder?: boolean;
}
/** Result of `getChunks`: the chunks the peer holds among those asked for. */
export interface GetChunksResult {
  chunks: { address: Address; data: Uint8Array }[];
  /** Addresses asked for and not held: an explicit "don't have" (SPEC §6). */
  missing: Address[];
  /**
   * Addresses not answered because the reply reached the peer's byte bound
   * (limits.maxGetChunksBytes): neither have nor don't have; ask again. Only in a reply that
   * carries at least one chunk. Absent: none.
   */
  later?: Address[];
}

/** Parameters of `putChunks`: the chunks to store. */
export interface PutChunksParams {
  chunks: Uint8Array[];
  /** Set by a peer pushing chunks it holds; absent for a client's put. A peer's push is only
   * offered onward, a client's put is pushed on as bytes. */
  from?: string;
}
/** Result of `putChunks`: per chunk, whether it is now stored. */
export interface PutChunksResult {
  /** saved[i] is true when chunk i is now stored (also when it already was). */
  saved: boolean[];
}

/**
 * Push, as an offer: "I now hold these positions". The receiver records the sender as a holder
 * and pulls what it lacks from one holder, so a chunk crosses each link about once (SPEC §6 push,
 * without the duplicate deliveries of pushing bytes to every neighbour).
 */
export interface OfferParams {
  from: string;
  /** Positions newly held by `from`, ascending, delta-varint encoded. */
  added: Uint8Array;
}
/** Result of `offer`: how many offered positions the receiver lacks and will fetch. */
export interface OfferResult {
  /** How many of the offered positions the receiver lacks and will fetch. */
  wanted: number;
}

/** Each protocol method's parameters and result types. */
export interface MethodMap {
  ping: { params: PingParams; result: PingResult };
  peers: { params: PeersParams; result: PeersResult };
  inventory: { params: InventoryParams; result: InventoryResult };
  inventoryChanges: { params: InventoryChangesParams; result: InventoryChangesResult };
  getChunks: { params: GetChunksParams; result: GetChunksResult };
  putChunks: { params: PutChunksParams; result: PutChunksResult };
  offer: { params: OfferParams; result: OfferResult };
}

/** The name of a protocol method. */
export type Method = keyof MethodMap;
/** The parameters type of method `M`. */
export type ParamsOf<M extends Method> = MethodMap[M]['params'];
/** The result type of method `M`. */
export type ResultOf<M extends Method> = MethodMap[M]['result'];

/** Every protocol method, by name. */
export const METHODS: readonly Method[] = ['ping', 'peers', 'inventory', 'inventoryChanges', 'getChunks', 'putChunks', 'offer'];

/** True when `value` names a protocol method. */
export function isMethod(value: unknown): value is Method {
  return typeof value === 'string' && (METHODS as readonly string[]).includes(value);
}

/** What a node serves; the protocol layer validates every request before it reaches this. */
export interface AtlasService {
  ping(params: PingParams, context: CallerContext): Promise<PingResult>;
  peers(params: PeersParams, context: CallerContext): Promise<PeersResult>;
  inventory(params: InventoryParams, context: CallerContext): Promise<InventoryResult>;
  inventoryChanges(params: InventoryChangesParams, context: CallerContext): Promise<InventoryChangesResult>;
  getChunks(params: GetChunksParams, context: CallerContext): Promise<GetChunksResult>;
  putChunks(params: PutChunksParams, context: CallerContext): Promise<PutChunksResult>;
  offer(params: OfferParams, context: CallerContext): Promise<OfferResult>;
}

/** Who is calling a service method, as its transport saw it. */
export interface CallerContext {
  /** The caller (a peer address, or UNKNOWN_CALLER), what limits key on. */
  caller: Caller;
  /** The caller as text (e.g. "127.0.0.1:51234"), for logs and events. */
  remote: string;
  signal?: AbortSignal;
}
