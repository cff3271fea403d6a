/** Lookups joined to one subdomain replay under one shared signal: one abort listener on it, not one each. */
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { SubdomainIndex } from '../../src/bns/subdomain-index.js';
import { ErrorCodes } from '../../src/errors.js';
import { hash160Hex } from '../../src/hash/index.js';

const LOOKUPS = 200;

/** A parent of many zone files, none of a subdomain but the last: a replay of several slices. */
function largeParent() {
  const b64 = Buffer.from('$ORIGIN bob\n').toString('base64');
  const last = new Uint8Array(Buffer.from(`$ORIGIN a.id\nbob IN TXT "owner=1Owner" "seqn=0" "parts=1" "zf0=${b64}"\n`));
  const files = new Map([...Array.from({ length: 3_000 }, (_, i) => new Uint8Array(Buffer.from(`$ORIGIN f${i}.id\n`))), last].map((file) => [hash160Hex(file), file]));
  const entries = [...files.keys()].map((zonefileHash) => ({ zonefileHash }));
  return { index: new SubdomainIndex((address) => files.get(address)), entries };
}

describe('SubdomainIndex lookups sharing a signal', () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  afterEach(() => {
    process.off('warning', onWarning);
    warnings.length = 0;
  });

  it(`keeps at most one abort listener on a signal ${LOOKUPS} lookups joined to one replay share, none once they settle, and no warning`, async () => {
    process.on('warning', onWarning);
    const { index, entries } = largeParent();
    const shared = new AbortController();
    const lookups = Array.from({ length: LOOKUPS }, () => index.lookup('bob.a.id', 'a.id', () => entries, shared.signal));
    expect(getEventListeners(shared.signal, 'abort').length).toBeLessThanOrEqual(1);
    const found = await Promise.all(lookups);
    expect(found.every((record) => record?.owner === '1Owner')).toBe(true);
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
    await new Promise((resolve) => setImmediate(resolve)); // process warnings are emitted on a later tick
    expect(warnings.map((warning) => warning.name)).toEqual([]);
  });

  it('ends every lookup sharing the signal when it aborts, leaving no listener, and the replay they all left stops', async () => {
    process.on('warning', onWarning);
    const { index, entries } = largeParent();
    const shared = new AbortController();
    const lookups = Array.from({ length: LOOKUPS }, () => index.lookup('bob.a.id', 'a.id', () => entries, shared.signal));
    await new Promise((resolve) => setImmediate(resolve)); // the replay has begun
    expect(getEventListeners(shared.signal, 'abort').length).toBeLessThanOrEqual(1);
    shared.abort();
    for (const lookup of lookups) await expect(lookup).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
    // Another caller's lookup is answered: the abandoned replay gave its place back, what it did is kept.
    expect((await index.lookup('bob.a.id', 'a.id', () => entries))?.owner).toBe('1Owner');
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.map((warning) => warning.name)).toEqual([]);
  });
});
