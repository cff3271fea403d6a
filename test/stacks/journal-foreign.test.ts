/**
 * A file named like the observer journal or its attachments log that the observer did not write
 * (another program's lines or bytes) is refused with STORE_CORRUPT and left byte for byte as it
 * was: only a torn record of ours is ever cut from its end.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ATTACHMENTS_FILE, ATTACHMENTS_MAGIC, attachmentsMark } from '../../src/chain/stacks/attachments-log.js';
import { JOURNAL_FILE } from '../../src/chain/stacks/journal.js';
import { StacksObserverChain } from '../../src/chain/stacks/observer-chain.js';
import { hash160, hash160Hex } from '../../src/hash/index.js';
import { openJournal } from './open-journal.js';

/** The observer's default maxAttachmentBytes. */

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
    expect(() => openJournal(dir)).toThrow(expect.objectContaining({ code: 'STORE_CORRUPT' }));
    expect(readFileSync(join(dir, JOURNAL_FILE), 'utf8')).toBe(text);
  });

  it('still cuts a torn block record', () => {
    const dir = join(root, 'c');
    mkdirSync(dir);
    const record = JSON.stringify({ indexBlockHash: `0x${'1'.repeat(64)}`, parentIndexBlockHash: `0x${'0'.repeat(64)}`, height: 1, names: [] });
    writeFileSync(join(dir, JOURNAL_FILE), `${record}\n${record.slice(0, 40)}`);
    const { journal, blocks } = openJournal(dir);
    journal.close();
    expect(blocks).toHaveLength(1);
    expect(readFileSync(join(dir, JOURNAL_FILE), 'utf8')).toBe(`${record}\n`);
  });

  /** A journal of one block record and `tail` after it, in its own folder, opens holding that block, `tail` cut. */
  const cutsToOneRecord = (name: string, record: string, tail: string) => {
    const dir = join(root, name);
    mkdirSync(dir);
    writeFileSync(join(dir, JOURNAL_FILE), `${record}\n${tail}`);
    const { journal, blocks } = openJournal(dir);
    journal.close();
    expect(blocks).toHaveLength(1);
    expect(readFileSync(join(dir, JOURNAL_FILE), 'utf8')).toBe(`${record}\n`);
  };

  it('cuts a tail of zeros, alone or after a torn record (a crash left the file extended)', () => {
    const record = JSON.stringify({ indexBlockHash: `0x${'1'.repeat(64)}`, parentIndexBlockHash: `0x${'0'.repeat(64)}`, height: 1, names: [] });
    cutsToOneRecord('d', record, '\u0000'.repeat(300));
    cutsToOneRecord('e', record, `${record.slice(0, 40)}${'\u0000'.repeat(300)}`);
  });

  it('cuts an append whose first page was lost to zeros (a power loss writes its pages in any order), with or without its newline', () => {
    const record = JSON.stringify({ indexBlockHash: `0x${'1'.repeat(64)}`, parentIndexBlockHash: `0x${'0'.repeat(64)}`, height: 1, names: [] });
    const next = JSON.stringify({ indexBlockHash: `0x${'2'.repeat(64)}`, parentIndexBlockHash: `0x${'1'.repeat(64)}`, height: 2, names: [] });
    const holed = `${'\u0000'.repeat(40)}${next.slice(40)}`;
    cutsToOneRecord('f', record, holed);
    cutsToOneRecord('g', record, `${holed}\n`);
  });

  it('refuses, and leaves byte for byte, a file of somebody else\'s that starts with a zero byte or whose lines hold zeros', () => {
    const record = JSON.stringify({ indexBlockHash: `0x${'1'.repeat(64)}`, parentIndexBlockHash: `0x${'0'.repeat(64)}`, height: 1, names: [] });
    const cases: [string, Buffer][] = [
      ['i', Buffer.from([0, 1, 2, 3, 0x41, 0x42])], // binary, no newline: all of it would have been the tail
      ['j', Buffer.from('\u0000\u0000some notes\nmore\u0000 notes\n')], // text with zeros, no record of ours
      ['k', Buffer.concat([Buffer.from(`${record}\n`), Buffer.from([0, 0, 0xff, 0xfe, 0x01])])], // after a record, bytes append() never writes
    ];
    for (const [name, bytes] of cases) {
      const dir = join(root, name);
      mkdirSync(dir);
      writeFileSync(join(dir, JOURNAL_FILE), bytes);
      expect(() => openJournal(dir), name).toThrow(expect.objectContaining({ code: 'STORE_CORRUPT' }));
      expect(readFileSync(join(dir, JOURNAL_FILE)).equals(bytes), name).toBe(true);
    }
  });

  it('refuses a line with a hole of zeros that other lines follow (acknowledged records damaged), and cuts nothing', () => {
    const dir = join(root, 'h');
    mkdirSync(dir);
    const record = JSON.stringify({ indexBlockHash: `0x${'1'.repeat(64)}`, parentIndexBlockHash: `0x${'0'.repeat(64)}`, height: 1, names: [] });
    const text = `${record}\n${'\u0000'.repeat(40)}${record.slice(40)}\n${record}\n`;
    writeFileSync(join(dir, JOURNAL_FILE), text);
    expect(() => openJournal(dir)).toThrow(expect.objectContaining({ code: 'STORE_CORRUPT' }));
    expect(readFileSync(join(dir, JOURNAL_FILE), 'utf8')).toBe(text);
  });
});

describe('ObserverJournal.open on an attachments log it did not write', () => {
  const zoneFile = (n: number) => Buffer.from(`$ORIGIN n${n}.id\n$TTL 3600\n`);
  /** A record as every version writes it: hash160, u32 big-endian length, bytes. */
  const record = (content: Buffer, address = Buffer.from(hash160(content))) => {
    const head = Buffer.alloc(24);
    address.copy(head);
    head.writeUInt32BE(content.length, 20);
    return Buffer.concat([head, content]);
  };
  /** A log: the parts end to end, each 'mark' the mark of where it lies. */
  const logOf = (...parts: (Buffer | 'mark')[]) => {
    let log = Buffer.alloc(0);
    for (const part of parts) log = Buffer.concat([log, part === 'mark' ? attachmentsMark(log.length) : part]);
    return log;
  };
  const refused = (name: string, bytes: Buffer) => {
    const dir = join(root, name);
    mkdirSync(dir);
    writeFileSync(join(dir, ATTACHMENTS_FILE), bytes);
    expect(() => openJournal(dir)).toThrow(expect.objectContaining({ code: 'STORE_CORRUPT' }));
    expect(readFileSync(join(dir, ATTACHMENTS_FILE)).equals(bytes)).toBe(true);
    expect(existsSync(join(dir, JOURNAL_FILE))).toBe(false);
  };

  it('refuses somebody else\'s file, text or binary, long or short, and changes nothing', () => {
    refused('f-text', Buffer.from('2026-12-06 started\n2026-12-06 listening on 127.0.0.1:8080\n'.repeat(4)));
    refused('f-short', Buffer.from('hello\n'));
    // A head whose length fits the file: a whole record, whose bytes do not hash to its address.
    refused('f-binary', record(Buffer.from('not a zone file at all'), Buffer.alloc(20, 7)));
    refused('f-all-zeros', Buffer.alloc(4096));
  });

  it('refuses a log of ours damaged before its last mark (acknowledged bytes), and changes nothing', () => {
    // Two writes: the second's records, then its mark.
    const good = logOf('mark', record(zoneFile(1)), 'mark', record(zoneFile(2)), record(zoneFile(3)), 'mark');
    const damaged = Buffer.from(good);
    const second = 2 * ATTACHMENTS_MAGIC.length + 24 + zoneFile(1).length;
    const at = second + 30;
    damaged.writeUInt8(damaged.readUInt8(at) ^ 1, at);
    refused('f-damaged', damaged);
    // A length bit flipped: the second record now runs past the end of the file. Cutting there
    // would lose the third, acknowledged with it.
    const longer = Buffer.from(good);
    const lengthAt = second + 20;
    longer.writeUInt8(longer.readUInt8(lengthAt) ^ 0x80, lengthAt);
    refused('f-long', longer);
  });

  it('rewrites a log of records only (the format before its first bytes) with them, keeping every attachment and dropping a torn last one', () => {
    const dir = join(root, 'f-old');
    mkdirSync(dir);
    const whole = Buffer.concat([record(zoneFile(1)), record(zoneFile(2))]);
    writeFileSync(join(dir, ATTACHMENTS_FILE), Buffer.concat([whole, record(zoneFile(3)).subarray(0, 30)]));
    for (let open = 0; open < 2; open++) {
      const { journal } = openJournal(dir);
      for (const n of [1, 2]) expect(Buffer.from(journal.attachments.get(hash160Hex(zoneFile(n)))!).equals(zoneFile(n))).toBe(true);
      expect(journal.attachments.has(hash160Hex(zoneFile(3)))).toBe(false);
      journal.close();
      expect(readFileSync(join(dir, ATTACHMENTS_FILE)).equals(logOf('mark', whole, 'mark'))).toBe(true);
    }
  });

  it('cuts what a crash left of a write never acknowledged from a log of ours, and takes over one whose first bytes were torn', () => {
    const whole = logOf('mark', record(zoneFile(1)), 'mark');
    const cases: [string, Buffer, Buffer][] = [
      ['f-torn', Buffer.concat([whole, record(zoneFile(2)).subarray(0, 40)]), whole],
      ['f-zeros', Buffer.concat([whole, Buffer.alloc(500)]), whole],
      // The head landed, its bytes did not (zeros where the file was extended).
      ['f-landed-head', Buffer.concat([whole, record(zoneFile(2)).subarray(0, 24), Buffer.alloc(zoneFile(2).length)]), whole],
      // A write of three: the first record's bytes never landed, the next two did (pages land in any order).
      ['f-out-of-order', Buffer.concat([whole, Buffer.alloc(24 + zoneFile(2).length), record(zoneFile(3)), record(zoneFile(4))]), whole],
      // As above, a later record holding a mark's bytes (anyone registering a name picks them): not
      // where that mark says it lies, so it is not taken for one.
      ['f-embedded-mark', Buffer.concat([whole, Buffer.alloc(24 + zoneFile(2).length), record(Buffer.concat([Buffer.from('$ORIGIN x.id\n'), attachmentsMark(4096)]))]), whole],
      // Its records landed whole, its mark did not: they check, and are kept.
      ['f-no-mark', Buffer.concat([whole, record(zoneFile(2))]), Buffer.concat([whole, record(zoneFile(2))])],
      ['f-head', Buffer.from(ATTACHMENTS_MAGIC.subarray(0, 9)), Buffer.from(ATTACHMENTS_MAGIC)],
      ['f-head-zeros', Buffer.concat([ATTACHMENTS_MAGIC.subarray(0, 5), Buffer.alloc(19)]), Buffer.from(ATTACHMENTS_MAGIC)],
    ];
    for (const [name, bytes, after] of cases) {
      const dir = join(root, name);
      mkdirSync(dir);
      writeFileSync(join(dir, ATTACHMENTS_FILE), bytes);
      const { journal } = openJournal(dir);
      journal.close();
      expect(readFileSync(join(dir, ATTACHMENTS_FILE)).equals(after)).toBe(true);
    }
  });

  it('skips marks an older atlasnet moved when it compacted the log (it reads them as empty records), keeping every record', () => {
    const dir = join(root, 'f-moved-marks');
    mkdirSync(dir);
    const moved = logOf('mark', record(zoneFile(1)), attachmentsMark(4096), record(zoneFile(2)), attachmentsMark(9000));
    writeFileSync(join(dir, ATTACHMENTS_FILE), moved);
    const { journal } = openJournal(dir);
    for (const n of [1, 2]) expect(Buffer.from(journal.attachments.get(hash160Hex(zoneFile(n)))!).equals(zoneFile(n))).toBe(true);
    journal.close();
    expect(readFileSync(join(dir, ATTACHMENTS_FILE)).equals(moved)).toBe(true);
  });
});
