/** An HTTP server that streams a long reply without a length, for tests of bounded readers. */
import { createServer, type Server } from 'node:http';
import { afterEach } from 'vitest';

/** A server that streams up to `total` bytes without a length, 64 KiB at a time, as fast as the client reads. */
export async function streamingServer(total: number): Promise<{ url: string; server: Server; sent: () => number; closed: Promise<void> }> {
  let sent = 0;
  let onClosed!: () => void;
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
  const piece = Buffer.alloc(64 * 1024, 0x20);
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.on('close', onClosed);
    const pump = (): void => {
      while (sent < total && !res.destroyed) {
        sent += piece.length;
        if (!res.write(piece)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!res.destroyed) res.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/`, server, sent: () => sent, closed };
}

/**
 * Registers an afterEach that cuts the connections of, and closes, the last server handed to the
 * returned function, so a test that fails midway leaves no listener behind.
 */
export function closeServerAfterEach(): (server: Server) => Server {
  let open: Server | undefined;
  afterEach(async () => {
    const server = open;
    open = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server) => (open = server);
}
