import { AtlasError, ErrorCodes } from '../errors.js';
import { decodePositions, encodePositions } from '../inventory/varint.js';
import type { InventoryLog } from '../inventory/change-log.js';
import type {
  AtlasService,
  CallerContext,
  GetChunksParams,
  GetChunksResult,
  InventoryChangesParams,
  InventoryChangesResult,
  InventoryParams,
  InventoryResult,
  OfferParams,
  OfferResult,
  PeersParams,
  PeersResult,
  PingParams,
  PingResult,
  PutChunksParams,
  PutChunksResult,
} from '../protocol/messages.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import type { ProtocolLimits } from '../protocol/limits.js';
import type { ChunkStore, PutOutcome } from '../store/types.js';
import type { VerifiedReader } from '../store/verified-read.js';
import { hostKey } from '../transport/rate-limit.js';

/** What the service needs from the node around it. */
export interface ServiceHost {
  readonly network: string;
  readonly store: ChunkStore;
  /** Every chunk served is read through it (hash-checked; corrupt ones quarantined). */
  readonly reader: VerifiedReader;
  /** The transport reads each answer once and keeps none of its bytes (Transport.readsRepliesOnce): getChunks serves shared bytes. */
  readonly sharesReplyBytes: boolean;
  readonly log: InventoryLog;
  readonly limits: Readonly<ProtocolLimits>;
  /** A caller told us its reachable address: a candidate peer. */
  candidate(address: string): void;
  /**
   * A caller pulls our inventory changes: push to it, and offer it new chunks if `relay`; returns
   * whether it hears our offers. `callerHost`: the host the call came from, which per-host caps count it in.
   */
  puller(address: string, relay: boolean, callerHost: string): boolean;
  /** Up to `max` live peers, shuffled, never `exclude`. */
  livePeers(max: number, exclude: string | undefined): string[];
  /** Chunks stored through putChunks; `pushedBy` is the pushing peer, undefined for a client's put. */
  stored(outcomes: readonly (PutOutcome & { ok: true })[], pushedBy: string | undefined, remote: string): void;
  /** A peer offers positions: returns how many we lack and will fetch. `callerHost` as for puller(). */
  offered(from: string, positions: Uint32Array, callerHost: string): number;
}

/** The node's answers to the protocol's methods. Params arrive validated (protocol/validate). */
export class NodeService implements AtlasService {
  constructor(private readonly host: ServiceHost) {}

  async ping(params: PingParams): Promise<PingResult> {
    const { store, log } = this.host;
    if (params.from !== undefined) this.host.candidate(params.from);
    const sequenceLength = store.sequenceLength();
    const digestLength = Math.min(params.sequenceLength, sequenceLength);
    return {
      protocol: PROTOCOL_VERSION,
      network: this.host.network,
      sequenceLength,
      chunkCount: store.chunkCount(),
      digestLength,
      digest: store.sequenceDigest(digestLength),
      inventory: { epoch: log.epoch, version: log.version },
    };
  }

  async peers(params: PeersParams): Promise<PeersResult> {
    if (params.from !== undefined) this.host.candidate(params.from);
    return { peers: this.host.livePeers(this.host.limits.maxPeersReply, params.from) };
  }

  async inventory(params: InventoryParams): Promise<InventoryResult> {
    const { store, log } = this.host;
    return {
      sequenceLength: store.sequenceLength(),
      inventory: { epoch: log.epoch, version: log.version },
      bytes: store.inventory.toBytes(params.offset, params.length),
      maxGetAddresses: this.host.limits.maxGetAddresses,
      maxGetChunksBytes: this.host.limits.maxGetChunksBytes,
      packedAddresses: true,
    };
  }

  async inventoryChanges(params: InventoryChangesParams, context: CallerContext): Promise<InventoryChangesResult> {
    const { store, log } = this.host;
    const offering = params.from === undefined ? {} : { offering: this.host.puller(params.from, params.offers !== false, hostKey(context.caller)) };
    const sequenceLength = store.sequenceLength();
    const inventory = { epoch: log.epoch, version: log.version };
    if (params.since.epoch !== log.epoch) return { complete: false, sequenceLength, inventory, ...offering };
    // maxCount first: a caller asking from version 0 must not make us sort the whole log.
    const added = log.since(params.since.version, { maxCount: this.host.limits.maxInventoryChanges });
    if (added === undefined) {
      return { complete: false, sequenceLength, inventory, ...offering };
    }
    return { complete: true, sequenceLength, inventory, added: encodePositions(added), ...offering };
  }

  async getChunks(params: GetChunksParams): Promise<GetChunksResult> {
    const { reader, limits, sharesReplyBytes } = this.host;
    return sharesReplyBytes ? reader.serve(params.addresses, limits.maxGetChunksBytes) : reader.read(params.addresses, limits.maxGetChunksBytes);
  }

  async putChunks(params: PutChunksParams, context: CallerContext): Promise<PutChunksResult> {
    const outcomes = await this.host.store.putMany(params.chunks);
    const added = outcomes.filter((o): o is PutOutcome & { ok: true } => o.ok && o.added);
    if (added.length > 0) this.host.stored(added, params.from, context.remote);
    return { saved: outcomes.map((o) => o.ok) };
  }

  async offer(params: OfferParams, context: CallerContext): Promise<OfferResult> {
    let positions: Uint32Array;
    try {
      positions = decodePositions(params.added, { maxCount: this.host.limits.maxInventoryChanges });
    } catch (error) {
      throw new AtlasError(ErrorCodes.BAD_REQUEST, 'offer: malformed positions', undefined, { cause: error });
    }
    return { wanted: this.host.offered(params.from, positions, hostKey(context.caller)) };
  }
}

/**
 * The bytes of `inventory`'s vector an inventory request (`params` as received, unchecked) would
 * be answered with, for RequestGuard's pricing: [offset, offset + length) clamped to the vector;
 * 0 when they are not numbers of at least 0 (validation refuses them later).
 */
export function inventoryBytesAnswered(inventory: { byteLength(): number }, params: unknown): number {
  const { offset, length } = typeof params === 'object' && params !== null ? (params as { offset?: unknown; length?: unknown }) : {};
  if (typeof offset !== 'number' || typeof length !== 'number' || !(offset >= 0) || !(length >= 0)) return 0;
  return Math.max(0, Math.min(inventory.byteLength(), offset + length) - offset);
}

/**
 * The positions an inventoryChanges request (`params` as received, unchecked) would be answered
 * with, for RequestGuard's pricing: what the handler above would read from `log`, 0 when its
 * reply lists none (another epoch, a version the log no longer reaches, past `maxCount`).
 */
export function changesAnswered(log: InventoryLog, params: unknown, maxCount: number): number {
  const since = typeof params === 'object' && params !== null ? (params as { since?: unknown }).since : undefined;
  if (typeof since !== 'object' || since === null) return 0;
  const { epoch, version } = since as { epoch?: unknown; version?: unknown };
  if (typeof epoch !== 'string' || typeof version !== 'number') return 0;
  return log.countSince({ epoch, version }, { maxCount }) ?? 0;
}
