/**
 * Raw TCP servers on 127.0.0.x that accept a connection and then stall: some never answer, some
 * send a reply head and then trickle its body a byte at a time, so a client holds the socket until
 * its own deadline. For tests of what such peers can take from an HTTP client.
 */
import net from 'node:net';

/** How a stalling server behaves once a request has come. */
export type Stall = 'silent' | 'trickle';

/** One stalling server: its "host:port", the connections it has accepted and holds open. */
export interface StallingServer {
  readonly address: string;
  readonly mode: Stall;
  /** Connections accepted so far. */
  accepted(): number;
  /** Connections open now. */
  open(): number;
  close(): Promise<void>;
}

/** A server on `host` (any 127.0.0.x) that stalls every connection in `mode`; `trickleMs` apart, one body byte. */
export async function stallingServer(host: string, mode: Stall, trickleMs = 100): Promise<StallingServer> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    let timer: NodeJS.Timeout | undefined;
    socket.on('close', () => {
      sockets.delete(socket);
      if (timer !== undefined) clearInterval(timer);
    });
    // Read (and drop) what comes, so the client's close is seen.
    socket.resume();
    if (mode === 'trickle') {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/msgpack\r\ncontent-length: 100000\r\n\r\n');
        timer = setInterval(() => socket.write('\x00'), trickleMs);
      });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `${host}:${port}`,
    mode,
    accepted: () => accepted,
    open: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** `portsPerHost` stalling servers on each of `hosts`, alternately silent and trickling. */
export async function stallingHosts(hosts: readonly string[], portsPerHost: number): Promise<StallingServer[]> {
  const servers: StallingServer[] = [];
  for (const host of hosts) {
    for (let i = 0; i < portsPerHost; i++) servers.push(await stallingServer(host, i % 2 === 0 ? 'silent' : 'trickle'));
  }
  return servers;
}
