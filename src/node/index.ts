export { AtlasNode, type LiveNodeState, type NodeState } from './atlas-node.js';
export { TypedEmitter, type AtlasNodeEvents, type AtlasNodeEventMap, type ChunkEvent, type CorruptChunkEvent, type ProgressEvent } from './events.js';
export { FetchResult, type FetchOptions } from '../sync/fetch.js';
export { DEFAULT_TIMERS, type AtlasNodeOptions, type NestedPartial, type NodeTimers } from './options.js';
export { resolveNodeOptions, type ResolvedNodeOptions, type NodeStorage } from './resolve-options.js';
export { noMetrics, LATENCY_BUCKETS, type Metrics, type MetricName, type HistogramName } from './metrics.js';
export type { NodeStats } from './stats.js';
