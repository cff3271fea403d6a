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
 * Most memory a run's chunk copies may take, every node a copy of every chunk: nodes x chunks x
 * (the scenario's chunk size + SIM_MEMORY_PER_CHUNK_COPY), 2 GiB. Nodes take about 0.5-1 MiB
 * each besides, bounded by SIM_MAX_NODES.
 */
export const SIM_MAX_STORED_BYTES = 2 * 1024 ** 3;

/**
 * Memory a run takes for each chunk copy (one node holding one chunk) beyond the chunk's own
 * bytes. Measured: peak RSS (/usr/bin/time -v) of `atlas sim mesh --quiet --json` from the
 * sources (tsx), Node 20, 180 B chunks on average, 2 shared cores:
 *
 *   nodes x chunks   peak RSS      nodes x chunks   peak RSS
 *   2 x 100          118 MiB       40 x 20,000      820 MiB
 *   20 x 5,000       284 MiB       200 x 500        374 MiB
 *   40 x 5,000       389 MiB       400 x 250        477 MiB
 *   80 x 5,000       490 MiB       800 x 50         588 MiB
 *   20 x 20,000      501 MiB
 *
 * A least-squares fit gives about 180 MB + 525 KB a node + 822 B a chunk copy (the chunk's 180 B
 * included); single steps ranged from 0.5 to 1.1 KB a copy, and a run of 110 x 100,000 passed
 * 5 GB. So 1 KiB a copy beyond the chunk (1,204 B for 180 B chunks, about 45% above the fit):
 * counting the chunk's bytes alone let through runs 5 to 10 times larger than 2 GiB.
 */
export const SIM_MEMORY_PER_CHUNK_COPY = 1024;

/** Estimated memory of a run's chunk copies, `nodes` x `chunks` chunks of `chunkBytes`: every node ends up holding every chunk. */
export function chunkCopiesMemory(nodes: number, chunks: number, chunkBytes: number): number {
  return nodes * chunks * (chunkBytes + SIM_MEMORY_PER_CHUNK_COPY);
}
