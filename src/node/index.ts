export { AtlasNode, type NodeState } from './atlas-node.js';
export type { AtlasNodeEvents, ChunkEvent } from './events.js';
export { DEFAULT_TIMERS, type AtlasNodeOptions, type NodeTimers } from './options.js';
export { noMetrics, type Metrics, type MetricName } from './metrics.js';
export type { NodeStats } from './stats.js';
