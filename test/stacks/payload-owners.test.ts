/**
 * Who owns a name after each print of a transaction: bns.clar moves the name's NFT, then prints,
 * so each print's owner is the recipient of the NFT's last move before it. A transaction that
 * registers a name and then transfers it (a contract doing both) records each owner in turn.
 */
import { describe, expect, it } from 'vitest';
import { encodeClarity, tuple } from '../../src/chain/stacks/clarity.js';
import { parseNewBlock } from '../../src/chain/stacks/payloads.js';
import { BNS, blockHash, bnsPrintHex, txid } from './fake-stacks-node.js';

const FIRST = 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7';
const SECOND = 'SP3FBR2AGK5H9QBDH3EEN6DF8EK8JY7RX8QJ5SVTE';

function nftMove(tx: string, type: 'nft_mint_event' | 'nft_transfer_event', recipient: string): Record<string, unknown> {
  const raw = `0x${Buffer.from(encodeClarity(tuple({ name: { type: 'buff', value: Buffer.from('alice') }, namespace: { type: 'buff', value: Buffer.from('id') } }))).toString('hex')}`;
  return { txid: tx, committed: true, type, [type]: { asset_identifier: `${BNS}::names`, sender: 'SP1', recipient, raw_value: raw } };
}

function print(tx: string, op: 'name-register' | 'name-transfer', index: number): Record<string, unknown> {
  const zonefile = op === 'name-register' ? new Uint8Array(Buffer.from('$ORIGIN alice.id\n')) : undefined;
  return { txid: tx, committed: true, type: 'contract_event', contract_event: { contract_identifier: BNS, topic: 'print', raw_value: bnsPrintHex({ name: 'alice.id', op, ...(zonefile ? { zonefile } : {}) }, index) } };
}

describe('name owners within one transaction', () => {
  it('gives each print the recipient of the NFT\'s last move before it', () => {
    const tx = txid();
    const events = [nftMove(tx, 'nft_mint_event', FIRST), print(tx, 'name-register', 0), nftMove(tx, 'nft_transfer_event', SECOND), print(tx, 'name-transfer', 1)];
    const block = parseNewBlock({ index_block_hash: blockHash('b1'), parent_index_block_hash: blockHash('genesis'), block_height: 1, events }, { contracts: new Set([BNS]), maxNameEvents: 100 });
    expect(block.names.map((name) => [name.op, name.owner])).toEqual([
      ['name-register', FIRST],
      ['name-transfer', SECOND],
    ]);
  });
});
