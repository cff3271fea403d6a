/** The journal read a piece at a time: lines across the pieces, the bytes after the last line, and lines no record is. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_JOURNAL_LINE, readJournalLines } from '../../src/chain/stacks/journal-lines.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-journal-lines-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function read(path: string): { lines: string[]; tail: { bytes: Buffer; offset: number } } {
  const lines: string[] = [];
  const tail = readJournalLines(path, (line, number) => {
    expect(number).toBe(lines.length + 1);
    lines.push(line);
  });
  return { lines, tail };
}

describe('readJournalLines', () => {
  it('reads every line whole, those across the 1 MiB pieces too, and answers the bytes after the last one', () => {
    // Lines of 1 byte to 300 KiB, multi-byte characters among them, some 5 MiB in all.
    const lines = Array.from({ length: 60 }, (_, i) => `{"n":${i},"s":"${'é'.repeat((i * 7_919) % 150_000)}"}`);
    lines.push('', 'x');
    const torn = '{"indexBlockHash":"ab';
    const path = join(root, 'pieces.jsonl');
    writeFileSync(path, lines.join('\n') + '\n' + torn);
    const { lines: read_, tail } = read(path);
    expect(read_).toEqual(lines);
    expect(tail.bytes.toString()).toBe(torn);
    expect(tail.offset).toBe(Buffer.byteLength(lines.join('\n') + '\n'));
  });

  it('answers no tail after a last newline, and reads an empty file as no lines', () => {
    const path = join(root, 'whole.jsonl');
    writeFileSync(path, 'a\nb\n');
    expect(read(path)).toEqual({ lines: ['a', 'b'], tail: { bytes: Buffer.alloc(0), offset: 4 } });
    writeFileSync(path, '');
    expect(read(path)).toEqual({ lines: [], tail: { bytes: Buffer.alloc(0), offset: 0 } });
  });

  it('refuses a line longer than any record (STORE_CORRUPT), holding no more of it than that', () => {
    const path = join(root, 'long.jsonl');
    writeFileSync(path, Buffer.concat([Buffer.from('a\n'), Buffer.alloc(MAX_JOURNAL_LINE + 2 * 1024 * 1024, 0x61)]));
    expect(() => read(path)).toThrow(expect.objectContaining({ code: 'STORE_CORRUPT', details: expect.objectContaining({ line: 2 }) }));
  });

  it('says STORE_IO for a file it cannot read', () => {
    expect(() => read(join(root, 'absent.jsonl'))).toThrow(expect.objectContaining({ code: 'STORE_IO' }));
  });
});
