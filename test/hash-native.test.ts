// The addon itself, called directly: bad arguments must throw TypeError/RangeError, never crash
// the process (a crash here would fail the whole test file, not one assertion).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { NATIVE_ADDON_PATH } from '../src/hash/index.js';
import { loadNativeHash } from '../src/hash/native.js';

interface Addon {
  hash160(data: unknown): Buffer;
  hash160Batch(chunks: unknown): Buffer;
  hash160Packed(data: unknown, offsets: unknown): Buffer;
  hash160Chain(previous: unknown, addresses: unknown): Buffer;
  openssl: string;
  ripemd160: string;
}

const built = existsSync(NATIVE_ADDON_PATH);
const addon = built ? (createRequire(import.meta.url)(NATIVE_ADDON_PATH) as Addon) : undefined;
if (!built) console.warn(`native addon not built (${NATIVE_ADDON_PATH}); skipping its tests: run npm run build:native`);

const EMPTY = 'b472a266d0bd89c13706a4132ccfb16f7c3b9fcb';
const ABC = 'bb1be98c142444d7a56aa3981c3942a978e4dc33'; // see test/hash.test.ts for its provenance

function thrown(call: () => unknown): { type: string; message: string } | undefined {
  try {
    call();
  } catch (error) {
    return { type: (error as Error).constructor.name, message: (error as Error).message };
  }
  return undefined;
}

describe('loading the addon', () => {
  it('reports why when the file is missing, instead of throwing', () => {
    const load = loadNativeHash('/nonexistent/atlas_native.node');
    expect(load.impl).toBeUndefined();
    expect(load.impl === undefined && load.reason).toContain('not built');
  });

  it('reports why when the file is not an addon', () => {
    const dir = mkdtempSync(join(tmpdir(), 'atlas-hash-'));
    try {
      const path = join(dir, 'atlas_native.node');
      writeFileSync(path, 'not a shared object');
      const load = loadNativeHash(path);
      expect(load.impl).toBeUndefined();
      expect(load.impl === undefined && load.reason).toMatch(/^cannot load /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('chains in JavaScript with an addon built before hash160Chain existed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'atlas-hash-'));
    try {
      // A stand-in for a stale build: the older exports, hashing with node:crypto.
      const path = join(dir, 'atlas_native.cjs');
      writeFileSync(
        path,
        `const c = require('node:crypto');
         const h = (d) => c.createHash('ripemd160').update(c.createHash('sha256').update(d).digest()).digest();
         module.exports = { hash160: h, hash160Batch: (l) => Buffer.concat(l.map(h)), hash160Packed: () => Buffer.alloc(0), openssl: 'stale' };`,
      );
      const load = loadNativeHash(path);
      expect(load.impl).toBeDefined();
      const previous = new Uint8Array(20).fill(7);
      const addresses = new Uint8Array(60).map((_, i) => i);
      const step = (digest: Uint8Array, at: number) => createHash('ripemd160').update(createHash('sha256').update(Buffer.concat([digest, addresses.subarray(at, at + 20)])).digest()).digest();
      const expected = step(previous, 0);
      expect(Buffer.from(load.impl!.hash160Chain(previous, addresses.subarray(0, 20))).equals(expected)).toBe(true);
      expect(load.impl!.hash160Chain(previous, addresses).length).toBe(20);
      expect(Buffer.from(load.impl!.hash160Chain(previous, addresses)).equals(step(step(expected, 20), 40))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!addon)('native addon', () => {
  const a = addon!;

  it('returns 20-byte Buffers and links the OpenSSL of node itself', () => {
    const digest = a.hash160(Buffer.from('abc'));
    expect(Buffer.isBuffer(digest)).toBe(true);
    expect(digest.toString('hex')).toBe(ABC);
    expect(a.openssl).toMatch(/^OpenSSL 3\./);
    expect(a.openssl).toContain(process.versions.openssl);
  });

  it('lays batch digests end to end, digest i at 20 * i', () => {
    const out = a.hash160Batch([Buffer.from('abc'), new Uint8Array(0), Buffer.from('abc')]);
    expect(out.toString('hex')).toBe(ABC + EMPTY + ABC);
    expect(a.hash160Batch([]).length).toBe(0);
    const packed = a.hash160Packed(Buffer.from('xxabc'), new Uint32Array([2, 5, 5, 5]));
    expect(packed.toString('hex')).toBe(ABC + EMPTY + EMPTY);
  });

  it('hashes a detached buffer as empty rather than crashing', () => {
    const bytes = new Uint8Array(new ArrayBuffer(8));
    structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
    expect(bytes.length).toBe(0);
    expect(a.hash160(bytes).toString('hex')).toBe(EMPTY);
  });

  it('throws TypeError for values that are not Uint8Arrays', () => {
    const values: unknown[] = [undefined, null, 0, 'abc', Symbol('x'), {}, [], () => 1, new ArrayBuffer(2), new DataView(new ArrayBuffer(2)), new Uint8ClampedArray(2), new Uint32Array(1), new Float64Array(1), BigInt(1)];
    for (const value of values) {
      expect(thrown(() => a.hash160(value)), String(value)).toEqual({ type: 'TypeError', message: 'hash160: expected a Uint8Array' });
    }
    expect(thrown(() => (a.hash160 as () => Buffer)())?.type).toBe('TypeError');
  });

  it('throws TypeError for a batch that is not an array of Uint8Arrays', () => {
    for (const value of [undefined, 'abc', new Uint8Array(3), { length: 2 }, new Set([new Uint8Array(1)])]) {
      expect(thrown(() => a.hash160Batch(value))?.type, String(value)).toBe('TypeError');
    }
    // Items are checked one by one: a hole, a string, a typed array of another type.
    // eslint-disable-next-line no-sparse-arrays
    for (const batch of [[new Uint8Array(1), , new Uint8Array(1)], [new Uint8Array(1), 'x'], [new Uint16Array(1)]]) {
      expect(thrown(() => a.hash160Batch(batch))).toEqual({ type: 'TypeError', message: 'hash160Batch: every item must be a Uint8Array' });
    }
  });

  it('lets an exception thrown by an element getter through', () => {
    const batch: Uint8Array[] = [new Uint8Array(1), new Uint8Array(1)];
    Object.defineProperty(batch, 1, {
      get() {
        throw new Error('getter says no');
      },
    });
    expect(thrown(() => a.hash160Batch(batch))).toEqual({ type: 'Error', message: 'getter says no' });
    // The addon is still usable afterwards.
    expect(a.hash160Batch([new Uint8Array(0)]).toString('hex')).toBe(EMPTY);
  });

  it('hashes a large batch across many handle scopes', () => {
    const chunks = Array.from({ length: 1000 }, (_, i) => Buffer.from(String(i)));
    const out = a.hash160Batch(chunks);
    expect(out.length).toBe(20_000);
    expect(out.subarray(999 * 20).toString('hex')).toBe(a.hash160(Buffer.from('999')).toString('hex'));
    expect(out.subarray(256 * 20, 257 * 20).toString('hex')).toBe(a.hash160(Buffer.from('256')).toString('hex'));
  });

  it('chains the sequence digest, and refuses a previous digest or addresses of the wrong size', () => {
    const previous = Buffer.alloc(20, 1);
    const address = Buffer.alloc(20, 2);
    expect(a.hash160Chain(previous, address).toString('hex')).toBe(a.hash160(Buffer.concat([previous, address])).toString('hex'));
    expect(a.hash160Chain(previous, Buffer.concat([address, address])).toString('hex')).toBe(
      a.hash160(Buffer.concat([a.hash160(Buffer.concat([previous, address])), address])).toString('hex'),
    );
    expect(a.hash160Chain(previous, new Uint8Array(0)).equals(previous)).toBe(true);
    expect(thrown(() => a.hash160Chain(Buffer.alloc(19), address))?.type).toBe('RangeError');
    expect(thrown(() => a.hash160Chain(previous, Buffer.alloc(30)))?.type).toBe('RangeError');
    expect(thrown(() => a.hash160Chain(previous, 'abc'))?.type).toBe('TypeError');
    expect(thrown(() => a.hash160Chain(previous, new Uint32Array(5)))?.type).toBe('TypeError');
    expect(thrown(() => (a.hash160Chain as (p: unknown) => Buffer)(previous))?.type).toBe('TypeError');
  });

  it('validates packed offsets before hashing anything', () => {
    const data = new Uint8Array(10);
    expect(thrown(() => a.hash160Packed(data, new Uint32Array([])))?.type).toBe('RangeError');
    expect(thrown(() => a.hash160Packed(data, new Uint32Array([0, 11])))?.type).toBe('RangeError');
    expect(thrown(() => a.hash160Packed(data, new Uint32Array([0, 4, 3])))?.type).toBe('RangeError');
    expect(thrown(() => a.hash160Packed(data, new Uint32Array([0xffffffff])))?.type).toBe('RangeError');
    expect(thrown(() => a.hash160Packed(data, [0, 1]))?.type).toBe('TypeError');
    expect(thrown(() => a.hash160Packed(data, new Int32Array([0, 1])))?.type).toBe('TypeError');
    expect(thrown(() => a.hash160Packed('abc', new Uint32Array([0, 1])))?.type).toBe('TypeError');
    expect(thrown(() => (a.hash160Packed as (d: unknown) => Buffer)(data))?.type).toBe('TypeError');
  });
});

/**
 * Every RIPEMD-160 the addon can run (ATLAS_RIPEMD160, read once a process: so a child process
 * each), against node:crypto: single items, batches around the 8-lane groups (a partial group
 * at the end, and one of many items of varied lengths), packed chunks and a digest chain.
 */
const CHECK_IMPLEMENTATION = `
const { createHash } = require('node:crypto');
const addon = require(process.argv[1]);
const reference = (d) => createHash('ripemd160').update(createHash('sha256').update(d).digest()).digest('hex');
let seed = 7;
const bytes = (n) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) { seed = (seed * 1103515245 + 12345) >>> 0; b[i] = seed >>> 24; } return b; };
const wrong = [];
let checked = 0;
for (const count of [1, 7, 8, 9, 16, 23, 300]) {
  const chunks = Array.from({ length: count }, (_, i) => bytes(i === 5 ? 40960 : (i * 37) % 300));
  const offsets = new Uint32Array(count + 1);
  for (let i = 0; i < count; i++) offsets[i + 1] = offsets[i] + chunks[i].length;
  const batch = addon.hash160Batch(chunks);
  const packed = addon.hash160Packed(Buffer.concat(chunks), offsets);
  chunks.forEach((chunk, i) => {
    const expected = reference(chunk);
    checked++;
    if (batch.toString('hex', 20 * i, 20 * i + 20) !== expected) wrong.push('batch ' + count + '#' + i);
    if (packed.toString('hex', 20 * i, 20 * i + 20) !== expected) wrong.push('packed ' + count + '#' + i);
    if (addon.hash160(chunk).toString('hex') !== expected) wrong.push('one ' + count + '#' + i);
  });
}
const addresses = bytes(20 * 100);
let digest = bytes(20);
const chained = addon.hash160Chain(digest, addresses).toString('hex');
for (let i = 0; i < 100; i++) digest = Buffer.from(reference(Buffer.concat([digest, addresses.subarray(20 * i, 20 * i + 20)])), 'hex');
if (chained !== digest.toString('hex')) wrong.push('chain');
console.log(JSON.stringify({ ripemd160: addon.ripemd160, checked, wrong }));
`;

/** Whether this is a Linux x86-64 CPU with AVX2 (gcc and clang builds there have the lanes); undefined elsewhere. */
function linuxCpuHasAvx2(): boolean | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  try {
    return /\bavx2\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return undefined;
  }
}

describe.skipIf(!addon)('native addon: RIPEMD-160 implementations', () => {
  const cpuHasAvx2 = linuxCpuHasAvx2();

  function runWith(asked: string): { ripemd160: string; checked: number; wrong: string[] } {
    const run = spawnSync(process.execPath, ['-e', CHECK_IMPLEMENTATION, NATIVE_ADDON_PATH], { env: { ...process.env, ATLAS_RIPEMD160: asked }, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    return JSON.parse(run.stdout) as { ripemd160: string; checked: number; wrong: string[] };
  }

  it.each(['openssl', 'portable', 'avx2', ''])('hashes like node:crypto with ATLAS_RIPEMD160=%s', (asked) => {
    const result = runWith(asked);
    expect(result.wrong).toEqual([]);
    expect(result.checked).toBe(364);
    if (asked === 'openssl' || asked === 'portable') expect(result.ripemd160).toBe(asked);
    // AVX2 where the build and the CPU have it (a lane that failed the load's check would fall
    // back to the portable one), else the portable one; never OpenSSL's unasked.
    else if (cpuHasAvx2 === undefined) expect(['avx2', 'portable']).toContain(result.ripemd160);
    else expect(result.ripemd160).toBe(cpuHasAvx2 ? 'avx2' : 'portable');
  });

  it('reports the one this process uses', () => {
    expect(['avx2', 'portable', 'openssl']).toContain(addon!.ripemd160);
    const info = loadNativeHash(NATIVE_ADDON_PATH);
    expect(info.impl !== undefined && info.ripemd160).toBe(addon!.ripemd160);
  });
});

