export type { ChunkSource, SourceFetchOptions } from './types.js';
export { stacksNodeSource, mirrorSource } from './http-sources.js';
export { attachmentSource, peerSource, type AttachmentHolder } from './local-sources.js';
export { Backfiller, DEFAULT_BACKFILL, type BackfillOptions, type BackfillerInit, type MissingChunk } from './backfill.js';
export { missingRoute, MISSING_PATH } from './missing-route.js';
