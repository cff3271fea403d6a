/**
 * HttpTransports a test file opens on 127.0.0.1, and anything else it registers, closed after
 * each test (last opened first).
 */
import { afterEach } from 'vitest';
import { HttpTransport, splitHostPort, type HttpTransportOptions } from '../../src/transport/http.js';
import type { TransportService } from '../../src/transport/types.js';

/** Registers the closing after each test; answers how to open a server and a client, and `open` to register more. */
export function httpTransports() {
  const open: { close(): Promise<void> | void }[] = [];
  afterEach(async () => {
    for (const item of open.splice(0).reverse()) await item.close();
  });
  return {
    open,
    /** A server listening on 127.0.0.1 with `service`: the transport, its address and port. */
    async serve<S extends TransportService>(service: S, options: HttpTransportOptions = {}) {
      const server = new HttpTransport({ listen: '127.0.0.1:0', ...options });
      open.push(server);
      const address = await server.listen(service);
      return { server, service, address, port: splitHostPort(address).port };
    },
    /** A client transport (no listen). */
    client(options: HttpTransportOptions = {}): HttpTransport {
      const transport = new HttpTransport(options);
      open.push(transport);
      return transport;
    },
  };
}
