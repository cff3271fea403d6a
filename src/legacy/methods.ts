/**
 * The original Atlas RPC methods, translated into atlasnet protocol calls. Argument checks and
 * their messages are the original server's (blockstackd `rpc_*`), so legacy clients see the
 * refusals they know; the node then applies its own validation and limits on top.
 */
import { isAddress } from '../address.js';
import { isAtlasError, ErrorCodes } from '../errors.js';
import { isPeerAddressSyntax } from '../protocol/validate.js';
import { refusal, refusalFor, success, type LegacyDocument } from './envelope.js';
import { callNode, nodeState, sequenceLength, type NodeAccess } from './node-calls.js';
import type { LegacyConfig } from './options.js';
import type { XmlRpcValue } from './xmlrpc-value.js';

export interface LegacyMethod {
  /** Number of positional arguments. */
  arity: number;
  run(args: readonly XmlRpcValue[], access: NodeAccess, config: Readonly<LegacyConfig>): Promise<LegacyDocument>;
}

/** Base64 as the original accepted it (the empty string included). */
const BASE64_OR_EMPTY = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** The peer shape the original clients accept ("host:port", port of 2 to 5 digits): others are left out. */
const LEGACY_PEER = /^([^:]+):([1-9][0-9]{1,4})$/;

function isCount(value: XmlRpcValue | undefined): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function legacyPeers(peers: readonly string[]): string[] {
  return peers.filter((peer) => LEGACY_PEER.test(peer) && Number(LEGACY_PEER.exec(peer)?.[2]) <= 65_535);
}

const ping: LegacyMethod = {
  arity: 0,
  // The original ping is not an envelope: clients assert status === "alive". We add the envelope's
  // other fields, which clients ignore.
  async run(_args, access, config) {
    return { status: 'alive', version: config.serverVersion, indexing: false, lastblock: await sequenceLength(access) };
  },
};

const getinfo: LegacyMethod = {
  arity: 0,
  async run(_args, access, config) {
    const state = await nodeState(access, config.network);
    const blocks = state.sequenceLength;
    return success(blocks, {
      // the fields the original clients require
      server_alive: true,
      server_version: config.serverVersion,
      last_block_seen: blocks,
      last_block_processed: blocks,
      consensus: state.digest,
      zonefile_count: state.chunkCount,
      testnet: state.network !== 'mainnet',
      // atlasnet's own names for the same facts
      network: state.network,
      protocol_version: state.protocol,
      sequence_length: state.sequenceLength,
    });
  },
};

const getZonefiles: LegacyMethod = {
  arity: 1,
  async run([hashes], access, config) {
    if (!Array.isArray(hashes)) return refusal('Invalid zonefile hashes');
    if (hashes.length > config.maxGetZonefiles) return refusal(`Too many requests (no more than ${config.maxGetZonefiles} allowed)`);
    // Canonical (lower-case) and distinct: a hash spelt in several letter cases is served once,
    // and the reply's keys are what a client gets by hashing the zone file (the original Python
    // client re-hashes each one and rejects the whole batch on a mismatch).
    const asked = new Set<string>();
    for (const hash of hashes) {
      if (!isAddress(hash)) return refusal('Invalid zone file hash');
      asked.add(hash.toLowerCase());
    }
    const result = asked.size === 0 ? { chunks: [] } : await callNode(access, 'getChunks', { addresses: [...asked] });
    const zonefiles: Record<string, string> = {};
    for (const chunk of result.chunks) if (asked.has(chunk.address)) zonefiles[chunk.address] = base64(chunk.data);
    return success(await sequenceLength(access), { zonefiles });
  },
};

const putZonefiles: LegacyMethod = {
  arity: 1,
  async run([datas], access, config) {
    if (!Array.isArray(datas)) return refusal('Invalid data');
    if (datas.length > config.maxPutZonefiles) return refusal('Too many zonefiles');
    const maxBase64 = Math.floor((4 * config.maxZonefileBytes) / 3) + 3;
    const invalidPayload = `Invalid zone file payload (exceeds ${config.maxZonefileBytes} bytes and/or not base64-encoded)`;
    const decoded: Uint8Array[] = [];
    for (const data of datas) {
      // Base64 text is what the original clients send; an XML-RPC <base64> value is taken as is.
      if (data instanceof Uint8Array) decoded.push(data);
      else if (typeof data === 'string' && data.length <= maxBase64 && BASE64_OR_EMPTY.test(data)) decoded.push(new Uint8Array(Buffer.from(data, 'base64')));
      else return refusal(invalidPayload);
    }
    // Too long for a zone file: refused here, individually (saved 0), as the original did.
    const storable = decoded.map((chunk) => chunk.length <= config.maxZonefileBytes);
    const chunks = decoded.filter((_chunk, i) => storable[i]);
    const saved = chunks.length === 0 ? [] : (await callNode(access, 'putChunks', { chunks })).saved;
    let next = 0;
    const flags = storable.map((ok) => (ok && saved[next++] === true ? 1 : 0));
    return success(await sequenceLength(access), { saved: flags });
  },
};

const getZonefileInventory: LegacyMethod = {
  arity: 2,
  async run([offset, length], access, config) {
    if (!isCount(offset)) return refusal('invalid offset');
    if (!isCount(length) || length > config.maxInventoryBytes) return refusal('invalid length');
    const result = await callNode(access, 'inventory', { offset, length });
    return success(result.sequenceLength, { inv: base64(result.bytes) });
  },
};

const getAtlasPeers: LegacyMethod = {
  arity: 0,
  // The original enqueued the caller at (its IP, the default RPC port); a caller's listening port
  // is unknown here, so nothing is enqueued: use atlas_peer_exchange to offer an address.
  async run(_args, access) {
    const { peers } = await callNode(access, 'peers', {});
    return success(await sequenceLength(access), { peers: legacyPeers(peers) });
  },
};

const atlasPeerExchange: LegacyMethod = {
  arity: 1,
  // The caller's address becomes a candidate peer, admitted only after it answers our ping
  // (SPEC §5.2) and only if the node's address policy allows it.
  async run([remotePeer], access) {
    const invalid = refusal('Invalid remote peer address');
    if (typeof remotePeer !== 'string' || !isPeerAddressSyntax(remotePeer) || !/:[0-9]+$/.test(remotePeer)) return invalid;
    let peers: string[];
    try {
      peers = (await callNode(access, 'peers', { from: remotePeer })).peers;
    } catch (error) {
      if (isAtlasError(error, ErrorCodes.BAD_REQUEST)) return invalid;
      throw error;
    }
    return success(await sequenceLength(access), { peers: legacyPeers(peers.filter((peer) => peer !== remotePeer)) });
  },
};

export const LEGACY_METHODS: Readonly<Record<string, LegacyMethod>> = Object.freeze({
  ping,
  getinfo,
  get_zonefiles: getZonefiles,
  put_zonefiles: putZonefiles,
  get_zonefile_inventory: getZonefileInventory,
  get_atlas_peers: getAtlasPeers,
  atlas_peer_exchange: atlasPeerExchange,
});

export function legacyMethod(name: string): LegacyMethod | undefined {
  return Object.prototype.hasOwnProperty.call(LEGACY_METHODS, name) ? LEGACY_METHODS[name] : undefined;
}

/** Runs a method; a refusal the node raises becomes an `{error, http_status}` document. */
export async function runLegacyMethod(
  method: LegacyMethod,
  args: readonly XmlRpcValue[],
  access: NodeAccess,
  config: Readonly<LegacyConfig>,
): Promise<LegacyDocument> {
  try {
    return await method.run(args, access, config);
  } catch (error) {
    return { ...refusalFor(error) };
  }
}
