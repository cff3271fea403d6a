import { overlayChecked, POSITIVE_INTEGER } from '../options-overlay.js';

/**
 * Every limit a peer's request can run into, named and configurable. Defaults are the original
 * network's numbers (SPEC §7) where it had one.
 */
export interface ProtocolLimits {
  /** Largest chunk admitted, in bytes. */
  maxChunkSize: number;
  /**
   * Addresses per getChunks call. The original network allowed 100; we advertise ours in every
   * inventory reply, and ask a peer that does not advertise one for at most
   * GET_ADDRESSES_UNADVERTISED at once.
   */
  maxGetAddresses: number;
  /**
   * Chunk bytes in one getChunks reply. The addresses past it are answered `later` (ask again),
   * so a caller asking many addresses of large chunks cannot make us build a reply of
   * maxGetAddresses x maxChunkSize bytes. The first chunk held is always sent, whatever its size,
   * so every reply makes progress.
   */
  maxGetChunksBytes: number;
  /** Chunks per putChunks call. */
  maxPutChunks: number;
  /** Inventory bytes per inventory call. */
  maxInventoryBytes: number;
  /** Positions per inventoryChanges reply before the caller is told to fetch the whole vector. */
  maxInventoryChanges: number;
  /** Peers per peer-exchange reply. */
  maxPeersReply: number;
  /** Longest peer address string accepted (host:port). */
  maxPeerAddressLength: number;
  /** Longest network id accepted. */
  maxNetworkIdLength: number;
}

/**
 * Addresses asked of a peer at once when it has not said how many it answers (an older peer's
 * inventory reply has no maxGetAddresses): the original network's limit, and this protocol's
 * first default.
 */
export const GET_ADDRESSES_UNADVERTISED = 100;

/** Default protocol limits (per-call counts and sizes). */
export const DEFAULT_LIMITS: Readonly<ProtocolLimits> = Object.freeze({
  maxChunkSize: 40_960,
  maxGetAddresses: 1_000,
  maxGetChunksBytes: 4 * 1024 * 1024,
  maxPutChunks: 5,
  maxInventoryBytes: 524_288,
  maxInventoryChanges: 65_536,
  maxPeersReply: 80,
  maxPeerAddressLength: 300,
  maxNetworkIdLength: 64,
});

/** The default protocol limits with `overrides` applied; INVALID_OPTION (`limits.<name>`) unless each is a positive integer of ProtocolLimits. */
export function resolveLimits(overrides?: Partial<ProtocolLimits>): Readonly<ProtocolLimits> {
  return overlayChecked('limits', DEFAULT_LIMITS, overrides, POSITIVE_INTEGER);
}
