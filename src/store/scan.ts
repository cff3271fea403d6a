/**
 * A full check of a store, for `atlas check`: every stored chunk of the sequence hashed (in
 * batches, with the native batch hash160 when present), the derived inventory cross-checked
 * against the sequence and the address index, the counters and the sequence digest recomputed.
 * It reads through the ChunkStore interface only and changes nothing.
 *
 * A damaged LMDB file can crash the process that reads it (lmdb-js aborts on some page damage),
 * so the CLI runs this in a child process (src/cli/check-worker.ts) and reports such a crash.
 */
import type { Address } from '../address.js';
import { hash160Batch } from '../hash/index.js';
import type { ChunkLogScan } from './chunk-log.js';
import { digestOf } from './sequence-digest.js';
import type { ChunkStore } from './types.js';

/** Chunks hashed per batch call. */
const HASH_BATCH = 1_024;
/** Problems listed by kind, at most (the counts are complete). */
const MAX_LISTED = 20;

export interface ScanReport {
  ok: boolean;
  sequenceLength: number;
  /** Distinct addresses announced in the sequence. */
  addresses: number;
  /** Distinct announced chunks stored, and their bytes. */
  chunks: number;
  bytes: number;
  /** Positions whose chunk is stored (what the inventory must say). */
  held: number;
  /** Stored chunks whose bytes do not hash to their address. */
  corrupt: number;
  /** Positions where the sequence and the address index disagree, or the sequence has a hole. */
  indexMismatches: number;
  /** Positions whose inventory bit disagrees with what is stored. */
  inventoryMismatches: number;
  /** chunkCount(), chunkBytes() and the inventory's count against what the scan found. */
  counterMismatches: string[];
  /** The stored sequence digest against the one recomputed from the sequence. */
  digestMatches: boolean;
  /** Up to 20 problems, one line each. */
  problems: string[];
  /** For a store whose chunks are in a log: what reading it found (its damaged records count in `corrupt`). */
  chunkLog?: { records: number; damaged: number; cutBytes: number };
}

/** `report` with what opening a chunk log found: records that failed their hash, and a torn end. */
export function withChunkLog(report: ScanReport, scan: ChunkLogScan): ScanReport {
  const problems = [...report.problems];
  if (scan.damaged > 0) problems.unshift(`chunk log: ${scan.damaged} record(s) whose bytes do not hash to their address (skipped; their chunks are fetched again)`);
  if (scan.cut > 0) problems.unshift(`chunk log: ${scan.cut} byte(s) at its end are not a whole record (a write cut short); they are cut off before the next write`);
  return {
    ...report,
    ok: report.ok && scan.damaged === 0 && scan.cut === 0,
    corrupt: report.corrupt + scan.damaged,
    problems: problems.slice(0, MAX_LISTED),
    chunkLog: { records: scan.records, damaged: scan.damaged, cutBytes: scan.cut },
  };
}

export function scanStore(store: ChunkStore): ScanReport {
  const length = store.sequenceLength();
  const problems: string[] = [];
  const note = (line: string) => {
    if (problems.length < MAX_LISTED) problems.push(line);
  };
  const firstPosition = new Map<Address, number>();
  const sequence: Uint8Array[] = [];
  let indexMismatches = 0;
  for (let position = 0; position < length; position++) {
    const address = store.addressAt(position);
    if (address === undefined) {
      indexMismatches++;
      note(`position ${position}: no address in the sequence`);
      sequence.push(new Uint8Array(20));
      continue;
    }
    sequence.push(Buffer.from(address, 'hex'));
    if (!firstPosition.has(address)) firstPosition.set(address, position);
    if (!store.positionsOf(address).includes(position)) {
      indexMismatches++;
      note(`position ${position}: the address index of ${address} does not list it`);
    }
  }

  let corrupt = 0;
  let bytes = 0;
  const pending: { address: Address; data: Uint8Array }[] = [];
  const flush = () => {
    const digests = hash160Batch(pending.map((chunk) => chunk.data));
    pending.forEach((chunk, i) => {
      const digest = digests[i] as Uint8Array;
      if (Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString('hex') === chunk.address) return;
      corrupt++;
      note(`chunk ${chunk.address} (position ${firstPosition.get(chunk.address)}): its bytes do not hash to its address`);
    });
    pending.length = 0;
  };
  let stored = 0;
  for (const address of firstPosition.keys()) {
    const data = store.get(address);
    if (data === undefined) continue;
    stored++;
    bytes += data.byteLength;
    pending.push({ address, data });
    if (pending.length >= HASH_BATCH) flush();
  }
  flush();

  let held = 0;
  let inventoryMismatches = 0;
  for (let position = 0; position < length; position++) {
    const address = store.addressAt(position);
    const present = address !== undefined && store.has(address);
    if (present) held++;
    if (store.inventory.has(position) !== present) {
      inventoryMismatches++;
      note(`position ${position}: inventory bit ${store.inventory.has(position) ? 'set' : 'clear'}, chunk ${present ? 'stored' : 'absent'}`);
    }
  }

  const counterMismatches: string[] = [];
  const compare = (what: string, stated: number, found: number) => {
    if (stated !== found) counterMismatches.push(`${what}: the store says ${stated}, the scan found ${found}`);
  };
  compare('chunk count', store.chunkCount(), stored);
  compare('chunk bytes', store.chunkBytes(), bytes);
  compare('inventory count', store.inventory.count, held);
  const digestMatches = Buffer.from(digestOf(sequence)).toString('hex') === store.sequenceDigest();
  if (!digestMatches) note('the stored sequence digest differs from the one recomputed from the sequence');
  for (const line of counterMismatches) note(line);
  return {
    ok: corrupt === 0 && indexMismatches === 0 && inventoryMismatches === 0 && counterMismatches.length === 0 && digestMatches,
    sequenceLength: length,
    addresses: firstPosition.size,
    chunks: stored,
    bytes,
    held,
    corrupt,
    indexMismatches,
    inventoryMismatches,
    counterMismatches,
    digestMatches,
    problems,
  };
}
