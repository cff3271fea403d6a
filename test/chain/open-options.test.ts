/**
 * Opening a chain adapter or a store names what it cannot use: a misspelt option (which would
 * silently keep its default: an observer that never listens, a store in the other chunk layout),
 * a path that is no string or cannot be a folder, an address that is taken, each with a stable code.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StacksObserverChain } from '../../src/chain/stacks/observer-chain.js';
import { ErrorCodes } from '../../src/errors.js';
import { LmdbChunkStore } from '../../src/store/lmdb.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-open-options-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('opening with options that cannot be used', () => {
  it('StacksObserverChain.open: a misspelt option, a dir that is no path or under a file, a listen address that is no address or is taken', async () => {
    writeFileSync(join(root, 'a-file'), 'x');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = `127.0.0.1:${(blocker.address() as { port: number }).port}`;
    try {
      const cases: [unknown, Record<string, unknown>][] = [
        [{ dir: join(root, 'o1'), lisen: '127.0.0.1:0' }, { code: ErrorCodes.INVALID_OPTION, option: 'lisen' }],
        [{ dir: 5 }, { code: ErrorCodes.INVALID_OPTION, option: 'dir' }],
        [undefined, { code: ErrorCodes.INVALID_OPTION, option: 'options' }],
        [{ dir: join(root, 'a-file', 'o') }, { code: ErrorCodes.INVALID_OPTION, option: 'dir', details: { errno: 'ENOTDIR' } }],
        [{ dir: join(root, 'o2'), listen: 'bogus' }, { code: ErrorCodes.INVALID_OPTION, option: 'listen' }],
        [{ dir: join(root, 'o3'), listen: taken }, { code: ErrorCodes.ADDRESS_IN_USE }],
      ];
      for (const [options, expected] of cases) {
        await expect(StacksObserverChain.open(options as never), JSON.stringify(options)).rejects.toMatchObject(expected);
      }
      // The folder the failed open created is gone; one that was there before stays, with what it held.
      expect(existsSync(join(root, 'o3'))).toBe(false);
      mkdirSync(join(root, 'o4'));
      writeFileSync(join(root, 'o4', 'notes.txt'), 'mine');
      await expect(StacksObserverChain.open({ dir: join(root, 'o4'), listen: taken })).rejects.toMatchObject({ code: ErrorCodes.ADDRESS_IN_USE });
      expect(readFileSync(join(root, 'o4', 'notes.txt'), 'utf8')).toBe('mine');
      // ...and nothing else: the journal files the failed open created there are gone too.
      expect(readdirSync(join(root, 'o4'))).toEqual(['notes.txt']);
      // Missing parents it created go with the folder.
      await expect(StacksObserverChain.open({ dir: join(root, 'o5', 'deep', 'stacks'), listen: taken })).rejects.toMatchObject({ code: ErrorCodes.ADDRESS_IN_USE });
      expect(existsSync(join(root, 'o5'))).toBe(false);
      // A journal that was there is left as it was, its attachments log beside it.
      const kept = join(root, 'o6');
      await (await StacksObserverChain.open({ dir: kept })).close();
      const before = readdirSync(kept).map((name) => [name, readFileSync(join(kept, name)).toString('hex')]);
      await expect(StacksObserverChain.open({ dir: kept, listen: taken })).rejects.toMatchObject({ code: ErrorCodes.ADDRESS_IN_USE });
      expect(readdirSync(kept).map((name) => [name, readFileSync(join(kept, name)).toString('hex')])).toEqual(before);
      // The taken address left the journal it opened closed: the same dir opens once the port is free.
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
      const chain = await StacksObserverChain.open({ dir: join(root, 'o3'), listen: taken });
      expect(chain.address).toBe(taken);
      await chain.close();
    } finally {
      blocker.close();
    }
  });

  it('StacksObserverChain.open refuses a journal folder already open in this process (BUSY), and takes it once the first closes', async () => {
    const dir = join(root, 'shared-journal');
    const first = await StacksObserverChain.open({ dir });
    await expect(StacksObserverChain.open({ dir: join(dir, '..', 'shared-journal') })).rejects.toMatchObject({ code: ErrorCodes.BUSY });
    await first.close();
    const second = await StacksObserverChain.open({ dir });
    await second.close();
  });

  it('LmdbChunkStore.open refuses a misspelt option: the chunk layout is fixed for the life of a store', async () => {
    await expect(LmdbChunkStore.open({ path: join(root, 's'), chunkStorag: 'lmdb' } as never)).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION, option: 'chunkStorag' });
    await expect(LmdbChunkStore.open(undefined as never)).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION, option: 'options' });
  });
});
