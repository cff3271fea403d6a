export * from './health.js';
export * from './address-policy.js';
export * from './table.js';
export * from './mhda.js';
export * from './walk-sampler.js';
export {
  DEFAULT_BURN_IN,
  type MaybePromise,
  type NeighborList,
  type NeighborsFunction,
  type SampleOptions,
  type StepOptions,
  type WalkSamplerOptions,
} from './walk-types.js';
