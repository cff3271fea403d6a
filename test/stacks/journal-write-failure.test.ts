/**
 * A write to the observer's journal that fails part-way (a full disk: a short write, then ENOSPC)
 * leaves nothing behind: the next append is whole, the journal reopens with every block that was
 * acknowledged, and every attachment reads back as it was stored.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ATTACHMENTS_MAGIC } from '../../src/chain/stacks/attachments-log.js';
import { hash160Hex } from '../../src/hash/index.js';
import { openJournal } from './open-journal.js';

/** The observer's default maxAttachmentBytes. */

/** When set, the next writeSync writes half of what it is given, and the one after throws ENOSPC. */
const failing = { armed: false, short: false };
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  const writeSync = ((fd: number, buffer: Uint8Array, offset?: number, length?: number, position?: number | null) => {
    if (failing.armed && typeof buffer !== 'string') {
      const start = offset ?? 0;
      const size = length ?? buffer.length - start;
      if (!failing.short) {
        failing.short = true;
        return actual.writeSync(fd, buffer, start, Math.max(1, Math.floor(size / 2)), position);
      }
      failing.armed = false;
      failing.short = false;
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }
    return actual.writeSync(fd, buffer, offset, length, position);
  }) as typeof actual.writeSync;
  return { ...actual, writeSync, default: { ...actual, writeSync } };
});

const root = mkdtempSync(join(tmpdir(), 'atlasnet-journal-enospc-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const file = (n: number) => new Uint8Array(Buffer.from(`$ORIGIN n${n}.id\n$TTL 3600\n`));
const item = (n: number) => ({ address: hash160Hex(file(n)), content: file(n) });
const block = (n: number) => ({ indexBlockHash: `0x${String(n).padStart(64, '0')}`, parentIndexBlockHash: `0x${String(n - 1).padStart(64, '0')}`, height: n, names: [] });

describe('ObserverJournal after a failed write', () => {
  it('keeps the block journal readable', () => {
    const dir = join(root, 'blocks');
    const { journal } = openJournal(dir);
    journal.append(block(1));
    failing.armed = true;
    expect(() => journal.append(block(2))).toThrow('ENOSPC');
    journal.append(block(2)); // the stacks-node retries; this time the disk has room
    journal.append(block(3));
    journal.close();
    const { journal: reopened, blocks } = openJournal(dir);
    expect(blocks.map((b) => b.height)).toEqual([1, 2, 3]);
    reopened.close();
  });

  it('keeps every stored attachment readable, now and after reopening', () => {
    const dir = join(root, 'attachments');
    const { journal } = openJournal(dir);
    journal.attachments.put([item(0)]);
    failing.armed = true;
    expect(() => journal.attachments.put([item(1)])).toThrow('ENOSPC');
    journal.attachments.put([item(1), item(2)]);
    for (const n of [0, 1, 2]) expect(Buffer.from(journal.attachments.get(item(n).address) ?? []).toString()).toBe(Buffer.from(file(n)).toString());
    journal.close();
    const { journal: reopened } = openJournal(dir);
    for (const n of [0, 1, 2]) expect(Buffer.from(reopened.attachments.get(item(n).address) ?? []).toString()).toBe(Buffer.from(file(n)).toString());
    // The first bytes, the records, and a mark after each of the two writes that succeeded.
    expect(reopened.attachments.bytes).toBe([0, 1, 2].reduce((sum, n) => sum + 24 + file(n).length, 3 * ATTACHMENTS_MAGIC.length));
    reopened.close();
  });
});
