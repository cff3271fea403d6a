/**
 * StacksObserverChain driven over HTTP by a fake stacks-node posting payloads in stacks-node's
 * shapes: names registered, updated, transferred without a zone file and revoked; repeated
 * deliveries; a restart mid-stream; a reorg replacing a name's zone file; attachments verified.
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NameResolver } from '../../src/bns/names.js';
import { ATTACHMENTS_MAGIC } from '../../src/chain/stacks/attachments-log.js';
import { ATTACHMENTS_FILE, JOURNAL_FILE } from '../../src/chain/stacks/journal.js';
import { StacksObserverChain } from '../../src/chain/stacks/observer-chain.js';
import { allowedHostList } from '../../src/chain/stacks/observer-http.js';
import type { ChainEvent } from '../../src/chain/types.js';
import { hash160, hash160Hex } from '../../src/hash/index.js';
import { corpus, CORPUS_SKIP_MESSAGE } from '../support/data.js';
import { waitFor } from '../support/wait.js';
import { BNS, deliver, FakeChain } from './fake-stacks-node.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-observer-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => join(root, `o${counter++}`);
const file = (text: string) => new Uint8Array(Buffer.from(text));
const zone = (name: string, n: number) => file(`$ORIGIN ${name}\n$TTL 3600\n_http._tcp IN URI 10 1 "https://gaia.example/${name}/${n}.json"\n`);
const NEW_OWNER = 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7';

async function open(dir: string): Promise<StacksObserverChain> {
  return StacksObserverChain.open({ dir, listen: '127.0.0.1:0', contracts: [BNS] });
}

function resolverOf(chain: StacksObserverChain): NameResolver {
  return new NameResolver({ chain, chunk: (address) => chain.attachment(address) });
}

describe('StacksObserverChain over HTTP', () => {
  it('turns registrations, updates, a transfer without zone file and a revoke into announcements', async () => {
    const chain = await open(freshDir());
    const fake = new FakeChain();
    const events: ChainEvent[] = [];
    chain.subscribe((e) => events.push(e));
    const a1 = zone('alice.id', 1);
    const a2 = zone('alice.id', 2);
    const b1 = zone('bob.id', 1);
    const post = (body: unknown) => deliver(chain.address!, '/new_block', body);
    expect(await post(fake.block([{ name: 'alice.id', op: 'name-register', zonefile: a1 }, { name: 'bob.id', op: 'name-register', zonefile: b1 }]))).toBe(200);
    // a failed transaction's print (committed: false) is not a name change
    expect(await post(fake.block([{ name: 'alice.id', op: 'name-update', zonefile: a2 }, { name: 'bob.id', op: 'name-update', zonefile: a2, committed: false }]))).toBe(200);
    expect(await post(fake.block([{ name: 'bob.id', op: 'name-transfer', recipient: NEW_OWNER }]))).toBe(200);
    expect(await post(fake.block([{ name: 'alice.id', op: 'name-revoke' }]))).toBe(200);
    expect(await deliver(chain.address!, '/attachments/new', fake.takeAttachments())).toBe(200);

    const all = await chain.read(0, 10);
    expect(all.map((a) => [a.key, (a as { op?: string }).op])).toEqual([
      ['alice.id', 'name-register'],
      ['bob.id', 'name-register'],
      ['alice.id', 'name-update'],
      ['bob.id', 'name-transfer'],
      ['alice.id', 'name-revoke'],
    ]);
    expect(all.map((a) => a.address)).toEqual([hash160Hex(a1), hash160Hex(b1), hash160Hex(a2), '0'.repeat(40), '0'.repeat(40)]);
    expect(all.map((a) => (a as { attachmentIndex?: number }).attachmentIndex)).toEqual([0, 1, 2, 3, 4]);
    expect(all.map((a) => a.position)).toEqual([0, 1, 2, 3, 4]);
    expect(events.filter((e) => e.type === 'append')).toHaveLength(4);
    expect(chain.stats.attachmentsStored).toBe(3);

    const names = resolverOf(chain);
    expect(await names.resolve('alice.id')).toMatchObject({ status: 'revoked', lastOp: 'name-revoke' });
    const bob = await names.resolve('bob.id');
    expect(bob).toMatchObject({ status: 'zonefile-missing', owner: NEW_OWNER, lastOp: 'name-transfer' });
    expect(bob.zonefileHash).toBeUndefined();
    expect((await names.history('alice.id')).map((e) => e.zonefileHash)).toEqual([hash160Hex(a1), hash160Hex(a2), undefined]);
    expect(await names.resolve('carol.id')).toEqual({ name: 'carol.id', status: 'name-not-found' });
    await chain.close();
  });

  it('applies a repeated delivery once and answers the other observer paths', async () => {
    const dir = freshDir();
    const chain = await open(dir);
    const fake = new FakeChain();
    const block = fake.block([{ name: 'alice.id', op: 'name-register', zonefile: zone('alice.id', 1) }]);
    for (let i = 0; i < 3; i++) expect(await deliver(chain.address!, '/new_block', block)).toBe(200);
    const attachments = fake.takeAttachments();
    for (let i = 0; i < 2; i++) expect(await deliver(chain.address!, '/attachments/new', attachments)).toBe(200);
    expect(await chain.length()).toBe(1);
    expect(chain.stats).toMatchObject({ blocks: 1, duplicateBlocks: 2, attachmentsStored: 1 });
    expect(readFileSync(join(dir, JOURNAL_FILE), 'utf8').trim().split('\n')).toHaveLength(1);
    for (const path of ['/new_burn_block', '/new_mempool_tx', '/drop_mempool_tx', '/new_microblocks', '/mined_block', '/stackerdb_chunks', '/proposal_response']) {
      expect(await deliver(chain.address!, path, { anything: [1, 2, 3] }, 1)).toBe(200);
    }
    const get = await fetch(`http://${chain.address}/new_block`);
    expect(get.status).toBe(405);
    await get.arrayBuffer();
    await chain.close();
  });

  it('still takes the retired maxAttachmentsPerDelivery limit, and ignores it', async () => {
    const chain = await StacksObserverChain.open({ dir: freshDir(), listen: '127.0.0.1:0', contracts: [BNS], limits: { maxAttachmentsPerDelivery: 2, maxConnections: 4 } });
    expect(chain.limits).not.toHaveProperty('maxAttachmentsPerDelivery');
    expect(chain.limits.maxConnections).toBe(4);
    const fake = new FakeChain();
    const ops = [1, 2, 3, 4].map((n) => ({ name: `n${n}.id`, op: 'name-register' as const, zonefile: zone(`n${n}.id`, n) }));
    expect(await deliver(chain.address!, '/new_block', fake.block(ops))).toBe(200);
    expect(await deliver(chain.address!, '/attachments/new', fake.takeAttachments())).toBe(200);
    expect(chain.stats.attachmentsStored).toBe(4);
    await chain.close();
  });

  it('refuses malformed and oversized payloads with 4xx and changes nothing', async () => {
    const chain = await StacksObserverChain.open({ dir: freshDir(), listen: '127.0.0.1:0', contracts: [BNS], limits: { maxBodyBytes: 4_096 } });
    const post = (body: string) => fetch(`http://${chain.address}/new_block`, { method: 'POST', body }).then(async (r) => [r.status, await r.json()] as const);
    expect((await post('{not json'))[0]).toBe(400);
    expect((await post(JSON.stringify({ block_height: 1, index_block_hash: 'nope' })))[0]).toBe(400);
    expect((await post(JSON.stringify({ pad: 'x'.repeat(5_000) })))[0]).toBe(413);
    // a BNS print that does not decode is skipped (and counted), the block still applies
    const fake = new FakeChain();
    const block = fake.block([{ name: 'alice.id', op: 'name-register', zonefile: zone('alice.id', 1) }]) as { events: { contract_event?: { raw_value: string } }[] };
    block.events[0]!.contract_event!.raw_value = '0x0c000000';
    expect((await post(JSON.stringify(block)))[0]).toBe(200);
    expect(chain.stats.badEvents).toBe(1);
    expect(await chain.length()).toBe(0);
    await chain.close();
  });

  it('skips a print whose principal version has no address and a name NFT event that does not decode, and applies the rest', async () => {
    const chain = await open(freshDir());
    const fake = new FakeChain();
    const block = fake.block([
      { name: 'alice.id', op: 'name-register', zonefile: zone('alice.id', 1), senderVersion: 32 },
      { name: 'bob.id', op: 'name-register', zonefile: zone('bob.id', 1), recipient: NEW_OWNER },
    ]) as { events: { type: string; nft_transfer_event?: { raw_value: string } }[] };
    const nft = block.events.find((e) => e.type === 'nft_transfer_event')!;
    nft.nft_transfer_event!.raw_value = '0x0c000000';
    // one attempt: a refusal here is what makes stacks-node redeliver the block forever
    expect(await deliver(chain.address!, '/new_block', block, 1)).toBe(200);
    expect(chain.stats.badEvents).toBe(2);
    const all = await chain.read(0, 10);
    // bob's print applies; its owner stays the sender, since the NFT that named the recipient was unreadable
    expect(all.map((a) => a.key)).toEqual(['bob.id']);
    expect(all[0]!.address).toBe(hash160Hex(zone('bob.id', 1)));
    await chain.close();
  });

  it('keeps every answered delivery across a restart mid-stream, and cuts a torn journal line', async () => {
    const dir = freshDir();
    const fake = new FakeChain();
    let chain = await open(dir);
    const files = Array.from({ length: 6 }, (_, i) => zone(`n${i}.id`, i));
    for (let i = 0; i < 3; i++) await deliver(chain.address!, '/new_block', fake.block([{ name: `n${i}.id`, op: 'name-register', zonefile: files[i] }]));
    await deliver(chain.address!, '/attachments/new', fake.takeAttachments());
    const before = await chain.read(0, 10);
    await chain.close();
    appendFileSync(join(dir, JOURNAL_FILE), '{"indexBlockHash":"0x12'); // a crash mid-append
    // A crash mid-append of a zone file: its head and the first bytes of it.
    const torn = Buffer.alloc(24 + 10);
    Buffer.from(hash160(files[5]!)).copy(torn);
    torn.writeUInt32BE(files[5]!.length, 20);
    Buffer.from(files[5]!).copy(torn, 24, 0, 10);
    appendFileSync(join(dir, ATTACHMENTS_FILE), torn);
    chain = await open(dir);
    expect(await chain.read(0, 10)).toEqual(before);
    for (let i = 0; i < 3; i++) expect(Buffer.from(chain.attachment(hash160Hex(files[i]!))!).equals(Buffer.from(files[i]!))).toBe(true);
    // stacks-node redelivers the block it got no answer for, then goes on
    await deliver(chain.address!, '/new_block', fake.blocks.get(fake.tip)!.payload);
    for (let i = 3; i < 6; i++) await deliver(chain.address!, '/new_block', fake.block([{ name: `n${i}.id`, op: 'name-register', zonefile: files[i] }]));
    expect((await chain.read(0, 10)).map((a) => a.key)).toEqual(['n0.id', 'n1.id', 'n2.id', 'n3.id', 'n4.id', 'n5.id']);
    await chain.close();
  });

  it('turns a reorg into a rollback: the fork replaces the name\'s zone file', async () => {
    const chain = await open(freshDir());
    const fake = new FakeChain();
    const events: ChainEvent[] = [];
    chain.subscribe((e) => events.push(e));
    const old = zone('alice.id', 1);
    const replaced = zone('alice.id', 2);
    const base = fake.block([{ name: 'bob.id', op: 'name-register', zonefile: zone('bob.id', 1) }]);
    const orphan = fake.block([{ name: 'alice.id', op: 'name-register', zonefile: old }]);
    await deliver(chain.address!, '/new_block', base);
    await deliver(chain.address!, '/new_block', orphan);
    const names = resolverOf(chain);
    expect((await names.resolve('alice.id')).zonefileHash).toBe(hash160Hex(old));
    // a sibling of `orphan` (same height: not canonical yet), then its child outgrows the tip
    fake.attachmentIndex = 1;
    const sibling = fake.block([{ name: 'alice.id', op: 'name-register', zonefile: replaced }], base.index_block_hash as string, 'fork-a');
    const child = fake.block([], sibling.index_block_hash as string, 'fork-b');
    await deliver(chain.address!, '/new_block', sibling);
    expect(events.some((e) => e.type === 'rollback')).toBe(false);
    await deliver(chain.address!, '/new_block', child);
    expect(events.filter((e) => e.type === 'rollback')).toEqual([{ type: 'rollback', length: 1 }]);
    expect(chain.tip).toEqual({ hash: child.index_block_hash, height: 3 });
    expect((await chain.read(0, 10)).map((a) => a.address)).toEqual([expect.any(String), hash160Hex(replaced)]);
    expect((await names.resolve('alice.id')).zonefileHash).toBe(hash160Hex(replaced));
    expect(await names.history('alice.id')).toHaveLength(1);
    await chain.close();
  });

  it('stores an attachment only when it hashes to content_hash and is announced', async () => {
    const chain = await open(freshDir());
    const fake = new FakeChain();
    const real = zone('alice.id', 1);
    await deliver(chain.address!, '/new_block', fake.block([{ name: 'alice.id', op: 'name-register', zonefile: real }]));
    const [record] = fake.takeAttachments();
    const lying = { ...record, content: `0x${Buffer.from('$ORIGIN evil.id\n').toString('hex')}` };
    const unannounced = { ...record, content_hash: `0x${hash160Hex(zone('x.id', 1))}`, content: `0x${Buffer.from(zone('x.id', 1)).toString('hex')}` };
    expect(await deliver(chain.address!, '/attachments/new', [lying, unannounced])).toBe(200);
    expect(chain.stats).toMatchObject({ attachmentsStored: 0, attachmentsRefused: 2 });
    expect(chain.attachment(hash160Hex(real))).toBeUndefined();
    expect(await deliver(chain.address!, '/attachments/new', [record])).toBe(200);
    expect(Buffer.from(chain.attachment(hash160Hex(real))!).equals(Buffer.from(real))).toBe(true);
    await chain.close();
  });

  it('drops attachments held elsewhere from its log: rewritten only when worth it, and still whole after a reopen', async () => {
    const dir = freshDir();
    const chain = await StacksObserverChain.open({ dir, contracts: [BNS] });
    const fake = new FakeChain();
    const files = Array.from({ length: 10 }, (_, i) => zone(`n${i}.id`, i));
    chain.ingestBlock(fake.block(files.map((zonefile, i) => ({ name: `n${i}.id`, op: 'name-register' as const, zonefile }))));
    chain.ingestAttachments(fake.takeAttachments());
    const addresses = files.map((f) => hash160Hex(f));
    const logSize = () => readFileSync(join(dir, ATTACHMENTS_FILE)).length;
    const before = logSize();
    const stored = new Set(addresses.slice(0, 8));

    // One small zone file held elsewhere is not worth a rewrite (under 1 MiB and under half the log).
    expect(chain.releaseAttachments((address) => address === addresses[0])).toBe(0);
    expect(logSize()).toBe(before);

    expect(chain.releaseAttachments((address) => stored.has(address))).toBe(8);
    expect(logSize()).toBe(files.slice(8).reduce((sum, f) => sum + 24 + f.length, 2 * ATTACHMENTS_MAGIC.length));
    expect(chain.attachment(addresses[0]!)).toBeUndefined();
    expect(Buffer.from(chain.attachment(addresses[9]!)!).equals(Buffer.from(files[9]!))).toBe(true);
    await chain.close();

    const reopened = await StacksObserverChain.open({ dir, contracts: [BNS] });
    expect(addresses.map((address) => reopened.attachment(address) !== undefined)).toEqual([...Array(8).fill(false), true, true]);
    expect(Buffer.from(reopened.attachment(addresses[8]!)!).equals(Buffer.from(files[8]!))).toBe(true);
    await reopened.close();
  });

  it.skipIf(!corpus)('ingests the 1,631 real zone files as registrations and resolves each name', async () => {
    if (!corpus) return console.warn(CORPUS_SKIP_MESSAGE);
    const chain = await open(freshDir());
    const fake = new FakeChain();
    const names = corpus.map((entry) => /^\$ORIGIN\s+(\S+)/.exec(Buffer.from(entry.data).toString('utf8'))?.[1] ?? `x${entry.address}.id`);
    for (let i = 0; i < corpus.length; i += 100) {
      const ops = corpus.slice(i, i + 100).map((entry, k) => ({ name: `${i + k}-${names[i + k]!.replace(/[^a-z0-9.-]/gi, '')}`.toLowerCase().replace(/\.[^.]*$/, '') + '.id', op: 'name-import' as const, zonefile: entry.data }));
      expect(await deliver(chain.address!, '/new_block', fake.block(ops))).toBe(200);
      expect(await deliver(chain.address!, '/attachments/new', fake.takeAttachments())).toBe(200);
    }
    expect(await chain.length()).toBe(corpus.length);
    const resolver = resolverOf(chain);
    const all = await chain.read(0, corpus.length);
    for (const announcement of all) {
      const resolution = await resolver.resolve(announcement.key!);
      expect(resolution.status).toBe('ok');
      expect(resolution.zonefileHash).toBe(announcement.address);
    }
    await chain.close();
  });
});

describe('StacksObserverChain listener bounds', () => {
  it('holds at most maxConnections sockets and closes the ones that never finish a request', async () => {
    const { connect } = await import('node:net');
    const chain = await StacksObserverChain.open({ dir: freshDir(), listen: '127.0.0.1:0', contracts: [BNS], limits: { maxConnections: 4, requestTimeoutMs: 2_000 } });
    const [host, port] = chain.address!.split(':') as [string, string];
    const closed: boolean[] = [];
    const started = Date.now();
    const sockets = Array.from({ length: 12 }, (_, i) => {
      const socket = connect(Number(port), host);
      closed[i] = false;
      socket.on('error', () => undefined);
      socket.on('close', () => (closed[i] = true));
      // Read what the server sends: when Node's own request timeout answers 408 before closing, an
      // unread reply would keep this end from ever seeing the close.
      socket.resume();
      socket.on('connect', () => socket.write('POST /new_block HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{')); // never finished
      return socket;
    });
    // beyond the bound the server drops connections at once, long before the request timeout
    await waitFor(() => closed.filter(Boolean).length >= 8, 'the connections beyond the bound to be dropped', 10_000);
    expect(Date.now() - started).toBeLessThan(1_500);
    // the held ones are closed by the request timeout
    const deadline = Date.now() + 15_000;
    while (!closed.every(Boolean) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(closed.every(Boolean)).toBe(true);
    // and the observer still serves
    const fake = new FakeChain();
    expect(await deliver(chain.address!, '/new_block', fake.block([]))).toBe(200);
    for (const socket of sockets) socket.destroy();
    await chain.close();
  });

  it('a sender leaving mid-body is logged as ABORTED and its only connection slot is freed', async () => {
    const { connect } = await import('node:net');
    const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (message: string, fields?: Record<string, unknown>) => void warnings.push({ message, fields }) };
    const chain = await StacksObserverChain.open({ dir: freshDir(), listen: '127.0.0.1:0', contracts: [BNS], logger, limits: { maxConnections: 1 } });
    const [host, port] = chain.address!.split(':') as [string, string];
    for (let round = 0; round < 3; round++) {
      const socket = connect(Number(port), host);
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      await new Promise<void>((resolve) => socket.write('POST /new_block HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"block_hash":', () => resolve()));
      socket.destroy();
      await waitFor(() => warnings.length > round, 'the dropped body to be reported', 5_000);
      expect(warnings[round]?.fields?.code).toBe('ABORTED');
    }
    // The only connection slot is free again: a whole delivery is applied.
    const fake = new FakeChain();
    expect(await deliver(chain.address!, '/new_block', fake.block([]))).toBe(200);
    expect(warnings).toHaveLength(3);
    await chain.close();
  });

  it('compares allowed hosts as addresses, takes CIDR ranges, and refuses entries that are neither', async () => {
    const list = allowedHostList(['2001:db8::1', '192.0.2.7', '10.0.0.0/8', 'fd00::/8']);
    if (list === 'any') throw new Error('expected a list');
    expect(list.check('2001:0db8:0000:0000:0000:0000:0000:0001', 'ipv6')).toBe(true); // another spelling
    expect(list.check('::ffff:192.0.2.7', 'ipv6')).toBe(true); // as a dual-stack socket reports it
    expect(list.check('10.200.3.4', 'ipv4')).toBe(true);
    expect(list.check('fd12::9', 'ipv6')).toBe(true);
    expect(list.check('2001:db8::2', 'ipv6')).toBe(false);
    expect(list.check('192.0.2.8', 'ipv4')).toBe(false);
    expect(allowedHostList(['*'])).toBe('any');
    expect(() => allowedHostList(['*', 'not an ip'])).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' })); // '*' does not hide a bad entry
    for (const bad of ['stacks-node.local', '10.0.0.0/33', '10.0.0.1/8/1', '::1/', '']) {
      expect(() => allowedHostList([bad]), bad).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    }
    // refused before anything is opened: the folder is not even created
    const dir = freshDir();
    await expect(StacksObserverChain.open({ dir, listen: '127.0.0.1:0', contracts: [BNS], allowedHosts: ['not an ip'] })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    expect(existsSync(dir)).toBe(false);
  });

  it('closes connections that never send a byte, so silent sockets cannot keep a stacks-node out', async () => {
    const { connect } = await import('node:net');
    const chain = await StacksObserverChain.open({ dir: freshDir(), listen: '127.0.0.1:0', contracts: [BNS], limits: { maxConnections: 4, firstByteTimeoutMs: 300 } });
    const [host, port] = chain.address!.split(':') as [string, string];
    const closed: boolean[] = [];
    const sockets = Array.from({ length: 4 }, (_, i) => {
      const socket = connect(Number(port), host);
      closed[i] = false;
      socket.on('error', () => undefined);
      socket.on('close', () => (closed[i] = true));
      socket.resume(); // an unread reply would hide the close
      return socket;
    });
    // Node's own timeouts would hold these for 60 s; the first-byte deadline frees every slot.
    await waitFor(() => closed.every(Boolean), 'the silent connections to be closed', 3_000);
    const fake = new FakeChain();
    expect(await deliver(chain.address!, '/new_block', fake.block([]))).toBe(200);
    for (const socket of sockets) socket.destroy();
    await chain.close();
  });
});
