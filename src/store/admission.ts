/**
 * The admission rules of SPEC §2, shared by every ChunkStore so that both stores refuse exactly
 * the same chunks with exactly the same codes. These functions only decide; they never store.
 *
 * Order of the checks: type, size (so an oversized chunk is never hashed), hash (one batch call
 * for the whole list), then announcement. Rule 3 (we asked that peer for that address) belongs to
 * the sync layer, which knows what it asked for: see `verifyClaimed`.
 */
import { addressFromBytes, digestIs, parseAddress, type Address } from '../address.js';
import { AtlasError, ErrorCodes, InvalidOptionError } from '../errors.js';
import { hash160Batch } from '../hash/index.js';
import { DEFAULT_MAX_CHUNK_SIZE, type PutOutcome, type VerifiedChunk } from './types.js';

/** A chunk that passed admission: its canonical address and its bytes. */
export interface AdmittedChunk {
  ok: true;
  address: Address;
  data: Uint8Array;
  /** The caller's position hint (VerifiedChunk.position) when it was a whole number >= 0; checked by the store. */
  position?: number | undefined;
  /** The address's 20 bytes, when the library had them (a digest found equal to it: parseVerified). */
  key?: Buffer | undefined;
}

/** A chunk that failed admission: its address (undefined when none could be read) and the error it was refused with. */
export type Refusal = PutOutcome & { ok: false };
/** What admission decided for one chunk (`verifyClaimed` gives one per chunk, in order). */
export type AdmissionResult = AdmittedChunk | Refusal;

/** Whether `address` (canonical lower-case hex) is in the current sequence; `index` is the chunk's index in its batch. */
export type IsAnnounced = (address: Address, index: number) => boolean;

/** Size rule: 1..maxChunkSize bytes, and the chunk must be bytes at all. */
export function sizeError(data: unknown, maxChunkSize: number): AtlasError | undefined {
  if (!(data instanceof Uint8Array)) {
    return new AtlasError(ErrorCodes.BAD_REQUEST, `a chunk must be a Uint8Array, got ${describe(data)}`);
  }
  if (data.length === 0) return new AtlasError(ErrorCodes.CHUNK_EMPTY, 'a chunk must hold at least 1 byte');
  if (data.length > maxChunkSize) {
    return new AtlasError(ErrorCodes.CHUNK_TOO_LARGE, `chunk of ${data.length} bytes exceeds the limit of ${maxChunkSize} bytes`, {
      size: data.length,
      maxChunkSize,
    });
  }
  return undefined;
}

export function notAnnouncedError(address: Address): AtlasError {
  return new AtlasError(ErrorCodes.NOT_ANNOUNCED, `chunk ${address} is not announced in the sequence`, { address });
}

/**
 * Admission of raw chunks (put, putMany): the address is the chunk's hash160, computed for every
 * chunk of the right size in ONE batch call.
 */
export function admitChunks(chunks: readonly Uint8Array[], maxChunkSize: number, isAnnounced: IsAnnounced): AdmissionResult[] {
  return checkAnnounced(hashChunks(chunks, maxChunkSize), isAnnounced);
}

/**
 * Admission of chunks whose hash the caller already checked (putVerified): the address is parsed
 * and normalised, then size and announcement are checked as for any chunk.
 */
export function admitVerified(chunks: readonly VerifiedChunk[], maxChunkSize: number, isAnnounced: IsAnnounced): AdmissionResult[] {
  return checkAnnounced(parseVerified(chunks, maxChunkSize), isAnnounced);
}

/**
 * The part of admitChunks that does not depend on the sequence (size, then hash): a store that
 * queues its writes runs it when the call is made, so the bytes hashed are the bytes passed.
 */
export function hashChunks(chunks: readonly Uint8Array[], maxChunkSize: number): AdmissionResult[] {
  if (!Array.isArray(chunks)) throw new AtlasError(ErrorCodes.BAD_REQUEST, 'chunks must be an array');
  const results: (AdmissionResult | undefined)[] = new Array(chunks.length);
  const toHash: Uint8Array[] = [];
  const toHashIndex: number[] = [];
  for (let i = 0; i < chunks.length; i++) {
    const data = chunks[i];
    const error = sizeError(data, maxChunkSize);
    if (error) results[i] = { ok: false, address: undefined, error };
    else {
      toHash.push(data as Uint8Array);
      toHashIndex.push(i);
    }
  }
  const digests = toHash.length > 0 ? hash160Batch(toHash) : [];
  for (let j = 0; j < toHashIndex.length; j++) {
    const digest = digests[j] as Uint8Array;
    const address = addressFromBytes(digest);
    results[toHashIndex[j] as number] = { ok: true, address, data: toHash[j] as Uint8Array, position: undefined };
  }
  return results as AdmissionResult[];
}

/**
 * The part of admitVerified that does not depend on the sequence (address, then size).
 * `digests`: from the library only (handed-over.ts), digests[i] the hash160 of chunks[i], found
 * equal to its address, which is then canonical and needs no parsing: the digest is its bytes.
 */
export function parseVerified(chunks: readonly VerifiedChunk[], maxChunkSize: number, digests?: readonly Buffer[]): AdmissionResult[] {
  if (!Array.isArray(chunks)) throw new AtlasError(ErrorCodes.BAD_REQUEST, 'chunks must be an array');
  const results: AdmissionResult[] = new Array(chunks.length);
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i] as VerifiedChunk | undefined;
    const key = digests?.[i];
    let address: Address;
    try {
      address = key === undefined ? parseAddress(chunk?.address) : (chunk as VerifiedChunk).address;
    } catch (error) {
      results[i] = { ok: false, address: undefined, error: error as AtlasError };
      continue;
    }
    const error = sizeError(chunk?.data, maxChunkSize);
    results[i] = error ? { ok: false, address, error } : { ok: true, address, data: (chunk as VerifiedChunk).data, position: positionHint((chunk as VerifiedChunk).position), key };
  }
  return results;
}

/** A usable position hint, or undefined: anything but a whole number >= 0 is no hint at all. */
function positionHint(position: unknown): number | undefined {
  return typeof position === 'number' && Number.isSafeInteger(position) && position >= 0 ? position : undefined;
}

/** Rule 2: refuses (NOT_ANNOUNCED) every admitted chunk whose address is not in the sequence. */
export function checkAnnounced(results: AdmissionResult[], isAnnounced: IsAnnounced): AdmissionResult[] {
  for (let i = 0; i < results.length; i++) {
    const result = results[i] as AdmissionResult;
    if (result.ok && !isAnnounced(result.address, i)) results[i] = { ok: false, address: result.address, error: notAnnouncedError(result.address) };
  }
  return results;
}

/**
 * Rule 4 for chunks received under a claimed address (a peer's reply to our request): hashes every
 * chunk of an acceptable size in ONE batch call and refuses those whose hash differs
 * (HASH_MISMATCH). Accepted results can go straight to `putVerified`.
 */
export function verifyClaimed(chunks: readonly VerifiedChunk[], maxChunkSize: number): AdmissionResult[] {
  const results = parseVerified(chunks, maxChunkSize);
  const accepted: number[] = [];
  for (let i = 0; i < results.length; i++) if ((results[i] as AdmissionResult).ok) accepted.push(i);
  if (accepted.length === 0) return results;
  const digests = hash160Batch(accepted.map((i) => (results[i] as AdmittedChunk).data));
  accepted.forEach((i, j) => {
    const { address } = results[i] as AdmittedChunk;
    const digest = digests[j] as Uint8Array;
    if (!digestIs(digest, address)) {
      const actual = addressFromBytes(digest);
      results[i] = { ok: false, address, error: new AtlasError(ErrorCodes.HASH_MISMATCH, `chunk hashes to ${actual}, not ${address}`, { address, actual }) };
    }
  });
  return results;
}

/** Throws the refusal's error: put() reports refusals by throwing. */
export function throwIfRefused<T extends PutOutcome>(outcome: T): T & { ok: true } {
  if (!outcome.ok) throw outcome.error;
  return outcome as T & { ok: true };
}

/** Validates a store's maxChunkSize option (default 40,960). */
export function checkMaxChunkSize(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_CHUNK_SIZE;
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidOptionError('maxChunkSize', `expected a positive integer, got ${String(value)}`);
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
