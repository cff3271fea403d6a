/**
 * `atlas get -o FILE` writes the chunk whole or not at all: a write that fails part-way (here the
 * process's file size limit, as a full disk would) leaves FILE as it was, never cut short.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hash160Hex } from '../../src/hash/index.js';
import { HttpTransport } from '../../src/transport/http.js';
import type { TransportService } from '../../src/transport/types.js';
import { atlasCommand, errorLines, runAtlas, runProcess } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'atlas-get-output-'));
const transport = new HttpTransport({ listen: '127.0.0.1:0' });
afterAll(async () => {
  await transport.close();
  rmSync(dir, { recursive: true, force: true });
});

const chunk = Buffer.alloc(40_000, 0x61);
const address = hash160Hex(chunk);
const service: TransportService = {
  async handle(method) {
    if (method !== 'getChunks') throw new Error(`unexpected ${method}`);
    return { chunks: [{ address, data: chunk }], missing: [] };
  },
};

describe('atlas get -o', () => {
  it('writes the chunk to the file, replacing what was there', async () => {
    const peer = transport.address ?? (await transport.listen(service));
    const out = join(dir, 'replaced.txt');
    writeFileSync(out, 'before');
    const result = await runAtlas(['get', address, '-p', peer, '-o', out]);
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(out).equals(chunk)).toBe(true);
    expect(readdirSync(dir).filter((name) => name.startsWith('.'))).toEqual([]);
  });

  it('through a symbolic link, replaces the file it points to and keeps the link', async () => {
    const peer = transport.address ?? (await transport.listen(service));
    const targets = join(dir, 'targets');
    mkdirSync(targets);
    const target = join(targets, 'real.txt');
    writeFileSync(target, 'before');
    const link = join(dir, 'link.txt');
    symlinkSync(target, link);
    const result = await runAtlas(['get', address, '-p', peer, '-o', link]);
    expect(result.code, result.stderr).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target).equals(chunk)).toBe(true);
    expect(readdirSync(targets)).toEqual(['real.txt']);
  });

  it('leaves an existing file as it was when the write fails part-way, exiting 1 in one line', async () => {
    const peer = transport.address ?? (await transport.listen(service));
    const out = join(dir, 'kept.txt');
    writeFileSync(out, 'precious');
    const { command, args } = atlasCommand(['get', address, '-p', peer, '-o', out]);
    // A file size limit of 16 KiB: the 40,000-byte chunk cannot be written whole (EFBIG).
    const quoted = [command, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const result = await runProcess('sh', ['-c', `ulimit -f 16 && exec ${quoted}`]);
    expect(result.code, result.stderr).toBe(1);
    expect(errorLines(result.stderr)).toEqual([`atlas: cannot write ${out}: EFBIG`]);
    expect(readFileSync(out, 'utf8').slice(0, 64)).toBe('precious');
    expect(readdirSync(dir).filter((name) => name.startsWith('.'))).toEqual([]);
  });
});
