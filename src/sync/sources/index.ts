export type { ChunkSource, SourceFetchOptions } from './types.js';
export { stacksNodeSource, mirrorSource } from './http-sources.js';
export { attachmentSource, peerSource, type AttachmentHolder } from './local-sources.js';
export { Backfiller, type BackfillerInit } from './backfill.js';
export { DEFAULT_BACKFILL, type BackfillOptions, type MissingChunk } from './backfill-types.js';
export { missingRoute, MISSING_PATH } from './missing-route.js';
