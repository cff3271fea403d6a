/**
 * The one validation layer every transport runs: requests from callers (`validateParams`) and
 * replies from peers (`validateResult`). Peers may lie, so both are strict: every field is
 * checked, every list is bounded by a named limit, and the value returned is rebuilt from the
 * checked fields only (unknown extra fields are ignored, never passed through).
 *
 * Pure functions, no I/O. They throw only AtlasError:
 * - requests: UNKNOWN_METHOD, BAD_REQUEST (naming the field), BAD_ADDRESS, TOO_MANY, TOO_LARGE;
 * - replies: BAD_REPLY for any violation.
 *
 * putChunks and oversize chunks: SPEC §3 refuses a chunk individually (saved[i] = false), so a
 * chunk longer than maxChunkSize passes validation and the service refuses it. What bounds the
 * call instead is its total size: at most maxPutChunks × maxChunkSize bytes (the largest call an
 * honest peer can make), else TOO_LARGE, whatever the transport's own body limit.
 *
 * One validator per method for requests and for replies, side by side, so that what a node
 * accepts and what it sends are checked against the same reading of SPEC; getChunks, with its two
 * reply forms, has its own module (get-chunks.ts), and the field readers are in fields.ts.
 */
import { positionCount } from '../inventory/varint.js';
import { parsePeerAddress } from '../peer-address.js';
import { AtlasError, ErrorCodes, hasControlCharacters, isAtlasError, type ErrorCode } from '../errors.js';
import { boolean, bytes, count, describe, failReply, failRequest, list, object, own, type Fail, type Fields } from './fields.js';
import { getChunksParams, getChunksResult } from './get-chunks.js';
import { DEFAULT_LIMITS, type ProtocolLimits } from './limits.js';
import {
  isMethod,
  type InventoryChangesParams,
  type InventoryChangesResult,
  type InventoryParams,
  type InventoryResult,
  type InventoryVersion,
  type Method,
  type OfferParams,
  type OfferResult,
  type ParamsOf,
  type PeersParams,
  type PeersResult,
  type PingParams,
  type PingResult,
  type PutChunksParams,
  type PutChunksResult,
  type ResultOf,
} from './messages.js';

/** Longest inventory epoch id accepted (an opaque token naming one run of a node's inventory log). */
export const MAX_EPOCH_LENGTH = 64;
/** Longest sequence digest accepted, in hex characters. */
export const MAX_DIGEST_LENGTH = 128;
/** Bytes one delta-varint position can take: positions are unsigned 32-bit, 7 bits per byte. */
export const MAX_VARINT_BYTES = 5;

/** A request after validation, discriminated by method so a switch narrows the params. */
export type ValidRequest = { [M in Method]: { method: M; params: ParamsOf<M> } }[Method];


function networkId(value: unknown, field: string, limits: Readonly<ProtocolLimits>, fail: Fail): string {
  if (typeof value !== 'string') fail(ErrorCodes.BAD_REQUEST, field, `expected a string, got ${describe(value)}`);
  if (value.length === 0 || value.length > limits.maxNetworkIdLength) {
    fail(ErrorCodes.BAD_REQUEST, field, `length ${value.length}, expected 1 to ${limits.maxNetworkIdLength}`);
  }
  if (hasControlCharacters(value)) fail(ErrorCodes.BAD_REQUEST, field, 'contains control characters');
  return value;
}

/**
 * A peer address is `host:port` (hostname, IPv4, or [IPv6]) or a bare name (MemoryNetwork).
 * This is syntax only: characters that could break a URL or a log line never pass. Whether an
 * address may be dialled is the peer layer's address policy.
 */
const NAME_CHARACTERS = /^[A-Za-z0-9._~-]+$/;
// No IPv6 zone id ("%eth0"): it could break a URL.
const IPV6_CHARACTERS = /^[0-9A-Fa-f:.]+$/;

/**
 * Addresses whose syntax was found valid lately: a peer-exchange reply lists up to 80, mostly the
 * same ones every time, and parsing each was a tenth of an idle simulation. Bounded: cleared when
 * full, so unique addresses sent by anyone cost no more than without it.
 */
const validSyntax = new Set<string>();
const VALID_SYNTAX_REMEMBERED = 4_096;

export function isPeerAddressSyntax(value: unknown, maxLength: number = DEFAULT_LIMITS.maxPeerAddressLength): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) return false;
  if (validSyntax.has(value)) return true;
  // The length is checked above; the syntax does not depend on maxLength.
  const peer = parsePeerAddress(value, value.length);
  const valid = peer !== undefined && (peer.family === 6 ? IPV6_CHARACTERS : NAME_CHARACTERS).test(peer.host);
  if (valid && value.length <= DEFAULT_LIMITS.maxPeerAddressLength) {
    if (validSyntax.size >= VALID_SYNTAX_REMEMBERED) validSyntax.clear();
    validSyntax.add(value);
  }
  return valid;
}

function peerAddress(value: unknown, field: string, limits: Readonly<ProtocolLimits>, fail: Fail): string {
  if (typeof value !== 'string') fail(ErrorCodes.BAD_REQUEST, field, `expected a peer address string, got ${describe(value)}`);
  if (!isPeerAddressSyntax(value, limits.maxPeerAddressLength)) {
    fail(ErrorCodes.BAD_REQUEST, field, `not a peer address (host:port or a name, at most ${limits.maxPeerAddressLength} characters)`);
  }
  return value;
}

const EPOCH = /^[\x21-\x7e]+$/;
const HEX = /^[0-9a-fA-F]+$/;

function inventoryVersion(value: unknown, field: string, fail: Fail): InventoryVersion {
  const fields = object(value, field, fail);
  const epoch = own(fields, 'epoch');
  if (typeof epoch !== 'string' || epoch.length > MAX_EPOCH_LENGTH || !EPOCH.test(epoch)) {
    fail(ErrorCodes.BAD_REQUEST, `${field}.epoch`, `expected 1 to ${MAX_EPOCH_LENGTH} printable ASCII characters`);
  }
  return { epoch, version: count(own(fields, 'version'), `${field}.version`, fail) };
}

/** Missing params (undefined or null) read as an empty object, so required fields are named. */
function paramsObject(method: Method, raw: unknown, fail: Fail): Fields {
  return raw === undefined || raw === null ? {} : object(raw, method, fail);
}

// ---------------------------------------------------------------------------------------------
// Requests

type ParamsValidator<M extends Method> = (fields: Fields, limits: Readonly<ProtocolLimits>, fail: Fail) => ParamsOf<M>;

function pingParams(fields: Fields, limits: Readonly<ProtocolLimits>, fail: Fail): PingParams {
  const params: PingParams = {
    network: networkId(own(fields, 'network'), 'ping.network', limits, fail),
    sequenceLength: count(own(fields, 'sequenceLength'), 'ping.sequenceLength', fail),
  };
  const from = own(fields, 'from');
  if (from !== undefined) params.from = peerAddress(from, 'ping.from', limits, fail);
  return params;
}

function peersParams(fields: Fields, limits: Readonly<ProtocolLimits>, fail: Fail): PeersParams {
  const from = own(fields, 'from');
  return from === undefined ? {} : { from: peerAddress(from, 'peers.from', limits, fail) };
}

function inventoryParams(fields: Fields, limits: Readonly<ProtocolLimits>, fail: Fail): InventoryParams {
  const offset = count(own(fields, 'offset'), 'inventory.offset', fail);
  const length = count(own(fields, 'length'), 'inventory.length', fail);
  if (length > limits.maxInventoryBytes) {
    fail(ErrorCodes.BAD_REQUEST, 'inventory.length', `${length} bytes, at most ${limits.maxInventoryBytes}`);
  }
  return { offset, length };
}

function inventoryChangesParams(fields: Fields, limits: Readonly<ProtocolLimits>, fail: Fail): InventoryChangesParams {
  const params: InventoryChangesParams = { since: inventoryVersion(own(fields, 'since'), 'inventoryChanges.since', fail) };
  const from = own(fields, 'from');
  if (from !== undefined) params.from = peerAddress(from, 'inventoryChanges.from', limits, fail);
  const offers = own(fields, 'offers');
  if (offers !== undefined) params.offers = boolean(offers, 'inventoryChanges.offers', fail);
  return params;
}

/** Delta-varint position lists (inventoryChanges.added, offer.added) are bounded in bytes. */
function positionBytes(value: unknown, field: string, limits: Readonly<ProtocolLimits>, fail: Fail): Uint8Array {
  return bytes(value, field, limits.maxInventoryChanges * MAX_VARINT_BYTES, fail);
}

function offerParams(fields: Fields, limits: Readonly<ProtocolLimits>, fail: Fail): OfferParams {
  return {
    from: peerAddress(own(fields, 'from'), 'offer.from', limits, fail),
    added: positionBytes(own(fields, 'added'), 'offer.added', limits, fail),
  };
}

function putChunksParams(fields: Fields, limits: Readonly<ProtocolLimits>, fail: Fail): PutChunksParams {
  const raw = list(own(fields, 'chunks'), 'putChunks.chunks', limits.maxPutChunks, fail);
  const maxTotal = limits.maxPutChunks * limits.maxChunkSize;
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < raw.length; i++) {
    const chunk = bytes(raw[i], `putChunks.chunks[${i}]`, Number.MAX_SAFE_INTEGER, fail);
    total += chunk.length;
    if (total > maxTotal) fail(ErrorCodes.TOO_LARGE, 'putChunks.chunks', `more than ${maxTotal} bytes in one call`);
    chunks.push(chunk);
  }
  // A peer's push names itself (the receiver then only offers the chunks onward); a client's put does not.
  const from = own(fields, 'from');
  return from === undefined ? { chunks } : { chunks, from: peerAddress(from, 'putChunks.from', limits, fail) };
}

const paramsValidators: { [M in Method]: ParamsValidator<M> } = {
  ping: pingParams,
  peers: peersParams,
  inventory: inventoryParams,
  inventoryChanges: inventoryChangesParams,
  getChunks: getChunksParams,
  putChunks: putChunksParams,
  offer: offerParams,
};

/** Runs `check`, turning anything unexpected it throws into an AtlasError of `code`. */
function guarded<T>(code: ErrorCode, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (isAtlasError(error)) throw error;
    throw new AtlasError(code, 'malformed message', undefined, { cause: error });
  }
}

function requireMethod(method: unknown): Method {
  if (!isMethod(method)) {
    const shown = typeof method === 'string' ? JSON.stringify(method.slice(0, 64)) : describe(method);
    throw new AtlasError(ErrorCodes.UNKNOWN_METHOD, `unknown method ${shown}`);
  }
  return method;
}

/** Validates a caller's params for `method`; returns a fresh object holding only checked fields. */
export function validateParams<M extends Method>(method: M, raw: unknown, limits?: Readonly<ProtocolLimits>): ParamsOf<M>;
export function validateParams(method: string, raw: unknown, limits?: Readonly<ProtocolLimits>): ParamsOf<Method>;
export function validateParams(method: string, raw: unknown, limits: Readonly<ProtocolLimits> = DEFAULT_LIMITS): ParamsOf<Method> {
  return validateRequest(method, raw, limits).params;
}

/** Like validateParams, for a method name from the wire: the result's `method` narrows `params`. */
export function validateRequest(method: string, raw: unknown, limits: Readonly<ProtocolLimits> = DEFAULT_LIMITS): ValidRequest {
  const known = requireMethod(method);
  return guarded(ErrorCodes.BAD_REQUEST, () => {
    const validator = paramsValidators[known] as ParamsValidator<Method>;
    return { method: known, params: validator(paramsObject(known, raw, failRequest), limits, failRequest) } as ValidRequest;
  });
}

// ---------------------------------------------------------------------------------------------
// Replies

type ResultValidator<M extends Method> = (
  fields: Fields,
  limits: Readonly<ProtocolLimits>,
  request: ParamsOf<M> | undefined,
) => ResultOf<M>;

const fail = failReply;

function pingResult(fields: Fields, limits: Readonly<ProtocolLimits>, request: PingParams | undefined): PingResult {
  const sequenceLength = count(own(fields, 'sequenceLength'), 'ping.sequenceLength', fail);
  const chunkCount = count(own(fields, 'chunkCount'), 'ping.chunkCount', fail);
  const digestLength = count(own(fields, 'digestLength'), 'ping.digestLength', fail);
  // Distinct announced chunks cannot outnumber positions; the digest covers a prefix of both sequences.
  if (chunkCount > sequenceLength) fail(ErrorCodes.BAD_REPLY, 'ping.chunkCount', 'exceeds sequenceLength');
  const maxDigestLength = request === undefined ? sequenceLength : Math.min(sequenceLength, request.sequenceLength);
  if (digestLength > maxDigestLength) fail(ErrorCodes.BAD_REPLY, 'ping.digestLength', `exceeds ${maxDigestLength}`);
  const digest = own(fields, 'digest');
  if (typeof digest !== 'string' || digest.length > MAX_DIGEST_LENGTH || !HEX.test(digest)) {
    return fail(ErrorCodes.BAD_REPLY, 'ping.digest', `expected 1 to ${MAX_DIGEST_LENGTH} hex characters`);
  }
  return {
    protocol: count(own(fields, 'protocol'), 'ping.protocol', fail),
    network: networkId(own(fields, 'network'), 'ping.network', limits, fail),
    sequenceLength,
    chunkCount,
    digestLength,
    digest: digest.toLowerCase(),
    inventory: inventoryVersion(own(fields, 'inventory'), 'ping.inventory', fail),
  };
}

/**
 * The reply each address was last listed in, for peersResult's duplicate check: a Set of its own
 * for each reply, grown entry by entry to up to maxPeersReply, was an eighth of what an idle
 * simulation allocated. Bounded: cleared between two replies when the next one could take it past
 * the bound.
 */
const listedIn = new Map<string, number>();
const LISTED_REMEMBERED = 4_096;
let replies = 0;

function peersResult(fields: Fields, limits: Readonly<ProtocolLimits>): PeersResult {
  const raw = list(own(fields, 'peers'), 'peers.peers', limits.maxPeersReply, fail);
  const peers = new Array<string>(raw.length);
  if (listedIn.size + raw.length > LISTED_REMEMBERED) listedIn.clear();
  const reply = ++replies;
  for (let i = 0; i < raw.length; i++) {
    // The field is named only for an entry that fails: a reply holds up to maxPeersReply of them,
    // and naming each was most of the cost of checking a valid one.
    const value = raw[i];
    const peer = isPeerAddressSyntax(value, limits.maxPeerAddressLength) ? value : peerAddress(value, `peers.peers[${i}]`, limits, fail);
    if (listedIn.get(peer) === reply) fail(ErrorCodes.BAD_REPLY, `peers.peers[${i}]`, 'duplicate');
    listedIn.set(peer, reply);
    peers[i] = peer;
  }
  return { peers };
}

/** Bytes of the inventory vector of a sequence of `n` (SPEC §4). */
function vectorBytes(sequenceLength: number): number {
  return Math.ceil(sequenceLength / 8);
}

function inventoryResult(fields: Fields, limits: Readonly<ProtocolLimits>, request: InventoryParams | undefined): InventoryResult {
  const sequenceLength = count(own(fields, 'sequenceLength'), 'inventory.sequenceLength', fail);
  const inventory = inventoryVersion(own(fields, 'inventory'), 'inventory.inventory', fail);
  const vector = vectorBytes(sequenceLength);
  const data = bytes(own(fields, 'bytes'), 'inventory.bytes', Math.min(limits.maxInventoryBytes, vector), fail);
  if (request !== undefined) {
    // The reply is the range [offset, offset+length) clamped to the vector: its length is exact.
    const expected = Math.min(request.length, Math.max(0, vector - request.offset));
    if (data.length !== expected) fail(ErrorCodes.BAD_REPLY, 'inventory.bytes', `${data.length} bytes, expected ${expected}`);
    const last = request.offset + data.length - 1;
    const padBits = vector * 8 - sequenceLength;
    if (data.length > 0 && last === vector - 1 && padBits > 0) {
      const padMask = (1 << padBits) - 1;
      if (((data[data.length - 1] as number) & padMask) !== 0) fail(ErrorCodes.BAD_REPLY, 'inventory.bytes', 'bits set past the sequence end');
    }
  }
  const packed = own(fields, 'packedAddresses');
  return {
    sequenceLength,
    inventory,
    bytes: data,
    ...positiveField(fields, 'maxGetAddresses'),
    ...positiveField(fields, 'maxGetChunksBytes'),
    ...(packed !== undefined && boolean(packed, 'inventory.packedAddresses', fail) ? { packedAddresses: true } : {}),
  };
}

/** An optional whole number of at least 1, as `{ [key]: n }`, or `{}` when absent. */
function positiveField<K extends string>(fields: Fields, key: K): { [P in K]?: number } {
  const raw = own(fields, key);
  if (raw === undefined) return {};
  const value = count(raw, `inventory.${key}`, fail);
  if (value === 0) fail(ErrorCodes.BAD_REPLY, `inventory.${key}`, 'must be at least 1');
  return { [key]: value } as { [P in K]?: number };
}

function inventoryChangesResult(
  fields: Fields,
  limits: Readonly<ProtocolLimits>,
  request: InventoryChangesParams | undefined,
): InventoryChangesResult {
  const complete = boolean(own(fields, 'complete'), 'inventoryChanges.complete', fail);
  const sequenceLength = count(own(fields, 'sequenceLength'), 'inventoryChanges.sequenceLength', fail);
  const inventory = inventoryVersion(own(fields, 'inventory'), 'inventoryChanges.inventory', fail);
  const offeringField = own(fields, 'offering');
  const offering = offeringField === undefined ? {} : { offering: boolean(offeringField, 'inventoryChanges.offering', fail) };
  if (!complete) return { complete, sequenceLength, inventory, ...offering };
  if (request !== undefined) {
    // A complete answer continues the caller's log: same epoch, not older than asked.
    if (inventory.epoch !== request.since.epoch) fail(ErrorCodes.BAD_REPLY, 'inventoryChanges.inventory.epoch', 'complete reply from another epoch');
    if (inventory.version < request.since.version) fail(ErrorCodes.BAD_REPLY, 'inventoryChanges.inventory.version', 'older than asked');
  }
  const added = positionBytes(own(fields, 'added'), 'inventoryChanges.added', limits, fail);
  return { complete, sequenceLength, inventory, added, ...offering };
}

function putChunksResult(fields: Fields, limits: Readonly<ProtocolLimits>, request: PutChunksParams | undefined): PutChunksResult {
  const raw = list(own(fields, 'saved'), 'putChunks.saved', limits.maxPutChunks, fail);
  if (request !== undefined && raw.length !== request.chunks.length) {
    fail(ErrorCodes.BAD_REPLY, 'putChunks.saved', `${raw.length} answers for ${request.chunks.length} chunks`);
  }
  const saved: boolean[] = [];
  for (let i = 0; i < raw.length; i++) saved.push(boolean(raw[i], `putChunks.saved[${i}]`, fail));
  return { saved };
}

function offerResult(fields: Fields, limits: Readonly<ProtocolLimits>, request: OfferParams | undefined): OfferResult {
  const wanted = count(own(fields, 'wanted'), 'offer.wanted', fail);
  const offered = request === undefined ? limits.maxInventoryChanges : positionCount(request.added);
  if (wanted > offered) fail(ErrorCodes.BAD_REPLY, 'offer.wanted', `${wanted} wanted of ${offered} offered`);
  return { wanted };
}

const resultValidators: { [M in Method]: ResultValidator<M> } = {
  ping: pingResult,
  peers: peersResult,
  inventory: inventoryResult,
  inventoryChanges: inventoryChangesResult,
  getChunks: getChunksResult,
  putChunks: putChunksResult,
  offer: offerResult,
};

/**
 * Validates a peer's reply to `method`. With `request` (the params as sent, after
 * validateParams) it also checks the reply against the question: only addresses asked for, the
 * exact clamped inventory range, one answer per chunk put, a digest no longer than both sequences.
 * A getChunks reply need not answer every address: one absent from both lists is unanswered
 * (neither "have" nor "don't have").
 */
export function validateResult<M extends Method>(method: M, raw: unknown, limits?: Readonly<ProtocolLimits>, request?: ParamsOf<M>): ResultOf<M>;
export function validateResult(method: string, raw: unknown, limits?: Readonly<ProtocolLimits>): ResultOf<Method>;
export function validateResult(
  method: string,
  raw: unknown,
  limits: Readonly<ProtocolLimits> = DEFAULT_LIMITS,
  request?: ParamsOf<Method>,
): ResultOf<Method> {
  const known = requireMethod(method);
  return guarded(ErrorCodes.BAD_REPLY, () => {
    const validator = resultValidators[known] as ResultValidator<Method>;
    return validator(object(raw, known, fail), limits, request);
  });
}
