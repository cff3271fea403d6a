/** AtlasNode's methods check what they are given: a clear error, never a TypeError from inside nor an option silently dropped. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { ErrorCodes } from '../../src/errors.js';
import { hash160Hex } from '../../src/hash/index.js';
import { AtlasNode } from '../../src/node/atlas-node.js';
import { MemoryNetwork } from '../../src/transport/memory.js';

const chunk = new Uint8Array(Buffer.from('$ORIGIN alice.id\n'));
const address = hash160Hex(chunk);
let node: AtlasNode;

beforeAll(async () => {
  const chain = new MemoryChain();
  chain.announce([address]);
  node = await AtlasNode.open({ chain, transport: new MemoryNetwork().transport('a') });
  await node.start(); // fetchChunks and whenSynced need a running node (NOT_STARTED before)
  await node.putChunks([chunk]);
});
afterAll(async () => {
  await node?.close();
});

describe('AtlasNode arguments', () => {
  it('getChunks and fetchChunks refuse addresses that are not a list (a string was read letter by letter, or threw a TypeError)', async () => {
    for (const call of [() => node.getChunks('abc' as never), () => node.fetchChunks('abc' as never)]) {
      await expect(call()).rejects.toMatchObject({ code: ErrorCodes.BAD_REQUEST, message: expect.stringContaining('must be an array') });
    }
  });

  it('key what they found by the lower-case address, whatever case was asked', async () => {
    expect([...(await node.getChunks([address.toUpperCase()])).keys()]).toEqual([address]);
    expect([...(await node.fetchChunks([address.toUpperCase()])).keys()]).toEqual([address]);
  });

  it('refuse an options object of the wrong shape, a misspelt option and a signal that is not an AbortSignal, naming it', async () => {
    const cases: [() => Promise<unknown>, string][] = [
      [() => node.fetchChunks([address], { wiat: true } as never), 'wiat'],
      [() => node.fetchChunks([address], { signal: {} } as never), 'signal'],
      [() => node.fetchChunks([address], 5 as never), 'options'],
      [() => node.whenSynced({ signal: 5 } as never), 'signal'],
      [() => node.resolve('alice.id', { signal: 'now' } as never), 'signal'],
      [() => node.history('alice.id', { timeout: 5 } as never), 'timeout'],
    ];
    for (const [call, option] of cases) await expect(call(), option).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION, option });
  });

  it('zonefile answers undefined for what is not an address, a number included', () => {
    expect(node.zonefile(5 as never)).toBeUndefined();
    expect(node.zonefile('xyz')).toBeUndefined();
    expect(node.zonefile(address.toUpperCase())).toEqual(chunk);
  });
});
