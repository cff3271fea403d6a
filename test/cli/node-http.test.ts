/** The CLI's one reader of a node's JSON replies: bounded in bytes, cut off past the bound. */
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { getNodeJson } from '../../src/cli/node-http.js';
import { streamingServer } from '../support/streaming-server.js';

let open: Server | undefined;
afterEach(async () => {
  open?.closeAllConnections();
  await new Promise<void>((resolve) => (open ? open.close(() => resolve()) : resolve()));
  open = undefined;
});

describe('getNodeJson', () => {
  it('stops reading a reply past its byte bound instead of buffering the whole stream', async () => {
    const stream = await streamingServer(256 * 1024 * 1024);
    open = stream.server;
    const peer = new URL(stream.url).host;
    await expect(getNodeJson(peer, '/status', 30, 1024 * 1024)).rejects.toThrow(`${peer} sent a reply larger than 1048576 bytes`);
    await stream.closed;
    expect(stream.sent()).toBeLessThan(32 * 1024 * 1024);
  });
});
