/**
 * Hostile input, HTTP level (issue 6, item 2): raw sockets against a real node's HttpTransport.
 * Malformed and truncated bodies, wrong content types and verbs, broken framing, huge heads and
 * bodies, pipelined garbage, slow senders and more connections than the server accepts. Every case
 * must end, in time, with 4xx replies (or 2xx/304 for valid ones) or a connection the server
 * closed; never a 5xx, never an unbounded reply; afterwards the node's state is unchanged but for
 * valid puts of announced chunks, no unannounced byte is on disk and memory is bounded.
 */
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveBytes } from '../support/heap.js';
import { rawCaseArb, rawExchange, rawProblems, slowCaseArb, type RawCase } from './hostile/raw-http.js';
import { requestArb } from './hostile/requests.js';
import { openFuzzTarget, stateProblems, storedChunkKeys, type FuzzTarget, type StateSnapshot } from './hostile/target.js';
import { MAX_REPLY_BYTES } from './hostile/service-case.js';

const HTTP_LIMITS = { headersTimeoutMs: 600, requestTimeoutMs: 1_200, timeoutCheckIntervalMs: 100, keepAliveTimeoutMs: 500, maxConnections: 64 };
const RAW = { timeoutMs: 5_000, maxBytes: 8 * MAX_REPLY_BYTES };

const dir = mkdtempSync(join(tmpdir(), 'atlas-fuzz-http-'));
let target: FuzzTarget;
let before: StateSnapshot;
let heapBefore: number;

beforeAll(async () => {
  target = await openFuzzTarget({ transport: 'http', dir, seed: 62, http: HTTP_LIMITS });
  before = target.snapshot();
  heapBefore = liveBytes();
});

afterAll(async () => {
  await target?.close();
  rmSync(dir, { recursive: true, force: true });
});

const statusTally = new Map<string, number>();

async function runAll(cases: readonly RawCase[]): Promise<string[]> {
  const results = await Promise.all(cases.map((c) => rawExchange(target.port!, c, RAW)));
  for (const result of results) {
    const key = result.statuses.length === 0 ? 'closed without reply' : result.statuses.join('+');
    statusTally.set(key, (statusTally.get(key) ?? 0) + 1);
  }
  return results.flatMap((result, i) => rawProblems(result).map((p) => `${cases[i]!.label}: ${p} (statuses ${result.statuses.join(',')})`));
}

describe('HttpTransport of a real node under hostile raw sockets', () => {
  it('answers every malformed, truncated, oversized or pipelined request with 4xx or a close', async () => {
    const cases = rawCaseArb(target.pool, requestArb(target.pool, () => target.node.log.epoch));
    let count = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(cases, { minLength: 1, maxLength: 6 }), async (batch) => {
        count += batch.length;
        expect(await runAll(batch)).toEqual([]);
      }),
      { numRuns: 350, seed: 6_002, endOnFailure: true },
    );
    const tally = [...statusTally].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${k}: ${v}`);
    console.info(`http fuzz: ${count} raw cases; replies: ${tally.join(', ')}`);
  });

  it('cuts off slow senders of heads and bodies', async () => {
    const cases = slowCaseArb(target.pool, requestArb(target.pool, () => target.node.log.epoch));
    await fc.assert(
      fc.asyncProperty(fc.array(cases, { minLength: 8, maxLength: 12 }), async (batch) => {
        expect(await runAll(batch)).toEqual([]);
      }),
      { numRuns: 3, seed: 6_003, endOnFailure: true },
    );
  });

  it('closes connections beyond maxConnections and idle ones that never send, then serves again', async () => {
    const port = target.port!;
    const sockets = await Promise.all(
      // Settles on connect, or on close when the server drops the socket before the callback ran.
      Array.from({ length: 150 }, () => new Promise<net.Socket>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(socket));
        socket.on('error', () => undefined);
        // Read what the server sends: a 408 left unread before the close would keep this end
        // from ever seeing the close.
        socket.resume();
        socket.once('close', () => resolve(socket));
      })),
    );
    const closed = sockets.map((socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve()))));
    // Nobody sends a byte: every connection must be closed by the server (beyond the bound at
    // once, the others when their head does not arrive in time), and none stays open.
    await Promise.all(closed);
    const reply = await rawExchange(port, { label: 'status', pieces: [Buffer.from('GET /status HTTP/1.1\r\nHost: x\r\n\r\n')], methods: ['GET'] }, RAW);
    expect(reply.statuses).toEqual([200]);
  });

  it('is unchanged afterwards but for valid puts, with bounded memory and nothing unannounced on disk', async () => {
    const growth = liveBytes() - heapBefore;
    expect(growth).toBeLessThan(64 * 1024 * 1024);
    expect(stateProblems(before, target.snapshot(), target.pool)).toEqual([]);
    await target.close();
    const keys = await storedChunkKeys(target.dataDir);
    expect(keys.filter((key) => !target.pool.announced.has(key))).toEqual([]);
  });
});
