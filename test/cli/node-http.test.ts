/** The CLI's one reader of a node's JSON replies: bounded in bytes, cut off past the bound. */
import { createServer, type Server } from 'node:http';
import { describe, expect, it } from 'vitest';
import { getNodeJson } from '../../src/cli/node-http.js';
import { FETCH_BLOCKED_PORTS } from '../../src/sync/sources/http-sources.js';
import { closeServerAfterEach, streamingServer } from '../support/streaming-server.js';

const track = closeServerAfterEach();

/** Ports fetch() refuses to dial (the browsers' "bad ports"), at or above 1024: a node may listen on any of them. */
const UNPRIVILEGED_FETCH_BLOCKED_PORTS = [...FETCH_BLOCKED_PORTS].filter((port) => port >= 1024);

/** A JSON server on the first free port of `ports` (each tried once), or undefined when every one is taken. */
async function listenOnOneOf(ports: readonly number[], body: unknown): Promise<{ server: Server; port: number } | undefined> {
  for (const port of ports) {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) return { server, port };
  }
  return undefined;
}

describe('getNodeJson', () => {
  it('stops reading a reply past its byte bound instead of buffering the whole stream', async () => {
    const stream = await streamingServer(256 * 1024 * 1024);
    track(stream.server);
    const peer = new URL(stream.url).host;
    await expect(getNodeJson(peer, '/status', 30, 1024 * 1024)).rejects.toThrow(`${peer} sent a reply larger than 1048576 bytes`);
    await stream.closed;
    expect(stream.sent()).toBeLessThan(32 * 1024 * 1024);
  });

  it('reaches a node on a port fetch() refuses (6000, 6665-6669...)', async () => {
    const listening = await listenOnOneOf(UNPRIVILEGED_FETCH_BLOCKED_PORTS, { state: 'running' });
    if (listening === undefined) return; // every such port taken on this machine: nothing to show
    track(listening.server);
    await expect(getNodeJson(`127.0.0.1:${listening.port}`, '/status', 10)).resolves.toEqual({ status: 200, body: { state: 'running' } });
  });

  it('names the error code of a peer it cannot reach, in one line', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await expect(getNodeJson(`127.0.0.1:${port}`, '/status', 10)).rejects.toThrow(`cannot reach 127.0.0.1:${port}: ECONNREFUSED`);
  });
});
