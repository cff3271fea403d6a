/**
 * The JSON a stacks-node event observer receives, read strictly: `/new_block` becomes the block's
 * identity plus the BNS name events it carries; `/attachments/new` becomes verified-shape
 * attachment records. Fields we do not use are ignored; a field we use with the wrong shape is a
 * BAD_REQUEST (the node will retry, and the log says why).
 */
import { NO_CHUNK_ADDRESS } from '../../address.js';
import { AtlasError, ErrorCodes } from '../../errors.js';
import { c32address } from './c32.js';
import { decodeClarity, hexToBytes, type ClarityLimits, type ClarityValue } from './clarity.js';

/** One strict decoder, reused (it keeps no state between whole-buffer decodes). */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Contract id of BNS on Stacks mainnet: the default contract whose prints are names. */
export const MAINNET_BNS_CONTRACT = 'SP000000000000000000002Q6VF78.bns';
/** Contract id of BNS on Stacks testnet. */
export const TESTNET_BNS_CONTRACT = 'ST000000000000000000002AMW42H.bns';
/** The address of an unbound zone file: BNS prints an empty or all-zero hash. */
export const UNBOUND_ADDRESS = NO_CHUNK_ADDRESS;

const BLOCK_HASH = /^0x[0-9a-fA-F]{64}$/;
const TXID = /^0x[0-9a-fA-F]{64}$/;
const CONTENT_HASH = /^0x[0-9a-fA-F]{40}$/;

/** One BNS print (a name operation with its zone file hash) from a committed transaction. */
export interface NameEvent {
  /** The zone file hash, 40 lower-case hex; UNBOUND_ADDRESS when the print unbinds it. */
  address: string;
  /** "name.namespace". */
  key: string;
  /** name-register, name-update, name-transfer, name-revoke, name-import, name-renewal... */
  op: string;
  /** Who owns the name after the operation (a c32 address). */
  owner: string;
  txid: string;
  height: number;
  /** The contract's attachment-index for this print, when it printed one. */
  attachmentIndex?: number;
}

export interface ObservedBlock {
  indexBlockHash: string;
  parentIndexBlockHash: string;
  height: number;
  names: NameEvent[];
}

export interface AttachmentRecord {
  contentHash: string;
  content: Uint8Array;
  attachmentIndex: number;
  indexBlockHash: string;
  txid: string;
  /** True when the content is longer than the bound: it is not decoded (`content` is empty), to be refused on its own. */
  oversized?: true;
}

function bad(message: string): AtlasError {
  return new AtlasError(ErrorCodes.BAD_REQUEST, message);
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

function matching(value: unknown, pattern: RegExp, what: string): string {
  if (typeof value !== 'string' || !pattern.test(value)) throw bad(`${what} is malformed`);
  return value.toLowerCase();
}

function height(value: unknown, what: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw bad(`${what} must be a non-negative integer`);
  return value as number;
}

function field(tupleValue: ClarityValue, name: string): ClarityValue {
  if (tupleValue.type !== 'tuple') throw bad(`BNS print: expected a tuple holding "${name}"`);
  const value = tupleValue.entries.get(name);
  if (value === undefined) throw bad(`BNS print: no "${name}" entry`);
  return value;
}

function buffText(value: ClarityValue, what: string, maxBytes: number): string {
  if (value.type !== 'buff' || value.value.length === 0 || value.value.length > maxBytes) throw bad(`BNS print: ${what} must be a buffer of 1 to ${maxBytes} bytes`);
  try {
    return UTF8.decode(value.value);
  } catch {
    throw bad(`BNS print: ${what} is not UTF-8`);
  }
}

function principalText(value: ClarityValue): string {
  if (value.type !== 'principal') throw bad('BNS print: tx-sender must be a principal');
  const base = c32address(value.version, value.hash160);
  return value.contractName === undefined ? base : `${base}.${value.contractName}`;
}

/**
 * The name event in a BNS print's `raw_value`; undefined for a print of the contract that is no
 * name event (a tuple without `attachment`: bns.clar's namespace-ready prints
 * `{namespace, status, properties}`); BAD_REQUEST when it is not the BNS shape.
 */
export function parseBnsPrint(rawValue: string, context: { txid: string; height: number }, limits?: Partial<ClarityLimits>): NameEvent | undefined {
  const printed = decodeClarity(rawValue, limits);
  if (printed.type === 'tuple' && !printed.entries.has('attachment')) return undefined;
  const attachment = field(printed, 'attachment');
  const hash = field(attachment, 'hash');
  if (hash.type !== 'buff' || (hash.value.length !== 0 && hash.value.length !== 20)) throw bad('BNS print: hash must be a buffer of 0 or 20 bytes');
  const metadata = field(attachment, 'metadata');
  const op = field(metadata, 'op');
  if (op.type !== 'string-ascii' || op.value.length === 0 || op.value.length > 32) throw bad('BNS print: op must be a short string-ascii');
  const hex = Buffer.from(hash.value).toString('hex');
  const event: NameEvent = {
    address: hex.length === 0 ? UNBOUND_ADDRESS : hex,
    key: `${buffText(field(metadata, 'name'), 'name', 48)}.${buffText(field(metadata, 'namespace'), 'namespace', 20)}`,
    op: op.value,
    owner: principalText(field(metadata, 'tx-sender')),
    txid: context.txid,
    height: context.height,
  };
  const index = attachment.type === 'tuple' ? attachment.entries.get('attachment-index') : undefined;
  if (index !== undefined) {
    if (index.type !== 'uint' || index.value > BigInt(Number.MAX_SAFE_INTEGER)) throw bad('BNS print: attachment-index must be a uint');
    event.attachmentIndex = Number(index.value);
  }
  return event;
}

/** The recipient of a BNS name NFT transfer or mint (import, register), keyed by "txid name.namespace". */
function nftRecipient(event: Record<string, unknown>, contracts: ReadonlySet<string>): [string, string] | undefined {
  const transfer = object(event[event.type as string], String(event.type));
  const asset = typeof transfer.asset_identifier === 'string' ? transfer.asset_identifier : '';
  const [contract, assetName] = asset.split('::');
  if (assetName !== 'names' || contract === undefined || !contracts.has(contract)) return undefined;
  if (typeof transfer.recipient !== 'string' || transfer.recipient.length > 200 || typeof transfer.raw_value !== 'string') throw bad('nft_transfer_event is malformed');
  const value = decodeClarity(transfer.raw_value);
  const key = `${buffText(field(value, 'name'), 'name', 48)}.${buffText(field(value, 'namespace'), 'namespace', 20)}`;
  return [`${String(event.txid).toLowerCase()} ${key}`, transfer.recipient];
}

export interface ParseBlockOptions {
  contracts: ReadonlySet<string>;
  /** Most BNS events taken from one block (default 10,000). */
  maxNameEvents: number;
  /** Called for a BNS print or name NFT event that could not be decoded (it is skipped). */
  onBadEvent?: (error: AtlasError, txid: string) => void;
}

/** The recipient of the last move before event `at`, else of the first after it (a print before its move), else none. */
function ownerAt(moves: readonly { at: number; recipient: string }[] | undefined, at: number): string | undefined {
  if (moves === undefined) return undefined;
  let before: string | undefined;
  for (const move of moves) {
    if (move.at > at) return before ?? move.recipient;
    before = move.recipient;
  }
  return before;
}

/** Reads a `/new_block` payload. */
export function parseNewBlock(payload: unknown, options: ParseBlockOptions): ObservedBlock {
  const body = object(payload, '/new_block payload');
  const blockHeight = height(body.block_height, 'block_height');
  const block: ObservedBlock = {
    indexBlockHash: matching(body.index_block_hash, BLOCK_HASH, 'index_block_hash'),
    parentIndexBlockHash: matching(body.parent_index_block_hash, BLOCK_HASH, 'parent_index_block_hash'),
    height: blockHeight,
    names: [],
  };
  const events = body.events ?? [];
  if (!Array.isArray(events)) throw bad('events must be an array');
  // Each name NFT's recipients in event order, by "txid name": bns.clar moves the NFT, then prints.
  const recipients = new Map<string, { at: number; recipient: string }[]>();
  const prints: { event: Record<string, unknown>; txid: string; at: number }[] = [];
  for (const [at, item] of events.entries()) {
    const event = object(item, 'an event');
    if (event.committed === false) continue; // a failed transaction's events
    if (event.type === 'nft_transfer_event' || event.type === 'nft_mint_event') {
      try {
        const recipient = nftRecipient(event, options.contracts);
        if (recipient) {
          const moves = recipients.get(recipient[0]);
          if (moves === undefined) recipients.set(recipient[0], [{ at, recipient: recipient[1] }]);
          else moves.push({ at, recipient: recipient[1] });
        }
      } catch (error) {
        // Like a bad print: skipped and reported, or stacks-node would redeliver the block forever.
        if (!(error instanceof AtlasError)) throw error;
        options.onBadEvent?.(error, String(event.txid));
      }
      continue;
    }
    if (event.type !== 'contract_event') continue;
    const contract = object(event.contract_event, 'contract_event');
    if (contract.topic !== 'print' || typeof contract.contract_identifier !== 'string' || !options.contracts.has(contract.contract_identifier)) continue;
    if (prints.length >= options.maxNameEvents) throw new AtlasError(ErrorCodes.TOO_MANY, `a block carries more than ${options.maxNameEvents} BNS events`);
    prints.push({ event: contract, txid: matching(event.txid, TXID, 'event txid'), at });
  }
  for (const { event, txid, at } of prints) {
    try {
      if (typeof event.raw_value !== 'string') throw bad('BNS print: raw_value must be a hex string');
      const name = parseBnsPrint(event.raw_value, { txid, height: blockHeight });
      if (name === undefined) continue; // a namespace print: no name changes
      // A transfer or an import prints the sender; the name's owner is the recipient of the NFT's
      // last move before the print (a transaction may register a name, then transfer it).
      name.owner = ownerAt(recipients.get(`${txid} ${name.key}`), at) ?? name.owner;
      block.names.push(name);
    } catch (error) {
      if (!(error instanceof AtlasError)) throw error;
      options.onBadEvent?.(error, txid);
    }
  }
  return block;
}

/**
 * Reads an `/attachments/new` payload (a JSON array, of any length: its body's bytes are its
 * bound). Contents are hex-decoded, not yet verified; one longer than `maxContentBytes` is not
 * decoded but marked `oversized` (a stacks-node accepts larger attachments: refusing the whole
 * delivery would have it redelivered for ever).
 */
export function parseAttachments(payload: unknown, maxContentBytes: number): AttachmentRecord[] {
  if (!Array.isArray(payload)) throw bad('/attachments/new payload must be a JSON array');
  return payload.map((item) => {
    const record = object(item, 'an attachment');
    if (typeof record.content !== 'string') throw bad('attachment content must be a hex string');
    const oversized = record.content.length > (record.content.startsWith('0x') ? 2 : 0) + maxContentBytes * 2;
    const parsed: AttachmentRecord = {
      contentHash: matching(record.content_hash, CONTENT_HASH, 'content_hash').slice(2),
      content: oversized ? new Uint8Array(0) : hexToBytes(record.content),
      attachmentIndex: height(record.attachment_index, 'attachment_index'),
      indexBlockHash: matching(record.index_block_hash, BLOCK_HASH, 'index_block_hash'),
      txid: matching(record.tx_id, TXID, 'tx_id'),
    };
    if (oversized) parsed.oversized = true;
    return parsed;
  });
}
