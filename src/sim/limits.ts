/**
 * The bounds `atlas sim` puts on a run's sizes, apart from the command so that `atlasnet/testing`
 * can export them without loading it.
 */

/** Most nodes `--nodes` takes: the largest network measured (bench:sim; about 10 GiB of memory and most of an hour). */
export const SIM_MAX_NODES = 10_000;
/** Most chunks `--chunks` takes. */
export const SIM_MAX_CHUNKS = 100_000;
/** Largest `--seed` (the largest integer a double holds exactly, 2^53 - 1). */
export const SIM_MAX_SEED = Number.MAX_SAFE_INTEGER;
/** Bytes of an average generated chunk (the workload's zone-file mix), for the memory bound. */
export const SIM_AVERAGE_CHUNK_BYTES = 180;
/**
 * Most chunk bytes a run may end up holding, every node a copy of every chunk: nodes x chunks x
 * the scenario's chunk size (2 GiB; the `scale` scenario's default, 1,000 x 10,000, is 1.7 GiB).
 */
export const SIM_MAX_STORED_BYTES = 2 * 1024 ** 3;
