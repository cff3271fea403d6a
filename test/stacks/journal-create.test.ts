/**
 * A new observer journal's names are made durable before any block is acknowledged: the files'
 * directory is flushed when they are created (and so is the parent of a directory created for them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openJournal } from './open-journal.js';

/** The observer's default maxAttachmentBytes. */

const flushed: string[] = [];
vi.mock('../../src/durable-file.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/durable-file.js')>();
  return {
    ...actual,
    fsyncDirectory: (dir: string) => {
      flushed.push(resolve(dir));
      actual.fsyncDirectory(dir);
    },
  };
});

const root = mkdtempSync(join(tmpdir(), 'atlasnet-journal-create-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('ObserverJournal.open', () => {
  it('flushes the directories of the files and folders it creates, and nothing when they exist', () => {
    const dir = join(root, 'data', 'stacks');
    const { journal } = openJournal(dir);
    journal.close();
    expect(flushed).toEqual(expect.arrayContaining([resolve(dir), resolve(root, 'data'), resolve(root)]));
    flushed.length = 0;
    const { journal: again } = openJournal(dir);
    again.close();
    expect(flushed).toEqual([]);
  });

  it('fails at once for a folder it cannot create (Node\'s recursive mkdir loops for ever on /proc/x)', () => {
    expect(() => openJournal('/proc/atlas-x/stacks')).toThrow(expect.objectContaining({ code: 'ENOENT', path: '/proc/atlas-x' }));
  });
});
