/**
 * The Stacks event observer under load and faults: bodies held at once are bounded however many
 * connections send, an error not of ours is answered without its text, a journal that cannot be
 * compacted (a full disk) still opens, and close() is one promise for every caller.
 */
import { connect, type Socket } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JOURNAL_FILE } from '../../src/chain/stacks/journal.js';
import { StacksObserverChain } from '../../src/chain/stacks/observer-chain.js';
import { DEFAULT_OBSERVER_LIMITS, ObserverServer } from '../../src/chain/stacks/observer-http.js';
import { TESTNET_BNS_CONTRACT } from '../../src/chain/stacks/payloads.js';
import { silentLogger } from '../../src/runtime.js';
import { waitFor } from '../support/wait.js';
import { BNS, deliver, FakeChain } from './fake-stacks-node.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-observer-bounds-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => join(root, `o${counter++}`);

/** A connection that sends a delivery's head and the first byte of a body it never finishes. */
async function unfinishedBody(address: string): Promise<Socket> {
  const [host, port] = address.split(':') as [string, string];
  const socket = connect(Number(port), host);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  await new Promise<void>((resolve) => socket.write('POST /new_block HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n{', () => resolve()));
  return socket;
}

/** A journal of `count` nameless blocks in `dir`, as the observer writes them. */
function namelessJournal(dir: string, count: number): void {
  mkdirSync(dir, { recursive: true });
  const hash = (i: number) => i.toString(16).padStart(64, '0');
  let text = '';
  for (let i = 1; i <= count; i++) text += `${JSON.stringify({ indexBlockHash: hash(i), parentIndexBlockHash: hash(i - 1), height: i, names: [] })}\n`;
  writeFileSync(join(dir, JOURNAL_FILE), text);
}

describe('StacksObserverChain bounds', () => {
  it('holds at most maxBodiesAtOnce bodies: a delivery beyond them is answered 503 at once, and taken once they are gone', async () => {
    const chain = await StacksObserverChain.open({ dir: freshDir(), listen: '127.0.0.1:0', contracts: [BNS] });
    const address = chain.address!;
    const held = [await unfinishedBody(address), await unfinishedBody(address)];
    expect(DEFAULT_OBSERVER_LIMITS.maxBodiesAtOnce).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 100)); // both heads parsed by the server
    const fake = new FakeChain();
    const busy = await fetch(`http://${address}/new_block`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fake.block([])) });
    expect(busy.status).toBe(503);
    expect(await busy.json()).toMatchObject({ code: 'BUSY' });
    for (const socket of held) socket.destroy();
    expect(await deliver(address, '/new_block', fake.block([]))).toBe(200);
    await chain.close();
  });

  it('answers an error that is not one of ours as "internal error", logging its text', async () => {
    const warnings: Record<string, unknown>[] = [];
    const logger = { ...silentLogger, warn: (_message: string, fields?: Record<string, unknown>) => void warnings.push(fields ?? {}) };
    const secret = 'EIO: i/o error, write /srv/secret/observer.jsonl';
    const server = new ObserverServer(
      {
        ingestBlock: () => {
          throw new Error(secret);
        },
        ingestAttachments: () => undefined,
      },
      DEFAULT_OBSERVER_LIMITS,
      logger,
    );
    await server.listen('127.0.0.1:0');
    const res = await fetch(`http://${server.address}/new_block`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('secret');
    expect(JSON.parse(text)).toEqual({ error: 'internal error', code: 'INTERNAL' });
    expect(warnings[0]).toMatchObject({ error: secret });
    await server.close();
  });

  it('opens on its journal as it is when compacting it fails, and compacts it at a later open', async () => {
    const dir = freshDir();
    namelessJournal(dir, 5_000);
    const before = statSync(join(dir, JOURNAL_FILE)).size;
    mkdirSync(join(dir, `${JOURNAL_FILE}.compact`)); // the rewrite's temporary file cannot be created
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (message: string) => void warnings.push(message) };
    let chain = await StacksObserverChain.open({ dir, contracts: [BNS], logger });
    expect(warnings.some((message) => message.includes('could not be compacted'))).toBe(true);
    expect(statSync(join(dir, JOURNAL_FILE)).size).toBe(before);
    const first = chain.close();
    expect(chain.close()).toBe(first); // one promise for every caller
    await first;
    rmSync(join(dir, `${JOURNAL_FILE}.compact`), { recursive: true });
    chain = await StacksObserverChain.open({ dir, contracts: [BNS] });
    expect(statSync(join(dir, JOURNAL_FILE)).size).toBeLessThan(before);
    await chain.close();
  });

  it('refuses a bad limit or window with INVALID_OPTION naming it, before it creates or opens anything', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ limits: { maxBodyBytes: Number.NaN } }, 'limits.maxBodyBytes'],
      [{ limits: { maxBodiesAtOnce: 0 } }, 'limits.maxBodiesAtOnce'],
      [{ limits: { firstByteTimeoutMs: Infinity } }, 'limits.firstByteTimeoutMs'],
      [{ limits: { maxBodyByte: 1_000 } }, 'limits.maxBodyByte'],
      [{ reorgWindow: -1 }, 'reorgWindow'],
      [{ reorgWindow: 2.5 }, 'reorgWindow'],
      [{ maxReadLimit: 0 }, 'maxReadLimit'],
      // A wrong contract id skipped every name print without a count, and journaled the blocks without them.
      [{ contracts: BNS }, 'contracts'], // a string: it was taken as a set of its characters
      [{ contracts: [] }, 'contracts'],
      [{ contracts: ['SP000000000000000000002Q6VF79.bns'] }, 'contracts'], // a mistyped address: its checksum fails
      [{ contracts: ['SP000000000000000000002Q6VF78'] }, 'contracts'],
      [{ contracts: [`${BNS}!`] }, 'contracts'],
      [{ contracts: [BNS, 5] }, 'contracts'],
    ];
    for (const [options, option] of cases) {
      const dir = freshDir();
      await expect(StacksObserverChain.open({ dir, contracts: [BNS], ...options }), option).rejects.toMatchObject({ code: 'INVALID_OPTION', option });
      expect(existsSync(dir), option).toBe(false);
    }
    // The deprecated maxAttachmentsPerDelivery is still taken (and ignored).
    const chain = await StacksObserverChain.open({ dir: freshDir(), contracts: [BNS], limits: { maxAttachmentsPerDelivery: 5 } });
    await chain.close();
    // Mainnet's and testnet's, and a contract of a standard principal with a longer name.
    const more = await StacksObserverChain.open({ dir: freshDir(), contracts: [BNS, TESTNET_BNS_CONTRACT, 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7.bns-v2_test'] });
    await more.close();
  });

  it('a sender that leaves mid-body gives its place among the bodies back', async () => {
    const chain = await StacksObserverChain.open({ dir: freshDir(), listen: '127.0.0.1:0', contracts: [BNS], limits: { maxBodiesAtOnce: 1 } });
    const fake = new FakeChain();
    for (let round = 0; round < 3; round++) {
      const socket = await unfinishedBody(chain.address!);
      socket.destroy();
      await waitFor(async () => (await deliver(chain.address!, '/new_block', fake.block([]), 1)) === 200, 'a whole delivery to be taken', 5_000);
    }
    await chain.close();
  });
});
