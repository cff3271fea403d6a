import { MemoryNetwork } from '../../src/transport/memory.js';
import type { Transport } from '../../src/transport/types.js';
import { transportContract } from './contract.js';

const network = new MemoryNetwork({ latencyMs: 1 });
let counter = 0;

transportContract('MemoryTransport', {
  async server(service) {
    const transport = network.transport(`server-${counter++}`);
    return { transport, address: await transport.listen(service) };
  },
  listener: () => network.transport(`listener-${counter++}`),
  client: () => network.transport(`client-${counter++}`),
  remoteOf: (client: Transport) => client.address!,
  callerOf: (client: Transport) => ({ host: client.address!, family: 'name', port: undefined }),
});
