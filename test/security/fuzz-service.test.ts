/**
 * Hostile input, protocol level (issue 6, item 2): thousands of fast-check requests, valid, broken
 * and garbage, for every method and unknown ones, against a real node's own service (validation,
 * load shedding and NodeService, over an LMDB store). Every case must end in a reply an honest
 * client accepts or a 4xx refusal; afterwards the sequence is unchanged, only announced chunks
 * that were validly put appeared, no byte of an unannounced chunk reached the disk, memory did not
 * grow without bound, and the node dialled no address the default policy refuses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { AddressPolicy } from '../../src/peers/address-policy.js';
import { requestArb } from './hostile/requests.js';
import { liveBytes } from '../support/heap.js';
import { OutcomeTally, runServiceCase } from './hostile/service-case.js';
import { openFuzzTarget, stateProblems, storedChunkKeys } from './hostile/target.js';
import { contextFrom } from '../support/caller.js';

const CASES = 4_000;
const dir = mkdtempSync(join(tmpdir(), 'atlas-fuzz-service-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('every protocol handler under hostile requests', () => {
  it(`answers ${CASES} hostile requests with valid replies or 4xx refusals, changing nothing it must not`, async () => {
    const target = await openFuzzTarget({ transport: 'capture', dir, seed: 61 });
    const service = target.service!;
    const before = target.snapshot();
    const heapBefore = liveBytes();
    const tally = new OutcomeTally();
    const savedMissing = new Set<string>();
    const missing = new Map(target.pool.missing.map((c) => [Buffer.from(c.data).toString('hex'), c.address]));

    await fc.assert(
      fc.asyncProperty(requestArb(target.pool, () => target.node.log.epoch), async (request) => {
        const result = await runServiceCase(service, target.node.limits, request);
        tally.add(request.method, result.outcome, result.problem);
        for (const data of result.saved ?? []) {
          const address = missing.get(Buffer.from(data).toString('hex'));
          if (address) savedMissing.add(address);
        }
        expect(result.problem).toBeUndefined();
      }),
      { numRuns: CASES, seed: 6_001, endOnFailure: true },
    );

    const heapGrowth = liveBytes() - heapBefore;
    const after = target.snapshot();
    expect(stateProblems(before, after, target.pool)).toEqual([]);
    // What a reply called saved is stored, and nothing else appeared.
    for (const address of savedMissing) expect(after.held.has(address)).toBe(true);
    expect([...after.held].filter((a) => !before.held.has(a)).every((a) => savedMissing.has(a))).toBe(true);
    expect(heapGrowth).toBeLessThan(48 * 1024 * 1024);
    // Still serving.
    const probe = target.pool.held[0]!;
    const reply = (await service.handle('getChunks', { addresses: [probe.address] }, contextFrom('198.51.100.1:1'))) as { chunks: { address: string }[] };
    expect(reply.chunks.map((c) => c.address)).toEqual([probe.address]);
    // Callers claimed all sorts of addresses; only public ones were ever dialled.
    const policy = new AddressPolicy();
    expect(target.dials().filter((d) => !policy.allows(d.peer))).toEqual([]);
    await target.close();
    const keys = await storedChunkKeys(target.dataDir);
    expect(keys.filter((key) => !target.pool.announced.has(key))).toEqual([]);
    console.info(`service fuzz: ${tally.cases} cases, heap growth ${(heapGrowth / 1024 / 1024).toFixed(1)} MiB, ${target.dials().length} dials refused\n  ${tally.lines().join('\n  ')}`);
  });
});
