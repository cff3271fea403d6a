/**
 * An environment LmdbChunkStore.open refuses is left as it was: a foreign LMDB environment, a store
 * of a newer format and a store whose format record is damaged are refused with STORE_CORRUPT
 * (naming the directory) before anything is created in them, and their lock is released.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open as openLmdb } from 'lmdb';
import { afterAll, describe, expect, it } from 'vitest';
import { LmdbChunkStore, STORE_FORMAT_VERSION } from '../../src/store/lmdb.js';
import { addressOf, announcementsFor, chunkOf } from './contract.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-lmdb-refusal-'));
let counter = 0;
const freshPath = () => join(root, `env-${counter++}`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every file of the directory, by name, with its bytes. */
function files(path: string): Map<string, Buffer> {
  return new Map(readdirSync(path).sort().map((name) => [name, readFileSync(join(path, name))]));
}

/** Expects open to be refused with STORE_CORRUPT naming `path`, and every file of `path` unchanged apart from lock.mdb (LMDB's reader table). */
async function expectRefusedUnchanged(path: string, message?: RegExp): Promise<void> {
  const before = files(path);
  const error = await LmdbChunkStore.open({ path, chunkStorage: 'lmdb' }).then(() => undefined, (thrown: unknown) => thrown);
  expect((error as { code?: string } | undefined)?.code).toBe('STORE_CORRUPT');
  expect((error as Error).message).toContain(path);
  if (message) expect((error as Error).message).toMatch(message);
  const after = files(path);
  // The store's lock file comes and goes with the open: the data file must not change at all.
  expect(after.get('data.mdb')?.equals(before.get('data.mdb') as Buffer)).toBe(true);
  expect([...after.keys()].filter((name) => name !== 'lock.mdb' && !before.has(name))).toEqual([]);
  // The lock was released: a second refusal is the same refusal, not BUSY.
  const again = await LmdbChunkStore.open({ path, chunkStorage: 'lmdb' }).then(() => undefined, (thrown: unknown) => thrown);
  expect((again as { code?: string } | undefined)?.code).toBe('STORE_CORRUPT');
  expect(files(path).get('data.mdb')?.equals(before.get('data.mdb') as Buffer)).toBe(true);
}

/** An environment written with lmdb-js directly. */
async function writeEnvironment(path: string, write: (env: ReturnType<typeof openLmdb>) => Promise<void>): Promise<void> {
  const env = openLmdb({ path, maxDbs: 8 });
  await write(env);
  await env.close();
}

describe('LmdbChunkStore.open refuses without writing', () => {
  it('leaves a foreign environment with a sub-database of its own unchanged', async () => {
    const path = freshPath();
    await writeEnvironment(path, async (env) => {
      await env.openDB('accounts', { encoding: 'msgpack' }).put('alice', { balance: 10 });
      await env.openDB('meta', { encoding: 'msgpack' }).put('schema', 3);
    });
    await expectRefusedUnchanged(path, /not an atlasnet store/);
  });

  it('leaves a foreign environment whose sub-database names are all ours unchanged', async () => {
    const path = freshPath();
    await writeEnvironment(path, async (env) => {
      await env.openDB('meta', { encoding: 'msgpack' }).put('format', { app: 'someone else', v: 1 });
    });
    await expectRefusedUnchanged(path, /not an atlasnet store/);
    const other = freshPath();
    await writeEnvironment(other, async (env) => {
      await env.openDB('chunks', { encoding: 'msgpack' }).put('k', 'v');
    });
    await expectRefusedUnchanged(other, /no atlasnet format record/);
  });

  it('leaves a store of a newer format unchanged', async () => {
    const path = freshPath();
    await writeEnvironment(path, async (env) => {
      await env.openDB('meta', { encoding: 'msgpack' }).put('format', { magic: 'atlasnet-store', version: STORE_FORMAT_VERSION + 1, chunks: 'lmdb' });
    });
    await expectRefusedUnchanged(path, /newer atlasnet/);
  });

  it('refuses a damaged format record with STORE_CORRUPT, whatever it fails to decode as', async () => {
    for (const damage of [[0xc1], [0x85, 0xa5], [0xd9], []]) {
      const path = freshPath();
      const store = await LmdbChunkStore.open({ path, chunkStorage: 'lmdb' });
      await store.append(announcementsFor([addressOf(chunkOf('a'))], 0));
      await store.close();
      await writeEnvironment(path, async (env) => {
        await env.openDB('meta', { encoding: 'binary' }).put('format', Buffer.from(damage));
      });
      await expectRefusedUnchanged(path, /format record/);
    }
  });

  it('still creates a new store, and reopens it', async () => {
    const path = freshPath();
    const store = await LmdbChunkStore.open({ path, chunkStorage: 'lmdb' });
    await store.append(announcementsFor([addressOf(chunkOf('b'))], 0));
    const digest = store.sequenceDigest();
    await store.close();
    const reopened = await LmdbChunkStore.open({ path });
    expect(reopened.sequenceDigest()).toBe(digest);
    expect(reopened.chunkStorage).toBe('lmdb');
    await reopened.close();
  });
});
