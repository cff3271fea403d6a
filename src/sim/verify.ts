/**
 * The strict criterion (SPEC §8, strengthened): every honest node holds every position of the
 * chain's sequence, and the bytes it holds for each hash to the address announced there. Also
 * "zero corrupt chunks stored anywhere": every chunk any node would serve hashes to its address.
 */
import type { Address } from '../address.js';
import type { MemoryChain } from '../chain/memory.js';
import { hash160Batch } from '../hash/index.js';
import type { ChunkStore } from '../store/types.js';

export interface StoreCheck {
  name: string;
  store: ChunkStore;
}

/** The strict check of a run (`ScenarioResult.report`): every honest node holds every position with bytes that hash to its address. */
export interface ReplicationReport {
  /** True when every checked node holds every position with verified bytes. */
  ok: boolean;
  nodes: number;
  positions: number;
  /** (node, position) pairs whose bit is missing or whose sequence entry differs from the chain. */
  missing: number;
  /** Chunks held whose bytes do not hash to their address (must be 0, on every node). */
  corrupt: number;
  /** Distinct chunks whose bytes were hashed. */
  verifiedChunks: number;
  /** The first problems found, for the failure message. */
  problems: string[];
}

const MAX_PROBLEMS = 20;

/** The chain's current sequence of addresses. */
export function chainSequence(chain: MemoryChain): Address[] {
  const addresses: Address[] = [];
  for (let p = 0; p < chain.size; p++) addresses.push((chain.at(p) as { address: Address }).address);
  return addresses;
}

/**
 * Checks `complete` nodes for the full sequence with verified bytes, and `anywhere` nodes (which
 * may be incomplete, e.g. Byzantine ones) only for corrupt chunks.
 */
export function verifyReplication(chain: MemoryChain, complete: readonly StoreCheck[], anywhere: readonly StoreCheck[] = []): ReplicationReport {
  const sequence = chainSequence(chain);
  const distinct = [...new Set(sequence)];
  const report: ReplicationReport = { ok: true, nodes: complete.length, positions: sequence.length, missing: 0, corrupt: 0, verifiedChunks: 0, problems: [] };
  const problem = (text: string) => {
    if (report.problems.length < MAX_PROBLEMS) report.problems.push(text);
  };

  for (const { name, store } of complete) {
    if (store.sequenceLength() !== sequence.length) problem(`${name}: sequence of ${store.sequenceLength()}, chain has ${sequence.length}`);
    for (let p = 0; p < sequence.length; p++) {
      if (store.addressAt(p) !== sequence[p] || !store.inventory.has(p)) {
        report.missing++;
        if (report.missing <= 3) problem(`${name}: position ${p} (${sequence[p]}) missing`);
      }
    }
    const held = distinct.filter((address) => store.has(address));
    if (held.length < distinct.length) problem(`${name}: holds ${held.length} of ${distinct.length} chunks`);
    report.missing += distinct.length - held.length;
    checkBytes(name, store, held, report, problem);
  }
  for (const { name, store } of anywhere) {
    checkBytes(name, store, distinct.filter((address) => store.has(address)), report, problem);
  }
  report.ok = report.missing === 0 && report.corrupt === 0 && report.problems.length === 0;
  return report;
}

function checkBytes(name: string, store: ChunkStore, addresses: readonly Address[], report: ReplicationReport, problem: (text: string) => void): void {
  const BATCH = 1_024;
  for (let i = 0; i < addresses.length; i += BATCH) {
    const batch = addresses.slice(i, i + BATCH);
    const data = batch.map((address) => store.get(address) ?? new Uint8Array(0));
    const hashes = hash160Batch(data);
    batch.forEach((address, j) => {
      const hash = hashes[j] as Uint8Array;
      const actual = Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('hex');
      report.verifiedChunks++;
      if (actual !== address) {
        report.corrupt++;
        problem(`${name}: chunk ${address} holds bytes hashing to ${actual}`);
      }
    });
  }
}
