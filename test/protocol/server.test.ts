import { describe, expect, it } from 'vitest';
import { AtlasError, ErrorCodes, isAtlasError } from '../../src/errors.js';
import type { AtlasService, CallerContext, Method } from '../../src/protocol/messages.js';
import { createProtocolService } from '../../src/protocol/server.js';
import type { Logger } from '../../src/runtime.js';
import { contextFrom } from '../support/caller.js';

const A = 'a'.repeat(40);

interface Call {
  method: Method;
  params: unknown;
  context: CallerContext;
}

/** A service that records what reaches it and answers from `behaviour`. */
function fakeService(behaviour: (method: Method, params: unknown) => unknown = () => ({})): { service: AtlasService; calls: Call[] } {
  const calls: Call[] = [];
  const answer = (method: Method) => async (params: unknown, context: CallerContext) => {
    calls.push({ method, params, context });
    return behaviour(method, params);
  };
  const service = {
    ping: answer('ping'),
    peers: answer('peers'),
    inventory: answer('inventory'),
    inventoryChanges: answer('inventoryChanges'),
    getChunks: answer('getChunks'),
    putChunks: answer('putChunks'),
    offer: answer('offer'),
  } as unknown as AtlasService;
  return { service, calls };
}

function recordingLogger(): { logger: Logger; errors: { message: string; fields?: Record<string, unknown> }[] } {
  const errors: { message: string; fields?: Record<string, unknown> }[] = [];
  const ignore = () => {};
  return { errors, logger: { debug: ignore, info: ignore, warn: ignore, error: (message, fields) => errors.push({ message, fields }) } };
}

async function rejection(promise: Promise<unknown>): Promise<AtlasError> {
  try {
    await promise;
  } catch (error) {
    if (isAtlasError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

const context = contextFrom('127.0.0.1:5000');

describe('createProtocolService', () => {
  it('passes validated, normalised params and the caller context to the typed method', async () => {
    const { service, calls } = fakeService(() => ({ chunks: [], missing: [A] }));
    const handle = createProtocolService(service);
    const result = await handle('getChunks', { addresses: [A.toUpperCase(), A], extra: 1 }, context);
    expect(result).toEqual({ chunks: [], missing: [A] });
    expect(calls).toEqual([{ method: 'getChunks', params: { addresses: [A] }, context: contextFrom('127.0.0.1:5000') }]);
  });

  it('routes every method to its own handler', async () => {
    const { service, calls } = fakeService();
    const handle = createProtocolService(service);
    await handle('ping', { network: 'm', sequenceLength: 1 }, context);
    await handle('peers', {}, context);
    await handle('inventory', { offset: 0, length: 1 }, context);
    await handle('inventoryChanges', { since: { epoch: 'e', version: 0 } }, context);
    await handle('getChunks', { addresses: [] }, context);
    await handle('putChunks', { chunks: [] }, context);
    await handle('offer', { from: 'n1', added: new Uint8Array(0) }, context);
    expect(calls.map((c) => c.method)).toEqual(['ping', 'peers', 'inventory', 'inventoryChanges', 'getChunks', 'putChunks', 'offer']);
  });

  it('refuses bad requests before the service sees them', async () => {
    const { service, calls } = fakeService();
    const handle = createProtocolService(service);
    expect((await rejection(handle('drop_tables', {}, context))).code).toBe(ErrorCodes.UNKNOWN_METHOD);
    expect((await rejection(handle('getChunks', { addresses: ['x'] }, context))).code).toBe(ErrorCodes.BAD_ADDRESS);
    expect((await rejection(handle('putChunks', { chunks: Array.from({ length: 6 }, () => Uint8Array.of(1)) }, context))).code).toBe(ErrorCodes.TOO_MANY);
    expect(calls).toHaveLength(0);
  });

  it('applies the configured limits', async () => {
    const { service } = fakeService();
    const handle = createProtocolService(service, { limits: { maxGetAddresses: 1 } });
    expect((await rejection(handle('getChunks', { addresses: [A, 'b'.repeat(40)] }, context))).code).toBe(ErrorCodes.TOO_MANY);
  });

  it('lets the service refuse with its own AtlasError code', async () => {
    const { service } = fakeService(() => {
      throw new AtlasError(ErrorCodes.BUSY, 'try later');
    });
    const { logger, errors } = recordingLogger();
    const error = await rejection(createProtocolService(service, { logger })('peers', {}, context));
    expect(error.code).toBe(ErrorCodes.BUSY);
    expect(error.message).toBe('try later');
    expect(errors).toHaveLength(0);
  });

  it('turns any other failure into INTERNAL with a generic message, and logs the details', async () => {
    const { service } = fakeService(() => {
      throw new TypeError('secret path /home/x leaked');
    });
    const { logger, errors } = recordingLogger();
    const error = await rejection(createProtocolService(service, { logger })('peers', {}, context));
    expect(error.code).toBe(ErrorCodes.INTERNAL);
    expect(error.message).not.toContain('secret');
    expect(JSON.stringify(error.toJSON())).not.toContain('secret');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.fields).toMatchObject({ method: 'peers', remote: '127.0.0.1:5000' });
    expect(String(errors[0]?.fields?.error)).toContain('secret path');
  });

  it('passes the transport\'s signal on as it is, and does not read it for a service that never looks', async () => {
    const { service, calls } = fakeService();
    const handle = createProtocolService(service);
    const live = new AbortController().signal;
    await handle('peers', {}, contextFrom('r', live));
    expect(calls[0]?.context.signal).toBe(live);
    let reads = 0;
    const lazy = { ...contextFrom('r'), get signal() {
      reads++;
      return live;
    } };
    await handle('peers', {}, lazy);
    expect(reads).toBe(0);
    expect(calls[1]?.context.signal).toBe(live);
    expect(reads).toBe(1);
  });
});
