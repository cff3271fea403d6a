/**
 * Every limit a peer's request can run into, named and configurable. Defaults are the original
 * network's numbers (SPEC §7) where it had one.
 */
export interface ProtocolLimits {
  /** Largest chunk admitted, in bytes. */
  maxChunkSize: number;
  /** Addresses per getChunks call. */
  maxGetAddresses: number;
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

/** Default protocol limits (per-call counts and sizes). */
export const DEFAULT_LIMITS: Readonly<ProtocolLimits> = Object.freeze({
  maxChunkSize: 40_960,
  maxGetAddresses: 100,
  maxPutChunks: 5,
  maxInventoryBytes: 524_288,
  maxInventoryChanges: 65_536,
  maxPeersReply: 80,
  maxPeerAddressLength: 300,
  maxNetworkIdLength: 64,
});

/** The default protocol limits with `overrides` applied, checked. */
export function resolveLimits(overrides?: Partial<ProtocolLimits>): Readonly<ProtocolLimits> {
  return Object.freeze({ ...DEFAULT_LIMITS, ...overrides });
}
