/** Raw TCP exchanges with a server on 127.0.0.1, for tests of what an HTTP server does with bytes no client library would send. */
import net from 'node:net';

/** A raw connection that writes `text` and collects what comes back until it is closed (by either side). */
export function rawSocket(port: number, text: string, localAddress = '127.0.0.1') {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  let received = '';
  socket.on('data', (data: Buffer) => (received += data.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(received)));
  socket.on('connect', () => socket.write(text));
  return { socket, closed, received: () => received };
}

/** Resolves once `condition` holds, checked every 10 ms; throws after `ms`. */
export async function until(condition: () => boolean, ms = 3_000): Promise<void> {
  const stop = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > stop) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
