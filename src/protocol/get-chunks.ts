/**
 * getChunks on the wire, both ways, and its two reply forms.
 *
 * The listed form, { chunks: [{ address, data }], missing: [address], later?: [address] }, names
 * every address again beside its answer. The in-order form, asked for with `inOrder: true`, is
 *
 *   { inOrder: [bytes | null, ...] }
 *
 * where inOrder[i] answers addresses[i] of the request: the chunk's bytes, or null when not held;
 * the addresses past the list's end are put off for the reply's size (`later`). The caller
 * already holds the addresses, and hashes every chunk against the address it asked under, so
 * repeating them only cost bytes and parsing: 40 hex characters beside a real zone file of under
 * 200 bytes. A peer that does not know the flag ignores it and answers in the listed form, which
 * is always accepted.
 *
 * The request's addresses are hex strings, or packed: one byte string of 20 bytes an address,
 * half the bytes and nothing to parse. A peer says it reads the packed form in its inventory
 * replies (`packedAddresses: true`); an older one would refuse it, so it is sent only to a peer
 * that said so.
 */
import { ADDRESS_BYTES, writeAddressBytes, type Address } from '../address.js';
import { AtlasError, ErrorCodes } from '../errors.js';
import { boolean, bytes, chunkAddress, failReply as fail, list, object, own, type Fail, type Fields } from './fields.js';
import type { ProtocolLimits } from './limits.js';
import type { GetChunksParams, GetChunksResult } from './messages.js';

/** The in-order form of a getChunks reply (see the module comment). */
export interface InOrderReply {
  inOrder: (Uint8Array | null)[];
}

/** Addresses, hex or packed, are normalised to lower-case hex; duplicates are dropped (first occurrence kept). */
export function getChunksParams(fields: Fields, limits: Readonly<ProtocolLimits>, failRequest: Fail): GetChunksParams {
  const value = own(fields, 'addresses');
  const seen = new Set<Address>();
  if (value instanceof Uint8Array) {
    for (const address of unpackAddresses(value, limits.maxGetAddresses, failRequest)) seen.add(address);
  } else {
    const raw = list(value, 'getChunks.addresses', limits.maxGetAddresses, failRequest);
    for (let i = 0; i < raw.length; i++) seen.add(chunkAddress(raw[i], `getChunks.addresses[${i}]`, failRequest));
  }
  const inOrder = own(fields, 'inOrder');
  const params: GetChunksParams = { addresses: [...seen] };
  if (inOrder !== undefined && boolean(inOrder, 'getChunks.inOrder', failRequest)) params.inOrder = true;
  return params;
}

/** The packed form of a request's addresses (valid ones: validateParams first): 20 bytes each, in order. */
export function packAddresses(addresses: readonly Address[]): Uint8Array {
  // Zeroed, and its own memory (not a slice of Node's shared pool): nothing else can go out with it.
  const packed = Buffer.alloc(addresses.length * ADDRESS_BYTES);
  for (let i = 0; i < addresses.length; i++) {
    const address = addresses[i] as Address;
    if (!writeAddressBytes(address, packed, i * ADDRESS_BYTES)) {
      throw new AtlasError(ErrorCodes.BAD_ADDRESS, `not a chunk address (40 hex characters): ${JSON.stringify(String(address).slice(0, 64))}`);
    }
  }
  return packed;
}

/**
 * How many addresses an unchecked request's `addresses` names: a list's length, or packed bytes
 * 20 an address, a partial one counted whole; 0 for anything else (validation refuses it later).
 */
export function requestedAddressCount(addresses: unknown): number {
  if (Array.isArray(addresses)) return addresses.length;
  return addresses instanceof Uint8Array ? Math.ceil(addresses.length / ADDRESS_BYTES) : 0;
}

/** The whole 20-byte addresses at the start of `packed`, at most `max` of them, as lower-case hex. */
export function unpackedAddresses(packed: Uint8Array, max: number): Address[] {
  const view = Buffer.from(packed.buffer, packed.byteOffset, packed.length);
  const count = Math.min(max, Math.floor(packed.length / ADDRESS_BYTES));
  const addresses: Address[] = new Array(count);
  for (let i = 0; i < count; i++) addresses[i] = view.toString('hex', i * ADDRESS_BYTES, (i + 1) * ADDRESS_BYTES);
  return addresses;
}

function unpackAddresses(packed: Uint8Array, maxAddresses: number, failRequest: Fail): Address[] {
  // Counted before the alignment is checked, so too many addresses is TOO_MANY in both forms.
  const count = requestedAddressCount(packed);
  if (count > maxAddresses) failRequest(ErrorCodes.TOO_MANY, 'getChunks.addresses', `${count} items, at most ${maxAddresses}`);
  if (packed.length % ADDRESS_BYTES !== 0) failRequest(ErrorCodes.BAD_REQUEST, 'getChunks.addresses', `${packed.length} bytes, not a whole number of ${ADDRESS_BYTES}-byte addresses`);
  return unpackedAddresses(packed, count);
}

/**
 * The reply to send for `params`: `result` itself, or its in-order form when asked and `result`
 * can take it: every address answered once, the ones put off (`later`) the request's tail, as
 * the store's verified reader answers. Any other result (a service of the embedder's own) goes
 * out listed, which the caller also accepts.
 */
export function getChunksReply(params: GetChunksParams, result: GetChunksResult): GetChunksResult | InOrderReply {
  if (params.inOrder !== true) return result;
  const { addresses } = params;
  const later = result.later ?? [];
  const answered = addresses.length - later.length;
  if (result.chunks.length + result.missing.length !== answered) return result;
  for (let i = 0; i < later.length; i++) if (later[i] !== addresses[answered + i]) return result;
  return inRequestOrder(addresses, answered, result) ?? inAnyOrder(addresses, answered, result);
}

/**
 * The in-order answers when the result lists its chunks and its missing addresses each in request
 * order, as the store's verified reader does (it appends a chunk found corrupt to `missing` out of
 * order): one walk, no map. Undefined when they are not in that order.
 */
function inRequestOrder(addresses: readonly Address[], answered: number, result: GetChunksResult): InOrderReply | undefined {
  const { chunks, missing } = result;
  const inOrder: (Uint8Array | null)[] = new Array(answered);
  let chunk = 0;
  let gone = 0;
  for (let i = 0; i < answered; i++) {
    const address = addresses[i];
    const next = chunks[chunk];
    if (next !== undefined && next.address === address) {
      inOrder[i] = next.data;
      chunk++;
    } else if (gone < missing.length && missing[gone] === address) {
      inOrder[i] = null;
      gone++;
    } else return undefined;
  }
  return { inOrder };
}

function inAnyOrder(addresses: readonly Address[], answered: number, result: GetChunksResult): GetChunksResult | InOrderReply {
  const found = new Map<Address, Uint8Array>();
  for (const chunk of result.chunks) found.set(chunk.address, chunk.data);
  const missing = new Set(result.missing);
  const inOrder: (Uint8Array | null)[] = new Array(answered);
  for (let i = 0; i < answered; i++) {
    const address = addresses[i] as Address;
    const data = found.get(address);
    if (data !== undefined) inOrder[i] = data;
    else if (missing.has(address)) inOrder[i] = null;
    else return result; // unanswered, or answered twice while another went unanswered
  }
  return { inOrder };
}

/** A peer's getChunks reply, in either form, as the listed form. */
export function getChunksResult(fields: Fields, limits: Readonly<ProtocolLimits>, request: GetChunksParams | undefined): GetChunksResult {
  const inOrder = own(fields, 'inOrder');
  if (inOrder === undefined) return listedResult(fields, limits, request);
  if (own(fields, 'chunks') !== undefined || own(fields, 'missing') !== undefined || own(fields, 'later') !== undefined) {
    fail(ErrorCodes.BAD_REPLY, 'getChunks', 'both reply forms at once');
  }
  // Only the request says which address each answer belongs to.
  if (request?.inOrder !== true) return fail(ErrorCodes.BAD_REPLY, 'getChunks.inOrder', 'an in-order reply to a request that did not ask for one');
  return inOrderResult(inOrder, limits, request.addresses);
}

function inOrderResult(value: unknown, limits: Readonly<ProtocolLimits>, asked: readonly Address[]): GetChunksResult {
  const raw = list(value, 'getChunks.inOrder', asked.length, fail);
  const chunks: GetChunksResult['chunks'] = [];
  const missing: Address[] = [];
  for (let i = 0; i < raw.length; i++) {
    const entry = raw[i];
    const address = asked[i] as Address;
    if (entry === null) {
      missing.push(address);
      continue;
    }
    if (!(entry instanceof Uint8Array) || entry.length === 0 || entry.length > limits.maxChunkSize) refuseInOrderEntry(entry, i, limits.maxChunkSize);
    chunks.push({ address, data: entry });
  }
  if (raw.length === asked.length) return { chunks, missing };
  // "Later" is for a reply full of bytes: one without a chunk would let a peer stall us for ever.
  if (chunks.length === 0) fail(ErrorCodes.BAD_REPLY, 'getChunks.inOrder', 'addresses put off in a reply without any chunk');
  return { chunks, missing, later: asked.slice(raw.length) };
}

/** Refuses the bad in-order entry `i`; its field is named only here, not for every good chunk (a string a chunk). */
function refuseInOrderEntry(entry: unknown, i: number, maxChunkSize: number): never {
  const field = `getChunks.inOrder[${i}]`;
  bytes(entry, field, maxChunkSize, fail);
  return fail(ErrorCodes.BAD_REPLY, field, 'empty chunk');
}

function listedResult(fields: Fields, limits: Readonly<ProtocolLimits>, request: GetChunksParams | undefined): GetChunksResult {
  const asked = request === undefined ? undefined : new Set(request.addresses);
  const maxItems = asked === undefined ? limits.maxGetAddresses : asked.size;
  const rawChunks = list(own(fields, 'chunks'), 'getChunks.chunks', maxItems, fail);
  const rawMissing = list(own(fields, 'missing'), 'getChunks.missing', maxItems, fail);
  const laterField = own(fields, 'later');
  const rawLater = laterField === undefined ? [] : list(laterField, 'getChunks.later', maxItems, fail);
  if (rawChunks.length + rawMissing.length + rawLater.length > maxItems) fail(ErrorCodes.BAD_REPLY, 'getChunks', `more than ${maxItems} addresses answered`);
  if (rawLater.length > 0 && rawChunks.length === 0) fail(ErrorCodes.BAD_REPLY, 'getChunks.later', 'addresses put off in a reply without any chunk');
  const seen = new Set<Address>();
  const answered = (value: unknown, field: string): Address => {
    const address = chunkAddress(value, field, fail);
    if (seen.has(address)) fail(ErrorCodes.BAD_REPLY, field, 'address answered twice');
    if (asked !== undefined && !asked.has(address)) fail(ErrorCodes.BAD_REPLY, field, 'address not asked for');
    seen.add(address);
    return address;
  };
  const chunks: GetChunksResult['chunks'] = [];
  for (let i = 0; i < rawChunks.length; i++) {
    const field = `getChunks.chunks[${i}]`;
    const entry = object(rawChunks[i], field, fail);
    const address = answered(own(entry, 'address'), `${field}.address`);
    const data = bytes(own(entry, 'data'), `${field}.data`, limits.maxChunkSize, fail);
    if (data.length === 0) fail(ErrorCodes.BAD_REPLY, `${field}.data`, 'empty chunk');
    chunks.push({ address, data });
  }
  const missing: Address[] = [];
  for (let i = 0; i < rawMissing.length; i++) missing.push(answered(rawMissing[i], `getChunks.missing[${i}]`));
  if (laterField === undefined) return { chunks, missing };
  const later: Address[] = [];
  for (let i = 0; i < rawLater.length; i++) later.push(answered(rawLater[i], `getChunks.later[${i}]`));
  return { chunks, missing, later };
}
