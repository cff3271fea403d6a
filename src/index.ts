/**
 * `atlasnet`: what an embedder needs to run and talk to a node. The legacy wire API is
 * `atlasnet/legacy` (src/legacy/index.ts); test and simulation helpers are `atlasnet/testing`
 * (src/testing.ts).
 */
export { AtlasError, ErrorCodes, InvalidOptionError, isAtlasError, type ErrorCode } from './errors.js';
export { isAddress, parseAddress, NO_CHUNK_ADDRESS, type Address } from './address.js';
export { systemClock, silentLogger, seededRandom, type Clock, type Random, type Logger, type LogLevel, type TimerHandle } from './runtime.js';
export { hash160, hash160Hex, hash160Batch, hash160Packed, hash160Chain, hashBackend, hashBackendInfo, hashReady, HASH160_BYTES, type HashBackendName, type HashBackendInfo, type NativeRipemd160 } from './hash/index.js';
export type { Announcement, ChainAdapter, ChainEvent, ChainListener } from './chain/types.js';
export type { ChunkStore, PutOutcome, VerifiedChunk, DiscardOutcome } from './store/types.js';
export type { ReadonlyChunkStore } from './store/readonly-store.js';
export type { AdmissionResult, AdmittedChunk, Refusal } from './store/admission.js';
export type { ChunkLogScan } from './store/chunk-log.js';
export * from './protocol/messages.js';
export { DEFAULT_LIMITS, resolveLimits, type ProtocolLimits } from './protocol/limits.js';
export type { Transport, TransportService, CallOptions, ListenOptions, RequestContext, TransportStats, AdmittedRequest } from './transport/types.js';
export { UNKNOWN_CALLER, formatCaller, type Caller, type UnknownCaller, type PeerAddress, type PeerAddressFamily } from './peer-address.js';
export {
  HttpTransport,
  DEFAULT_HTTP_LIMITS,
  HTTP_STATUS_BY_CODE,
  httpStatusFor,
  type ConnectionStats,
  type HttpLimits,
  type HttpRoute,
  type HttpRouteContext,
  type HttpTransportOptions,
  type WireFormat,
} from './transport/index.js';
export { ProtocolClient, DEFAULT_TIMEOUTS, type ProtocolTimeouts, type ProtocolClientOptions, type ClientCallOptions, type GetChunksCallOptions, type ClientScope } from './protocol/client.js';
export { maxReplyBytesOf } from './protocol/reply-bounds.js';
export { Deadline, type DeadlineOptions } from './protocol/deadline.js';
export { createProtocolService, type ProtocolServiceOptions, type ProtocolHandler } from './protocol/server.js';
export { validateParams, validateResult, validateRequest, type ValidRequest } from './protocol/validate.js';
export { PeerTable, PEER_TABLE_DEFAULTS, type PeerTableLimits, type PeerTableOptions, type PeerInfo, type PeerChange, type PeerRemoval, type PeerRemoveReason, type CandidateOutcome } from './peers/table.js';
export { DEFAULT_WALK_PACE, type WalkPaceOptions } from './peers/walk-pace.js';
export { AddressPolicy, DEFAULT_ADDRESS_POLICY, LOCAL_ADDRESS_POLICY, canonicalPeerAddress, type AddressPolicyOptions, type AddressVerdict, type DialAddress, type AddressRefusal, type AddressClass, type HostKind } from './peers/address-policy.js';
export * from './node/index.js';
export { Inventory, InventoryLog, planRarestFirst, TIE_RUN, encodePositions, decodePositions, type ReadonlyInventory, type ReadonlyInventoryLog, type PlannedPosition, type RarestFirstInput } from './inventory/index.js';
export type { ApplyMode, DecodePositionsOptions, HolderCounting, InventoryLogOptions, SinceOptions } from './inventory/index.js';
export type { Bitmap } from './inventory/bitmap.js';
export { bitmapBackend, bitmapBackendInfo, type BitmapBackendName, type BitmapBackendInfo, type ReadonlyBitmap } from './inventory/index.js';
export { MemoryChunkStore, LmdbChunkStore, verifyClaimed, DEFAULT_MAX_CHUNK_SIZE, DEFAULT_SEQUENCE_CACHE_BYTES, DEFAULT_CHUNK_CACHE_BYTES, type MemoryChunkStoreOptions, type LmdbChunkStoreOptions, type ChunkStorage } from './store/index.js';
export { MemoryChain, DevChain, type AnnounceInput, type MemoryChainOptions, type DevChainOptions, type DevChainRepair } from './chain/index.js';
export { ChainFollower, DEFAULT_FOLLOW, type ChainFollowerOptions, type FollowOptions } from './sync/chain-follow.js';
export { prometheusMetrics, loadPromClient, type PrometheusMetrics, type PrometheusMetricsOptions, type PromClientModule, type PromRegistry } from './node/metrics-prometheus.js';
export type { ModuleImporter, PromCounter, PromGauge, PromHistogram, PromMetricConfig } from './node/metrics-prometheus.js';
export { DEFAULT_RATE_LIMIT, type RateLimitOptions } from './transport/rate-limit.js';
export { DEFAULT_REQUEST_LIMITS, type RequestLimits } from './protocol/request-guard.js';
export { type DownloaderStats } from './sync/downloader.js';
export { DEFAULT_DOWNLOADER, type DownloaderOptions } from './sync/downloader-options.js';
export type { BackoffOptions } from './sync/backoff.js';
export type { HedgeOptions } from './sync/hedge.js';
export type { OmissionOptions } from './sync/omissions.js';
export { DEFAULT_PUSHER, type PusherOptions } from './sync/pusher.js';
export { DEFAULT_EARLY_CONTACTS, type EarlyContactsOptions } from './sync/early-contacts.js';
export { DEFAULT_AUDIT, type AuditOptions, type AuditStats } from './sync/audit.js';
export type { ReplicatorStats } from './sync/replicator-parts.js';
export {
  StacksObserverChain,
  DEFAULT_OBSERVER_LIMITS,
  MAINNET_BNS_CONTRACT,
  TESTNET_BNS_CONTRACT,
  UNBOUND_ADDRESS,
  decodeClarity,
  DEFAULT_CLARITY_LIMITS,
  encodeClarity,
  c32address,
  type StacksObserverChainOptions,
  type StacksObserverStats,
  type StacksAnnouncement,
  type ObserverLimits,
  type ClarityValue,
  type ClarityLimits,
} from './chain/stacks/index.js';
export type { AttachmentListener } from './chain/stacks/observer-chain.js';
export {
  Backfiller,
  DEFAULT_BACKFILL,
  stacksNodeSource,
  mirrorSource,
  attachmentSource,
  peerSource,
  missingRoute,
  type ChunkSource,
  type SourceFetchOptions,
  type BackfillOptions,
  type MissingChunk,
  type AttachmentHolder,
  type BackfillerInit,
} from './sync/sources/index.js';
export type { MissingChunks } from './sync/sources/missing-route.js';
export {
  NameResolver,
  parseZoneFile,
  ZoneFileError,
  DEFAULT_ZONEFILE_LIMITS,
  type ZoneFileLimits,
  subdomainRecords,
  subdomainHistories,
  namesRoutes,
  DEFAULT_SUBDOMAIN_INDEX,
  type SubdomainIndexLimits,
  type NameStatus,
  type NameEntry,
  type Resolution,
  type ResolveOptions,
  type NameSources,
  type NameService,
  type ZoneFile,
  type ZoneRecord,
  type SubdomainRecord,
  type RecordData,
} from './bns/index.js';
