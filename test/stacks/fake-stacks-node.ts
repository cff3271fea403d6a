/**
 * A fake stacks-node for tests and benches: builds `/new_block` and `/attachments/new` payloads in
 * the shapes stacks-node emits (BNS prints serialized as real Clarity values), posts them to an
 * observer the way the node does (retrying until 200), and serves GET /v2/attachments/<hash>.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { encodeClarity, tuple, type ClarityValue } from '../../src/chain/stacks/clarity.js';
import { hash160Hex } from '../../src/hash/index.js';

export const BNS = 'SP000000000000000000002Q6VF78.bns';

const buff = (value: Uint8Array | string): ClarityValue => ({ type: 'buff', value: typeof value === 'string' ? Buffer.from(value, 'utf8') : value });

export interface NameOp {
  name: string; // "alice.id"
  op: 'name-register' | 'name-update' | 'name-transfer' | 'name-revoke' | 'name-import' | 'name-renewal';
  /** Zone file bytes, or undefined for an unbinding print (hash 0x). */
  zonefile?: Uint8Array;
  sender?: Uint8Array; // hash160 of the sender
  /** The sender principal's version byte (default 22, mainnet single-sig). */
  senderVersion?: number;
  /** For a transfer: the new owner's c32 address (an nft_transfer_event is emitted). */
  recipient?: string;
  committed?: boolean;
}

export function bnsPrintHex(op: NameOp, attachmentIndex: number): string {
  const [name, namespace] = splitName(op.name);
  const hash = op.zonefile === undefined ? new Uint8Array(0) : Buffer.from(hash160Hex(op.zonefile), 'hex');
  const value = tuple({
    attachment: tuple({
      hash: buff(hash),
      'attachment-index': { type: 'uint', value: BigInt(attachmentIndex) },
      metadata: tuple({
        name: buff(name),
        namespace: buff(namespace),
        op: { type: 'string-ascii', value: op.op },
        'tx-sender': { type: 'principal', version: op.senderVersion ?? 22, hash160: op.sender ?? new Uint8Array(20).fill(7) },
      }),
    }),
  });
  return `0x${Buffer.from(encodeClarity(value)).toString('hex')}`;
}

function splitName(full: string): [string, string] {
  const dot = full.lastIndexOf('.');
  return [full.slice(0, dot), full.slice(dot + 1)];
}

export function txid(): string {
  return `0x${randomBytes(32).toString('hex')}`;
}

export function blockHash(label: string): string {
  return `0x${createHash('sha256').update(label).digest('hex')}`;
}

/** Builds the chain a fake node emits: blocks with BNS prints, forks, attachments. */
export class FakeChain {
  attachmentIndex = 0;
  readonly blocks = new Map<string, { height: number; payload: Record<string, unknown> }>();
  tip = blockHash('genesis');
  height = 0;
  readonly attachments: Record<string, unknown>[] = [];

  /** A /new_block payload on top of `parent` (default the tip) carrying `ops`. */
  block(ops: readonly NameOp[], parent = this.tip, label = `${parent}/${this.blocks.size}`): Record<string, unknown> {
    const height = parent === blockHash('genesis') ? 1 : ((this.blocks.get(parent)?.height ?? 0) + 1);
    const hash = blockHash(label);
    const events: Record<string, unknown>[] = [];
    const transactions: Record<string, unknown>[] = [];
    for (const op of ops) {
      const id = txid();
      transactions.push({ txid: id, tx_index: transactions.length, status: op.committed === false ? 'abort_by_response' : 'success', raw_result: '0x0703', raw_tx: '0x00' });
      if (op.recipient !== undefined) {
        const [name, namespace] = splitName(op.name);
        events.push({
          txid: id,
          event_index: events.length,
          committed: op.committed !== false,
          type: 'nft_transfer_event',
          nft_transfer_event: { asset_identifier: `${BNS}::names`, sender: 'SP1', recipient: op.recipient, raw_value: `0x${Buffer.from(encodeClarity(tuple({ name: buff(name), namespace: buff(namespace) }))).toString('hex')}` },
        });
      }
      const index = op.committed === false ? this.attachmentIndex : this.attachmentIndex++;
      events.push({
        txid: id,
        event_index: events.length,
        committed: op.committed !== false,
        type: 'contract_event',
        contract_event: { contract_identifier: BNS, topic: 'print', raw_value: bnsPrintHex(op, index), value: null },
      });
      if (op.zonefile !== undefined && op.committed !== false) {
        this.attachments.push({
          attachment_index: index,
          index_block_hash: hash,
          block_height: height,
          content_hash: `0x${hash160Hex(op.zonefile)}`,
          contract_id: BNS,
          metadata: '0x0c00000000',
          tx_id: id,
          content: `0x${Buffer.from(op.zonefile).toString('hex')}`,
        });
      }
    }
    const payload = {
      block_hash: hash,
      block_height: height,
      burn_block_time: 1_700_000_000 + height,
      burn_block_hash: blockHash(`burn${height}`),
      burn_block_height: 800_000 + height,
      index_block_hash: hash,
      parent_block_hash: parent,
      parent_index_block_hash: parent,
      parent_microblock: '0x' + '00'.repeat(32),
      miner_txid: txid(),
      transactions,
      events,
      matured_miner_rewards: [],
    };
    this.blocks.set(hash, { height, payload });
    if (height > this.height) {
      this.height = height;
      this.tip = hash;
    }
    return payload;
  }

  /** The /attachments/new deliveries collected so far (and forgets them). */
  takeAttachments(): Record<string, unknown>[] {
    return this.attachments.splice(0);
  }
}

/** POSTs JSON like stacks-node: retries (bounded here) until the observer answers 200. */
export async function deliver(observer: string, path: string, body: unknown, tries = 50): Promise<number> {
  let status = 0;
  for (let i = 0; i < tries; i++) {
    try {
      const res = await fetch(`http://${observer}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      await res.arrayBuffer();
      status = res.status;
      if (status === 200) return status;
    } catch {
      status = 0;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return status;
}

/** A fake stacks-node RPC server answering GET /v2/attachments/<hash> from `content` (or `lie`). */
export async function fakeStacksRpc(host: string, content: Map<string, Uint8Array>, lie = false): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    const match = /^\/v2\/attachments\/([0-9a-f]{40})$/.exec(req.url ?? '');
    const data = match ? content.get(match[1] as string) : undefined;
    hits++;
    if (data === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Unable to find attachment');
      return;
    }
    const bytes = lie ? Buffer.concat([data, Buffer.from(' ')]) : data;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(Buffer.from(bytes).toString('hex')));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `http://${host}:${port}`, hits: () => hits, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
