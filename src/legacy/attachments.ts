/**
 * Stacks 2.x attachment routes, adapted to atlasnet's sequence:
 *
 *   GET /v2/attachments/<address>
 *     200 application/json: the chunk as one JSON string of lower-case hex (Stacks'
 *     GetAttachmentResponse); 404 text/plain "Unable to find attachment".
 *
 *   GET /v2/attachments/inv?index_block_hash=<64 hex>&pages_indexes=<i>,<j>,...
 *     200 application/json: {"block_id": "<index_block_hash>", "pages": [{"index": i,
 *     "inventory": [64 numbers, 1 present / 0 absent]}, ...]} (Stacks' GetAttachmentsInvResponse),
 *     pages ascending, duplicates merged. Page i covers sequence positions [64 i, 64 i + 64);
 *     positions past the end of the sequence read 0.
 *     400 text/plain when index_block_hash is missing or not 64 hex characters, when
 *     pages_indexes is missing, empty or holds anything but unsigned 32-bit integers, or names more
 *     than 8 distinct pages.
 *
 * index_block_hash: Stacks scopes attachment indexes to a block; atlasnet has one sequence for the
 * whole chain, so the hash is checked for syntax, echoed as block_id, and otherwise ignored: the
 * pages always describe the sequence as the node holds it now.
 */
import { isAddress } from '../address.js';
import type { HttpRoute } from '../transport/http.js';
import { refusalFor } from './envelope.js';
import { allowAnyOrigin, send, sendText } from './http-io.js';
import { callNode, readChunk, type NodeAccess } from './node-calls.js';
import { ATTACHMENT_PAGE_SLOTS, type LegacyConfig } from './options.js';

const ATTACHMENT_PATH = /^\/v2\/attachments\/([^/]+)$/;
const INVENTORY_PATH = '/v2/attachments/inv';
const BLOCK_HASH = /^[0-9a-fA-F]{64}$/;
const PAGE_INDEX = /^[0-9]{1,10}$/;
const MAX_PAGE_INDEX = 0xffff_ffff;
const PAGE_BYTES = ATTACHMENT_PAGE_SLOTS / 8;

export interface AttachmentPage {
  index: number;
  inventory: number[];
}

export interface AttachmentsInventory {
  block_id: string;
  pages: AttachmentPage[];
}

class BadQuery extends Error {}

/** The distinct page indexes of a `pages_indexes` value, ascending; BadQuery when malformed. */
export function parsePageIndexes(value: string | null, maxPages: number): number[] {
  if (value === null || value.length === 0) throw new BadQuery('Invalid Http request: expecting pages_indexes');
  const pages = new Set<number>();
  for (const entry of value.split(',')) {
    const page = PAGE_INDEX.test(entry) ? Number(entry) : NaN;
    if (!(page <= MAX_PAGE_INDEX)) throw new BadQuery(`Invalid Http request: page index ${JSON.stringify(entry.slice(0, 16))} is not an unsigned 32-bit integer`);
    pages.add(page);
    if (pages.size > maxPages) throw new BadQuery(`Number of attachment inv pages is limited by ${maxPages} per request`);
  }
  return [...pages].sort((a, b) => a - b);
}

/** One page: 64 slots from the inventory bytes [8 i, 8 i + 8), big-endian bits (SPEC §4). */
async function readPage(access: NodeAccess, index: number): Promise<AttachmentPage> {
  const { bytes } = await callNode(access, 'inventory', { offset: index * PAGE_BYTES, length: PAGE_BYTES });
  const inventory = new Array<number>(ATTACHMENT_PAGE_SLOTS).fill(0);
  for (let slot = 0; slot < ATTACHMENT_PAGE_SLOTS; slot++) {
    const byte = bytes[slot >> 3];
    if (byte !== undefined && (byte & (0x80 >> (slot & 7))) !== 0) inventory[slot] = 1;
  }
  return { index, inventory };
}

export async function attachmentsInventory(access: NodeAccess, query: URLSearchParams, maxPages: number): Promise<AttachmentsInventory> {
  const blockHash = query.get('index_block_hash');
  if (blockHash === null || !BLOCK_HASH.test(blockHash)) throw new BadQuery('Invalid Http request: expecting index_block_hash');
  const indexes = parsePageIndexes(query.get('pages_indexes'), maxPages);
  const pages: AttachmentPage[] = [];
  for (const index of indexes) pages.push(await readPage(access, index));
  return { block_id: blockHash.toLowerCase(), pages };
}

export function attachmentsInventoryRoute(config: Readonly<LegacyConfig>): HttpRoute {
  return {
    method: 'GET',
    match: (pathname) => pathname === INVENTORY_PATH,
    async handle(_req, res, context) {
      allowAnyOrigin(res);
      let reply: AttachmentsInventory;
      try {
        reply = await attachmentsInventory(context, context.url.searchParams, config.maxAttachmentInvPages);
      } catch (error) {
        if (error instanceof BadQuery) sendText(res, 400, error.message);
        else sendText(res, refusalFor(error).http_status, refusalFor(error).error);
        return;
      }
      send(res, 200, 'application/json', JSON.stringify(reply), { 'cache-control': 'no-store' });
    },
  };
}

export function attachmentRoute(): HttpRoute {
  return {
    method: 'GET',
    match(pathname) {
      const match = ATTACHMENT_PATH.exec(pathname);
      return match && match[1] !== 'inv' ? { address: match[1] as string } : undefined;
    },
    async handle(_req, res, context) {
      allowAnyOrigin(res);
      const address = context.params.address ?? '';
      if (!isAddress(address)) {
        sendText(res, 400, 'Invalid Http request: expecting a 40-character hex attachment hash');
        return;
      }
      const data = await readChunk(context, address.toLowerCase());
      if (data === undefined) {
        sendText(res, 404, 'Unable to find attachment');
        return;
      }
      const hex = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');
      send(res, 200, 'application/json', JSON.stringify(hex), { 'cache-control': 'public, max-age=31536000, immutable' });
    },
  };
}
