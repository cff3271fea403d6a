/**
 * The observer under senders that hold what it has: connections that send a byte and stop, and
 * bodies whose parsed form is many times their bytes. (Only this machine and allowed hosts may
 * connect, but one of those may be anything.)
 */
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { countJsonValues } from '../../src/chain/stacks/json-values.js';
import { StacksObserverChain } from '../../src/chain/stacks/observer-chain.js';
import { DEFAULT_OBSERVER_LIMITS } from '../../src/chain/stacks/observer-http.js';
import { waitFor } from '../support/wait.js';
import { BNS, deliver, FakeChain } from './fake-stacks-node.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-observer-flood-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => join(root, `o${counter++}`);

/** A connection that has sent `text` and sends nothing more; `closed` tells whether the observer closed it. */
async function stalled(address: string, text: string): Promise<{ socket: Socket; closed: () => boolean }> {
  const [host, port] = address.split(':') as [string, string];
  const socket = connect(Number(port), host);
  let closed = false;
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  await new Promise<void>((resolve) => socket.write(text, () => resolve()));
  return { socket, closed: () => closed };
}

const UNFINISHED_BODY = 'POST /new_block HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n{';

async function post(address: string, path: string, body: string): Promise<{ status: number; code?: string }> {
  const res = await fetch(`http://${address}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const answer = (await res.json()) as { code?: string };
  return { status: res.status, ...(answer.code !== undefined ? { code: answer.code } : {}) };
}

describe('StacksObserverChain under flooding senders', () => {
  it('gives a new connection the place of one that sent a byte and stopped: the stacks-node is not locked out', async () => {
    const chain = await StacksObserverChain.open({ dir: freshDir(), listen: '127.0.0.1:0', contracts: [BNS] });
    const held = [];
    for (let i = 0; i < DEFAULT_OBSERVER_LIMITS.maxConnections; i++) held.push(await stalled(chain.address!, 'P'));
    try {
      // Past firstByteTimeoutMs's reach (a byte was sent) and inside Node's 60 s header timeout.
      const fake = new FakeChain();
      expect(await deliver(chain.address!, '/new_block', fake.block([{ name: 'alice.id', op: 'name-register', zonefile: new Uint8Array(Buffer.from('$ORIGIN alice.id\n')) }]))).toBe(200);
      expect(chain.stats.announcements).toBe(1);
      expect(held.filter((h) => h.closed()).length).toBeGreaterThanOrEqual(1);
      expect(held[0]!.closed()).toBe(true); // the oldest went first
    } finally {
      for (const { socket } of held) socket.destroy();
      await chain.close();
    }
  });

  it('never displaces a connection whose delivery is being read, and refuses a newcomer when every place carries one', async () => {
    const chain = await StacksObserverChain.open({ dir: freshDir(), listen: '127.0.0.1:0', contracts: [BNS], limits: { maxConnections: 4, maxBodiesAtOnce: 4 } });
    const parsed = () => new Promise((resolve) => setTimeout(resolve, 100)); // the heads read by the server
    const carrying = [await stalled(chain.address!, UNFINISHED_BODY), await stalled(chain.address!, UNFINISHED_BODY)];
    const idle = [await stalled(chain.address!, 'P'), await stalled(chain.address!, 'P')];
    const later = [];
    try {
      await parsed();
      // A delivery takes the place of the oldest idle connection, never of a delivery being read.
      expect(await deliver(chain.address!, '/new_block', new FakeChain().block([]))).toBe(200);
      expect(idle[0]!.closed()).toBe(true);
      // Two more deliveries being read take the places left (the other idle one, the last delivery's).
      later.push(await stalled(chain.address!, UNFINISHED_BODY));
      await parsed();
      later.push(await stalled(chain.address!, UNFINISHED_BODY));
      await parsed();
      expect(idle[1]!.closed()).toBe(true);
      // Every place carrying a delivery: the newcomer is closed, the deliveries go on.
      const refused = await stalled(chain.address!, UNFINISHED_BODY);
      await waitFor(() => refused.closed(), 'the newcomer closed', 2_000);
      expect([...carrying, ...later].some((c) => c.closed())).toBe(false);
    } finally {
      for (const { socket } of [...carrying, ...idle, ...later]) socket.destroy();
      await chain.close();
    }
  });

  it('refuses a body of more JSON values than maxBodyValues before parsing it (413 TOO_LARGE), and takes the next delivery', async () => {
    const chain = await StacksObserverChain.open({ dir: freshDir(), listen: '127.0.0.1:0', contracts: [BNS] });
    try {
      // 8 MiB of empty objects: 2.8 million values; parsed, about 190 MB of heap.
      const flood = `[${'{},'.repeat(2_800_000)}{}]`;
      expect(countJsonValues(Buffer.from(flood), DEFAULT_OBSERVER_LIMITS.maxBodyValues)).toBe(DEFAULT_OBSERVER_LIMITS.maxBodyValues + 1);
      expect(await post(chain.address!, '/attachments/new', flood)).toEqual({ status: 413, code: 'TOO_LARGE' });
      expect(await post(chain.address!, '/new_block', flood)).toEqual({ status: 413, code: 'TOO_LARGE' });
      expect(chain.stats).toMatchObject({ blocks: 0, attachmentsStored: 0, badEvents: 0 });
      expect(await deliver(chain.address!, '/new_block', new FakeChain().block([]))).toBe(200);
      expect(chain.stats.blocks).toBe(1);
    } finally {
      await chain.close();
    }
  });

  it('counts values outside strings only: a block within the bound is taken however many commas and brackets its strings hold', async () => {
    const fake = new FakeChain();
    const block = { ...fake.block([]), note: '[{,}]'.repeat(2_000), escaped: 'a\\",[{' };
    const values = countJsonValues(Buffer.from(JSON.stringify(block)), 1_000_000);
    expect(values).toBeLessThan(200);
    const chain = await StacksObserverChain.open({ dir: freshDir(), listen: '127.0.0.1:0', contracts: [BNS], limits: { maxBodyValues: values } });
    try {
      expect(await post(chain.address!, '/new_block', JSON.stringify(block))).toEqual({ status: 200 });
      const next = { ...fake.block([]), note: '', extra: [1, 2] }; // values more than the bound allows here
      expect(countJsonValues(Buffer.from(JSON.stringify(next)), 1_000_000)).toBeGreaterThan(values);
      expect(await post(chain.address!, '/new_block', JSON.stringify(next))).toEqual({ status: 413, code: 'TOO_LARGE' });
      expect(chain.stats.blocks).toBe(1);
    } finally {
      await chain.close();
    }
  });
});
