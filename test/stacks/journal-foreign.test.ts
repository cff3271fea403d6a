/**
 * A file named like the observer journal that the observer did not write (another program's JSON
 * lines) is refused with STORE_CORRUPT and left byte for byte as it was: only a torn block record
 * is ever cut from its end.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JOURNAL_FILE, ObserverJournal } from '../../src/chain/stacks/journal.js';
import { StacksObserverChain } from '../../src/chain/stacks/observer-chain.js';
import { silentLogger } from '../../src/runtime.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-journal-foreign-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('ObserverJournal.open on a file it did not write', () => {
  it('refuses JSON lines that are not block records, and cuts nothing', async () => {
    const dir = join(root, 'a');
    mkdirSync(dir);
    const foreign = '{"level":"info","msg":"started"}\n{"level":"info","msg":"still writing';
    writeFileSync(join(dir, JOURNAL_FILE), foreign);
    await expect(StacksObserverChain.open({ dir })).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
    expect(readFileSync(join(dir, JOURNAL_FILE), 'utf8')).toBe(foreign);
  });

  it('refuses a tail that is not the start of a block record, and cuts nothing', () => {
    const dir = join(root, 'b');
    mkdirSync(dir);
    const record = JSON.stringify({ indexBlockHash: `0x${'1'.repeat(64)}`, parentIndexBlockHash: `0x${'0'.repeat(64)}`, height: 1, names: [] });
    const text = `${record}\nsomebody's notes, no newline`;
    writeFileSync(join(dir, JOURNAL_FILE), text);
    expect(() => ObserverJournal.open(dir, silentLogger)).toThrow(expect.objectContaining({ code: 'STORE_CORRUPT' }));
    expect(readFileSync(join(dir, JOURNAL_FILE), 'utf8')).toBe(text);
  });

  it('still cuts a torn block record', () => {
    const dir = join(root, 'c');
    mkdirSync(dir);
    const record = JSON.stringify({ indexBlockHash: `0x${'1'.repeat(64)}`, parentIndexBlockHash: `0x${'0'.repeat(64)}`, height: 1, names: [] });
    writeFileSync(join(dir, JOURNAL_FILE), `${record}\n${record.slice(0, 40)}`);
    const { journal, blocks } = ObserverJournal.open(dir, silentLogger);
    journal.close();
    expect(blocks).toHaveLength(1);
    expect(readFileSync(join(dir, JOURNAL_FILE), 'utf8')).toBe(`${record}\n`);
  });

  it('cuts a tail of zeros, alone or after a torn record (a crash left the file extended)', () => {
    const record = JSON.stringify({ indexBlockHash: `0x${'1'.repeat(64)}`, parentIndexBlockHash: `0x${'0'.repeat(64)}`, height: 1, names: [] });
    for (const [name, tail] of [['d', '\u0000'.repeat(300)], ['e', `${record.slice(0, 40)}${'\u0000'.repeat(300)}`]] as const) {
      const dir = join(root, name);
      mkdirSync(dir);
      writeFileSync(join(dir, JOURNAL_FILE), `${record}\n${tail}`);
      const { journal, blocks } = ObserverJournal.open(dir, silentLogger);
      journal.close();
      expect(blocks).toHaveLength(1);
      expect(readFileSync(join(dir, JOURNAL_FILE), 'utf8')).toBe(`${record}\n`);
    }
  });
});
