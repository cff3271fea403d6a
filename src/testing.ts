/**
 * `atlasnet/testing`: what tests, simulations and experiments need and an embedder does not: the
 * in-process network, the deterministic simulator and its virtual clock, Byzantine peers, chunk
 * workloads, the random-walk samplers on their own, and the request guards as separate parts
 * (an AtlasNode already runs them).
 */
export {
  MemoryNetwork,
  MemoryTransport,
  type LatencySpec,
  type MemoryNetworkOptions,
  type MemoryNodeStats,
  type MethodStats,
} from './transport/memory.js';
export { MhdaSampler, RandomWalkSampler, backtrackAcceptance } from './peers/mhda.js';
export { WalkSampler } from './peers/walk-sampler.js';
export {
  DEFAULT_BURN_IN,
  type NeighborList,
  type NeighborsFunction,
  type SampleOptions,
  type StepOptions,
  type WalkSamplerOptions,
  type MaybePromise,
} from './peers/walk-types.js';
export { RateLimiter, remoteHost, type RateLimiterHooks } from './transport/rate-limit.js';
export { RequestGuard, type RequestGuardStats } from './protocol/request-guard.js';
export { checkSender, senderMatches, SENDER_BOUND_METHODS } from './protocol/sender-check.js';
export { OutboundGuard, type CallOutcome, type OutboundGuardOptions } from './node/outbound-guard.js';
export { Blocklist, DEFAULT_IPS_PER_NETWORK, DEFAULT_MAX_BLOCKED, type BlocklistOptions, type BlockScope } from './peers/blocklist.js';
export {
  Simulation,
  type AddNodeOptions,
  type RunOutcome,
  type SimNode,
  type SimNodeTuning,
  type SimRole,
  type SimulationOptions,
} from './sim/simulation.js';
export type { Replication, ReplicationOptions, ReplicationSample } from './sim/replication.js';
export type { ReplicationReport } from './sim/verify.js';
export type { Trace, TraceEvent, TraceOptions } from './sim/trace.js';
export type { SimulationFigures, TrafficFigures } from './sim/figures.js';
export type { ReceivedCounts } from './sim/observed-transport.js';
export { VirtualClock } from './sim/virtual-clock.js';
export { ByzantineTransport, BYZANTINE_BEHAVIOURS, type ByzantineBehaviour, type ByzantineOptions } from './sim/byzantine.js';
export { generateChunks, type GeneratedChunk } from './sim/workload.js';
export { SCENARIOS, findScenario, type Scenario, type ScenarioOptions, type ScenarioResult, type Fact, type ScenarioSize } from './sim/scenarios/index.js';
export { ScenarioSizeError } from './sim/scenarios/common.js';
export { SIM_MAX_NODES, SIM_MAX_CHUNKS, SIM_MAX_SEED, SIM_MAX_STORED_BYTES, SIM_AVERAGE_CHUNK_BYTES, SIM_MEMORY_PER_CHUNK_COPY, chunkCopiesMemory } from './sim/limits.js';
