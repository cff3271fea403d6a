import { describe, expect, it } from 'vitest';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { isAtlasError } from '../../src/errors.js';
import { describeChunkStoreContract } from './contract.js';

describeChunkStoreContract('MemoryChunkStore', {
  create: async (options) => new MemoryChunkStore(options),
});

describe('MemoryChunkStore options', () => {
  it('refuses an invalid maxChunkSize', () => {
    for (const maxChunkSize of [0, -1, 1.5, Number.NaN]) {
      let error: unknown;
      try {
        new MemoryChunkStore({ maxChunkSize });
      } catch (e) {
        error = e;
      }
      expect(isAtlasError(error, 'BAD_REQUEST')).toBe(true);
    }
  });
});
