export { AtlasError, ErrorCodes, isAtlasError, type ErrorCode } from './errors.js';
export { isAddress, parseAddress, type Address } from './address.js';
export { systemClock, silentLogger, seededRandom, type Clock, type Random, type Logger, type LogLevel } from './runtime.js';
export { hash160, hash160Hex, hash160Batch, hashBackend } from './hash/index.js';
export type { Announcement, ChainAdapter, ChainEvent, ChainListener } from './chain/types.js';
export type { ChunkStore, PutOutcome, VerifiedChunk } from './store/types.js';
export * from './protocol/messages.js';
export { DEFAULT_LIMITS, resolveLimits, type ProtocolLimits } from './protocol/limits.js';
export type { Transport, TransportService, CallOptions, RequestContext, TransportStats } from './transport/types.js';
