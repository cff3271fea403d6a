/** Finding the next intact chunk-log record after damage (store/chunk-log-resync.ts). */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hash160 } from '../../src/hash/index.js';
import { seededRandom } from '../../src/runtime.js';
import { IntactRecordFinder, RESYNC_HASH_BUDGET, RESYNC_WINDOW, TEAR_SEARCH_HASH_BUDGET } from '../../src/store/chunk-log-resync.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-resync-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A record as the log writes it: length (u32 LE), hash160 of the data, the data. */
function record(data: Buffer, intact = true): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(data.length, 0);
  Buffer.from(hash160(data)).copy(header, 4);
  if (!intact) header[10] = (header[10] as number) ^ 1; // its address no longer matches
  return Buffer.concat([header, data]);
}

/** Runs `body` on a file holding `parts` end to end, open for reading, and closes it after. */
function withLog(parts: Buffer[], body: (fd: number, size: number) => void): void {
  const path = join(root, `log-${Math.random().toString(36).slice(2)}`);
  const bytes = Buffer.concat(parts);
  writeFileSync(path, bytes);
  const fd = openSync(path, 'r');
  try {
    body(fd, bytes.length);
  } finally {
    closeSync(fd);
  }
}

describe('IntactRecordFinder', () => {
  it('searches a run of damaged records once, not once per record', () => {
    const damaged = Array.from({ length: 2_000 }, (_, i) => record(Buffer.from(`damaged record ${i} `.padEnd(170, 'x')), false));
    const starts: number[] = [];
    let at = 0;
    for (const part of damaged) {
      starts.push(at);
      at += part.length;
    }
    withLog([...damaged, record(Buffer.from('the intact record after them'))], (fd, size) => {
      const finder = new IntactRecordFinder(fd, 40_960);
      for (const start of starts) expect(finder.after(start, size)).toBe(at);
      // One pass over the run (about 390 KB), where a search per record would look at ~400 million offsets.
      expect(finder.examined).toBeLessThanOrEqual(at + 1);
    });
  });

  it('extends a search that found nothing instead of repeating it, and finds what lies past its reach', () => {
    const filler = Buffer.alloc(RESYNC_WINDOW + 5_000, 0x7e); // no plausible length anywhere in it
    const intact = record(Buffer.from('far away'));
    withLog([filler, intact], (fd, size) => {
      const finder = new IntactRecordFinder(fd);
      expect(finder.after(0, size)).toBeUndefined(); // beyond one window
      const examined = finder.examined;
      expect(finder.after(10_000, size)).toBe(filler.length); // within the next one
      expect(finder.examined - examined).toBeLessThanOrEqual(10_000 + 10);
    });
  });

  it('does not answer a record found before the file shrank below it', () => {
    const damaged = record(Buffer.from('damaged'), false);
    withLog([damaged, record(Buffer.from('intact'))], (fd, size) => {
      const finder = new IntactRecordFinder(fd);
      expect(finder.after(0, size)).toBe(damaged.length);
      expect(finder.after(1, damaged.length)).toBeUndefined(); // the scan saw the file end there
    });
  });

  it('gives up once a search has hashed its budget (data made of plausible lengths at every offset)', () => {
    // Every 4 bytes read as a length of 1,000,000: each offset is a candidate needing a 1 MB hash
    // (a store admitting chunks of 1 MiB).
    const crafted = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i + 4 <= crafted.length; i += 4) crafted.writeUInt32LE(1_000_000, i);
    withLog([crafted, record(Buffer.from('after the crafted bytes'))], (fd, size) => {
      const finder = new IntactRecordFinder(fd, 1024 * 1024);
      // The intact record lies past the window anyway: what shows the budget is how few offsets
      // were looked at before the search gave up (about 2.6 million without it).
      expect(finder.after(0, size)).toBeUndefined();
      expect(finder.examined).toBeLessThanOrEqual(Math.ceil(RESYNC_HASH_BUDGET / 1_000_000) * 4 + 4);
    });
  });
});

describe('IntactRecordFinder.beforeEnd', () => {
  /** `count` records of `bytes` random bytes each (incompressible: about one offset in 8,000 reads as a plausible length of up to 512 KiB). */
  function randomRecords(count: number, bytes: number, seed: number): Buffer[] {
    const random = seededRandom(seed);
    return Array.from({ length: count }, () => record(Buffer.from(Array.from({ length: bytes }, () => Math.floor(random() * 256)))));
  }

  it('finds the first intact record however far past damage, going on with a new budget where one ran out', () => {
    const damaged = randomRecords(1, 300_000, 1)[0]!;
    damaged.writeUInt32LE(0xffff_fff0, 0); // a length that makes no sense
    const intact = randomRecords(8, 300_000, 2);
    withLog([damaged, ...intact], (fd, size) => {
      const finder = new IntactRecordFinder(fd, 512 * 1024);
      expect(finder.beforeEnd(0, size)).toBe(damaged.length);
      // From inside each intact one, the next: each is found, none skipped.
      let at = damaged.length;
      for (const part of intact.slice(0, -1)) {
        expect(finder.beforeEnd(at + 1, size)).toBe(at + part.length);
        at += part.length;
      }
    });
  });

  it("answers 'none' when nothing intact follows, and hashes little when what follows only looks like records: a crash-torn tail of incompressible MiBs", () => {
    const garbage = randomRecords(6, 300_000, 3).map((part) => {
      part[10] = (part[10] as number) ^ 1; // no record hashes to its address
      return part;
    });
    withLog(garbage, (fd, size) => {
      expect(new IntactRecordFinder(fd, 512 * 1024).beforeEnd(0, size)).toBe('none');
    });
    // 5 MiB of random bytes where a store of 8 MiB chunks was writing one when it crashed:
    // hashing every candidate would cost about 5 GiB; each pass stops at its budget.
    const random = seededRandom(4);
    const tail = Buffer.from(Array.from({ length: 5 * 1024 * 1024 }, () => Math.floor(random() * 256)));
    withLog([tail], (fd, size) => {
      const finder = new IntactRecordFinder(fd, 8 * 1024 * 1024);
      expect(finder.beforeEnd(0, size)).toBe('none');
      expect(finder.hashedBytes).toBeLessThanOrEqual(2 * (TEAR_SEARCH_HASH_BUDGET + RESYNC_HASH_BUDGET));
    });
  });

  it('finds an intact record between two damaged length fields though intact records follow the second', () => {
    const [first, between, second, later, last] = randomRecords(5, 1_000, 6) as [Buffer, Buffer, Buffer, Buffer, Buffer];
    first.writeUInt32LE(0, 0); // zeros where the lengths were
    second.writeUInt32LE(0, 0);
    withLog([first, between, second, later, last], (fd, size) => {
      const finder = new IntactRecordFinder(fd, 40_960);
      // The first pass alone took `later` (it leads on to `last`), and `between` was lost with the damage.
      expect(finder.beforeEnd(0, size)).toBe(first.length);
      expect(finder.beforeEnd(first.length + between.length, size)).toBe(first.length + between.length + second.length);
    });
  });

  it('finds an intact record that more damage follows, in its second pass', () => {
    const [before, alone] = randomRecords(2, 1_000, 5) as [Buffer, Buffer];
    before.writeUInt32LE(0, 0); // zeros where a length was
    const after = Buffer.alloc(50_000, 0xff); // no plausible length: damage again
    withLog([before, alone, after], (fd, size) => {
      expect(new IntactRecordFinder(fd, 40_960).beforeEnd(0, size)).toBe(before.length);
    });
  });
});
