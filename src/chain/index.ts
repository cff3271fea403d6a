export type { Announcement, ChainAdapter, ChainEvent, ChainListener } from './types.js';
export {
  DEFAULT_MAX_READ_LIMIT,
  MAX_KEY_LENGTH,
  MAX_TXID_LENGTH,
  checkAnnouncement,
  toAnnouncements,
  type AnnounceInput,
} from './announcement.js';
export { ChainListeners } from './listeners.js';
export { MemoryChain, type MemoryChainOptions } from './memory.js';
export { DEFAULT_MAX_LINE_BYTES, DevChain, type DevChainOptions, type DevChainRepair } from './dev.js';
