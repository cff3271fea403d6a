export { StacksObserverChain, type StacksObserverChainOptions, type StacksObserverStats, type AttachmentListener } from './observer-chain.js';
export { DEFAULT_OBSERVER_LIMITS, type ObserverLimits } from './observer-http.js';
export { MAINNET_BNS_CONTRACT, TESTNET_BNS_CONTRACT, UNBOUND_ADDRESS, parseBnsPrint, parseNewBlock, parseAttachments, type NameEvent, type ObservedBlock, type AttachmentRecord } from './payloads.js';
export { decodeClarity, encodeClarity, tuple, DEFAULT_CLARITY_LIMITS, type ClarityValue, type ClarityLimits } from './clarity.js';
export { c32address } from './c32.js';
export type { StacksAnnouncement } from './block-tree.js';
