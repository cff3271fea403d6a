import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DevChain } from '../../src/chain/dev.js';
import { MemoryChain } from '../../src/chain/memory.js';
import type { ChainEvent } from '../../src/chain/types.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-devchain-test-'));
let counter = 0;
const freshFile = () => join(root, `chain-${counter++}`, 'announcements.jsonl');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const addr = (i: number) => i.toString(16).padStart(40, 'a');
const line = (position: number, address: string, extra: Record<string, unknown> = {}) => JSON.stringify({ position, address, ...extra }) + '\n';

function recordingLogger() {
  const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
  return { warnings, logger: { debug() {}, info() {}, error() {}, warn: (message: string, fields?: Record<string, unknown>) => void warnings.push({ message, fields }) } };
}

describe('DevChain', () => {
  it('creates its file, appends JSON lines, and reads them back after a reopen', async () => {
    const path = freshFile();
    const chain = await DevChain.open(path);
    expect(await chain.length()).toBe(0);
    const added = await chain.announce([addr(1).toUpperCase(), { address: addr(2), key: 'bob.id', height: 3, txid: 'ff' }]);
    expect(added).toEqual([
      { position: 0, address: addr(1) },
      { position: 1, address: addr(2), key: 'bob.id', height: 3, txid: 'ff' },
    ]);
    expect(readFileSync(path, 'utf8')).toBe(line(0, addr(1)) + line(1, addr(2), { key: 'bob.id', height: 3, txid: 'ff' }));
    await chain.close();
    const reopened = await DevChain.open(path);
    expect(reopened.repaired).toBeUndefined();
    expect(await reopened.read(0, 10)).toEqual(added);
    expect((await reopened.announce(addr(3)))[0]?.position).toBe(2);
    await reopened.close();
  });

  it('drops a torn last line (a prefix of a chain line) with a warning, repairs the file and keeps going', async () => {
    const whole = JSON.stringify({ position: 2, address: addr(9), key: 'carol.id', height: 7 });
    const tornLines = ['{', '{"position":2,"addr', `{"position":2,"address":"${addr(9).slice(0, 17)}`, whole.slice(0, whole.length - 1), whole.slice(0, 60)];
    for (const torn of tornLines) {
      const path = freshFile();
      const good = line(0, addr(1)) + line(1, addr(2));
      await (await DevChain.open(path)).close();
      writeFileSync(path, good + torn);
      const { warnings, logger } = recordingLogger();
      const chain = await DevChain.open(path, { logger });
      expect(warnings.length).toBe(1);
      expect(warnings[0]?.message).toMatch(/torn last line/);
      expect(chain.repaired).toEqual({ droppedBytes: Buffer.byteLength(torn), keptBytes: Buffer.byteLength(good) });
      expect(readFileSync(path, 'utf8')).toBe(good);
      expect(await chain.length()).toBe(2);
      await chain.announce(addr(3));
      expect(readFileSync(path, 'utf8')).toBe(good + line(2, addr(3)));
      await chain.close();
    }
  });

  it('refuses, and leaves untouched, a file that does not parse as a chain', async () => {
    const good = line(0, addr(1)) + line(1, addr(2));
    const cases = [
      'a-secret-token-without-newline',
      'x'.repeat(5 * 1024 * 1024),
      'garbage\n',
      good + 'garbage\n',
      good + '{"position":2,"address":"zz"}\n',
      good + 'garbage without newline',
      good + '{"position":7,"addr', // the start of a line, but not of the next position's
      good + `{ "position": 2, "address": "${addr(3)}"`, // another layout: not ours to cut
    ];
    for (const content of cases) {
      const path = freshFile();
      await (await DevChain.open(path)).close();
      writeFileSync(path, content);
      const error = await DevChain.open(path).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'BAD_ANNOUNCEMENT' });
      expect(readFileSync(path, 'utf8')).toBe(content);
    }
  });

  it('keeps a valid last line without its newline, and adds the newline', async () => {
    const path = freshFile();
    await (await DevChain.open(path)).close();
    const content = line(0, addr(1)) + line(1, addr(2), { key: 'bob.id' }).trimEnd();
    writeFileSync(path, content);
    const { warnings, logger } = recordingLogger();
    const chain = await DevChain.open(path, { logger });
    expect(chain.repaired).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(await chain.read(0, 10)).toEqual([
      { position: 0, address: addr(1) },
      { position: 1, address: addr(2), key: 'bob.id' },
    ]);
    await chain.announce(addr(3));
    expect(readFileSync(path, 'utf8')).toBe(content + '\n' + line(2, addr(3)));
    await chain.close();
  });

  it('fails at once for a file it cannot create a folder for (Node\'s recursive mkdir loops for ever on /proc/x)', async () => {
    await expect(DevChain.open('/proc/atlas-x/y/chain.jsonl')).rejects.toMatchObject({ code: 'INVALID_OPTION', option: 'path', details: { errno: 'ENOENT' }, cause: { path: '/proc/atlas-x' } });
    await expect(DevChain.open('/sys/atlas-x/chain.jsonl')).rejects.toMatchObject({ code: 'INVALID_OPTION', option: 'path', cause: { path: '/sys/atlas-x' } });
  });

  it('names what it cannot use: a misspelt option, a path that is no string, a folder that is a file', async () => {
    await expect(DevChain.open(join(root, 'c.jsonl'), { maxReadLimt: 5 } as never)).rejects.toMatchObject({ code: 'INVALID_OPTION', option: 'maxReadLimt' });
    await expect(DevChain.open(undefined as never)).rejects.toMatchObject({ code: 'INVALID_OPTION', option: 'path' });
    writeFileSync(join(root, 'a-file'), 'x');
    await expect(DevChain.open(join(root, 'a-file', 'c.jsonl'))).rejects.toMatchObject({ code: 'INVALID_OPTION', option: 'path', details: { errno: 'ENOTDIR' } });
  });

  it('refuses a path that is no regular file before opening or reading it: a device is read without end, a pipe holds open()', async () => {
    await expect(DevChain.open('/dev/zero')).rejects.toMatchObject({ code: 'INVALID_OPTION', option: 'path', message: expect.stringMatching(/not a regular file/) });
    const pipe = join(root, 'a-pipe');
    execFileSync('mkfifo', [pipe]);
    await expect(DevChain.open(pipe)).rejects.toMatchObject({ code: 'INVALID_OPTION', option: 'path', message: expect.stringMatching(/not a regular file/) });
    await expect(DevChain.open(root)).rejects.toMatchObject({ code: 'INVALID_OPTION', option: 'path' }); // a folder
  });

  it('refuses a file whose damage is not at the end', async () => {
    const cases = [
      line(0, addr(1)) + 'not json\n' + line(2, addr(3)),
      line(0, addr(1)) + line(5, addr(2)) + line(2, addr(3)),
      line(0, addr(1)) + line(1, 'bad address') + line(2, addr(3)),
    ];
    for (const content of cases) {
      const path = freshFile();
      await (await DevChain.open(path)).close();
      writeFileSync(path, content);
      const error = await DevChain.open(path).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'BAD_ANNOUNCEMENT', details: { line: 2 } });
      expect(readFileSync(path, 'utf8')).toBe(content);
    }
  });

  it('persists a rollback atomically and tells subscribers', async () => {
    const path = freshFile();
    const chain = await DevChain.open(path);
    const events: ChainEvent[] = [];
    chain.subscribe((e) => events.push(e));
    await chain.announce([addr(1), addr(2), addr(3)]);
    await chain.rollback(1);
    await chain.rollback(1);
    await expect(chain.rollback(2)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(events.map((e) => e.type)).toEqual(['append', 'rollback']);
    expect(events[1]).toEqual({ type: 'rollback', length: 1 });
    expect(readFileSync(path, 'utf8')).toBe(line(0, addr(1)));
    expect(readdirSync(join(path, '..'))).toEqual(['announcements.jsonl']);
    await chain.announce(addr(4));
    await chain.close();
    const reopened = await DevChain.open(path);
    expect((await reopened.read(0, 10)).map((a) => a.address)).toEqual([addr(1), addr(4)]);
    await reopened.rollback(0);
    expect(readFileSync(path, 'utf8')).toBe('');
    await reopened.close();
  });

  it('refresh() reads lines another process appended, waiting for a line still being written', async () => {
    const path = freshFile();
    const chain = await DevChain.open(path);
    const events: ChainEvent[] = [];
    chain.subscribe((e) => events.push(e));
    await chain.announce(addr(1));
    appendFileSync(path, line(1, addr(2)) + line(2, addr(3)));
    expect(await chain.refresh()).toBe(2);
    const partial = line(3, addr(4));
    appendFileSync(path, partial.slice(0, 10));
    expect(await chain.refresh()).toBe(0);
    appendFileSync(path, partial.slice(10));
    expect(await chain.refresh()).toBe(1);
    expect(events.map((e) => (e.type === 'append' ? e.announcements.map((a) => a.position) : e.length))).toEqual([[0], [1, 2], [3]]);
    appendFileSync(path, line(9, addr(5)));
    await expect(chain.refresh()).rejects.toMatchObject({ code: 'BAD_ANNOUNCEMENT' });
    expect(await chain.length()).toBe(4);
    await chain.close();
  });

  it('refresh() notices another process rolled the file back and rewrote it', async () => {
    const path = freshFile();
    const mine = await DevChain.open(path);
    await mine.announce([addr(1), addr(2), addr(3)]);
    const events: ChainEvent[] = [];
    mine.subscribe((e) => events.push(e));
    const theirs = await DevChain.open(path);
    await theirs.rollback(1);
    await theirs.announce([addr(7), addr(8)]);
    await theirs.close();
    expect(await mine.refresh()).toBe(2);
    expect(events).toEqual([
      { type: 'rollback', length: 1 },
      { type: 'append', announcements: [{ position: 1, address: addr(7) }, { position: 2, address: addr(8) }] },
    ]);
    expect((await mine.read(0, 10)).map((a) => a.address)).toEqual([addr(1), addr(7), addr(8)]);
    await mine.announce(addr(9));
    expect(readFileSync(path, 'utf8').split('\n').filter(Boolean).length).toBe(4);
    await mine.close();
  });

  it('refresh() of a file it cannot read for a moment fails (CHAIN_FAILED) and keeps the chain: no rollback', async () => {
    const path = freshFile();
    const writer = await DevChain.open(path);
    await writer.announce([addr(1), addr(2), addr(3)]);
    const reader = await DevChain.open(path);
    const events: ChainEvent[] = [];
    reader.subscribe((e) => events.push(e));
    // In life EACCES, EMFILE or EIO; here a directory stands where the file was.
    renameSync(path, `${path}.moved`);
    mkdirSync(path);
    await expect(reader.refresh()).rejects.toMatchObject({ code: 'CHAIN_FAILED' });
    expect([events, await reader.length()]).toEqual([[], 3]);
    rmSync(path, { recursive: true });
    renameSync(`${path}.moved`, path);
    expect(await reader.refresh()).toBe(0);
    expect(events).toEqual([]);
    await reader.close();
    await writer.close();
  });

  it('takes a batch of 150,000 announcements at once, and so does MemoryChain (a spread push overflowed the stack)', async () => {
    const path = freshFile();
    const chain = await DevChain.open(path);
    const many = Array.from({ length: 150_000 }, (_, i) => addr(i));
    await chain.announce(many);
    expect(await chain.length()).toBe(150_000);
    const reader = await DevChain.open(path);
    expect(await reader.length()).toBe(150_000);
    await reader.close();
    await chain.close();
    const memory = new MemoryChain();
    memory.announce(many);
    expect(await memory.length()).toBe(150_000);
  });

  it('announce() picks up other writers first, so positions continue the file', async () => {
    const path = freshFile();
    const chain = await DevChain.open(path);
    appendFileSync(path, line(0, addr(1)));
    expect((await chain.announce(addr(2)))[0]?.position).toBe(1);
    expect((await chain.read(0, 5)).length).toBe(2);
    await chain.close();
    await expect(chain.announce(addr(3))).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
