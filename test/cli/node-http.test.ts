/** The CLI's one reader of a node's JSON replies: bounded in bytes, cut off past the bound. */
import { describe, expect, it } from 'vitest';
import { getNodeJson } from '../../src/cli/node-http.js';
import { closeServerAfterEach, streamingServer } from '../support/streaming-server.js';

const track = closeServerAfterEach();

describe('getNodeJson', () => {
  it('stops reading a reply past its byte bound instead of buffering the whole stream', async () => {
    const stream = await streamingServer(256 * 1024 * 1024);
    track(stream.server);
    const peer = new URL(stream.url).host;
    await expect(getNodeJson(peer, '/status', 30, 1024 * 1024)).rejects.toThrow(`${peer} sent a reply larger than 1048576 bytes`);
    await stream.closed;
    expect(stream.sent()).toBeLessThan(32 * 1024 * 1024);
  });
});
