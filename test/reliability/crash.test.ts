/**
 * Crash safety (issue 6, item 1). A real node runs in a child process (crash-node.ts) on an LMDB
 * data dir and a DevChain file. While it catches up with the chain, syncs over HTTP from a source
 * node in this process and takes client puts from this process, it is killed with SIGKILL at
 * seeded random moments, 24 times, and restarted on the same data dir. Between two lives the
 * chain grows (and twice rolls back). After every kill the data dir must open and be consistent
 * (store-check.ts), its sequence must be a prefix of a chain the node has seen, and every put the
 * node acknowledged must still be there. Finally the node runs undisturbed and must sync fully.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DevChain } from '../../src/chain/dev.js';
import { AtlasNode } from '../../src/node/index.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { randomInt, seededRandom } from '../../src/runtime.js';
import { generateChunks, type GeneratedChunk } from '../../src/sim/workload.js';
import { HttpTransport } from '../../src/transport/http.js';
import { FAST_TIMERS } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import { checkStore } from './store-check.js';

const KILLS = 24;
const SEED = 0x6c0ffee;
const ROOT = join(import.meta.dirname, '..', '..');

interface Life {
  child: ChildProcess;
  address: Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startChild(dataDir: string, chainFile: string, seed: string): Life {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'crash-node.ts'), dataDir, chainFile, seed], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (text: Buffer) => {
    if (stderr.length < 4_000) stderr += text.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const address = new Promise<string>((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (text: Buffer) => {
      buffer += text.toString();
      for (const line of buffer.split('\n').slice(0, -1)) {
        const message = JSON.parse(line) as { event: string; address: string };
        if (message.event === 'listening') resolve(message.address);
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
    });
    void exited.then(({ code, signal }) => reject(new Error(`child exited (${code ?? signal}) before listening: ${stderr}`)));
  });
  address.catch(() => undefined); // a child killed before it listens is expected
  return { child, address, exited };
}

function status(address: string): Promise<{ have: number; total: number }> {
  return new Promise((resolve, reject) => {
    http
      .get(`http://${address}/status`, { agent: false }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(parts).toString('utf8')) as { have: number; total: number }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** Keeps putting client-only chunks to the child, 5 per call, remembering what it acknowledged. */
async function ingest(client: ProtocolClient, address: string, chunks: readonly GeneratedChunk[], start: number, acked: Set<string>, alive: () => boolean): Promise<number> {
  let next = start;
  while (alive()) {
    const batch = Array.from({ length: 5 }, (_, i) => chunks[(next + i) % chunks.length] as GeneratedChunk);
    try {
      const { saved } = await client.putChunks(address, { chunks: batch.map((c) => c.data) }, { timeoutMs: 5_000 });
      saved.forEach((ok, i) => ok && acked.add((batch[i] as GeneratedChunk).address));
      next += 5;
    } catch {
      return next; // the child died under us
    }
  }
  return next;
}

describe('a node killed with SIGKILL at random moments', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atlas-crash-'));
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it(`loses nothing and stays consistent over ${KILLS} kills, then syncs completely`, async () => {
    const random = seededRandom(SEED);
    const dataDir = join(dir, 'node');
    const chainFile = join(dir, 'chain.jsonl');
    const chain = await DevChain.open(chainFile);
    cleanup.push(() => chain.close());

    // Source chunks are held by the source node; client chunks only ever reach the child by puts.
    const source = generateChunks(12_000, seededRandom(SEED + 1), { prefix: 'src' });
    const clientChunks = generateChunks(1_500, seededRandom(SEED + 2), { prefix: 'cli' });
    const sourceNode = await AtlasNode.open({
      chain,
      transport: new HttpTransport({ listen: '127.0.0.1:0' }),
      network: 'crashnet',
      addressPolicy: LOCAL_ADDRESS_POLICY,
      timers: FAST_TIMERS,
    });
    cleanup.push(() => sourceNode.close());
    await sourceNode.start();
    const seedAddress = sourceNode.address as string;
    const client = new ProtocolClient(new HttpTransport());

    // Chain versions the child may have seen: its stored sequence must be a prefix of one of them.
    const versions: string[][] = [];
    let announced = 0;
    const announce = async (count: number) => {
      const batch = source.slice(announced, announced + count);
      announced += batch.length;
      const addresses = batch.map((c) => c.address);
      // Every tenth batch re-announces an earlier address (one chunk, several positions).
      if (announced > count && randomInt(random, 10) === 0) addresses.push((source[randomInt(random, announced - count)] as GeneratedChunk).address);
      await chain.announce(addresses);
      await waitFor(() => sourceNode.stats().sequenceLength === currentChain().length, 'the source to follow the chain');
      for (let i = 0; i < batch.length; i += 500) await sourceNode.putChunks(batch.slice(i, i + 500).map((c) => c.data));
      versions.push(currentChain());
    };
    let chainView: string[] = [];
    chain.subscribe((event) => {
      if (event.type === 'append') chainView.push(...event.announcements.map((a) => a.address));
      else chainView = chainView.slice(0, event.length);
    });
    const currentChain = () => chainView.slice();

    await chain.announce(clientChunks.map((c) => c.address));
    versions.push(currentChain());
    await announce(4_000);

    const acked = new Set<string>();
    let ingested = 0;
    const lives: { delayMs: number; have: number; length: number }[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const life = startChild(dataDir, chainFile, seedAddress);
      cleanup.push(async () => {
        life.child.kill('SIGKILL');
      });
      let alive = true;
      void life.address.then(
        (address) => ingest(client, address, clientChunks, ingested, acked, () => alive).then((next) => (ingested = next)),
        () => undefined,
      );
      // Most kills land a random moment after the child listens (whatever its start-up time on a
      // loaded machine), every sixth one while it is still starting.
      const early = kill % 6 === 0;
      if (!early) await Promise.race([life.address.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 30_000))]);
      const delayMs = early ? randomInt(random, 400) : randomInt(random, 1_600);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      life.child.kill('SIGKILL');
      alive = false;
      const { signal } = await life.exited;
      expect(signal).toBe('SIGKILL');

      const snapshot = await checkStore(dataDir);
      expect(versions.some((version) => snapshot.sequence.every((address, i) => version[i] === address))).toBe(true);
      for (const address of acked) {
        if (snapshot.sequence.includes(address)) expect(snapshot.held.has(address)).toBe(true);
      }
      lives.push({ delayMs, have: snapshot.held.size, length: snapshot.sequence.length });

      // Between two lives the chain moves on, as a real chain would while a node is down.
      if (kill % 8 === 5) {
        await chain.rollback(Math.max(clientChunks.length, currentChain().length - 150));
        await waitFor(() => sourceNode.stats().sequenceLength === currentChain().length, 'the source to roll back');
        versions.push(currentChain());
      }
      await announce(300);
    }

    // A last, undisturbed life: every announced chunk arrives (client chunks are put again, as a
    // client whose puts failed would retry).
    const last = startChild(dataDir, chainFile, seedAddress);
    cleanup.push(async () => {
      last.child.kill('SIGKILL');
    });
    const address = await last.address;
    for (let i = 0; i < clientChunks.length; i += 5) {
      const { saved } = await client.putChunks(address, { chunks: clientChunks.slice(i, i + 5).map((c) => c.data) });
      expect(saved.every(Boolean)).toBe(true);
    }
    const total = currentChain().length;
    await waitFor(async () => {
      const s = await status(address);
      return s.total === total && s.have === total;
    }, 'the restarted node to hold every announced chunk', 30_000, 100);
    last.child.kill('SIGTERM');
    expect((await last.exited).code).toBe(0);

    const final = await checkStore(dataDir);
    expect(final.sequence).toEqual(currentChain());
    expect(final.held.size).toBe(new Set(currentChain()).size);
    // The kills landed at different stages: before the first sync, mid-sync, and once synced.
    const stages = new Set(lives.map((l) => (l.have === 0 ? 'empty' : l.have < l.length ? 'partial' : 'full')));
    expect(stages.has('partial')).toBe(true);
    console.info(`crash test: ${KILLS} kills, ${acked.size} acknowledged puts, held after each kill: ${lives.map((l) => `${l.have}/${l.length}`).join(' ')}`);
  }, 240_000);
});
