/** One getChunks call in the form the peer reads: packed when it said so, hex again once it refuses. */
import { describe, expect, it } from 'vitest';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import type { GetChunksCallOptions } from '../../src/protocol/client.js';
import type { GetChunksParams, GetChunksResult, InventoryResult } from '../../src/protocol/messages.js';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';
import { readServingBounds, type PeerView } from '../../src/sync/peer-view.js';
import { PeerViews } from '../../src/sync/peer-views.js';
import { requestChunks } from '../../src/sync/request-chunks.js';
import { steppedClock } from '../support/clock.js';

const A = 'a'.repeat(40);
const reply: GetChunksResult = { chunks: [], missing: [A] };

/** A client that records the form of every call and answers with `answer`. */
function clientAnswering(answer: (packed: boolean) => GetChunksResult | Error) {
  const forms: string[] = [];
  return {
    forms,
    getChunks: async (_peer: string, _params: GetChunksParams, options: GetChunksCallOptions = {}) => {
      const packed = options.packed === true;
      forms.push(packed ? 'packed' : 'hex');
      const outcome = answer(packed);
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  };
}

function viewsSaying(packs: boolean) {
  const state = { packs, stopped: 0 };
  return { state, packsAddresses: () => state.packs, stopPacking: () => { state.packs = false; state.stopped++; } };
}

describe('requestChunks', () => {
  it('packs the addresses for a peer that reads them, and sends hex to one that does not say so', async () => {
    const client = clientAnswering(() => reply);
    expect(await requestChunks({ client, views: viewsSaying(true) }, 'p', [A], {})).toEqual(reply);
    expect(await requestChunks({ client, views: viewsSaying(false) }, 'p', [A], {})).toEqual(reply);
    expect(client.forms).toEqual(['packed', 'hex']);
  });

  it('asks again at once in hex when a peer refuses the packed form, and stops packing for it', async () => {
    const client = clientAnswering((packed) => (packed ? new AtlasError(ErrorCodes.BAD_REQUEST, 'getChunks.addresses: expected an array') : reply));
    const views = viewsSaying(true);
    expect(await requestChunks({ client, views }, 'p', [A], {})).toEqual(reply);
    expect(await requestChunks({ client, views }, 'p', [A], {})).toEqual(reply);
    expect(client.forms).toEqual(['packed', 'hex', 'hex']);
    expect(views.state.stopped).toBe(1);
  });

  it('passes any other failure through, packed or not, and does not retry after an abort', async () => {
    const busy = clientAnswering(() => new AtlasError(ErrorCodes.BUSY, 'busy'));
    await expect(requestChunks({ client: busy, views: viewsSaying(true) }, 'p', [A], {})).rejects.toMatchObject({ code: ErrorCodes.BUSY });
    expect(busy.forms).toEqual(['packed']);
    const refusing = clientAnswering(() => new AtlasError(ErrorCodes.BAD_REQUEST, 'no'));
    const controller = new AbortController();
    controller.abort();
    const views = viewsSaying(true);
    await expect(requestChunks({ client: refusing, views }, 'p', [A], { signal: controller.signal })).rejects.toMatchObject({ code: ErrorCodes.BAD_REQUEST });
    expect(refusing.forms).toEqual(['packed']);
    expect(views.state.stopped).toBe(0);
  });

  it('does not retry when the caller says not to (a download whose addresses went elsewhere), and still stops packing', async () => {
    const client = clientAnswering((packed) => (packed ? new AtlasError(ErrorCodes.BAD_REQUEST, 'no') : reply));
    const views = viewsSaying(true);
    await expect(requestChunks({ client, views }, 'p', [A], { beforeRetry: () => false })).rejects.toMatchObject({ code: ErrorCodes.BAD_REQUEST });
    expect(client.forms).toEqual(['packed']);
    expect(views.state.stopped).toBe(1);
  });

  it('keeps both calls within the first one\'s timeout, so a peer cannot stretch a request to two', async () => {
    const clock = steppedClock(0);
    const timeouts: (number | undefined)[] = [];
    const refuseLate = (spent: number) => ({
      getChunks: async (_peer: string, _params: GetChunksParams, options: GetChunksCallOptions = {}) => {
        timeouts.push(options.timeoutMs);
        if (options.packed === true) {
          clock.advance(spent); // the refusal comes `spent` ms into the call
          throw new AtlasError(ErrorCodes.BAD_REQUEST, 'no');
        }
        return reply;
      },
    });
    expect(await requestChunks({ client: refuseLate(900), views: viewsSaying(true), clock }, 'p', [A], { timeoutMs: 1_000 })).toEqual(reply);
    expect(timeouts).toEqual([1_000, 100]);
    timeouts.length = 0;
    await expect(requestChunks({ client: refuseLate(1_000), views: viewsSaying(true), clock }, 'p', [A], { timeoutMs: 1_000 })).rejects.toMatchObject({ code: ErrorCodes.BAD_REQUEST });
    expect(timeouts).toEqual([1_000]);
  });

  it('keeps the retry within the client\'s own chunk timeout when the call names none (a download\'s)', async () => {
    const clock = steppedClock(0);
    const timeouts: (number | undefined)[] = [];
    const client = {
      timeouts: { chunks: 1_000 },
      getChunks: async (_peer: string, _params: GetChunksParams, options: GetChunksCallOptions = {}) => {
        timeouts.push(options.timeoutMs);
        if (options.packed === true) {
          clock.advance(900);
          throw new AtlasError(ErrorCodes.BAD_REQUEST, 'no');
        }
        return reply;
      },
    };
    expect(await requestChunks({ client, views: viewsSaying(true), clock }, 'p', [A], {})).toEqual(reply);
    expect(timeouts).toEqual([undefined, 100]);
  });

  it('keeps a peer that refused packing on hex through its later inventory replies', () => {
    const noInventory = () => Promise.reject(new Error('no inventory is read here'));
    const views = new PeerViews({ client: { inventory: noInventory, inventoryChanges: noInventory }, limits: DEFAULT_LIMITS, self: () => 'me', localLength: () => 0 });
    views.track('p');
    const view = views.get('p') as PeerView;
    const advertised = { sequenceLength: 0, inventory: { epoch: 'e', version: 1 }, bytes: new Uint8Array(0), packedAddresses: true } as InventoryResult;
    readServingBounds(view, advertised);
    expect(view.addressForm).toBe('packed');
    views.stopPacking('p');
    readServingBounds(view, advertised);
    expect(view.addressForm).toBe('refused');
    expect(views.packsAddresses('p')).toBe(false);
  });
});
