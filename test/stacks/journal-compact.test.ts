/**
 * Rewriting the observer's attachments log: a rewrite that fails leaves the journal as it was
 * (its open log, its index, no temporary file), and one that succeeds keeps appending to the new log.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ATTACHMENTS_FILE } from '../../src/chain/stacks/journal.js';
import { hash160Hex } from '../../src/hash/index.js';
import { openJournal } from './open-journal.js';

/** The observer's default maxAttachmentBytes. */

const root = mkdtempSync(join(tmpdir(), 'atlasnet-journal-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const file = (n: number) => new Uint8Array(Buffer.from(`$ORIGIN n${n}.id\n$TTL 3600\n`));
const item = (n: number) => ({ address: hash160Hex(file(n)), content: file(n) });

describe('ObserverJournal.compactAttachments', () => {
  it('leaves the log, its index and nothing else behind when the rewrite fails, and appends to the new log after one that succeeds', () => {
    const dir = join(root, 'a');
    const { journal } = openJournal(dir);
    journal.attachments.put([0, 1, 2, 3].map(item));
    let seen = 0;
    expect(() =>
      journal.attachments.compact(() => {
        if (++seen === 3) throw new Error('disk gone');
        return true;
      }),
    ).toThrow('disk gone');
    expect(readdirSync(dir).filter((name) => name.endsWith('.compact'))).toEqual([]);
    // Still the old log, whole: every attachment reads back, and appending works.
    for (const n of [0, 1, 2, 3]) expect(Buffer.from(journal.attachments.get(item(n).address)!).equals(Buffer.from(file(n)))).toBe(true);
    journal.attachments.put([item(4)]);
    expect(journal.attachments.compact((address) => address !== item(0).address)).toBe(1);
    journal.attachments.put([item(5)]);
    journal.close();
    const { journal: reopened } = openJournal(dir);
    expect([0, 1, 2, 3, 4, 5].map((n) => reopened.attachments.has(item(n).address))).toEqual([false, true, true, true, true, true]);
    expect(existsSync(join(dir, ATTACHMENTS_FILE))).toBe(true);
    reopened.close();
  });

  it('removes a compaction\'s leftover file, and refuses to touch a link in its place (its target stays whole)', () => {
    const dir = join(root, 'b');
    const { journal } = openJournal(dir);
    journal.attachments.put([0, 1].map(item));
    const temporary = join(dir, `${ATTACHMENTS_FILE}.compact`);
    writeFileSync(temporary, 'left by a compaction killed before its rename');
    expect(journal.attachments.compact((address) => address !== item(0).address)).toBe(1);
    expect(existsSync(temporary)).toBe(false);
    const target = join(root, 'precious.txt');
    writeFileSync(target, 'not the observer\'s');
    symlinkSync(target, temporary);
    expect(() => journal.attachments.compact(() => true)).toThrow(expect.objectContaining({ code: 'STORE_CORRUPT' }));
    expect(readFileSync(target, 'utf8')).toBe('not the observer\'s');
    expect(journal.attachments.has(item(1).address)).toBe(true);
    journal.close();
  });
});
