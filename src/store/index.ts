export { DEFAULT_MAX_CHUNK_SIZE, type ChunkStorage, type ChunkStore, type DiscardOutcome, type PutOutcome, type VerifiedChunk } from './types.js';
export {
  admitChunks,
  admitVerified,
  checkAnnounced,
  checkMaxChunkSize,
  hashChunks,
  parseVerified,
  notAnnouncedError,
  sizeError,
  throwIfRefused,
  verifyClaimed,
  type AdmissionResult,
  type AdmittedChunk,
  type IsAnnounced,
  type Refusal,
} from './admission.js';
export { MAX_SEQUENCE_LENGTH, validateTruncate } from './announcements.js';
export {
  DIGEST_BYTES,
  DIGEST_CHECKPOINT_INTERVAL,
  SequenceDigest,
  ZERO_DIGEST,
  digestOf,
  digestStep,
  type AddressRangeReader,
  type DigestAppendPlan,
  type DigestCheckpoint,
} from './sequence-digest.js';
export { BackedChunkStore, type ChunkStoreOptions } from './chunk-store.js';
export type { ChunkRecords, StoreBackend } from './backend.js';
export { MemoryChunkStore, type MemoryChunkStoreOptions } from './memory.js';
export { LmdbChunkStore, STORE_FORMAT_MAGIC, STORE_FORMAT_VERSION, type LmdbChunkStoreOptions } from './lmdb.js';
export { CHUNK_LOG_FILE } from './chunk-log-format.js';
export { DEFAULT_SEQUENCE_CACHE_BYTES } from './sequence-pages.js';
export { DEFAULT_CHUNK_CACHE_BYTES } from './recent-records.js';
export type { ChunkLogScan } from './chunk-log.js';
