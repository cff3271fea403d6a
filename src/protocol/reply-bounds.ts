/**
 * The largest reply each method's answer can be from a peer within our limits, handed to the
 * transport with every call (CallOptions.maxReplyBytes): a peer answering a ping, an offer or a
 * peer exchange with megabytes is cut off at the bound instead of being read to the transport's
 * own (8 MiB over HTTP) and only then refused by validation. Each bound allows JSON as well as
 * msgpack (byte strings as base64, a third longer) and generous room for the fixed fields.
 */
import type { ProtocolLimits } from './limits.js';
import type { Method } from './messages.js';
import { MAX_VARINT_BYTES } from './validate.js';

/** Room for a reply's fixed fields (counts, versions, an epoch, a network id) or for an error reply, bytes. */
export const FIXED_REPLY_BYTES = 16 * 1024;

/** A byte string of `length` bytes as either codec writes it: base64 in JSON, plus its framing. */
function byteString(length: number): number {
  return Math.ceil(length / 3) * 4 + 16;
}

/**
 * The largest reply of `method` a valid answer takes under `limits`, bytes; undefined for
 * getChunks, whose replies the serving peer bounds by its own maxGetChunksBytes (which may be
 * above ours): the transport's bound alone applies there.
 */
export function maxReplyBytesOf(method: Method, limits: Readonly<ProtocolLimits>): number | undefined {
  switch (method) {
    case 'ping':
    case 'offer':
      return FIXED_REPLY_BYTES;
    case 'putChunks':
      return FIXED_REPLY_BYTES + limits.maxPutChunks * 8;
    case 'peers':
      // Each address quoted, escaped at worst as \uXXXX in JSON (six bytes a character), and separated.
      return FIXED_REPLY_BYTES + limits.maxPeersReply * (limits.maxPeerAddressLength * 6 + 4);
    case 'inventory':
      return FIXED_REPLY_BYTES + byteString(limits.maxInventoryBytes);
    case 'inventoryChanges':
      return FIXED_REPLY_BYTES + byteString(limits.maxInventoryChanges * MAX_VARINT_BYTES);
    case 'getChunks':
      return undefined;
  }
}
