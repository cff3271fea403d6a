/** readLimited: a fetch reply is read up to a byte bound, and a larger one is cut off, not buffered. */
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { readLimited } from '../../src/transport/http-io.js';
import { closeServerAfterEach, streamingServer } from '../support/streaming-server.js';

const MIB = 1024 * 1024;

const track = closeServerAfterEach();

describe('readLimited', () => {
  it('cuts off a reply streaming past the bound, without reading (or letting the server send) it whole', async () => {
    const stream = await streamingServer(256 * MIB);
    track(stream.server);
    const response = await fetch(stream.url);
    await expect(readLimited(response, 1 * MIB)).rejects.toMatchObject({ code: ErrorCodes.TOO_LARGE, details: { limit: MIB } });
    await stream.closed;
    // The socket buffers hold a few MiB at most: nowhere near the 256 MiB the server would send.
    expect(stream.sent()).toBeLessThan(32 * MIB);
  });

  it('refuses a declared length past the bound before reading, and returns a reply within it whole', async () => {
    const server = createServer((req, res) => {
      const body = req.url === '/big' ? Buffer.alloc(2_000, 0x61) : Buffer.from('{"ok":true}');
      res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    track(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    await expect(readLimited(await fetch(`${base}/big`), 1_999)).rejects.toMatchObject({ code: ErrorCodes.TOO_LARGE });
    expect(Buffer.from(await readLimited(await fetch(`${base}/small`), 11)).toString()).toBe('{"ok":true}');
  });
});
